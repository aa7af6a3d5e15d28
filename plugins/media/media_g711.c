/* SPDX-License-Identifier: MIT */
/*
 * G.711 for the media engine: spandsp's mu-law and A-law coders, turned
 * into lookup tables once (256 entries to decode and transcode, one entry
 * per 16-bit sample to encode: mu-law's bias puts its finest steps off
 * any power-of-two grid), so the relay path does one load per sample.
 */
#include "media_dsp.h"

#include <pthread.h>
#include <string.h>

#include <spandsp.h>

static int16_t ulaw_dec[256], alaw_dec[256];
static uint8_t u2a[256], a2u[256];
static uint8_t ulaw_enc[65536], alaw_enc[65536];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
build_tables(void)
{
    for (int i = 0; i < 256; i++) {
        ulaw_dec[i] = ulaw_to_linear((uint8_t)i);
        alaw_dec[i] = alaw_to_linear((uint8_t)i);
        u2a[i] = ulaw_to_alaw((uint8_t)i);
        a2u[i] = alaw_to_ulaw((uint8_t)i);
    }
    for (int i = 0; i < 65536; i++) {
        ulaw_enc[i] = linear_to_ulaw((int16_t)(uint16_t)i);
        alaw_enc[i] = linear_to_alaw((int16_t)(uint16_t)i);
    }
}

static void
tables(void)
{
    pthread_once(&once, build_tables);
}

void
media_g711_decode(int pt, const uint8_t *in, size_t n, int16_t *out)
{
    const int16_t *t;

    tables();
    t = pt == MEDIA_PT_PCMA ? alaw_dec : ulaw_dec;
    for (size_t i = 0; i < n; i++)
        out[i] = t[in[i]];
}

void
media_g711_encode(int pt, const int16_t *in, size_t n, uint8_t *out)
{
    const uint8_t *t;

    tables();
    t = pt == MEDIA_PT_PCMA ? alaw_enc : ulaw_enc;
    for (size_t i = 0; i < n; i++)
        out[i] = t[(uint16_t)in[i]];
}

void
media_g711_transcode(int from, int to, const uint8_t *in, size_t n,
                     uint8_t *out)
{
    const uint8_t *t;

    if (from == to) {
        memmove(out, in, n);
        return;
    }
    tables();
    t = from == MEDIA_PT_PCMA ? a2u : u2a;
    for (size_t i = 0; i < n; i++)
        out[i] = t[in[i]];
}
