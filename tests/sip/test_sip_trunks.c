/* SPDX-License-Identifier: MIT */
/*
 * Trunks through the real sip.so against real SIPp peers on 127.0.0.1:
 * OPTIONS health checks marking a trunk down then up again
 * (trunk.state_changed both ways), a trunk whose host name does not
 * resolve (a log line, the trunk down, its calls ending as congestion,
 * the other trunk's calls undisturbed), and the caller ID Plateau puts on
 * the wire for each caller_id_mode (hidden: anonymous From, Privacy: id,
 * the identity in P-Asserted-Identity; fixed; per campaign), checked by
 * the SIPp peer itself (check_it: a wrong header fails its scenario).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sip_harness.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static pid_t
carrier(harness *h, const char *scenario, const char *calls)
{
    const char *args[] = {"-sf", scenario, "-i", "127.0.0.1", "-p",
                          STR(H_TRUNK_PORT), "-m", calls, "-timeout", "20s",
                          "-timeout_error", "-nostdin", NULL};
    pid_t pid = h_sipp(h, "carrier", args);
    if (pid > 0 && h_wait_bound(h, H_TRUNK_PORT, 3000) != 0)
        return -1;
    return pid;
}

/* The n-th trunk.state_changed of @p trunk (0-based), waited for. */
static const plt_event *
nth_state(harness *h, const char *trunk, size_t n, int timeout_ms)
{
    uint64_t deadline =
        h_now_ms() + (uint64_t)timeout_ms * (uint64_t)h_slack();
    for (;;) {
        size_t count = plt_fake_host_event_count(h->fh, "trunk.state_changed");
        size_t seen = 0;
        for (size_t i = 0; i < count; i++) {
            const plt_event *ev =
                plt_fake_host_event_at(h->fh, "trunk.state_changed", i);
            const char *t = plt_fake_event_str(ev, "trunk");
            if (t && strcmp(t, trunk) == 0 && seen++ == n)
                return ev;
        }
        if (h_now_ms() > deadline)
            break;
        h_run(h, 20);
    }
    fprintf(stderr, "no trunk.state_changed #%zu for %s\n", n, trunk);
    return NULL;
}

static void
options_mark_the_trunk_down_then_up(void **state)
{
    (void)state;
    harness h;
    /* Nobody answers at first: the port is closed (ICMP unreachable). */
    assert_int_equal(h_start(&h, h_config("    options_interval: 1s\n"
                                          "    options_threshold: 1\n",
                                          NULL)),
                     0);
    const plt_event *e = nth_state(&h, "carrier", 0, 3000);
    assert_non_null(e);
    size_t down_at = 0;
    if (strcmp(plt_fake_event_str(e, "state"), "up") == 0)
        down_at = 1; /* up once resolved, before the first probe */
    e = nth_state(&h, "carrier", down_at, 6000);
    assert_non_null(e);
    assert_string_equal(plt_fake_event_str(e, "state"), "down");
    assert_non_null(strstr(plt_fake_event_str(e, "reason"), "OPTIONS failed"));
    assert_true(plt_fake_host_log_count(h.fh, PLT_LOG_WARN, "OPTIONS") >= 1);
    /* Down: nothing is dialled, the attempt ends at once. */
    plt_leg *l;
    assert_int_equal(h_originate(&h, "+33612345678", 0, 0, &l), 0);
    e = h_wait_event(&h, "call.ended", "leg_id", h_leg_id(&h, l), 500);
    assert_non_null(e);
    assert_string_equal(plt_fake_event_str(e, "outcome"), "congestion");
    h.tel.vt->leg_unref(h.tel.impl, l);

    /* The carrier comes back and answers the next probe: up again. */
    pid_t pid = carrier(&h, h_scenario("uas_options.xml"), "1");
    assert_true(pid > 0);
    e = nth_state(&h, "carrier", down_at + 1, 6000);
    assert_non_null(e);
    assert_string_equal(plt_fake_event_str(e, "state"), "up");
    assert_non_null(strstr(plt_fake_event_str(e, "reason"), "OPTIONS answered"));
    bool up = false;
    const char *name = NULL;
    assert_int_equal(
        h.tel.vt->trunk_at(h.tel.impl, 0, &name, &up, NULL, NULL), 0);
    assert_true(up);
    assert_int_equal(h_sipp_wait(&h, pid, 5000), 0);
    assert_int_equal(h_stop(&h), 0);
}

static void
unresolvable_trunk_host(void **state)
{
    (void)state;
    harness h;
    const char *trunks = "  - name: nowhere\n"
                         "    host: no-such-carrier.invalid\n"
                         "    options_interval: 0s\n";
    assert_int_equal(h_start(&h, h_config(trunks, NULL)), 0);
    const plt_event *e = h_wait_event(&h, "trunk.state_changed", "trunk",
                                      "nowhere", 5000);
    assert_non_null(e);
    assert_string_equal(plt_fake_event_str(e, "state"), "down");
    assert_true(plt_fake_host_log_count(h.fh, PLT_LOG_WARN,
                                        "no-such-carrier.invalid") >= 1);
    /* A call through the other trunk is up while the bad one is tried. */
    pid_t pid = carrier(&h, h_scenario("uas_answer_wait.xml"), "1");
    assert_true(pid > 0);
    plt_leg *good;
    assert_int_equal(h_originate(&h, "+33612345678", 0, 0, &good), 0);
    char gid[32];
    snprintf(gid, sizeof(gid), "%s", h_leg_id(&h, good));
    assert_non_null(h_wait_event(&h, "call.answered", "leg_id", gid, 3000));

    plt_originate o = {.size = sizeof(o),
                       .destination = "+33612345679",
                       .trunk = "nowhere"};
    plt_leg *bad;
    assert_int_equal(h.tel.vt->originate(h.tel.impl, &o, &bad), 0);
    e = h_wait_event(&h, "call.ended", "leg_id", h_leg_id(&h, bad), 500);
    assert_non_null(e);
    assert_string_equal(plt_fake_event_str(e, "outcome"), "congestion");
    assert_int_equal(plt_fake_event_i64(e, "sip_code", 0), 503);
    assert_string_equal(plt_fake_event_str(e, "hangup_by"), "system");
    h.tel.vt->leg_unref(h.tel.impl, bad);

    plt_leg_info info = {.size = sizeof(info)};
    assert_int_equal(h.tel.vt->leg_info(h.tel.impl, good, &info), 0);
    assert_int_equal(info.state, PLT_LEG_UP);
    assert_int_equal(h.tel.vt->hangup(h.tel.impl, good, 0, PLT_BY_AGENT), 0);
    e = h_wait_event(&h, "call.ended", "leg_id", gid, 1000);
    assert_non_null(e);
    assert_string_equal(plt_fake_event_str(e, "outcome"), "answered");
    assert_int_equal(h_sipp_wait(&h, pid, 5000), 0);
    h.tel.vt->leg_unref(h.tel.impl, good);
    assert_int_equal(h_stop(&h), 0);
}

/* One call with @p mode, @p caller_id and @p flags; the carrier checks
 * From against @p from_re and @p hdr against @p hdr_re, and @p hdr2
 * against @p hdr2_re, then refuses with 486. */
static void
caller_id_on_the_wire(const char *mode, const char *caller_id, uint32_t flags,
                      const char *from_re, const char *hdr,
                      const char *hdr_re, const char *hdr2,
                      const char *hdr2_re)
{
    harness h;
    char trunk[128];
    snprintf(trunk, sizeof(trunk), "    caller_id_mode: %s\n", mode);
    assert_int_equal(h_start(&h, h_config(trunk, NULL)), 0);
    const char *kv[] = {"@FROM_RE@", from_re, "@HDR@", hdr, "@HDR_RE@",
                        hdr_re, "@HDR2@", hdr2, "@HDR2_RE@", hdr2_re, NULL};
    const char *sf = h_scenario_subst(&h, "uas_check_invite.xml", mode, kv);
    assert_non_null(sf);
    pid_t pid = carrier(&h, sf, "1");
    assert_true(pid > 0);
    plt_originate o = {.size = sizeof(o),
                       .destination = "+33612345678",
                       .caller_id = caller_id,
                       .flags = flags};
    plt_leg *l;
    assert_int_equal(h.tel.vt->originate(h.tel.impl, &o, &l), 0);
    const plt_event *e =
        h_wait_event(&h, "call.ended", "leg_id", h_leg_id(&h, l), 5000);
    assert_non_null(e);
    assert_string_equal(plt_fake_event_str(e, "outcome"), "busy");
    /* 0: the carrier's checks of the INVITE passed. */
    assert_int_equal(h_sipp_wait(&h, pid, 5000), 0);
    h.tel.vt->leg_unref(h.tel.impl, l);
    assert_int_equal(h_stop(&h), 0);
}

static void
caller_id_hidden(void **state)
{
    (void)state;
    caller_id_on_the_wire("hidden", NULL, 0, "anonymous@anonymous\\.invalid",
                          "Privacy:", "^ *id *$", "P-Asserted-Identity:",
                          "sip:\\+33100000000@");
}

static void
caller_id_hidden_per_call(void **state)
{
    (void)state;
    /* A campaign trunk, the call asks for a hidden number. */
    caller_id_on_the_wire("campaign", "+33155555555", PLT_ORIG_HIDE_CALLER_ID,
                          "anonymous@anonymous\\.invalid", "Privacy:",
                          "^ *id *$", "P-Asserted-Identity:",
                          "sip:\\+33155555555@");
}

static void
caller_id_fixed(void **state)
{
    (void)state;
    /* The campaign's number is ignored: the trunk's is presented. */
    caller_id_on_the_wire("fixed", "+33155555555", 0, "sip:\\+33100000000@",
                          "To:", "sip:\\+33612345678@", "Call-ID:", ".");
}

static void
caller_id_per_campaign(void **state)
{
    (void)state;
    caller_id_on_the_wire("campaign", "+33155555555", 0,
                          "sip:\\+33155555555@", "P-Asserted-Identity:",
                          "sip:\\+33100000000@", "To:", "sip:\\+33612345678@");
}

static void
simulated_clock_is_refused(void **state)
{
    (void)state;
    plt_fake_host *fh;
    plt_fake_options opt = {.real_clock = 0};
    assert_int_equal(plt_fake_host_new(&fh, &opt), 0);
    const char *pdir = getenv("PLATEAU_PLUGIN_DIR");
    char so[512];
    snprintf(so, sizeof(so), "%s/sip.so", pdir ? pdir : ".");
    int rc = plt_fake_host_add_so(fh, so, h_config(NULL, NULL), NULL);
    if (rc == 0)
        rc = plt_fake_host_init(fh);
    assert_int_not_equal(rc, 0);
    const char *err = plt_fake_host_last_error(fh);
    assert_non_null(err);
    assert_non_null(strstr(err, "real clock"));
    assert_int_equal(plt_fake_host_free(fh), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simulated_clock_is_refused),
        cmocka_unit_test_teardown(options_mark_the_trunk_down_then_up,
                                  h_cleanup),
        cmocka_unit_test_teardown(unresolvable_trunk_host, h_cleanup),
        cmocka_unit_test_teardown(caller_id_hidden, h_cleanup),
        cmocka_unit_test_teardown(caller_id_hidden_per_call, h_cleanup),
        cmocka_unit_test_teardown(caller_id_fixed, h_cleanup),
        cmocka_unit_test_teardown(caller_id_per_campaign, h_cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
