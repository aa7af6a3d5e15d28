/* SPDX-License-Identifier: MIT */
/*
 * The dialer tests' world (dialer_fixture.c): see there.
 */
#ifndef PLATEAU_TEST_DIALER_FIXTURE_H
#define PLATEAU_TEST_DIALER_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <plateau/plateau.h>
#include <plateau/svc/agents.h>
#include <plateau/svc/dialer.h>
#include <plateau/svc/leads.h>
#include <plateau/testing/fake_host.h>

#define MIN_MS 60000LL
#define DAY_MS 86400000LL

typedef struct fixture {
    plt_fake_host *fh;
    plt_agents ag;
    plt_leads leads;
    plt_dialer dialer;
    int64_t list_id;
} fixture;

typedef struct lead_copy {
    int status;
    int32_t status_of_lead;
    int32_t attempts;
    int64_t next_attempt_at;
} lead_copy;

/* Simulated parties: everyone answers (patience 60 s); nobody does. */
extern const char *const sim_answer;
extern const char *const sim_no_answer;

/* A host with the plugins; @p campaign_yaml is the dialer's campaigns
 * list, @p sim_yaml the sim section, @p start_ms the clock (0 = Monday
 * 2025-01-06 09:00 UTC). */
fixture *fixture_open(const char *campaign_yaml, const char *sim_yaml,
                      int64_t start_ms);
void fixture_close(fixture *f);
/* done() of the services: *(int *)arg = 1 on success, -1 on failure. */
void done_cb(void *arg, int status, const char *msg);
/* A list @p list attached to @p camp with @p n contacts in zone @p tz;
 * their numbers are @p nums when given, else +336000000NN from @p base. */
int64_t make_list_in(fixture *f, const char *list, const char *camp, int n,
                     const char *const *nums, int base, const char *tz);
/* A list "l" attached to campaign "c" with @p n contacts in Paris. */
void make_list(fixture *f, int n, const char *first);
/* Agents a1..a<n> logged in (phones agent:101...) and available; they
 * take queue q. b1..b4 take only the queue "inbound". */
void staff(fixture *f, int n);
void staff_as(fixture *f, const char *agent, int extension);
void switch_camp(fixture *f, const char *name, bool on);
void switch_on(fixture *f);
/* The common start of a case: make_list(@p contacts), staff(@p agents),
 * the events so far cleared, campaign "c" switched on. */
void start_dialing(fixture *f, int contacts, int agents);
/* Events of @p topic whose string field @p key is @p value. */
size_t count_where(fixture *f, const char *topic, const char *key,
                   const char *value);
const plt_event *first_where(fixture *f, const char *topic, const char *key,
                             const char *value);
lead_copy lead_get(fixture *f, int64_t id);
plt_dialer_stats stats(fixture *f, const char *camp);
/* A list "l" attached to campaign "c" with one contact in Paris whose
 * numbers are @p nums (types @p types, plt_phone_type), in that order. */
void make_contact_phones(fixture *f, const char *const *nums,
                         const int32_t *types, size_t n);
/* @p num on the do-not-call list of @p scope ("*" = global). */
void dnc_add(fixture *f, const char *scope, const char *num);

#endif
