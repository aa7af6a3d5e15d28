/* SPDX-License-Identifier: MIT */
/*
 * Campaigns in front of the browser, through the optional `http` service:
 * the list with live figures, the wizard's create and update, ON/OFF, the
 * result of a call set by an agent, preview dial and skip, and the pacing
 * log ("why N lines now") for staff. Pacing decisions and ON/OFF changes
 * are forwarded to staff, with each campaign's live figures
 * (`dialer.stats`: lines in flight, agents available, attempts, abandon
 * rate) pushed at most once a second after its attempts change; preview
 * offers and due callbacks go to the agent concerned.
 *
 * What an agent's desk shows and the dialer never uses - the script text
 * with {{variables}}, the contact fields shown, the products of a sales
 * campaign, hold music, the wrap-up and offer timers - is the
 * campaign's desk profile. It is kept here, in this file's own table
 * `campaign_ui` (migrations "dialer_ui"), one JSON document per campaign,
 * so the dialer contract stays what the dialer needs; the products an
 * agent sold are rows of `campaign_sale`, one per product, so they can be
 * counted and exported. See docs/adr (campaign desk profile). The hold
 * music is also kept in memory, by campaign, and named to the agents
 * plugin (agents 1.1 set_hold_music) for the holds of its calls.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dialer_http.h"
#include "http_common.h"

typedef struct dialer_http {
    dialer *D;
    const plt_http_vt *vt;
    void *impl;
    plt_sub *sub, *sub2, *sub3;
    json_t *previews;       /* agent -> the preview offered to it, until used */
    json_t *dirty;          /* campaigns whose figures changed since the push */
    plt_timer *stats_timer; /* armed while some are dirty */
    json_t *moh;            /* campaign -> its hold music or null */
    bool moh_set;           /* the agents plugin asks moh_of() */
} dialer_http;

/* Live figures go to staff at most this often per campaign, and only
 * after something changed: a site's dialling never floods the browsers. */
#define STATS_PUSH_MS 1000

static dialer_http *dh;

const plt_storage_migration dialer_http_migrations[] = {
    {.version = 1,
     .name = "create campaign_ui and campaign_sale",
     .sql = "CREATE TABLE campaign_ui (name TEXT PRIMARY KEY,"
            " settings TEXT NOT NULL, updated_at BIGINT NOT NULL);"
            "CREATE TABLE campaign_sale (id PLT_ID, campaign TEXT NOT NULL,"
            " contact_id BIGINT NOT NULL, agent TEXT, product TEXT NOT NULL,"
            " at BIGINT NOT NULL);"
            "CREATE INDEX campaign_sale_campaign ON campaign_sale (campaign,"
            " at)"},
};
const size_t dialer_http_nmigrations =
    sizeof(dialer_http_migrations) / sizeof(dialer_http_migrations[0]);

/* The desk profile's keys, as the wizard sends them. The hold music is
 * what an agent's hold plays to the customer (moh_of(), through the agents
 * service); the message to abandoned calls is the dialer's own
 * abandon_message, part of the definition, not of this profile. */
static const char *const ui_keys[] = {"script", "fields_shown", "products",
                                      "hold_music"};
#define NUI (sizeof(ui_keys) / sizeof(ui_keys[0]))

static const char *const kind_names[] = {
    "", "success", "final", "refusal", "callback", "retry", "dnc"};
static const char *const retry_names[] = {"",        "no_answer",  "busy",
                                          "machine", "congestion", "abandoned"};

/* ------------------------------------------------------------------ */
/* helpers */

static void
reply_rc(plt_http_req *req, int rc, const char *msg)
{
    htc_reply_rc(dh->vt, dh->impl, req, rc, msg);
}

static const char *
me(plt_http_req *req)
{
    return dh->vt->principal(dh->impl, req)->login;
}

static int
name_index(const char *const *names, int n, const char *s, int def)
{
    for (int i = 1; s && i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    return def;
}

/* "09:30" -> 570; -1 if malformed. */
static int32_t
minutes(const char *s)
{
    int h, m;
    char extra;
    if (!s || sscanf(s, "%d:%d%c", &h, &m, &extra) != 2 || h < 0 || h > 24 ||
        m < 0 || m > 59 || h * 60 + m > 1440)
        return -1;
    return h * 60 + m;
}

/* ------------------------------------------------------------------ */
/* campaign <-> JSON */

/* Arrays built for one plt_dialer_campaign; strings point into the body. */
typedef struct def_buf {
    plt_dialer_campaign c;
    plt_dialer_list *lists;
    plt_dialer_disposition *dispos;
    plt_dialer_retry *retries;
    plt_dialer_window *hours;
    const char **agents;
    const char **holidays;
} def_buf;

static void
def_free(def_buf *d)
{
    free(d->lists);
    free(d->dispos);
    free(d->retries);
    free(d->hours);
    free(d->agents);
    free(d->holidays);
}

static const char *
jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : NULL;
}

static int
strings(json_t *a, const char ***out, size_t *n)
{
    *n = json_array_size(a);
    if (!*n)
        return 0;
    if (!(*out = calloc(*n, sizeof(char *))))
        return PLT_ENOMEM;
    for (size_t i = 0; i < *n; i++)
        if (!((*out)[i] = json_string_value(json_array_get(a, i))))
            return PLT_EINVAL;
    return 0;
}

/* The wizard's JSON into a definition. @p name: the key from the path
 * (update) or NULL (create: from the body). */
static int
def_from_json(json_t *b, const char *name, def_buf *d, char *why, size_t len)
{
    memset(d, 0, sizeof(*d));
    plt_dialer_campaign *c = &d->c;
    c->size = sizeof(*c);
    c->name = name ? name : jstr(b, "name");
    c->label = jstr(b, "label");
    c->type = name_index(
        (const char *const[]){"", "sale", "appointment", "survey", "other"}, 5,
        jstr(b, "type"), PLT_CAMPAIGN_OTHER);
    c->mode = name_index((const char *const[]){"", "preview", "progressive",
                                               "power", "predictive"},
                         5, jstr(b, "mode"), PLT_DIAL_PROGRESSIVE);
    c->enabled = json_is_true(json_object_get(b, "enabled"));
    c->power_ratio = json_number_value(json_object_get(b, "power_ratio"));
    c->caller_id = jstr(b, "caller_id");
    c->trunk = jstr(b, "trunk");
    c->queue = jstr(b, "queue");
    c->max_attempts =
        (int32_t)json_integer_value(json_object_get(b, "max_attempts"));
    c->ring_timeout_ms =
        (uint32_t)json_integer_value(json_object_get(b, "ring_timeout_ms"));
    c->connect_deadline_ms =
        (uint32_t)json_integer_value(json_object_get(b, "connect_deadline_ms"));
    c->abandon_message = jstr(b, "abandon_message");
    c->amd = json_is_true(json_object_get(b, "amd"));
    c->amd_false_positive_rate =
        json_number_value(json_object_get(b, "amd_false_positive_rate"));
    c->compliance = jstr(b, "compliance");
    c->max_lines =
        (uint32_t)json_integer_value(json_object_get(b, "max_lines"));
    c->preview_timeout_ms =
        (uint32_t)json_integer_value(json_object_get(b, "preview_timeout_ms"));
    if (!c->name) {
        snprintf(why, len, "name is required");
        return PLT_EINVAL;
    }

    json_t *a = json_object_get(b, "lists");
    c->nlists = json_array_size(a);
    if (c->nlists && !(d->lists = calloc(c->nlists, sizeof(*d->lists))))
        return PLT_ENOMEM;
    for (size_t i = 0; i < c->nlists; i++) {
        json_t *e = json_array_get(a, i);
        d->lists[i].list =
            json_is_string(e) ? json_string_value(e) : jstr(e, "list");
        json_int_t w = json_integer_value(json_object_get(e, "weight"));
        d->lists[i].weight = w > 0 ? (int32_t)w : 1;
    }
    c->lists = d->lists;

    a = json_object_get(b, "dispositions");
    c->ndispositions = json_array_size(a);
    if (c->ndispositions &&
        !(d->dispos = calloc(c->ndispositions, sizeof(*d->dispos))))
        return PLT_ENOMEM;
    for (size_t i = 0; i < c->ndispositions; i++) {
        json_t *e = json_array_get(a, i);
        d->dispos[i].code = jstr(e, "code");
        d->dispos[i].label = jstr(e, "label");
        d->dispos[i].kind = name_index(kind_names, 7, jstr(e, "kind"), 0);
    }
    c->dispositions = d->dispos;

    a = json_object_get(b, "retries");
    c->nretries = json_array_size(a);
    if (c->nretries && !(d->retries = calloc(c->nretries, sizeof(*d->retries))))
        return PLT_ENOMEM;
    for (size_t i = 0; i < c->nretries; i++) {
        json_t *e = json_array_get(a, i);
        d->retries[i].cls = name_index(retry_names, 6, jstr(e, "on"), 0);
        d->retries[i].delay_ms =
            json_integer_value(json_object_get(e, "delay_ms"));
        d->retries[i].max_attempts =
            (int32_t)json_integer_value(json_object_get(e, "max"));
    }
    c->retries = d->retries;

    /* Opening windows: days as the browser counts them (0 = Sunday). */
    a = json_object_get(b, "hours");
    c->nhours = json_array_size(a);
    if (c->nhours && !(d->hours = calloc(c->nhours, sizeof(*d->hours))))
        return PLT_ENOMEM;
    for (size_t i = 0; i < c->nhours; i++) {
        json_t *e = json_array_get(a, i), *days = json_object_get(e, "days");
        for (size_t k = 0; k < json_array_size(days); k++) {
            json_int_t day = json_integer_value(json_array_get(days, k));
            if (day >= 0 && day <= 6)
                d->hours[i].days |= PLT_DAY(day == 0 ? 6 : day - 1);
        }
        d->hours[i].from_min = minutes(jstr(e, "from"));
        d->hours[i].to_min = minutes(jstr(e, "to"));
        if (d->hours[i].to_min == 0)
            d->hours[i].to_min = 1440; /* "until midnight" */
    }
    c->hours = d->hours;

    int rc = strings(json_object_get(b, "agents"), &d->agents, &c->nagents);
    if (rc == 0)
        rc = strings(json_object_get(b, "holidays"), &d->holidays,
                     &c->nholidays);
    c->agents = d->agents;
    c->holidays = d->holidays;
    if (rc == PLT_EINVAL)
        snprintf(why, len, "agents and holidays are lists of strings");
    return rc;
}

static json_t *
def_to_json(const plt_dialer_campaign *c)
{
    json_t *lists = json_array(), *dispos = json_array(), *hours = json_array(),
           *agents = json_array(), *retries = json_array();
    for (size_t i = 0; i < c->nlists; i++)
        json_array_append_new(lists,
                              json_pack("{s:s, s:i}", "list", c->lists[i].list,
                                        "weight", c->lists[i].weight));
    for (size_t i = 0; i < c->ndispositions; i++) {
        int32_t k = c->dispositions[i].kind;
        json_array_append_new(dispos,
                              json_pack("{s:s, s:s?, s:s}", "code",
                                        c->dispositions[i].code, "label",
                                        c->dispositions[i].label, "kind",
                                        kind_names[k >= 1 && k <= 6 ? k : 0]));
    }
    for (size_t i = 0; i < c->nretries; i++) {
        int32_t k = c->retries[i].cls;
        json_array_append_new(retries,
                              json_pack("{s:s, s:I, s:i}", "on",
                                        retry_names[k >= 1 && k <= 5 ? k : 0],
                                        "delay_ms", c->retries[i].delay_ms,
                                        "max", c->retries[i].max_attempts));
    }
    for (size_t i = 0; i < c->nhours; i++) {
        json_t *days = json_array();
        for (int b = 0; b < 7; b++)
            if (c->hours[i].days & PLT_DAY(b))
                json_array_append_new(days, json_integer(b == 6 ? 0 : b + 1));
        char from[24], to[24];
        snprintf(from, sizeof(from), "%02d:%02d", c->hours[i].from_min / 60,
                 c->hours[i].from_min % 60);
        snprintf(to, sizeof(to), "%02d:%02d", c->hours[i].to_min / 60 % 24,
                 c->hours[i].to_min % 60);
        json_array_append_new(hours, json_pack("{s:o, s:s, s:s}", "days", days,
                                               "from", from, "to", to));
    }
    for (size_t i = 0; i < c->nagents; i++)
        json_array_append_new(agents, json_string(c->agents[i]));
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:b, s:f, s:s?, s:s?, s:o, s:o, s:o, s:o, s:o, "
        "s:i, s:i, s:i, s:s?, s:b, s:f, s:s?, s:i, s:i, s:s?}",
        "name", c->name, "label", c->label ? c->label : c->name, "type",
        plt_campaign_type_name(c->type), "mode", plt_dial_mode_name(c->mode),
        "enabled", c->enabled, "power_ratio", c->power_ratio, "caller_id",
        c->caller_id, "queue", c->queue, "lists", lists, "dispositions", dispos,
        "retries", retries, "hours", hours, "agents", agents, "max_attempts",
        c->max_attempts, "ring_timeout_ms", (int)c->ring_timeout_ms,
        "connect_deadline_ms", (int)c->connect_deadline_ms, "abandon_message",
        c->abandon_message, "amd", c->amd, "amd_false_positive_rate",
        c->amd_false_positive_rate, "compliance", c->compliance,
        "max_lines", (int)c->max_lines, "preview_timeout_ms",
        (int)c->preview_timeout_ms, "source", c->source);
}

/* The desk profile of a body: only its keys. */
static json_t *
ui_from_body(json_t *b)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < NUI; i++) {
        json_t *v = json_object_get(b, ui_keys[i]);
        if (v)
            json_object_set(o, ui_keys[i], v);
    }
    return o;
}

/* ------------------------------------------------------------------ */
/* a request with storage work */

typedef struct op {
    plt_http_req *req;
    char name[48];
    json_t *reply;    /* owned */
    json_t *ui;       /* owned: profile to store */
    json_t *products; /* owned: products sold */
    int64_t contact_id;
    char agent[64];
    int status;        /* reply status on success */
    const char *audit; /* admin action recorded on success, or NULL */
} op;

static op *
op_new(plt_http_req *req, const char *name)
{
    op *o = calloc(1, sizeof(*o));
    if (!o) {
        reply_rc(req, PLT_ENOMEM, NULL);
        return NULL;
    }
    o->req = req;
    snprintf(o->name, sizeof(o->name), "%s", name ? name : "");
    o->status = 200;
    dh->D->ops_in_flight++;
    return o;
}

static void
op_free(op *o)
{
    json_decref(o->reply);
    json_decref(o->ui);
    json_decref(o->products);
    free(o);
    dh->D->ops_in_flight--;
}

static void
op_answer(op *o, int status, const char *msg)
{
    if (status == 0 && o->audit)
        dh->vt->audit(dh->impl, o->req, o->audit, o->name, NULL);
    if (status != 0)
        reply_rc(o->req, status, msg);
    else
        dh->vt->reply_json(dh->impl, o->req, o->status,
                           o->reply ? json_incref(o->reply)
                                    : json_pack("{s:b}", "ok", 1));
    op_free(o);
}

static void
stored(void *arg, int status, const plt_storage_result *res)
{
    op_answer(arg, status, status && res ? res->error : NULL);
}

/* ------------------------------------------------------------------ */
/* hold music: what the agents plugin plays when a campaign's call is held */

static const char *
moh_of(void *arg, const char *name)
{
    (void)arg;
    return dh && name ? json_string_value(json_object_get(dh->moh, name))
                      : NULL;
}

/* Keep @p name's hold music as its profile @p ui now says (null: none,
 * which the load at start must not override either). */
static void
moh_note(const char *name, json_t *ui)
{
    const char *f = json_string_value(json_object_get(ui, "hold_music"));
    json_object_set_new(dh->moh, name, f && *f ? json_string(f) : json_null());
}

static int
moh_row(void *arg, const plt_storage_row *row)
{
    (void)arg;
    if (!dh || row->ncols < 2 || row->vals[0].type != PLT_T_STR ||
        row->vals[1].type != PLT_T_STR)
        return 0;
    json_t *ui = json_loads(row->vals[1].v.s, 0, NULL);
    /* A profile written since start is newer than this row. */
    if (!json_object_get(dh->moh, row->vals[0].v.s))
        moh_note(row->vals[0].v.s, ui);
    json_decref(ui);
    return 0;
}

static void
moh_loaded(void *arg, int status, const plt_storage_result *res)
{
    (void)arg;
    if (status != 0)
        plt_log(PLT_LOG_WARN, "campaign hold music not loaded: %s",
                res && res->error ? res->error : "storage error");
}

static void
ui_stored(void *arg, int status, const plt_storage_result *res)
{
    op *o = arg;
    if (status == 0)
        moh_note(o->name, o->ui);
    stored(arg, status, res);
}

static int
ui_store(op *o)
{
    char *text = json_dumps(o->ui, JSON_COMPACT);
    if (!text)
        return PLT_ENOMEM;
    plt_value v[] = {PLT_V_STR(o->name), PLT_V_STR(text), plt_v_i64(plt_now())};
    int rc = plt_storage_exec(
        &dh->D->st,
        "INSERT INTO campaign_ui (name, settings, updated_at) VALUES ($1, $2,"
        " $3) ON CONFLICT (name) DO UPDATE SET settings = excluded.settings,"
        " updated_at = excluded.updated_at",
        v, 3, PLT_STORAGE_WRITE, NULL, ui_stored, o);
    free(text); /* arguments are copied */
    return rc;
}

/* ------------------------------------------------------------------ */
/* campaigns */

typedef struct list_ctx {
    json_t *items;
} list_ctx;

static void
stats_into(void *arg, int status, const plt_dialer_stats *st)
{
    json_t *o = arg;
    if (status != 0 || !st)
        return;
    json_object_set_new(o, "enabled", json_boolean(st->enabled));
    json_object_set_new(o, "lines_in_flight",
                        json_integer(st->lines_in_flight));
    json_object_set_new(o, "agents_available",
                        json_integer(st->agents_available));
    json_object_set_new(o, "attempts", json_integer((json_int_t)st->attempts));
    json_object_set_new(o, "answered", json_integer((json_int_t)st->answered));
    json_object_set_new(o, "machines", json_integer((json_int_t)st->machines));
    json_object_set_new(o, "abandoned",
                        json_integer((json_int_t)st->abandoned));
    json_object_set_new(o, "abandon_rate", json_real(st->abandon_rate));
    json_object_set_new(o, "abandon_limit", json_real(st->abandon_limit));
}

static int
list_row(void *arg, const plt_dialer_campaign *c)
{
    list_ctx *l = arg;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s?, s:s?}", "name",
                          c->name, "label", c->label ? c->label : c->name,
                          "type", plt_campaign_type_name(c->type), "mode",
                          plt_dial_mode_name(c->mode), "enabled", c->enabled,
                          "queue", c->queue, "source", c->source);
    if (o)
        dialer_svc_stats(dh->D, c->name, stats_into, o);
    json_array_append_new(l->items, o);
    return 0;
}

static void
h_list(void *arg, plt_http_req *req)
{
    (void)arg;
    list_ctx l = {.items = json_array()};
    /* No campaign yet: nothing to ask (the list copies its array). */
    int rc = !l.items        ? PLT_ENOMEM
             : dh->D->ncamps ? dialer_svc_list(dh->D, list_row, &l)
                             : 0;
    if (rc != 0) {
        json_decref(l.items);
        reply_rc(req, rc, NULL);
        return;
    }
    size_t n = json_array_size(l.items);
    dh->vt->reply_page(dh->impl, req, l.items, 0, (int64_t)n, (int64_t)n);
}

static void
created(void *arg, int status, const char *msg)
{
    op *o = arg;
    int rc = status;
    if (rc == 0 && (rc = ui_store(o)) == 0)
        return;
    op_answer(o, rc, msg);
}

static void
save(plt_http_req *req, const char *name, bool update)
{
    json_t *b = dh->vt->body_json(dh->impl, req);
    def_buf d;
    char why[256] = "";
    int rc = def_from_json(b, name, &d, why, sizeof(why));
    op *o = rc == 0 ? op_new(req, d.c.name) : NULL;
    if (rc != 0) {
        reply_rc(req, rc, *why ? why : NULL);
    } else if (o) {
        o->ui = ui_from_body(b);
        o->status = update ? 200 : 201;
        o->reply = json_pack("{s:s}", "name", d.c.name);
        o->audit = update ? "campaign.updated" : "campaign.created";
        rc = update ? dialer_svc_update(dh->D, &d.c, created, o)
                    : dialer_svc_create(dh->D, &d.c, created, o);
        if (rc != 0)
            op_answer(o, rc, NULL);
    }
    def_free(&d);
}

static void
h_create(void *arg, plt_http_req *req)
{
    (void)arg;
    save(req, NULL, false);
}

static void
h_update(void *arg, plt_http_req *req)
{
    (void)arg;
    save(req, dh->vt->param(dh->impl, req, "name"), true);
}

static void
got_def(void *arg, int status, const plt_dialer_campaign *c)
{
    op *o = arg;
    if (status == 0 && c) {
        o->reply = def_to_json(c);
        if (o->reply)
            dialer_svc_stats(dh->D, c->name, stats_into, o->reply);
    }
}

static int
ui_row(void *arg, const plt_storage_row *row)
{
    op *o = arg;
    json_t *ui = row->ncols > 0 && row->vals[0].type == PLT_T_STR
                     ? json_loads(row->vals[0].v.s, 0, NULL)
                     : NULL;
    json_object_del(ui, "message"); /* kept by older versions, never used */
    if (json_is_object(ui))
        json_object_update(o->reply, ui);
    json_decref(ui);
    return 0;
}

static void
h_get(void *arg, plt_http_req *req)
{
    (void)arg;
    op *o = op_new(req, dh->vt->param(dh->impl, req, "name"));
    if (!o)
        return;
    int rc = dialer_svc_get(dh->D, o->name, got_def, o);
    if (rc == 0 && !o->reply)
        rc = PLT_ENOENT;
    if (rc != 0) {
        op_answer(o, rc, NULL);
        return;
    }
    /* The desk profile's defaults, then what was stored. */
    json_object_set_new(o->reply, "script", json_string(""));
    json_object_set_new(o->reply, "fields_shown", json_array());
    json_object_set_new(o->reply, "products", json_array());
    plt_value v[] = {PLT_V_STR(o->name)};
    rc = plt_storage_exec(&dh->D->st,
                          "SELECT settings FROM campaign_ui WHERE name = $1", v,
                          1, 0, ui_row, stored, o);
    if (rc != 0)
        op_answer(o, rc, NULL);
}

/* PUT /campaigns/{name}/desk: the desk profile alone, for any campaign
 * (those of the configuration file too, whose definition is read-only). */
static void
h_desk(void *arg, plt_http_req *req)
{
    (void)arg;
    op *o = op_new(req, dh->vt->param(dh->impl, req, "name"));
    if (!o)
        return;
    json_t *probe = NULL;
    int rc = dialer_svc_get(dh->D, o->name, got_def, o);
    probe = o->reply; /* set when the campaign exists */
    o->reply = NULL;
    if (rc == 0 && !probe)
        rc = PLT_ENOENT;
    /* The abandon message belongs to the definition, which this route does
     * not change: a different one is refused, never dropped. */
    json_t *b = dh->vt->body_json(dh->impl, req);
    const char *want = json_string_value(json_object_get(b, "abandon_message"));
    const char *has =
        json_string_value(json_object_get(probe, "abandon_message"));
    bool changes = want && strcmp(want, has ? has : "") != 0;
    json_decref(probe);
    if (rc == 0 && changes) {
        op_answer(o, PLT_EINVAL,
                  "abandon_message is part of the campaign's definition:"
                  " change it where the campaign is defined");
        return;
    }
    if (rc == 0) {
        o->ui = ui_from_body(dh->vt->body_json(dh->impl, req));
        o->audit = "campaign.desk_updated";
        rc = o->ui ? ui_store(o) : PLT_ENOMEM;
    }
    if (rc != 0)
        op_answer(o, rc, NULL);
}

static void
switched(void *arg, int status, const char *msg)
{
    op_answer(arg, status, msg);
}

static void
h_switch(void *arg, plt_http_req *req)
{
    bool on = arg != NULL;
    const char *name = dh->vt->param(dh->impl, req, "name");
    op *o = op_new(req, name);
    if (!o)
        return;
    o->audit = on ? "campaign.started" : "campaign.stopped";
    int rc = dialer_svc_set_enabled(dh->D, o->name, on, me(req), switched, o);
    if (rc != 0)
        op_answer(o, rc, NULL);
}

static void
h_stats(void *arg, plt_http_req *req)
{
    (void)arg;
    json_t *o =
        json_pack("{s:s}", "campaign", dh->vt->param(dh->impl, req, "name"));
    if (!o ||
        dialer_svc_stats(dh->D,
                         json_string_value(json_object_get(o, "campaign")),
                         stats_into, o) != 0 ||
        !json_object_get(o, "enabled")) {
        json_decref(o);
        reply_rc(req, PLT_ENOENT, NULL);
        return;
    }
    dh->vt->reply_json(dh->impl, req, 200, o);
}

/* ---- results: the dialer records it, then the products sold ---- */

static void
sale_stored(void *arg, int status, const plt_storage_result *res)
{
    op *o = arg;
    size_t next = json_array_size(o->products);
    if (status != 0 || next == 0) {
        op_answer(o, status, status && res ? res->error : NULL);
        return;
    }
    /* One row per product, one after the other. */
    json_t *p = json_array_get(o->products, next - 1);
    plt_value v[] = {PLT_V_STR(o->name), plt_v_i64(o->contact_id),
                     PLT_V_STR(o->agent), PLT_V_STR(json_string_value(p)),
                     plt_v_i64(plt_now())};
    int rc = plt_storage_exec(
        &dh->D->st,
        "INSERT INTO campaign_sale (campaign, contact_id, agent, product, at)"
        " VALUES ($1, $2, $3, $4, $5)",
        v, 5, PLT_STORAGE_WRITE | PLT_STORAGE_DURABLE, NULL, sale_stored, o);
    json_array_remove(o->products, next - 1);
    if (rc != 0)
        op_answer(o, rc, NULL);
}

static void
result_set(void *arg, int status, const char *msg)
{
    op *o = arg;
    if (status != 0) {
        op_answer(o, status, msg);
        return;
    }
    sale_stored(o, 0, NULL);
}

static void
h_result(void *arg, plt_http_req *req)
{
    (void)arg;
    json_t *b = dh->vt->body_json(dh->impl, req);
    const char *login = me(req);
    const char *who = jstr(b, "callback_for");
    json_int_t at = json_integer_value(json_object_get(b, "callback_at"));
    plt_dialer_result r = {
        .size = sizeof(r),
        .campaign = dh->vt->param(dh->impl, req, "name"),
        .contact_id = json_integer_value(json_object_get(b, "contact_id")),
        .code = jstr(b, "code"),
        .agent = login,
        .note = jstr(b, "note"),
        .callback_at = at > 0 ? at : 0,
        .callback_agent = !who || !strcmp(who, "me") ? login
                          : !strcmp(who, "anyone")   ? NULL
                                                     : who,
    };
    json_t *prods = json_object_get(b, "products");
    for (size_t i = 0; i < json_array_size(prods); i++)
        if (!json_is_string(json_array_get(prods, i)))
            r.code = NULL;
    if (r.contact_id <= 0 || !r.code) {
        reply_rc(req, PLT_EINVAL,
                 "contact_id and code are required; "
                 "products are codes");
        return;
    }
    op *o = op_new(req, r.campaign);
    if (!o)
        return;
    o->contact_id = r.contact_id;
    snprintf(o->agent, sizeof(o->agent), "%s", login ? login : "");
    o->products = prods ? json_copy(prods) : json_array();
    int rc = dialer_svc_set_result(dh->D, &r, result_set, o);
    if (rc != 0)
        op_answer(o, rc,
                  rc == PLT_EINVAL ? "not a result code of this campaign, or "
                                     "a callback without its time"
                                   : NULL);
}

/* ---- pacing log ---- */

static int
pacing_row(void *arg, const plt_dialer_pacing_entry *e)
{
    op *o = arg;
    json_t *ex = e->explain ? json_loads(e->explain, 0, NULL) : NULL;
    json_array_append_new(o->reply, json_pack("{s:I, s:i, s:o}", "at", e->at,
                                              "lines", e->lines, "explain",
                                              ex ? ex : json_null()));
    return 0;
}

static void
pacing_done(void *arg, int status, const char *msg)
{
    op *o = arg;
    if (status != 0) {
        op_answer(o, status, msg);
        return;
    }
    size_t n = json_array_size(o->reply);
    dh->vt->reply_page(dh->impl, o->req, json_incref(o->reply), 0, (int64_t)n,
                       -1);
    op_free(o);
}

static void
h_pacing(void *arg, plt_http_req *req)
{
    (void)arg;
    op *o = op_new(req, dh->vt->param(dh->impl, req, "name"));
    if (!o)
        return;
    const char *s = dh->vt->query(dh->impl, req, "since");
    int64_t since = s ? strtoll(s, NULL, 10) : 0;
    int64_t off, limit;
    dh->vt->page_args(dh->impl, req, &off, &limit);
    o->reply = json_array();
    int rc = dialer_svc_pacing_log(dh->D, o->name, since, (int32_t)limit,
                                   pacing_row, pacing_done, o);
    if (rc != 0)
        op_answer(o, rc, NULL);
}

/* ---- preview ---- */

static void
h_preview_get(void *arg, plt_http_req *req)
{
    (void)arg;
    json_t *p = json_object_get(dh->previews, me(req));
    if (!p) {
        reply_rc(req, PLT_ENOENT, "nothing is previewed for you");
        return;
    }
    dh->vt->reply_json(dh->impl, req, 200, json_incref(p));
}

static void
h_preview_act(void *arg, plt_http_req *req)
{
    bool dial = arg != NULL;
    const char *login = me(req);
    json_t *b = dh->vt->body_json(dh->impl, req);
    json_t *ix = json_object_get(b, "phone_index");
    int rc =
        dial ? dialer_svc_preview_dial(
                   dh->D, login,
                   json_is_integer(ix) ? (int32_t)json_integer_value(ix) : -1)
             : dialer_svc_preview_skip(dh->D, login);
    if (rc != 0) {
        reply_rc(req, rc,
                 rc == PLT_ENOENT ? "nothing is previewed for you" : NULL);
        return;
    }
    json_object_del(dh->previews, login);
    dh->vt->reply_json(dh->impl, req, 202, json_pack("{s:b}", "ok", 1));
}

/* ---- live figures ---- */

static void
push_stats(void *arg)
{
    (void)arg;
    dh->stats_timer = NULL; /* one-shot: released after this call */
    const char *name;
    json_t *v;
    json_object_foreach(dh->dirty, name, v)
    {
        json_t *o = json_pack("{s:s}", "campaign", name);
        campaign *c = dialer_campaign_find(dh->D, name);
        if (!o || !c || dialer_svc_stats(dh->D, name, stats_into, o) != 0) {
            json_decref(o);
            continue;
        }
        json_object_set_new(o, "mode",
                            json_string(plt_dial_mode_name(c->def.c.mode)));
        dh->vt->push(dh->impl, NULL, PLT_HTTP_STAFF, "dialer.stats", o);
    }
    json_object_clear(dh->dirty);
}

static void
on_attempt(const plt_event *ev, void *arg)
{
    (void)arg;
    const char *camp = plt_event_str(ev, "campaign");
    if (!camp)
        return;
    json_object_set_new(dh->dirty, camp, json_true());
    if (!dh->stats_timer && plt_timer_start(&dh->stats_timer, STATS_PUSH_MS, 0,
                                            push_stats, NULL) != 0)
        dh->stats_timer = NULL;
}

/* The preview an agent was offered, so that a reloaded desk shows it; it
 * is forgotten once dialled, skipped or timed out (its attempt starts or
 * another is offered). */
static void
on_dialer_event(const plt_event *ev, void *arg)
{
    (void)arg;
    const char *topic = plt_event_topic(ev);
    const char *agent = plt_event_str(ev, "agent");
    if (!agent || !*agent)
        return;
    if (!strcmp(topic, "dialer.preview.offered"))
        json_object_set_new(dh->previews, agent, htc_event_json(ev));
    else if (!strcmp(topic, "dialer.attempt.started"))
        json_object_del(dh->previews, agent);
}

/* ------------------------------------------------------------------ */

#define R(m, p, r, f, a, sum)                                                  \
    {                                                                          \
        .size = sizeof(plt_http_route), .method = m, .path = p, .roles = r,    \
        .flags = PLT_HTTP_TOKEN_OK, .fn = f, .arg = a, .summary = sum          \
    }

static const plt_http_route routes[] = {
    R("GET", "/campaigns", PLT_HTTP_STAFF, h_list, NULL,
      "every campaign with its live figures"),
    R("POST", "/campaigns", PLT_HTTP_ADMIN, h_create, NULL,
      "create a campaign (the wizard) with its desk profile"),
    R("GET", "/campaigns/{name}", PLT_HTTP_ANY_USER, h_get, NULL,
      "a campaign: definition, live figures, desk profile"),
    R("PUT", "/campaigns/{name}", PLT_HTTP_ADMIN, h_update, NULL,
      "replace a stored campaign's definition and desk profile"),
    R("PUT", "/campaigns/{name}/desk", PLT_HTTP_ADMIN, h_desk, NULL,
      "replace a campaign's desk profile (script, fields, products...)"),
    R("POST", "/campaigns/{name}/start", PLT_HTTP_STAFF, h_switch, (void *)1,
      "switch a campaign ON"),
    R("POST", "/campaigns/{name}/stop", PLT_HTTP_STAFF, h_switch, NULL,
      "switch a campaign OFF (calls in progress finish)"),
    R("GET", "/campaigns/{name}/stats", PLT_HTTP_STAFF, h_stats, NULL,
      "a campaign's live figures"),
    R("POST", "/campaigns/{name}/results", PLT_HTTP_ANY_USER, h_result, NULL,
      "the result of a call: code, note, callback, products sold"),
    R("GET", "/campaigns/{name}/pacing", PLT_HTTP_STAFF, h_pacing, NULL,
      "why N lines now: the pacing decisions, newest first"),
    R("GET", "/dialer/preview", PLT_HTTP_ANY_USER, h_preview_get, NULL,
      "the contact previewed for me"),
    R("POST", "/dialer/preview/dial", PLT_HTTP_ANY_USER, h_preview_act,
      (void *)1, "dial the contact previewed for me"),
    R("POST", "/dialer/preview/skip", PLT_HTTP_ANY_USER, h_preview_act, NULL,
      "skip the contact previewed for me"),
};

static const plt_http_forward forwards[] = {
    {.size = sizeof(plt_http_forward),
     .pattern = "dialer.pacing",
     .roles = PLT_HTTP_STAFF},
    {.size = sizeof(plt_http_forward),
     .pattern = "dialer.campaign.changed",
     .roles = PLT_HTTP_STAFF},
    {.size = sizeof(plt_http_forward),
     .pattern = "dialer.preview.offered",
     .owner_field = "agent"},
    {.size = sizeof(plt_http_forward),
     .pattern = "dialer.callback.due",
     .owner_field = "agent"},
};

int
dialer_http_start(dialer *D)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_HTTP_NAME, PLT_HTTP_MAJOR, 0, &ref);
    if (rc == PLT_ENOSERVICE)
        return 0; /* no web plugin */
    if (rc != 0)
        return rc;
    dh = calloc(1, sizeof(*dh));
    if (!dh || !(dh->previews = json_object()) ||
        !(dh->dirty = json_object())) {
        if (dh)
            json_decref(dh->previews);
        free(dh);
        dh = NULL;
        return PLT_ENOMEM;
    }
    dh->D = D;
    dh->vt = ref.vtable;
    dh->impl = ref.impl;
    if (!(dh->moh = json_object()))
        return PLT_ENOMEM;
    /* Campaigns' hold music, for the agents' hold (agents 1.1). */
    if (D->ag.vt->size > offsetof(plt_agents_vt, set_hold_music) &&
        D->ag.vt->set_hold_music &&
        D->ag.vt->set_hold_music(D->ag.impl, moh_of, NULL) == 0)
        dh->moh_set = true;
    if ((rc = plt_storage_exec(&D->st,
                               "SELECT name, settings FROM campaign_ui", NULL,
                               0, 0, moh_row, moh_loaded, NULL)) != 0)
        return rc;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if ((rc = dh->vt->route(dh->impl, &routes[i])) != 0)
            return rc;
    for (size_t i = 0; i < sizeof(forwards) / sizeof(forwards[0]); i++)
        if ((rc = dh->vt->forward(dh->impl, &forwards[i])) != 0)
            return rc;
    if ((rc = plt_subscribe("dialer.preview.offered", on_dialer_event, NULL,
                            &dh->sub)) != 0)
        return rc;
    if ((rc = plt_subscribe("dialer.attempt.started", on_dialer_event, NULL,
                            &dh->sub2)) != 0)
        return rc;
    return plt_subscribe("dialer.attempt.*", on_attempt, NULL, &dh->sub3);
}

void
dialer_http_stop(void)
{
    if (dh && dh->sub)
        plt_unsubscribe(dh->sub);
    if (dh && dh->sub2)
        plt_unsubscribe(dh->sub2);
    if (dh && dh->sub3)
        plt_unsubscribe(dh->sub3);
    if (dh && dh->stats_timer)
        plt_timer_stop(dh->stats_timer);
    if (dh && dh->moh_set)
        dh->D->ag.vt->set_hold_music(dh->D->ag.impl, NULL, NULL);
    if (dh)
        dh->moh_set = false;
    if (dh)
        dh->sub = dh->sub2 = dh->sub3 = NULL, dh->stats_timer = NULL;
}

void
dialer_http_fini(void)
{
    if (!dh)
        return;
    json_decref(dh->previews);
    json_decref(dh->dirty);
    json_decref(dh->moh);
    free(dh);
    dh = NULL;
}
