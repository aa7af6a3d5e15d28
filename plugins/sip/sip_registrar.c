/* SPDX-License-Identifier: MIT */
/*
 * The registrar of agent phones (SIP thread). A phone registers as its
 * extension (`extensions:` in the configuration) with HTTP digest
 * (RFC 3261 22, RFC 2617): the first REGISTER is challenged with a nonce
 * Plateau can check without keeping state (time and an MD5 keyed by a
 * per-process secret), the second is verified with sofia-sip's digest
 * functions against the extension's password. One binding per extension
 * (the last phone that registered wins), with the expiry the phone asked
 * for, capped by register_max_expires. "agent:<ext>" destinations dial
 * the bound contact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sofia-sip/auth_digest.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_md5.h>
#include <sofia-sip/su_uniqueid.h>
#include <sofia-sip/url.h>

#include "sip_thread.h"

#define NONCE_TTL_S 300

typedef struct binding {
    char *contact;
    time_t expires; /* monotonic seconds */
} binding;

struct sip_registrar {
    const sip *s;
    binding *b; /* one per configured extension */
    char secret[33];
};

static time_t
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

int
sip_registrar_new(const sip *s, sip_registrar **out)
{
    sip_registrar *r = calloc(1, sizeof(*r));
    if (!r)
        return PLT_ENOMEM;
    r->b = calloc(s->nexts ? s->nexts : 1, sizeof(*r->b));
    if (!r->b) {
        free(r);
        return PLT_ENOMEM;
    }
    r->s = s;
    snprintf(r->secret, sizeof(r->secret), "%08x%08x%08x%08x", su_random(),
             su_random(), su_random(), su_random());
    *out = r;
    return 0;
}

void
sip_registrar_free(sip_registrar *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->s->nexts; i++)
        free(r->b[i].contact);
    free(r->b);
    free(r);
}

static long
ext_index(const sip_registrar *r, const char *ext)
{
    if (!ext)
        return -1;
    for (size_t i = 0; i < r->s->nexts; i++)
        if (strcmp(r->s->exts[i].extension, ext) == 0)
            return (long)i;
    return -1;
}

const char *
sip_registrar_lookup(sip_registrar *r, const char *ext)
{
    long i = ext_index(r, ext);
    if (i < 0 || !r->b[i].contact || r->b[i].expires <= mono_s())
        return NULL;
    return r->b[i].contact;
}

/* nonce = <time hex> <md5(secret:time) hex>: checkable without state. */
static void
make_nonce(const sip_registrar *r, time_t t, char out[64])
{
    char ts[17];
    snprintf(ts, sizeof(ts), "%016llx", (unsigned long long)t);
    su_md5_t md5;
    char hex[33];
    su_md5_init(&md5);
    su_md5_strupdate(&md5, r->secret);
    su_md5_strupdate(&md5, ":");
    su_md5_strupdate(&md5, ts);
    su_md5_hexdigest(&md5, hex);
    snprintf(out, 64, "%s%s", ts, hex);
}

static bool
nonce_ok(const sip_registrar *r, const char *nonce)
{
    if (!nonce || strlen(nonce) != 48)
        return false;
    char ts[17];
    memcpy(ts, nonce, 16);
    ts[16] = '\0';
    char *end;
    unsigned long long t = strtoull(ts, &end, 16);
    if (*end != '\0')
        return false;
    time_t now = mono_s();
    if ((time_t)t > now || now - (time_t)t > NONCE_TTL_S)
        return false;
    char expect[64];
    make_nonce(r, (time_t)t, expect);
    return strcmp(expect, nonce) == 0;
}

static void
challenge(sip_registrar *r, nua_t *nua, nua_handle_t *nh)
{
    char nonce[64], hdr[256];
    make_nonce(r, mono_s(), nonce);
    snprintf(hdr, sizeof(hdr),
             "Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5, qop=\"auth\"",
             r->s->conf.realm, nonce);
    nua_respond(nh, SIP_401_UNAUTHORIZED, SIPTAG_WWW_AUTHENTICATE_STR(hdr),
                NUTAG_WITH_THIS(nua), TAG_END());
}

/* 0 when the Authorization header proves knowledge of the extension's
 * password; the extension's index through @p idx. */
static int
verify(sip_registrar *r, const sip_t *hdr, long *idx)
{
    const sip_authorization_t *au = hdr->sip_authorization;
    for (; au; au = au->au_next)
        if (au->au_scheme && strcasecmp(au->au_scheme, "Digest") == 0)
            break;
    if (!au || !au->au_params)
        return -1;
    su_home_t home[1] = {SU_HOME_INIT(home)};
    auth_response_t ar[1];
    memset(ar, 0, sizeof(ar));
    ar->ar_size = (int)sizeof(ar[0]);
    int rc = -1;
    if (auth_digest_response_get(home, ar, au->au_params) < 0)
        goto done;
    if (!ar->ar_username || !ar->ar_realm || !ar->ar_response ||
        !ar->ar_uri || strcmp(ar->ar_realm, r->s->conf.realm) != 0)
        goto done;
    /* The user named in the digest must be the one registering. */
    const char *to_user =
        hdr->sip_to ? hdr->sip_to->a_url->url_user : NULL;
    if (!to_user || strcmp(to_user, ar->ar_username) != 0)
        goto done;
    long i = ext_index(r, ar->ar_username);
    if (i < 0 || !nonce_ok(r, ar->ar_nonce))
        goto done;
    if (ar->ar_algorithm && !ar->ar_md5)
        goto done;
    auth_hexmd5_t ha1, expect;
    auth_digest_ha1(ha1, ar->ar_username, r->s->conf.realm,
                    r->s->exts[i].password);
    if (auth_digest_response(ar, expect, ha1, "REGISTER", NULL, 0) < 0)
        goto done;
    if (strcmp(expect, ar->ar_response) == 0) {
        *idx = i;
        rc = 0;
    }
done:
    su_home_deinit(home);
    return rc;
}

static void
post_binding(sip_registrar *r, long i, const char *contact, long expires)
{
    sip_msg *m = sip_msg_new(SIP_EV_AGENT_REG, 0);
    if (!m)
        return;
    m->code = (int)expires;
    if (!sip_msg_set(&m->to, r->s->exts[i].extension) ||
        !sip_msg_set(&m->uri, contact)) {
        sip_msg_free(m);
        return;
    }
    sip_stack_post((sip *)r->s, m);
}

void
sip_registrar_on_register(sip_registrar *r, nua_t *nua, nua_handle_t *nh,
                          const sip_t *hdr)
{
    long i = -1;
    if (!hdr || !hdr->sip_to) {
        nua_respond(nh, SIP_400_BAD_REQUEST, NUTAG_WITH_THIS(nua), TAG_END());
        goto out;
    }
    if (!hdr->sip_authorization) {
        challenge(r, nua, nh);
        goto out;
    }
    if (verify(r, hdr, &i) != 0) {
        /* Wrong credentials, unknown extension or an old nonce: refused.
         * A phone starts again with a REGISTER without credentials. */
        nua_respond(nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS(nua), TAG_END());
        goto out;
    }
    long expires = 3600;
    const sip_contact_t *c = hdr->sip_contact;
    if (hdr->sip_expires)
        expires = (long)hdr->sip_expires->ex_delta;
    if (c && c->m_expires)
        expires = strtol(c->m_expires, NULL, 10);
    if (expires > r->s->conf.register_max_expires_s)
        expires = (long)r->s->conf.register_max_expires_s;
    if (expires < 0)
        expires = 0;
    binding *b = &r->b[i];
    if (!c || c->m_url->url_type == url_any || expires == 0) {
        /* Unregister (Contact: * or expires 0), or a query. */
        if (!c) {
            nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua), TAG_END());
            goto out;
        }
        free(b->contact);
        b->contact = NULL;
        post_binding(r, i, NULL, 0);
        nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua), TAG_END());
        goto out;
    }
    su_home_t home[1] = {SU_HOME_INIT(home)};
    char *uri = url_as_string(home, c->m_url);
    char *copy = uri ? strdup(uri) : NULL;
    su_home_deinit(home);
    if (!copy) {
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(nua),
                    TAG_END());
        goto out;
    }
    bool changed = !b->contact || strcmp(b->contact, copy) != 0;
    free(b->contact);
    b->contact = copy;
    b->expires = mono_s() + expires;
    char contact[512];
    snprintf(contact, sizeof(contact), "<%s>;expires=%ld", copy, expires);
    nua_respond(nh, SIP_200_OK, SIPTAG_CONTACT_STR(contact),
                NUTAG_WITH_THIS(nua), TAG_END());
    if (changed)
        post_binding(r, i, copy, expires);
out:
    nua_handle_destroy(nh);
}
