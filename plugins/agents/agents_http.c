/* SPDX-License-Identifier: MIT */
/*
 * The agents plugin in front of the browser, through the optional `http`
 * service (plateau/svc/http.h): the agent's own console (connect my phone,
 * ready / pause / back, hang up, hold, transfer, manual dial, my last
 * calls) and the supervisor's view of every agent (list, force a state).
 * Without the web plugin none of this is registered and the plugin works
 * as before.
 *
 * Pushes: agent.state_changed (and repairs, pause overruns) go to staff and
 * to the agent concerned; the call.* events of an agent's phone leg and of
 * the customer leg it is talking to go to that agent only, and entering a
 * call pushes `agent.call` (the screen pop: the customer's number and the
 * leg's var_* variables, e.g. var_contact_id, var_campaign_id). The last
 * ten calls of each agent are kept in memory (since start).
 *
 * Hold from the desk plays the music of the call's campaign: the leg's
 * var_campaign_id is asked of whoever registered set_hold_music (agents
 * 1.1; the dialer, for its desk profiles), else the configured hold_music.
 */
#include <stdlib.h>
#include <string.h>

#include "agents_http.h"
#include "http_common.h"

#define RECENT_MAX 10

typedef struct agents_http {
    agents *s;
    const plt_http_vt *vt;
    void *impl;
    plt_sub *sub_call, *sub_state;
    json_t *legs;   /* live customer legs: leg id -> {number, vars...} */
    json_t *recent; /* login -> [last calls, newest first] */
} agents_http;

static agents_http *ah;

/* ------------------------------------------------------------------ */
/* helpers */

static void
reply_rc(plt_http_req *req, int rc)
{
    int st = 500;
    const char *code = "internal";
    switch (rc) {
    case PLT_EINVAL: st = 400; code = "invalid_argument"; break;
    case PLT_ENOENT: st = 404; code = "not_found"; break;
    case PLT_ESTATE: st = 409; code = "invalid_state"; break;
    case PLT_EEXIST: st = 409; code = "conflict"; break;
    case PLT_EAGAIN:
    case PLT_ESHUTDOWN: st = 503; code = "unavailable"; break;
    default: break;
    }
    ah->vt->reply_error(ah->impl, req, st, code, plt_strerror(rc));
}

static const char *
body_str(plt_http_req *req, const char *key)
{
    json_t *b = ah->vt->body_json(ah->impl, req);
    return b ? json_string_value(json_object_get(b, key)) : NULL;
}

static const char *
me(plt_http_req *req)
{
    return ah->vt->principal(ah->impl, req)->login;
}

static int32_t
state_from_name(const char *n)
{
    for (int32_t i = PLT_AGENT_LOGGED_OUT; n && i <= PLT_AGENT_OUTBOUND; i++)
        if (!strcmp(plt_agent_state_name(i), n))
            return i;
    return 0;
}

/* An event's fields as a JSON object (new reference). */
static json_t *
info_json(const plt_agent_info *a)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "agent", a->agent, "state",
                          plt_agent_state_name(a->state), "since", a->since,
                          "logged_in_at", a->logged_in_at);
    if (!o)
        return NULL;
    if (a->reason)
        json_object_set_new(o, "reason", json_string(a->reason));
    if (a->phone)
        json_object_set_new(o, "phone", json_string(a->phone));
    if (a->pending_pause)
        json_object_set_new(o, "pending_pause", json_string(a->pending_pause));
    json_object_set_new(o, "pending_logout", json_boolean(a->pending_logout));
    json_object_set_new(o, "missed_offers", json_integer(a->missed_offers));
    if (a->call_leg_id) {
        json_object_set_new(o, "call_leg_id", json_string(a->call_leg_id));
        json_t *leg = json_object_get(ah->legs, a->call_leg_id);
        if (leg)
            json_object_set(o, "call", leg);
    }
    return o;
}

/* ------------------------------------------------------------------ */
/* the agent's own console */

static void
got_me(void *arg, int status, const plt_agent_info *a)
{
    json_t **out = arg;
    if (status == 0 && a)
        *out = info_json(a);
}

static json_t *
me_json(const char *login)
{
    json_t *o = NULL;
    if (agents_get(ah->s, login, got_me, &o) != 0 || !o)
        o = json_pack("{s:s, s:s}", "agent", login, "state", "logged_out");
    if (!o)
        return NULL;
    json_t *r = json_array();
    for (size_t i = 0; r && i < ah->s->cfg.npause_reasons; i++)
        json_array_append_new(r, json_string(ah->s->cfg.pause_reasons[i]));
    json_object_set_new(o, "pause_reasons", r);
    json_t *rec = json_object_get(ah->recent, login);
    json_object_set_new(o, "recent_calls", rec ? json_copy(rec) : json_array());
    return o;
}

static bool recent_load_for(plt_http_req *req, const char *login);
static void h_me_reply(plt_http_req *req, const char *login);

static void
h_me(void *arg, plt_http_req *req)
{
    (void)arg;
    if (!recent_load_for(req, me(req)))
        h_me_reply(req, me(req));
}

static void
h_login(void *arg, plt_http_req *req)
{
    (void)arg;
    const char *phone = body_str(req, "phone");
    char buf[80];
    if (!phone || !*phone || strlen(phone) > 64) {
        ah->vt->reply_error(ah->impl, req, 400, "invalid_argument",
                            "phone: an extension or a +E.164 number");
        return;
    }
    /* Bare digits are an extension; "+..." a number Plateau calls. */
    if (phone[0] != '+' && strncmp(phone, "agent:", 6) != 0) {
        snprintf(buf, sizeof(buf), "agent:%s", phone);
        phone = buf;
    }
    const plt_http_principal *p = ah->vt->principal(ah->impl, req);
    plt_agent_login l = {.size = sizeof(l), .agent = p->login, .phone = phone,
                         .keep_up = true, .origin = p->remote_addr};
    int rc = agents_login(ah->s, &l, NULL, NULL);
    if (rc != 0) {
        reply_rc(req, rc);
        return;
    }
    ah->vt->reply_json(ah->impl, req, 202, me_json(p->login));
}

static void
h_logout(void *arg, plt_http_req *req)
{
    (void)arg;
    json_t *b = ah->vt->body_json(ah->impl, req);
    bool now = b && json_is_true(json_object_get(b, "now"));
    int rc = agents_logout(ah->s, me(req), now, me(req), NULL, NULL);
    if (rc != 0)
        reply_rc(req, rc);
    else
        ah->vt->reply_json(ah->impl, req, 200, me_json(me(req)));
}

/* set_state for the agent, or force_state for a supervisor (@p by). */
static int
change_state(const char *who, const char *state, const char *reason,
             const char *by)
{
    int32_t st = state_from_name(state);
    if (!st)
        return PLT_EINVAL;
    if (by)
        return agents_force_state(ah->s, who, st, reason, by, NULL, NULL);
    return agents_set_state(ah->s, who, st, reason, NULL, NULL);
}

static void
h_state(void *arg, plt_http_req *req)
{
    (void)arg;
    int rc = change_state(me(req), body_str(req, "state"),
                          body_str(req, "reason"), NULL);
    if (rc != 0)
        reply_rc(req, rc);
    else
        ah->vt->reply_json(ah->impl, req, 200, me_json(me(req)));
}

/* The agent's current customer leg (a new reference) or NULL. */
static plt_leg *
my_customer_leg(const char *login)
{
    agent *a = agents_find(ah->s, login);
    plt_leg *leg = NULL;
    if (!a || !a->call_leg_id || !ah->s->have_tel)
        return NULL;
    if (ah->s->tel.vt->leg_find(ah->s->tel.impl, a->call_leg_id, &leg) != 0)
        return NULL;
    return leg;
}

int
agents_set_hold_music(void *impl, plt_hold_music_fn fn, void *arg)
{
    agents *s = impl;
    s->hold_fn = fn;
    s->hold_arg = fn ? arg : NULL;
    return 0;
}

/* What a held customer leg hears: its campaign's music (asked of whoever
 * named it, the dialer, by the leg's var_campaign_id), else the site's
 * hold_music, else silence (NULL). */
static const char *
hold_music_of(agents *s, const char *leg_id)
{
    json_t *vars = json_object_get(json_object_get(ah->legs, leg_id), "vars");
    const char *campaign =
        json_string_value(json_object_get(vars, "campaign_id"));
    const char *music = campaign && s->hold_fn
                            ? s->hold_fn(s->hold_arg, campaign)
                            : NULL;
    return music && *music ? music : s->cfg.hold_music;
}

static void
h_call(void *arg, plt_http_req *req)
{
    const char *what = arg;
    plt_leg *leg = my_customer_leg(me(req));
    if (!leg) {
        ah->vt->reply_error(ah->impl, req, 409, "invalid_state",
                            "no call in progress");
        return;
    }
    const plt_telephony_vt *t = ah->s->tel.vt;
    void *ti = ah->s->tel.impl;
    int rc;
    if (!strcmp(what, "hangup")) {
        rc = t->hangup(ti, leg, 0, PLT_BY_AGENT);
    } else if (!strcmp(what, "hold")) {
        rc = t->hold(ti, leg,
                     hold_music_of(ah->s, agents_find(ah->s, me(req))
                                              ->call_leg_id));
    } else if (!strcmp(what, "resume")) {
        rc = t->resume(ti, leg);
    } else {
        const char *dest = body_str(req, "destination");
        rc = dest && *dest ? t->transfer_blind(ti, leg, dest) : PLT_EINVAL;
    }
    t->leg_unref(ti, leg);
    if (rc != 0)
        reply_rc(req, rc);
    else
        ah->vt->reply_json(ah->impl, req, 200, json_pack("{s:s}", "done", what));
}

static void
h_dial(void *arg, plt_http_req *req)
{
    (void)arg;
    const char *number = body_str(req, "number");
    const char *login = me(req);
    agent *a = agents_find(ah->s, login);
    if (!number || !*number) {
        ah->vt->reply_error(ah->impl, req, 400, "invalid_argument",
                            "number is required");
        return;
    }
    if (!a || !a->leg_up || !ah->s->have_tel ||
        !agents_fsm_allowed(AT_OUTBOUND, a->state, PLT_AGENT_OUTBOUND)) {
        ah->vt->reply_error(ah->impl, req, 409, "invalid_state",
                            "connect your phone and pause first");
        return;
    }
    /* The customer leg carries the agent, so that its answer is bridged
     * to the agent's phone and its end starts the wrap-up (on_call). */
    plt_kv vars[] = {{"agent", login}, {"manual", "1"}};
    plt_originate o = {.size = sizeof(o), .destination = number,
                       .role = PLT_LEG_CUSTOMER, .vars = vars, .nvars = 2};
    plt_leg *leg = NULL;
    int rc = ah->s->tel.vt->originate(ah->s->tel.impl, &o, &leg);
    if (rc != 0) {
        reply_rc(req, rc);
        return;
    }
    plt_leg_info li = {.size = sizeof(li)};
    ah->s->tel.vt->leg_info(ah->s->tel.impl, leg, &li);
    json_t *r = json_pack("{s:s, s:s}", "leg_id", li.id, "number", number);
    json_object_set_new(ah->legs, li.id,
                        json_pack("{s:s, s:s, s:s, s:{}}", "leg_id", li.id,
                                  "number", number, "direction", "outbound",
                                  "vars"));
    rc = agents_outbound_started(ah->s, login, li.id);
    ah->s->tel.vt->leg_unref(ah->s->tel.impl, leg);
    if (rc != 0) {
        json_decref(r);
        reply_rc(req, rc);
        return;
    }
    ah->vt->reply_json(ah->impl, req, 200, r);
}

/* ------------------------------------------------------------------ */
/* supervisors */

static int
list_row(void *arg, const plt_agent_info *a)
{
    json_array_append_new(arg, info_json(a));
    return 0;
}

static void
h_list(void *arg, plt_http_req *req)
{
    (void)arg;
    json_t *items = json_array();
    if (!items || agents_list(ah->s, list_row, NULL, items) != 0) {
        json_decref(items);
        ah->vt->reply_error(ah->impl, req, 500, "internal", "cannot list");
        return;
    }
    size_t n = json_array_size(items);
    ah->vt->reply_page(ah->impl, req, items, 0, (int64_t)n, (int64_t)n);
}

static void
h_one(void *arg, plt_http_req *req)
{
    (void)arg;
    json_t *o = NULL;
    agents_get(ah->s, ah->vt->param(ah->impl, req, "login"), got_me, &o);
    if (!o)
        ah->vt->reply_error(ah->impl, req, 404, "not_found", "not logged in");
    else
        ah->vt->reply_json(ah->impl, req, 200, o);
}

static void
h_force(void *arg, plt_http_req *req)
{
    (void)arg;
    const char *who = ah->vt->param(ah->impl, req, "login");
    const char *state = body_str(req, "state");
    int rc;
    if (state && !strcmp(state, "logged_out"))
        rc = agents_logout(ah->s, who, true, me(req), NULL, NULL);
    else
        rc = change_state(who, state, body_str(req, "reason"), me(req));
    if (rc != 0) {
        reply_rc(req, rc);
        return;
    }
    json_t *o = NULL;
    agents_get(ah->s, who, got_me, &o);
    ah->vt->audit(ah->impl, req, "agent.state_forced", who, state);
    ah->vt->reply_json(ah->impl, req, 200,
                       o ? o : json_pack("{s:s}", "state", "logged_out"));
}

/* ------------------------------------------------------------------ */
/* WebSocket messages */

static void
ws_state(void *arg, plt_ws_msg *m)
{
    bool force = arg != NULL;
    json_t *d = ah->vt->ws_data(ah->impl, m);
    const plt_http_principal *p = ah->vt->ws_principal(ah->impl, m);
    const char *who = force ? json_string_value(json_object_get(d, "agent"))
                            : p->login;
    const char *state = json_string_value(json_object_get(d, "state"));
    const char *reason = json_string_value(json_object_get(d, "reason"));
    int rc = who ? change_state(who, state, reason, force ? p->login : NULL)
                 : PLT_EINVAL;
    if (rc != 0) {
        ah->vt->ws_reply_error(ah->impl, m,
                               rc == PLT_ESTATE ? "invalid_state"
                               : rc == PLT_EINVAL ? "invalid_argument"
                                                  : "not_found",
                               plt_strerror(rc));
        return;
    }
    json_t *o = NULL;
    agents_get(ah->s, who, got_me, &o);
    ah->vt->ws_reply(ah->impl, m, o);
}

const plt_storage_migration agents_http_migrations[] = {
    {.version = 1,
     .name = "create agent_call",
     .sql = "CREATE TABLE agent_call (id PLT_ID, agent TEXT NOT NULL,"
            " number TEXT, direction TEXT, vars TEXT, ended_at BIGINT NOT NULL,"
            " talk_ms BIGINT NOT NULL, outcome TEXT);"
            "CREATE INDEX agent_call_agent ON agent_call (agent, ended_at)"},
};
const size_t agents_http_nmigrations =
    sizeof(agents_http_migrations) / sizeof(agents_http_migrations[0]);

/* ------------------------------------------------------------------ */
/* events: screen pop, the agent's call events, last calls */

/* The logged-in agent whose phone leg or customer leg is @p leg_id. */
static agent *
agent_of_leg(const char *leg_id)
{
    for (size_t i = 0; leg_id && i < ah->s->n; i++) {
        agent *a = ah->s->v[i];
        if (a->state == PLT_AGENT_LOGGED_OUT)
            continue;
        if ((a->leg_id && !strcmp(a->leg_id, leg_id)) ||
            (a->call_leg_id && !strcmp(a->call_leg_id, leg_id)))
            return a;
    }
    return NULL;
}

static void
call_stored(void *arg, int status, const plt_storage_result *res)
{
    (void)arg;
    if (status != 0)
        plt_log(PLT_LOG_WARN, "agents: cannot keep a call in the history: %s",
                res && res->error ? res->error : plt_strerror(status));
}

/* Kept in agent_call (the desk's "my last calls" after a restart) and in
 * the agent's cached list when it was loaded already. */
static void
remember_call(const char *login, json_t *leg, const plt_event *ended)
{
    json_t *rec = json_object_get(ah->recent, login);
    json_t *c = json_pack("{s:O?, s:O?, s:O?, s:I, s:I, s:s?}", "number",
                          json_object_get(leg, "number"), "direction",
                          json_object_get(leg, "direction"), "vars",
                          json_object_get(leg, "vars"), "ended_at",
                          plt_event_time(ended), "talk_ms",
                          plt_event_i64(ended, "talk_ms", 0), "outcome",
                          plt_event_str(ended, "outcome"));
    if (!c)
        return;
    char *vars = json_dumps(json_object_get(c, "vars"), JSON_COMPACT);
    plt_value v[] = {PLT_V_STR(login),
                     PLT_V_STR(json_string_value(json_object_get(c, "number"))),
                     PLT_V_STR(json_string_value(json_object_get(c, "direction"))),
                     PLT_V_STR(vars),
                     plt_v_i64(plt_event_time(ended)),
                     plt_v_i64(plt_event_i64(ended, "talk_ms", 0)),
                     PLT_V_STR(plt_event_str(ended, "outcome"))};
    if (ah->s->log.have_st)
        plt_storage_exec(&ah->s->log.st,
                         "INSERT INTO agent_call (agent, number, direction,"
                         " vars, ended_at, talk_ms, outcome) VALUES ($1, $2,"
                         " $3, $4, $5, $6, $7)",
                         v, 7, PLT_STORAGE_WRITE, NULL, call_stored, NULL);
    free(vars);
    if (!rec) {
        json_decref(c);
        return;
    }
    json_array_insert_new(rec, 0, c);
    while (json_array_size(rec) > RECENT_MAX)
        json_array_remove(rec, RECENT_MAX);
}

/* ---- my last calls, read from storage once per agent ---- */

typedef struct recent_load {
    plt_http_req *req;
    char login[128];
    json_t *items;
} recent_load;

static int
recent_row(void *arg, const plt_storage_row *row)
{
    recent_load *l = arg;
    if (row->ncols < 6)
        return 0;
    const plt_value *v = row->vals;
    json_t *vars = v[2].type == PLT_T_STR ? json_loads(v[2].v.s, 0, NULL) : NULL;
    json_array_append_new(
        l->items,
        json_pack("{s:s?, s:s?, s:o?, s:I, s:I, s:s?}", "number",
                  v[0].type == PLT_T_STR ? v[0].v.s : NULL, "direction",
                  v[1].type == PLT_T_STR ? v[1].v.s : NULL, "vars", vars,
                  "ended_at", v[3].v.i, "talk_ms", v[4].v.i, "outcome",
                  v[5].type == PLT_T_STR ? v[5].v.s : NULL));
    return 0;
}

static void
h_me_reply(plt_http_req *req, const char *login)
{
    json_t *o = me_json(login);
    if (!o)
        ah->vt->reply_error(ah->impl, req, 500, "internal", "out of memory");
    else
        ah->vt->reply_json(ah->impl, req, 200, o);
}

static void
recent_done(void *arg, int status, const plt_storage_result *res)
{
    recent_load *l = arg;
    (void)res;
    /* A calls list that could not be read is empty, not an error: the
     * rest of the desk still works. */
    if (ah && !json_object_get(ah->recent, l->login))
        json_object_set(ah->recent, l->login,
                        status == 0 ? l->items : json_array());
    if (ah)
        h_me_reply(l->req, l->login);
    json_decref(l->items);
    free(l);
}

/* Whether @p login's last calls are being loaded for @p req (which is
 * then answered by recent_done()). */
static bool
recent_load_for(plt_http_req *req, const char *login)
{
    if (json_object_get(ah->recent, login) || !ah->s->log.have_st)
        return false;
    recent_load *l = calloc(1, sizeof(*l));
    if (!l || !(l->items = json_array())) {
        free(l);
        return false;
    }
    l->req = req;
    snprintf(l->login, sizeof(l->login), "%s", login);
    plt_value v[] = {PLT_V_STR(login), plt_v_i64(RECENT_MAX)};
    if (plt_storage_exec(&ah->s->log.st,
                         "SELECT number, direction, vars, ended_at, talk_ms,"
                         " outcome FROM agent_call WHERE agent = $1"
                         " ORDER BY ended_at DESC, id DESC LIMIT $2",
                         v, 2, 0, recent_row, recent_done, l) != 0) {
        json_decref(l->items);
        free(l);
        return false;
    }
    return true;
}

static void
on_call(const plt_event *ev, void *arg)
{
    (void)arg;
    const char *topic = plt_event_topic(ev);
    const char *leg_id = plt_event_str(ev, "leg_id");
    const char *role = plt_event_str(ev, "role");
    if (!leg_id)
        return;
    if (!strcmp(topic, "call.created") && role && !strcmp(role, "customer")) {
        /* Remember what the screen pop needs: the number and variables. */
        const char *dir = plt_event_str(ev, "direction");
        const char *num = dir && !strcmp(dir, "inbound")
                              ? plt_event_str(ev, "from")
                              : plt_event_str(ev, "destination");
        json_t *vars = json_object();
        size_t n = plt_event_count(ev);
        for (size_t i = 0; i < n; i++) {
            const char *k;
            plt_value v;
            if (plt_event_field_at(ev, i, &k, &v) == 0 &&
                v.type == PLT_T_STR && !strncmp(k, "var_", 4))
                json_object_set_new(vars, k + 4, json_string(v.v.s));
        }
        json_t *old = json_object_get(ah->legs, leg_id);
        json_t *leg = json_pack("{s:s, s:s?, s:s?, s:o, s:I}", "leg_id",
                                leg_id, "number", num ? num : "", "direction",
                                dir, "vars", vars, "created_at",
                                plt_event_time(ev));
        if (leg && old) /* a manual dial already named it */
            json_object_set(leg, "number", json_object_get(old, "number"));
        if (leg)
            json_object_set_new(ah->legs, leg_id, leg);
    }
    const char *vagent = plt_event_str(ev, "var_agent");
    agent *a = agent_of_leg(leg_id);
    if (!a && vagent)
        a = agents_find(ah->s, vagent);
    /* A manual dial: bridge the answered customer to the agent's phone. */
    if (vagent && a && !strcmp(topic, "call.answered") && a->leg &&
        a->call_leg_id && !strcmp(a->call_leg_id, leg_id)) {
        plt_leg *leg = NULL;
        if (ah->s->tel.vt->leg_find(ah->s->tel.impl, leg_id, &leg) == 0) {
            ah->s->tel.vt->bridge(ah->s->tel.impl, a->leg, leg);
            ah->s->tel.vt->leg_unref(ah->s->tel.impl, leg);
        }
    }
    if (a) {
        json_t *d = htc_event_json(ev);
        ah->vt->push(ah->impl, a->login, 0, topic, d);
    }
    if (!strcmp(topic, "call.ended")) {
        json_t *leg = json_object_get(ah->legs, leg_id);
        if (a && leg && a->call_leg_id && !strcmp(a->call_leg_id, leg_id)) {
            remember_call(a->login, leg, ev);
            if (vagent && a->state == PLT_AGENT_OUTBOUND)
                agents_call_ended(ah->s, a->login, 0);
        }
        json_object_del(ah->legs, leg_id);
    }
}

static void
on_state(const plt_event *ev, void *arg)
{
    (void)arg;
    const char *to = plt_event_str(ev, "to");
    const char *login = plt_event_str(ev, "agent");
    if (!to || !login ||
        (strcmp(to, "in_call") != 0 && strcmp(to, "outbound") != 0))
        return;
    agent *a = agents_find(ah->s, login);
    if (!a || !a->call_leg_id)
        return;
    json_t *leg = json_object_get(ah->legs, a->call_leg_id);
    json_t *d = leg ? json_copy(leg)
                    : json_pack("{s:s, s:s}", "leg_id", a->call_leg_id,
                                "number", "");
    ah->vt->push(ah->impl, login, 0, "agent.call", d);
}

/* ------------------------------------------------------------------ */
/* registration */

#define R(m, p, r, f, a, sum)                                                 \
    {.size = sizeof(plt_http_route), .method = m, .path = p, .roles = r,      \
     .fn = f, .arg = a, .summary = sum}

static const plt_http_route routes[] = {
    R("GET", "/agents/me", PLT_HTTP_ANY_USER, h_me, NULL,
      "my agent session: state, reason, timer, call, pause reasons"),
    R("POST", "/agents/me/login", PLT_HTTP_ANY_USER, h_login, NULL,
      "connect my phone (extension or +number) and log in"),
    R("POST", "/agents/me/logout", PLT_HTTP_ANY_USER, h_logout, NULL,
      "log out (after the current call unless now)"),
    R("POST", "/agents/me/state", PLT_HTTP_ANY_USER, h_state, NULL,
      "available, pause (with a reason) or wrap_up"),
    R("POST", "/agents/me/call/hangup", PLT_HTTP_ANY_USER, h_call, "hangup",
      "hang up my current call"),
    R("POST", "/agents/me/call/hold", PLT_HTTP_ANY_USER, h_call, "hold",
      "put my customer on hold"),
    R("POST", "/agents/me/call/resume", PLT_HTTP_ANY_USER, h_call, "resume",
      "take my customer back"),
    R("POST", "/agents/me/call/transfer", PLT_HTTP_ANY_USER, h_call,
      "transfer", "blind transfer to a destination"),
    R("POST", "/agents/me/dial", PLT_HTTP_ANY_USER, h_dial, NULL,
      "manual dial"),
    R("GET", "/agents", PLT_HTTP_STAFF, h_list, NULL,
      "every logged-in agent with state and time in state"),
    R("GET", "/agents/{login}", PLT_HTTP_STAFF, h_one, NULL,
      "one logged-in agent, with the call in progress"),
    R("POST", "/agents/{login}/state", PLT_HTTP_STAFF, h_force, NULL,
      "force an agent's state (supervisor)"),
};

static const plt_ws_type ws_types[] = {
    {.size = sizeof(plt_ws_type), .type = "agent.set_state",
     .roles = PLT_HTTP_ANY_USER, .fn = ws_state, .arg = NULL,
     .summary = "available / pause / wrap_up for myself"},
    {.size = sizeof(plt_ws_type), .type = "agent.force_state",
     .roles = PLT_HTTP_STAFF, .fn = ws_state, .arg = (void *)1,
     .summary = "force an agent's state"},
};

static const plt_http_forward forwards[] = {
    {.size = sizeof(plt_http_forward), .pattern = "agent.state_changed",
     .roles = PLT_HTTP_STAFF, .owner_field = "agent"},
    {.size = sizeof(plt_http_forward), .pattern = "agent.state_repaired",
     .roles = PLT_HTTP_STAFF, .owner_field = "agent"},
    {.size = sizeof(plt_http_forward), .pattern = "agent.pause_exceeded",
     .roles = PLT_HTTP_STAFF, .owner_field = "agent"},
};

int
agents_http_start(agents *s)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_HTTP_NAME, PLT_HTTP_MAJOR, 0, &ref);
    if (rc == PLT_ENOSERVICE)
        return 0; /* no web plugin: nothing to register */
    if (rc != 0)
        return rc;
    ah = calloc(1, sizeof(*ah));
    if (!ah)
        return PLT_ENOMEM;
    ah->s = s;
    ah->vt = ref.vtable;
    ah->impl = ref.impl;
    ah->legs = json_object();
    ah->recent = json_object();
    if (!ah->legs || !ah->recent)
        return PLT_ENOMEM;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if ((rc = ah->vt->route(ah->impl, &routes[i])) != 0)
            return rc;
    for (size_t i = 0; i < sizeof(ws_types) / sizeof(ws_types[0]); i++)
        if ((rc = ah->vt->ws_type(ah->impl, &ws_types[i])) != 0)
            return rc;
    for (size_t i = 0; i < sizeof(forwards) / sizeof(forwards[0]); i++)
        if ((rc = ah->vt->forward(ah->impl, &forwards[i])) != 0)
            return rc;
    if ((rc = plt_subscribe("call.*", on_call, NULL, &ah->sub_call)) != 0 ||
        (rc = plt_subscribe("agent.state_changed", on_state, NULL,
                            &ah->sub_state)) != 0)
        return rc;
    return 0;
}

void
agents_http_stop(void)
{
    if (!ah)
        return;
    if (ah->sub_call)
        plt_unsubscribe(ah->sub_call);
    if (ah->sub_state)
        plt_unsubscribe(ah->sub_state);
    json_decref(ah->legs);
    json_decref(ah->recent);
    free(ah);
    ah = NULL;
}
