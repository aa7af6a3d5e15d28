/* SPDX-License-Identifier: MIT */
/*
 * Tests of the shared leg bookkeeping (plugins/legs) on the fake host: a
 * provider made of test hooks that records what it was asked to do, so
 * that both the events of the telephony contract and the calls into the
 * provider (media, signalling, timers) are checked, in their order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <plateau/plateau.h>
#include <plateau/testing/fake_host.h>

#include "legs.h"

static int
t_init(plt_plugin *self, const plt_cfg *cfg)
{
    return 0;
}

PLT_PLUGIN_DEFINE(.name = "legs_test", .version = "1.0.0",
                  .summary = "Hooks of a test telephony provider",
                  .init = t_init);

typedef struct trunk {
    char *name;
    int channels; /* the provider's own */
} trunk;

struct plt_leg {
    LEGS_LEG_HEAD(struct fixture, int, trunk);
    int extra; /* provider memory, freed by free_extra */
    char *extra_mem;
};

typedef struct fixture {
    plt_fake_host *fh;
    LEGS_REG_HEAD;
    char trace[2048];  /* the hooks called, in order */
    int refuse_bridge; /* media_bridge's answer */
    int refuse_dial;   /* dial's answer */
    bool running;
} fixture;

static fixture *cur;

static void
trace(const char *fmt, ...)
{
    size_t n = strlen(cur->trace);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cur->trace + n, sizeof(cur->trace) - n, fmt, ap);
    va_end(ap);
}

static int
h_media_bridge(plt_leg *a, plt_leg *b)
{
    trace("mbridge %s %s;", a->id, b->id);
    return cur->refuse_bridge;
}

static void
h_media_unbridge(plt_leg *l)
{
    trace("munbridge %s;", l->id);
}

static void
h_claimed(plt_leg *l)
{
    trace("claimed %s;", l->id);
}

static void
h_linked(plt_leg *a, plt_leg *b)
{
    trace("linked %s %s;", a->id, b->id);
}

static void
h_held(plt_leg *l, const char *music)
{
    trace("held %s %s;", l->id, music ? music : "-");
}

static void
h_unheld(plt_leg *l)
{
    trace("unheld %s;", l->id);
}

static void
h_signal_end(plt_leg *l, int code)
{
    trace("signal %s %d;", l->id, code);
}

static void
h_end_stop(plt_leg *l)
{
    trace("stop %s;", l->id);
}

static void
h_end_event(plt_leg *l, plt_event *ev)
{
    trace("release %s;", l->id);
    if (ev)
        plt_event_set_i64(ev, "extra", l->extra);
}

static void
h_call_ended(plt_leg *l)
{
    trace("call_ended %s;", l->call->id);
}

static void
h_free_extra(plt_leg *l)
{
    free(l->extra_mem);
}

static bool
valid_any(const char *d, bool agent)
{
    return agent || d[0] == '+';
}

static trunk trunk_a = {.name = "ta"}, trunk_b = {.name = "tb"};

static int
h_pick_trunk(void *owner, const plt_originate *o, void **t)
{
    if (o->trunk && strcmp(o->trunk, "none") == 0)
        return PLT_ENOENT;
    *t = o->trunk && strcmp(o->trunk, "tb") == 0 ? &trunk_b : &trunk_a;
    trace("pick %s;", ((trunk *)*t)->name);
    return ((trunk *)*t)->channels > 0 ? PLT_EAGAIN : 0;
}

static const char *
h_caller_id(const plt_originate *o)
{
    return o->caller_id ? o->caller_id : "";
}

static int
h_dial(plt_leg *l, const plt_originate *o, void *t)
{
    trace("dial %s %d;", l->id, l->kind);
    l->trunk = t;
    return ((fixture *)l->s)->refuse_dial;
}

static void
h_dialled(plt_leg *l, const plt_originate *o)
{
    trace("dialled %s;", l->id);
}

static const legs_ops ops;

static int
originate(fixture *f, const plt_originate *o, plt_leg **out)
{
    return legs_originate(&f->reg, &ops, f, f->running, 30000, o, out);
}

static int
o_originate(plt_leg *l, const plt_originate *o, plt_leg **out)
{
    trace("originate %s %s;", o->destination, o->trunk ? o->trunk : "-");
    return originate(l->s, o, out);
}

static const legs_ops ops = {
    .leg_size = sizeof(plt_leg),
    .magic = 0x4c454753u,
    .media_bridge = h_media_bridge,
    .media_unbridge = h_media_unbridge,
    .claimed = h_claimed,
    .linked = h_linked,
    .held = h_held,
    .unheld = h_unheld,
    .signal_end = h_signal_end,
    .end_stop = h_end_stop,
    .end_event = h_end_event,
    .call_ended = h_call_ended,
    .free_extra = h_free_extra,
    .originate = o_originate,
    .kind_agent = 2,
    .kind_trunk = 1,
    .valid_dest = valid_any,
    .pick_trunk = h_pick_trunk,
    .caller_id = h_caller_id,
    .dial = h_dial,
    .dialled = h_dialled,
};

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || plt_fake_host_new(&f->fh, NULL) != 0) {
        free(f);
        return -1;
    }
    if (plt_fake_host_add(f->fh, &plateau_plugin_v1, NULL, NULL) != 0 ||
        plt_fake_host_init(f->fh) != 0 || plt_fake_host_start(f->fh) != 0) {
        print_error("%s\n", plt_fake_host_last_error(f->fh));
        plt_fake_host_free(f->fh);
        free(f);
        return -1;
    }
    f->nbuckets = 2; /* small, to make the registry grow */
    f->running = true;
    f->buckets = calloc(f->nbuckets, sizeof(*f->buckets));
    cur = f;
    *state = f;
    return f->buckets ? 0 : -1;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    legs_free_all(&f->reg);
    free(f->buckets);
    int rc = plt_fake_host_free(f->fh);
    if (rc != 0)
        print_error("plt_fake_host_free: %d (a handle leaked)\n", rc);
    free(f);
    cur = NULL;
    return rc == 0 ? 0 : -1;
}

static plt_leg *
new_leg(fixture *f, bool inbound, plt_call *join)
{
    plt_leg *l;
    assert_int_equal(
        legs_new(&f->reg, &ops, f, inbound ? 2 : 1, inbound, join, &l), 0);
    assert_int_equal(l->magic, 0x4c454753u);
    assert_ptr_equal(l->s, f);
    return legs_ref(l); /* the test is the consumer: teardown frees all */
}

static plt_leg *
up_leg(fixture *f, plt_call *join)
{
    plt_leg *l = new_leg(f, false, join);
    legs_ev_publish(legs_answered_event(l));
    return l;
}

static const plt_event *
ev_at(fixture *f, const char *topic, size_t i)
{
    plt_fake_host_run_until_idle(f->fh);
    return plt_fake_host_event_at(f->fh, topic, i);
}

static size_t
count(fixture *f, const char *topic)
{
    plt_fake_host_run_until_idle(f->fh);
    return plt_fake_host_event_count(f->fh, topic);
}

/* Ids, calls, lookups across a growing table, and memory kept while a
 * consumer holds an ended leg. */
static void
registry_and_refs(void **state)
{
    fixture *f = *state;
    plt_leg *first = new_leg(f, false, NULL);
    assert_string_equal(first->id, "L1");
    assert_string_equal(first->call->id, "C1");
    assert_int_equal(first->state, PLT_LEG_DIALING);
    plt_leg *in = new_leg(f, true, NULL);
    assert_int_equal(in->state, PLT_LEG_RINGING);
    assert_string_equal(in->call->id, "C2");
    for (int i = 0; i < 20; i++)
        assert_ptr_equal(new_leg(f, false, first->call)->call, first->call);
    assert_true(f->nbuckets > 2);
    assert_int_equal(f->nlegs, 22);
    assert_int_equal(f->nlive, 22);
    assert_int_equal(first->call->nlegs, 21);
    char id[24];
    for (int i = 1; i <= 22; i++) {
        snprintf(id, sizeof(id), "L%d", i);
        plt_leg *l = legs_lookup(&f->reg, id);
        assert_non_null(l);
        assert_string_equal(l->id, id);
    }
    assert_null(legs_lookup(&f->reg, "L23"));
    assert_null(legs_lookup(&f->reg, "L01"));
    assert_null(legs_lookup(&f->reg, "L1x"));
    assert_null(legs_lookup(&f->reg, "C1"));
    assert_null(legs_lookup(&f->reg, NULL));

    /* Held by a consumer, an ended leg stays findable, then goes. */
    in->extra_mem = strdup("provider's");
    legs_end(in, PLT_OUTCOME_NO_ANSWER, 480, "x", PLT_BY_SYSTEM);
    assert_int_equal(in->state, PLT_LEG_ENDED);
    assert_ptr_equal(legs_lookup(&f->reg, "L2"), in);
    assert_int_equal(f->nlive, 21);
    legs_unref(in);
    assert_null(legs_lookup(&f->reg, "L2"));
    assert_int_equal(f->nlegs, 21);
}

static void
event_fields(void **state)
{
    fixture *f = *state;
    plt_leg *l;
    plt_kv vars[] = {{"lead_id", "42"}, {"campaign", NULL}};
    plt_originate o = {.size = sizeof(o),
                       .destination = "+331",
                       .trunk = "tb",
                       .caller_id = "123",
                       .vars = vars,
                       .nvars = 2,
                       .role = PLT_LEG_AGENT,
                       .ring_timeout_ms = 5};
    assert_int_equal(originate(f, &o, &l), 0);
    assert_int_equal(l->ring_timeout_ms, 5);
    assert_int_equal(l->refs, 1);
    assert_string_equal(f->trace, "pick tb;dial L1 1;dialled L1;");
    f->trace[0] = '\0';
    const plt_event *ev = ev_at(f, "call.created", 0);
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "leg_id"), l->id);
    assert_string_equal(plt_fake_event_str(ev, "call_id"), l->call->id);
    assert_string_equal(plt_fake_event_str(ev, "role"), "agent");
    assert_string_equal(plt_fake_event_str(ev, "direction"), "outbound");
    assert_string_equal(plt_fake_event_str(ev, "var_lead_id"), "42");
    assert_string_equal(plt_fake_event_str(ev, "var_campaign"), "");
    assert_string_equal(plt_fake_event_str(ev, "destination"), "+331");
    assert_string_equal(plt_fake_event_str(ev, "from"), "123");
    assert_string_equal(plt_fake_event_str(ev, "trunk"), "tb");

    l->extra = 7;
    plt_fake_host_run_for(f->fh, 1000);
    legs_ev_publish(legs_answered_event(l));
    plt_fake_host_run_for(f->fh, 3000);
    legs_end(l, PLT_OUTCOME_ANSWERED, 200, "hangup", PLT_BY_AGENT);
    ev = ev_at(f, "call.answered", 0);
    assert_int_equal(plt_fake_event_i64(ev, "ring_ms", -1), 1000);
    ev = ev_at(f, "call.ended", 0);
    assert_string_equal(plt_fake_event_str(ev, "outcome"), "answered");
    assert_int_equal(plt_fake_event_i64(ev, "sip_code", 0), 200);
    assert_string_equal(plt_fake_event_str(ev, "reason"), "hangup");
    assert_string_equal(plt_fake_event_str(ev, "hangup_by"), "agent");
    assert_int_equal(plt_fake_event_i64(ev, "ring_ms", -1), 1000);
    assert_int_equal(plt_fake_event_i64(ev, "talk_ms", -1), 3000);
    assert_int_equal(plt_fake_event_i64(ev, "duration_ms", -1), 4000);
    assert_int_equal(plt_fake_event_i64(ev, "extra", -1), 7);
    assert_string_equal(f->trace, "stop L1;release L1;call_ended C1;");
}

/* Ending a leg never ends its partner: both see call.unbridged. */
static void
bridge_then_end(void **state)
{
    fixture *f = *state;
    plt_leg *a = up_leg(f, NULL), *b = up_leg(f, a->call);
    assert_int_equal(legs_bridge(a, a), PLT_EINVAL);
    assert_int_equal(legs_bridge(a, b), 0);
    assert_string_equal(f->trace, "mbridge L1 L2;claimed L1;claimed L2;"
                                  "linked L1 L2;");
    assert_int_equal(legs_bridge(a, b), 0); /* already: nothing */
    assert_int_equal(count(f, "call.bridged"), 2);
    assert_string_equal(
        plt_fake_event_str(ev_at(f, "call.bridged", 0), "other_leg_id"), "L2");
    assert_string_equal(
        plt_fake_event_str(ev_at(f, "call.bridged", 1), "leg_id"), "L2");
    f->trace[0] = '\0';
    legs_end(a, PLT_OUTCOME_ANSWERED, 200, "hangup", PLT_BY_CUSTOMER);
    assert_string_equal(f->trace, "stop L1;munbridge L1;release L1;");
    assert_int_equal(count(f, "call.unbridged"), 2);
    assert_int_equal(b->state, PLT_LEG_UP);
    assert_null(b->bridged);
    assert_int_equal(count(f, "call.ended"), 1);
    assert_int_equal(legs_unbridge(b), PLT_ESTATE);

    /* The provider refusing the media bridge: no bookkeeping, no event. */
    plt_leg *c = up_leg(f, NULL);
    f->refuse_bridge = PLT_ENOMEM;
    assert_int_equal(legs_bridge(b, c), PLT_ENOMEM);
    assert_null(b->bridged);
    assert_int_equal(count(f, "call.bridged"), 2);
}

static void
hold_and_resume(void **state)
{
    fixture *f = *state;
    plt_leg *a = up_leg(f, NULL), *b = up_leg(f, a->call);
    assert_int_equal(legs_bridge(a, b), 0);
    f->trace[0] = '\0';
    assert_int_equal(legs_hold(a, "moh.wav"), 0);
    assert_int_equal(legs_hold(a, NULL), PLT_ESTATE);
    assert_true(a->held);
    assert_ptr_equal(a->held_with, b);
    assert_null(b->bridged);
    assert_string_equal(plt_fake_event_str(ev_at(f, "call.held", 0), "music"),
                        "moh.wav");
    assert_int_equal(legs_resume(a), 0);
    assert_string_equal(f->trace, "munbridge L1;held L1 moh.wav;unheld L1;"
                                  "mbridge L1 L2;claimed L1;claimed L2;"
                                  "linked L1 L2;");
    assert_ptr_equal(a->bridged, b);
    assert_int_equal(count(f, "call.resumed"), 1);
    assert_int_equal(legs_resume(a), PLT_ESTATE);

    /* Bridging a held leg elsewhere takes it off hold first. */
    plt_leg *c = up_leg(f, NULL);
    assert_int_equal(legs_hold(a, NULL), 0);
    assert_int_equal(legs_bridge(a, c), 0);
    assert_false(a->held);
    assert_null(a->held_with);
    assert_int_equal(count(f, "call.resumed"), 2);
    assert_ptr_equal(a->bridged, c);
}

static void
hangup_rules(void **state)
{
    fixture *f = *state;
    plt_leg *in = new_leg(f, true, NULL);
    assert_int_equal(legs_hangup(in, 0, 0), PLT_EINVAL);
    assert_int_equal(legs_hangup(in, 200, PLT_BY_AGENT), PLT_EINVAL);
    assert_int_equal(legs_hangup(in, 0, PLT_BY_AGENT), 0);
    const plt_event *ev = ev_at(f, "call.ended", 0);
    assert_string_equal(plt_fake_event_str(ev, "outcome"), "rejected");
    assert_int_equal(plt_fake_event_i64(ev, "sip_code", 0), 603);
    assert_int_equal(legs_hangup(in, 0, PLT_BY_AGENT), PLT_ESTATE);

    plt_leg *in2 = new_leg(f, true, NULL);
    assert_int_equal(legs_hangup(in2, 486, PLT_BY_SYSTEM), 0);
    ev = ev_at(f, "call.ended", 1);
    assert_string_equal(plt_fake_event_str(ev, "outcome"), "busy");

    plt_leg *out = new_leg(f, false, NULL);
    assert_int_equal(legs_hangup(out, 0, PLT_BY_SYSTEM), 0);
    ev = ev_at(f, "call.ended", 2);
    assert_string_equal(plt_fake_event_str(ev, "outcome"), "cancelled");
    assert_int_equal(plt_fake_event_i64(ev, "sip_code", 0), 487);
    assert_string_equal(plt_fake_event_str(ev, "hangup_by"), "system");
    assert_non_null(strstr(f->trace, "signal L1 603;"));
    assert_non_null(strstr(f->trace, "signal L2 486;"));
    assert_non_null(strstr(f->trace, "signal L3 0;"));

    /* At stop: answered, unanswered inbound, unanswered outbound. */
    plt_leg *u = up_leg(f, NULL);
    (void)u;
    new_leg(f, true, NULL);
    new_leg(f, false, NULL);
    f->trace[0] = '\0';
    legs_end_all(&f->reg, "shutdown");
    assert_int_equal(f->nlive, 0);
    const char *want[][2] = {
        {"cancelled", "487"}, {"no_answer", "480"}, {"answered", "200"}};
    for (size_t i = 0; i < 3; i++) {
        ev = ev_at(f, "call.ended", 3 + i);
        assert_string_equal(plt_fake_event_str(ev, "outcome"), want[i][0]);
        assert_int_equal(plt_fake_event_i64(ev, "sip_code", 0),
                         atoi(want[i][1]));
        assert_string_equal(plt_fake_event_str(ev, "reason"), "shutdown");
    }
    assert_int_equal(legs_outcome_of_code(404), PLT_OUTCOME_INVALID_NUMBER);
    assert_int_equal(legs_outcome_of_code(503), PLT_OUTCOME_CONGESTION);
    assert_int_equal(legs_outcome_of_code(699), PLT_OUTCOME_FAILED);
}

/* A customer talks to agent 1, who holds it and consults agent 2 (on a
 * leg of its own): the attended transfer bridges the customer to agent 2,
 * and ends the two legs of agent 1 in between. */
static void
attended_transfer(void **state)
{
    fixture *f = *state;
    plt_leg *cust = up_leg(f, NULL), *ag1 = up_leg(f, cust->call);
    plt_leg *consult = up_leg(f, NULL), *ag2 = up_leg(f, consult->call);
    assert_int_equal(legs_bridge(cust, ag1), 0);
    assert_int_equal(legs_bridge(consult, ag2), 0);
    assert_int_equal(legs_hold(cust, NULL), 0);
    /* cust (held, was with ag1) joins ag2: ag1 and consult are done. */
    assert_int_equal(legs_transfer_attended(cust, cust), PLT_EINVAL);
    f->trace[0] = '\0';
    assert_int_equal(legs_transfer_attended(cust, ag2), 0);
    assert_ptr_equal(cust->bridged, ag2);
    assert_int_equal(ag1->state, PLT_LEG_ENDED);
    assert_int_equal(consult->state, PLT_LEG_ENDED);
    assert_non_null(strstr(f->trace, "signal L2 0;"));
    assert_non_null(strstr(f->trace, "signal L3 0;"));
    assert_string_equal(plt_fake_event_str(ev_at(f, "call.ended", 0), "reason"),
                        "transferred");
    assert_int_equal(count(f, "call.ended"), 2);
}

static void
blind_transfer(void **state)
{
    fixture *f = *state;
    /* The agent's leg is in a call of its own, as a kept-up leg is: the
     * new leg must join the customer's call, not the agent's. */
    plt_leg *cust = up_leg(f, NULL), *ag = up_leg(f, NULL);
    plt_kv vars[] = {{"lead_id", "9"}};
    assert_int_equal(legs_set_vars(ag, vars, 1), 0);
    assert_int_equal(legs_transfer_blind(ag, "+33"), PLT_ESTATE);
    assert_int_equal(legs_bridge(cust, ag), 0);
    assert_int_equal(legs_transfer_blind(ag, NULL), PLT_EINVAL);
    assert_int_equal(legs_transfer_blind(ag, "bad"), PLT_EINVAL);
    ag->trunk = &trunk_b;
    f->trace[0] = '\0';
    assert_int_equal(legs_transfer_blind(ag, "+33"), 0);
    assert_string_equal(f->trace, "originate +33 tb;pick tb;dial L3 1;"
                                  "dialled L3;");
    plt_leg *n = legs_lookup(&f->reg, "L3");
    assert_non_null(n);
    assert_ptr_equal(n->call, cust->call);
    assert_ptr_equal(n->xfer_from, ag);
    assert_string_equal(n->var_keys[0], "var_lead_id");
    legs_ev_publish(legs_answered_event(n));
    legs_transfer_answered(n);
    assert_null(n->xfer_from);
    assert_ptr_equal(cust->bridged, n);
    assert_null(ag->bridged);
    assert_int_equal(ag->state, PLT_LEG_UP); /* unbridged, not ended */
}

static void
originate_checks(void **state)
{
    fixture *f = *state;
    plt_leg *out = NULL, *l = up_leg(f, NULL);
    plt_originate o = {.size = sizeof(o), .destination = "+1"};
    f->running = false;
    assert_int_equal(originate(f, &o, &out), PLT_ESHUTDOWN);
    f->running = true;
    assert_int_equal(originate(f, &o, NULL), PLT_EINVAL);
    o.destination = "x";
    assert_int_equal(originate(f, &o, &out), PLT_EINVAL);
    o.destination = "+1";
    o.role = 9;
    assert_int_equal(originate(f, &o, &out), PLT_EINVAL);
    o.role = 0;
    plt_kv bad[] = {{"Lead", "1"}};
    o.vars = bad;
    o.nvars = 1;
    assert_int_equal(originate(f, &o, &out), PLT_EINVAL);
    o.vars = NULL;
    o.nvars = 0;
    o.trunk = "none";
    assert_int_equal(originate(f, &o, &out), PLT_ENOENT);
    o.trunk = NULL;
    trunk_a.channels = 1; /* full */
    assert_int_equal(originate(f, &o, &out), PLT_EAGAIN);
    trunk_a.channels = 0;
    assert_null(out);
    assert_int_equal(f->nlegs, 1); /* no leg made by a refused originate */

    /* An agent: no trunk picked, the agent's kind, role agent. */
    f->trace[0] = '\0';
    o.destination = "agent:7";
    assert_int_equal(originate(f, &o, &out), 0);
    assert_string_equal(f->trace, "dial L2 2;dialled L2;");
    assert_int_equal(out->role, PLT_LEG_AGENT);
    assert_null(out->trunk);

    /* Joining a call: only one still live. */
    o.destination = "+1";
    o.call = l->call;
    assert_int_equal(originate(f, &o, &out), 0);
    assert_ptr_equal(out->call, l->call);
    legs_end(l, PLT_OUTCOME_ANSWERED, 200, "x", PLT_BY_SYSTEM);
    legs_end(out, PLT_OUTCOME_ANSWERED, 200, "x", PLT_BY_SYSTEM);
    assert_int_equal(originate(f, &o, &out), PLT_ESTATE);

    /* The provider failing to dial: the leg goes without an event. */
    o.call = NULL;
    size_t before = count(f, "call.*");
    size_t legs = f->nlegs;
    f->refuse_dial = PLT_ENOMEM;
    assert_int_equal(originate(f, &o, &out), PLT_ENOMEM);
    assert_int_equal(count(f, "call.*"), before);
    assert_int_equal(f->nlegs, legs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(registry_and_refs, setup, teardown),
        cmocka_unit_test_setup_teardown(event_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(bridge_then_end, setup, teardown),
        cmocka_unit_test_setup_teardown(hold_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(hangup_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(attended_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(blind_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(originate_checks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
