/* SPDX-License-Identifier: MIT */
/*
 * SDP offers and answers. sofia-sip's parser reads the text (never a
 * hand-written one: its parser is the one whose CVEs are patched in
 * Debian); this file decides what Plateau keeps of it - one audio stream,
 * its numeric address and port, the first G.711 codec in the party's
 * order of preference, the telephone-event payload type - and writes
 * Plateau's own SDP. Anything else in the text (video, unknown codecs,
 * attributes) is ignored; an SDP Plateau cannot use is refused with a
 * reason, never half-used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include "sip_sdp.h"

static int
numeric_addr(const char *a)
{
    unsigned char buf[16];
    return a && (inet_pton(AF_INET, a, buf) == 1 ||
                 inet_pton(AF_INET6, a, buf) == 1);
}

static int
ptime_of(const sdp_media_t *m)
{
    for (const sdp_attribute_t *a = m->m_attributes; a; a = a->a_next)
        if (a->a_name && strcasecmp(a->a_name, "ptime") == 0 && a->a_value) {
            int v = 0;
            if (sscanf(a->a_value, "%d", &v) == 1 && v >= 10 && v <= 60)
                return v;
        }
    return 20;
}

static int
pick(const sdp_media_t *m, sip_sdp_info *out)
{
    out->codec = -1;
    out->te_pt = -1;
    for (const sdp_rtpmap_t *r = m->m_rtpmaps; r; r = r->rm_next) {
        if (!r->rm_encoding)
            continue;
        if (out->codec < 0 && r->rm_rate == 8000) {
            if (strcasecmp(r->rm_encoding, "PCMU") == 0)
                out->codec = SIP_CODEC_PCMU;
            else if (strcasecmp(r->rm_encoding, "PCMA") == 0)
                out->codec = SIP_CODEC_PCMA;
            if (out->codec >= 0)
                out->pt = r->rm_pt;
        }
        if (out->te_pt < 0 && r->rm_rate == 8000 &&
            strcasecmp(r->rm_encoding, "telephone-event") == 0)
            out->te_pt = r->rm_pt;
    }
    return out->codec >= 0 ? 0 : -ENOTSUP;
}

/*
 * Debian 12's sofia-sip SDP parser allocates hundreds of megabytes, and
 * loops, on an m= line whose tokens hold bytes above 0x7f (found by
 * tests/fuzz/sdp_fuzzer.c; the input is kept in its corpus). SDP is ASCII
 * except for free text (s=, i=), so anything else is refused before the
 * parser sees it: printable ASCII and tabs, lines ended by CRLF or LF, no
 * NUL.
 */
static int
text_ok(const char *sdp, size_t len)
{
    bool line_start = true, free_text = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)sdp[i];
        if (c == '\n') {
            line_start = true;
            continue;
        }
        if (line_start) {
            free_text = c == 's' || c == 'i';
            line_start = false;
        }
        if (c == '\r' && (i + 1 == len || sdp[i + 1] == '\n'))
            continue;
        if (c == '\t' || (c >= 0x20 && c < 0x7f))
            continue;
        if (c >= 0x80 && free_text)
            continue;
        return 0;
    }
    return 1;
}

static bool
tok_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '_' ||
           c == '-';
}

/* Length of a run of token characters at @p p (up to @p end). */
static size_t
tok_len(const char *p, const char *end)
{
    size_t n = 0;
    while (p + n < end && tok_char(p[n]))
        n++;
    return n;
}

/*
 * An m= line as RFC 4566 5.14 writes it: "m=<media> <port>[/<n>] <proto>
 * <fmt> ...", proto being tokens joined by '/'. The same parser loops on
 * a malformed proto ("RTP/:18", also from the fuzz target), so m= lines
 * are checked first.
 */
static bool
m_line_ok(const char *p, const char *end)
{
    size_t n = tok_len(p, end); /* media */
    if (!n || p + n >= end || p[n] != ' ')
        return false;
    p += n + 1;
    for (n = 0; p + n < end && p[n] >= '0' && p[n] <= '9'; n++)
        ;
    if (!n || n > 5)
        return false;
    p += n;
    if (p < end && *p == '/') {
        for (n = 0, p++; p + n < end && p[n] >= '0' && p[n] <= '9'; n++)
            ;
        if (!n || n > 5)
            return false;
        p += n;
    }
    if (p >= end || *p != ' ')
        return false;
    p++;
    for (;;) { /* proto */
        n = tok_len(p, end);
        if (!n)
            return false;
        p += n;
        if (p < end && *p == '/') {
            p++;
            continue;
        }
        break;
    }
    size_t fmts = 0;
    while (p < end && *p == ' ') {
        p++;
        n = tok_len(p, end);
        if (!n)
            return false;
        p += n;
        fmts++;
    }
    return p == end && fmts > 0;
}

static bool
m_lines_ok(const char *sdp, size_t len)
{
    const char *end = sdp + len;
    for (const char *l = sdp; l < end;) {
        const char *nl = memchr(l, '\n', (size_t)(end - l));
        const char *le = nl ? nl : end;
        if (le > l && le[-1] == '\r')
            le--;
        if (le - l >= 2 && l[0] == 'm' && l[1] == '=' && !m_line_ok(l + 2, le))
            return false;
        l = nl ? nl + 1 : end;
    }
    return true;
}

int
sip_sdp_parse(const char *sdp, size_t len, sip_sdp_info *out)
{
    if (!sdp || !out || len == 0 || len > 65536)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (!text_ok(sdp, len) || !m_lines_ok(sdp, len))
        return -EINVAL;
    su_home_t home[1] = {SU_HOME_INIT(home)};
    sdp_parser_t *p = sdp_parse(home, sdp, (issize_t)len, 0);
    sdp_session_t *s = p ? sdp_session(p) : NULL;
    int rc = -EINVAL;
    if (!s)
        goto done;
    const sdp_media_t *m = s->sdp_media;
    while (m && m->m_type != sdp_media_audio)
        m = m->m_next;
    if (!m || m->m_rejected || m->m_port == 0 || m->m_port > 65535 ||
        (m->m_proto != sdp_proto_rtp && m->m_proto != sdp_proto_udp))
        goto done;
    const sdp_connection_t *c =
        m->m_connections ? m->m_connections : s->sdp_connection;
    if (!c || !c->c_address || !numeric_addr(c->c_address) ||
        strlen(c->c_address) >= sizeof(out->addr))
        goto done;
    rc = pick(m, out);
    if (rc != 0)
        goto done;
    snprintf(out->addr, sizeof(out->addr), "%s", c->c_address);
    out->port = (uint16_t)m->m_port;
    out->dir = m->m_mode & 3;
    out->ptime = ptime_of(m);
done:
    if (p)
        sdp_parser_free(p);
    su_home_deinit(home);
    return rc;
}

static const char *
codec_name(int codec)
{
    return codec == SIP_CODEC_PCMA ? "PCMA" : "PCMU";
}

/* The direction of an answer to an offer's (RFC 3264 6.1): a party that
 * only sends (puts us on hold) gets recvonly; inactive stays inactive. */
static const char *
answer_dir(int offer_dir)
{
    switch (offer_dir) {
    case SIP_DIR_SENDONLY:
        return "recvonly";
    case SIP_DIR_RECVONLY:
        return "sendonly";
    case SIP_DIR_INACTIVE:
        return "inactive";
    default:
        return "sendrecv";
    }
}

int
sip_sdp_write(char *buf, size_t len, const sip_sdp_local *l)
{
    if (!buf || !l || !numeric_addr(l->addr))
        return -EINVAL;
    const char *ip = strchr(l->addr, ':') ? "IP6" : "IP4";
    int n;
    if (!l->answer_to) {
        n = snprintf(buf, len,
                     "v=0\r\n"
                     "o=plateau %llu %llu IN %s %s\r\n"
                     "s=plateau\r\n"
                     "c=IN %s %s\r\n"
                     "t=0 0\r\n"
                     "m=audio %u RTP/AVP 0 8 101\r\n"
                     "a=rtpmap:0 PCMU/8000\r\n"
                     "a=rtpmap:8 PCMA/8000\r\n"
                     "a=rtpmap:101 telephone-event/8000\r\n"
                     "a=fmtp:101 0-16\r\n"
                     "a=ptime:20\r\n"
                     "a=sendrecv\r\n",
                     (unsigned long long)l->sess_id,
                     (unsigned long long)l->version, ip, l->addr, ip, l->addr,
                     (unsigned)l->port);
    } else {
        const sip_sdp_info *o = l->answer_to;
        /* Answer with the party's own payload numbers (RFC 3264 6.1). */
        char te[96] = "";
        char te_fmt[16] = "";
        if (o->te_pt >= 0) {
            snprintf(te_fmt, sizeof(te_fmt), " %d", o->te_pt);
            snprintf(te, sizeof(te),
                     "a=rtpmap:%d telephone-event/8000\r\n"
                     "a=fmtp:%d 0-16\r\n",
                     o->te_pt, o->te_pt);
        }
        n = snprintf(buf, len,
                     "v=0\r\n"
                     "o=plateau %llu %llu IN %s %s\r\n"
                     "s=plateau\r\n"
                     "c=IN %s %s\r\n"
                     "t=0 0\r\n"
                     "m=audio %u RTP/AVP %d%s\r\n"
                     "a=rtpmap:%d %s/8000\r\n"
                     "%s"
                     "a=ptime:20\r\n"
                     "a=%s\r\n",
                     (unsigned long long)l->sess_id,
                     (unsigned long long)l->version, ip, l->addr, ip, l->addr,
                     (unsigned)l->port, o->pt, te_fmt, o->pt,
                     codec_name(o->codec), te, answer_dir(o->dir));
    }
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= len)
        return -ENOSPC;
    return n;
}
