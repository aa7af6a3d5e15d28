/* SPDX-License-Identifier: MIT */
/*
 * The RTP wire formats as peers really send them: headers with CSRCs,
 * extensions and padding, and the malformed packets a hostile or broken
 * peer sends (short, wrong version, CSRC list or extension running past
 * the end, bad padding); RFC 4733 events with their repeated ends (and the
 * senders that bump the timestamp on each repeat); RTCP compounds built
 * and read back, and truncated ones; loss counting across a sequence
 * wrap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtp.h"

static void
test_build_parse(void **state)
{
    (void)state;
    uint8_t pl[160], buf[256];
    memset(pl, 0xd5, sizeof(pl));
    rtp_packet p = {.marker = true,
                    .pt = 8,
                    .seq = 65535,
                    .ts = 0xfffffff0u,
                    .ssrc = 0x12345678u,
                    .payload = pl,
                    .payload_len = 160};
    size_t n = rtp_build(buf, sizeof(buf), &p);
    assert_int_equal(n, 172);
    assert_int_equal(buf[0], 0x80);
    assert_int_equal(buf[1], 0x88);
    rtp_packet q;
    assert_int_equal(rtp_parse(buf, n, &q), 0);
    assert_true(q.marker);
    assert_int_equal(q.pt, 8);
    assert_int_equal(q.seq, 65535);
    assert_int_equal(q.ts, 0xfffffff0u);
    assert_int_equal(q.ssrc, 0x12345678u);
    assert_int_equal(q.payload_len, 160);
    assert_ptr_equal(q.payload, buf + 12);
    /* Too small a buffer: nothing written. */
    assert_int_equal(rtp_build(buf, 100, &p), 0);
}

static void
test_csrc_ext_padding(void **state)
{
    (void)state;
    uint8_t b[64] = {0};
    /* V=2, P=1, X=1, CC=2; 2 CSRCs; extension of 1 word; 4 bytes payload;
     * 3 bytes of padding (count in the last byte). */
    b[0] = 0x80 | 0x20 | 0x10 | 2;
    b[1] = 0;
    size_t off = 12 + 8;
    b[off + 2] = 0;
    b[off + 3] = 1; /* 1 word */
    off += 4 + 4;
    memcpy(b + off, "\x01\x02\x03\x04", 4);
    off += 4;
    b[off + 2] = 3;
    size_t len = off + 3;
    rtp_packet q;
    assert_int_equal(rtp_parse(b, len, &q), 0);
    assert_int_equal(q.cc, 2);
    assert_int_equal(q.payload_len, 4);
    assert_memory_equal(q.payload, "\x01\x02\x03\x04", 4);
}

static void
test_bad_packets(void **state)
{
    (void)state;
    uint8_t b[64] = {0x80, 0x00};
    rtp_packet q;

    assert_int_equal(rtp_parse(b, 11, &q), RTP_ESHORT);
    assert_int_equal(rtp_parse(b, 0, &q), RTP_ESHORT);
    b[0] = 0x40; /* version 1 */
    assert_int_equal(rtp_parse(b, 20, &q), RTP_EVERSION);
    b[0] = 0x8f; /* 15 CSRCs = 60 bytes, in a 20-byte packet */
    assert_int_equal(rtp_parse(b, 20, &q), RTP_ECSRC);
    b[0] = 0x90; /* extension header missing */
    assert_int_equal(rtp_parse(b, 14, &q), RTP_EEXT);
    b[14] = 0xff; /* extension claiming 65535 words */
    b[15] = 0xff;
    assert_int_equal(rtp_parse(b, 20, &q), RTP_EEXT);
    memset(b, 0, sizeof(b));
    b[0] = 0xa0; /* padding count 0 */
    assert_int_equal(rtp_parse(b, 20, &q), RTP_EPAD);
    b[19] = 9; /* more padding than payload (8 bytes) */
    assert_int_equal(rtp_parse(b, 20, &q), RTP_EPAD);
    b[19] = 8; /* exactly the payload: empty, valid */
    assert_int_equal(rtp_parse(b, 20, &q), 0);
    assert_int_equal(q.payload_len, 0);
    /* RTCP on a muxed port is not RTP. */
    uint8_t sr[8] = {0x80, 200, 0, 1};
    assert_true(rtp_is_rtcp(sr, 8));
    assert_int_equal(rtp_parse(sr, 8, &q), RTP_ESHORT);
    uint8_t sr12[12] = {0x80, 201, 0, 2};
    assert_int_equal(rtp_parse(sr12, 12, &q), RTP_ERTCP);
}

static void
test_dtmf_codec(void **state)
{
    (void)state;
    uint8_t b[4];
    rtp_dtmf d = {.event = 11, .end = true, .volume = 10, .duration = 1280};
    rtp_dtmf_build(b, &d);
    assert_memory_equal(b, "\x0b\x8a\x05\x00", 4);
    rtp_dtmf q;
    assert_int_equal(rtp_dtmf_parse(b, 4, &q), 0);
    assert_int_equal(q.event, 11);
    assert_true(q.end);
    assert_int_equal(q.volume, 10);
    assert_int_equal(q.duration, 1280);
    assert_int_equal(rtp_dtmf_parse(b, 3, &q), -1);
    assert_int_equal(rtp_dtmf_digit(11), '#');
    assert_int_equal(rtp_dtmf_digit(10), '*');
    assert_int_equal(rtp_dtmf_digit(15), 'D');
    assert_int_equal(rtp_dtmf_digit(16), 0);
    assert_int_equal(rtp_dtmf_event('b'), 13);
    assert_int_equal(rtp_dtmf_event('7'), 7);
    assert_int_equal(rtp_dtmf_event('x'), -1);
}

static void
test_dtmf_rx_redundancy(void **state)
{
    (void)state;
    rtp_dtmf_rx rx = {0};
    uint16_t dur = 0;
    rtp_dtmf d = {.event = 5};
    uint64_t t = 1000;

    /* Start and updates: nothing reported yet. */
    for (int i = 1; i <= 4; i++) {
        d.duration = (uint16_t)(160 * i);
        assert_int_equal(rtp_dtmf_rx_put(&rx, 8000, &d, t += 20, &dur), 0);
    }
    /* The end, three times: one digit. */
    d.end = true;
    assert_int_equal(rtp_dtmf_rx_put(&rx, 8000, &d, t += 20, &dur), '5');
    assert_int_equal(dur, 640);
    assert_int_equal(rtp_dtmf_rx_put(&rx, 8000, &d, t, &dur), 0);
    assert_int_equal(rtp_dtmf_rx_put(&rx, 8000, &d, t, &dur), 0);
    /* A sender that bumps the timestamp on the repeats. */
    assert_int_equal(rtp_dtmf_rx_put(&rx, 8160, &d, t, &dur), 0);
    /* The same digit pressed again: a new event (new timestamp). */
    d.end = false;
    d.duration = 160;
    assert_int_equal(rtp_dtmf_rx_put(&rx, 16000, &d, t += 500, &dur), 0);
    d.end = true;
    assert_int_equal(rtp_dtmf_rx_put(&rx, 16000, &d, t += 20, &dur), '5');
    /* An event whose end packets were all lost: reported on expiry. */
    d.event = 9;
    d.end = false;
    assert_int_equal(rtp_dtmf_rx_put(&rx, 24000, &d, t += 500, &dur), 0);
    assert_int_equal(rtp_dtmf_rx_expire(&rx, t + 100, 800, &dur), 0);
    assert_int_equal(rtp_dtmf_rx_expire(&rx, t + 900, 800, &dur), '9');
    assert_int_equal(rtp_dtmf_rx_expire(&rx, t + 2000, 800, &dur), 0);
    /* Only the end seen (start lost): still one digit. */
    d.event = 1;
    d.end = true;
    d.duration = 800;
    assert_int_equal(rtp_dtmf_rx_put(&rx, 40000, &d, t += 3000, &dur), '1');
    assert_int_equal(rtp_dtmf_rx_put(&rx, 40000, &d, t, &dur), 0);
}

static void
test_rx_stats_loss_and_wrap(void **state)
{
    (void)state;
    rtp_rx_stats s = {0};
    uint16_t seq = 65530;
    uint32_t ts = 1000;

    for (int i = 0; i < 20; i++, seq++, ts += 160) {
        if (i == 7 || i == 8)
            continue; /* two lost across the wrap */
        assert_true(rtp_rx_update(&s, 42, seq, ts, ts + 5));
    }
    assert_int_equal(rtp_rx_lost(&s), 2);
    assert_int_equal(rtp_rx_ext_max(&s), 65536u + (uint16_t)(seq - 1));
    assert_int_equal(rtp_rx_jitter(&s), 0);
    /* A new SSRC restarts the count. */
    rtp_rx_update(&s, 43, 100, 0, 0);
    assert_int_equal(rtp_rx_lost(&s), 0);
    /* Jitter grows with variable transit. */
    for (int i = 1; i < 50; i++)
        rtp_rx_update(&s, 43, (uint16_t)(100 + i), (uint32_t)(160 * i),
                      (uint32_t)(160 * i + (i % 2) * 80));
    assert_true(rtp_rx_jitter(&s) > 20);
}

static void
test_rtcp_roundtrip(void **state)
{
    (void)state;
    uint8_t buf[256];
    rtcp_sender sr = {.ntp = 0x0123456789abcdefULL,
                      .rtp_ts = 777,
                      .packets = 50,
                      .octets = 8000};
    rtcp_block b = {.ssrc = 99,
                    .fraction_lost = 64,
                    .cum_lost = -3,
                    .ext_max_seq = 70000,
                    .jitter = 12,
                    .lsr = 0x5678,
                    .dlsr = 65536};
    size_t n =
        rtcp_build(buf, sizeof(buf), 0xabcdef01u, &sr, &b, "plateau", true);
    assert_true(n > 0 && n % 4 == 0);
    rtcp_info ri;
    assert_int_equal(rtcp_parse(buf, n, &ri), 0);
    assert_int_equal(ri.packets, 3);
    assert_true(ri.has_sr);
    assert_int_equal(ri.ssrc, 0xabcdef01u);
    assert_true(ri.ntp == 0x0123456789abcdefULL);
    assert_int_equal(ri.rtp_ts, 777);
    assert_int_equal(ri.sender_packets, 50);
    assert_true(ri.has_block);
    assert_int_equal(ri.block.ssrc, 99);
    assert_int_equal(ri.block.fraction_lost, 64);
    assert_int_equal(ri.block.cum_lost, -3);
    assert_int_equal(ri.block.ext_max_seq, 70000);
    assert_int_equal(ri.block.lsr, 0x5678);
    assert_true(ri.bye);
    assert_int_equal(rtcp_ntp_mid(sr.ntp), 0x456789abu);

    /* RR without block, no BYE. */
    n = rtcp_build(buf, sizeof(buf), 5, NULL, NULL, "x", false);
    assert_int_equal(rtcp_parse(buf, n, &ri), 0);
    assert_false(ri.has_sr);
    assert_false(ri.has_block);
    assert_false(ri.bye);
    assert_int_equal(ri.packets, 2);
    /* Truncations: a cut inside a packet is rejected; a cut after the
     * RR (8 bytes) is a shorter, valid compound. And lies. */
    for (size_t k = 0; k < n; k++) {
        int rc = rtcp_parse(buf, k, &ri);
        if (k == 8)
            assert_true(rc == 0 && ri.packets == 1);
        else
            assert_true(rc < 0);
    }
    buf[2] = 0x10; /* length past the end */
    assert_int_equal(rtcp_parse(buf, n, &ri), RTCP_ELENGTH);
    buf[2] = 0;
    buf[0] = 0x9f; /* 31 report blocks in an 8-byte RR */
    assert_int_equal(rtcp_parse(buf, n, &ri), RTCP_ELENGTH);
    buf[0] = 0x80;
    buf[1] = 202; /* compound starting with SDES */
    assert_int_equal(rtcp_parse(buf, n, &ri), RTCP_EFIRST);
    assert_int_equal(rtcp_build(buf, 10, 5, NULL, NULL, "x", false), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_parse),
        cmocka_unit_test(test_csrc_ext_padding),
        cmocka_unit_test(test_bad_packets),
        cmocka_unit_test(test_dtmf_codec),
        cmocka_unit_test(test_dtmf_rx_redundancy),
        cmocka_unit_test(test_rx_stats_loss_and_wrap),
        cmocka_unit_test(test_rtcp_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
