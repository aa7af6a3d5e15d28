/* SPDX-License-Identifier: MIT */
/*
 * media_amd_wav FILE...: run the answering-machine detector over 8 kHz
 * mono WAV files as the engine would see them (20 ms frames through
 * mu-law, default parameters) and print, per file,
 *   <file> <human|machine|not_sure> <cause> words=<n> voice_ms=<n> at_ms=<n>
 * A file that ends before a decision is fed silence (the line stays open
 * after the greeting). Exit status 2 on an unreadable file.
 */
#include <stdio.h>
#include <string.h>

#include <sndfile.h>

#include "media_dsp.h"

static int
run(const char *path)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    media_amd amd;
    plt_amd_params p = {.size = sizeof(p)};
    int16_t pcm[MEDIA_FRAME];
    uint8_t ulaw[MEDIA_FRAME];
    int r = 0;

    if (!sf || info.samplerate != MEDIA_RATE || info.channels != 1) {
        fprintf(stderr, "%s: not an 8 kHz mono file\n", path);
        if (sf)
            sf_close(sf);
        return 2;
    }
    media_amd_init(&amd, &p);
    while (!r) {
        sf_count_t got = sf_readf_short(sf, pcm, MEDIA_FRAME);
        if (got < 0)
            got = 0;
        memset(pcm + got, 0, (size_t)(MEDIA_FRAME - got) * sizeof(int16_t));
        media_g711_encode(MEDIA_PT_PCMU, pcm, MEDIA_FRAME, ulaw);
        media_g711_decode(MEDIA_PT_PCMU, ulaw, MEDIA_FRAME, pcm);
        r = media_amd_feed(&amd, 20, media_level(pcm, MEDIA_FRAME));
    }
    sf_close(sf);
    printf("%s %s %s words=%u voice_ms=%u at_ms=%u\n", path,
           media_amd_result_name(amd.result), media_amd_cause_name(amd.cause),
           amd.words, amd.voice_ms, amd.total_ms);
    return 0;
}

int
main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (run(argv[i]) != 0)
            rc = 2;
    return rc;
}
