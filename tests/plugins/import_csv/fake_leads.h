/* SPDX-License-Identifier: MIT */
/* An in-memory `leads` 1.0 service for the import tests (see fake_leads.c). */
#ifndef FAKE_LEADS_H
#define FAKE_LEADS_H

#include <stddef.h>
#include <stdint.h>

#include <plateau/svc/leads.h>

struct uv_loop_s;
typedef struct fake_leads fake_leads;

fake_leads *fake_leads_new(struct uv_loop_s *loop);
void fake_leads_free(fake_leads *fl);
const plt_leads_vt *fake_leads_vt(void);
/* add_batch calls so far; fail every add_batch after @p n more (-1: never). */
size_t fake_leads_batches(const fake_leads *fl);
void fake_leads_fail_after(fake_leads *fl, int n);
/* Contacts in the list whose numbers include @p e164 (dedup check). */
size_t fake_leads_count_phone(const fake_leads *fl, int64_t list_id,
                              const char *e164);
/* Contacts whose first phone appears more than once in the list. */
size_t fake_leads_duplicates(const fake_leads *fl, int64_t list_id);

#endif
