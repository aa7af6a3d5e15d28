/* SPDX-License-Identifier: MIT */
/*
 * The media engine's building blocks on made-up times: G.711 against the
 * reference values of the standard, the outgoing stream's re-basing on a
 * change of source (seq/ts continuity, marker), absolute-deadline pacing
 * (no drift, catch-up after a stall), the recording timeline, and the
 * answering-machine detector's decisions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <spandsp.h>

#include "media_dsp.h"

#define MS 1000000LL

static void
test_g711_reference(void **state)
{
    (void)state;
    /* Values of the G.711 reference decoder (ITU-T G.191 g711.c). */
    static const struct {
        int pt;
        uint8_t code;
        int16_t lin;
    } ref[] = {
        {MEDIA_PT_PCMU, 0xff, 0},      {MEDIA_PT_PCMU, 0x80, 32124},
        {MEDIA_PT_PCMU, 0x00, -32124}, {MEDIA_PT_PCMU, 0xfe, 8},
        {MEDIA_PT_PCMU, 0x7e, -8},     {MEDIA_PT_PCMA, 0xd5, 8},
        {MEDIA_PT_PCMA, 0x55, -8},     {MEDIA_PT_PCMA, 0xaa, 32256},
        {MEDIA_PT_PCMA, 0x2a, -32256},
    };
    for (size_t i = 0; i < sizeof(ref) / sizeof(ref[0]); i++) {
        int16_t v;
        media_g711_decode(ref[i].pt, &ref[i].code, 1, &v);
        assert_int_equal(v, ref[i].lin);
    }
    int16_t lin[3] = {0, 32767, -32768};
    uint8_t u[3], a[3];
    media_g711_encode(MEDIA_PT_PCMU, lin, 3, u);
    media_g711_encode(MEDIA_PT_PCMA, lin, 3, a);
    assert_int_equal(u[0], 0xff);
    assert_int_equal(u[1], 0x80);
    assert_int_equal(u[2], 0x00);
    assert_int_equal(a[0], 0xd5);
    assert_int_equal(a[1], 0xaa);
    assert_int_equal(a[2], 0x2a);
}

static void
test_g711_tables_match_codec(void **state)
{
    (void)state;
    /* Every 16-bit sample encodes as spandsp's coder does, and decodes
     * back within the codec's step. */
    for (int i = -32768; i <= 32767; i++) {
        int16_t s = (int16_t)i, back;
        uint8_t u, a;
        media_g711_encode(MEDIA_PT_PCMU, &s, 1, &u);
        media_g711_encode(MEDIA_PT_PCMA, &s, 1, &a);
        assert_int_equal(u, linear_to_ulaw(i));
        assert_int_equal(a, linear_to_alaw(i));
        int tol = abs(i) / 16 + 16;
        media_g711_decode(MEDIA_PT_PCMU, &u, 1, &back);
        assert_true(abs(back - i) <= tol);
        media_g711_decode(MEDIA_PT_PCMA, &a, 1, &back);
        assert_true(abs(back - i) <= tol);
    }
    /* Transcoding: every code, both ways, lands on the nearest value. */
    for (int c = 0; c < 256; c++) {
        uint8_t in = (uint8_t)c, out, same;
        int16_t x, y;
        media_g711_transcode(MEDIA_PT_PCMU, MEDIA_PT_PCMA, &in, 1, &out);
        assert_int_equal(out, ulaw_to_alaw(in));
        media_g711_decode(MEDIA_PT_PCMU, &in, 1, &x);
        media_g711_decode(MEDIA_PT_PCMA, &out, 1, &y);
        assert_true(abs(x - y) <= abs(x) / 16 + 16);
        media_g711_transcode(MEDIA_PT_PCMA, MEDIA_PT_PCMU, &in, 1, &out);
        assert_int_equal(out, alaw_to_ulaw(in));
        media_g711_transcode(MEDIA_PT_PCMA, MEDIA_PT_PCMA, &in, 1, &same);
        assert_int_equal(same, in);
    }
}

typedef struct sent {
    uint16_t seq;
    uint32_t ts;
    bool m;
} sent;

static sent
map(media_txstream *tx, uint64_t src, uint16_t seq, uint32_t ts, bool m,
    uint32_t samples, int64_t now)
{
    sent s;
    media_tx_map(tx, src, seq, ts, m, samples, now, &s.seq, &s.ts, &s.m);
    return s;
}

static void
test_rebase_on_source_switch(void **state)
{
    (void)state;
    media_txstream tx;
    media_tx_init(&tx, 7, 65534, 5000);
    uint64_t a = MEDIA_SRC_RELAY | 0xaaaa, b = MEDIA_SRC_RELAY | 0xbbbb;
    uint64_t play = MEDIA_SRC_PLAY | 1;

    /* First packet: our own initial seq/ts, marker. */
    sent s = map(&tx, a, 10, 100, false, 160, 0);
    assert_int_equal(s.seq, 65534);
    assert_int_equal(s.ts, 5000);
    assert_true(s.m);
    /* Same source: differences pass through, wrap included; no marker. */
    s = map(&tx, a, 11, 260, false, 160, 20 * MS);
    assert_int_equal(s.seq, 65535);
    assert_int_equal(s.ts, 5160);
    assert_false(s.m);
    s = map(&tx, a, 13, 580, false, 160, 60 * MS); /* one lost */
    assert_int_equal(s.seq, 1);
    assert_int_equal(s.ts, 5480);
    /* A late, reordered packet keeps its place and moves nothing. */
    s = map(&tx, a, 12, 420, false, 160, 61 * MS);
    assert_int_equal(s.seq, 0);
    assert_int_equal(s.ts, 5320);
    /* The source's own marker passes through. */
    s = map(&tx, a, 14, 740, true, 160, 80 * MS);
    assert_true(s.m);
    assert_int_equal(s.seq, 2);
    /* Switch to a prompt 20 ms later: seq + 1, ts at the end of what was
     * sent, marker. */
    s = map(&tx, play, 0, 0, false, 160, 100 * MS);
    assert_int_equal(s.seq, 3);
    assert_int_equal(s.ts, 5800);
    assert_true(s.m);
    s = map(&tx, play, 1, 160, false, 160, 120 * MS);
    assert_int_equal(s.seq, 4);
    assert_int_equal(s.ts, 5960);
    assert_false(s.m);
    /* One second of nothing, then another source: ts follows the clock. */
    s = map(&tx, b, 30000, 999999, false, 160, 1120 * MS);
    assert_int_equal(s.seq, 5);
    assert_int_equal(s.ts, 5960 + 8000);
    assert_true(s.m);
    /* A telephone-event from the same source: one ts, growing duration. */
    uint64_t d = MEDIA_SRC_DTMF | 1;
    s = map(&tx, d, 0, 0, true, 160, 1140 * MS);
    uint32_t ev_ts = s.ts;
    assert_int_equal(ev_ts, 5960 + 8000 + 160);
    for (int i = 2; i <= 5; i++) {
        s = map(&tx, d, (uint16_t)(i - 1), 0, false, (uint32_t)(160 * i),
                (1140 + 20 * (i - 1)) * MS);
        assert_int_equal(s.ts, ev_ts);
    }
    /* Back to the relay right away: its audio starts after the event. */
    s = map(&tx, b, 30001, 1000159, false, 160, 1221 * MS);
    assert_true(s.m);
    assert_true((int32_t)(s.ts - (ev_ts + 800)) >= 0);
    assert_int_equal(s.seq, 11);
}

static void
test_pacer_absolute_deadlines(void **state)
{
    (void)state;
    media_pacer p;
    uint32_t skipped;

    media_pacer_start(&p, 0, 20 * MS, 10);
    assert_int_equal(media_pacer_due(&p, 19 * MS, &skipped), 0);
    assert_int_equal(media_pacer_due(&p, 20 * MS, &skipped), 1);
    /* Woken 5 ms late: one frame, and the next deadline stays on the
     * grid (60 ms, not 65). */
    assert_int_equal(media_pacer_due(&p, 45 * MS, &skipped), 1);
    assert_true(p.next_ns == 60 * MS);
    /* A 65 ms stall: the overdue frames go back to back. */
    assert_int_equal(media_pacer_due(&p, 125 * MS, &skipped), 4);
    assert_int_equal(skipped, 0);
    assert_true(p.next_ns == 140 * MS);
    /* A 400 ms stall: a burst of 10, the rest skipped (not shifted). */
    assert_int_equal(media_pacer_due(&p, 540 * MS, &skipped), 10);
    assert_int_equal(skipped, 11);
    assert_true(p.next_ns == 560 * MS);

    /* Five seconds of wake-ups that are each 0-8 ms late (a busy
     * machine): exactly 250 frames by t = 5 s, never more than one frame
     * of lag after each wake-up. */
    media_pacer_start(&p, 0, 20 * MS, 10);
    uint64_t frames = 0;
    int64_t t = 0;
    unsigned seed = 1;
    while (t < 5000 * MS) {
        t = p.next_ns + (int64_t)(rand_r(&seed) % 9) * MS;
        if (t > 5000 * MS)
            t = 5000 * MS;
        frames += media_pacer_due(&p, t, &skipped);
        assert_int_equal(skipped, 0);
        assert_true(frames == (uint64_t)(t / (20 * MS)));
    }
    assert_int_equal(frames, 250);
}

static void
test_recording_anchor(void **state)
{
    (void)state;
    media_anchor a = {0};
    uint64_t s1 = 1, s2 = 2;

    assert_int_equal(media_anchor_place(&a, s1, 1000, 80, 2400), 80);
    /* Arrival jitter does not move frames: they follow their ts. */
    assert_int_equal(media_anchor_place(&a, s1, 1160, 400, 2400), 240);
    assert_int_equal(media_anchor_place(&a, s1, 1320, 300, 2400), 400);
    /* A timestamp jump far from the wall clock: re-anchored. */
    assert_int_equal(media_anchor_place(&a, s1, 900000, 560, 2400), 560);
    /* A new source: re-anchored at the wall clock. */
    assert_int_equal(media_anchor_place(&a, s2, 7, 9000, 2400), 9000);
    assert_int_equal(media_anchor_place(&a, s2, 167, 9100, 2400), 9160);
}

static int
feed(media_amd *a, int voice_ms, int silence_ms, uint32_t level)
{
    int r = 0;
    for (int t = 0; t < voice_ms && !r; t += 20)
        r = media_amd_feed(a, 20, level);
    for (int t = 0; t < silence_ms && !r; t += 20)
        r = media_amd_feed(a, 20, 10);
    return r;
}

static void
test_amd_decisions(void **state)
{
    (void)state;
    plt_amd_params p = {.size = sizeof(p)};
    media_amd a;

    media_amd_params_fill(&p, NULL);
    assert_int_equal(p.initial_silence_ms, 2500);
    assert_int_equal(p.greeting_ms, 1500);
    assert_int_equal(p.after_greeting_silence_ms, 800);
    assert_int_equal(p.total_analysis_ms, 5000);
    assert_int_equal(p.min_word_ms, 100);
    assert_int_equal(p.between_words_silence_ms, 50);
    assert_int_equal(p.max_words, 3);
    assert_int_equal(p.silence_threshold, 256);
    plt_amd_params q = {.greeting_ms = 2000}, dflt = {.max_words = 5};
    media_amd_params_fill(&q, &dflt);
    assert_int_equal(q.greeting_ms, 2000);
    assert_int_equal(q.max_words, 5);
    assert_int_equal(q.min_word_ms, 100);

    /* "Allo ?" then waiting: human, after the after-greeting silence. */
    media_amd_init(&a, &p);
    assert_int_equal(feed(&a, 0, 400, 0), 0);
    assert_int_equal(feed(&a, 500, 780, 3000), 0);
    assert_int_equal(feed(&a, 0, 20, 0), MEDIA_AMD_HUMAN);
    assert_int_equal(a.cause, MEDIA_AMD_CAUSE_AFTER_GREETING);
    assert_int_equal(a.words, 1);

    /* A long greeting: machine once voice reaches 1.5 s. */
    media_amd_init(&a, &p);
    assert_int_equal(feed(&a, 1480, 0, 3000), 0);
    assert_int_equal(feed(&a, 20, 0, 3000), MEDIA_AMD_MACHINE);
    assert_int_equal(a.cause, MEDIA_AMD_CAUSE_LONG_GREETING);

    /* Many short words: machine on the fourth. */
    media_amd_init(&a, &p);
    for (int i = 0; i < 3; i++)
        assert_int_equal(feed(&a, 200, 200, 3000), 0);
    assert_int_equal(feed(&a, 200, 0, 3000), MEDIA_AMD_MACHINE);
    assert_int_equal(a.cause, MEDIA_AMD_CAUSE_MAX_WORDS);

    /* Nobody speaks: machine after the initial silence. */
    media_amd_init(&a, &p);
    assert_int_equal(feed(&a, 0, 2480, 0), 0);
    assert_int_equal(feed(&a, 0, 20, 0), MEDIA_AMD_MACHINE);
    assert_int_equal(a.cause, MEDIA_AMD_CAUSE_INITIAL_SILENCE);

    /* Clicks shorter than a word, forever: not sure at 5 s. */
    media_amd_init(&a, &p);
    int r = 0;
    for (int i = 0; i < 100 && !r; i++)
        r = feed(&a, 60, 60, 3000);
    assert_int_equal(r, MEDIA_AMD_NOT_SURE);
    assert_int_equal(a.cause, MEDIA_AMD_CAUSE_TOTAL_TIME);
    assert_int_equal(a.total_ms, 5000);
    assert_int_equal(a.words, 0);

    /* The threshold decides what is voice. */
    plt_amd_params loud = p;
    loud.silence_threshold = 5000;
    media_amd_init(&a, &loud);
    assert_int_equal(feed(&a, 0, 2500, 3000), MEDIA_AMD_MACHINE);

    int16_t s[4] = {100, -100, 300, -300};
    assert_int_equal(media_level(s, 4), 200);
    assert_int_equal(media_level(s, 0), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_g711_reference),
        cmocka_unit_test(test_g711_tables_match_codec),
        cmocka_unit_test(test_rebase_on_source_switch),
        cmocka_unit_test(test_pacer_absolute_deadlines),
        cmocka_unit_test(test_recording_anchor),
        cmocka_unit_test(test_amd_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
