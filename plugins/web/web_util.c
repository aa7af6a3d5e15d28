/* SPDX-License-Identifier: MIT */
/*
 * Small pieces of HTTP the web plugin needs around libwebsockets: URL
 * decoding, the check that keeps a static path inside the web root, MIME
 * types, cookie lookup, query strings, origin checks and random
 * identifiers. Each is strict: what it cannot read exactly is refused.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "web_int.h"

char *
web_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

bool
web_ieq(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
web_urldecode(char *s, bool plus)
{
    char *o = s;
    for (const char *p = s; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int h = hexval((unsigned char)p[1]);
            int l = h < 0 ? -1 : hexval((unsigned char)p[2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            if (c == 0)
                return -1;
            p += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        *o++ = (char)c;
    }
    *o = '\0';
    return 0;
}

bool
web_path_safe(const char *path)
{
    if (!path || path[0] != '/')
        return false;
    for (const char *p = path; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\\' || c < 0x20 || c == 0x7f)
            return false;
    }
    /* Segment by segment: "." and ".." never name a file under the root,
     * and an empty segment ("//") is how some servers get tricked into
     * absolute paths. */
    const char *seg = path + 1;
    while (*seg) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0 && end)
            return false;
        if ((n == 1 && seg[0] == '.') ||
            (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        if (!end)
            break;
        seg = end + 1;
    }
    return true;
}

static const struct {
    const char *ext;
    const char *type;
} mime_types[] = {{"html", "text/html; charset=utf-8"},
                  {"htm", "text/html; charset=utf-8"},
                  {"js", "text/javascript; charset=utf-8"},
                  {"mjs", "text/javascript; charset=utf-8"},
                  {"css", "text/css; charset=utf-8"},
                  {"json", "application/json"},
                  {"map", "application/json"},
                  {"webmanifest", "application/manifest+json"},
                  {"svg", "image/svg+xml"},
                  {"png", "image/png"},
                  {"jpg", "image/jpeg"},
                  {"jpeg", "image/jpeg"},
                  {"gif", "image/gif"},
                  {"webp", "image/webp"},
                  {"ico", "image/x-icon"},
                  {"woff", "font/woff"},
                  {"woff2", "font/woff2"},
                  {"ttf", "font/ttf"},
                  {"txt", "text/plain; charset=utf-8"},
                  {"md", "text/markdown; charset=utf-8"},
                  {"csv", "text/csv; charset=utf-8"},
                  {"wav", "audio/wav"},
                  {"mp3", "audio/mpeg"},
                  {"ogg", "audio/ogg"},
                  {"pdf", "application/pdf"},
                  {NULL, NULL}};

const char *
web_mime_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot && dot[1]) {
        for (size_t i = 0; mime_types[i].ext; i++)
            if (strcasecmp(dot + 1, mime_types[i].ext) == 0)
                return mime_types[i].type;
    }
    return "application/octet-stream";
}

bool
web_cookie_get(const char *header, const char *name, char *out, size_t len)
{
    size_t nlen = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == ';' || *p == '\t')
            p++;
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t vlen = n - nlen - 1;
            if (vlen + 1 > len)
                return false;
            memcpy(out, p + nlen + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}

void
web_random_id(char out[WEB_ID_SIZE])
{
    unsigned char b[32];
    randombytes_buf(b, sizeof(b));
    sodium_bin2base64(out, WEB_ID_SIZE, b, sizeof(b),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(b, sizeof(b));
}

int32_t
web_role_parse(const char *s)
{
    if (!s)
        return 0;
    if (strcmp(s, "admin") == 0)
        return PLT_ROLE_ADMIN;
    if (strcmp(s, "supervisor") == 0)
        return PLT_ROLE_SUPERVISOR;
    if (strcmp(s, "agent") == 0)
        return PLT_ROLE_AGENT;
    return 0;
}

void
web_kv_free(web_kv *kv, size_t n)
{
    for (size_t i = 0; kv && i < n; i++) {
        free(kv[i].k);
        free(kv[i].v);
        kv[i].k = kv[i].v = NULL;
    }
}

/* Whether @p origin ("https://host:port") names @p host (the Host
 * header, "host:port") with this server's scheme. */
static bool
same_host(web *w, const char *origin, const char *host)
{
    const char *scheme = w->cfg.tls_cert ? "https://" : "http://";
    size_t sl = strlen(scheme);
    if (!host || !*host || strncasecmp(origin, scheme, sl) != 0)
        return false;
    return strcasecmp(origin + sl, host) == 0;
}

bool
web_origin_allowed(web *w, const char *origin, const char *host)
{
    if (!origin || !*origin || strcmp(origin, "null") == 0)
        return false;
    if (w->cfg.origins && w->cfg.origins[0]) {
        for (size_t i = 0; w->cfg.origins[i]; i++)
            if (strcasecmp(w->cfg.origins[i], origin) == 0)
                return true;
        return false;
    }
    return same_host(w, origin, host);
}

void *
web_job_new(web *w, plt_http_req *req, size_t size)
{
    web_job *j = calloc(1, size);
    if (!j) {
        web_req_error(req, 503, "unavailable", "out of memory");
        return NULL;
    }
    j->w = w;
    j->req = req;
    return j;
}
