/* SPDX-License-Identifier: MIT */
/*
 * pacing: the maths against hand-computed values (lognormal survival and
 * conditional survival, normal excess, the hazard of a call still ringing,
 * an agent in wrap-up freeing within the horizon), then the decisions a
 * dialer relies on: cold start and small teams dial progressively, elapsed
 * ring and talk time change the answer, the budget is spent less when over
 * and resets with the day, AMD false positives are charged up front, the
 * explanation carries every figure, and the same inputs give the same
 * decision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "pacing.h"

#define DAY_MS (86400LL * 1000)
#define T0 (20000LL * DAY_MS + 9 * 3600 * 1000LL) /* 09:00 UTC */

/* Values computed independently (erfc of the log, by hand in Python). */
static void
lognormal_survival_matches_hand_values(void **st)
{
    (void)st;
    assert_float_equal(pacing_lognormal_survival(120, 120, 120),
                       0.3386035486, 1e-9);
    assert_float_equal(pacing_lognormal_survival(0, 120, 120), 1.0, 0);
    assert_float_equal(pacing_lognormal_survival(10, 20, 0), 1.0, 0);
    assert_float_equal(pacing_lognormal_survival(30, 20, 0), 0.0, 0);
}

static void
conditional_survival_depends_on_elapsed_time(void **st)
{
    (void)st;
    assert_float_equal(pacing_lognormal_done_within(120, 60, 120, 120),
                       0.4589960424, 1e-9);
    /* Talk lognormal(120 s, 120 s): a call 5 s old ends within 27 s with
     * probability 0.120, one 300 s old with 0.187; elapsed time matters. */
    assert_float_equal(pacing_lognormal_done_within(5, 27, 120, 120),
                       0.1204411267, 1e-9);
    assert_float_equal(pacing_lognormal_done_within(300, 27, 120, 120),
                       0.1867654773, 1e-9);
    /* Exponential would give the same at any age; this must not. */
    assert_true(pacing_lognormal_done_within(300, 27, 120, 120) >
                pacing_lognormal_done_within(5, 27, 120, 120) + 0.05);
}

static void
normal_excess_matches_hand_values(void **st)
{
    (void)st;
    assert_float_equal(pacing_normal_excess(0, 1), 0.3989422804, 1e-9);
    assert_float_equal(pacing_normal_excess(1, 0), 1.0, 0);
    assert_float_equal(pacing_normal_excess(-1, 0), 0.0, 0);
    /* E[max(0, X)] for X ~ N(1, 4): 2 phi(0.5) + 1 Phi(0.5). */
    assert_float_equal(pacing_normal_excess(1, 4), 1.3955931148, 1e-9);
    assert_float_equal(pacing_normal_survival(0, 0, 1), 0.5, 1e-12);
}

static void
fill_agents(pacing_agent *a, int n, pacing_agent_state s, double e)
{
    for (int i = 0; i < n; i++)
        a[i] = (pacing_agent){s, e};
}

static void
cold_start_dials_progressively(void **st)
{
    (void)st;
    pacing *p = pacing_new(NULL);
    assert_non_null(p);
    pacing_agent ag[6];
    fill_agents(ag, 3, PACING_AGENT_FREE, 4);
    fill_agents(ag + 3, 3, PACING_AGENT_TALK, 40);
    pacing_call cl[1] = {{0, 3}};
    pacing_state s = {T0, ag, 6, cl, 1, NULL};
    pacing_explain e;
    assert_int_equal(pacing_decide(p, &s, &e), 2);
    assert_int_equal(e.mode, PACING_MODE_COLD_START);
    assert_string_equal(pacing_mode_name(e.mode), "cold_start");
    pacing_free(p);
}

/* 200 attempts with a 20 % hit rate, talks and wraps as in the issue. */
static pacing *
warmed(const pacing_priors *pri)
{
    pacing *p = pacing_new(pri);
    assert_non_null(p);
    for (int i = 0; i < 200; i++) {
        pacing_outcome o = i % 5 == 0   ? PACING_LIVE
                           : i % 5 == 1 ? PACING_MACHINE
                                        : PACING_NO_ANSWER;
        double ring = o == PACING_LIVE ? 8 + (i % 7) : o == PACING_MACHINE
                                                           ? 20
                                                           : 25;
        assert_int_equal(pacing_observe_attempt(p, o, ring, T0 - 60000), 0);
    }
    return p;
}

static void
small_team_falls_back_to_progressive(void **st)
{
    (void)st;
    pacing *p = warmed(NULL);
    pacing_agent ag[3];
    fill_agents(ag, 3, PACING_AGENT_FREE, 1);
    pacing_state s = {T0, ag, 3, NULL, 0, NULL};
    pacing_explain e;
    assert_int_equal(pacing_decide(p, &s, &e), 3);
    assert_int_equal(e.mode, PACING_MODE_PROGRESSIVE);
    pacing_free(p);
}

static void
predictive_dials_beyond_one_per_agent_within_max_ratio(void **st)
{
    (void)st;
    pacing *p = warmed(NULL);
    pacing_agent ag[10];
    fill_agents(ag, 10, PACING_AGENT_FREE, 1);
    pacing_config c = {.max_ratio = 3};
    pacing_state s = {T0, ag, 10, NULL, 0, &c};
    pacing_explain e;
    int n = pacing_decide(p, &s, &e);
    assert_int_equal(e.mode, PACING_MODE_PREDICTIVE);
    assert_true(n > 10);
    assert_true(n <= 30);
    assert_float_equal(e.hit_rate, e.hit_rate, 0); /* not NaN */
    assert_true(e.hit_rate > 0.17 && e.hit_rate < 0.23);
    pacing_free(p);
}

static void
calls_ringing_long_are_less_likely_to_answer(void **st)
{
    (void)st;
    pacing *p = warmed(NULL);
    pacing_agent ag[8];
    fill_agents(ag, 4, PACING_AGENT_FREE, 1);
    fill_agents(ag + 4, 4, PACING_AGENT_TALK, 30);
    pacing_call young[12], old[12];
    for (int i = 0; i < 12; i++) {
        young[i] = (pacing_call){0, 1};
        old[i] = (pacing_call){0, 22};
    }
    pacing_explain ey, eo;
    pacing_state s = {T0, ag, 8, young, 12, NULL};
    int ny = pacing_decide(p, &s, &ey);
    s.calls = old;
    int no = pacing_decide(p, &s, &eo);
    assert_true(eo.answers_inflight < ey.answers_inflight / 4);
    assert_true(no > ny);
    pacing_free(p);
}

static void
answer_probability_of_a_ringing_call_matches_hand_value(void **st)
{
    (void)st;
    /* Priors only, plus one no-answer: the hazard of a call ringing for
     * 8 s, over the 25 s horizon, computed by hand from the priors. */
    pacing *p = pacing_new(NULL);
    assert_int_equal(pacing_observe_attempt(p, PACING_NO_ANSWER, 25, T0), 0);
    pacing_agent ag[4];
    fill_agents(ag, 4, PACING_AGENT_FREE, 1);
    pacing_call cl[1] = {{0, 8}};
    pacing_config c = {.cold_start_attempts = 1};
    pacing_state s = {T0, ag, 4, cl, 1, &c};
    pacing_explain e;
    assert_true(pacing_decide(p, &s, &e) >= 3);
    assert_int_equal(e.mode, PACING_MODE_PREDICTIVE);
    assert_float_equal(e.answers_inflight, 0.1266706788, 1e-6);
    assert_float_equal(e.answer_per_dial, 0.1448802738, 1e-6);
    pacing_free(p);
}

static void
agent_in_wrap_frees_by_conditional_survival(void **st)
{
    (void)st;
    pacing *p = pacing_new(NULL);
    assert_int_equal(pacing_observe_attempt(p, PACING_NO_ANSWER, 25, T0), 0);
    pacing_agent ag[1] = {{PACING_AGENT_WRAP, 10}};
    pacing_config c = {.cold_start_attempts = 1, .min_team = 1};
    pacing_state s = {T0, ag, 1, NULL, 0, &c};
    pacing_explain e;
    assert_true(pacing_decide(p, &s, &e) >= 0);
    /* Wrap lognormal(15 s, 10 s), 10 s elapsed, free within 25 + 2 s. */
    assert_float_equal(e.agents_free_soon, 0.9431081664, 1e-6);
    pacing_free(p);
}

static void
talk_elapsed_changes_agents_free_soon(void **st)
{
    (void)st;
    pacing *p = warmed(NULL);
    pacing_agent fresh[5], late[5];
    fill_agents(fresh, 5, PACING_AGENT_TALK, 5);
    fill_agents(late, 5, PACING_AGENT_TALK, 300);
    pacing_explain ef, el;
    pacing_state s = {T0, fresh, 5, NULL, 0, NULL};
    pacing_decide(p, &s, &ef);
    s.agents = late;
    pacing_decide(p, &s, &el);
    assert_true(el.agents_free_soon > ef.agents_free_soon * 1.2);
    pacing_free(p);
}

static void
over_budget_dials_less_and_a_new_day_resets_the_window(void **st)
{
    (void)st;
    pacing *calm = warmed(NULL), *over = warmed(NULL);
    for (int i = 0; i < 15; i++)
        assert_int_equal(pacing_observe_abandon(over, PACING_ABANDON_NO_AGENT,
                                                T0 - 1000),
                         0);
    pacing_agent ag[20];
    fill_agents(ag, 8, PACING_AGENT_FREE, 1);
    fill_agents(ag + 8, 12, PACING_AGENT_TALK, 60);
    pacing_config c = {.window = PACING_WINDOW_DAY};
    pacing_state s = {T0, ag, 20, NULL, 0, &c};
    pacing_explain ec, eo;
    int nc = pacing_decide(calm, &s, &ec);
    int no = pacing_decide(over, &s, &eo);
    assert_float_equal(eo.window_abandons, 15, 1e-9);
    assert_float_equal(eo.window_live, 40, 1e-9);
    assert_true(eo.budget_remaining < 0);
    assert_true(eo.target_rate < ec.target_rate / 100);
    assert_true(no < nc);
    assert_true(no >= 8); /* never below progressive */
    /* The next day, the day window starts empty. */
    s.now_ms = T0 + DAY_MS;
    pacing_decide(over, &s, &eo);
    assert_float_equal(eo.window_abandons, 0, 0);
    assert_float_equal(eo.window_live, 0, 0);
    pacing_free(calm);
    pacing_free(over);
}

/* A restarted dialer gives the window its stored history: today's counts
 * weigh on the day window (fewer lines than a fresh object would dial),
 * earlier days only on the rolling one, and the estimators are untouched. */
static void
history_seeds_the_window_only(void **st)
{
    (void)st;
    pacing *fresh = warmed(NULL), *restarted = warmed(NULL);
    assert_int_equal(pacing_observe_history(restarted, T0 - 3600000, 100, 6),
                     0);
    assert_int_equal(pacing_observe_history(restarted, T0 - 2 * DAY_MS, 50,
                                            0.5),
                     0);
    pacing_agent ag[20];
    fill_agents(ag, 8, PACING_AGENT_FREE, 1);
    fill_agents(ag + 8, 12, PACING_AGENT_TALK, 60);
    pacing_config c = {.window = PACING_WINDOW_DAY};
    pacing_state s = {T0, ag, 20, NULL, 0, &c};
    pacing_explain ef, er;
    int nf = pacing_decide(fresh, &s, &ef);
    int nr = pacing_decide(restarted, &s, &er);
    assert_float_equal(er.window_live, 40 + 100, 1e-9);
    assert_float_equal(er.window_abandons, 6, 1e-9);
    assert_true(er.budget_remaining < 0); /* 3 % of 140 is 4.2 */
    assert_true(nr < nf);
    assert_float_equal(er.hit_rate, ef.hit_rate, 1e-12);
    assert_float_equal(er.attempts_seen, ef.attempts_seen, 1e-12);
    c.window = PACING_WINDOW_ROLLING_30;
    pacing_decide(restarted, &s, &er);
    assert_float_equal(er.window_live, 190, 1e-9);
    assert_float_equal(er.window_abandons, 6.5, 1e-9);
    assert_int_equal(pacing_observe_history(restarted, T0, -1, 0), -EINVAL);
    assert_int_equal(pacing_observe_history(NULL, T0, 1, 0), -EINVAL);
    pacing_free(fresh);
    pacing_free(restarted);
}

static void
rolling_window_forgets_after_thirty_days(void **st)
{
    (void)st;
    pacing *p = warmed(NULL);
    pacing_observe_abandon(p, PACING_ABANDON_NO_AGENT, T0);
    pacing_agent ag[5];
    fill_agents(ag, 5, PACING_AGENT_FREE, 1);
    pacing_config c = {.window = PACING_WINDOW_ROLLING_30};
    pacing_state s = {T0 + 29 * DAY_MS, ag, 5, NULL, 0, &c};
    pacing_explain e;
    pacing_decide(p, &s, &e);
    assert_float_equal(e.window_abandons, 1, 1e-9);
    assert_float_equal(e.window_live, 40, 1e-9);
    s.now_ms = T0 + 30 * DAY_MS;
    pacing_decide(p, &s, &e);
    assert_float_equal(e.window_abandons, 0, 0);
    c.window = PACING_WINDOW_CAMPAIGN;
    pacing_decide(p, &s, &e);
    assert_float_equal(e.window_abandons, 1, 1e-9);
    pacing_free(p);
}

static void
amd_false_positives_are_charged_up_front(void **st)
{
    (void)st;
    pacing_priors pri = {.amd_fp_rate = 0.01};
    pacing *p = pacing_new(&pri);
    for (int i = 0; i < 99; i++)
        pacing_observe_attempt(p, PACING_LIVE, 10, T0);
    pacing_agent ag[5];
    fill_agents(ag, 5, PACING_AGENT_FREE, 1);
    pacing_state s = {T0, ag, 5, NULL, 0, NULL};
    pacing_explain e;
    pacing_decide(p, &s, &e);
    /* 99 humans reached the dialer: 1 more was hung up as a machine. */
    assert_float_equal(e.window_live, 100, 1e-9);
    assert_float_equal(e.window_abandons, 1, 1e-9);
    assert_float_equal(e.amd_fp_rate, 0.01, 1e-12);
    /* Audits move the estimate. */
    for (int i = 0; i < 1000; i++)
        pacing_observe_amd_audit(p, 1, i % 20 == 0);
    pacing_decide(p, &s, &e);
    assert_float_equal(e.amd_fp_rate, (10.0 + 50.0) / 2000.0, 1e-12);
    pacing_free(p);
}

typedef struct kvs {
    int n, has_mode, has_lines;
    char lines[16];
} kvs;

static void
on_kv(void *ud, const char *k, const char *v)
{
    kvs *x = ud;
    x->n++;
    if (!strcmp(k, "mode") && !strcmp(v, "predictive"))
        x->has_mode = 1;
    if (!strcmp(k, "lines")) {
        x->has_lines = 1;
        snprintf(x->lines, sizeof x->lines, "%s", v);
    }
}

static void
explanation_carries_the_decision(void **st)
{
    (void)st;
    pacing *p = warmed(NULL);
    pacing_agent ag[10];
    fill_agents(ag, 3, PACING_AGENT_FREE, 1);
    fill_agents(ag + 3, 7, PACING_AGENT_TALK, 50);
    pacing_call cl[2] = {{0, 3}, {1, 0.5}};
    pacing_state s = {T0, ag, 10, cl, 2, NULL};
    pacing_explain e;
    int n = pacing_decide(p, &s, &e);
    char buf[1024], want[32];
    int len = pacing_explain_format(&e, buf, sizeof buf);
    assert_true(len > 0 && (size_t)len < sizeof buf);
    snprintf(want, sizeof want, "%d line", n);
    assert_non_null(strstr(buf, want));
    assert_non_null(strstr(buf, "3 free"));
    assert_non_null(strstr(buf, "1 ringing, 1 waiting"));
    /* A short buffer is truncated, the length still told. */
    char small[10];
    assert_int_equal(pacing_explain_format(&e, small, sizeof small), len);
    assert_int_equal(strlen(small), 9);
    kvs x = {0};
    pacing_explain_each(&e, on_kv, &x);
    assert_true(x.n >= 25);
    assert_true(x.has_mode && x.has_lines);
    snprintf(want, sizeof want, "%d", n);
    assert_string_equal(x.lines, want);
    pacing_free(p);
}

static void
same_inputs_same_decision(void **st)
{
    (void)st;
    pacing *a = warmed(NULL), *b = warmed(NULL);
    pacing_agent ag[12];
    fill_agents(ag, 4, PACING_AGENT_FREE, 1);
    fill_agents(ag + 4, 8, PACING_AGENT_WRAP, 3);
    pacing_call cl[3] = {{0, 1}, {0, 9}, {0, 17}};
    pacing_state s = {T0, ag, 12, cl, 3, NULL};
    pacing_explain ea, eb;
    memset(&ea, 0, sizeof ea);
    memset(&eb, 0, sizeof eb);
    assert_int_equal(pacing_decide(a, &s, &ea), pacing_decide(b, &s, &eb));
    assert_memory_equal(&ea, &eb, sizeof ea);
    pacing_free(a);
    pacing_free(b);
}

static void
bad_inputs_are_refused(void **st)
{
    (void)st;
    pacing_priors bad = {.live_rate = 0.7, .machine_rate = 0.5};
    assert_null(pacing_new(&bad));
    pacing *p = pacing_new(NULL);
    assert_int_equal(pacing_observe_attempt(p, PACING_OUTCOME_COUNT, 1, 0),
                     -EINVAL);
    assert_int_equal(pacing_observe_attempt(p, PACING_LIVE, -1, 0), -EINVAL);
    assert_int_equal(pacing_observe_talk(p, 0), -EINVAL);
    pacing_state s = {T0, NULL, 3, NULL, 0, NULL};
    assert_int_equal(pacing_decide(p, &s, NULL), -EINVAL);
    pacing_config c = {.cap = 1.5};
    pacing_state s2 = {T0, NULL, 0, NULL, 0, &c};
    assert_int_equal(pacing_decide(p, &s2, NULL), -EINVAL);
    pacing_free(p);
    pacing_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lognormal_survival_matches_hand_values),
        cmocka_unit_test(conditional_survival_depends_on_elapsed_time),
        cmocka_unit_test(normal_excess_matches_hand_values),
        cmocka_unit_test(cold_start_dials_progressively),
        cmocka_unit_test(small_team_falls_back_to_progressive),
        cmocka_unit_test(predictive_dials_beyond_one_per_agent_within_max_ratio),
        cmocka_unit_test(calls_ringing_long_are_less_likely_to_answer),
        cmocka_unit_test(answer_probability_of_a_ringing_call_matches_hand_value),
        cmocka_unit_test(agent_in_wrap_frees_by_conditional_survival),
        cmocka_unit_test(talk_elapsed_changes_agents_free_soon),
        cmocka_unit_test(over_budget_dials_less_and_a_new_day_resets_the_window),
        cmocka_unit_test(history_seeds_the_window_only),
        cmocka_unit_test(rolling_window_forgets_after_thirty_days),
        cmocka_unit_test(amd_false_positives_are_charged_up_front),
        cmocka_unit_test(explanation_carries_the_decision),
        cmocka_unit_test(same_inputs_same_decision),
        cmocka_unit_test(bad_inputs_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
