/* SPDX-License-Identifier: MIT */
/*
 * Search folding of the leads plugin: the same in C for both storage
 * engines, so that a search finds the same contacts on SQLite and on
 * PostgreSQL whatever their lower() and collations do.
 */
#ifndef LEADS_FOLD_H
#define LEADS_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at @p s (1..4), or 0. */
size_t leads_utf8_seq(const unsigned char *s);
/* @p s with each byte that starts no valid UTF-8 sequence replaced by
 * U+FFFD. malloc'd, or NULL. */
char *leads_utf8_repair(const char *s);
/* @p s folded for search: ASCII lowercased, the accented Latin letters
 * of U+00C0..U+017F as their base letters (oe, ae, ss, ij for the
 * ligatures and sharp s); everything else kept. malloc'd, or NULL. */
char *leads_fold(const char *s);
/* Does some character that is not ASCII fold to (or into) ASCII @p c? */
bool leads_fold_target(unsigned char c);

#endif
