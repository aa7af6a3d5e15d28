/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the CSV reader's files: the growable byte buffer,
 * the streaming decoder to UTF-8 and the detectors that csv_sniff() and
 * the reader both use.
 */
#ifndef PLATEAU_CSV_INT_H
#define PLATEAU_CSV_INT_H

#include <stddef.h>
#include <stdint.h>

#include "csv.h"

/* A growable byte buffer. */
typedef struct csv__buf {
    char *p;
    size_t len, cap;
} csv__buf;

/* Makes room for @p extra more bytes; 0 or PLT_ENOMEM. */
int csv__buf_grow(csv__buf *b, size_t extra);
/* Appends @p n bytes; 0 or PLT_ENOMEM. */
int csv__buf_add(csv__buf *b, const void *p, size_t n);
void csv__buf_free(csv__buf *b);

/*
 * Decoding one byte at a time to UTF-8, so any chunk split works: up to
 * three bytes of an unfinished UTF-8 sequence wait in the state. Invalid
 * UTF-8 is read as Windows-1252, byte by byte, and noted in *repaired:
 * the output is always valid UTF-8.
 */
typedef struct csv__dec {
    uint8_t pend[4];
    uint8_t npend, need;
} csv__dec;

/* Longest output of one csv__dec_byte() or csv__dec_flush() call. */
#define CSV__DEC_MAX 16

/* Decodes @p b; writes up to CSV__DEC_MAX bytes to @p out, returns how
 * many. */
size_t csv__dec_byte(csv__dec *d, csv_encoding enc, uint8_t b, char *out,
                     int *repaired);
/* Ends a field: an unfinished sequence is written as Windows-1252. */
size_t csv__dec_flush(csv__dec *d, char *out, int *repaired);

/*
 * The encoding of a sample that does not start with a BOM: UTF-8 if it is
 * valid UTF-8 (an unfinished sequence at the end is allowed unless
 * @p complete), else Windows-1252 - or ISO-8859-1 when it holds bytes that
 * 1252 leaves undefined and none that it defines in 0x80-0x9F.
 */
csv_encoding csv__detect_encoding(const uint8_t *s, size_t n, int complete);

/* The separator of a sample (after any BOM); see csv_sniff(). */
char csv__detect_separator(const uint8_t *s, size_t n, int complete);

#endif
