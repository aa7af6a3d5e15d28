/* SPDX-License-Identifier: MIT */
/*
 * The dialling engine: on each tick (and when agents or calls change) it
 * decides how many lines each enabled campaign places, reserves that many
 * contacts, checks each one again (do-not-call and the opposition list,
 * the pack's cap per consumer across campaigns, silences after a refusal
 * or an abandoned call, per-number schedules), writes the attempt
 * DURABLY, and only then originates. Answered calls go to the campaign's
 * ACD queue (or straight to the bound agent for previews and personal
 * callbacks); one not connected within the connect deadline is abandoned:
 * it hears the abandon message, is hung up, and is counted. When the leg
 * ends, the attempt's outcome and the contact's next state (retry rules
 * per outcome, next number) are recorded through leads, durably.
 *
 * CRASH SAFETY. Sequence per contact: reserved (leads, committed) ->
 * checks -> attempt row 'pending' (durable) -> originate -> ... -> row
 * 'ended' with its outcome (durable) -> leads.attempt_done (durable) ->
 * row 'recorded'. On start, recovery turns every 'pending' row of this
 * owner into 'interrupted' (the call may have left: never dial it again
 * for that attempt; the contact is finished through attempt_done with
 * outcome "interrupted"), replays attempt_done for every 'ended' row
 * (the crash came between the two writes: without it the contact, still
 * reserved, would be released and dialled again), turns every 'deferred'
 * row (trunk full: nothing was sent) into 'cancelled', and releases every
 * other contact the owner still holds (never dialled).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialer_int.h"

/* How often a reservation reaches contacts whose zone is unknown. */
#define STRAYS_EVERY_MS (5 * 60000)

static void attempt_checks_next(attempt *a);
static void attempt_dial(attempt *a);
static void attempt_finish(attempt *a);
static void attempt_cancel(attempt *a);

/* ------------------------------------------------------------------ */
/* the abandonment window */

void
dialer_ab_add(campaign *c, int64_t at, int32_t live, double abandoned)
{
    if (c->nab == c->capab) {
        size_t cap = c->capab ? c->capab * 2 : 64;
        void *n = realloc(c->ab, cap * sizeof(*c->ab));
        if (!n)
            return;
        c->ab = n;
        c->capab = cap;
    }
    c->ab[c->nab++] = (struct ab_entry){at, live, abandoned};
}

void
dialer_ab_rate(campaign *c, int64_t now, uint64_t *live, double *abandoned)
{
    int64_t from;
    const dialer_pack *p = c->pack;
    if (p && p->abandon_daily) {
        dialer_local l;
        /* Local midnight of the site: step back by the minutes elapsed. */
        if (dialer_local_time(now, c->D->site_tz, "UTC", &l) == 0)
            from = now - (int64_t)l.minute * 60000 - now % 60000;
        else
            from = now - now % DIALER_DAY_MS;
    } else if (p && p->abandon_window_ms) {
        from = now - p->abandon_window_ms;
    } else {
        from = now - DIALER_DAY_MS;
    }
    /* Drop what no window can need any more (31 days). */
    size_t drop = 0;
    while (drop < c->nab && c->ab[drop].at < now - 31 * DIALER_DAY_MS)
        drop++;
    if (drop) {
        memmove(c->ab, c->ab + drop, (c->nab - drop) * sizeof(*c->ab));
        c->nab -= drop;
    }
    *live = 0;
    *abandoned = 0;
    for (size_t i = 0; i < c->nab; i++)
        if (c->ab[i].at >= from) {
            *live += (uint64_t)c->ab[i].live;
            *abandoned += c->ab[i].abandoned;
        }
}

/* ------------------------------------------------------------------ */
/* attempts */

static attempt *
attempt_new(campaign *c)
{
    dialer *D = c->D;
    attempt *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->camp = c;
    a->state = AT_CHECKING;
    /* Unique across restarts: the owner, the start time, a sequence. */
    snprintf(a->ref, sizeof(a->ref), "A%llx-%llu",
             (unsigned long long)plt_now(), (unsigned long long)++D->seq);
    a->next = D->attempts;
    D->attempts = a;
    c->reserving++;
    return a;
}

static void
attempt_free(attempt *a)
{
    dialer *D = a->camp->D;
    for (attempt **p = &D->attempts; *p; p = &(*p)->next)
        if (*p == a) {
            *p = a->next;
            break;
        }
    if (a->deadline)
        plt_timer_stop(a->deadline);
    if (a->preview_timer)
        plt_timer_stop(a->preview_timer);
    if (a->leg)
        D->tel.vt->leg_unref(D->tel.impl, a->leg);
    free(a);
}

static attempt *
attempt_by_ref(dialer *D, const char *ref)
{
    for (attempt *a = D->attempts; ref && a; a = a->next)
        if (!strcmp(a->ref, ref))
            return a;
    return NULL;
}

/* The campaign's own list of agents; without one, the agents of its ACD
 * queue (every logged-in agent when the ACD cannot say). */
bool
dialer_campaign_has_agent(const campaign *c, const char *agent)
{
    if (!c->def.c.nagents) {
        const dialer *D = c->D;
        if (D->have_acd && c->def.c.queue && PLT_VT_HAS(D->acd.vt, serves))
            return D->acd.vt->serves(D->acd.impl, agent, c->def.c.queue);
        return true;
    }
    for (size_t i = 0; i < c->def.c.nagents; i++)
        if (!strcmp(c->def.c.agents[i], agent))
            return true;
    return false;
}

static bool
agent_busy_with_us(dialer *D, const char *agent)
{
    for (attempt *a = D->attempts; a; a = a->next)
        if (a->agent_bound && !strcmp(a->agent, agent))
            return true;
    return false;
}

static void
publish_attempt(attempt *a, const char *topic)
{
    plt_event *ev;
    if (plt_event_new(&ev, topic, 1) != 0)
        return;
    plt_event_set_str(ev, "campaign", a->camp->def.c.name);
    plt_event_set_str(ev, "attempt_id", a->ref);
    plt_event_set_i64(ev, "contact_id", a->contact_id);
    plt_event_set_str(ev, "phone", a->phone);
    if (a->leg_id[0])
        plt_event_set_str(ev, "leg_id", a->leg_id);
    if (a->agent[0])
        plt_event_set_str(ev, "agent", a->agent);
    plt_event_set_str(ev, "mode", plt_dial_mode_name(a->camp->def.c.mode));
    if (!strcmp(topic, "dialer.attempt.ended")) {
        plt_event_set_str(ev, "outcome", a->outcome);
        plt_event_set_bool(ev, "abandoned", a->abandoned);
        plt_event_set_bool(ev, "machine", a->machine);
        if (a->connected_agent[0])
            plt_event_set_str(ev, "connected_agent", a->connected_agent);
        plt_event_set_i64(ev, "ring_ms",
                          (a->answered_at ? a->answered_at : a->ended_at) -
                              a->started_at);
        plt_event_set_i64(ev, "talk_ms",
                          a->answered_at ? a->ended_at - a->answered_at : 0);
    }
    if (a->blocked)
        plt_event_set_str(ev, "rule", a->blocked_rule);
    plt_event_publish(ev);
}

/* ------------------------------------------------------------------ */
/* the contact's next state */

static const plt_dialer_retry *
retry_rule(const campaign *c, int cls)
{
    for (size_t i = 0; i < c->def.c.nretries; i++)
        if (c->def.c.retries[i].cls == cls)
            return &c->def.c.retries[i];
    return NULL;
}

static void
next_state(attempt *a, int32_t *status, int64_t *next)
{
    campaign *c = a->camp;
    int64_t now = plt_now();
    int cls = 0;
    *status = PLT_LEAD_AVAILABLE;
    *next = now + 3600000;
    if (a->connected) {
        *status = PLT_LEAD_DONE; /* the agent's result decides further */
        *next = 0;
        return;
    }
    if (!strcmp(a->outcome, "invalid_number") ||
        !strcmp(a->outcome, "rejected")) {
        /* Another number may still work. */
        if (a->nphones > 1 && a->lead_attempts + 1 < c->def.c.max_attempts) {
            *next = now;
            return;
        }
        *status = PLT_LEAD_FAILED;
        return;
    }
    if (a->abandoned)
        cls = PLT_RETRY_ABANDONED;
    else if (a->machine)
        cls = PLT_RETRY_MACHINE;
    else if (!strcmp(a->outcome, "no_answer"))
        cls = PLT_RETRY_NO_ANSWER;
    else if (!strcmp(a->outcome, "busy"))
        cls = PLT_RETRY_BUSY;
    else
        cls = PLT_RETRY_CONGESTION;
    const plt_dialer_retry *r = retry_rule(c, cls);
    int32_t max = r && r->max_attempts ? r->max_attempts : c->def.c.max_attempts;
    if (a->lead_attempts + 1 >= max ||
        a->lead_attempts + 1 >= c->def.c.max_attempts) {
        *status = PLT_LEAD_FAILED;
        return;
    }
    *next = now + (r ? r->delay_ms : 3600000);
    if (a->abandoned && c->pack && c->pack->after_abandon_ms &&
        *next < now + c->pack->after_abandon_ms)
        *next = now + c->pack->after_abandon_ms;
}

static void
attempt_done_cb(void *arg, int status, const char *msg)
{
    attempt *a = arg;
    if (status != 0 && status != PLT_ECONFLICT)
        plt_log(PLT_LOG_WARN, "attempt %s: contact %lld: %s", a->ref,
                (long long)a->contact_id, msg ? msg : plt_strerror(status));
    else
        /* Leads has it: recovery need not replay it. Not durable: a
         * replay after a crash only meets PLT_ECONFLICT. */
        dialer_store_attempt_state(a->camp->D, a, "recorded", false, NULL,
                                   NULL);
    a->camp->D->ops_in_flight--;
    dialer_kick(a->camp->D);
    attempt_free(a);
}

static void
row_written(void *arg, int status)
{
    attempt *a = arg;
    (void)status;
    dialer *D = a->camp->D;
    int32_t st;
    int64_t next;
    next_state(a, &st, &next);
    plt_lead_attempt la = {.size = sizeof(la),
                           .contact_id = a->contact_id,
                           .owner = D->owner,
                           .campaign = a->camp->def.c.name,
                           .phone = a->phone,
                           .outcome = a->outcome,
                           .sip_code = a->sip_code,
                           .started_at = a->started_at,
                           .answered_at = a->answered_at,
                           .ended_at = a->ended_at,
                           .agent = a->connected_agent[0] ? a->connected_agent
                                                          : NULL,
                           .attempt_ref = a->ref,
                           .new_status = st,
                           .next_attempt_at = next};
    if (D->leads.vt->attempt_done(D->leads.impl, &la, attempt_done_cb, a) ==
        0) {
        D->ops_in_flight++;
        return;
    }
    plt_log(PLT_LOG_WARN, "attempt %s: cannot record it in leads", a->ref);
    attempt_free(a);
}

/* A pooled call no longer waits for an agent (connected to one, or
 * abandoned at the deadline): it leaves the campaign's lines in flight,
 * so that a free agent gets a new line at once. */
static void
leave_pool(attempt *a)
{
    if (a->agent_bound || a->left_pool)
        return;
    a->left_pool = true;
    if (a->camp->in_flight)
        a->camp->in_flight--;
}

/* The leg ended (or the call never left): record, then free. */
static void
attempt_finish(attempt *a)
{
    campaign *c = a->camp;
    dialer *D = c->D;
    if (a->state == AT_ENDING)
        return;
    bool pooled = !a->agent_bound && !a->left_pool && a->state >= AT_DIALING;
    a->state = AT_ENDING;
    a->ended_at = plt_now();
    if (a->deadline) {
        plt_timer_stop(a->deadline);
        a->deadline = NULL;
    }
    if (pooled && c->in_flight)
        c->in_flight--;
    if (a->agent_bound && a->agent[0]) {
        if (a->connected)
            D->ag.vt->call_ended(D->ag.impl, a->agent, 0);
        else
            D->ag.vt->offer_failed(D->ag.impl, a->agent, a->offer_id, false);
    }
    /* Figures and the abandonment window. */
    if (a->answered_at) {
        if (a->machine)
            c->machines++;
        else
            c->answered++;
        double charge = a->abandoned ? 1.0 : 0.0;
        if (a->machine && c->pack && c->pack->count_amd_false_positives)
            charge += c->pack->amd_false_positive_rate;
        dialer_ab_add(c, a->answered_at, a->machine ? 0 : 1, charge);
    }
    if (a->abandoned) {
        c->abandoned++;
        if (c->pack && c->pack->after_abandon_ms)
            dialer_store_block(D, a->contact_id, a->phone, "abandon",
                               a->ended_at + c->pack->after_abandon_ms);
    }
    dialer_pacing_observe(D, c, a);
    publish_attempt(a, "dialer.attempt.ended");
    if (dialer_store_attempt_state(D, a, "ended", true, row_written, a) != 0)
        row_written(a, PLT_ENOMEM);
}

/* ------------------------------------------------------------------ */
/* a contact that may not be dialled now */

static void
blocked_done(void *arg, int status, const char *msg)
{
    attempt *a = arg;
    (void)msg;
    (void)status;
    a->camp->D->ops_in_flight--;
    attempt_free(a);
}

static void
attempt_block(attempt *a)
{
    dialer *D = a->camp->D;
    if (!a->written) {
        a->camp->reserving--;
    } else {
        /* Written but never sent (it waited for a trunk channel): the row
         * says so, and the line leaves the campaign's count. */
        if (!a->agent_bound && a->camp->in_flight)
            a->camp->in_flight--;
        if (a->camp->attempts)
            a->camp->attempts--;
        dialer_store_attempt_state(D, a, "cancelled", true, NULL, NULL);
    }
    plt_event *ev;
    if (plt_event_new(&ev, "dialer.contact.blocked", 1) == 0) {
        plt_event_set_str(ev, "campaign", a->camp->def.c.name);
        plt_event_set_i64(ev, "contact_id", a->contact_id);
        /* No number chosen (all on do-not-call, or none open now): the
         * contact's numbers say which were held back. */
        char all[PLT_LEADS_MAX_PHONES * 25] = "";
        size_t n = 0;
        for (size_t i = 0; i < a->nphones && n < sizeof(all); i++)
            n += (size_t)snprintf(all + n, sizeof(all) - n, "%s%s",
                                  i ? "," : "", a->phones[i]);
        plt_event_set_str(ev, "phone",
                          a->phone[0] || !a->nphones ? a->phone
                                                     : a->phones[0]);
        plt_event_set_str(ev, "phones", all);
        plt_event_set_str(ev, "rule", a->blocked_rule);
        plt_event_set_time(ev, "until", a->blocked_until);
        plt_event_publish(ev);
    }
    /* Not an attempt: nothing was dialled. The contact goes back with its
     * next time set to when the rule allows it (DNC: for good). */
    char outcome[40];
    snprintf(outcome, sizeof(outcome), "blocked:%s", a->blocked_rule);
    bool dnc = !strcmp(a->blocked_rule, "dnc");
    plt_lead_attempt la = {.size = sizeof(la),
                           .contact_id = a->contact_id,
                           .owner = D->owner,
                           .campaign = a->camp->def.c.name,
                           .phone = a->phone[0] ? a->phone : NULL,
                           .outcome = outcome,
                           .attempt_ref = a->ref,
                           .new_status = dnc ? PLT_LEAD_DNC
                                             : PLT_LEAD_AVAILABLE,
                           .next_attempt_at = a->blocked_until};
    if (a->agent_bound)
        D->ag.vt->offer_failed(D->ag.impl, a->agent, a->offer_id, false);
    a->agent_bound = false;
    /* Held back is not an attempt: with leads 1.1 the contact goes back
     * with only its next time changed (the attempt count stays). */
    if (!dnc && PLT_VT_HAS(D->leads.vt, release_until)) {
        int64_t until = a->blocked_until > plt_now() + 60000
                            ? a->blocked_until
                            : plt_now() + 60000;
        if (D->leads.vt->release_until(D->leads.impl, D->owner, a->contact_id,
                                       until, blocked_done, a) == 0) {
            D->ops_in_flight++;
            return;
        }
    }
    if (D->leads.vt->attempt_done(D->leads.impl, &la, blocked_done, a) == 0) {
        D->ops_in_flight++;
        return;
    }
    attempt_free(a);
}

static void
released(void *arg, int status, const char *msg)
{
    dialer *D = arg;
    D->ops_in_flight--;
    if (status != 0)
        plt_log(PLT_LOG_WARN, "cannot give contacts back: %s",
                msg ? msg : plt_strerror(status));
}

/* At stop: give back the contacts previewed by agents (nothing is under
 * way for them). Every other contact this node holds stays reserved until
 * the next start's recovery: one whose attempt is written may have been
 * dialled, and released now it could be dialled again. */
void
dialer_release_idle(dialer *D)
{
    for (attempt *a = D->attempts; a; a = a->next)
        if (a->preview && a->state == AT_CHECKING && !a->written &&
            !a->phone[0] && a->pending_checks == 0)
            dialer_release(D, a->contact_id);
}

/* Give back a reserved contact (0 = every one this node holds). */
void
dialer_release(dialer *D, int64_t contact_id)
{
    if (D->leads.vt->release(D->leads.impl, D->owner, contact_id, released,
                             D) == 0)
        D->ops_in_flight++;
}

/* ------------------------------------------------------------------ */
/* checks before the durable write */

static void
dnc_cb(void *arg, int status, bool yes)
{
    attempt *a = arg;
    a->camp->D->ops_in_flight--;
    a->pending_checks--;
    if (status != 0) {
        /* Unknown: not this time (a failed check says nothing about the
         * number: the contact is not marked do-not-call for it). */
        a->dnc_error = true;
        a->phone[0] = 0;
        plt_log(PLT_LOG_WARN, "dnc_check failed: %s", plt_strerror(status));
    } else if (yes) {
        /* This number is blocked: try the contact's others. */
        a->dnc_mask |= 1u << a->phone_i;
        a->phone[0] = 0;
    }
    if (a->pending_checks == 0)
        attempt_checks_next(a);
}

static void
store_checks_cb(void *arg, int status)
{
    attempt *a = arg;
    (void)status;
    if (a->blocked) {
        attempt_block(a);
        return;
    }
    a->started_at = plt_now();
    a->pending_checks = -1; /* marks: write the attempt */
    attempt_checks_next(a);
}

static void
inserted(void *arg, int status)
{
    attempt *a = arg;
    if (status != 0) {
        /* Not written: do not dial. The contact goes back as it was. */
        snprintf(a->blocked_rule, sizeof(a->blocked_rule), "error");
        a->blocked = true;
        a->blocked_until = plt_now() + 60000;
        attempt_block(a);
        return;
    }
    a->camp->reserving--;
    if (!a->camp->enabled && !a->camp->D->stopping) {
        /* Switched OFF meanwhile: no new call. */
        a->written = true;
        a->camp->attempts++;
        if (!a->agent_bound)
            a->camp->in_flight++;
        attempt_cancel(a);
        return;
    }
    if (a->camp->D->stopping) {
        /* Written while Plateau stops: nothing is dialled any more. The
         * row says so (durably, or recovery would count an attempt), and
         * the next start's recovery gives the contact back. */
        dialer_store_attempt_state(a->camp->D, a, "cancelled", true, NULL,
                                   NULL);
        attempt_free(a);
        return;
    }
    a->camp->attempts++;
    a->written = true;
    a->state = AT_READY;
    if (!a->agent_bound)
        a->camp->in_flight++;
    attempt_dial(a);
}

/* Is another live attempt on one of @p a's numbers, or on its contact? */
static bool
consumer_busy(const attempt *a)
{
    for (const attempt *o = a->camp->D->attempts; o; o = o->next) {
        if (o == a || o->state == AT_ENDING || (!o->phone[0] && !o->written))
            continue;
        if (o->contact_id == a->contact_id && o->camp == a->camp)
            return true;
        for (size_t i = 0; i < a->nphones; i++)
            if (!strcmp(o->phone, a->phones[i]))
                return true;
    }
    return false;
}

/* Pick the number to try, then check it: DNC (campaign and global),
 * the pack's opposition list, then the stored rules; then write. */
static void
attempt_checks_next(attempt *a)
{
    campaign *c = a->camp;
    dialer *D = c->D;
    int64_t now = plt_now();
    if (a->pending_checks == -1) {
        a->pending_checks = 0;
        if (dialer_store_attempt_insert(D, a, inserted, a) != 0)
            inserted(a, PLT_ENOMEM);
        return;
    }
    if (a->phone[0] && a->pending_checks == 0) {
        /* Number chosen and it passed DNC: the stored rules. */
        if (dialer_store_checks(D, a, store_checks_cb, a) != 0) {
            a->blocked = true;
            snprintf(a->blocked_rule, sizeof(a->blocked_rule), "error");
            a->blocked_until = now + 60000;
            attempt_block(a);
        }
        return;
    }
    if (a->dnc_error) {
        a->blocked = true;
        snprintf(a->blocked_rule, sizeof(a->blocked_rule), "error");
        a->blocked_until = now + 60000;
        attempt_block(a);
        return;
    }
    /* Choose: by order, starting at the number after the ones tried (then
     * round to the first ones); by schedule, the first whose rule allows
     * it now. Numbers found on a do-not-call list are passed over. */
    size_t start = a->phone_i;
    for (size_t k = 0; k < a->nphones; k++) {
        size_t i = (start + k) % a->nphones;
        const char *tz = a->phone_tz[i][0] ? a->phone_tz[i] : a->tz;
        if ((a->dnc_mask & (1u << i)) || !dialer_open_at(c, tz, now) ||
            !dialer_phone_allowed(c, a->phone_types[i], tz, now))
            continue;
        a->phone_i = i;
        snprintf(a->phone, sizeof(a->phone), "%s", a->phones[i]);
        break;
    }
    if (!a->phone[0]) {
        a->blocked = true;
        if (a->nphones &&
            a->dnc_mask == (uint32_t)((1ull << a->nphones) - 1)) {
            snprintf(a->blocked_rule, sizeof(a->blocked_rule), "dnc");
            a->blocked_until = 0;
        } else {
            snprintf(a->blocked_rule, sizeof(a->blocked_rule), "hours");
            a->blocked_until = dialer_next_open(
                c, a->tz, a->nphones ? a->phone_types[0] : 0, now);
        }
        attempt_block(a);
        return;
    }
    /* One consumer, one call at a time: another campaign (or list) may
     * hold the same number right now, and the cap counts only what is
     * written. */
    if (consumer_busy(a)) {
        a->blocked = true;
        snprintf(a->blocked_rule, sizeof(a->blocked_rule), "in_call");
        a->blocked_until = now + 60000;
        attempt_block(a);
        return;
    }
    a->pending_checks = 1;
    if (D->leads.vt->dnc_check(D->leads.impl, c->def.c.name, a->phone, dnc_cb,
                               a) == 0)
        D->ops_in_flight++;
    else
        a->pending_checks--;
    if (c->pack && c->pack->opposition_list[0]) {
        a->pending_checks++;
        if (D->leads.vt->dnc_check(D->leads.impl, c->pack->opposition_list,
                                   a->phone, dnc_cb, a) == 0)
            D->ops_in_flight++;
        else
            a->pending_checks--;
    }
    if (a->pending_checks == 0)
        attempt_checks_next(a);
}

/* ------------------------------------------------------------------ */
/* dialling */

static void
redial_written(void *arg, int status)
{
    attempt *a = arg;
    a->state = AT_READY;
    if (status != 0) {
        a->deferred = true; /* the next tick tries again */
        return;
    }
    attempt_dial(a);
}

static void
deferred_written(void *arg, int status)
{
    (void)arg;
    (void)status;
}

static void
attempt_dial(attempt *a)
{
    campaign *c = a->camp;
    dialer *D = c->D;
    plt_kv vars[] = {{"campaign_id", c->def.c.name},
                     {"attempt_id", a->ref}};
    plt_originate o = {.size = sizeof(o),
                       .destination = a->phone,
                       .trunk = c->def.c.trunk,
                       .caller_id = c->def.c.caller_id,
                       .ring_timeout_ms = c->def.c.ring_timeout_ms,
                       .role = PLT_LEG_CUSTOMER,
                       .vars = vars,
                       .nvars = 2,
                       .flags = c->def.c.amd ? PLT_ORIG_AMD : 0};
    plt_leg *leg = NULL;
    int rc = D->tel.vt->originate(D->tel.impl, &o, &leg);
    if (rc == PLT_EAGAIN) {
        /* Trunk full: nothing was sent. Keep the reservation and the
         * attempt; say so durably enough that a crash does not count it
         * as dialled ('deferred'); the next tick tries again. */
        a->state = AT_READY;
        a->deferred = true;
        dialer_store_attempt_state(D, a, "deferred", false, deferred_written,
                                   NULL);
        return;
    }
    if (rc != 0) {
        plt_log_err(PLT_LOG_WARN, rc, "campaign %s: cannot dial %s",
                    c->def.c.name, a->phone);
        snprintf(a->outcome, sizeof(a->outcome), "failed");
        a->state = AT_DIALING;
        attempt_finish(a);
        return;
    }
    a->leg = leg;
    plt_leg_info li = {.size = sizeof(li)};
    if (D->tel.vt->leg_info(D->tel.impl, leg, &li) == 0 && li.id)
        snprintf(a->leg_id, sizeof(a->leg_id), "%s", li.id);
    a->state = AT_DIALING;
    publish_attempt(a, "dialer.attempt.started");
}

/* A READY attempt (trunk was full): do-not-call is checked again (time
 * has passed since the first check), then 'pending' is written again,
 * durably, then the call is originated. */
static void
redial_dnc_cb(void *arg, int status, bool yes)
{
    attempt *a = arg;
    dialer *D = a->camp->D;
    D->ops_in_flight--;
    if (status != 0)
        a->redial_failed = true;
    else if (yes)
        a->redial_blocked = true;
    if (--a->pending_checks > 0)
        return;
    if (a->redial_blocked || a->redial_failed) {
        a->blocked = true;
        snprintf(a->blocked_rule, sizeof(a->blocked_rule), "%s",
                 a->redial_blocked ? "dnc" : "error");
        a->blocked_until = a->redial_blocked ? 0 : plt_now() + 60000;
        attempt_block(a);
        return;
    }
    if (dialer_store_attempt_state(D, a, "pending", true, redial_written,
                                   a) != 0) {
        a->state = AT_READY;
        a->deferred = true;
    }
}

static void
attempt_redial(attempt *a)
{
    campaign *c = a->camp;
    dialer *D = c->D;
    const char *scopes[2] = {c->def.c.name,
                             c->pack && c->pack->opposition_list[0]
                                 ? c->pack->opposition_list
                                 : NULL};
    a->state = AT_CHECKING; /* not picked twice while this runs */
    a->deferred = false;
    a->redial_blocked = a->redial_failed = false;
    a->pending_checks = 1; /* held until every check is asked */
    for (size_t i = 0; i < 2; i++)
        if (scopes[i] && D->leads.vt->dnc_check(D->leads.impl, scopes[i],
                                                a->phone, redial_dnc_cb,
                                                a) == 0) {
            a->pending_checks++;
            D->ops_in_flight++;
        }
    D->ops_in_flight++;
    redial_dnc_cb(a, 0, false);
}

/* ------------------------------------------------------------------ */
/* answered calls */

static void
deadline_cb(void *arg)
{
    attempt *a = arg;
    dialer *D = a->camp->D;
    a->deadline = NULL;
    if (a->state != AT_ANSWERED || a->connected)
        return;
    a->abandoned = true;
    a->state = AT_ABANDONING;
    leave_pool(a);
    if (a->request_id[0] && D->have_acd)
        D->acd.vt->cancel(D->acd.impl, a->request_id, "connect deadline");
    plt_event *ev;
    if (plt_event_new(&ev, "dialer.call.abandoned", 1) == 0) {
        plt_event_set_str(ev, "campaign", a->camp->def.c.name);
        plt_event_set_str(ev, "attempt_id", a->ref);
        plt_event_set_i64(ev, "contact_id", a->contact_id);
        plt_event_set_str(ev, "leg_id", a->leg_id);
        plt_event_set_str(ev, "reason", "deadline");
        plt_event_publish(ev);
    }
    const char *msg = a->camp->def.c.abandon_message;
    if (msg && a->leg &&
        D->tel.vt->play(D->tel.impl, a->leg, msg, 0, a->play_id) == 0)
        return; /* hang up when the message ends */
    if (a->leg)
        D->tel.vt->hangup(D->tel.impl, a->leg, 0, PLT_BY_SYSTEM);
}

static void
connect_call(attempt *a)
{
    campaign *c = a->camp;
    dialer *D = c->D;
    if (a->agent_bound) {
        plt_leg *phone = D->ag.vt->phone_leg(D->ag.impl, a->agent);
        int rc = phone ? D->tel.vt->bridge(D->tel.impl, a->leg, phone)
                       : PLT_ESTATE;
        if (phone)
            D->tel.vt->leg_unref(D->tel.impl, phone);
        if (rc == 0 && D->ag.vt->offer_answered(D->ag.impl, a->agent,
                                                a->offer_id, a->leg_id) == 0) {
            a->connected = true;
            a->state = AT_CONNECTED;
            snprintf(a->connected_agent, sizeof(a->connected_agent), "%s",
                     a->agent);
            return;
        }
        /* The agent is gone: the customer must not wait. */
        a->state = AT_ANSWERED;
        if (!a->deadline)
            plt_timer_start(&a->deadline, 0, 0, deadline_cb, a);
        return;
    }
    a->state = AT_ANSWERED;
    dialer_pacing_answered(D, c, a);
    plt_kv vars[] = {{"campaign_id", c->def.c.name}, {"attempt_id", a->ref}};
    plt_acd_request r = {.size = sizeof(r),
                         .queue = c->def.c.queue,
                         .leg_id = a->leg_id,
                         .vars = vars,
                         .nvars = 2};
    if (!D->have_acd ||
        D->acd.vt->enqueue(D->acd.impl, &r, a->request_id) != 0)
        a->request_id[0] = 0;
    plt_timer_start(&a->deadline, c->def.c.connect_deadline_ms, 0,
                    deadline_cb, a);
}

void
dialer_on_call(const plt_event *ev, void *arg)
{
    dialer *D = arg;
    attempt *a = attempt_by_ref(D, plt_event_str(ev, "var_attempt_id"));
    if (!a || a->state == AT_ENDING)
        return;
    const char *t = plt_event_topic(ev);
    const char *leg = plt_event_str(ev, "leg_id");
    if (leg && a->leg_id[0] && strcmp(leg, a->leg_id) != 0)
        return; /* a leg of the same call that is not the customer's */
    if (!strcmp(t, "call.answered")) {
        a->answered_at = plt_now();
        if (a->camp->def.c.amd)
            a->state = AT_ANSWERED; /* wait for the AMD result */
        else
            connect_call(a);
    } else if (!strcmp(t, "call.amd_result")) {
        const char *r = plt_event_str(ev, "result");
        snprintf(a->amd, sizeof(a->amd), "%s", r ? r : "");
        if (r && !strcmp(r, "machine")) {
            a->machine = true;
            dialer_pacing_answered(D, a->camp, a);
            D->tel.vt->hangup(D->tel.impl, a->leg, 0, PLT_BY_SYSTEM);
        } else {
            connect_call(a);
        }
    } else if (!strcmp(t, "call.play_finished")) {
        const char *pid = plt_event_str(ev, "play_id");
        if (a->state == AT_ABANDONING && pid && !strcmp(pid, a->play_id))
            D->tel.vt->hangup(D->tel.impl, a->leg, 0, PLT_BY_SYSTEM);
    } else if (!strcmp(t, "call.ended")) {
        const char *o = plt_event_str(ev, "outcome");
        snprintf(a->outcome, sizeof(a->outcome), "%s", o ? o : "failed");
        a->sip_code = (int32_t)plt_event_i64(ev, "sip_code", 0);
        if (a->machine)
            snprintf(a->outcome, sizeof(a->outcome), "machine");
        else if (a->abandoned)
            snprintf(a->outcome, sizeof(a->outcome), "abandoned");
        else if (a->answered_at && !a->connected &&
                 a->state == AT_ANSWERED) {
            /* Hung up while waiting for an agent: an abandon too. */
            a->abandoned = true;
            snprintf(a->outcome, sizeof(a->outcome), "abandoned");
        }
        attempt_finish(a);
    }
}

void
dialer_on_queue(const plt_event *ev, void *arg)
{
    dialer *D = arg;
    attempt *a = attempt_by_ref(D, plt_event_str(ev, "var_attempt_id"));
    if (!a || strcmp(plt_event_topic(ev), "queue.answered") != 0)
        return;
    if (a->state != AT_ANSWERED)
        return;
    a->connected = true;
    a->state = AT_CONNECTED;
    leave_pool(a);
    const char *ag = plt_event_str(ev, "agent");
    snprintf(a->connected_agent, sizeof(a->connected_agent), "%s",
             ag ? ag : "");
    if (a->deadline) {
        plt_timer_stop(a->deadline);
        a->deadline = NULL;
    }
    dialer_kick(D); /* one line fewer in flight: maybe one more to dial */
}

void
dialer_on_agent(const plt_event *ev, void *arg)
{
    dialer *D = arg;
    dialer_pacing_agent_event(D, ev);
    const char *to = plt_event_str(ev, "to");
    if (to && !strcmp(to, "available"))
        dialer_kick(D);
}

/* ------------------------------------------------------------------ */
/* reservation */

typedef struct rsv {
    campaign *c;
    char agent[64];
    bool preview, callback;
    int32_t got;
} rsv;

static void preview_expired(void *arg);

/* Say once per zone name that its contacts are dialled in the site's. */
static void
unknown_zone(dialer *D, const char *tz, int64_t contact_id)
{
    for (size_t i = 0; i < D->nunknown_zones; i++)
        if (!strcmp(D->unknown_zones[i], tz))
            return;
    if (D->nunknown_zones < sizeof(D->unknown_zones) / sizeof(D->unknown_zones[0]))
        snprintf(D->unknown_zones[D->nunknown_zones++],
                 sizeof(D->unknown_zones[0]), "%s", tz);
    if (tz[0])
        plt_log(PLT_LOG_NOTICE, "time zone '%s' (contact %lld) is unknown:"
                " its contacts are called in the hours of %s"
                " (site_time_zone); said once per zone", tz,
                (long long)contact_id, D->site_tz);
    else
        plt_log(PLT_LOG_NOTICE, "contact %lld has no time zone: contacts"
                " without one are called in the hours of %s"
                " (site_time_zone); said once", (long long)contact_id,
                D->site_tz);
}

static int
rsv_row(void *arg, const plt_lead *l)
{
    rsv *r = arg;
    attempt *a = attempt_new(r->c);
    if (!a)
        return 1;
    a->contact_id = l->id;
    snprintf(a->tz, sizeof(a->tz), "%s", l->time_zone ? l->time_zone : "");
    if (!dialer_tz_known(a->tz))
        unknown_zone(r->c->D, a->tz, l->id);
    a->lead_attempts = l->attempts;
    for (size_t i = 0; i < l->nphones && i < PLT_LEADS_MAX_PHONES; i++) {
        snprintf(a->phones[i], sizeof(a->phones[i]), "%s",
                 l->phones[i].e164 ? l->phones[i].e164 : "");
        a->phone_types[i] = l->phones[i].type;
        snprintf(a->phone_tz[i], sizeof(a->phone_tz[i]), "%s",
                 l->phones[i].time_zone ? l->phones[i].time_zone : "");
    }
    a->nphones = l->nphones < PLT_LEADS_MAX_PHONES ? l->nphones
                                                   : PLT_LEADS_MAX_PHONES;
    /* By order: after earlier attempts, start with the next number. */
    if (r->c->def.c.phone_order == PLT_PHONES_BY_ORDER && a->nphones > 1 &&
        l->last_outcome && strncmp(l->last_outcome, "blocked:", 8) != 0)
        a->phone_i = (size_t)l->attempts % a->nphones;
    if (r->agent[0]) {
        a->agent_bound = true;
        a->preview = r->preview;
        a->callback = l->callback_at > 0;
        snprintf(a->agent, sizeof(a->agent), "%s", r->agent);
    }
    r->got++;
    return 0;
}

static void
rsv_done(void *arg, int status, const char *msg)
{
    rsv *r = arg;
    campaign *c = r->c;
    dialer *D = c->D;
    D->ops_in_flight--;
    c->reserving--;
    if (status != 0)
        plt_log(PLT_LOG_WARN, "campaign %s: reserve: %s", c->def.c.name,
                msg ? msg : plt_strerror(status));
    /* Start the checks of every attempt this reservation created. */
    for (attempt *a = D->attempts; a; a = a->next) {
        if (a->camp != c || a->state != AT_CHECKING || a->pending_checks ||
            a->started_at || a->phone[0] || a->blocked)
            continue;
        if (a->agent_bound && !a->offer_id[0]) {
            snprintf(a->offer_id, sizeof(a->offer_id), "dialer-%s", a->ref);
            uint32_t to = a->preview ? c->def.c.preview_timeout_ms
                                     : c->def.c.ring_timeout_ms + 10000;
            if (D->ag.vt->offer(D->ag.impl, a->agent, a->offer_id,
                                to + 5000) != 0) {
                /* Someone else took the agent: give the contact back. */
                dialer_release(D, a->contact_id);
                c->reserving--;
                a->agent_bound = false;
                attempt_free(a);
                a = D->attempts;
                if (!a)
                    break;
                continue;
            }
            if (a->preview) {
                plt_event *ev;
                if (plt_event_new(&ev, "dialer.preview.offered", 1) == 0) {
                    plt_event_set_str(ev, "campaign", c->def.c.name);
                    plt_event_set_str(ev, "agent", a->agent);
                    plt_event_set_i64(ev, "contact_id", a->contact_id);
                    plt_event_set_str(ev, "preview_id", a->ref);
                    plt_event_set_i64(ev, "phones", (int64_t)a->nphones);
                    plt_event_publish(ev);
                }
                plt_timer_start(&a->preview_timer, to, 0, preview_expired, a);
                continue;
            }
            if (a->callback) {
                plt_event *ev;
                if (plt_event_new(&ev, "dialer.callback.due", 1) == 0) {
                    plt_event_set_str(ev, "campaign", c->def.c.name);
                    plt_event_set_str(ev, "agent", a->agent);
                    plt_event_set_i64(ev, "contact_id", a->contact_id);
                    plt_event_publish(ev);
                }
            }
        }
        attempt_checks_next(a);
    }
    free(r);
}

static int
reserve(campaign *c, int32_t n, const char *agent, bool preview)
{
    dialer *D = c->D;
    int64_t now = plt_now();
    const char **zones;
    size_t nz = dialer_open_zones(D, c, now, &zones);
    /* Contacts whose zone is unknown are in the site's zone, which no
     * zone filter can name: now and then, while the site's zone is open,
     * one reservation goes without the filter. A contact it brings from a
     * closed zone goes back until its zone opens. */
    bool strays = false;
    if (now - c->strays_at >= STRAYS_EVERY_MS &&
        dialer_open_at(c, D->site_tz, now)) {
        strays = true;
        c->strays_at = now;
    }
    if (nz == 0 && !strays)
        return 0;
    rsv *r = calloc(1, sizeof(*r));
    if (!r)
        return PLT_ENOMEM;
    r->c = c;
    r->preview = preview;
    if (agent)
        snprintf(r->agent, sizeof(r->agent), "%s", agent);
    plt_lead_filter f = {.size = sizeof(f),
                         .campaign = c->def.c.name,
                         .now = now,
                         .time_zones = strays ? NULL : zones,
                         .ntime_zones = strays ? 0 : nz,
                         .agent = agent,
                         .max_attempts = c->def.c.max_attempts};
    int rc = D->leads.vt->reserve(D->leads.impl, &f, D->owner, n, rsv_row,
                                  rsv_done, r);
    if (rc != 0) {
        free(r);
        return rc;
    }
    c->reserving++;
    D->ops_in_flight++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* preview */

static attempt *
preview_of(dialer *D, const char *agent)
{
    for (attempt *a = D->attempts; a; a = a->next)
        if (a->preview && a->state == AT_CHECKING && a->preview_timer &&
            !strcmp(a->agent, agent))
            return a;
    return NULL;
}

static void
preview_expired(void *arg)
{
    attempt *a = arg;
    a->preview_timer = NULL;
    a->blocked = true;
    snprintf(a->blocked_rule, sizeof(a->blocked_rule), "skipped");
    a->blocked_until = plt_now() + a->camp->D->skip_delay_ms;
    attempt_block(a);
}

int
dialer_svc_preview_dial(void *impl, const char *agent, int32_t idx)
{
    attempt *a = agent ? preview_of(impl, agent) : NULL;
    if (!a)
        return PLT_ENOENT;
    if (idx >= (int32_t)a->nphones)
        return PLT_EINVAL;
    plt_timer_stop(a->preview_timer);
    a->preview_timer = NULL;
    if (idx >= 0)
        a->phone_i = (size_t)idx;
    attempt_checks_next(a);
    return 0;
}

int
dialer_svc_preview_skip(void *impl, const char *agent)
{
    attempt *a = agent ? preview_of(impl, agent) : NULL;
    if (!a)
        return PLT_ENOENT;
    plt_timer_stop(a->preview_timer);
    a->preview_timer = NULL;
    a->blocked = true;
    snprintf(a->blocked_rule, sizeof(a->blocked_rule), "skipped");
    a->blocked_until = plt_now() + ((dialer *)impl)->skip_delay_ms;
    attempt_block(a);
    return 0;
}

/* ------------------------------------------------------------------ */
/* results */

typedef struct result_op {
    dialer *D;
    plt_dialer_done_fn done;
    void *arg;
} result_op;

static void
result_done(void *arg, int status, const char *msg)
{
    result_op *o = arg;
    o->D->ops_in_flight--;
    if (o->done)
        o->done(o->arg, status, msg);
    free(o);
}

/* A silence for a consumer: on the contact, and on each of its numbers,
 * which is what other campaigns and lists holding the same person see. */
typedef struct block_op {
    dialer *D;
    char kind[24];
    int64_t until;
} block_op;

static void
block_lead_cb(void *arg, int status, const plt_lead *l)
{
    block_op *o = arg;
    o->D->ops_in_flight--;
    for (size_t i = 0; status == 0 && l && i < l->nphones; i++)
        if (l->phones[i].e164)
            dialer_store_block(o->D, l->id, l->phones[i].e164, o->kind,
                               o->until);
    free(o);
}

static void
block_consumer(dialer *D, int64_t contact_id, const char *kind, int64_t until)
{
    dialer_store_block(D, contact_id, NULL, kind, until);
    block_op *o = calloc(1, sizeof(*o));
    if (!o)
        return;
    o->D = D;
    snprintf(o->kind, sizeof(o->kind), "%s", kind);
    o->until = until;
    if (D->leads.vt->get(D->leads.impl, contact_id, block_lead_cb, o) != 0) {
        plt_log(PLT_LOG_WARN, "contact %lld: %s silence kept on the contact"
                " only", (long long)contact_id, kind);
        free(o);
        return;
    }
    D->ops_in_flight++;
}

int
dialer_svc_set_result(void *impl, const plt_dialer_result *r,
                      plt_dialer_done_fn done, void *arg)
{
    dialer *D = impl;
    if (!r || !r->code || r->contact_id <= 0)
        return PLT_EINVAL;
    campaign *c = dialer_campaign_find(D, r->campaign);
    if (!c)
        return PLT_ENOENT;
    const plt_dialer_disposition *dp = NULL;
    for (size_t i = 0; i < c->def.c.ndispositions; i++)
        if (!strcmp(c->def.c.dispositions[i].code, r->code))
            dp = &c->def.c.dispositions[i];
    if (!dp)
        return PLT_EINVAL;
    if (dp->kind == PLT_DISPO_CALLBACK && r->callback_at <= 0)
        return PLT_EINVAL;
    int64_t now = plt_now();
    int32_t st = PLT_LEAD_DONE;
    switch (dp->kind) {
    case PLT_DISPO_CALLBACK: st = PLT_LEAD_CALLBACK; break;
    case PLT_DISPO_RETRY: st = PLT_LEAD_AVAILABLE; break;
    case PLT_DISPO_DNC: st = PLT_LEAD_DNC; break;
    default: break;
    }
    if (dp->kind == PLT_DISPO_REFUSAL && c->pack && c->pack->after_refusal_ms)
        block_consumer(D, r->contact_id, "refusal",
                       now + c->pack->after_refusal_ms);
    if (dp->kind == PLT_DISPO_CALLBACK) {
        dialer_store_callback(D, r->contact_id, c->def.c.name,
                              r->callback_agent, r->callback_at);
        dialer_callback_put(D, r->contact_id, c->def.c.name,
                            r->callback_agent, r->callback_at);
    }
    result_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->D = D;
    o->done = done;
    o->arg = arg;
    plt_lead_disposition d = {.size = sizeof(d),
                              .contact_id = r->contact_id,
                              .campaign = c->def.c.name,
                              .code = r->code,
                              .note = r->note,
                              .agent = r->agent,
                              .callback_at = dp->kind == PLT_DISPO_CALLBACK
                                                 ? r->callback_at
                                                 : 0,
                              .callback_agent = r->callback_agent,
                              .new_status = st};
    int rc = D->leads.vt->disposition(D->leads.impl, &d, result_done, o);
    if (rc != 0) {
        free(o);
        return rc;
    }
    D->ops_in_flight++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* the tick */

typedef struct avail_ctx {
    dialer *D;
    campaign *c;
    uint32_t n;
    const char *names[256];
} avail_ctx;

static int
avail_row(void *arg, const plt_agent_info *ai)
{
    avail_ctx *x = arg;
    if (!dialer_campaign_has_agent(x->c, ai->agent) ||
        agent_busy_with_us(x->D, ai->agent))
        return 0;
    if (x->n < 256)
        x->names[x->n] = ai->agent;
    x->n++;
    return 0;
}

uint32_t
dialer_agents_available(dialer *D, campaign *c)
{
    avail_ctx x = {.D = D, .c = c};
    if (D->started && D->ag.vt)
        D->ag.vt->available(D->ag.impl, avail_row, &x);
    return x.n;
}

static void
tick_campaign(dialer *D, campaign *c)
{
    int64_t now = plt_now();
    avail_ctx x = {.D = D, .c = c};
    D->ag.vt->available(D->ag.impl, avail_row, &x);
    /* Retry originates the trunk refused. */
    for (attempt *a = D->attempts; a; a = a->next)
        if (a->camp == c && a->state == AT_READY && a->deferred)
            attempt_redial(a);
    dialer_callbacks_refresh(D, c, now);
    if (c->reserving)
        return; /* one reservation at a time per campaign */
    /* Personal callbacks: when their agent is available. Callbacks for
     * anyone: by any available agent of the campaign. */
    for (size_t i = 0; i < D->ncbs; i++) {
        struct callback_due *cb = &D->cbs[i];
        if (strcmp(cb->campaign, c->def.c.name) || cb->at > now)
            continue;
        for (uint32_t k = 0; k < x.n && k < 256; k++) {
            if (!x.names[k] || (cb->agent[0] && strcmp(cb->agent, x.names[k])))
                continue;
            if (reserve(c, 1, x.names[k], false) == 0) {
                dialer_store_callback(D, cb->contact_id, cb->campaign, NULL,
                                      0);
                D->cbs[i] = D->cbs[--D->ncbs];
                return;
            }
        }
    }
    if (c->def.c.mode == PLT_DIAL_PREVIEW) {
        if (x.n && x.names[0])
            reserve(c, 1, x.names[0], true);
        return;
    }
    uint32_t logged = 0;
    int32_t lines = dialer_pace(D, c, x.n, &logged);
    if (c->def.c.max_lines && c->in_flight + (uint32_t)(lines > 0 ? lines : 0) >
                                  c->def.c.max_lines)
        lines = (int32_t)c->def.c.max_lines - (int32_t)c->in_flight;
    if (plt_log_enabled(PLT_LOG_DEBUG))
        plt_log(PLT_LOG_DEBUG, "campaign %s: %u agents available, %u lines in"
                " flight: %d new lines", c->def.c.name, x.n, c->in_flight,
                lines);
    if (lines > 0)
        reserve(c, lines, NULL, false);
}

/* An attempt written but not sent is given up: the row says so (durably,
 * or recovery would count an attempt) and the contact goes back as it
 * was. */
static void
attempt_cancel(attempt *a)
{
    dialer *D = a->camp->D;
    if (!a->agent_bound && a->camp->in_flight)
        a->camp->in_flight--;
    if (a->camp->attempts)
        a->camp->attempts--;
    dialer_store_attempt_state(D, a, "cancelled", true, NULL, NULL);
    dialer_release(D, a->contact_id);
    attempt_free(a);
}

/* A campaign switched OFF places no new call: what waits for a trunk
 * channel is given up. */
static void
drop_waiting(campaign *c)
{
    for (attempt *a = c->D->attempts, *next; a; a = next) {
        next = a->next;
        if (a->camp == c && a->state == AT_READY && a->deferred)
            attempt_cancel(a);
    }
}

static void
tick_cb(void *arg)
{
    dialer *D = arg;
    D->tick_soon = false;
    if (!D->started || D->stopping || !D->recovered)
        return;
    for (size_t i = 0; i < D->ncamps; i++)
        if (D->camps[i]->enabled)
            tick_campaign(D, D->camps[i]);
        else
            drop_waiting(D->camps[i]);
}

static plt_timer *kick_timer;

static void
kick_cb(void *arg)
{
    kick_timer = NULL;
    tick_cb(arg);
}

void
dialer_kick(dialer *D)
{
    if (D->tick_soon || !D->started || D->stopping)
        return;
    D->tick_soon = true;
    if (plt_timer_start(&kick_timer, 0, 0, kick_cb, D) != 0)
        D->tick_soon = false;
}

/* ------------------------------------------------------------------ */
/* recovery */

typedef struct rec_op {
    dialer *D;
    struct rec_row {
        char ref[40], campaign[48], phone[24], state[16], outcome[32];
        int64_t contact_id;
        bool connected;
    } *rows;
    size_t n, cap, i;
    dialer_store_fn cb;
    void *arg;
} rec_op;

static void rec_next(rec_op *o);

static int
rec_row_cb(void *arg, const plt_storage_row *row)
{
    rec_op *o = arg;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        void *n = realloc(o->rows, cap * sizeof(*o->rows));
        if (!n)
            return 1;
        o->rows = n;
        o->cap = cap;
    }
    struct rec_row *r = &o->rows[o->n++];
    snprintf(r->ref, sizeof(r->ref), "%s", row->vals[0].v.s);
    r->contact_id = row->vals[1].v.i;
    snprintf(r->campaign, sizeof(r->campaign), "%s", row->vals[2].v.s);
    snprintf(r->phone, sizeof(r->phone), "%s", row->vals[3].v.s);
    snprintf(r->state, sizeof(r->state), "%s", row->vals[4].v.s);
    snprintf(r->outcome, sizeof(r->outcome), "%s",
             row->vals[5].type == PLT_T_STR ? row->vals[5].v.s : "failed");
    /* Answered by a person and not abandoned: an agent had the call. */
    r->connected = row->vals[6].type == PLT_T_I64 && row->vals[6].v.i &&
                   row->vals[7].type == PLT_T_I64 && !row->vals[7].v.i;
    return 0;
}

static void
rec_finish(rec_op *o, int status)
{
    o->cb(o->arg, status);
    free(o->rows);
    free(o);
}

static void
rec_released(void *arg, int status, const char *msg)
{
    rec_op *o = arg;
    o->D->ops_in_flight--;
    if (status != 0)
        plt_log(PLT_LOG_WARN, "recovery: release: %s",
                msg ? msg : plt_strerror(status));
    rec_finish(o, 0);
}

static void
rec_row_updated(void *arg, int status, const plt_storage_result *res)
{
    rec_op *o = arg;
    (void)res;
    (void)status;
    o->D->ops_in_flight--;
    rec_next(o);
}

static void
rec_lead_done(void *arg, int status, const char *msg)
{
    rec_op *o = arg;
    o->D->ops_in_flight--;
    if (status != 0 && status != PLT_ECONFLICT)
        plt_log(PLT_LOG_WARN, "recovery: %s", msg ? msg : plt_strerror(status));
    struct rec_row *r = &o->rows[o->i - 1];
    bool sent = !strcmp(r->state, "pending");
    bool ended = !strcmp(r->state, "ended");
    plt_value v[] = {PLT_V_STR(r->ref),
                     PLT_V_STR(ended  ? "recorded"
                               : sent ? "interrupted"
                                      : "cancelled"),
                     PLT_V_STR(ended ? r->outcome
                               : sent ? "interrupted"
                                      : "cancelled")};
    if (plt_storage_exec(&o->D->st,
                         "UPDATE dialer_attempt SET state = $2, outcome = $3"
                         " WHERE ref = $1",
                         v, 3, PLT_STORAGE_WRITE | PLT_STORAGE_DURABLE, NULL,
                         rec_row_updated, o) != 0) {
        rec_next(o);
        return;
    }
    o->D->ops_in_flight++;
}

static void
rec_next(rec_op *o)
{
    dialer *D = o->D;
    while (o->i < o->n) {
        struct rec_row *r = &o->rows[o->i++];
        campaign *c = dialer_campaign_find(D, r->campaign);
        int32_t max = c ? c->def.c.max_attempts : 1;
        bool sent = !strcmp(r->state, "pending");
        bool ended = !strcmp(r->state, "ended");
        int rc;
        if (sent || ended) {
            /* Pending: it may have left: an attempt, never repeated as
             * such. Ended: it did, and its row says how; the crash came
             * before leads recorded it (a replay of what leads has is
             * refused with PLT_ECONFLICT). A call an agent took is done
             * (the agent's result decides what follows). */
            plt_lead_attempt la = {.size = sizeof(la),
                                   .contact_id = r->contact_id,
                                   .owner = D->owner,
                                   .campaign = r->campaign,
                                   .phone = r->phone,
                                   .outcome = ended ? r->outcome
                                                    : "interrupted",
                                   .attempt_ref = r->ref,
                                   .new_status = ended && r->connected
                                                     ? PLT_LEAD_DONE
                                                 : max <= 1
                                                     ? PLT_LEAD_FAILED
                                                     : PLT_LEAD_AVAILABLE,
                                   .next_attempt_at = plt_now() + 3600000};
            rc = D->leads.vt->attempt_done(D->leads.impl, &la, rec_lead_done,
                                           o);
        } else {
            rc = D->leads.vt->release(D->leads.impl, D->owner, r->contact_id,
                                      rec_lead_done, o);
        }
        if (rc == 0) {
            D->ops_in_flight++;
            return;
        }
    }
    /* Everything else this owner holds was never dialled. */
    if (D->leads.vt->release(D->leads.impl, D->owner, 0, rec_released, o) ==
        0) {
        D->ops_in_flight++;
        return;
    }
    rec_finish(o, 0);
}

static void
rec_selected(void *arg, int status, const plt_storage_result *res)
{
    rec_op *o = arg;
    o->D->ops_in_flight--;
    if (status != 0) {
        plt_log(PLT_LOG_ERROR, "recovery: %s",
                res && res->error ? res->error : plt_strerror(status));
        rec_finish(o, status);
        return;
    }
    if (o->n)
        plt_log(PLT_LOG_NOTICE, "recovery: %zu attempts were in flight", o->n);
    rec_next(o);
}

void
dialer_recover(dialer *D, dialer_store_fn cb, void *arg)
{
    rec_op *o = calloc(1, sizeof(*o));
    if (!o) {
        cb(arg, PLT_ENOMEM);
        return;
    }
    o->D = D;
    o->cb = cb;
    o->arg = arg;
    plt_value v[] = {PLT_V_STR(D->owner)};
    if (plt_storage_exec(&D->st,
                         "SELECT ref, contact_id, campaign, phone, state,"
                         " outcome, live, abandoned FROM dialer_attempt WHERE"
                         " owner = $1"
                         " AND state IN ('pending', 'deferred', 'ended')"
                         " ORDER BY id",
                         v, 1, 0, rec_row_cb, rec_selected, o) != 0) {
        free(o);
        cb(arg, PLT_EIO);
        return;
    }
    D->ops_in_flight++;
}

/* ------------------------------------------------------------------ */

void
dialer_engine_start(dialer *D)
{
    plt_timer_start(&D->tick, (uint64_t)D->tick_ms, (uint64_t)D->tick_ms,
                    tick_cb, D);
}

void
dialer_engine_stop(dialer *D)
{
    if (D->tick)
        plt_timer_stop(D->tick);
    D->tick = NULL;
    if (kick_timer)
        plt_timer_stop(kick_timer);
    kick_timer = NULL;
    for (attempt *a = D->attempts; a; a = a->next) {
        if (a->deadline)
            plt_timer_stop(a->deadline);
        a->deadline = NULL;
        if (a->preview_timer)
            plt_timer_stop(a->preview_timer);
        a->preview_timer = NULL;
    }
}
