/* SPDX-License-Identifier: MIT */
/*
 * The sim_agents plugin as a simulation user relies on it: ten simulated
 * agents staff an inbound queue for one simulated hour on the fake host
 * with storage_sqlite.so, sim.so (a DID receiving about 120 calls an
 * hour), agents.so, acd.so and sim_agents.so as built. The outcomes
 * checked are the ones a run is useful for: every caller is answered or
 * abandoned with a recorded wait and the counts add up; the agents' state
 * log in storage is complete, contiguous and matches the published state
 * changes; no agent is offered two calls at once; and the same seeds
 * replay the same event log. A second case forces a pause after every
 * call and checks the pause is taken instead of availability, and the
 * login stagger. Summary figures and the wall time of the simulated hour
 * are printed.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <plateau/plateau.h>
#include <plateau/svc/acd.h>
#include <plateau/svc/agents.h>
#include <plateau/svc/storage.h>
#include <plateau/testing/fake_host.h>

#define NAGENTS 10
#define DID "+33140000000"

typedef struct fixture {
    plt_fake_host *fh;
    plt_acd acd;
    plt_storage st;
} fixture;

static void
add_so(fixture *f, const char *name, const char *yaml)
{
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    char so[PATH_MAX];
    snprintf(so, sizeof(so), "%s/%s.so", dir ? dir : ".", name);
    int rc = plt_fake_host_add_so(f->fh, so, yaml, NULL);
    if (rc != 0)
        print_error("%s: %s\n", so, plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
}

static fixture *
fixture_open(const char *sim_agents_yaml)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    plt_fake_options o = {.log_level = PLT_LOG_INFO};
    assert_int_equal(plt_fake_host_new(&f->fh, &o), 0);
    char acd[2048];
    int n = snprintf(acd, sizeof(acd),
                     "seed: 5\nqueues:\n  - {name: in, dids: ['" DID "'],"
                     " wrap_up: 2m}\nagents:\n");
    for (int i = 1; i <= NAGENTS; i++)
        n += snprintf(acd + n, sizeof(acd) - (size_t)n,
                      "  - {agent: sim%02d, queues: [in]}\n", i);
    add_so(f, "storage_sqlite", NULL);
    add_so(f, "sim",
           "seed: 11\n"
           "trunks: [{name: sim, max_channels: 200, cps: 0}]\n"
           "inbound:\n  - {did: '" DID "', rate_per_hour: 120}\n");
    add_so(f, "agents", "max_wrap_up: 2m\n");
    add_so(f, "acd", acd);
    add_so(f, "sim_agents", sim_agents_yaml);
    int rc = plt_fake_host_init(f->fh);
    if (rc != 0)
        print_error("init: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    rc = plt_fake_host_start(f->fh);
    if (rc != 0)
        print_error("start: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_ACD_NAME, 1, 0, &ref), 0);
    f->acd.vt = ref.vtable;
    f->acd.impl = ref.impl;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_STORAGE_NAME, 1, 0, &ref),
                     0);
    f->st.vt = ref.vtable;
    f->st.impl = ref.impl;
    return f;
}

static void
fixture_close(fixture *f)
{
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    int rc = plt_fake_host_free(f->fh);
    free(f);
    assert_int_equal(rc, 0);
}

/* Index 0..NAGENTS-1 of a simulated agent's login, or -1. */
static int
agent_index(const char *login)
{
    if (!login || strncmp(login, "sim", 3) != 0)
        return -1;
    int k = atoi(login + 3) - 1;
    return k >= 0 && k < NAGENTS ? k : -1;
}

static bool
same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* ---- the state log, read back through the storage service ---- */

typedef struct log_row {
    char agent[16], state[16], reason[32], by[32];
    bool has_reason;
    int64_t started, ended; /* ended -1 when still open */
} log_row;

typedef struct log_rows {
    log_row *v;
    size_t n, cap;
    bool done;
    int status;
} log_rows;

static const char *
col_str(const plt_storage_row *r, size_t i)
{
    return r->vals[i].type == PLT_T_STR ? r->vals[i].v.s : NULL;
}

static int64_t
col_i64(const plt_storage_row *r, size_t i)
{
    return r->vals[i].type == PLT_T_NULL ? -1 : r->vals[i].v.i;
}

static int
on_row(void *arg, const plt_storage_row *r)
{
    log_rows *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        assert_non_null(l->v);
    }
    log_row *w = &l->v[l->n++];
    memset(w, 0, sizeof(*w));
    snprintf(w->agent, sizeof(w->agent), "%s", col_str(r, 0));
    snprintf(w->state, sizeof(w->state), "%s", col_str(r, 1));
    w->has_reason = col_str(r, 2) != NULL;
    snprintf(w->reason, sizeof(w->reason), "%s",
             w->has_reason ? col_str(r, 2) : "");
    snprintf(w->by, sizeof(w->by), "%s", col_str(r, 3));
    w->started = col_i64(r, 4);
    w->ended = col_i64(r, 5);
    return 0;
}

static void
on_done(void *arg, int status, const plt_storage_result *res)
{
    log_rows *l = arg;
    if (status != 0)
        print_error("query: %s\n", res && res->error ? res->error : "?");
    l->status = status;
    l->done = true;
}

static void
read_state_log(fixture *f, log_rows *l)
{
    /* The agents plugin writes the log asynchronously, one statement at a
     * time: let it drain before reading. */
    plt_fake_host_run_until_idle(f->fh);
    static const char sql[] =
        "SELECT agent, state, reason, by_who, started_at, ended_at"
        " FROM agent_state_log ORDER BY agent, id";
    assert_int_equal(
        f->st.vt->query(f->st.impl, NULL, sql, NULL, 0, 0, on_row, on_done, l),
        0);
    while (!l->done)
        plt_fake_host_run_for(f->fh, 1);
    assert_int_equal(l->status, 0);
}

/* Per agent: rows contiguous in time, the last one open, and row k equal
 * to the k-th agent.state_changed of that agent (state, reason, by, time).
 * Also adds up occupancy: (reserved + in call + wrap-up) / (time logged in
 * and not paused or connecting). */
static void
check_state_log(fixture *f, const log_rows *l, double *occupancy)
{
    int64_t now = plt_fake_host_now(f->fh);
    int64_t busy = 0, staffed = 0;
    size_t nev = plt_fake_host_event_count(f->fh, "agent.state_changed");
    size_t checked = 0;
    for (int k = 0; k < NAGENTS; k++) {
        char login[16];
        snprintf(login, sizeof(login), "sim%02d", k + 1);
        size_t e = 0; /* next event of this agent */
        const log_row *prev = NULL;
        for (size_t i = 0; i < l->n; i++) {
            const log_row *r = &l->v[i];
            if (strcmp(r->agent, login) != 0)
                continue;
            if (prev)
                assert_int_equal(prev->ended, r->started);
            prev = r;
            /* The matching event. */
            const plt_event *ev = NULL;
            for (; e < nev; e++) {
                ev = plt_fake_host_event_at(f->fh, "agent.state_changed", e);
                if (strcmp(plt_fake_event_str(ev, "agent"), login) == 0)
                    break;
                ev = NULL;
            }
            assert_non_null(ev);
            e++;
            assert_string_equal(r->state, plt_fake_event_str(ev, "to"));
            assert_true(same_str(r->has_reason ? r->reason : NULL,
                                 plt_fake_event_str(ev, "reason")));
            assert_string_equal(r->by, plt_fake_event_str(ev, "by"));
            assert_int_equal(r->started, plt_fake_event_time(ev));
            checked++;
            int64_t d = (r->ended < 0 ? now : r->ended) - r->started;
            if (!strcmp(r->state, "reserved") || !strcmp(r->state, "in_call") ||
                !strcmp(r->state, "wrap_up")) {
                busy += d;
                staffed += d;
            } else if (!strcmp(r->state, "available")) {
                staffed += d;
            }
        }
        assert_non_null(prev);
        assert_int_equal(prev->ended, -1);
        /* No event of this agent without its row. */
        for (; e < nev; e++) {
            const plt_event *ev =
                plt_fake_host_event_at(f->fh, "agent.state_changed", e);
            assert_string_not_equal(plt_fake_event_str(ev, "agent"), login);
        }
    }
    assert_int_equal(checked, l->n);
    *occupancy = staffed ? (double)busy / (double)staffed : 0.0;
}

/* ---- the whole event log, as text ---- */

static const char *const field_keys[] = {
    "agent",       "from",        "to",       "reason",    "by",
    "previous_ms", "invariant",   "leg_id",   "call_id",   "other_leg_id",
    "queue",       "request_id",  "did",      "direction", "role",
    "trunk",       "destination", "state",    "progress",  "outcome",
    "hangup_by",   "sip_code",    "ring_ms",  "talk_ms",   "duration_ms",
    "wait_ms",     "position",    "priority", "attempt",   "action",
    "target",      "play_id",     "file",     "result",    NULL};

static void
append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t)n < *cap - *len) {
            *len += (size_t)n;
            return;
        }
        *cap *= 2;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
}

static char *
event_log_text(fixture *f)
{
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    buf[0] = '\0';
    size_t total = plt_fake_host_event_count(f->fh, "*");
    for (size_t i = 0; i < total; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, "*", i);
        append(&buf, &len, &cap, "%lld %s", (long long)plt_fake_event_time(ev),
               plt_fake_event_topic(ev));
        for (const char *const *k = field_keys; *k; k++) {
            plt_value v;
            if (plt_fake_event_get(ev, *k, &v) != 0)
                continue;
            if (v.type == PLT_T_STR)
                append(&buf, &len, &cap, " %s=%s", *k, v.v.s);
            else if (v.type == PLT_T_DOUBLE)
                append(&buf, &len, &cap, " %s=%.17g", *k, v.v.d);
            else
                append(&buf, &len, &cap, " %s=%lld", *k, (long long)v.v.i);
        }
        append(&buf, &len, &cap, "\n");
    }
    return buf;
}

/* ---- one simulated hour ---- */

typedef struct hour_figures {
    size_t calls, joined, answered, abandoned, waiting;
    double mean_wait_s, occupancy, wall_s;
    size_t pauses;
} hour_figures;

struct statbox {
    plt_queue_stats s;
    bool got;
};

static void
on_stats(void *arg, int status, const plt_queue_stats *s)
{
    struct statbox *box = arg;
    assert_int_equal(status, 0);
    box->s = *s;
    box->got = true;
}

static char *
hour_run(hour_figures *fig)
{
    fixture *f = fixture_open("seed: 3\nagents: 10\n");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    plt_fake_host_run_for(f->fh, 3600 * 1000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fig->wall_s = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

    /* Walk the log: offers never overlap for an agent; every answer and
     * abandon carries a wait; every joined caller has at most one
     * outcome. */
    size_t total = plt_fake_host_event_count(f->fh, "*");
    bool busy[NAGENTS] = {0};
    int64_t wait_sum = 0;
    for (size_t i = 0; i < total; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, "*", i);
        const char *t = plt_fake_event_topic(ev);
        if (strcmp(t, "agent.state_changed") == 0) {
            int k = agent_index(plt_fake_event_str(ev, "agent"));
            const char *to = plt_fake_event_str(ev, "to");
            assert_true(k >= 0);
            if (strcmp(to, "available") == 0)
                busy[k] = false;
            if (strcmp(to, "pause") == 0 &&
                same_str(plt_fake_event_str(ev, "reason"), "meal"))
                fig->pauses++;
        } else if (strcmp(t, "queue.offered") == 0) {
            int k = agent_index(plt_fake_event_str(ev, "agent"));
            assert_true(k >= 0);
            assert_false(busy[k]);
            busy[k] = true;
        } else if (strcmp(t, "queue.answered") == 0 ||
                   strcmp(t, "queue.abandoned") == 0) {
            int64_t w = plt_fake_event_i64(ev, "wait_ms", -1);
            assert_true(w >= 0);
            wait_sum += w;
        } else if (strcmp(t, "call.created") == 0 &&
                   same_str(plt_fake_event_str(ev, "did"), DID)) {
            fig->calls++;
        }
    }
    fig->joined = plt_fake_host_event_count(f->fh, "queue.joined");
    fig->answered = plt_fake_host_event_count(f->fh, "queue.answered");
    fig->abandoned = plt_fake_host_event_count(f->fh, "queue.abandoned");
    /* Each joined caller ends answered or abandoned, or is still waiting. */
    size_t open_callers = 0;
    for (size_t j = 0; j < fig->joined; j++) {
        const plt_event *jv = plt_fake_host_event_at(f->fh, "queue.joined", j);
        const char *leg = plt_fake_event_str(jv, "leg_id");
        assert_non_null(leg);
        int outcomes = 0;
        for (size_t i = 0; i < fig->answered; i++)
            outcomes += same_str(
                leg, plt_fake_event_str(
                         plt_fake_host_event_at(f->fh, "queue.answered", i),
                         "leg_id"));
        for (size_t i = 0; i < fig->abandoned; i++)
            outcomes += same_str(
                leg, plt_fake_event_str(
                         plt_fake_host_event_at(f->fh, "queue.abandoned", i),
                         "leg_id"));
        assert_true(outcomes <= 1);
        open_callers += outcomes == 0;
    }
    struct statbox box = {0};
    assert_int_equal(f->acd.vt->stats(f->acd.impl, "in", on_stats, &box), 0);
    assert_true(box.got);
    fig->waiting = box.s.waiting;
    assert_int_equal(fig->calls, fig->joined);
    assert_int_equal(fig->joined,
                     fig->answered + fig->abandoned + fig->waiting);
    assert_int_equal(open_callers, fig->waiting);
    assert_int_equal(box.s.answered, fig->answered);
    assert_int_equal(box.s.abandoned, fig->abandoned);
    fig->mean_wait_s = fig->answered + fig->abandoned
                           ? (double)wait_sum / 1000.0 /
                                 (double)(fig->answered + fig->abandoned)
                           : 0.0;

    log_rows l = {0};
    read_state_log(f, &l);
    check_state_log(f, &l, &fig->occupancy);
    free(l.v);

    /* The agents service never had to repair a simulated agent, and
     * nothing warned (refused requests, failed timers, storage errors). */
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.state_repaired"),
                     0);
    assert_int_equal(plt_fake_host_log_count(f->fh, PLT_LOG_WARN, NULL), 0);

    char *text = event_log_text(f);
    fixture_close(f);
    return text;
}

static void
one_simulated_hour(void **state)
{
    (void)state;
    hour_figures a = {0}, b = {0};
    char *la = hour_run(&a);
    char *lb = hour_run(&b);
    printf(
        "sim_agents hour: calls %zu, answered %zu, abandoned %zu, "
        "waiting %zu, mean wait %.1f s, occupancy %.1f %%, meal pauses %zu\n",
        a.calls, a.answered, a.abandoned, a.waiting, a.mean_wait_s,
        100.0 * a.occupancy, a.pauses);
    printf("sim_agents hour: wall time %.3f s and %.3f s (ASan/UBSan build)\n",
           a.wall_s, b.wall_s);
    /* ~120 calls an hour: a Poisson draw well inside these bounds. */
    assert_true(a.calls > 80 && a.calls < 170);
    /* Ten agents for ~4.5 erlangs: most callers are served. */
    assert_true(a.answered > a.calls / 2);
    assert_int_equal(a.answered, b.answered);
    assert_int_equal(a.abandoned, b.abandoned);
    assert_string_equal(la, lb);
    free(la);
    free(lb);
}

/* pause_rate 1: every call is followed by the pause instead of
 * availability, and the pause ends by itself. Logins are staggered. */
static void
pause_after_every_call(void **state)
{
    (void)state;
    fixture *f = fixture_open("seed: 9\nagents: 10\nlogin_stagger: 3s\n"
                              "pause_rate: 1\npause_mean: 1m\n"
                              "pause_sd: 10s\n");
    plt_fake_host_run_for(f->fh, 30 * 60 * 1000);
    size_t n = plt_fake_host_event_count(f->fh, "agent.state_changed");
    int64_t first_login[NAGENTS];
    for (int k = 0; k < NAGENTS; k++)
        first_login[k] = -1;
    size_t from_wrap = 0, pause_ends = 0;
    for (size_t i = 0; i < n; i++) {
        const plt_event *ev =
            plt_fake_host_event_at(f->fh, "agent.state_changed", i);
        int k = agent_index(plt_fake_event_str(ev, "agent"));
        assert_true(k >= 0);
        const char *from = plt_fake_event_str(ev, "from");
        const char *to = plt_fake_event_str(ev, "to");
        if (strcmp(to, "connecting") == 0 && first_login[k] < 0)
            first_login[k] = plt_fake_event_time(ev);
        if (strcmp(from, "wrap_up") == 0) {
            from_wrap++;
            assert_string_equal(to, "pause");
            assert_string_equal(plt_fake_event_str(ev, "reason"), "meal");
        }
        if (strcmp(from, "pause") == 0 && strcmp(to, "available") == 0) {
            pause_ends++;
            /* Lognormal(1m, 10s): never a few seconds, never an hour. */
            int64_t p = plt_fake_event_i64(ev, "previous_ms", -1);
            if (p > 10000)
                assert_true(p > 20000 && p < 5 * 60 * 1000);
        }
    }
    assert_true(from_wrap > 5);
    assert_true(pause_ends > 5);
    for (int k = 0; k < NAGENTS; k++)
        assert_int_equal(first_login[k] - first_login[0], 3000 * k);
    fixture_close(f);
}

/* keep_up false: no phone leg between calls; each offer rings the agent's
 * extension, and every call still ends with its agent's leg hung up. */
static void
per_offer_phones(void **state)
{
    (void)state;
    fixture *f = fixture_open("seed: 9\nagents: 10\nkeep_up: false\n");
    plt_fake_host_run_for(f->fh, 30 * 60 * 1000);
    size_t offered = plt_fake_host_event_count(f->fh, "queue.offered");
    size_t answered = plt_fake_host_event_count(f->fh, "queue.answered");
    size_t rung = 0, ended = 0;
    size_t n = plt_fake_host_event_count(f->fh, "call.*");
    for (size_t i = 0; i < n; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, "call.*", i);
        if (!plt_fake_event_str(ev, "var_offer_id"))
            continue;
        rung += !strcmp(plt_fake_event_topic(ev), "call.created");
        ended += !strcmp(plt_fake_event_topic(ev), "call.ended");
    }
    assert_true(answered > 10);
    /* One leg per offer, and no other agent leg at all. */
    assert_int_equal(rung, offered);
    assert_int_equal(plt_fake_host_event_count(f->fh, "call.created"),
                     rung + plt_fake_host_event_count(f->fh, "queue.joined"));
    /* Legs still up belong to calls in progress or offers ringing. */
    assert_true(ended <= rung && rung - ended <= NAGENTS);
    assert_int_equal(
        plt_fake_host_event_count(f->fh, "agent.state_repaired"), 0);
    assert_int_equal(plt_fake_host_log_count(f->fh, PLT_LOG_WARN, NULL), 0);
    fixture_close(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_simulated_hour),
        cmocka_unit_test(pause_after_every_call),
        cmocka_unit_test(per_offer_phones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
