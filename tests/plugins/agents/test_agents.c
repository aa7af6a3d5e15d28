/* SPDX-License-Identifier: MIT */
/*
 * The agents plugin as the ACD, the web layer and supervisors rely on it,
 * on the fake host with the real plugins as built: storage_sqlite.so,
 * sim.so (simulated agent phones answer after 1-3 s) and agents.so, on
 * the simulated clock.
 *
 * Covered: login through CONNECTING to PAUSE(login) once the phone
 * answers; a full call cycle with wrap-up ending after exactly
 * max_wrap_up; a pause asked for during a call applied after wrap-up;
 * PAUSE(no_answer) after the configured missed offers; every request in
 * every state against the transition table (PLT_ESTATE); a supervisor's
 * forced state logged with who; the offer timeout repaired with
 * agent.state_repaired; a customer leg ending just before the owner's
 * call_ended() never repaired (the race seen under load), one left in call
 * repaired; a phone hung up remotely reconnected, then
 * LOGGED_OUT when reconnection keeps failing; the storage state log
 * complete and contiguous; the same script giving the same event log;
 * outbound and a logout asked for during a call (applied after wrap-up);
 * max_pause raising agent.pause_exceeded; list and available ordering.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include <plateau/plateau.h>
#include <plateau/svc/agents.h>
#include <plateau/svc/storage.h>
#include <plateau/svc/telephony.h>
#include <plateau/testing/fake_host.h>

#define A "alice"
#define PHONE "agent:101"

typedef struct fixture {
    plt_fake_host *fh;
    plt_agents ag;
    plt_telephony tel;
    plt_storage st;
    uv_timer_t guard;
    bool guard_open;
} fixture;

/* A copy of plt_agent_info that outlives the callback. */
typedef struct snap {
    int status;
    int32_t state;
    char reason[64];
    char leg_id[64];
    char pending[64];
    int32_t missed;
    int64_t since;
} snap;

/* ------------------------------------------------------------------ */
/* Harness */

static void
guard_tick(uv_timer_t *t)
{
    (void)t;
}

/* Run the loop until *flag: storage works on its own threads. */
static void
wait_flag(fixture *f, const bool *flag)
{
    uv_loop_t *loop = plt_fake_host_loop(f->fh);
    for (int i = 0; i < 3000 && !*flag; i++) {
        plt_fake_host_run_until_idle(f->fh);
        if (*flag)
            break;
        uv_timer_start(&f->guard, guard_tick, 10, 0);
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&f->guard);
    assert_true(*flag);
}

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
fixture_open(const char *agents_yaml)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(plt_fake_host_new(&f->fh, NULL), 0);
    uv_timer_init(plt_fake_host_loop(f->fh), &f->guard);
    f->guard_open = true;
    add_so(f, "storage_sqlite", NULL);
    add_so(f, "sim", "seed: 7\n");
    add_so(f, "agents", agents_yaml);
    int rc = plt_fake_host_init(f->fh);
    if (rc != 0)
        print_error("init: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    rc = plt_fake_host_start(f->fh);
    if (rc != 0)
        print_error("start: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_AGENTS_NAME,
                                           PLT_AGENTS_MAJOR, 0, &ref),
                     0);
    f->ag.vt = ref.vtable;
    f->ag.impl = ref.impl;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_TELEPHONY_NAME,
                                           PLT_TELEPHONY_MAJOR, 0, &ref),
                     0);
    f->tel.vt = ref.vtable;
    f->tel.impl = ref.impl;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_STORAGE_NAME,
                                           PLT_STORAGE_MAJOR, 0, &ref),
                     0);
    f->st.vt = ref.vtable;
    f->st.impl = ref.impl;
    plt_fake_host_run_until_idle(f->fh);
    return f;
}

static void
guard_closed(uv_handle_t *h)
{
    (void)h;
}

static void
fixture_close(fixture *f)
{
    if (!f)
        return;
    if (f->guard_open) {
        uv_close((uv_handle_t *)&f->guard, guard_closed);
        uv_run(plt_fake_host_loop(f->fh), UV_RUN_NOWAIT);
    }
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    int rc = plt_fake_host_free(f->fh);
    free(f);
    assert_int_equal(rc, 0);
}

static int
teardown(void **state)
{
    fixture_close(*state);
    *state = NULL;
    return 0;
}

static void
on_info(void *arg, int status, const plt_agent_info *a)
{
    snap *s = arg;
    memset(s, 0, sizeof(*s));
    s->status = status;
    s->state = a->state;
    snprintf(s->reason, sizeof(s->reason), "%s", a->reason ? a->reason : "");
    snprintf(s->leg_id, sizeof(s->leg_id), "%s", a->leg_id ? a->leg_id : "");
    snprintf(s->pending, sizeof(s->pending), "%s",
             a->pending_pause ? a->pending_pause : "");
    s->missed = a->missed_offers;
    s->since = a->since;
}

static snap
get(fixture *f, const char *agent)
{
    snap s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(f->ag.vt->get(f->ag.impl, agent, on_info, &s), 0);
    return s;
}

static int32_t
state_of(fixture *f, const char *agent)
{
    return get(f, agent).state;
}

typedef struct done_rec {
    bool called;
    int status;
} done_rec;

static void
on_done(void *arg, int status, const char *msg)
{
    (void)msg;
    done_rec *d = arg;
    d->called = true;
    d->status = status;
}

/* Log in and let the simulated phone answer (1-3 s). */
static void
login(fixture *f, const char *agent)
{
    plt_agent_login l = {.size = sizeof(l),
                         .agent = agent,
                         .phone = PHONE,
                         .keep_up = true,
                         .origin = "127.0.0.1"};
    done_rec d = {0};
    assert_int_equal(f->ag.vt->login(f->ag.impl, &l, on_done, &d), 0);
    assert_int_equal(state_of(f, agent), PLT_AGENT_CONNECTING);
    plt_fake_host_run_for(f->fh, 3000);
    assert_true(d.called);
    assert_int_equal(d.status, 0);
    snap s = get(f, agent);
    assert_int_equal(s.state, PLT_AGENT_PAUSE);
    assert_string_equal(s.reason, "login");
}

static void
ready(fixture *f, const char *agent)
{
    assert_int_equal(f->ag.vt->set_state(f->ag.impl, agent, PLT_AGENT_AVAILABLE,
                                         NULL, NULL, NULL),
                     0);
    assert_int_equal(state_of(f, agent), PLT_AGENT_AVAILABLE);
}

/* Hang up a leg by id from the far end, as the agent would. */
static void
hangup_leg(fixture *f, const char *leg_id)
{
    plt_leg *leg;
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, leg_id, &leg), 0);
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, leg, 0, PLT_BY_AGENT), 0);
    f->tel.vt->leg_unref(f->tel.impl, leg);
    plt_fake_host_run_until_idle(f->fh);
}

/* ------------------------------------------------------------------ */
/* Tests */

static void
login_then_call_cycle(void **state)
{
    fixture *f = *state = fixture_open(NULL);
    login(f, A);
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.state_changed"),
                     2);
    ready(f, A);
    assert_int_equal(f->ag.vt->offer(f->ag.impl, A, "o1", 0), 0);
    assert_int_equal(state_of(f, A), PLT_AGENT_RESERVED);
    assert_int_equal(f->ag.vt->offer(f->ag.impl, A, "o2", 0), PLT_ESTATE);
    assert_int_equal(f->ag.vt->offer_answered(f->ag.impl, A, "o1", NULL), 0);
    assert_int_equal(state_of(f, A), PLT_AGENT_IN_CALL);
    plt_fake_host_run_for(f->fh, 10000);
    assert_int_equal(f->ag.vt->call_ended(f->ag.impl, A, 0), 0);
    assert_int_equal(state_of(f, A), PLT_AGENT_WRAP_UP);
    /* The default max_wrap_up is 30 s, to the millisecond. */
    plt_fake_host_run_for(f->fh, 29999);
    assert_int_equal(state_of(f, A), PLT_AGENT_WRAP_UP);
    plt_fake_host_run_for(f->fh, 1);
    assert_int_equal(state_of(f, A), PLT_AGENT_AVAILABLE);
    plt_fake_host_run_until_idle(f->fh);
    const plt_event *ev =
        plt_fake_host_event_last(f->fh, "agent.state_changed");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "from"), "wrap_up");
    assert_string_equal(plt_fake_event_str(ev, "to"), "available");
    assert_string_equal(plt_fake_event_str(ev, "by"), "system");
    assert_int_equal(plt_fake_event_i64(ev, "previous_ms", -1), 30000);
    /* The kept-up phone leg is still there for the next call. */
    plt_leg *leg = f->ag.vt->phone_leg(f->ag.impl, A);
    assert_non_null(leg);
    f->tel.vt->leg_unref(f->tel.impl, leg);
}

static void
pending_pause_after_wrap_up(void **state)
{
    fixture *f = *state = fixture_open("max_wrap_up: 5s\n");
    login(f, A);
    ready(f, A);
    assert_int_equal(f->ag.vt->offer(f->ag.impl, A, "o1", 0), 0);
    assert_int_equal(f->ag.vt->offer_answered(f->ag.impl, A, "o1", NULL), 0);
    assert_int_equal(
        f->ag.vt->set_state(f->ag.impl, A, PLT_AGENT_PAUSE, "nap", NULL, NULL),
        PLT_EINVAL);
    assert_int_equal(
        f->ag.vt->set_state(f->ag.impl, A, PLT_AGENT_PAUSE, "meal", NULL, NULL),
        0);
    snap s = get(f, A);
    assert_int_equal(s.state, PLT_AGENT_IN_CALL);
    assert_string_equal(s.pending, "meal");
    assert_int_equal(f->ag.vt->call_ended(f->ag.impl, A, 0), 0);
    assert_int_equal(state_of(f, A), PLT_AGENT_WRAP_UP);
    plt_fake_host_run_for(f->fh, 5000);
    s = get(f, A);
    assert_int_equal(s.state, PLT_AGENT_PAUSE);
    assert_string_equal(s.reason, "meal");
    assert_string_equal(s.pending, "");
}

static void
outbound_and_pending_logout(void **state)
{
    fixture *f = *state = fixture_open("max_wrap_up: 4s\n");
    login(f, A);
    assert_int_equal(f->ag.vt->outbound_started(f->ag.impl, A, NULL), 0);
    assert_int_equal(state_of(f, A), PLT_AGENT_OUTBOUND);
    /* Logout during a call waits for the call and the wrap-up. */
    done_rec d = {0};
    assert_int_equal(f->ag.vt->logout(f->ag.impl, A, false, A, on_done, &d), 0);
    assert_int_equal(state_of(f, A), PLT_AGENT_OUTBOUND);
    assert_int_equal(f->ag.vt->call_ended(f->ag.impl, A, 0), 0);
    assert_int_equal(state_of(f, A), PLT_AGENT_WRAP_UP);
    plt_fake_host_run_for(f->fh, 4000);
    snap s = get(f, A);
    assert_int_equal(s.state, PLT_AGENT_LOGGED_OUT);
    assert_string_equal(s.leg_id, "");
    assert_true(d.called);
    assert_int_equal(d.status, 0);
}

static void
missed_offers_pause(void **state)
{
    fixture *f = *state = fixture_open(NULL);
    login(f, A);
    ready(f, A);
    for (int i = 1; i <= 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "o%d", i);
        assert_int_equal(f->ag.vt->offer(f->ag.impl, A, id, 0), 0);
        assert_int_equal(f->ag.vt->offer_failed(f->ag.impl, A, "other", true),
                         PLT_ESTATE);
        assert_int_equal(f->ag.vt->offer_failed(f->ag.impl, A, id, true), 0);
        snap s = get(f, A);
        if (i < 3) {
            assert_int_equal(s.state, PLT_AGENT_AVAILABLE);
            assert_int_equal(s.missed, i);
        } else {
            assert_int_equal(s.state, PLT_AGENT_PAUSE);
            assert_string_equal(s.reason, "no_answer");
        }
    }
}

enum {
    R_READY,
    R_PAUSE,
    R_BACKOFFICE,
    R_OFFER,
    R_ANSWERED,
    R_FAILED,
    R_CALL_ENDED,
    R_OUTBOUND,
    R_LOGIN,
    R_LOGOUT,
    R__N
};

static int
request(fixture *f, int r)
{
    const plt_agents_vt *vt = f->ag.vt;
    void *im = f->ag.impl;
    plt_agent_login l = {
        .size = sizeof(l), .agent = A, .phone = PHONE, .keep_up = true};
    switch (r) {
    case R_READY:
        return vt->set_state(im, A, PLT_AGENT_AVAILABLE, NULL, NULL, NULL);
    case R_PAUSE:
        return vt->set_state(im, A, PLT_AGENT_PAUSE, "meal", NULL, NULL);
    case R_BACKOFFICE:
        return vt->set_state(im, A, PLT_AGENT_WRAP_UP, NULL, NULL, NULL);
    case R_OFFER:
        return vt->offer(im, A, "ox", 0);
    case R_ANSWERED:
        return vt->offer_answered(im, A, "ox", NULL);
    case R_FAILED:
        return vt->offer_failed(im, A, "ox", false);
    case R_CALL_ENDED:
        return vt->call_ended(im, A, 0);
    case R_OUTBOUND:
        return vt->outbound_started(im, A, NULL);
    case R_LOGIN:
        return vt->login(im, &l, NULL, NULL);
    default:
        return vt->logout(im, A, true, A, NULL, NULL);
    }
}

static void
invalid_transitions_table(void **state)
{
    fixture *f = *state = fixture_open(NULL);
    enum { E = PLT_ESTATE, X = PLT_EEXIST };
    /* Rows: states 1..8; columns: the requests above. */
    static const int expect[9][R__N] = {
        [PLT_AGENT_LOGGED_OUT] = {E, E, E, E, E, E, E, E, 0, E},
        [PLT_AGENT_CONNECTING] = {E, E, E, E, E, E, E, E, X, 0},
        [PLT_AGENT_AVAILABLE] = {E, 0, 0, 0, E, E, E, 0, X, 0},
        [PLT_AGENT_RESERVED] = {E, 0, E, E, 0, 0, E, E, X, 0},
        [PLT_AGENT_IN_CALL] = {E, 0, E, E, E, E, 0, E, X, 0},
        [PLT_AGENT_WRAP_UP] = {0, 0, E, E, E, E, E, 0, X, 0},
        [PLT_AGENT_PAUSE] = {0, 0, 0, E, E, E, E, 0, X, 0},
        [PLT_AGENT_OUTBOUND] = {E, 0, E, E, E, E, 0, E, X, 0},
    };
    login(f, A);
    for (int32_t s = PLT_AGENT_CONNECTING; s <= PLT_AGENT_OUTBOUND; s++) {
        for (int r = 0; r < R__N; r++) {
            assert_int_equal(f->ag.vt->force_state(f->ag.impl, A, s, NULL,
                                                   "sup", NULL, NULL),
                             0);
            int rc = request(f, r);
            if (rc != expect[s][r])
                print_error("state %s, request %d: %d, expected %d\n",
                            plt_agent_state_name(s), r, rc, expect[s][r]);
            assert_int_equal(rc, expect[s][r]);
        }
        /* The last request logged the agent out: back in for the next. */
        assert_int_equal(state_of(f, A), PLT_AGENT_LOGGED_OUT);
        plt_fake_host_run_until_idle(f->fh);
        login(f, A);
    }
    assert_int_equal(f->ag.vt->force_state(f->ag.impl, A, PLT_AGENT_LOGGED_OUT,
                                           NULL, "sup", NULL, NULL),
                     0);
    /* Logout before login: the login (allowed) leaves LOGGED_OUT. */
    for (int r = 0; r < R__N; r++) {
        int q = r == R_LOGIN ? R_LOGOUT : r == R_LOGOUT ? R_LOGIN : r;
        assert_int_equal(request(f, q), expect[PLT_AGENT_LOGGED_OUT][q]);
    }
    assert_int_equal(state_of(f, A), PLT_AGENT_CONNECTING);
    /* Unknown agents and requests that are no state. */
    assert_int_equal(f->ag.vt->offer(f->ag.impl, "nobody", "o", 0), PLT_ENOENT);
    assert_int_equal(
        f->ag.vt->set_state(f->ag.impl, A, PLT_AGENT_IN_CALL, NULL, NULL, NULL),
        PLT_EINVAL);
}

static void
force_state_logged_with_who(void **state)
{
    fixture *f = *state = fixture_open(NULL);
    login(f, A);
    ready(f, A);
    assert_int_equal(f->ag.vt->force_state(f->ag.impl, A, PLT_AGENT_PAUSE,
                                           "meeting", "boss", NULL, NULL),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    const plt_event *ev =
        plt_fake_host_event_last(f->fh, "agent.state_changed");
    assert_string_equal(plt_fake_event_str(ev, "to"), "pause");
    assert_string_equal(plt_fake_event_str(ev, "by"), "boss");
    assert_string_equal(plt_fake_event_str(ev, "reason"), "meeting");
    /* Forcing LOGGED_OUT hangs up the agent's phone. */
    snap s = get(f, A);
    char leg_id[64];
    snprintf(leg_id, sizeof(leg_id), "%s", s.leg_id);
    assert_true(leg_id[0] != '\0');
    assert_int_equal(f->ag.vt->force_state(f->ag.impl, A, PLT_AGENT_LOGGED_OUT,
                                           NULL, "boss", NULL, NULL),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    ev = plt_fake_host_event_last(f->fh, "call.ended");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "leg_id"), leg_id);
    assert_string_equal(plt_fake_event_str(ev, "hangup_by"), "system");
    assert_null(f->ag.vt->phone_leg(f->ag.impl, A));
}

static void
offer_timeout_repaired(void **state)
{
    fixture *f = *state = fixture_open(NULL);
    login(f, A);
    ready(f, A);
    assert_int_equal(f->ag.vt->offer(f->ag.impl, A, "o1", 0), 0);
    plt_fake_host_run_for(f->fh, 19999);
    assert_int_equal(state_of(f, A), PLT_AGENT_RESERVED);
    plt_fake_host_run_for(f->fh, 1);
    snap s = get(f, A);
    assert_int_equal(s.state, PLT_AGENT_AVAILABLE);
    assert_int_equal(s.missed, 1);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.state_repaired"),
                     1);
    const plt_event *ev =
        plt_fake_host_event_last(f->fh, "agent.state_repaired");
    assert_string_equal(plt_fake_event_str(ev, "invariant"), "offer_timeout");
    assert_string_equal(plt_fake_event_str(ev, "from"), "reserved");
    assert_string_equal(plt_fake_event_str(ev, "to"), "available");
    assert_true(plt_fake_host_log_count(f->fh, PLT_LOG_WARN, "offer_timeout") >=
                1);
    /* A forced RESERVED without an offer is caught by the 1 s check. */
    assert_int_equal(f->ag.vt->force_state(f->ag.impl, A, PLT_AGENT_RESERVED,
                                           NULL, "boss", NULL, NULL),
                     0);
    plt_fake_host_run_for(f->fh, 21000);
    assert_int_equal(state_of(f, A), PLT_AGENT_AVAILABLE);
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.state_repaired"),
                     2);
}

/* A customer leg that is up: a simulated phone in the customer role. */
static void
customer_leg(fixture *f, char id[32])
{
    plt_originate o = {.size = sizeof(o),
                       .destination = "agent:901",
                       .role = PLT_LEG_CUSTOMER};
    plt_leg *leg;
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &leg), 0);
    plt_fake_host_run_for(f->fh, 3000);
    plt_leg_info i = {.size = sizeof(i)};
    assert_int_equal(f->tel.vt->leg_info(f->tel.impl, leg, &i), 0);
    assert_int_equal(i.state, PLT_LEG_UP);
    snprintf(id, 32, "%s", i.id);
    f->tel.vt->leg_unref(f->tel.impl, leg);
}

/* The customer hangs up and the invariant check runs before the call's
 * owner has handled call.ended (a talk timer and the check due at the same
 * instant fire before any event is delivered: under load this repaired
 * agents "in call without a live leg" and gave them the default wrap-up
 * instead of the queue's). The owner's call_ended() must win; only an
 * agent left in call with a dead leg for a whole check period is
 * repaired. */
static void
call_leg_end_never_races_the_owner(void **state)
{
    fixture *f = *state = fixture_open(NULL);
    login(f, A);
    ready(f, A);
    char leg[32];
    customer_leg(f, leg);
    assert_int_equal(f->ag.vt->offer(f->ag.impl, A, "o1", 0), 0);
    assert_int_equal(f->ag.vt->offer_answered(f->ag.impl, A, "o1", leg), 0);
    plt_fake_host_run_for(f->fh, 5000);
    hangup_leg(f, leg);
    /* One check passes with the leg ended and call_ended() not called
     * yet: the agent is still the owner's to end. */
    plt_fake_host_run_for(f->fh, 1000);
    assert_int_equal(state_of(f, A), PLT_AGENT_IN_CALL);
    assert_int_equal(f->ag.vt->call_ended(f->ag.impl, A, 7000), 0);
    plt_fake_host_run_for(f->fh, 6999);
    assert_int_equal(state_of(f, A), PLT_AGENT_WRAP_UP);
    plt_fake_host_run_for(f->fh, 1);
    assert_int_equal(state_of(f, A), PLT_AGENT_AVAILABLE);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.state_repaired"),
                     0);

    /* Nobody ends it: repaired after two checks at most. */
    customer_leg(f, leg);
    assert_int_equal(f->ag.vt->offer(f->ag.impl, A, "o2", 0), 0);
    assert_int_equal(f->ag.vt->offer_answered(f->ag.impl, A, "o2", leg), 0);
    hangup_leg(f, leg);
    plt_fake_host_run_for(f->fh, 2000);
    assert_int_equal(state_of(f, A), PLT_AGENT_WRAP_UP);
    plt_fake_host_run_until_idle(f->fh);
    const plt_event *ev =
        plt_fake_host_event_last(f->fh, "agent.state_repaired");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "invariant"),
                        "in_call_without_leg");
}

static void
phone_lost_reconnects(void **state)
{
    fixture *f = *state = fixture_open(NULL);
    login(f, A);
    ready(f, A);
    snap s = get(f, A);
    char old[64];
    snprintf(old, sizeof(old), "%s", s.leg_id);
    hangup_leg(f, old);
    s = get(f, A);
    assert_int_equal(s.state, PLT_AGENT_CONNECTING);
    const plt_event *ev =
        plt_fake_host_event_last(f->fh, "agent.state_repaired");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "invariant"), "phone_lost");
    /* reconnect_delay 5 s, then the phone answers within 3 s. */
    plt_fake_host_run_for(f->fh, 8000);
    s = get(f, A);
    assert_int_equal(s.state, PLT_AGENT_PAUSE);
    assert_string_equal(s.reason, "login");
    assert_string_not_equal(s.leg_id, old);
}

static void
phone_lost_then_logged_out(void **state)
{
    fixture *f = *state = fixture_open(NULL);
    login(f, A);
    ready(f, A);
    hangup_leg(f, get(f, A).leg_id);
    assert_int_equal(state_of(f, A), PLT_AGENT_CONNECTING);
    /* Each attempt is hung up while ringing: three failures. */
    for (int i = 0; i < 3; i++) {
        plt_fake_host_run_for(f->fh, 5000);
        snap s = get(f, A);
        assert_int_equal(s.state, PLT_AGENT_CONNECTING);
        assert_true(s.leg_id[0] != '\0');
        hangup_leg(f, s.leg_id);
    }
    snap s = get(f, A);
    assert_int_equal(s.state, PLT_AGENT_LOGGED_OUT);
    assert_string_equal(s.leg_id, "");
    const plt_event *ev =
        plt_fake_host_event_last(f->fh, "agent.state_changed");
    assert_string_equal(plt_fake_event_str(ev, "to"), "logged_out");
    /* Nothing more happens: no attempt after the last. */
    size_t n = plt_fake_host_event_count(f->fh, "call.created");
    plt_fake_host_run_for(f->fh, 60000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "call.created"), n);
}

typedef struct names {
    char v[4][16];
    size_t n;
    int status;
} names;

static int
on_name(void *arg, const plt_agent_info *a)
{
    names *n = arg;
    if (n->n < 4)
        snprintf(n->v[n->n++], sizeof(n->v[0]), "%s", a->agent);
    return 0;
}

static void
on_names_done(void *arg, int status, const char *msg)
{
    (void)msg;
    ((names *)arg)->status = status;
}

static void
pause_exceeded_and_listing(void **state)
{
    fixture *f = *state = fixture_open("max_pause: 10s\n");
    plt_agent_login bad = {
        .size = sizeof(bad), .agent = "bob", .phone = "bogus"};
    assert_int_equal(f->ag.vt->login(f->ag.impl, &bad, NULL, NULL), PLT_EINVAL);
    login(f, "bob");
    login(f, A);
    plt_agent_login again = {.size = sizeof(again), .agent = A, .phone = PHONE};
    assert_int_equal(f->ag.vt->login(f->ag.impl, &again, NULL, NULL),
                     PLT_EEXIST);
    /* Both logged in, by login; available ones longest idle first. */
    names n = {0};
    assert_int_equal(f->ag.vt->list(f->ag.impl, on_name, on_names_done, &n), 0);
    assert_int_equal(n.n, 2);
    assert_string_equal(n.v[0], A);
    assert_string_equal(n.v[1], "bob");
    ready(f, "bob");
    plt_fake_host_run_for(f->fh, 1);
    ready(f, A);
    memset(&n, 0, sizeof(n));
    assert_int_equal(f->ag.vt->available(f->ag.impl, on_name, &n), 0);
    assert_int_equal(n.n, 2);
    assert_string_equal(n.v[0], "bob");
    /* A pause past max_pause is reported, not ended. */
    assert_int_equal(
        f->ag.vt->set_state(f->ag.impl, A, PLT_AGENT_PAUSE, "meal", NULL, NULL),
        0);
    plt_fake_host_run_for(f->fh, 9999);
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.pause_exceeded"),
                     0);
    plt_fake_host_run_for(f->fh, 1);
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.pause_exceeded"),
                     1);
    assert_int_equal(state_of(f, A), PLT_AGENT_PAUSE);
}

/* ---- the state log ---- */

typedef struct logrow {
    char state[32];
    char by[32];
    int64_t started, ended;
    bool ended_null;
} logrow;

typedef struct logq {
    logrow rows[64];
    size_t n;
    bool done;
    int status;
} logq;

static int
on_logrow(void *arg, const plt_storage_row *row)
{
    logq *q = arg;
    if (q->n >= 64)
        return 1;
    logrow *r = &q->rows[q->n++];
    snprintf(r->state, sizeof(r->state), "%s", row->vals[0].v.s);
    snprintf(r->by, sizeof(r->by), "%s", row->vals[1].v.s);
    r->started = row->vals[2].v.i;
    r->ended_null = row->vals[3].type == PLT_T_NULL;
    r->ended = r->ended_null ? 0 : row->vals[3].v.i;
    if (!r->ended_null)
        assert_int_equal(row->vals[4].v.i, r->ended - r->started);
    return 0;
}

static void
on_logdone(void *arg, int status, const plt_storage_result *res)
{
    (void)res;
    logq *q = arg;
    q->status = status;
    q->done = true;
}

static void
read_log(fixture *f, logq *q)
{
    memset(q, 0, sizeof(*q));
    plt_value args[] = {PLT_V_STR(A)};
    assert_int_equal(plt_storage_exec(&f->st,
                                      "SELECT state, by_who, started_at,"
                                      " ended_at, duration_ms"
                                      " FROM agent_state_log WHERE agent = $1"
                                      " ORDER BY id",
                                      args, 1, 0, on_logrow, on_logdone, q),
                     0);
    wait_flag(f, &q->done);
    assert_int_equal(q->status, 0);
}

static void
state_log_complete(void **state)
{
    fixture *f = *state = fixture_open("max_wrap_up: 2s\n");
    login(f, A);
    ready(f, A);
    assert_int_equal(f->ag.vt->offer(f->ag.impl, A, "o1", 0), 0);
    plt_fake_host_run_for(f->fh, 1500);
    assert_int_equal(f->ag.vt->offer_answered(f->ag.impl, A, "o1", NULL), 0);
    plt_fake_host_run_for(f->fh, 45000);
    assert_int_equal(f->ag.vt->call_ended(f->ag.impl, A, 0), 0);
    plt_fake_host_run_for(f->fh, 2000);
    assert_int_equal(f->ag.vt->force_state(f->ag.impl, A, PLT_AGENT_PAUSE,
                                           "training", "boss", NULL, NULL),
                     0);
    plt_fake_host_run_for(f->fh, 600000);
    assert_int_equal(f->ag.vt->logout(f->ag.impl, A, false, A, NULL, NULL), 0);
    plt_fake_host_run_until_idle(f->fh);

    size_t n = plt_fake_host_event_count(f->fh, "agent.state_changed");
    assert_int_equal(n, 9);
    /* Rows are written asynchronously, in order: poll until the last one
     * is there. */
    logq q;
    for (int i = 0; i < 100; i++) {
        read_log(f, &q);
        if (q.n == n)
            break;
        plt_fake_host_run_until_idle(f->fh);
    }
    assert_int_equal(q.n, n);
    for (size_t i = 0; i < n; i++) {
        const plt_event *ev =
            plt_fake_host_event_at(f->fh, "agent.state_changed", i);
        assert_string_equal(q.rows[i].state, plt_fake_event_str(ev, "to"));
        assert_string_equal(q.rows[i].by, plt_fake_event_str(ev, "by"));
        assert_int_equal(q.rows[i].started, plt_fake_event_time(ev));
        if (i + 1 < n) {
            assert_false(q.rows[i].ended_null);
            assert_int_equal(q.rows[i].ended, q.rows[i + 1].started);
        }
    }
    assert_true(q.rows[n - 1].ended_null);
    assert_string_equal(q.rows[7].by, "boss");
}

/* ---- determinism ---- */

static void
append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t k = strlen(s);
    if (*len + k + 1 > *cap) {
        *cap = (*len + k + 1) * 2;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
    memcpy(*buf + *len, s, k + 1);
    *len += k;
}

static char *
scripted_session(void)
{
    fixture *f = fixture_open("max_wrap_up: 3s\n");
    login(f, A);
    ready(f, A);
    for (int i = 0; i < 4; i++) {
        char id[8];
        snprintf(id, sizeof(id), "o%d", i);
        assert_int_equal(f->ag.vt->offer(f->ag.impl, A, id, 0), 0);
        plt_fake_host_run_for(f->fh, 1000 + 500 * i);
        if (i == 1) {
            plt_fake_host_run_for(f->fh, 30000); /* offer timeout */
            assert_int_equal(state_of(f, A), PLT_AGENT_AVAILABLE);
            continue;
        }
        assert_int_equal(f->ag.vt->offer_answered(f->ag.impl, A, id, NULL), 0);
        plt_fake_host_run_for(f->fh, 20000);
        assert_int_equal(f->ag.vt->call_ended(f->ag.impl, A, 0), 0);
        plt_fake_host_run_for(f->fh, 5000);
    }
    hangup_leg(f, get(f, A).leg_id);
    plt_fake_host_run_for(f->fh, 10000);
    assert_int_equal(f->ag.vt->logout(f->ag.impl, A, true, A, NULL, NULL), 0);
    plt_fake_host_run_until_idle(f->fh);

    char *buf = NULL;
    size_t len = 0, cap = 0;
    static const char *const keys[] = {
        "agent",     "from",   "to",      "reason", "by",     "previous_ms",
        "invariant", "leg_id", "call_id", "role",   "outcome"};
    size_t n = plt_fake_host_event_count(f->fh, NULL);
    for (size_t i = 0; i < n; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, NULL, i);
        char line[512];
        int k = snprintf(line, sizeof(line), "%lld %s %s",
                         (long long)plt_fake_event_time(ev),
                         plt_fake_event_source(ev), plt_fake_event_topic(ev));
        for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++) {
            plt_value v;
            if (plt_fake_event_get(ev, keys[j], &v) != 0 || k >= 400)
                continue;
            if (v.type == PLT_T_STR)
                k += snprintf(line + k, sizeof(line) - (size_t)k, " %s=%s",
                              keys[j], v.v.s);
            else
                k += snprintf(line + k, sizeof(line) - (size_t)k, " %s=%lld",
                              keys[j], (long long)v.v.i);
        }
        append(&buf, &len, &cap, line);
        append(&buf, &len, &cap, "\n");
    }
    fixture_close(f);
    return buf;
}

static void
same_script_same_log(void **state)
{
    (void)state;
    char *a = scripted_session();
    char *b = scripted_session();
    assert_non_null(a);
    assert_true(strstr(a, "agent.state_repaired") != NULL);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* An extension logged in without keep_up: no leg until an offer; each
 * offer rings it (vars agent and offer_id); the leg is hung up when the
 * offer fails or the call ends; its end is never a lost phone, and the
 * invariant checks leave such an agent alone. A number is always kept up. */
static void
per_offer_phone(void **state)
{
    fixture *f = *state = fixture_open("missed_offers_before_pause: 2\n");
    plt_agent_login l = {
        .size = sizeof(l), .agent = A, .phone = PHONE, .keep_up = false};
    done_rec d = {0};
    assert_int_equal(f->ag.vt->login(f->ag.impl, &l, on_done, &d), 0);
    assert_true(d.called);
    assert_int_equal(d.status, 0);
    snap s = get(f, A);
    assert_int_equal(s.state, PLT_AGENT_PAUSE);
    assert_string_equal(s.reason, "login");
    assert_string_equal(s.leg_id, "");
    assert_int_equal(plt_fake_host_event_count(f->fh, "call.created"), 0);
    ready(f, A);
    plt_fake_host_run_for(f->fh, 10000);
    assert_int_equal(state_of(f, A), PLT_AGENT_AVAILABLE);
    /* An offer rings the extension. */
    assert_int_equal(f->ag.vt->offer(f->ag.impl, A, "o1", 30000), 0);
    plt_fake_host_run_until_idle(f->fh);
    const plt_event *cr = plt_fake_host_event_last(f->fh, "call.created");
    assert_non_null(cr);
    assert_string_equal(plt_fake_event_str(cr, "destination"), PHONE);
    assert_string_equal(plt_fake_event_str(cr, "var_offer_id"), "o1");
    assert_string_equal(plt_fake_event_str(cr, "var_agent"), A);
    char leg1[64];
    snprintf(leg1, sizeof(leg1), "%s", get(f, A).leg_id);
    assert_string_equal(leg1, plt_fake_event_str(cr, "leg_id"));
    /* Missed: the ringing leg is hung up, the agent available again. */
    assert_int_equal(f->ag.vt->offer_failed(f->ag.impl, A, "o1", true), 0);
    plt_fake_host_run_until_idle(f->fh);
    const plt_event *end = plt_fake_host_event_last(f->fh, "call.ended");
    assert_string_equal(plt_fake_event_str(end, "leg_id"), leg1);
    s = get(f, A);
    assert_int_equal(s.state, PLT_AGENT_AVAILABLE);
    assert_int_equal(s.missed, 1);
    assert_string_equal(s.leg_id, "");
    /* Answered, then the call ends: the agent's leg goes with it. */
    assert_int_equal(f->ag.vt->offer(f->ag.impl, A, "o2", 30000), 0);
    plt_fake_host_run_for(f->fh, 4000);
    plt_leg *phone = f->ag.vt->phone_leg(f->ag.impl, A);
    assert_non_null(phone);
    f->tel.vt->leg_unref(f->tel.impl, phone);
    assert_int_equal(f->ag.vt->offer_answered(f->ag.impl, A, "o2", NULL), 0);
    assert_int_equal(f->ag.vt->call_ended(f->ag.impl, A, 1000), 0);
    plt_fake_host_run_until_idle(f->fh);
    s = get(f, A);
    assert_int_equal(s.state, PLT_AGENT_WRAP_UP);
    assert_string_equal(s.leg_id, "");
    assert_int_equal(plt_fake_host_event_count(f->fh, "call.ended"), 2);
    plt_fake_host_run_for(f->fh, 10000);
    assert_int_equal(state_of(f, A), PLT_AGENT_AVAILABLE);
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.state_repaired"),
                     0);
    /* A number cannot be rung per offer: it is kept up. */
    plt_agent_login n = {
        .size = sizeof(n), .agent = "bob", .phone = "+33612345678"};
    assert_int_equal(f->ag.vt->login(f->ag.impl, &n, NULL, NULL), 0);
    assert_int_equal(state_of(f, "bob"), PLT_AGENT_CONNECTING);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(login_then_call_cycle, teardown),
        cmocka_unit_test_teardown(pending_pause_after_wrap_up, teardown),
        cmocka_unit_test_teardown(missed_offers_pause, teardown),
        cmocka_unit_test_teardown(outbound_and_pending_logout, teardown),
        cmocka_unit_test_teardown(invalid_transitions_table, teardown),
        cmocka_unit_test_teardown(force_state_logged_with_who, teardown),
        cmocka_unit_test_teardown(offer_timeout_repaired, teardown),
        cmocka_unit_test_teardown(call_leg_end_never_races_the_owner,
                                  teardown),
        cmocka_unit_test_teardown(phone_lost_reconnects, teardown),
        cmocka_unit_test_teardown(phone_lost_then_logged_out, teardown),
        cmocka_unit_test_teardown(pause_exceeded_and_listing, teardown),
        cmocka_unit_test_teardown(state_log_complete, teardown),
        cmocka_unit_test_teardown(per_offer_phone, teardown),
        cmocka_unit_test(same_script_same_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
