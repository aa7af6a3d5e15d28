/* SPDX-License-Identifier: MIT */
/*
 * Calls through the real sip.so against real SIPp peers on 127.0.0.1:
 * outbound answered (the party hangs up, or we do), busy, invalid
 * numbers, congestion, no answer (our CANCEL), inbound by DID (answered,
 * unclaimed, unknown DID, no common codec), RFC 4733 digits, trunk
 * registration with a digest challenge (accepted and rejected), limits.
 * Each test checks the contract's events (outcome, sip_code, hangup_by)
 * and SIPp's verdict (exit status 0: the scenario saw the messages it
 * expects).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "sip_harness.h"

#define PORT_STR_(x) #x
#define PORT_STR(x) PORT_STR_(x)
#define TRUNK_PORT PORT_STR(H_TRUNK_PORT)
#define TRUNK_MEDIA PORT_STR(H_TRUNK_MEDIA)
#define SIP_TARGET "127.0.0.1:" PORT_STR(H_SIP_PORT)

/* SIPp as the carrier, running SCENARIO once. */
static pid_t
carrier(harness *h, const char *scenario, const char *const *extra)
{
    const char *args[40] = {"-sf", scenario, "-i", "127.0.0.1", "-p",
                            TRUNK_PORT, "-mi", "127.0.0.1", "-mp",
                            TRUNK_MEDIA, "-m", "1", "-timeout", "20s",
                            "-timeout_error", "-nostdin", NULL};
    size_t n = 0;
    while (args[n])
        n++;
    for (size_t i = 0; extra && extra[i] && n < 38; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    pid_t pid = h_sipp(h, "carrier", args);
    if (pid > 0 && h_wait_bound(h, H_TRUNK_PORT, 3000) != 0)
        return -1;
    return pid;
}

static void
assert_ended(const plt_event *ev, const char *outcome, int code,
             const char *by)
{
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "outcome"), outcome);
    assert_int_equal(plt_fake_event_i64(ev, "sip_code", -1), code);
    assert_string_equal(plt_fake_event_str(ev, "hangup_by"), by);
}

/* ------------------------------------------------------------------ */

/* RTP from a source that is not the party's, sent to every even port of
 * Plateau's RTP range from a port of our own: 10 packets each (PCMA,
 * another SSRC, full-scale audio). Returns the number of datagrams sent. */
static int
send_foreign_rtp(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in to = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    unsigned char pkt[12 + 160];
    memset(pkt + 12, 0xAA, 160); /* A-law, near full scale */
    int sent = 0;
    for (int seq = 0; seq < 10; seq++) {
        pkt[0] = 0x80;
        pkt[1] = 8; /* PCMA */
        pkt[2] = 0x40;
        pkt[3] = (unsigned char)seq;
        memset(pkt + 4, 0, 4);
        pkt[7] = (unsigned char)(seq * 160);
        pkt[6] = (unsigned char)((seq * 160) >> 8);
        memcpy(pkt + 8, "\xF0\xE1\xD2\xC3", 4); /* foreign SSRC */
        for (int port = H_RTP_MIN; port <= H_RTP_MAX; port += 2) {
            to.sin_port = htons((uint16_t)port);
            if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to,
                       sizeof(to)) == (ssize_t)sizeof(pkt))
                sent++;
        }
    }
    close(fd);
    return sent;
}

/* The party answers, sends digit 1, audio, digit 2 and hangs up. With
 * @p foreign, RTP from a foreign source is sent between the digits. */
static void
answered_party_hangs_up(bool foreign)
{
    harness h;
    assert_int_equal(h_start(&h, h_config(NULL, NULL)), 0);
    pid_t pid = carrier(&h, h_scenario_from(&h, "uas_answer_bye.xml", NULL, NULL),
                        NULL);
    assert_true(pid > 0);
    plt_leg *l;
    assert_int_equal(h_originate(&h, "+33612345678", 0, 0, &l), 0);
    const char *id = h_leg_id(&h, l);
    assert_non_null(h_wait_event(&h, "call.progress", "leg_id", id, 3000));
    const plt_event *a = h_wait_event(&h, "call.answered", "leg_id", id, 3000);
    assert_non_null(a);
    assert_string_equal(plt_fake_event_str(a, "var_attempt_id"), "a1");
    /* The party's RFC 4733 digit reaches the contract as call.dtmf (and
     * proves its source is latched and flowing). */
    const plt_event *d = h_wait_event(&h, "call.dtmf", "leg_id", id, 6000);
    assert_non_null(d);
    assert_string_equal(plt_fake_event_str(d, "digit"), "1");
    assert_string_equal(plt_fake_event_str(d, "method"), "rfc4733");
    int sent = foreign ? send_foreign_rtp() : 0;
    if (foreign)
        assert_true(sent > 0);
    /* Digit 2 comes from the party's source after the foreign packets: had
     * the foreign source been latched, it would be dropped. */
    assert_non_null(h_wait_event(&h, "call.dtmf", "digit", "2", 6000));
    const plt_event *e = h_wait_event(&h, "call.ended", "leg_id", id, 8000);
    assert_ended(e, "answered", 200, "customer");
    assert_true(plt_fake_event_i64(e, "talk_ms", 0) >= 1000);
    /* The foreign packets reached the leg's port and were counted, not
     * taken; the party's were. */
    int64_t nforeign = plt_fake_event_i64(e, "rtp_foreign", -1);
    int64_t rx = plt_fake_event_i64(e, "rtp_rx", -1);
    printf("rtp_rx %lld, rtp_foreign %lld\n", (long long)rx,
           (long long)nforeign);
    /* g711a.pcap holds 100 packets in its first 3 s, the digits 10 each;
     * SIPp on a loaded machine may send fewer before the next pcap. */
    assert_true(rx >= 60);
    /* All 10 foreign packets sent to the leg's port are counted. SIPp
     * itself may send a stray packet from another port now and then. */
    if (foreign)
        assert_true(nforeign >= 10 && nforeign <= sent);
    else
        assert_true(nforeign < 10);
    assert_int_equal(h_sipp_wait(&h, pid, 5000), 0);
    h.tel.vt->leg_unref(h.tel.impl, l);
    assert_int_equal(h_stop(&h), 0);
}

static void
outbound_answered_party_hangs_up(void **state)
{
    (void)state;
    answered_party_hangs_up(false);
}

static void
foreign_rtp_source_mid_call_is_ignored(void **state)
{
    (void)state;
    answered_party_hangs_up(true);
}

/* Start Plateau and a carrier playing @p scenario; call it and wait for
 * the answer. */
static plt_leg *
answered_call(harness *h, const char *scenario, pid_t *pid, char id[32])
{
    assert_int_equal(h_start(h, h_config(NULL, NULL)), 0);
    *pid = carrier(h, scenario, NULL);
    assert_true(*pid > 0);
    plt_leg *l;
    assert_int_equal(h_originate(h, "+33612345678", 0, 0, &l), 0);
    snprintf(id, 32, "%s", h_leg_id(h, l));
    assert_non_null(h_wait_event(h, "call.answered", "leg_id", id, 3000));
    return l;
}

/* We hang up (as the agent): answered, 200, agent; SIPp saw our BYE and
 * answered it; everything stops cleanly. */
static void
we_hang_up(harness *h, plt_leg *l, const char *id, pid_t pid)
{
    assert_int_equal(h->tel.vt->hangup(h->tel.impl, l, 0, PLT_BY_AGENT), 0);
    const plt_event *e = h_wait_event(h, "call.ended", "leg_id", id, 1000);
    assert_ended(e, "answered", 200, "agent");
    assert_int_equal(h_sipp_wait(h, pid, 5000), 0);
    h->tel.vt->leg_unref(h->tel.impl, l);
    assert_int_equal(h_stop(h), 0);
}

static void
outbound_answered_we_hang_up(void **state)
{
    (void)state;
    harness h;
    pid_t pid;
    char id[32];
    plt_leg *l = answered_call(&h, h_scenario("uas_answer_wait.xml"), &pid, id);
    h_run(&h, 300);
    we_hang_up(&h, l, id, pid);
}

static void
refused(const char *code, const char *reason, const char *outcome,
        const char *by)
{
    harness h;
    assert_int_equal(h_start(&h, h_config(NULL, NULL)), 0);
    (void)reason;
    pid_t pid = carrier(&h, h_scenario_from(&h, "uas_reject.xml", code, NULL),
                        NULL);
    plt_leg *l;
    assert_int_equal(h_originate(&h, "0612345678", 0, 0, &l), 0);
    const char *id = h_leg_id(&h, l);
    const plt_event *e = h_wait_event(&h, "call.ended", "leg_id", id, 5000);
    assert_ended(e, outcome, atoi(code), by);
    assert_int_equal(h_sipp_wait(&h, pid, 5000), 0);
    h.tel.vt->leg_unref(h.tel.impl, l);
    assert_int_equal(h_stop(&h), 0);
}

static void
outbound_busy(void **state)
{
    (void)state;
    refused("486", "Busy Here", "busy", "customer");
}

static void
outbound_invalid_404(void **state)
{
    (void)state;
    refused("404", "Not Found", "invalid_number", "system");
}

static void
outbound_invalid_484(void **state)
{
    (void)state;
    refused("484", "Address Incomplete", "invalid_number", "system");
}

static void
outbound_congestion(void **state)
{
    (void)state;
    refused("503", "Service Unavailable", "congestion", "system");
}

static void
outbound_no_answer(void **state)
{
    (void)state;
    harness h;
    assert_int_equal(h_start(&h, h_config(NULL, NULL)), 0);
    pid_t pid = carrier(&h, h_scenario("uas_noanswer.xml"), NULL);
    plt_leg *l;
    assert_int_equal(h_originate(&h, "+33612345678", 1500, 0, &l), 0);
    const char *id = h_leg_id(&h, l);
    const plt_event *p = h_wait_event(&h, "call.progress", "leg_id", id, 2000);
    assert_non_null(p);
    assert_string_equal(plt_fake_event_str(p, "progress"), "ringing");
    const plt_event *e = h_wait_event(&h, "call.ended", "leg_id", id, 4000);
    assert_ended(e, "no_answer", 487, "system");
    /* Never before the originate's 1.5 s; well before the configured
     * ring_timeout (5 s), which would mean the originate's was ignored.
     * A loaded machine fires the timer late, never early. */
    int64_t ring = plt_fake_event_i64(e, "ring_ms", 0);
    assert_true(ring >= 1500);
    assert_true(ring < 4500);
    /* SIPp got our CANCEL, answered 487 and got the ACK. */
    assert_int_equal(h_sipp_wait(&h, pid, 5000), 0);
    h.tel.vt->leg_unref(h.tel.impl, l);
    assert_int_equal(h_stop(&h), 0);
}

static void
missing_prompt_leaves_the_leg_up(void **state)
{
    (void)state;
    harness h;
    pid_t pid;
    char id[32];
    plt_leg *l = answered_call(&h, h_scenario("uas_answer_wait.xml"), &pid, id);
    char pid_s[32];
    assert_int_equal(h.tel.vt->play(h.tel.impl, l, "/nonexistent/prompt.wav",
                                    0, pid_s),
                     0);
    const plt_event *p =
        h_wait_event(&h, "call.play_finished", "play_id", pid_s, 3000);
    assert_non_null(p);
    assert_string_equal(plt_fake_event_str(p, "reason"), "error");
    assert_true(plt_fake_host_log_count(h.fh, PLT_LOG_WARN, "cannot play") >=
                1);
    /* The leg is undisturbed: still up, nothing ended. */
    plt_leg_info info = {.size = sizeof(info)};
    assert_int_equal(h.tel.vt->leg_info(h.tel.impl, l, &info), 0);
    assert_int_equal(info.state, PLT_LEG_UP);
    assert_int_equal(plt_fake_host_event_count(h.fh, "call.ended"), 0);
    we_hang_up(&h, l, id, pid);
}

static void
party_holds_and_resumes_with_reinvites(void **state)
{
    (void)state;
    harness h;
    pid_t pid;
    char id[32];
    plt_leg *l = answered_call(&h, h_scenario("uas_hold.xml"), &pid, id);
    /* a=sendonly: held; a=inactive: still held (no second event);
     * a=sendrecv: resumed. SIPp checks our answers (a=recvonly,
     * a=inactive, a=sendrecv). */
    assert_non_null(h_wait_event(&h, "call.party_held", "leg_id", id, 3000));
    assert_non_null(
        h_wait_event(&h, "call.party_resumed", "leg_id", id, 5000));
    assert_int_equal(plt_fake_host_event_count(h.fh, "call.party_held"), 1);
    plt_leg_info info = {.size = sizeof(info)};
    assert_int_equal(h.tel.vt->leg_info(h.tel.impl, l, &info), 0);
    assert_int_equal(info.state, PLT_LEG_UP);
    we_hang_up(&h, l, id, pid);
}

/* ------------------------------------------------------------------ */
/* Inbound */

static pid_t
caller(harness *h, const char *scenario, const char *did, const char *hold)
{
    const char *args[] = {"-sf", scenario, "-s", did, "-i", "127.0.0.1",
                          "-p", TRUNK_PORT, "-mi", "127.0.0.1", "-mp",
                          TRUNK_MEDIA, "-m", "1", "-timeout", "20s",
                          "-timeout_error", "-nostdin", "-d", hold,
                          SIP_TARGET, NULL};
    return h_sipp(h, "caller", args);
}

static void
inbound_by_did_answered(void **state)
{
    (void)state;
    harness h;
    assert_int_equal(h_start(&h, h_config(NULL, NULL)), 0);
    pid_t pid = caller(&h, h_scenario_from(&h, "uac_inbound.xml", NULL, NULL),
                       "+33140000000",
                       "1500");
    const plt_event *c =
        h_wait_event(&h, "call.created", "did", "+33140000000", 3000);
    assert_non_null(c);
    assert_string_equal(plt_fake_event_str(c, "direction"), "inbound");
    assert_string_equal(plt_fake_event_str(c, "from"), "0612345678");
    assert_string_equal(plt_fake_event_str(c, "trunk"), "carrier");
    char id[32];
    snprintf(id, sizeof(id), "%s", plt_fake_event_str(c, "leg_id"));
    plt_leg *l;
    assert_int_equal(h.tel.vt->leg_find(h.tel.impl, id, &l), 0);
    assert_int_equal(h.tel.vt->answer(h.tel.impl, l), 0);
    const plt_event *d = h_wait_event(&h, "call.dtmf", "leg_id", id, 5000);
    assert_non_null(d);
    assert_string_equal(plt_fake_event_str(d, "digit"), "5");
    const plt_event *e = h_wait_event(&h, "call.ended", "leg_id", id, 6000);
    assert_ended(e, "answered", 200, "customer");
    assert_int_equal(h_sipp_wait(&h, pid, 5000), 0);
    h.tel.vt->leg_unref(h.tel.impl, l);
    assert_int_equal(h_stop(&h), 0);
}

static void
inbound_refused(const char *did, const char *code, const char *codecs,
                const char *outcome)
{
    harness h;
    assert_int_equal(h_start(&h, h_config(NULL, NULL)), 0);
    const char *sf = h_scenario_from(&h, "uac_refused.xml", code, codecs);
    assert_non_null(sf);
    pid_t pid = caller(&h, sf, did, "0");
    assert_int_equal(h_sipp_wait(&h, pid, 6000), 0);
    if (outcome) {
        const plt_event *e = h_wait_event(&h, "call.ended", NULL, NULL, 500);
        assert_ended(e, outcome, atoi(code), "system");
    } else {
        h_run(&h, 100);
        assert_int_equal(plt_fake_host_event_count(h.fh, "call.*"), 0);
    }
    assert_int_equal(h_stop(&h), 0);
}

static void
inbound_unclaimed_480(void **state)
{
    (void)state;
    inbound_refused("+33140000000", "480", "8 101", "no_answer");
}

static void
inbound_unknown_did_404(void **state)
{
    (void)state;
    inbound_refused("+33149999999", "404", "8 101", NULL);
}

static void
inbound_no_common_codec_488(void **state)
{
    (void)state;
    /* G.729 and GSM only. */
    inbound_refused("+33140000000", "488", "18 3", "failed");
}

/* ------------------------------------------------------------------ */
/* Trunks */

/* The registrar must listen before Plateau starts registering. */
static pid_t
registrar_first(harness *h)
{
    snprintf(h->dir, sizeof(h->dir), "/tmp");
    h->fh = NULL;
    const char *args[] = {"-sf", h_scenario("uas_registrar.xml"), "-i",
                          "127.0.0.1", "-p", TRUNK_PORT, "-m", "1",
                          "-timeout", "20s", "-timeout_error", "-nostdin",
                          NULL};
    pid_t pid = h_sipp(h, "sip-test-registrar", args);
    if (pid > 0 && h_wait_bound(h, H_TRUNK_PORT, 3000) != 0)
        return -1;
    return pid;
}

static void
trunk_registers_with_digest(void **state)
{
    (void)state;
    harness h;
    pid_t pid = registrar_first(&h);
    const char *trunk = "    register: true\n"
                        "    username: trunkuser\n"
                        "    password: trunkpass\n";
    assert_int_equal(h_start(&h, h_config(trunk, NULL)), 0);
    const plt_event *e =
        h_wait_event(&h, "trunk.state_changed", "trunk", "carrier", 5000);
    assert_non_null(e);
    assert_string_equal(plt_fake_event_str(e, "state"), "up");
    assert_string_equal(plt_fake_event_str(e, "reason"), "registered");
    /* Stopping removes the registration: the registrar's scenario ends
     * only after a REGISTER with expires 0. */
    assert_int_equal(h_stop(&h), 0);
    assert_int_equal(h_sipp_wait(&h, pid, 5000), 0);
}

static void
trunk_registration_rejected(void **state)
{
    (void)state;
    harness h;
    pid_t pid = registrar_first(&h);
    const char *trunk = "    register: true\n"
                        "    username: trunkuser\n"
                        "    password: wrong\n";
    assert_int_equal(h_start(&h, h_config(trunk, NULL)), 0);
    const plt_event *e =
        h_wait_event(&h, "trunk.state_changed", "trunk", "carrier", 5000);
    assert_non_null(e);
    assert_string_equal(plt_fake_event_str(e, "state"), "down");
    assert_non_null(strstr(plt_fake_event_str(e, "reason"), "403"));
    assert_true(plt_fake_host_log_count(h.fh, PLT_LOG_WARN, "403") >= 1);
    assert_int_equal(h_sipp_wait(&h, pid, 5000), 0);
    /* Nothing is sent to a trunk that is down: congestion at once. */
    plt_leg *l;
    assert_int_equal(h_originate(&h, "+33612345678", 0, 0, &l), 0);
    e = h_wait_event(&h, "call.ended", "leg_id", h_leg_id(&h, l), 500);
    assert_ended(e, "congestion", 503, "system");
    h.tel.vt->leg_unref(h.tel.impl, l);
    assert_int_equal(h_stop(&h), 0);
}

static void
trunk_channel_limit(void **state)
{
    (void)state;
    harness h;
    assert_int_equal(h_start(&h, h_config("    max_channels: 1\n", NULL)), 0);
    pid_t pid = carrier(&h, h_scenario("uas_noanswer.xml"), NULL);
    plt_leg *a, *b = NULL;
    assert_int_equal(h_originate(&h, "+33612345678", 1000, 0, &a), 0);
    /* Nothing is sent: the trunk is full. */
    assert_int_equal(h_originate(&h, "+33612345679", 1000, 0, &b), PLT_EAGAIN);
    assert_null(b);
    const plt_event *e =
        h_wait_event(&h, "call.ended", "leg_id", h_leg_id(&h, a), 3000);
    assert_ended(e, "no_answer", 487, "system");
    assert_int_equal(h_sipp_wait(&h, pid, 5000), 0);
    h.tel.vt->leg_unref(h.tel.impl, a);
    assert_int_equal(h_stop(&h), 0);
}

static void
trunk_cps_limit(void **state)
{
    (void)state;
    harness h;
    /* Nobody listens on the trunk's port: how the calls end does not
     * matter here; the third originate within a second is refused. */
    assert_int_equal(h_start(&h, h_config("    cps: 2\n", NULL)), 0);
    plt_leg *l[3] = {NULL, NULL, NULL};
    assert_int_equal(h_originate(&h, "+33612345671", 1000, 0, &l[0]), 0);
    assert_int_equal(h_originate(&h, "+33612345672", 1000, 0, &l[1]), 0);
    assert_int_equal(h_originate(&h, "+33612345673", 1000, 0, &l[2]),
                     PLT_EAGAIN);
    for (int i = 0; i < 2; i++) {
        assert_non_null(h_wait_event(&h, "call.ended", "leg_id",
                                     h_leg_id(&h, l[i]), 3000));
        h.tel.vt->leg_unref(h.tel.impl, l[i]);
    }
    /* A second later the window has room again. */
    h_run(&h, 1000);
    assert_int_equal(h_originate(&h, "+33612345673", 1000, 0, &l[2]), 0);
    assert_non_null(
        h_wait_event(&h, "call.ended", "leg_id", h_leg_id(&h, l[2]), 3000));
    h.tel.vt->leg_unref(h.tel.impl, l[2]);
    assert_int_equal(h_stop(&h), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(outbound_answered_party_hangs_up, h_cleanup),
        cmocka_unit_test_teardown(outbound_answered_we_hang_up, h_cleanup),
        cmocka_unit_test_teardown(outbound_busy, h_cleanup),
        cmocka_unit_test_teardown(outbound_invalid_404, h_cleanup),
        cmocka_unit_test_teardown(outbound_invalid_484, h_cleanup),
        cmocka_unit_test_teardown(outbound_congestion, h_cleanup),
        cmocka_unit_test_teardown(outbound_no_answer, h_cleanup),
        cmocka_unit_test_teardown(foreign_rtp_source_mid_call_is_ignored,
                                  h_cleanup),
        cmocka_unit_test_teardown(missing_prompt_leaves_the_leg_up, h_cleanup),
        cmocka_unit_test_teardown(party_holds_and_resumes_with_reinvites,
                                  h_cleanup),
        cmocka_unit_test_teardown(inbound_by_did_answered, h_cleanup),
        cmocka_unit_test_teardown(inbound_unclaimed_480, h_cleanup),
        cmocka_unit_test_teardown(inbound_unknown_did_404, h_cleanup),
        cmocka_unit_test_teardown(inbound_no_common_codec_488, h_cleanup),
        cmocka_unit_test_teardown(trunk_registers_with_digest, h_cleanup),
        cmocka_unit_test_teardown(trunk_registration_rejected, h_cleanup),
        cmocka_unit_test_teardown(trunk_channel_limit, h_cleanup),
        cmocka_unit_test_teardown(trunk_cps_limit, h_cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
