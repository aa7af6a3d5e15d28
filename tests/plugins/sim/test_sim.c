/* SPDX-License-Identifier: MIT */
/*
 * Tests of the sim plugin (simulated telephony) on the fake host: the
 * plugin's sources are linked in, time is simulated, every event is
 * recorded. They check what a dialer, ACD or agents plugin relies on: each
 * party's fate with its timing, the contract's events and fields, the rule
 * that a leg never ends because its partner did, trunk limits, inbound
 * arrivals, statistics of the draws, reproducibility and references.
 * Each test ends with plt_fake_host_free() == 0 (nothing left on the
 * loop); ASan checks the heap.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sndfile.h>

#include <plateau/plateau.h>
#include <plateau/svc/telephony.h>
#include <plateau/testing/fake_host.h>

#include "sim_int.h"

extern const plt_plugin_desc plateau_plugin_v1;

typedef struct fixture {
    plt_fake_host *fh;
    plt_plugin *p;
    plt_telephony tel;
    int64_t t0;
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || plt_fake_host_new(&f->fh, NULL) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    int rc = plt_fake_host_free(f->fh);
    if (rc != 0)
        print_error("plt_fake_host_free: %d (a handle leaked)\n", rc);
    free(f);
    return rc == 0 ? 0 : -1;
}

static fixture *
start_sim(void **state, const char *config)
{
    fixture *f = *state;
    int rc = plt_fake_host_add(f->fh, &plateau_plugin_v1, config, &f->p);
    if (rc != 0)
        print_error("%s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    rc = plt_fake_host_init(f->fh);
    if (rc != 0)
        print_error("%s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    assert_int_equal(plt_fake_host_start(f->fh), 0);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_TELEPHONY_NAME,
                                           PLT_TELEPHONY_MAJOR, 0, &ref),
                     0);
    f->tel.vt = ref.vtable;
    f->tel.impl = ref.impl;
    f->t0 = plt_fake_host_now(f->fh);
    return f;
}

static int
orig_full(fixture *f, const char *dest, uint32_t flags, uint32_t ring_timeout,
          plt_call *call, plt_leg **out)
{
    plt_kv vars[] = {{"campaign_id", "7"}, {"attempt_id", dest}};
    plt_originate o = {.size = sizeof(o),
                       .destination = dest,
                       .ring_timeout_ms = ring_timeout,
                       .call = call,
                       .vars = vars,
                       .nvars = 2,
                       .flags = flags};
    return f->tel.vt->originate(f->tel.impl, &o, out);
}

static plt_leg *
orig(fixture *f, const char *dest, uint32_t flags, uint32_t ring_timeout)
{
    plt_leg *l = NULL;
    int rc = orig_full(f, dest, flags, ring_timeout, NULL, &l);
    assert_int_equal(rc, 0);
    assert_non_null(l);
    return l;
}

static const char *
leg_id(fixture *f, plt_leg *l)
{
    plt_leg_info info = {.size = sizeof(info)};
    assert_int_equal(f->tel.vt->leg_info(f->tel.impl, l, &info), 0);
    return info.id;
}

static int32_t
leg_state(fixture *f, plt_leg *l)
{
    plt_leg_info info = {.size = sizeof(info)};
    assert_int_equal(f->tel.vt->leg_info(f->tel.impl, l, &info), 0);
    return info.state;
}

static void
unref(fixture *f, plt_leg *l)
{
    f->tel.vt->leg_unref(f->tel.impl, l);
}

/* The @p nth event of @p topic for leg @p id, or NULL. */
static const plt_event *
ev_nth(fixture *f, const char *topic, const char *id, int nth)
{
    const plt_event *ev;
    for (size_t i = 0; (ev = plt_fake_host_event_at(f->fh, topic, i)); i++)
        if (strcmp(plt_fake_event_str(ev, "leg_id"), id) == 0 && nth-- == 0)
            return ev;
    return NULL;
}

static const plt_event *
ev_for(fixture *f, const char *topic, const char *id)
{
    return ev_nth(f, topic, id, 0);
}

static int64_t
at(fixture *f, const plt_event *ev)
{
    assert_non_null(ev);
    return plt_fake_event_time(ev) - f->t0;
}

static size_t
count_for(fixture *f, const char *topic, const char *id)
{
    size_t n = 0;
    while (ev_nth(f, topic, id, (int)n))
        n++;
    return n;
}

/* A config where every fate has probability 0 except those @p extra sets. */
static const char *
ONLY(const char *extra)
{
    static char buf[1024];
    static const char *const rates[] = {"answer_rate", "machine_rate",
                                        "busy_rate", "invalid_rate"};
    size_t len = 0;
    for (size_t i = 0; i < 4; i++) {
        char key[32];
        snprintf(key, sizeof(key), "%s:", rates[i]);
        if (!strstr(extra, key))
            len +=
                (size_t)snprintf(buf + len, sizeof(buf) - len, "%s 0\n", key);
    }
    snprintf(buf + len, sizeof(buf) - len, "%s", extra);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Fates and their timing */

static void
invalid_number(void **state)
{
    fixture *f = start_sim(state, "answer_rate: 0\nmachine_rate: 0\n"
                                  "busy_rate: 0\ninvalid_rate: 1\n");
    for (int i = 0; i < 20; i++) {
        char dest[32];
        snprintf(dest, sizeof(dest), "+3361000%04d", i);
        plt_leg *l = orig(f, dest, 0, 0);
        const char *id = leg_id(f, l);
        plt_fake_host_run_for(f->fh, 5000);
        const plt_event *ev = ev_for(f, "call.ended", id);
        int64_t t = at(f, ev) - i * 5000;
        assert_true(t >= 1000 && t <= 4000);
        assert_string_equal(plt_fake_event_str(ev, "outcome"),
                            "invalid_number");
        assert_int_equal(plt_fake_event_i64(ev, "sip_code", 0), 404);
        assert_string_equal(plt_fake_event_str(ev, "hangup_by"), "system");
        assert_int_equal(plt_fake_event_i64(ev, "talk_ms", -1), 0);
        assert_int_equal(plt_fake_event_i64(ev, "duration_ms", -1), t);
        assert_null(ev_for(f, "call.answered", id));
        assert_int_equal(leg_state(f, l), PLT_LEG_ENDED);
        unref(f, l);
    }
}

static void
busy(void **state)
{
    fixture *f = start_sim(state, ONLY("busy_rate: 1\n"));
    plt_leg *l = orig(f, "+33612345678", 0, 0);
    const char *id = leg_id(f, l);
    const plt_event *c = ev_for(f, "call.created", id);
    plt_fake_host_run_until_idle(f->fh);
    c = ev_for(f, "call.created", id);
    assert_non_null(c);
    assert_string_equal(plt_fake_event_str(c, "var_campaign_id"), "7");
    assert_string_equal(plt_fake_event_str(c, "role"), "customer");
    assert_string_equal(plt_fake_event_str(c, "direction"), "outbound");
    assert_string_equal(plt_fake_event_str(c, "trunk"), "sim");
    plt_fake_host_run_for(f->fh, 6000);
    const plt_event *ev = ev_for(f, "call.ended", id);
    assert_true(at(f, ev) >= 2000 && at(f, ev) <= 5000);
    assert_string_equal(plt_fake_event_str(ev, "outcome"), "busy");
    assert_int_equal(plt_fake_event_i64(ev, "sip_code", 0), 486);
    assert_string_equal(plt_fake_event_str(ev, "var_attempt_id"),
                        "+33612345678");
    unref(f, l);
}

static void
no_answer_rings_to_timeout(void **state)
{
    fixture *f = start_sim(state, ONLY("ring_timeout: 45s\n"));
    plt_leg *a = orig(f, "+33600000001", 0, 25000);
    plt_leg *b = orig(f, "+33600000002", 0, 0); /* provider default */
    const char *ida = leg_id(f, a), *idb = leg_id(f, b);
    plt_fake_host_run_for(f->fh, 3000);
    const plt_event *p = ev_for(f, "call.progress", ida);
    assert_non_null(p);
    assert_string_equal(plt_fake_event_str(p, "progress"), "ringing");
    assert_true(at(f, p) >= 500 && at(f, p) <= 2000);
    assert_int_equal(leg_state(f, a), PLT_LEG_RINGING);
    plt_fake_host_run_for(f->fh, 60000);
    const plt_event *ev = ev_for(f, "call.ended", ida);
    assert_int_equal(at(f, ev), 25000);
    assert_string_equal(plt_fake_event_str(ev, "outcome"), "no_answer");
    assert_string_equal(plt_fake_event_str(ev, "hangup_by"), "system");
    assert_int_equal(plt_fake_event_i64(ev, "ring_ms", 0), 25000);
    assert_int_equal(at(f, ev_for(f, "call.ended", idb)), 45000);
    unref(f, a);
    unref(f, b);
}

static void
human_without_bridge_runs_out_of_patience(void **state)
{
    fixture *f = start_sim(state, ONLY("answer_rate: 1\n"
                                       "ring_to_answer_mean: 7s\n"
                                       "ring_to_answer_sd: 0s\n"
                                       "patience_mean: 4s\npatience_sd: 0s\n"));
    plt_leg *l = orig(f, "+33611111111", 0, 0);
    const char *id = leg_id(f, l);
    plt_fake_host_run_for(f->fh, 7000);
    const plt_event *a = ev_for(f, "call.answered", id);
    assert_int_equal(at(f, a), 7000);
    assert_int_equal(plt_fake_event_i64(a, "ring_ms", 0), 7000);
    assert_int_equal(leg_state(f, l), PLT_LEG_UP);
    plt_fake_host_run_for(f->fh, 10000);
    const plt_event *ev = ev_for(f, "call.ended", id);
    assert_int_equal(at(f, ev), 11000);
    assert_string_equal(plt_fake_event_str(ev, "outcome"), "answered");
    assert_string_equal(plt_fake_event_str(ev, "hangup_by"), "customer");
    assert_int_equal(plt_fake_event_i64(ev, "talk_ms", 0), 4000);
    assert_int_equal(plt_fake_event_i64(ev, "ring_ms", 0), 7000);
    assert_int_equal(plt_fake_event_i64(ev, "duration_ms", 0), 11000);
    assert_int_equal(plt_fake_event_i64(ev, "sip_code", 0), 200);
    unref(f, l);
}

/* The contract's rule: the customer hangs up, the agent's leg stays up;
 * the controller then ends it, as the agent. */
static void
bridged_customer_hangup_keeps_agent_leg(void **state)
{
    fixture *f = start_sim(state, ONLY("answer_rate: 1\n"
                                       "ring_to_answer_mean: 5s\n"
                                       "ring_to_answer_sd: 0s\n"
                                       "talk_mean: 60s\ntalk_sd: 0s\n"
                                       "agent_ring_min: 2s\n"
                                       "agent_ring_max: 2s\n"));
    plt_leg *agent = orig(f, "agent:101", 0, 0);
    plt_leg *cust = orig(f, "+33622222222", 0, 0);
    const char *ida = leg_id(f, agent), *idc = leg_id(f, cust);
    plt_fake_host_run_for(f->fh, 2000);
    const plt_event *aa = ev_for(f, "call.answered", ida);
    assert_int_equal(at(f, aa), 2000);
    assert_string_equal(plt_fake_event_str(aa, "role"), "agent");
    /* Not answered yet: cannot bridge. */
    assert_int_equal(f->tel.vt->bridge(f->tel.impl, agent, cust), PLT_ESTATE);
    plt_fake_host_run_for(f->fh, 3000);
    assert_int_equal(leg_state(f, cust), PLT_LEG_UP);
    assert_int_equal(f->tel.vt->bridge(f->tel.impl, agent, cust), 0);
    plt_fake_host_run_until_idle(f->fh);
    const plt_event *b = ev_for(f, "call.bridged", idc);
    assert_non_null(b);
    assert_string_equal(plt_fake_event_str(b, "other_leg_id"), ida);
    assert_non_null(ev_for(f, "call.bridged", ida));
    plt_leg_info info = {.size = sizeof(info)};
    f->tel.vt->leg_info(f->tel.impl, agent, &info);
    assert_string_equal(info.bridged_to, idc);

    /* Talk time runs from the bridge: the customer hangs up at 65 s. */
    plt_fake_host_run_for(f->fh, 60000);
    const plt_event *ce = ev_for(f, "call.ended", idc);
    assert_int_equal(at(f, ce), 65000);
    assert_string_equal(plt_fake_event_str(ce, "hangup_by"), "customer");
    assert_int_equal(plt_fake_event_i64(ce, "talk_ms", 0), 60000);
    assert_non_null(ev_for(f, "call.unbridged", ida));
    assert_null(ev_for(f, "call.ended", ida));
    assert_int_equal(leg_state(f, agent), PLT_LEG_UP);
    plt_fake_host_run_for(f->fh, 3600000); /* agents never hang up */
    assert_null(ev_for(f, "call.ended", ida));

    assert_int_equal(f->tel.vt->hangup(f->tel.impl, agent, 0, PLT_BY_AGENT), 0);
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, agent, 0, PLT_BY_AGENT),
                     PLT_ESTATE);
    plt_fake_host_run_until_idle(f->fh);
    const plt_event *ae = ev_for(f, "call.ended", ida);
    assert_string_equal(plt_fake_event_str(ae, "hangup_by"), "agent");
    assert_string_equal(plt_fake_event_str(ae, "outcome"), "answered");
    assert_int_equal(count_for(f, "call.ended", ida), 1);
    assert_int_equal(count_for(f, "call.ended", idc), 1);
    unref(f, agent);
    unref(f, cust);
}

static void
controller_hangups(void **state)
{
    fixture *f = start_sim(state, ONLY("answer_rate: 1\n"
                                       "ring_to_answer_mean: 5s\n"
                                       "ring_to_answer_sd: 0s\n"));
    plt_leg *a = orig(f, "+33633333333", 0, 0);
    plt_leg *b = orig(f, "+33633333334", 0, 0);
    plt_fake_host_run_for(f->fh, 1000);
    /* Before the answer: cancelled, by whoever asked. */
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, a, 0, PLT_BY_SYSTEM), 0);
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, b, 0, 9), PLT_EINVAL);
    plt_fake_host_run_for(f->fh, 5000);
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, b, 0, PLT_BY_AGENT), 0);
    plt_fake_host_run_until_idle(f->fh);
    const plt_event *ea = ev_for(f, "call.ended", leg_id(f, a));
    assert_string_equal(plt_fake_event_str(ea, "outcome"), "cancelled");
    assert_string_equal(plt_fake_event_str(ea, "hangup_by"), "system");
    assert_null(ev_for(f, "call.answered", leg_id(f, a)));
    const plt_event *eb = ev_for(f, "call.ended", leg_id(f, b));
    assert_string_equal(plt_fake_event_str(eb, "outcome"), "answered");
    assert_string_equal(plt_fake_event_str(eb, "hangup_by"), "agent");
    assert_int_equal(plt_fake_event_i64(eb, "talk_ms", 0), 1000);
    unref(f, a);
    unref(f, b);
}

static void
machine_with_amd(void **state)
{
    fixture *f = start_sim(state, ONLY("machine_rate: 1\n"
                                       "machine_pickup_mean: 20s\n"
                                       "machine_pickup_sd: 0s\n"
                                       "machine_hangup: 40s\n"));
    plt_leg *l = orig(f, "+33644444444", PLT_ORIG_AMD, 0);
    const char *id = leg_id(f, l);
    plt_fake_host_run_for(f->fh, 30000);
    assert_int_equal(at(f, ev_for(f, "call.answered", id)), 20000);
    const plt_event *amd = ev_for(f, "call.amd_result", id);
    assert_int_equal(at(f, amd), 22500);
    assert_string_equal(plt_fake_event_str(amd, "result"), "machine");
    plt_fake_host_run_for(f->fh, 40000);
    const plt_event *ev = ev_for(f, "call.ended", id);
    assert_int_equal(at(f, ev), 60000);
    assert_string_equal(plt_fake_event_str(ev, "hangup_by"), "customer");
    unref(f, l);
}

static void
amd_false_positive_and_not_sure(void **state)
{
    fixture *f = start_sim(state, ONLY("answer_rate: 1\n"
                                       "ring_to_answer_mean: 3s\n"
                                       "ring_to_answer_sd: 0s\n"
                                       "amd_false_positive: 1\n"));
    plt_leg *l = orig(f, "+33655555555", PLT_ORIG_AMD, 0);
    plt_leg *m = orig(f, "+33655555556", 0, 0);
    plt_fake_host_run_for(f->fh, 3000);
    plt_amd_params p = {.size = sizeof(p), .total_analysis_ms = 1000};
    assert_int_equal(f->tel.vt->amd_start(f->tel.impl, m, &p), 0);
    plt_fake_host_run_for(f->fh, 3000);
    const plt_event *amd = ev_for(f, "call.amd_result", leg_id(f, l));
    assert_string_equal(plt_fake_event_str(amd, "result"), "machine");
    amd = ev_for(f, "call.amd_result", leg_id(f, m));
    assert_int_equal(at(f, amd), 4000);
    assert_string_equal(plt_fake_event_str(amd, "result"), "not_sure");
    unref(f, l);
    unref(f, m);
}

/* ------------------------------------------------------------------ */
/* Trunk limits */

static void
channel_and_cps_limits(void **state)
{
    fixture *f = start_sim(state, ONLY("trunks:\n"
                                       "  - {name: small, max_channels: 2, "
                                       "cps: 100}\n"
                                       "  - {name: slow, max_channels: 50, "
                                       "cps: 2}\n"
                                       "busy_rate: 1\n"));
    plt_originate o = {
        .size = sizeof(o), .destination = "+33666666666", .trunk = "small"};
    plt_leg *l[4];
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &l[0]), 0);
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &l[1]), 0);
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &l[2]), PLT_EAGAIN);
    const char *name;
    bool up;
    uint32_t used, max;
    assert_int_equal(f->tel.vt->trunk_count(f->tel.impl), 2);
    assert_int_equal(
        f->tel.vt->trunk_at(f->tel.impl, 0, &name, &up, &used, &max), 0);
    assert_string_equal(name, "small");
    assert_true(up);
    assert_int_equal(used, 2);
    assert_int_equal(max, 2);
    /* A busy party frees the channel within 5 s. */
    plt_fake_host_run_for(f->fh, 5000);
    assert_int_equal(
        f->tel.vt->trunk_at(f->tel.impl, 0, &name, &up, &used, &max), 0);
    assert_int_equal(used, 0);
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &l[2]), 0);

    o.trunk = "slow";
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &l[3]), 0);
    unref(f, l[3]);
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &l[3]), 0);
    unref(f, l[3]);
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &l[3]), PLT_EAGAIN);
    plt_fake_host_run_for(f->fh, 999);
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &l[3]), PLT_EAGAIN);
    plt_fake_host_run_for(f->fh, 1);
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &l[3]), 0);
    unref(f, l[3]);

    o.trunk = "nope";
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &l[3]), PLT_ENOENT);
    o.trunk = NULL;
    o.destination = "hello";
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &l[3]), PLT_EINVAL);
    for (int i = 0; i < 3; i++)
        unref(f, l[i]);
}

/* ------------------------------------------------------------------ */
/* Inbound */

static void
inbound_unclaimed_is_rejected(void **state)
{
    fixture *f = start_sim(state, "inbound:\n"
                                  "  - {did: '+33140000000', "
                                  "rate_per_hour: 60}\n"
                                  "claim_timeout: 10s\n"
                                  "patience_mean: 1h\npatience_sd: 0s\n");
    plt_fake_host_run_for(f->fh, 600000);
    const plt_event *c = plt_fake_host_event_at(f->fh, "call.created", 0);
    assert_non_null(c);
    assert_string_equal(plt_fake_event_str(c, "did"), "+33140000000");
    assert_string_equal(plt_fake_event_str(c, "direction"), "inbound");
    assert_string_equal(plt_fake_event_str(c, "trunk"), "sim");
    assert_non_null(plt_fake_event_str(c, "from"));
    const char *id = plt_fake_event_str(c, "leg_id");
    const plt_event *e = ev_for(f, "call.ended", id);
    assert_int_equal(plt_fake_event_time(e) - plt_fake_event_time(c), 10000);
    assert_int_equal(plt_fake_event_i64(e, "sip_code", 0), 480);
    assert_string_equal(plt_fake_event_str(e, "hangup_by"), "system");
    assert_string_equal(plt_fake_event_str(e, "outcome"), "no_answer");
}

static void
inbound_answered_then_abandons_or_talks(void **state)
{
    fixture *f = start_sim(state, "inbound:\n"
                                  "  - {did: '+33140000001', "
                                  "rate_per_hour: 120}\n"
                                  "claim_timeout: 10s\n"
                                  "patience_mean: 20s\npatience_sd: 0s\n"
                                  "talk_mean: 90s\ntalk_sd: 0s\n");
    const plt_event *c = NULL;
    while (!c) {
        plt_fake_host_run_for(f->fh, 100);
        c = plt_fake_host_event_at(f->fh, "call.created", 0);
    }
    plt_leg *in, *agent;
    assert_int_equal(
        f->tel.vt->leg_find(f->tel.impl, plt_fake_event_str(c, "leg_id"), &in),
        0);
    const char *id = leg_id(f, in);
    int64_t t_in = plt_fake_event_time(c);
    assert_int_equal(f->tel.vt->answer(f->tel.impl, in), 0);
    assert_int_equal(f->tel.vt->answer(f->tel.impl, in), PLT_ESTATE);
    /* Answered, not yet bridged: no claim timeout, patience runs. */
    assert_int_equal(orig_full(f, "agent:7", 0, 0,
                               f->tel.vt->leg_call(f->tel.impl, in), &agent),
                     0);
    plt_fake_host_run_for(f->fh, 5000);
    assert_int_equal(f->tel.vt->bridge(f->tel.impl, in, agent), 0);
    plt_fake_host_run_for(f->fh, 200000);
    const plt_event *e = ev_for(f, "call.ended", id);
    assert_non_null(e);
    assert_string_equal(plt_fake_event_str(e, "hangup_by"), "customer");
    assert_string_equal(plt_fake_event_str(e, "outcome"), "answered");
    /* Bridged before patience ran out, talked 90 s from the bridge. */
    assert_true(plt_fake_event_time(e) - t_in > 90000);
    assert_int_equal(leg_state(f, agent), PLT_LEG_UP);
    assert_string_equal(
        plt_fake_event_str(ev_for(f, "call.answered", leg_id(f, agent)),
                           "call_id"),
        plt_fake_event_str(c, "call_id"));

    /* Later callers nobody answers abandon at 20 s... unless the claim
     * timeout (10 s) rejects them first: it does. */
    const plt_event *c2 = plt_fake_host_event_at(f->fh, "call.created", 2);
    assert_non_null(c2);
    const plt_event *e2 =
        ev_for(f, "call.ended", plt_fake_event_str(c2, "leg_id"));
    assert_string_equal(plt_fake_event_str(e2, "outcome"), "no_answer");
    unref(f, in);
    unref(f, agent);
}

static void
inbound_caller_abandons(void **state)
{
    fixture *f = start_sim(state, "inbound:\n"
                                  "  - {did: '+33140000002', "
                                  "rate_per_hour: 60}\n"
                                  "claim_timeout: 60s\n"
                                  "patience_mean: 5s\npatience_sd: 0s\n");
    plt_fake_host_run_for(f->fh, 600000);
    const plt_event *c = plt_fake_host_event_at(f->fh, "call.created", 0);
    assert_non_null(c);
    const plt_event *e =
        ev_for(f, "call.ended", plt_fake_event_str(c, "leg_id"));
    assert_int_equal(plt_fake_event_time(e) - plt_fake_event_time(c), 5000);
    assert_string_equal(plt_fake_event_str(e, "outcome"), "abandoned");
    assert_string_equal(plt_fake_event_str(e, "hangup_by"), "customer");
}

static double
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
inbound_poisson_eight_hours(void **state)
{
    fixture *f = start_sim(state, "inbound:\n"
                                  "  - {did: '+33150000000', "
                                  "rate_per_hour: 360}\n"
                                  "  - {did: '+33150000001', "
                                  "rate_per_hour: 100, hourly: '0,0,0,0,0,"
                                  "0,0,0,0,3,0,0,0,0,0,0,0,0,0,0,0,0,0,0'}\n"
                                  "trunks: [{name: t, max_channels: 1000}]\n");
    double w0 = wall_ms();
    plt_fake_host_run_for(f->fh, 8 * 3600 * 1000);
    double w = wall_ms() - w0;
    size_t n0 = 0, n1 = 0;
    const plt_event *ev;
    for (size_t i = 0; (ev = plt_fake_host_event_at(f->fh, "call.created", i));
         i++) {
        const char *did = plt_fake_event_str(ev, "did");
        if (strcmp(did, "+33150000000") == 0) {
            n0++;
        } else {
            n1++;
            /* Only during 09:00-10:00 UTC (the day starts at 09:00Z). */
            assert_true(plt_fake_event_time(ev) - f->t0 < 3600000);
        }
    }
    size_t ended = plt_fake_host_event_count(f->fh, "call.ended");
    printf("sim: 8 simulated hours, %zu + %zu inbound calls, %zu ended, in "
           "%.0f ms of wall time\n",
           n0, n1, ended, w);
    assert_true(fabs((double)n0 - 2880.0) < 3 * sqrt(2880.0));
    assert_true(fabs((double)n1 - 300.0) < 3 * sqrt(300.0));
    assert_true(w < 20000);
}

/* ------------------------------------------------------------------ */
/* Statistics */

static void
fate_frequencies_20000(void **state)
{
    fixture *f = start_sim(state, "answer_rate: 0.3\nmachine_rate: 0.2\n"
                                  "busy_rate: 0.05\ninvalid_rate: 0.05\n"
                                  "trunks: [{name: big, max_channels: "
                                  "100000, cps: 0}]\n"
                                  "ring_timeout: 60s\n"
                                  "patience_mean: 5s\npatience_sd: 1s\n"
                                  "machine_hangup: 5s\n"
                                  "ring_to_answer_sd: 3s\n"
                                  "seed: 42\n");
    enum { N = 20000, BATCH = 1000 };
    size_t human = 0, machine = 0, busy_n = 0, invalid = 0, noans = 0;
    char dest[32];
    for (int b = 0; b < N / BATCH; b++) {
        for (int i = 0; i < BATCH; i++) {
            snprintf(dest, sizeof(dest), "+336%08d", b * BATCH + i);
            plt_leg *l = orig(f, dest, PLT_ORIG_AMD, 0);
            unref(f, l);
        }
        plt_fake_host_run_for(f->fh, 600000);
        /* Machines: legs whose AMD said machine (sensitivity 1, no false
         * positives), by leg number. */
        static bool is_machine[N + 1];
        const plt_event *ev;
        for (size_t i = 0;
             (ev = plt_fake_host_event_at(f->fh, "call.amd_result", i)); i++)
            if (strcmp(plt_fake_event_str(ev, "result"), "machine") == 0)
                is_machine[atoi(plt_fake_event_str(ev, "leg_id") + 1)] = true;
        size_t ended = 0;
        for (size_t i = 0;
             (ev = plt_fake_host_event_at(f->fh, "call.ended", i)); i++) {
            const char *o = plt_fake_event_str(ev, "outcome");
            int seq = atoi(plt_fake_event_str(ev, "leg_id") + 1);
            ended++;
            if (strcmp(o, "answered") == 0)
                is_machine[seq] ? machine++ : human++;
            else if (strcmp(o, "busy") == 0)
                busy_n++;
            else if (strcmp(o, "invalid_number") == 0)
                invalid++;
            else if (strcmp(o, "no_answer") == 0)
                noans++;
            else
                fail_msg("unexpected outcome %s", o);
        }
        assert_int_equal(ended, BATCH);
        plt_fake_host_events_clear(f->fh);
    }
    struct {
        const char *name;
        size_t n;
        double p;
    } rows[] = {{"human", human, 0.3},
                {"machine", machine, 0.2},
                {"busy", busy_n, 0.05},
                {"invalid", invalid, 0.05},
                {"no_answer", noans, 0.4}};
    for (size_t i = 0; i < 5; i++) {
        double mean = N * rows[i].p;
        double sigma = sqrt(N * rows[i].p * (1 - rows[i].p));
        printf("sim: %-9s %5zu (expected %.0f +- %.0f)\n", rows[i].name,
               rows[i].n, mean, 3 * sigma);
        assert_true(fabs((double)rows[i].n - mean) <= 3 * sigma);
    }
}

static void
distributions(void **state)
{
    (void)state;
    sim_rng r;
    sim_rng_seed(&r, 1, 2, 3);
    enum { N = 200000 };
    double s = 0, s2 = 0, n = 0, n2 = 0, e = 0;
    for (int i = 0; i < N; i++) {
        double x = sim_rng_lognormal(&r, 120000, 120000);
        s += x;
        s2 += x * x;
        double y = sim_rng_normal(&r, 20000, 3000);
        n += y;
        n2 += y * y;
        e += sim_rng_exponential(&r, 1.0 / 10.0);
    }
    double mean = s / N, sd = sqrt(s2 / N - mean * mean);
    printf("sim: lognormal(120 s, 120 s): mean %.1f s, sd %.1f s\n",
           mean / 1000, sd / 1000);
    assert_true(fabs(mean - 120000) < 0.02 * 120000);
    assert_true(fabs(sd - 120000) < 0.06 * 120000);
    double nm = n / N, nsd = sqrt(n2 / N - nm * nm);
    assert_true(fabs(nm - 20000) < 50);
    assert_true(fabs(nsd - 3000) < 50);
    assert_true(fabs(e / N - 10) < 0.15);
    /* sd 0 gives the mean exactly. */
    assert_true(llround(sim_rng_lognormal(&r, 7000, 0)) == 7000);
    /* Streams: same inputs, same numbers; other inputs, others. */
    sim_rng a, b, c;
    sim_rng_seed(&a, 5, 6, 7);
    sim_rng_seed(&b, 5, 6, 7);
    sim_rng_seed(&c, 5, 7, 6);
    for (int i = 0; i < 100; i++) {
        uint64_t x = sim_rng_next(&a);
        assert_true(x == sim_rng_next(&b));
        assert_true(x != sim_rng_next(&c));
    }
}

/* ------------------------------------------------------------------ */
/* Reproducibility */

static void
append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t)n < *cap - *len) {
            *len += (size_t)n;
            return;
        }
        *cap = *cap * 2 + (size_t)n;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
}

/* A scripted controller: dials, bridges answered customers to free agent
 * legs, hangs up some, with inbound traffic alongside. Its commands depend
 * only on the events, so equal logs mean equal commands. Returns the whole
 * event log as text: time, topic and every field. */
static char *
scenario(void **state, int seed)
{
    fixture *f = *state;
    char cfg[512];
    snprintf(cfg, sizeof(cfg),
             "seed: %d\nanswer_rate: 0.4\nmachine_rate: 0.2\n"
             "inbound: [{did: '+33170000000', rate_per_hour: 300}]\n"
             "claim_timeout: 8s\nagent_miss_rate: 0.2\n"
             "trunks: [{name: t, max_channels: 20, cps: 3}]\n",
             seed);
    start_sim(state, cfg);
    plt_leg *agents[3];
    for (int i = 0; i < 3; i++) {
        char d[16];
        snprintf(d, sizeof(d), "agent:%d", 100 + i);
        agents[i] = orig(f, d, 0, 600000);
    }
    size_t seen = 0;
    for (int step = 0; step < 120; step++) {
        char dest[32];
        snprintf(dest, sizeof(dest), "+3361234%04d", step % 50);
        plt_leg *l;
        if (orig_full(f, dest, PLT_ORIG_AMD, 20000, NULL, &l) == 0)
            unref(f, l);
        plt_fake_host_run_for(f->fh, 2500);
        const plt_event *ev;
        while ((ev = plt_fake_host_event_at(f->fh, NULL, seen))) {
            seen++;
            const char *topic = plt_fake_event_topic(ev);
            const char *id = plt_fake_event_str(ev, "leg_id");
            if (strcmp(topic, "call.created") == 0 &&
                plt_fake_event_str(ev, "did") && step % 3 == 0) {
                plt_leg *in;
                if (f->tel.vt->leg_find(f->tel.impl, id, &in) == 0) {
                    f->tel.vt->answer(f->tel.impl, in);
                    unref(f, in);
                }
            }
            if (strcmp(topic, "call.amd_result") == 0 &&
                strcmp(plt_fake_event_str(ev, "result"), "human") == 0) {
                plt_leg *c;
                if (f->tel.vt->leg_find(f->tel.impl, id, &c) != 0)
                    continue;
                for (int i = 0; i < 3; i++) {
                    plt_leg_info info = {.size = sizeof(info)};
                    f->tel.vt->leg_info(f->tel.impl, agents[i], &info);
                    if (info.state == PLT_LEG_UP && !info.bridged_to) {
                        f->tel.vt->bridge(f->tel.impl, agents[i], c);
                        break;
                    }
                }
                unref(f, c);
            }
            if (strcmp(topic, "call.bridged") == 0 && step % 7 == 0) {
                plt_leg *c;
                if (f->tel.vt->leg_find(f->tel.impl, id, &c) == 0) {
                    if (strcmp(plt_fake_event_str(ev, "role"), "customer") == 0)
                        f->tel.vt->hangup(f->tel.impl, c, 0, PLT_BY_AGENT);
                    unref(f, c);
                }
            }
        }
    }
    char *buf = malloc(4096);
    size_t len = 0, cap = 4096;
    assert_non_null(buf);
    buf[0] = '\0';
    const plt_event *ev;
    for (size_t i = 0; (ev = plt_fake_host_event_at(f->fh, NULL, i)); i++) {
        append(&buf, &len, &cap, "%lld %s",
               (long long)(plt_fake_event_time(ev) - f->t0),
               plt_fake_event_topic(ev));
        for (size_t k = 0; k < plt_event_count(ev); k++) {
            const char *key;
            plt_value v;
            assert_int_equal(plt_event_field_at(ev, k, &key, &v), 0);
            if (v.type == PLT_T_STR)
                append(&buf, &len, &cap, " %s=%s", key, v.v.s);
            else
                append(&buf, &len, &cap, " %s=%lld", key, (long long)v.v.i);
        }
        append(&buf, &len, &cap, "\n");
    }
    for (int i = 0; i < 3; i++)
        unref(f, agents[i]);
    /* A fresh host for the next run (and for the teardown). */
    assert_int_equal(plt_fake_host_free(f->fh), 0);
    assert_int_equal(plt_fake_host_new(&f->fh, NULL), 0);
    return buf;
}

static void
same_seed_same_log(void **state)
{
    char *a = scenario(state, 11);
    char *b = scenario(state, 11);
    char *c = scenario(state, 12);
    size_t lines = 0;
    for (const char *p = a; *p; p++)
        lines += *p == '\n';
    printf("sim: scripted scenario: %zu events, %zu bytes, identical twice\n",
           lines, strlen(a));
    assert_true(lines > 300);
    assert_non_null(strstr(a, "call.bridged"));
    assert_non_null(strstr(a, "did=+33170000000"));
    assert_string_equal(a, b);
    assert_true(strcmp(a, c) != 0);
    free(a);
    free(b);
    free(c);
}

/* The fate of a number does not depend on what else was dialled. */
static void
unrelated_call_changes_nothing(void **state)
{
    fixture *f = *state;
    char out[2][128];
    for (int run = 0; run < 2; run++) {
        start_sim(state, "seed: 3\n");
        if (run == 1)
            for (int i = 0; i < 5; i++) {
                char d[32];
                snprintf(d, sizeof(d), "+3369999999%d", i);
                unref(f, orig(f, d, 0, 0));
            }
        plt_leg *l = orig(f, "+33612121212", PLT_ORIG_AMD, 0);
        plt_leg *l2 = orig(f, "+33612121213", PLT_ORIG_AMD, 0);
        char id[24], id2[24];
        snprintf(id, sizeof(id), "%s", leg_id(f, l));
        snprintf(id2, sizeof(id2), "%s", leg_id(f, l2));
        unref(f, l);
        unref(f, l2);
        plt_fake_host_run_for(f->fh, 600000);
        const plt_event *e = ev_for(f, "call.ended", id);
        const plt_event *e2 = ev_for(f, "call.ended", id2);
        snprintf(out[run], sizeof(out[run]), "%s %lld %lld / %s %lld",
                 plt_fake_event_str(e, "outcome"), (long long)at(f, e),
                 (long long)plt_fake_event_i64(e, "talk_ms", -1),
                 plt_fake_event_str(e2, "outcome"), (long long)at(f, e2));
        assert_int_equal(plt_fake_host_free(f->fh), 0);
        assert_int_equal(plt_fake_host_new(&f->fh, NULL), 0);
    }
    assert_string_equal(out[0], out[1]);
}

/* ------------------------------------------------------------------ */
/* References, config, media */

static void
references(void **state)
{
    fixture *f = start_sim(state, ONLY("busy_rate: 1\n"));
    plt_leg *l = orig(f, "+33677777777", 0, 0);
    char id[24];
    snprintf(id, sizeof(id), "%s", leg_id(f, l));
    plt_leg *x;
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, id, &x), 0);
    assert_ptr_equal(x, l);
    assert_ptr_equal(f->tel.vt->leg_ref(f->tel.impl, l), l);
    unref(f, x);
    unref(f, l);
    plt_fake_host_run_for(f->fh, 10000);
    /* Ended, one reference left: still found ("recently ended"). */
    assert_int_equal(leg_state(f, l), PLT_LEG_ENDED);
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, id, &x), 0);
    unref(f, x);
    unref(f, l);
    /* Gone with its last reference. */
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, id, &x), PLT_ENOENT);
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, "L999", &x), PLT_ENOENT);
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, "bogus", &x), PLT_ENOENT);
    assert_string_equal(f->tel.vt->name(f->tel.impl), "sim");
}

static void
rates_over_one_refused(void **state)
{
    fixture *f = *state;
    assert_int_equal(plt_fake_host_add(f->fh, &plateau_plugin_v1,
                                       "answer_rate: 0.6\nmachine_rate: 0.5\n",
                                       NULL),
                     0);
    assert_int_equal(plt_fake_host_init(f->fh), PLT_ECONFIG);
    const char *err = plt_fake_host_last_error(f->fh);
    assert_non_null(strstr(err, "answer_rate"));
    assert_non_null(strstr(err, "machine_rate"));
}

static void
stop_ends_live_legs(void **state)
{
    fixture *f = start_sim(state, ONLY("answer_rate: 1\n"));
    plt_leg *l = orig(f, "+33688888888", 0, 0);
    plt_leg *a = orig(f, "agent:1", 0, 0);
    plt_fake_host_run_for(f->fh, 60000);
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(leg_state(f, l), PLT_LEG_ENDED);
    assert_int_equal(leg_state(f, a), PLT_LEG_ENDED);
    plt_leg *x;
    assert_int_equal(orig_full(f, "+33688888889", 0, 0, NULL, &x),
                     PLT_ESHUTDOWN);
    unref(f, l);
    unref(f, a);
}

static void
play_and_record(void **state)
{
    fixture *f = start_sim(state, ONLY("answer_rate: 1\n"
                                       "ring_to_answer_mean: 1s\n"
                                       "ring_to_answer_sd: 0s\n"
                                       "patience_mean: 1h\n"));
    /* A 1.5 s WAV (8 kHz, PCM16). */
    char wav[512];
    snprintf(wav, sizeof(wav), "%s/hello.wav", plt_fake_host_data_dir(f->fh));
    SF_INFO info = {.samplerate = 8000,
                    .channels = 1,
                    .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(wav, SFM_WRITE, &info);
    assert_non_null(sf);
    short *pcm = calloc(12000, sizeof(short));
    assert_int_equal(sf_write_short(sf, pcm, 12000), 12000);
    sf_close(sf);
    free(pcm);

    plt_leg *l = orig(f, "+33699999999", 0, 0);
    const char *id = leg_id(f, l);
    char pid[32];
    assert_int_equal(f->tel.vt->play(f->tel.impl, l, wav, 0, pid), PLT_ESTATE);
    plt_fake_host_run_for(f->fh, 1000);
    plt_call *call = f->tel.vt->leg_call(f->tel.impl, l);
    char rid[32];
    assert_int_equal(f->tel.vt->record_start(f->tel.impl, call, "/x/r.wav",
                                             PLT_REC_STEREO, rid),
                     0);
    assert_int_equal(f->tel.vt->play(f->tel.impl, l, wav, 0, pid), 0);
    char pid2[32], pid3[32];
    assert_int_equal(f->tel.vt->play(f->tel.impl, l, "/no/such.wav", 0, pid2),
                     0);
    assert_int_equal(f->tel.vt->play(f->tel.impl, l, wav, PLT_PLAY_LOOP, pid3),
                     0);
    assert_int_equal(f->tel.vt->send_dtmf(f->tel.impl, l, "12#"), 0);
    assert_int_equal(f->tel.vt->send_dtmf(f->tel.impl, l, "x"), PLT_EINVAL);
    plt_fake_host_run_for(f->fh, 2000);
    const plt_event *p1 = NULL, *p2 = NULL, *ev;
    for (size_t i = 0;
         (ev = plt_fake_host_event_at(f->fh, "call.play_finished", i)); i++) {
        if (strcmp(plt_fake_event_str(ev, "play_id"), pid) == 0)
            p1 = ev;
        if (strcmp(plt_fake_event_str(ev, "play_id"), pid2) == 0)
            p2 = ev;
    }
    assert_int_equal(at(f, p1), 2500);
    assert_string_equal(plt_fake_event_str(p1, "reason"), "done");
    assert_int_equal(at(f, p2), 1000);
    assert_string_equal(plt_fake_event_str(p2, "reason"), "error");
    assert_int_equal(f->tel.vt->record_pause(f->tel.impl, rid), 0);
    plt_fake_host_run_for(f->fh, 1000);
    assert_int_equal(f->tel.vt->record_resume(f->tel.impl, rid), 0);
    assert_int_equal(f->tel.vt->record_stop(f->tel.impl, rid), 0);
    assert_int_equal(f->tel.vt->record_stop(f->tel.impl, rid), PLT_ENOENT);
    plt_fake_host_run_until_idle(f->fh);
    ev = ev_for(f, "call.recording_finished", id);
    assert_int_equal(plt_fake_event_i64(ev, "duration_ms", 0), 3000);
    assert_string_equal(plt_fake_event_str(ev, "path"), "/x/r.wav");
    /* A recording running when the call ends finishes with it; the looped
     * prompt is stopped. */
    assert_int_equal(f->tel.vt->record_start(f->tel.impl, call, "/x/s.wav",
                                             PLT_REC_MIXED, rid),
                     0);
    plt_fake_host_run_for(f->fh, 500);
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, l, 0, PLT_BY_AGENT), 0);
    plt_fake_host_run_until_idle(f->fh);
    assert_string_equal(
        plt_fake_event_str(ev_nth(f, "call.play_finished", id, 2), "reason"),
        "stopped");
    ev = ev_nth(f, "call.recording_finished", id, 1);
    assert_int_equal(plt_fake_event_i64(ev, "duration_ms", 0), 500);
    unref(f, l);
}

static void
hold_resume_and_transfers(void **state)
{
    fixture *f = start_sim(state, ONLY("answer_rate: 1\n"
                                       "ring_to_answer_mean: 1s\n"
                                       "ring_to_answer_sd: 0s\n"
                                       "patience_mean: 1h\n"
                                       "talk_mean: 1h\n"
                                       "agent_ring_min: 1s\n"
                                       "agent_ring_max: 1s\n"));
    plt_leg *c = orig(f, "+33610101010", 0, 0);
    plt_leg *a1 = orig(f, "agent:1", 0, 0);
    plt_leg *a2 = orig(f, "agent:2", 0, 0);
    plt_fake_host_run_for(f->fh, 1000);
    const char *idc = leg_id(f, c), *id1 = leg_id(f, a1), *id2 = leg_id(f, a2);
    assert_int_equal(f->tel.vt->bridge(f->tel.impl, c, a1), 0);
    assert_int_equal(f->tel.vt->hold(f->tel.impl, c, NULL), 0);
    assert_int_equal(f->tel.vt->hold(f->tel.impl, c, NULL), PLT_ESTATE);
    assert_int_equal(f->tel.vt->resume(f->tel.impl, c), 0);
    plt_fake_host_run_until_idle(f->fh);
    assert_non_null(ev_for(f, "call.held", idc));
    assert_non_null(ev_for(f, "call.resumed", idc));
    assert_int_equal(count_for(f, "call.bridged", idc), 2);

    /* Attended: customer and agent 2 together, agent 1's leg ends. */
    assert_int_equal(f->tel.vt->transfer_attended(f->tel.impl, c, a2), 0);
    plt_fake_host_run_until_idle(f->fh);
    const plt_event *e1 = ev_for(f, "call.ended", id1);
    assert_non_null(e1);
    assert_string_equal(plt_fake_event_str(e1, "reason"), "transferred");
    plt_leg_info info = {.size = sizeof(info)};
    f->tel.vt->leg_info(f->tel.impl, c, &info);
    assert_string_equal(info.bridged_to, id2);

    /* Blind: agent 2 sends the customer to agent 3; when agent 3 answers
     * the customer is bridged to agent 3, and agent 2's leg is unbridged
     * but stays up (the contract: the controller decides). */
    assert_int_equal(f->tel.vt->transfer_blind(f->tel.impl, a2, "agent:3"), 0);
    plt_fake_host_run_for(f->fh, 1000);
    assert_null(ev_for(f, "call.ended", id2));
    assert_non_null(ev_for(f, "call.unbridged", id2));
    assert_int_equal(leg_state(f, a2), PLT_LEG_UP);
    f->tel.vt->leg_info(f->tel.impl, c, &info);
    assert_non_null(info.bridged_to);
    assert_true(strcmp(info.bridged_to, id2) != 0);
    assert_int_equal(leg_state(f, c), PLT_LEG_UP);
    unref(f, c);
    unref(f, a1);
    unref(f, a2);
}

static void
answer_rate_moves_over_the_day(void **state)
{
    fixture *f = start_sim(state, "answer_rate: 0.3\nanswer_rate_end: 0.1\n"
                                  "machine_rate: 0\nbusy_rate: 0\n"
                                  "invalid_rate: 0\nday_length: 8h\n"
                                  "trunks: [{name: t, max_channels: 100000, "
                                  "cps: 0}]\nring_timeout: 40s\n");
    size_t answered[2] = {0, 0};
    for (int half = 0; half < 2; half++) {
        for (int i = 0; i < 4000; i++) {
            char d[32];
            snprintf(d, sizeof(d), "+3370%d%07d", half, i);
            unref(f, orig(f, d, 0, 0));
        }
        plt_fake_host_run_for(f->fh, 120000);
        answered[half] = plt_fake_host_event_count(f->fh, "call.answered");
        plt_fake_host_events_clear(f->fh);
        if (half == 0)
            plt_fake_host_run_for(f->fh, 8 * 3600000 - 120000);
    }
    /* 0.3 at the start, 0.1 at the end of the day. */
    assert_true(fabs((double)answered[0] - 1200) < 3 * sqrt(4000 * .3 * .7));
    assert_true(fabs((double)answered[1] - 400) < 3 * sqrt(4000 * .1 * .9));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(invalid_number),
        T(busy),
        T(no_answer_rings_to_timeout),
        T(human_without_bridge_runs_out_of_patience),
        T(bridged_customer_hangup_keeps_agent_leg),
        T(controller_hangups),
        T(machine_with_amd),
        T(amd_false_positive_and_not_sure),
        T(channel_and_cps_limits),
        T(inbound_unclaimed_is_rejected),
        T(inbound_answered_then_abandons_or_talks),
        T(inbound_caller_abandons),
        T(inbound_poisson_eight_hours),
        T(fate_frequencies_20000),
        T(distributions),
        T(same_seed_same_log),
        T(unrelated_call_changes_nothing),
        T(references),
        T(rates_over_one_refused),
        T(stop_ends_live_legs),
        T(play_and_record),
        T(hold_resume_and_transfers),
        T(answer_rate_moves_over_the_day),
    };
    return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
