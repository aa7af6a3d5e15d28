/* SPDX-License-Identifier: MIT */
/*
 * The inbound side of the acd plugin, on the simulated clock (acd_fixture):
 * opening hours and holidays in the queue's zone (a caller on Easter
 * Monday in Paris hears the closed message and is hung up; the next day
 * the queue answers); every overflow action - message, voicemail
 * (recorded, published and stored), callback (published and stored),
 * IVR (claimed, or hung up unclaimed), reroute to another queue - and
 * every trigger - max wait, queue closed, no agent logged in (also when
 * the last one logs out while a caller waits), all agents paused, queue
 * full - with the per-reason figures; estimated-wait announcements in the
 * caller's language on join and every N s, with the hold music stopped
 * for them and back after them, and stopped when an agent answers.
 * Prompts are not read (sim: play_check_files off, each lasts 1 s).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <plateau/svc/leads.h>
#include <plateau/svc/storage.h>

#include "acd_fixture.h"

static const char sim_yaml[] =
    "seed: 7\nplay_check_files: false\nplay_duration: 1s\n";

typedef struct rows {
    size_t n;
    char first[256];
    int64_t first_i64;
    bool done;
} rows;

static int
on_row(void *arg, const plt_storage_row *r)
{
    rows *x = arg;
    if (x->n++ == 0 && r->ncols >= 2) {
        if (r->vals[0].type == PLT_T_STR)
            snprintf(x->first, sizeof(x->first), "%.*s", (int)r->vals[0].len,
                     r->vals[0].v.s);
        x->first_i64 = r->vals[1].v.i;
    }
    return 0;
}

static void
on_query(void *arg, int status, const plt_storage_result *res)
{
    (void)res;
    assert_int_equal(status, 0);
    ((rows *)arg)->done = true;
}

/* Rows of @p sql (two columns: a text, an integer). */
static rows
query(fixture *f, const char *sql)
{
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_STORAGE_NAME, 1, 0, &ref),
                     0);
    const plt_storage_vt *vt = ref.vtable;
    rows x = {0};
    assert_int_equal(
        vt->query(ref.impl, NULL, sql, NULL, 0, 0, on_row, on_query, &x), 0);
    plt_fake_host_run_until_idle(f->fh);
    assert_true(x.done);
    return x;
}

static void
assert_overflowed(fixture *f, const char *leg, const char *reason,
                  const char *action, const char *target)
{
    const plt_event *ev = last_for(f, "queue.overflowed", leg);
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "reason"), reason);
    assert_string_equal(plt_fake_event_str(ev, "action"), action);
    assert_string_equal(plt_fake_event_str(ev, "target"), target);
}

/* 2025-04-21T07:00:00Z: Easter Monday, 09:00 in Paris. */
#define EASTER_MONDAY_2025_0700Z 1745218800000LL

static void
test_closed_on_a_holiday_then_open(void **state)
{
    fixture *f = fixture_open_at(
        "queues:\n"
        "  - {name: support, time_zone: Europe/Paris,\n"
        "     hours: ['mon-fri 08:00-18:00'], holidays: [easter_monday],\n"
        "     closed: 'message:/p/closed.wav'}\n"
        "agents:\n"
        "  - {agent: alice, queues: [support]}\n",
        sim_yaml, EASTER_MONDAY_2025_0700Z);
    *state = f;
    assert_false(stats(f, "support").open);
    char leg[32];
    customer(f, leg);
    enqueue(f, "support", 0, leg);
    assert_overflowed(f, leg, "closed", "message", "/p/closed.wav");
    /* The message is played, then the caller is hung up. */
    const plt_event *ended = last_for(f, "call.ended", leg);
    assert_null(ended);
    plt_fake_host_run_for(f->fh, 2000);
    assert_int_equal(leg_state(f, leg), PLT_LEG_ENDED);
    const plt_event *pf = last_for(f, "call.play_finished", leg);
    assert_non_null(pf);
    assert_string_equal(plt_fake_event_str(pf, "file"), "/p/closed.wav");
    assert_string_equal(plt_fake_event_str(pf, "reason"), "done");
    ended = last_for(f, "call.ended", leg);
    assert_string_equal(plt_fake_event_str(ended, "hangup_by"), "system");
    plt_queue_stats st = stats(f, "support");
    assert_int_equal(st.overflowed_by[PLT_ACD_WHY_CLOSED], 1);
    assert_int_equal(st.overflowed, 1);
    assert_int_equal(st.offered,
                     st.answered + st.abandoned + st.overflowed + st.waiting);
    /* Tuesday 07:00 UTC is 09:00 in Paris: open, and answered. */
    plt_fake_host_run_for(f->fh, 24 * 3600 * 1000LL -
                                     (uint64_t)(plt_fake_host_now(f->fh) -
                                                EASTER_MONDAY_2025_0700Z));
    assert_true(stats(f, "support").open);
    const char *const staffv[] = {"alice"};
    staff(f, staffv, 1);
    char leg2[32];
    customer(f, leg2);
    enqueue(f, "support", 0, leg2);
    assert_non_null(last_for(f, "queue.answered", leg2));
    assert_null(last_for(f, "queue.overflowed", leg2));
}

static void
test_max_wait_to_voicemail(void **state)
{
    fixture *f =
        fixture_open("queues:\n"
                     "  - {name: support, max_wait: 10s, overflow: voicemail,\n"
                     "     voicemail_prompt: /p/vm.wav, voicemail_max: 20s}\n",
                     sim_yaml);
    *state = f;
    char leg[32];
    customer(f, leg);
    enqueue(f, "support", 0, leg);
    plt_fake_host_run_for(f->fh, 9000);
    assert_null(last_for(f, "queue.overflowed", leg));
    plt_fake_host_run_for(f->fh, 1500);
    assert_overflowed(f, leg, "max_wait", "voicemail", "");
    assert_int_equal(
        plt_fake_event_i64(last_for(f, "queue.overflowed", leg), "wait_ms", 0),
        10000);
    /* The prompt (1 s), then 20 s of recording at most, then hung up. */
    plt_fake_host_run_for(f->fh, 1000 + 19000);
    assert_int_equal(leg_state(f, leg), PLT_LEG_UP);
    assert_null(last_for(f, "queue.voicemail_recorded", leg));
    plt_fake_host_run_for(f->fh, 2000);
    const plt_event *vm = last_for(f, "queue.voicemail_recorded", leg);
    assert_non_null(vm);
    assert_int_equal(plt_fake_event_i64(vm, "duration_ms", 0), 20000);
    const char *path = plt_fake_event_str(vm, "path");
    char want[4096];
    snprintf(want, sizeof(want), "%s/voicemail/support-",
             plt_fake_host_data_dir(f->fh));
    assert_memory_equal(path, want, strlen(want));
    assert_int_equal(leg_state(f, leg), PLT_LEG_ENDED);
    char saved[256];
    snprintf(saved, sizeof(saved), "%s", path);

    /* A caller who hangs up while recording leaves a shorter message. */
    char leg2[32];
    customer(f, leg2);
    enqueue(f, "support", 0, leg2);
    plt_fake_host_run_for(f->fh, 10000 + 1000 + 5000);
    plt_leg *l;
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, leg2, &l), 0);
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, l, 0, PLT_BY_CUSTOMER), 0);
    f->tel.vt->leg_unref(f->tel.impl, l);
    plt_fake_host_run_until_idle(f->fh);
    vm = last_for(f, "queue.voicemail_recorded", leg2);
    assert_non_null(vm);
    int64_t d2 = plt_fake_event_i64(vm, "duration_ms", 0);
    assert_true(d2 >= 4000 && d2 <= 6000);

    rows r =
        query(f, "SELECT path, duration_ms FROM acd_voicemail ORDER BY id");
    assert_int_equal(r.n, 2);
    assert_string_equal(r.first, saved);
    assert_int_equal(r.first_i64, 20000);
    plt_queue_stats st = stats(f, "support");
    assert_int_equal(st.voicemails, 2);
    assert_int_equal(st.overflowed_by[PLT_ACD_WHY_MAX_WAIT], 2);
}

static void
test_no_agents_offers_a_callback(void **state)
{
    fixture *f = fixture_open(
        "queues:\n"
        "  - {name: sales, no_agents: callback, callback_prompt: /p/cb.wav}\n"
        "agents:\n"
        "  - {agent: alice, queues: [sales]}\n",
        sim_yaml);
    *state = f;
    char leg[32];
    customer(f, leg);
    enqueue(f, "sales", 0, leg);
    assert_overflowed(f, leg, "no_agents", "callback", "");
    const plt_event *cb = last_for(f, "queue.callback_requested", leg);
    assert_non_null(cb);
    const char *number = plt_fake_event_str(cb, "number");
    assert_true(number && *number);
    char saved[64];
    snprintf(saved, sizeof(saved), "%s", number);
    /* The prompt is played, then the caller is hung up. */
    assert_int_equal(leg_state(f, leg), PLT_LEG_UP);
    plt_fake_host_run_for(f->fh, 1500);
    assert_int_equal(leg_state(f, leg), PLT_LEG_ENDED);
    rows r = query(f, "SELECT number, requested_at FROM acd_callback");
    assert_int_equal(r.n, 1);
    assert_string_equal(r.first, saved);
    assert_int_equal(stats(f, "sales").callbacks, 1);
    /* With an agent logged in (even paused), callers wait. */
    login(f, "alice");
    plt_fake_host_run_for(f->fh, 3000);
    char leg2[32];
    customer(f, leg2);
    enqueue(f, "sales", 0, leg2);
    assert_null(last_for(f, "queue.overflowed", leg2));
    assert_int_equal(stats(f, "sales").waiting, 1);
}

static void
on_list_id(void *arg, int status, int64_t id)
{
    assert_int_equal(status, 0);
    *(int64_t *)arg = id;
}

static void
on_list_stats(void *arg, int status, const plt_list_stats *st)
{
    assert_int_equal(status, 0);
    *(int64_t *)arg = st->total;
}

/* With the leads service and a callback_list, the request is a contact of
 * that list (an outbound campaign calls it back), not a row of the acd's
 * own table. Real inbound callers (sim DID traffic) bring their numbers. */
static void
test_callback_through_leads(void **state)
{
    static const char *const extra[] = {"leads", NULL};
    fixture *f = fixture_open_ext(
        "queues:\n"
        "  - {name: sales, dids: ['+33140000001'], no_agents: callback,\n"
        "     callback_list: callbacks}\n",
        "seed: 7\nplay_check_files: false\nplay_duration: 1s\n"
        "inbound:\n  - {did: '+33140000001', rate_per_hour: 360}\n",
        NULL, 0, extra);
    *state = f;
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_LEADS_NAME, 1, 0, &ref),
                     0);
    const plt_leads_vt *lv = ref.vtable;
    plt_lead_rules rules = {.country = "FR"};
    int64_t list_id = 0;
    assert_int_equal(lv->list_create(ref.impl, "callbacks", &rules, NULL, 0,
                                     on_list_id, &list_id),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_true(list_id > 0);
    plt_fake_host_run_for(f->fh, 5 * 60 * 1000);
    size_t n = plt_fake_host_event_count(f->fh, "queue.callback_requested");
    assert_true(n >= 3);
    const plt_event *ev =
        plt_fake_host_event_last(f->fh, "queue.callback_requested");
    assert_string_equal(plt_fake_event_str(ev, "list"), "callbacks");
    assert_memory_equal(plt_fake_event_str(ev, "number"), "+331", 4);
    plt_fake_host_run_until_idle(f->fh);
    int64_t total = -1;
    assert_int_equal(lv->list_stats(ref.impl, list_id, plt_fake_host_now(f->fh),
                                    on_list_stats, &total),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(total, (int64_t)n);
    assert_int_equal(
        query(f, "SELECT number, requested_at FROM acd_callback").n, 0);
    assert_int_equal(stats(f, "sales").callbacks, n);
}

static void
test_all_paused_to_ivr(void **state)
{
    fixture *f = fixture_open("ivr_claim: 5s\n"
                              "queues:\n"
                              "  - {name: support, all_paused: 'ivr:main'}\n"
                              "agents:\n"
                              "  - {agent: alice, queues: [support]}\n",
                              sim_yaml);
    *state = f;
    login(f, "alice");
    plt_fake_host_run_for(f->fh, 3000);
    assert_int_equal(agent_state(f, "alice"), PLT_AGENT_PAUSE);
    char leg[32], leg2[32];
    customer(f, leg);
    enqueue(f, "support", 0, leg);
    assert_overflowed(f, leg, "all_paused", "ivr", "main");
    const plt_event *req = last_for(f, "ivr.requested", leg);
    assert_non_null(req);
    assert_string_equal(plt_fake_event_str(req, "entry"), "main");
    /* An IVR claims the first caller: it stays up. */
    plt_fake_field fld[] = {{"leg_id", PLT_V_STR(leg)}};
    assert_int_equal(plt_fake_host_publish(f->fh, "ivr.claimed", fld, 1), 0);
    customer(f, leg2);
    enqueue(f, "support", 0, leg2);
    assert_non_null(last_for(f, "ivr.requested", leg2));
    plt_fake_host_run_for(f->fh, 4000);
    assert_int_equal(leg_state(f, leg2), PLT_LEG_UP);
    /* Nobody claims the second: hung up rather than left in silence. */
    plt_fake_host_run_for(f->fh, 1500);
    assert_int_equal(leg_state(f, leg2), PLT_LEG_ENDED);
    assert_int_equal(leg_state(f, leg), PLT_LEG_UP);
    assert_int_equal(stats(f, "support").overflowed_by[PLT_ACD_WHY_ALL_PAUSED],
                     2);
}

static void
test_full_and_last_agent_leaving_reroute(void **state)
{
    fixture *f =
        fixture_open("queues:\n"
                     "  - {name: support, max_size: 1, full: 'queue:backup',\n"
                     "     no_agents: 'queue:backup'}\n"
                     "  - {name: backup}\n"
                     "agents:\n"
                     "  - {agent: alice, queues: [support]}\n"
                     "  - {agent: bob, queues: [backup]}\n",
                     sim_yaml);
    *state = f;
    login(f, "alice"); /* logged in, paused: callers wait */
    plt_fake_host_run_for(f->fh, 3000);
    char c1[32], c2[32];
    customer(f, c1);
    enqueue(f, "support", 0, c1);
    assert_null(last_for(f, "queue.overflowed", c1));
    customer(f, c2);
    enqueue(f, "support", 0, c2);
    assert_overflowed(f, c2, "full", "queue", "backup");
    const plt_event *j = last_for(f, "queue.joined", c2);
    assert_string_equal(plt_fake_event_str(j, "queue"), "backup");
    /* Alice logs out: nobody is left for support, c1 moves too. */
    assert_int_equal(
        f->ag.vt->logout(f->ag.impl, "alice", true, "test", NULL, NULL), 0);
    plt_fake_host_run_until_idle(f->fh);
    assert_overflowed(f, c1, "no_agents", "queue", "backup");
    assert_int_equal(stats(f, "backup").waiting, 2);
    /* Bob serves c1 first: it kept its seniority. */
    const char *const staffv[] = {"bob"};
    staff(f, staffv, 1);
    const plt_event *ans = plt_fake_host_event_at(f->fh, "queue.answered", 0);
    assert_non_null(ans);
    assert_string_equal(plt_fake_event_str(ans, "leg_id"), c1);
    plt_queue_stats st = stats(f, "support");
    assert_int_equal(st.overflowed_by[PLT_ACD_WHY_FULL], 1);
    assert_int_equal(st.overflowed_by[PLT_ACD_WHY_NO_AGENTS], 1);
    assert_int_equal(st.offered,
                     st.answered + st.abandoned + st.overflowed + st.waiting);
}

/* Alice staffs "support" and takes caller @p c1 (who never hangs up). */
static void
alice_takes_a_call(fixture *f, char c1[32])
{
    const char *const staffv[] = {"alice"};
    staff(f, staffv, 1);
    customer(f, c1);
    enqueue(f, "support", 0, c1);
}

static void
test_estimated_wait_announcements_and_hold_music(void **state)
{
    fixture *f = fixture_open(
        "queues:\n"
        "  - {name: support, hold_music: /p/moh.wav, wrap_up: 1s,\n"
        "     prompts: ['en:/p/en', 'fr:/p/fr'], language: en,\n"
        "     aht_default: 2m, announce_every: 30s}\n"
        "agents:\n"
        "  - {agent: alice, queues: [support]}\n",
        sim_yaml);
    *state = f;
    char c1[32], c2[32];
    alice_takes_a_call(f, c1);
    /* Served at once: nothing announced. */
    assert_non_null(last_for(f, "queue.answered", c1));
    assert_int_equal(count_for(f, "queue.announced", c1), 0);
    customer(f, c2);
    plt_kv vars[] = {{"language", "fr"}};
    plt_acd_request r = {.size = sizeof(r),
                         .queue = "support",
                         .leg_id = c2,
                         .vars = vars,
                         .nvars = 1};
    char id[32];
    assert_int_equal(f->acd.vt->enqueue(f->acd.impl, &r, id), 0);
    plt_fake_host_run_until_idle(f->fh);
    /* Position 1 x 2 min / 1 agent serving: "2 minutes", in French. */
    const plt_event *an = last_for(f, "queue.announced", c2);
    assert_non_null(an);
    assert_int_equal(plt_fake_event_i64(an, "estimated_wait_ms", 0), 120000);
    assert_int_equal(plt_fake_event_i64(an, "minutes", 0), 2);
    assert_string_equal(plt_fake_event_str(an, "first"), "/p/fr/ewt_intro.wav");
    /* The three files, one after the other; the music stopped for them. */
    plt_fake_host_run_for(f->fh, 3500);
    const char *const want[] = {"/p/moh.wav", "/p/fr/ewt_intro.wav",
                                "/p/fr/2.wav", "/p/fr/minutes.wav"};
    size_t k = 0;
    for (size_t i = 0;; i++) {
        const plt_event *ev =
            plt_fake_host_event_at(f->fh, "call.play_finished", i);
        if (!ev)
            break;
        if (strcmp(plt_fake_event_str(ev, "leg_id"), c2) != 0)
            continue;
        assert_true(k < 4);
        assert_string_equal(plt_fake_event_str(ev, "file"), want[k]);
        assert_string_equal(plt_fake_event_str(ev, "reason"),
                            k == 0 ? "stopped" : "done");
        k++;
    }
    assert_int_equal(k, 4);
    /* Again after 30 s. */
    plt_fake_host_run_for(f->fh, 27000);
    assert_int_equal(count_for(f, "queue.announced", c2), 2);
    /* Once it is over (3 s), the music is back; then alice is free
     * again: the caller is bridged, the music stopped. */
    plt_fake_host_run_for(f->fh, 3000);
    plt_leg *l;
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, c1, &l), 0);
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, l, 0, PLT_BY_CUSTOMER), 0);
    f->tel.vt->leg_unref(f->tel.impl, l);
    plt_fake_host_run_for(f->fh, 5000);
    assert_non_null(last_for(f, "queue.answered", c2));
    const plt_event *pf = last_for(f, "call.play_finished", c2);
    assert_string_equal(plt_fake_event_str(pf, "file"), "/p/moh.wav");
    assert_string_equal(plt_fake_event_str(pf, "reason"), "stopped");
    /* The figures now use the completed call's handle time. */
    plt_queue_stats st = stats(f, "support");
    assert_true(st.estimated_wait_ms > 30000 && st.estimated_wait_ms < 120000);
}

static void
test_rerouted_caller_meets_the_next_queue_rules(void **state)
{
    /* Monday 09:00 UTC: "night" is closed and sends callers to "backup",
     * where nobody is logged in; "loop" and "night2" send callers to each
     * other. */
    fixture *f =
        fixture_open("queues:\n"
                     "  - {name: night, hours: ['sat 10:00-11:00'], closed: "
                     "'queue:backup'}\n"
                     "  - {name: backup, no_agents: 'message:/p/sorry.wav'}\n"
                     "  - {name: loop, no_agents: 'queue:night2'}\n"
                     "  - {name: night2, hours: ['sat 10:00-11:00'], closed: "
                     "'queue:loop'}\n",
                     sim_yaml);
    *state = f;
    char c1[32], c2[32];
    customer(f, c1);
    enqueue(f, "night", 0, c1);
    assert_int_equal(count_for(f, "queue.overflowed", c1), 2);
    assert_overflowed(f, c1, "no_agents", "message", "/p/sorry.wav");
    plt_fake_host_run_for(f->fh, 2000);
    assert_int_equal(leg_state(f, c1), PLT_LEG_ENDED);
    /* A cycle stops after a few reroutes; the caller is kept waiting. */
    customer(f, c2);
    enqueue(f, "loop", 0, c2);
    assert_int_equal(count_for(f, "queue.overflowed", c2), 1 + 4);
    assert_int_equal(leg_state(f, c2), PLT_LEG_UP);
    assert_int_equal(stats(f, "loop").waiting + stats(f, "night2").waiting, 1);
}

/* With close_waiting, callers still waiting at closing time get the
 * closed action; without it they stay. Monday 09:00 UTC, closing 09:30. */
static void
test_closing_time_for_waiting_callers(void **state)
{
    fixture *f = fixture_open(
        "queues:\n"
        "  - {name: day, hours: ['mon-fri 08:00-09:30'], close_waiting: true,\n"
        "     closed: 'message:/p/closed.wav'}\n"
        "  - {name: keep, hours: ['mon-fri 08:00-09:30'],\n"
        "     closed: 'message:/p/closed.wav'}\n",
        sim_yaml);
    *state = f;
    char c1[32], c2[32];
    customer(f, c1);
    enqueue(f, "day", 0, c1);
    customer(f, c2);
    enqueue(f, "keep", 0, c2);
    plt_fake_host_run_for(
        f->fh, (uint64_t)(1736155800000LL - 1000 - plt_fake_host_now(f->fh)));
    assert_null(last_for(f, "queue.overflowed", c1));
    assert_true(stats(f, "day").open);
    plt_fake_host_run_for(f->fh, 1000);
    assert_false(stats(f, "day").open);
    const plt_event *ov = last_for(f, "queue.overflowed", c1);
    assert_non_null(ov);
    assert_int_equal(plt_fake_event_time(ov), 1736155800000LL);
    assert_overflowed(f, c1, "closed", "message", "/p/closed.wav");
    plt_fake_host_run_for(f->fh, 2000);
    assert_int_equal(leg_state(f, c1), PLT_LEG_ENDED);
    /* "keep" keeps its caller; a new one is refused. */
    assert_null(last_for(f, "queue.overflowed", c2));
    assert_int_equal(stats(f, "keep").waiting, 1);
    assert_int_equal(leg_state(f, c2), PLT_LEG_UP);
    char c3[32];
    customer(f, c3);
    enqueue(f, "keep", 0, c3);
    assert_overflowed(f, c3, "closed", "message", "/p/closed.wav");
}

static void
on_prev(void *arg, int status, const plt_queue_stats *st)
{
    assert_int_equal(status, 0);
    *(plt_queue_stats *)arg = *st;
}

/* 2025-01-06T23:00:00Z is midnight in Paris (CET); the day before began
 * at 2025-01-05T23:00:00Z. */
#define PARIS_MIDNIGHT 1736204400000LL

static void
test_counters_restart_at_local_midnight(void **state)
{
    fixture *f = fixture_open("time_zone: Europe/Paris\n"
                              "queues:\n"
                              "  - {name: support, wrap_up: 1s}\n"
                              "agents:\n"
                              "  - {agent: alice, queues: [support]}\n",
                              sim_yaml);
    *state = f;
    char c1[32], c2[32];
    alice_takes_a_call(f, c1);
    customer(f, c2);
    enqueue(f, "support", 0, c2);
    plt_queue_stats st = stats(f, "support");
    assert_int_equal(st.offered, 2);
    assert_int_equal(st.answered, 1);
    assert_int_equal(st.period_start_ms, PARIS_MIDNIGHT - 86400000LL);
    assert_int_equal(st.sl_threshold_ms, 20000); /* the default */
    plt_queue_stats prev;
    assert_int_equal(
        f->acd.vt->stats_previous(f->acd.impl, "support", on_prev, &prev),
        PLT_ENOENT);
    /* Past midnight in Paris (23:00 UTC): a new day. */
    plt_fake_host_run_for(
        f->fh, (uint64_t)(PARIS_MIDNIGHT + 1000 - plt_fake_host_now(f->fh)));
    const plt_event *ev = plt_fake_host_event_last(f->fh, "acd.day_ended");
    assert_non_null(ev);
    assert_int_equal(plt_fake_event_i64(ev, "period_end_ms", 0),
                     PARIS_MIDNIGHT);
    assert_int_equal(plt_fake_event_time(ev), PARIS_MIDNIGHT);
    st = stats(f, "support");
    assert_int_equal(st.period_start_ms, PARIS_MIDNIGHT);
    assert_int_equal(st.answered, 0);
    assert_int_equal(st.offered, 1); /* c2, carried over */
    assert_int_equal(st.waiting, 1);
    assert_int_equal(
        f->acd.vt->stats_previous(f->acd.impl, "support", on_prev, &prev), 0);
    assert_int_equal(prev.offered, 2);
    assert_int_equal(prev.answered, 1);
    assert_int_equal(prev.waiting, 1);
    assert_int_equal(prev.period_start_ms, PARIS_MIDNIGHT - 86400000LL);
    assert_int_equal(prev.period_end_ms, PARIS_MIDNIGHT);
    assert_int_equal(prev.sl_threshold_ms, 20000);
    /* c2 is answered today; each day adds up. */
    plt_leg *l;
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, c1, &l), 0);
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, l, 0, PLT_BY_CUSTOMER), 0);
    f->tel.vt->leg_unref(f->tel.impl, l);
    plt_fake_host_run_for(f->fh, 3000);
    assert_non_null(last_for(f, "queue.answered", c2));
    st = stats(f, "support");
    assert_int_equal(st.answered, 1);
    assert_int_equal(st.offered,
                     st.answered + st.abandoned + st.overflowed + st.waiting);
    assert_int_equal(prev.offered, prev.answered + prev.abandoned +
                                       prev.overflowed + prev.waiting);
    /* The next midnight comes 24 h later (no DST change in January). */
    plt_fake_host_run_for(f->fh, 86400000ULL);
    assert_int_equal(plt_fake_host_event_count(f->fh, "acd.day_ended"), 2);
    assert_int_equal(
        f->acd.vt->stats_previous(f->acd.impl, "support", on_prev, &prev), 0);
    assert_int_equal(prev.answered, 1);
    assert_int_equal(prev.offered, 1);
}

/* An hour of inbound traffic through every feature at once: hours (open),
 * announcements, hold music, max_size rerouting to a spill queue whose
 * max wait asks for a callback, max wait on the main queue to voicemail.
 * Returns the queue.* event log; checks that each queue's counts add up,
 * that every caller who joined "in" ended answered, abandoned or
 * overflowed (or still waits), and that nothing warned or was repaired. */
static char *
mixed_hour(size_t *overflows)
{
    fixture *f = fixture_open(
        "seed: 3\n"
        "queues:\n"
        "  - {name: in, dids: ['+33140000000'], wrap_up: 5s,\n"
        "     hours: ['daily 00:00-24:00'], holidays: ['12-25'],\n"
        "     max_wait: 60s, overflow: voicemail, voicemail_max: 10s,\n"
        "     voicemail_prompt: /p/vm.wav, max_size: 4, full: 'queue:spill',\n"
        "     hold_music: /p/moh.wav, prompts: ['en:/p/en'],\n"
        "     aht_default: 1m, announce_every: 20s}\n"
        "  - {name: spill, max_wait: 30s, overflow: callback,\n"
        "     hold_music: /p/moh.wav}\n"
        "agents:\n"
        "  - {agent: '300', queues: [in, spill]}\n"
        "  - {agent: '301', queues: [in, spill]}\n"
        "  - {agent: '302', queues: [in]}\n",
        "seed: 21\nplay_check_files: false\nplay_duration: 1s\n"
        "patience_mean: 70s\npatience_sd: 30s\n"
        "talk_mean: 90s\ntalk_sd: 30s\n"
        "trunks: [{name: sim, max_channels: 200, cps: 0}]\n"
        "inbound:\n  - {did: '+33140000000', rate_per_hour: 150}\n");
    const char *const v[] = {"300", "301", "302"};
    staff(f, v, 3);
    plt_fake_host_run_for(f->fh, 3600 * 1000);
    size_t total = plt_fake_host_event_count(f->fh, "*");
    size_t cap = 1 << 20, len = 0;
    char *log = malloc(cap);
    assert_non_null(log);
    for (size_t i = 0; i < total; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, "*", i);
        const char *t = plt_fake_event_topic(ev);
        if (strncmp(t, "queue.", 6) != 0 || len + 256 >= cap)
            continue;
        const char *r = plt_fake_event_str(ev, "reason");
        len += (size_t)snprintf(log + len, cap - len, "%lld %s %s %s %s\n",
                                (long long)plt_fake_event_time(ev), t,
                                plt_fake_event_str(ev, "leg_id"),
                                plt_fake_event_str(ev, "queue"), r ? r : "-");
    }
    log[len] = '\0';
    const char *const qs[] = {"in", "spill"};
    for (size_t k = 0; k < 2; k++) {
        plt_queue_stats st = stats(f, qs[k]);
        assert_int_equal(st.offered, st.answered + st.abandoned +
                                         st.overflowed + st.waiting);
        assert_int_equal(st.overflowed, st.overflowed_by[PLT_ACD_WHY_MAX_WAIT] +
                                            st.overflowed_by[PLT_ACD_WHY_FULL]);
    }
    plt_queue_stats in = stats(f, "in"), spill = stats(f, "spill");
    assert_true(in.offered > 100);
    /* Every overflow happened; the spill queue got the full ones. */
    assert_true(in.overflowed_by[PLT_ACD_WHY_FULL] > 0);
    assert_true(in.voicemails > 0);
    assert_true(spill.offered == in.overflowed_by[PLT_ACD_WHY_FULL]);
    assert_int_equal(spill.callbacks, spill.overflowed);
    assert_int_equal(
        plt_fake_host_event_count(f->fh, "queue.voicemail_recorded"),
        in.voicemails);
    assert_true(plt_fake_host_event_count(f->fh, "queue.announced") > 10);
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.state_repaired"),
                     0);
    assert_int_equal(plt_fake_host_log_count(f->fh, PLT_LOG_WARN, NULL), 0);
    *overflows = in.overflowed + spill.overflowed;
    fixture_close(f);
    return log;
}

static void
test_an_hour_with_every_feature_replays(void **state)
{
    (void)state;
    size_t a = 0, b = 0;
    char *la = mixed_hour(&a);
    char *lb = mixed_hour(&b);
    assert_true(a > 0);
    assert_int_equal(a, b);
    assert_string_equal(la, lb);
    free(la);
    free(lb);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_closed_on_a_holiday_then_open, teardown),
        cmocka_unit_test_teardown(test_max_wait_to_voicemail, teardown),
        cmocka_unit_test_teardown(test_no_agents_offers_a_callback, teardown),
        cmocka_unit_test_teardown(test_callback_through_leads, teardown),
        cmocka_unit_test_teardown(test_all_paused_to_ivr, teardown),
        cmocka_unit_test_teardown(test_full_and_last_agent_leaving_reroute,
                                  teardown),
        cmocka_unit_test_teardown(
            test_estimated_wait_announcements_and_hold_music, teardown),
        cmocka_unit_test_teardown(test_counters_restart_at_local_midnight,
                                  teardown),
        cmocka_unit_test_teardown(
            test_rerouted_caller_meets_the_next_queue_rules, teardown),
        cmocka_unit_test(test_an_hour_with_every_feature_replays),
        cmocka_unit_test_teardown(test_closing_time_for_waiting_callers,
                                  teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
