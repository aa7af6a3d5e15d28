/* SPDX-License-Identifier: MIT */
/*
 * import_csv: lead files into lists. Provides the `import` 1.0 service
 * (plateau/svc/import.h) on top of `leads` 1.x (which owns contacts,
 * normalisation rules, de-duplication and do-not-call) and `storage` 1.x
 * (for its own small table of jobs, so that an interrupted import can be
 * resumed), and the `plateau import` command.
 *
 * This file holds only the descriptor, the configuration schema and the
 * lifecycle. Jobs live in import_csv_job.c, reading and mapping on worker
 * threads in import_csv_worker.c, the report in import_csv_report.c, the
 * job table in import_csv_store.c and the command in import_csv_cli.c.
 *
 * Stopping interrupts running jobs after the batch being committed (they
 * stay resumable) and waits for what is in flight - work on the worker
 * threads, leads and storage calls - before saying it stopped.
 */
#include <stdlib.h>
#include <string.h>

#include "import_csv_int.h"
#include "import_http.h"

static const plt_cfg_key import_keys[] = {
    {.name = "batch_rows",
     .type = PLT_CFG_INT,
     .def = "2000",
     .flags = PLT_CFG_RELOADABLE,
     .min = 1,
     .max = 100000,
     .help = "rows handed to leads in one transaction"},
    {.name = "max_batches_in_flight",
     .type = PLT_CFG_INT,
     .def = "3",
     .flags = PLT_CFG_RELOADABLE,
     .min = 1,
     .max = 16,
     .help = "batches parsed ahead of the database (memory = this x "
             "batch_rows rows, whatever the file size)"},
    {.name = "read_chunk",
     .type = PLT_CFG_INT,
     .def = "65536",
     .flags = PLT_CFG_RELOADABLE,
     .min = 4096,
     .max = 16777216,
     .help = "bytes read from the file at a time"},
    {.name = "progress_interval",
     .type = PLT_CFG_DURATION,
     .def = "250ms",
     .flags = PLT_CFG_RELOADABLE,
     .min = 0,
     .max = 60000,
     .help = "at most one import.job.progressed per interval (unless 1 % "
             "more of the file was read)"},
    PLT_CFG_END};

static const plt_dep import_needs[] = {
    {PLT_STORAGE_NAME, PLT_STORAGE_MAJOR, 0, 0},
    {PLT_LEADS_NAME, PLT_LEADS_MAJOR, 0, 0},
    {PLT_HTTP_NAME, PLT_HTTP_MAJOR, 0, PLT_DEP_OPTIONAL},
    {0}};
static const char *const import_provides[] = {PLT_IMPORT_NAME, NULL};

static import_csv *import_state;


static int
read_cfg(const plt_cfg *cfg, imp_cfg *out)
{
    int rc = 0;
    rc |= plt_cfg_int(cfg, "batch_rows", &out->batch_rows);
    rc |= plt_cfg_int(cfg, "max_batches_in_flight", &out->max_in_flight);
    rc |= plt_cfg_int(cfg, "read_chunk", &out->read_chunk);
    rc |= plt_cfg_duration_ms(cfg, "progress_interval", &out->progress_ms);
    if (rc != 0) {
        plt_set_error("cannot read the configuration");
        return PLT_ECONFIG;
    }
    return 0;
}

int
import_csv_accepting(const import_csv *ic)
{
    if (ic->stopping)
        return PLT_ESHUTDOWN;
    return ic->started ? 0 : PLT_ESTATE;
}

void
import_csv_check_stopped(import_csv *ic)
{
    if (ic->stop_async && ic->pending == 0 && ic->jobs == NULL) {
        ic->stop_async = false;
        plt_stopped();
    }
}

static int
svc_start(void *impl, const plt_import_spec *spec, plt_import_job_fn cb,
          void *arg)
{
    return import_csv_job_start(impl, spec, cb, arg, NULL);
}

/* The service table; start() is the observer-less form of a job start. */
static const plt_import_vt import_vt = {
    .size = sizeof(plt_import_vt),
    .preview = import_csv_preview,
    .start = svc_start,
    .cancel = import_csv_cancel,
    .status = import_csv_status,
    .report = import_csv_report,
    .report_path = import_csv_report_path,
};

static int
import_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    import_csv *ic = calloc(1, sizeof(*ic));
    if (!ic)
        return PLT_ENOMEM;
    int rc = read_cfg(cfg, &ic->cfg);
    if (rc != 0) {
        free(ic);
        return rc;
    }
    /* Storage is acquired here, not in start(): migrations must be
     * declared before the storage plugin starts (it applies them). */
    rc = plt_storage_acquire(&ic->st);
    if (rc != 0) {
        plt_set_error("cannot acquire storage: %s", plt_strerror(rc));
        free(ic);
        return rc;
    }
    rc = ic->st.vt->migrations(ic->st.impl, "import_csv",
                               import_csv_migrations, import_csv_nmigrations);
    if (rc != 0) {
        plt_set_error("cannot declare migrations: %s", plt_strerror(rc));
        free(ic);
        return rc;
    }
    plt_service_desc svc = {.size = sizeof(svc),
                            .major = PLT_IMPORT_MAJOR,
                            .minor = PLT_IMPORT_MINOR,
                            .name = PLT_IMPORT_NAME,
                            .vtable = &import_vt,
                            .impl = ic};
    rc = plt_service_provide(&svc);
    if (rc != 0) {
        plt_set_error("cannot provide the import service: %s",
                      plt_strerror(rc));
        free(ic);
        return rc;
    }
    import_state = ic;
    import_csv_cli_bind(ic);
    return 0;
}

static int
import_start(plt_plugin *self)
{
    (void)self;
    import_csv *ic = import_state;
    int rc = plt_leads_acquire(&ic->leads);
    if (rc != 0) {
        plt_set_error("cannot acquire leads: %s", plt_strerror(rc));
        return rc;
    }
    ic->have_leads = true;
    ic->started = true;
    if ((rc = import_http_start(ic)) != 0) {
        plt_set_error("cannot register the web routes: %s", plt_strerror(rc));
        return rc;
    }
    return 0;
}

static int
import_stop(plt_plugin *self)
{
    (void)self;
    import_csv *ic = import_state;
    ic->stopping = true;
    ic->started = false;
    import_http_stop();
    import_csv_job_stop_all(ic);
    if (ic->pending == 0 && ic->jobs == NULL)
        return 0;
    ic->stop_async = true;
    return PLT_EINPROGRESS;
}

static void
import_fini(plt_plugin *self)
{
    (void)self;
    import_csv *ic = import_state;
    import_http_fini();
    if (!ic)
        return;
    import_csv_cli_bind(NULL);
    /* Jobs still listed never started running (stop drains the others). */
    while (ic->jobs) {
        imp_job *j = ic->jobs;
        ic->jobs = j->next;
        import_csv_job_free(j);
    }
    free(ic);
    import_state = NULL;
}

static int
import_reconfigure(plt_plugin *self, const plt_cfg *cfg,
                   plt_reconf_phase phase)
{
    (void)self;
    imp_cfg c;
    int rc = read_cfg(cfg, &c);
    if (rc != 0 || phase == PLT_RECONF_CHECK)
        return rc;
    /* Running jobs read the configuration at each step: a new batch size
     * applies from their next batch. */
    import_state->cfg = c;
    return 0;
}

PLT_PLUGIN_DEFINE(.name = "import_csv", .version = "1.0.0",
                  .summary = "Lead files (CSV) into lists: preview, mapping, "
                             "dedup, DNC, report, resumable jobs",
                  .needs = import_needs, .provides = import_provides,
                  .config_keys = import_keys, .commands = import_csv_commands,
                  .init = import_init, .start = import_start,
                  .stop = import_stop, .fini = import_fini,
                  .reconfigure = import_reconfigure);
