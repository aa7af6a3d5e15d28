/* SPDX-License-Identifier: MIT */
/*
 * leads: contacts, lists, phone numbers, do-not-call and lead history, and
 * the reservation of leads for dialling. Provides the `leads` 1.0 service
 * (plateau/svc/leads.h) on top of `storage` 1.x, and the `plateau leads`
 * and `plateau dnc` commands.
 *
 * This file holds only the descriptor, the configuration schema and the
 * lifecycle. The schema is in leads_schema.c, lists in leads_lists.c,
 * contacts (add, get, search, history) in leads_contacts.c, do-not-call
 * in leads_dnc.c, reservation and attempts in leads_reserve.c, the job
 * runner and buffers in leads_job.c and the commands in leads_cli.c.
 *
 * Stopping waits for the jobs in flight so that no storage callback runs
 * into freed state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leads_http.h"
#include "leads_int.h"

static const plt_cfg_key leads_keys[] = {
    {.name = "default_country",
     .type = PLT_CFG_STR,
     .def = "FR",
     .flags = PLT_CFG_RELOADABLE,
     .help = "ISO country of numbers written without a country code, when "
             "no list rules apply (DNC numbers, searches)"},
    {.name = "insert_rows",
     .type = PLT_CFG_INT,
     .def = "500",
     .flags = PLT_CFG_RELOADABLE,
     .min = 1,
     .max = 5000,
     .help = "no longer used (storage query_rows() sizes the INSERTs); "
             "accepted for old configurations"},
    {.name = "reserve_max",
     .type = PLT_CFG_INT,
     .def = "1000",
     .flags = PLT_CFG_RELOADABLE,
     .min = 1,
     .max = 10000,
     .help = "most contacts one reservation hands out"},
    {.name = "indexed_fields",
     .type = PLT_CFG_LIST,
     .def = "[name, last_name]",
     .help = "custom fields searched through an index (the others are "
             "searched by scanning each contact's JSON fields); restart to "
             "change"},
    PLT_CFG_END};

static const plt_dep leads_needs[] = {
    {PLT_STORAGE_NAME, PLT_STORAGE_MAJOR, 1, 0}, /* query_rows() */
    {PLT_HTTP_NAME, PLT_HTTP_MAJOR, 0, PLT_DEP_OPTIONAL},
    {0}};
static const char *const leads_provides[] = {PLT_LEADS_NAME, NULL};

static leads *leads_state;

/* The service table: each entry lives in the file of its concept. */
const plt_leads_vt leads_vtable = {
    .size = sizeof(plt_leads_vt),
    .list_create = leads_list_create,
    .list_find = leads_list_find,
    .list_stats = leads_list_stats,
    .list_attach = leads_list_attach,
    .list_detach = leads_list_detach,
    .add_batch = leads_add_batch,
    .get = leads_get,
    .search = leads_search,
    .history = leads_history,
    .dnc_add = leads_dnc_add,
    .dnc_remove = leads_dnc_remove,
    .dnc_check = leads_dnc_check,
    .reserve = leads_reserve,
    .release = leads_release,
    .attempt_done = leads_attempt_done,
    .disposition = leads_disposition,
    .attempts_since = leads_attempts_since,
    .normalize = leads_normalize,
    .progress_get = leads_progress_get,
    .release_until = leads_release_until,
};

static int
read_cfg(const plt_cfg *cfg, leads_cfg *out)
{
    const char *c = NULL;
    int rc = 0;
    rc |= plt_cfg_str(cfg, "default_country", &c);
    rc |= plt_cfg_int(cfg, "insert_rows", &out->insert_rows);
    rc |= plt_cfg_int(cfg, "reserve_max", &out->reserve_max);
    rc |= plt_cfg_count(cfg, "indexed_fields", &out->nindexed);
    if (rc != 0) {
        plt_set_error("cannot read the configuration");
        return PLT_ECONFIG;
    }
    if (!c || strlen(c) != 2) {
        plt_set_error("default_country: want an ISO 3166 alpha-2 code "
                      "such as FR, got '%s'",
                      c ? c : "");
        return PLT_ECONFIG;
    }
    phone_rules pr = {.default_country = c};
    phone_result res;
    if (phone_normalize("0612345678", &pr, &res) == PLT_EINVAL &&
        strstr(res.error, "unknown default country")) {
        plt_set_error("default_country: unknown country '%s'", c);
        return PLT_ECONFIG;
    }
    if (out->nindexed > LEADS_MAX_INDEXED) {
        plt_set_error("indexed_fields: at most %d names", LEADS_MAX_INDEXED);
        return PLT_ECONFIG;
    }
    for (size_t i = 0; i < out->nindexed; i++) {
        const char *f = NULL;
        if (plt_cfg_list_at(cfg, "indexed_fields", i, &f) != 0 || !f || !*f ||
            strlen(f) >= LEADS_FIELD_NAME_MAX) {
            plt_set_error("indexed_fields: item %zu is empty or longer than "
                          "%d bytes",
                          i, LEADS_FIELD_NAME_MAX - 1);
            return PLT_ECONFIG;
        }
        snprintf(out->indexed[i], LEADS_FIELD_NAME_MAX, "%s", f);
    }
    out->country[0] = (char)(c[0] & ~0x20);
    out->country[1] = (char)(c[1] & ~0x20);
    out->country[2] = 0;
    return 0;
}

/* ---- state shared with the other files ---- */

void
leads_req_begin(leads *L)
{
    L->pending++;
}

void
leads_req_end(leads *L)
{
    L->pending--;
    if (L->stop_async && L->pending == 0) {
        L->stop_async = false;
        plt_stopped();
    }
}

int
leads_accepting(const leads *L)
{
    if (!L || L->stopping)
        return PLT_ESHUTDOWN;
    return L->started ? 0 : PLT_ESTATE;
}

/* ---- lifecycle ---- */

static int
leads_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    leads *L = calloc(1, sizeof(*L));
    if (!L)
        return PLT_ENOMEM;
    int rc = read_cfg(cfg, &L->cfg);
    if (rc != 0) {
        free(L);
        return rc;
    }
    /* Acquired in init, not start: migrations must be declared before the
     * storage plugin starts (it applies them then). */
    rc = plt_storage_acquire(&L->st);
    if (rc == 0 && !plt_storage_has_rows(&L->st))
        rc = PLT_ENOTSUP; /* add_batch() loads through query_rows() */
    if (rc != 0) {
        plt_set_error("cannot acquire storage 1.1: %s", plt_strerror(rc));
        free(L);
        return rc;
    }
    rc = L->st.vt->migrations(L->st.impl, "leads", leads_migrations,
                              leads_nmigrations);
    if (rc != 0) {
        plt_set_error("cannot declare migrations: %s", plt_strerror(rc));
        free(L);
        return rc;
    }
    plt_service_desc svc = {.size = sizeof(svc),
                            .major = PLT_LEADS_MAJOR,
                            .minor = PLT_LEADS_MINOR,
                            .name = PLT_LEADS_NAME,
                            .vtable = &leads_vtable,
                            .impl = L};
    rc = plt_service_provide(&svc);
    if (rc != 0) {
        plt_set_error("cannot provide the leads service: %s",
                      plt_strerror(rc));
        free(L);
        return rc;
    }
    leads_state = L;
    leads_cli_bind(L);
    return 0;
}

static int
leads_start(plt_plugin *self)
{
    (void)self;
    leads_state->started = true;
    /* Asynchronous; until it is done a field search may scan where the
     * index would do, never miss a contact. */
    int rc = leads_fields_reconcile(leads_state);
    if (rc != 0)
        plt_log(PLT_LOG_WARN, "leads: cannot record the indexed fields: %s",
                plt_strerror(rc));
    if ((rc = leads_http_start(leads_state)) != 0) {
        plt_set_error("cannot register the web routes: %s", plt_strerror(rc));
        return rc;
    }
    return 0;
}

static int
leads_stop(plt_plugin *self)
{
    (void)self;
    leads *L = leads_state;
    L->stopping = true;
    L->started = false;
    leads_http_stop();
    leads_cli_abort();
    if (L->pending == 0)
        return 0;
    L->stop_async = true;
    return PLT_EINPROGRESS;
}

static void
leads_fini(plt_plugin *self)
{
    (void)self;
    leads *L = leads_state;
    leads_http_stop();
    if (!L)
        return;
    leads_cli_bind(NULL);
    free(L->add_failed_key);
    free(L->rules);
    free(L);
    leads_state = NULL;
}

static int
leads_reconfigure(plt_plugin *self, const plt_cfg *cfg, plt_reconf_phase phase)
{
    (void)self;
    leads_cfg c;
    int rc = read_cfg(cfg, &c);
    if (rc != 0 || phase == PLT_RECONF_CHECK)
        return rc;
    /* The indexed fields are fixed at start: lead_field_index describes
     * what the running process writes. */
    memcpy(c.indexed, leads_state->cfg.indexed, sizeof(c.indexed));
    c.nindexed = leads_state->cfg.nindexed;
    leads_state->cfg = c;
    return 0;
}

PLT_PLUGIN_DEFINE(.name = "leads", .version = "1.0.0",
                  .summary = "Contacts, lists, do-not-call, lead history and "
                             "reservation",
                  .needs = leads_needs, .provides = leads_provides,
                  .config_keys = leads_keys, .commands = leads_commands,
                  .init = leads_init, .start = leads_start, .stop = leads_stop,
                  .fini = leads_fini, .reconfigure = leads_reconfigure);
