/* SPDX-License-Identifier: MIT */
/*
 * The rules a login, a display name and a new password must follow. Each
 * refusal names the rule broken in words an operator can act on, because
 * "invalid password" alone sends people guessing.
 *
 * Password rules (configurable): a minimum length counted in characters,
 * not bytes (a UTF-8 "é" is one); a minimum number of character classes
 * among lowercase, uppercase, digits and everything else (non-ASCII
 * letters count as "other"); a maximum of USERS_PASSWORD_MAX bytes; not
 * containing the login; not one of a handful of passwords every
 * credential-stuffing list starts with.
 */
#include <stdio.h>
#include <string.h>

#include "users_int.h"

/* The start of every leaked-password list, in lowercase, compared with
 * the password stripped of trailing digits and punctuation (so that
 * "Password123!" is refused as "password"). A full top-3000 list (ASVS
 * V6.2.4) belongs in a data file; this catches the worst offenders. */
static const char *const common_words[] = {
    "password",   "passw0rd",      "p@ssw0rd",   "p@ssword",   "welcome",
    "qwerty",     "qwertyuiop",    "azerty",     "azertyuiop", "letmein",
    "admin",      "administrator", "changeme",   "iloveyou",   "sunshine",
    "football",   "monkey",        "dragon",     "master",     "secret",
    "trustno1",   "abc123",        "abcdef",     "123456789",  "1234567890",
    "0123456789", "plateau",       "motdepasse", "soleil",     "bonjour",
    NULL};

static bool
login_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '@' || c == '-';
}

int
users_login_check(const char *login, char *msg, size_t len)
{
    size_t n = login ? strlen(login) : 0;
    bool ok = n >= 1 && n <= USERS_LOGIN_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = login_char_ok(login[i]);
    if (ok)
        return 0;
    snprintf(msg, len, "login must be 1 to %d characters among a-z 0-9 . _ @ -",
             USERS_LOGIN_MAX);
    return PLT_EINVAL;
}

int
users_login_fold(const char *in, char *out)
{
    size_t n = in ? strlen(in) : 0;
    out[0] = '\0';
    if (n < 1 || n > USERS_LOGIN_MAX)
        return PLT_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!login_char_ok(c)) {
            out[0] = '\0';
            return PLT_EINVAL;
        }
        out[i] = c;
    }
    out[n] = '\0';
    return 0;
}

int
users_name_check(const char *name, char *msg, size_t len)
{
    size_t n = strlen(name);
    if (n == 0 || n > USERS_NAME_MAX) {
        snprintf(msg, len, "name must be 1 to %d bytes long", USERS_NAME_MAX);
        return PLT_EINVAL;
    }
    /* Control characters would let a name rewrite terminal output or log
     * lines (`plateau user list`, audit readers). */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(msg, len, "name must not contain control characters");
            return PLT_EINVAL;
        }
    }
    return 0;
}

/* Characters in UTF-8 text: bytes that do not continue a sequence. */
static size_t
utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

static bool
ascii_lower_eq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != b[i])
            return false;
    }
    return true;
}

/* Case-insensitive (ASCII) substring search. */
static bool
contains_ci(const char *hay, const char *needle)
{
    size_t hn = strlen(hay), nn = strlen(needle);
    if (nn == 0 || nn > hn)
        return false;
    for (size_t i = 0; i + nn <= hn; i++)
        if (ascii_lower_eq(hay + i, nn, needle))
            return true;
    return false;
}

static bool
is_common(const char *pw)
{
    /* Strip what people append to satisfy composition rules. */
    size_t n = strlen(pw);
    while (n > 0) {
        char c = pw[n - 1];
        bool tail = (c >= '0' && c <= '9') || c == '!' || c == '?' ||
                    c == '.' || c == '*' || c == '#' || c == '$' || c == '@' ||
                    c == '_' || c == '-';
        if (!tail)
            break;
        n--;
    }
    for (size_t i = 0; common_words[i]; i++) {
        if (ascii_lower_eq(pw, strlen(pw), common_words[i]) ||
            (n > 0 && ascii_lower_eq(pw, n, common_words[i])))
            return true;
    }
    return false;
}

int
users_policy_check(const users_cfg *cfg, const char *login,
                   const char *password, char *msg, size_t len)
{
    size_t bytes = strlen(password);
    if (bytes > USERS_PASSWORD_MAX) {
        snprintf(msg, len, "password must be at most %d bytes long",
                 USERS_PASSWORD_MAX);
        return PLT_EINVAL;
    }
    if ((int64_t)utf8_chars(password) < cfg->password_min_length) {
        snprintf(msg, len, "password must be at least %lld characters long",
                 (long long)cfg->password_min_length);
        return PLT_EINVAL;
    }
    bool lower = false, upper = false, digit = false, other = false;
    for (const char *p = password; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 'a' && c <= 'z')
            lower = true;
        else if (c >= 'A' && c <= 'Z')
            upper = true;
        else if (c >= '0' && c <= '9')
            digit = true;
        else
            other = true;
    }
    int classes = lower + upper + digit + other;
    if (classes < cfg->password_min_classes) {
        snprintf(msg, len,
                 "password must mix at least %lld of: lowercase letters, "
                 "uppercase letters, digits, other characters",
                 (long long)cfg->password_min_classes);
        return PLT_EINVAL;
    }
    if (login && *login && contains_ci(password, login)) {
        snprintf(msg, len, "password must not contain the login");
        return PLT_EINVAL;
    }
    if (is_common(password)) {
        snprintf(msg, len,
                 "password is too common (found in leaked-password lists)");
        return PLT_EINVAL;
    }
    return 0;
}
