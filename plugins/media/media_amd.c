/* SPDX-License-Identifier: MIT */
/*
 * Answering-machine detection from energy and timing, the classic way
 * (the parameters and logic of Asterisk's app_amd, which call centres
 * tune by): a person answers with a short word or two ("Allo ?") and
 * waits; a machine either says nothing for a while or plays a long
 * greeting of many words. The detector sees 20 ms frames as voice or
 * silence by mean absolute amplitude and decides:
 *  - silence for initial_silence before any word          -> machine
 *  - voice totalling greeting_ms                           -> machine
 *  - more than max_words words                             -> machine
 *  - silence for after_greeting_silence after some voice   -> human
 *  - total_analysis reached without any of these           -> not sure
 * A word is voice lasting at least min_word_ms; it ends after
 * between_words_silence of silence.
 */
#include "media_dsp.h"

#include <stdlib.h>

static uint32_t
pick(uint32_t v, uint32_t dflt, uint32_t builtin)
{
    return v ? v : dflt ? dflt : builtin;
}

void
media_amd_params_fill(plt_amd_params *p, const plt_amd_params *d)
{
    static const plt_amd_params zero = {0};
    if (!d)
        d = &zero;
    p->size = sizeof(*p);
    p->initial_silence_ms =
        pick(p->initial_silence_ms, d->initial_silence_ms, 2500);
    p->greeting_ms = pick(p->greeting_ms, d->greeting_ms, 1500);
    p->after_greeting_silence_ms =
        pick(p->after_greeting_silence_ms, d->after_greeting_silence_ms, 800);
    p->total_analysis_ms =
        pick(p->total_analysis_ms, d->total_analysis_ms, 5000);
    p->min_word_ms = pick(p->min_word_ms, d->min_word_ms, 100);
    p->between_words_silence_ms =
        pick(p->between_words_silence_ms, d->between_words_silence_ms, 50);
    p->max_words = pick(p->max_words, d->max_words, 3);
    p->silence_threshold =
        pick(p->silence_threshold, d->silence_threshold, 256);
}

void
media_amd_init(media_amd *a, const plt_amd_params *p)
{
    *a = (media_amd){.p = *p, .initial = true};
    media_amd_params_fill(&a->p, NULL);
}

static int
decide(media_amd *a, int32_t result, int32_t cause)
{
    a->result = result;
    a->cause = cause;
    return result;
}

int
media_amd_feed(media_amd *a, uint32_t ms, uint32_t level)
{
    const plt_amd_params *p = &a->p;

    if (a->result)
        return a->result;
    a->total_ms += ms;
    if (level < p->silence_threshold) {
        a->silence_ms += ms;
        if (a->silence_ms >= p->between_words_silence_ms) {
            a->in_word = false;
            a->run_ms = 0;
        }
        if (a->initial && a->silence_ms >= p->initial_silence_ms)
            return decide(a, MEDIA_AMD_MACHINE,
                          MEDIA_AMD_CAUSE_INITIAL_SILENCE);
        if (a->greeting && a->silence_ms >= p->after_greeting_silence_ms)
            return decide(a, MEDIA_AMD_HUMAN, MEDIA_AMD_CAUSE_AFTER_GREETING);
    } else {
        a->silence_ms = 0;
        a->run_ms += ms;
        a->voice_ms += ms;
        if (!a->in_word && a->run_ms >= p->min_word_ms) {
            /* Enough voice in a row to be a word, not a click. */
            a->in_word = true;
            a->words++;
            a->initial = false;
            a->greeting = true;
            if (a->words > p->max_words)
                return decide(a, MEDIA_AMD_MACHINE, MEDIA_AMD_CAUSE_MAX_WORDS);
        }
        if (a->greeting && a->voice_ms >= p->greeting_ms)
            return decide(a, MEDIA_AMD_MACHINE, MEDIA_AMD_CAUSE_LONG_GREETING);
    }
    if (a->total_ms >= p->total_analysis_ms)
        return decide(a, MEDIA_AMD_NOT_SURE, MEDIA_AMD_CAUSE_TOTAL_TIME);
    return 0;
}

uint32_t
media_level(const int16_t *s, size_t n)
{
    uint64_t sum = 0;

    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        sum += (uint64_t)abs(s[i]);
    return (uint32_t)(sum / n);
}
