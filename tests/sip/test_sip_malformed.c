/* SPDX-License-Identifier: MIT */
/*
 * Malformed SIP and SDP sent to the real sip.so (notes/robustness.md
 * §1.2): a method cut short, bad Content-Length values (too large,
 * negative, twice), a URI ending in '%', an oversized Call-ID, a message
 * above max_message_size, an SDP line shorter than 2 characters, an SDP
 * with unknown codecs only. Each is answered with an error or dropped,
 * and after each one an OPTIONS probe must still be answered with 200:
 * the process neither crashed nor stopped serving.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "sip_harness.h"

#define PEER_PORT H_PEER_PORT

static int g_fd = -1;
static int g_seq;

static int
peer_open(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(PEER_PORT)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void
send_raw(const char *msg, size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(H_SIP_PORT)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_true(sendto(g_fd, msg, len, 0, (struct sockaddr *)&a, sizeof(a)) ==
                (ssize_t)len);
}

/* The first response whose status line starts with @p prefix (e.g.
 * "SIP/2.0 2", "SIP/2.0 4") and, if @p needle is not NULL, that holds
 * @p needle (a Call-ID: a late answer to an earlier request is not taken
 * for this one's); its code, or 0 if none came. A response we expect
 * (needle given) is waited for up to @p ms times h_slack(); one that may
 * rightly never come, @p ms. */
static int
recv_status(harness *h, const char *prefix, const char *needle, int ms)
{
    char buf[70000];
    uint64_t deadline =
        h_now_ms() + (uint64_t)ms * (uint64_t)(needle ? h_slack() : 1);
    for (;;) {
        struct pollfd p = {.fd = g_fd, .events = POLLIN};
        while (poll(&p, 1, 0) == 1) {
            ssize_t n = recv(g_fd, buf, sizeof(buf) - 1, 0);
            if (n <= 0)
                break;
            buf[n] = '\0';
            if (strncmp(buf, prefix, strlen(prefix)) == 0 &&
                (!needle || strstr(buf, needle)))
                return atoi(buf + 8);
        }
        if (h_now_ms() > deadline)
            return 0;
        h_run(h, 20);
    }
}

static void
drain(harness *h)
{
    (void)recv_status(h, "never", NULL, 100);
}

/* Plateau still answers OPTIONS. */
static void
alive(harness *h)
{
    char msg[512];
    int n = snprintf(msg, sizeof(msg),
                     "OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-probe%d\r\n"
                     "From: <sip:probe@127.0.0.1>;tag=p%d\r\n"
                     "To: <sip:127.0.0.1>\r\n"
                     "Call-ID: probe-%d@127.0.0.1\r\n"
                     "CSeq: 1 OPTIONS\r\n"
                     "Max-Forwards: 70\r\n"
                     "Content-Length: 0\r\n\r\n",
                     H_SIP_PORT, PEER_PORT, g_seq + 1, g_seq + 1, g_seq + 1);
    g_seq++;
    send_raw(msg, (size_t)n);
    char callid[48];
    snprintf(callid, sizeof(callid), "probe-%d@", g_seq);
    assert_int_equal(recv_status(h, "SIP/2.0 2", callid, 2000), 200);
}

static const char *
invite(char *buf, size_t len, const char *did, const char *extra_hdr,
       const char *cl, const char *body)
{
    snprintf(buf, len,
             "INVITE sip:%s@127.0.0.1:%d SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-inv%d\r\n"
             "From: <sip:0612345678@127.0.0.1>;tag=i%d\r\n"
             "To: <sip:%s@127.0.0.1>\r\n"
             "Call-ID: inv-%d@127.0.0.1\r\n"
             "CSeq: 1 INVITE\r\n"
             "Contact: <sip:0612345678@127.0.0.1:%d>\r\n"
             "Max-Forwards: 70\r\n"
             "%s"
             "Content-Type: application/sdp\r\n"
             "Content-Length: %s\r\n\r\n%s",
             did, H_SIP_PORT, PEER_PORT, g_seq + 1, g_seq + 1, did, g_seq + 1,
             PEER_PORT, extra_hdr, cl, body);
    g_seq++;
    return buf;
}

static int
setup(void **state)
{
    harness *h = calloc(1, sizeof(*h));
    if (!h || h_start(h, h_config(NULL, "max_message_size: 8192\n")) != 0)
        return -1;
    g_fd = peer_open();
    *state = h;
    return g_fd < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
    harness *h = *state;
    close(g_fd);
    g_fd = -1;
    int rc = h_stop(h);
    free(h);
    return rc == 0 ? 0 : -1;
}

static void
truncated_method(void **state)
{
    harness *h = *state;
    send_raw("INV", 3);
    send_raw("INVITE", 6);
    send_raw("INVITE sip:+33140000000@127.0.0.1 SIP/2.", 40);
    drain(h);
    alive(h);
}

static void
bad_content_length(void **state)
{
    harness *h = *state;
    const char *sdp = "v=0\r\n";
    char buf[2048];
    const char *cls[] = {"99999", "-1", "4294967328", "5\r\nContent-Length: 9"};
    for (size_t i = 0; i < 4; i++) {
        invite(buf, sizeof(buf), "+33140000000", "", cls[i], sdp);
        send_raw(buf, strlen(buf));
        int code = recv_status(h, "SIP/2.0 4", NULL, 500);
        /* Refused (400) or dropped, never taken as a call. */
        assert_true(code == 0 || code == 400);
    }
    h_run(h, 100);
    assert_int_equal(plt_fake_host_event_count(h->fh, "call.created"), 0);
    alive(h);
}

static void
uri_ending_in_percent(void **state)
{
    harness *h = *state;
    char buf[2048];
    int n = snprintf(buf, sizeof(buf),
                     "OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-pct\r\n"
                     "From: <sip:a@127.0.0.1>;tag=pct\r\n"
                     "To: <sip:%%>\r\n"
                     "Contact: %%\r\n"
                     "Call-ID: pct@127.0.0.1\r\n"
                     "CSeq: 1 OPTIONS\r\n"
                     "Content-Length: 0\r\n\r\n",
                     H_SIP_PORT, PEER_PORT);
    send_raw(buf, (size_t)n);
    drain(h);
    alive(h);
}

static void
oversized_call_id_and_message(void **state)
{
    harness *h = *state;
    char callid[4100];
    memset(callid, 'c', 4096);
    callid[4096] = '\0';
    char *buf = malloc(20000);
    assert_non_null(buf);
    int n = snprintf(buf, 20000,
                     "OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-big\r\n"
                     "From: <sip:a@127.0.0.1>;tag=big\r\n"
                     "To: <sip:127.0.0.1>\r\n"
                     "Call-ID: %s\r\n"
                     "CSeq: 1 OPTIONS\r\n"
                     "Content-Length: 0\r\n\r\n",
                     H_SIP_PORT, PEER_PORT, callid);
    send_raw(buf, (size_t)n);
    drain(h);
    alive(h);
    /* Above max_message_size (8 KiB here): refused, never parsed. */
    memset(buf, 0, 20000);
    n = snprintf(buf, 20000,
                 "OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"
                 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-huge\r\n"
                 "From: <sip:a@127.0.0.1>;tag=huge\r\n"
                 "To: <sip:127.0.0.1>\r\n"
                 "Call-ID: huge@127.0.0.1\r\n"
                 "X-Padding: %s%s%s\r\n"
                 "CSeq: 1 OPTIONS\r\n"
                 "Content-Length: 0\r\n\r\n",
                 H_SIP_PORT, PEER_PORT, callid, callid, callid);
    send_raw(buf, (size_t)n);
    int code = recv_status(h, "SIP/2.0 2", "huge@", 500);
    assert_int_equal(code, 0); /* not served */
    free(buf);
    alive(h);
}

static void
sdp_line_shorter_than_two(void **state)
{
    harness *h = *state;
    const char *bodies[] = {
        "v\r\n",
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
        "t=0 0\r\nm=audio 40000 RTP/AVP 8\r\nv\r\n",
        "v=0\r\nx\r\n\r\n",
    };
    char buf[2048], cl[24];
    for (size_t i = 0; i < 3; i++) {
        snprintf(cl, sizeof(cl), "%zu", strlen(bodies[i]));
        invite(buf, sizeof(buf), "+33140000000", "", cl, bodies[i]);
        send_raw(buf, strlen(buf));
        int code = recv_status(h, "SIP/2.0 4", NULL, 1000);
        assert_true(code == 0 || code == 400 || code == 488);
    }
    /* Whatever reached Plateau as a call ended as failed (488). */
    h_run(h, 200);
    size_t n = plt_fake_host_event_count(h->fh, "call.ended");
    for (size_t i = 0; i < n; i++) {
        const plt_event *e = plt_fake_host_event_at(h->fh, "call.ended", i);
        assert_string_equal(plt_fake_event_str(e, "outcome"), "failed");
    }
    alive(h);
}

static void
unknown_codecs_only(void **state)
{
    harness *h = *state;
    const char *body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                       "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                       "m=audio 40000 RTP/AVP 18 96\r\n"
                       "a=rtpmap:18 G729/8000\r\n"
                       "a=rtpmap:96 opus/48000/2\r\n";
    char buf[2048], cl[24];
    snprintf(cl, sizeof(cl), "%zu", strlen(body));
    invite(buf, sizeof(buf), "+33140000000", "", cl, body);
    send_raw(buf, strlen(buf));
    char callid[48];
    snprintf(callid, sizeof(callid), "inv-%d@", g_seq);
    assert_int_equal(recv_status(h, "SIP/2.0 4", callid, 2000), 488);
    const plt_event *e = h_wait_event(h, "call.ended", NULL, NULL, 500);
    assert_non_null(e);
    assert_string_equal(plt_fake_event_str(e, "outcome"), "failed");
    assert_string_equal(plt_fake_event_str(e, "reason"), "no common codec");
    alive(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(truncated_method),
        cmocka_unit_test(bad_content_length),
        cmocka_unit_test(uri_ending_in_percent),
        cmocka_unit_test(oversized_call_id_and_message),
        cmocka_unit_test(sdp_line_shorter_than_two),
        cmocka_unit_test(unknown_codecs_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
