/* SPDX-License-Identifier: MIT */
/*
 * The dialer's compliance rules on sim, on the fake host with the real
 * plugins and the simulated clock (dialer_fixture.c): hours in the
 * contact's zone (French hours and Easter Monday; US hours across the
 * spring DST change in New York and Phoenix; a contact of unknown zone in
 * the site's), the French 4-per-30-days cap across two campaigns, the
 * 60-day silence after a refusal across campaigns, do-not-call checked at
 * dial time (added while previewed, while waiting for a trunk channel),
 * the US minimum ring and required abandon message, the UK's 72 hours
 * without a call after an abandoned one, power mode falling back to one
 * line per free agent over the pack's abandonment limit, AMD false
 * positives alone putting a UK day over it; the French opposition list
 * imported in other forms than the contacts' numbers.
 * Run one test with DIALER_TEST=name (DIALER_TEST_VERBOSE=1 prints the
 * events of the cap and opposition list tests).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <plateau/plateau.h>
#include <plateau/svc/agents.h>
#include <plateau/svc/dialer.h>
#include <plateau/svc/leads.h>
#include <plateau/testing/fake_host.h>

#include "dialer_fixture.h"

/* ------------------------------------------------------------------ */
/* hours */

/* France: 09:30 in Paris is closed, 10:00 opens; Easter Monday closed. */
static void
fr_hours(void **state)
{
    (void)state;
    /* 2025-01-06 08:30 UTC = 09:30 Paris (Monday). */
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], compliance: fr, max_attempts: 1}\n",
                              sim_answer, 1736152200000LL);
    start_dialing(f, 3, 1);
    plt_fake_host_run_for(f->fh, 29 * MIN_MS); /* until 09:59:1x in Paris */
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    plt_fake_host_run_for(f->fh, 3 * MIN_MS);
    assert_true(plt_fake_host_event_count(f->fh, "dialer.attempt.started") >= 1);
    fixture_close(f);

    /* Easter Monday 2025-04-21, 12:00 Paris (10:00 UTC): closed all day. */
    f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                     " lists: [l], compliance: fr, max_attempts: 1}\n",
                     sim_answer, 1745229600000LL);
    start_dialing(f, 3, 1);
    plt_fake_host_run_for(f->fh, 30 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    fixture_close(f);
}

/* US hours (08:00-21:00) in the contact's zone across the spring DST
 * change: on Sunday 2025-03-09 New York opens at 08:00 EDT = 12:00 UTC
 * (it was 13:00 UTC the day before); Phoenix, without DST, at 15:00 UTC. */
static void
us_hours_dst(void **state)
{
    (void)state;
    /* 11:50 UTC = 07:50 EDT (06:50 with last week's offset). */
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l, p], compliance: us,"
                              " abandon_message: /nonexistent/abandon.wav,"
                              " max_attempts: 1}\n",
                              "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "play_check_files: false\n",
                              1741521000000LL);
    const char *ny[] = {"+12127363100"}, *phx[] = {"+16023722000"};
    make_list_in(f, "l", "c", 1, ny, 0, "America/New_York");
    make_list_in(f, "p", "c", 1, phx, 0, "America/Phoenix");
    staff(f, 2);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 9 * MIN_MS); /* 11:59:xx UTC */
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    plt_fake_host_run_for(f->fh, 3 * MIN_MS);
    const plt_event *ev =
        first_where(f, "dialer.attempt.started", "phone", "+12127363100");
    assert_non_null(ev);
    int64_t at = plt_fake_event_time(ev);
    assert_true(at >= 1741521600000LL && at < 1741521600000LL + 2 * MIN_MS);
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone",
                                 "+16023722000"),
                     0);
    /* Phoenix opens at 08:00 MST = 15:00 UTC. */
    plt_fake_host_run_for(f->fh, 170 * MIN_MS); /* 14:52 UTC */
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone",
                                 "+16023722000"),
                     0);
    plt_fake_host_run_for(f->fh, 12 * MIN_MS);
    ev = first_where(f, "dialer.attempt.started", "phone", "+16023722000");
    assert_non_null(ev);
    at = plt_fake_event_time(ev);
    assert_true(at >= 1741532400000LL && at < 1741532400000LL + 6 * MIN_MS);
    fixture_close(f);
}

/* A contact whose zone the system does not know gets the site's zone
 * (Europe/Paris): dialled during French hours, not left aside. */
static void
unknown_zone_gets_site_zone(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], compliance: fr, max_attempts: 1}\n",
                              sim_answer, 0);
    const char *num[] = {"+33600000042", "+33600000043"};
    make_list_in(f, "l", "c", 2, num, 0, "Mars/Olympus_Mons");
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 20 * MIN_MS);
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone",
                                 "+33600000042"),
                     1);
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone",
                                 "+33600000043"),
                     1);
    /* Said once for the zone, not once per contact. */
    assert_int_equal(plt_fake_host_log_count(f->fh, PLT_LOG_NOTICE,
                                             "Mars/Olympus_Mons"),
                     1);
    fixture_close(f);
}

/* ------------------------------------------------------------------ */
/* caps and silences */

/* France: at most 4 attempts per consumer per 30 days across every
 * campaign. The same number sits in two campaigns' lists; nobody answers;
 * each campaign would retry every minute. */
static void
fr_cap_across_campaigns(void **state)
{
    (void)state;
    fixture *f = fixture_open(
        "  - {name: c, mode: progressive, queue: q, lists: [l],"
        " compliance: fr, max_attempts: 20, ring_timeout: 15s,"
        " retries: [{on: no_answer, delay: 1m, max: 20}]}\n"
        "  - {name: d, mode: progressive, queue: q, lists: [m],"
        " compliance: fr, max_attempts: 20, ring_timeout: 15s,"
        " retries: [{on: no_answer, delay: 1m, max: 20}]}\n",
        sim_no_answer, 0);
    const char *num[] = {"+33600000007"};
    int64_t l = make_list_in(f, "l", "c", 1, num, 0, "Europe/Paris");
    int64_t m = make_list_in(f, "m", "d", 1, num, 0, "Europe/Paris");
    staff(f, 2);
    plt_fake_host_events_clear(f->fh);
    switch_camp(f, "c", true);
    switch_camp(f, "d", true);
    int64_t t0 = plt_fake_host_now(f->fh);
    plt_fake_host_run_for(f->fh, 2 * 60 * MIN_MS);
    for (size_t i = 0; getenv("DIALER_TEST_VERBOSE") &&
                       i < plt_fake_host_event_count(f->fh, "dialer.*");
         i++) {
        const plt_event *e = plt_fake_host_event_at(f->fh, "dialer.*", i);
        print_message("%lld %s %s %s %s\n",
                      (long long)(plt_fake_event_time(e) - t0) / 1000,
                      plt_fake_event_topic(e),
                      plt_fake_event_str(e, "campaign"),
                      plt_fake_event_str(e, "rule"),
                      plt_fake_event_str(e, "outcome"));
    }
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone",
                                 "+33600000007"),
                     4);
    assert_true(count_where(f, "dialer.attempt.started", "campaign", "c") >= 1);
    assert_true(count_where(f, "dialer.attempt.started", "campaign", "d") >= 1);
    const plt_event *ev = first_where(f, "dialer.contact.blocked", "rule", "cap");
    assert_non_null(ev);
    /* Blocked until the oldest of the 4 leaves the 30-day window. */
    int64_t until = plt_fake_event_i64(ev, "until", 0);
    assert_true(until > t0 + 30 * DAY_MS - MIN_MS &&
                until < t0 + 30 * DAY_MS + 10 * MIN_MS);
    /* Being held back is not an attempt: the two contacts together carry
     * exactly the 4 calls placed. */
    lead_copy a = lead_get(f, 1), b = lead_get(f, 2);
    (void)l;
    (void)m;
    assert_int_equal(a.attempts + b.attempts, 4);
    assert_int_equal(a.status_of_lead, PLT_LEAD_AVAILABLE);
    assert_true(a.next_attempt_at > t0 + 29 * DAY_MS);
    fixture_close(f);
}

/* France: after a refusal, 60 days of silence for that consumer, in
 * every campaign. */
static void
fr_refusal_silence(void **state)
{
    (void)state;
    fixture *f = fixture_open(
        "  - {name: c, mode: progressive, queue: q, lists: [l],"
        " compliance: fr, max_attempts: 3,"
        " dispositions: [{code: REFUS, kind: refusal}]}\n"
        "  - {name: d, mode: progressive, queue: q, lists: [m],"
        " compliance: fr, max_attempts: 3}\n",
        sim_answer, 0);
    const char *num[] = {"+33600000009"};
    make_list_in(f, "l", "c", 1, num, 0, "Europe/Paris");
    make_list_in(f, "m", "d", 1, num, 0, "Europe/Paris");
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_camp(f, "c", true);
    plt_fake_host_run_for(f->fh, 40000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.answered"), 1);
    const plt_event *ev = plt_fake_host_event_last(f->fh, "dialer.attempt.started");
    int64_t contact = plt_fake_event_i64(ev, "contact_id", 0);
    plt_dialer_result r = {.size = sizeof(r), .campaign = "c",
                           .contact_id = contact, .code = "REFUS",
                           .agent = "a1"};
    int ok = 0;
    assert_int_equal(f->dialer.vt->set_result(f->dialer.impl, &r, done_cb, &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    int64_t refused_at = plt_fake_host_now(f->fh);
    switch_camp(f, "c", false);
    switch_camp(f, "d", true);
    plt_fake_host_run_for(f->fh, 30 * MIN_MS);
    assert_int_equal(count_where(f, "dialer.attempt.started", "campaign", "d"),
                     0);
    ev = first_where(f, "dialer.contact.blocked", "rule", "refusal");
    assert_non_null(ev);
    int64_t until = plt_fake_event_i64(ev, "until", 0);
    assert_true(until >= refused_at + 60 * DAY_MS - 1000 &&
                until <= refused_at + 60 * DAY_MS + 30 * MIN_MS);
    fixture_close(f);
}

/* ------------------------------------------------------------------ */
/* do-not-call at dial time */


/* A previewed contact (reserved) whose number goes on the DNC list while
 * the agent reads is not dialled when the agent presses dial. */
static void
dnc_while_previewed(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: preview, lists: [l],"
                              " max_attempts: 3}\n",
                              sim_answer, 0);
    const char *num[] = {"+33600000011"};
    make_list_in(f, "l", "c", 1, num, 0, "Europe/Paris");
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 1500);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.preview.offered"),
                     1);
    dnc_add(f, "*", "+33600000011");
    assert_int_equal(f->dialer.vt->preview_dial(f->dialer.impl, "a1", -1), 0);
    plt_fake_host_run_for(f->fh, 10 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    const plt_event *ev = first_where(f, "dialer.contact.blocked", "rule",
                                      "dnc");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "phone"), "+33600000011");
    assert_string_equal(plt_fake_event_str(ev, "phones"), "+33600000011");
    fixture_close(f);
}

/* A contact reserved and written, waiting for a trunk channel, whose
 * number goes on the DNC list meanwhile is not dialled. */
static void
dnc_while_waiting_for_trunk(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], max_attempts: 3}\n",
                              "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "patience_mean: 60s\npatience_sd: 1s\n"
                              "trunks: [{name: t, max_channels: 1}]\n",
                              0);
    const char *num[] = {"+33600000021", "+33600000022"};
    make_list_in(f, "l", "c", 2, num, 0, "Europe/Paris");
    staff(f, 2);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 3000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     1);
    const char *first = plt_fake_event_str(
        plt_fake_host_event_last(f->fh, "dialer.attempt.started"), "phone");
    const char *other = !strcmp(first, num[0]) ? num[1] : num[0];
    dnc_add(f, "*", other);
    plt_fake_host_run_for(f->fh, 15 * MIN_MS);
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone", other),
                     0);
    fixture_close(f);
}

/* The number a contact's next attempt would use (by order: the second,
 * after a first attempt on the first) goes on the DNC list while an agent
 * previews the contact: its other number is called instead, and the
 * contact is not taken for a do-not-call contact. */
static void
dnc_on_next_number(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: preview, lists: [l],"
                              " max_attempts: 4, ring_timeout: 15s,"
                              " retries: [{on: no_answer, delay: 2m}]}\n",
                              sim_no_answer, 0);
    const char *const nums[] = {"+33600000081", "+33140000081"};
    const int32_t types[] = {PLT_PHONE_MOBILE, PLT_PHONE_FIXED};
    make_contact_phones(f, nums, types, 2);
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 1500);
    assert_int_equal(f->dialer.vt->preview_dial(f->dialer.impl, "a1", -1), 0);
    plt_fake_host_run_for(f->fh, 30000);
    assert_int_equal(count_where(f, "dialer.attempt.ended", "phone", nums[0]),
                     1);
    /* Previewed again after the retry delay; meanwhile, DNC. */
    plt_fake_host_run_for(f->fh, 3 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.preview.offered"),
                     2);
    dnc_add(f, "*", nums[1]);
    assert_int_equal(f->dialer.vt->preview_dial(f->dialer.impl, "a1", -1), 0);
    plt_fake_host_run_for(f->fh, 5000);
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone", nums[1]),
                     0);
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone", nums[0]),
                     2);
    assert_null(first_where(f, "dialer.contact.blocked", "rule", "dnc"));
    fixture_close(f);
}

/* ------------------------------------------------------------------ */
/* ringing and abandoned calls */

/* US: a call rings at least 15 s before it counts as unanswered, whatever
 * shorter ring timeout the campaign asks for. */
static void
us_min_ring(void **state)
{
    (void)state;
    /* 2025-01-06 15:00 UTC = 10:00 in New York. */
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], compliance: us, ring_timeout: 5s,"
                              " abandon_message: /nonexistent/abandon.wav,"
                              " max_attempts: 1}\n",
                              sim_no_answer, 1736175600000LL);
    const char *ny[] = {"+12127363101"};
    make_list_in(f, "l", "c", 1, ny, 0, "America/New_York");
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 2 * MIN_MS);
    const plt_event *ev = plt_fake_host_event_last(f->fh, "dialer.attempt.ended");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "outcome"), "no_answer");
    int64_t ring = plt_fake_event_i64(ev, "ring_ms", 0);
    assert_true(ring >= 15000 && ring < 16000);
    fixture_close(f);
}

/* A pack that requires a message on abandoned calls refuses a campaign
 * that could abandon without one. */
static void
us_abandon_message_required(void **state)
{
    (void)state;
    plt_fake_host *fh;
    assert_int_equal(plt_fake_host_new(&fh, NULL), 0);
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    const char *src = getenv("PLATEAU_SOURCE_DIR");
    char so[PATH_MAX], yaml[1024];
    const char *names[] = {"storage_sqlite", "leads", "sim", "agents", "acd"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(so, sizeof(so), "%s/%s.so", dir ? dir : ".", names[i]);
        assert_int_equal(plt_fake_host_add_so(fh, so, NULL, NULL), 0);
    }
    snprintf(yaml, sizeof(yaml),
             "compliance_dir: %s/conf/compliance\ncampaigns:\n"
             "  - {name: c, mode: predictive, queue: q, lists: [l],"
             " compliance: us}\n",
             src ? src : "../../..");
    snprintf(so, sizeof(so), "%s/dialer.so", dir ? dir : ".");
    assert_int_equal(plt_fake_host_add_so(fh, so, yaml, NULL), 0);
    /* The packs are files, read when the dialer starts (and by
     * `plateau check`). */
    assert_int_equal(plt_fake_host_init(fh), 0);
    assert_int_not_equal(plt_fake_host_check(fh), 0);
    assert_non_null(strstr(plt_fake_host_last_error(fh), "abandon_message"));
    assert_int_not_equal(plt_fake_host_start(fh), 0);
    assert_non_null(strstr(plt_fake_host_last_error(fh), "abandon_message"));
    assert_int_equal(plt_fake_host_free(fh), 0);
}

/* UK: a number whose call was abandoned is not called again within 72 h,
 * even when the campaign's retry rule would call it a minute later. */
static void
uk_no_repeat_after_abandon(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: power, power_ratio: 3.0,"
                              " queue: q, lists: [l], compliance: uk,"
                              " max_attempts: 5, connect_deadline: 2s,"
                              " abandon_message: /nonexistent/abandon.wav,"
                              " retries: [{on: abandoned, delay: 1m}]}\n",
                              "seed: 8\nanswer_rate: 1.0\nmachine_rate: 0\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "ring_to_answer_mean: 5s\nring_to_answer_sd: 1s\n"
                              "patience_mean: 60s\npatience_sd: 1s\n"
                              "play_check_files: false\nplay_duration: 3s\n",
                              0);
    start_dialing(f, 3, 1);
    plt_fake_host_run_for(f->fh, 60000);
    size_t n = plt_fake_host_event_count(f->fh, "dialer.call.abandoned");
    assert_true(n >= 1);
    int64_t abandoned_at = plt_fake_event_time(
        plt_fake_host_event_at(f->fh, "dialer.call.abandoned", 0));
    int64_t contact = plt_fake_event_i64(
        plt_fake_host_event_at(f->fh, "dialer.call.abandoned", 0),
        "contact_id", 0);
    plt_fake_host_run_for(f->fh, 30 * MIN_MS);
    size_t again = 0, all = plt_fake_host_event_count(f->fh,
                                                      "dialer.attempt.started");
    for (size_t i = 0; i < all; i++)
        if (plt_fake_event_i64(plt_fake_host_event_at(
                                   f->fh, "dialer.attempt.started", i),
                               "contact_id", 0) == contact)
            again++;
    assert_int_equal(again, 1);
    lead_copy l = lead_get(f, contact);
    assert_true(l.next_attempt_at >= abandoned_at + 72 * 3600000LL);
    fixture_close(f);
}

/* A power campaign over the pack's daily limit falls back to one line per
 * free agent: once 20 live answers show more than 3 % abandoned, no call
 * is abandoned any more, and calls go on. */
static void
power_falls_back_at_the_limit(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: power, power_ratio: 3.0,"
                              " queue: q, lists: [l], compliance: uk,"
                              " max_attempts: 1, connect_deadline: 2s,"
                              " abandon_message: /nonexistent/abandon.wav}\n",
                              "seed: 8\nanswer_rate: 1.0\nmachine_rate: 0\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "ring_to_answer_mean: 5s\nring_to_answer_sd: 1s\n"
                              "talk_mean: 60s\ntalk_sd: 10s\n"
                              "patience_mean: 60s\npatience_sd: 1s\n"
                              "play_check_files: false\nplay_duration: 3s\n",
                              0);
    start_dialing(f, 300, 1);
    plt_fake_host_run_for(f->fh, 30 * MIN_MS);
    plt_dialer_stats st = stats(f, "c");
    assert_true(st.live_answers_window >= 20);
    assert_true(st.abandon_rate > 0.03);
    size_t abandoned = plt_fake_host_event_count(f->fh, "dialer.call.abandoned");
    size_t started = plt_fake_host_event_count(f->fh, "dialer.attempt.started");
    plt_fake_host_run_for(f->fh, 60 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.call.abandoned"),
                     abandoned);
    assert_true(plt_fake_host_event_count(f->fh, "dialer.attempt.started") >=
                started + 20);
    fixture_close(f);
}

/* France: the opposition list (Bloctel) is imported in the forms its
 * files and operators use; the contacts carry their numbers in other
 * forms. Both sides are normalised alike, so every listed consumer is left
 * alone under the France pack, while the unlisted ones are called; a
 * campaign without the pack is not bound by it. */
static void
fr_opposition_list_forms(void **state)
{
    (void)state;
    fixture *f = fixture_open(
        "  - {name: c, mode: progressive, queue: q, lists: [l],"
        " compliance: fr, max_attempts: 1, ring_timeout: 15s}\n"
        "  - {name: d, mode: progressive, queue: q, lists: [m],"
        " max_attempts: 1, ring_timeout: 15s}\n",
        sim_no_answer, 0);
    /* As the contacts were imported. */
    const char *num[] = {"+33612345678", "0612345679", "06 12 34 56 80",
                         "+33 6 12 34 56 81", "+33612345690",
                         "06 12 34 56 91"};
    /* Their E.164 forms, as dialled. */
    const char *e164[] = {"+33612345678", "+33612345679", "+33612345680",
                          "+33612345681", "+33612345690", "+33612345691"};
    make_list_in(f, "l", "c", 6, num, 0, "Europe/Paris");
    const char *other[] = {"+33612345678"};
    make_list_in(f, "m", "d", 1, other, 0, "Europe/Paris");
    /* The opposition list, as imported: its numbers may have lost their
     * trunk zero ("6.12.34.56.81"), which French rules may restore. */
    const char *bloctel[] = {"06 12 34 56 78", "+33612345679",
                             "0033 6 12 34 56 80", "6.12.34.56.81"};
    plt_lead_rules fr = {.country = "FR", .restore_lost_zero = true};
    int ok = 0;
    assert_int_equal(f->leads.vt->dnc_add(f->leads.impl, "bloctel", bloctel, 4,
                                          &fr, "bloctel", done_cb, &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    staff(f, 2);
    plt_fake_host_events_clear(f->fh);
    switch_camp(f, "c", true);
    switch_camp(f, "d", true);
    plt_fake_host_run_for(f->fh, 20 * MIN_MS);
    for (size_t k = 0; getenv("DIALER_TEST_VERBOSE") &&
                       k < plt_fake_host_event_count(f->fh, "dialer.*");
         k++) {
        const plt_event *e = plt_fake_host_event_at(f->fh, "dialer.*", k);
        print_message("%s %s %s %s\n", plt_fake_event_topic(e),
                      plt_fake_event_str(e, "campaign"),
                      plt_fake_event_str(e, "phone"),
                      plt_fake_event_str(e, "rule"));
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(count_where(f, "call.created", "destination", e164[i]),
                         i == 0 ? 1 : 0);
        size_t in_c = 0, all = plt_fake_host_event_count(
                                f->fh, "dialer.attempt.started");
        for (size_t k = 0; k < all; k++) {
            const plt_event *ev =
                plt_fake_host_event_at(f->fh, "dialer.attempt.started", k);
            if (!strcmp(plt_fake_event_str(ev, "phone"), e164[i]) &&
                !strcmp(plt_fake_event_str(ev, "campaign"), "c"))
                in_c++;
        }
        assert_int_equal(in_c, 0);
    }
    assert_int_equal(count_where(f, "dialer.contact.blocked", "rule", "dnc"),
                     4);
    /* The unlisted ones were called, under the pack. */
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone", e164[4]),
                     1);
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone", e164[5]),
                     1);
    /* The listed number, in campaign d (no pack): called there. */
    const plt_event *ev = first_where(f, "dialer.attempt.started", "phone",
                                      e164[0]);
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "campaign"), "d");
    fixture_close(f);
}

/* The calls AMD classed as machines that a person answered (sim's
 * sim_party on call.answered tells), up to @p until; *live gets the
 * persons who answered. */
static size_t
amd_false_positives(fixture *f, int64_t until, size_t *live)
{
    size_t fp = 0, all = plt_fake_host_event_count(f->fh, "call.answered");
    *live = 0;
    for (size_t i = 0; i < all; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, "call.answered", i);
        const char *who = plt_fake_event_str(ev, "sim_party");
        if (plt_fake_event_time(ev) > until || !who || strcmp(who, "human"))
            continue;
        (*live)++;
        const plt_event *end = first_where(f, "dialer.attempt.ended", "leg_id",
                                           plt_fake_event_str(ev, "leg_id"));
        if (end && plt_fake_event_time(end) <= until &&
            !strcmp(plt_fake_event_str(end, "outcome"), "machine"))
            fp++;
    }
    return fp;
}

/* UK: AMD false positives count toward the 3 % per day. Agents are many
 * and calls short, so no call is abandoned; most answers are machines and
 * AMD takes 5 % of the persons for machines: the false positives alone
 * put the day over 3 %, and power mode falls back to one line per free
 * agent from then on. */
static void
uk_amd_false_positives_count(void **state)
{
    (void)state;
    enum { AGENTS = 6 };
    fixture *f = fixture_open("  - {name: c, mode: power, power_ratio: 2.0,"
                              " queue: q, lists: [l], compliance: uk,"
                              " amd: true, max_attempts: 1,"
                              " connect_deadline: 2s, ring_timeout: 25s,"
                              " abandon_message: /nonexistent/abandon.wav}\n",
                              "seed: 11\nanswer_rate: 0.2\nmachine_rate: 0.8\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "amd_sensitivity: 1.0\namd_false_positive: 0.05\n"
                              "ring_to_answer_mean: 5s\nring_to_answer_sd: 1s\n"
                              "talk_mean: 10s\ntalk_sd: 2s\n"
                              "patience_mean: 60s\npatience_sd: 1s\n"
                              "play_check_files: false\nplay_duration: 3s\n",
                              0);
    start_dialing(f, 2000, AGENTS);
    /* Power: twice the free agents in flight, until the rate is over. */
    uint32_t most_before = 0;
    int64_t over_at = 0;
    for (int s = 0; s < 4 * 3600 && !over_at; s++) {
        plt_fake_host_run_for(f->fh, 1000);
        plt_dialer_stats st = stats(f, "c");
        if (st.lines_in_flight > most_before)
            most_before = st.lines_in_flight;
        if (st.live_answers_window >= 20 && st.abandon_rate >= 0.03)
            over_at = plt_fake_host_now(f->fh);
    }
    assert_true(over_at > 0);
    assert_true(most_before > AGENTS);
    /* No call was abandoned: the false positives put it over, and they
     * truly are over 3 % of the persons who answered. */
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.call.abandoned"),
                     0);
    size_t live = 0, fp = amd_false_positives(f, over_at, &live);
    assert_true(live >= 20);
    assert_true(fp > 0);
    assert_true((double)fp / (double)live > 0.03);
    /* From then on, while the day stays over the limit, no new line
     * beyond the free agents: once the lines placed before have rung out
     * (ring_timeout), never more lines than agents. Calls go on. */
    size_t started = plt_fake_host_event_count(f->fh, "dialer.attempt.started");
    int over_for = 0, checked = 0;
    for (int s = 0; s < 30 * 60; s++) {
        plt_fake_host_run_for(f->fh, 1000);
        plt_dialer_stats st = stats(f, "c");
        over_for = st.abandon_rate >= 0.03 ? over_for + 1 : 0;
        if (over_for > 30) {
            assert_true(st.lines_in_flight <= AGENTS);
            checked++;
        }
    }
    assert_true(checked >= 10 * 60);
    assert_true(plt_fake_host_event_count(f->fh, "dialer.attempt.started") >=
                started + AGENTS);
    fixture_close(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fr_hours),
        cmocka_unit_test(us_hours_dst),
        cmocka_unit_test(unknown_zone_gets_site_zone),
        cmocka_unit_test(fr_cap_across_campaigns),
        cmocka_unit_test(fr_refusal_silence),
        cmocka_unit_test(dnc_while_previewed),
        cmocka_unit_test(dnc_while_waiting_for_trunk),
        cmocka_unit_test(dnc_on_next_number),
        cmocka_unit_test(us_min_ring),
        cmocka_unit_test(us_abandon_message_required),
        cmocka_unit_test(uk_no_repeat_after_abandon),
        cmocka_unit_test(power_falls_back_at_the_limit),
        cmocka_unit_test(fr_opposition_list_forms),
        cmocka_unit_test(uk_amd_false_positives_count),
    };
    if (getenv("DIALER_TEST"))
        cmocka_set_test_filter(getenv("DIALER_TEST"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
