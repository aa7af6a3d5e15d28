/* SPDX-License-Identifier: MIT */
/*
 * storage_sqlite: the embedded default engine of the `storage` service.
 * This file holds only the descriptor and the lifecycle: reading the
 * configuration, registering the service in init(), opening the database
 * and applying migrations in start() (on the writer thread, waited for),
 * draining in stop(), freeing in fini(), and `plateau check`.
 *
 * How it works is described in README.md and in each file's header:
 * storage_sqlite_api.c (the service, on the loop), _writer.c (the single
 * writer, group commit), _reader.c (readers, streaming), _conn.c (a
 * connection and its statements), _migrate.c (schema versions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage_sqlite_int.h"

static const plt_cfg_key keys[] = {
    {.name = "file",
     .type = PLT_CFG_STR,
     .def = "plateau.db",
     .help = "database file; a relative path is below core.data_dir"},
    {.name = "readers",
     .type = PLT_CFG_INT,
     .def = "2",
     .min = 1,
     .max = 8,
     .help = "reader threads (connections) running SELECTs"},
    {.name = "busy_timeout",
     .type = PLT_CFG_DURATION,
     .def = "5s",
     .min = 0,
     .max = 600000,
     .help = "how long to wait for a lock held by another process"},
    {.name = "cache_mib",
     .type = PLT_CFG_INT,
     .def = "16",
     .min = 1,
     .max = 4096,
     .help = "page cache of each connection, MiB (writer and each reader: "
             "up to (1 + readers) x this much memory)"},
    {.name = "checkpoint_pages",
     .type = PLT_CFG_INT,
     .def = "1000",
     .min = 100,
     .max = 1000000,
     .help = "WAL size, in pages, that makes the writer checkpoint after "
             "a commit"},
    {.name = "txn_timeout",
     .type = PLT_CFG_DURATION,
     .def = "10s",
     .min = 10,
     .max = 3600000,
     .flags = PLT_CFG_RELOADABLE,
     .help = "roll back a transaction left without a call this long"},
    {.name = "batch_max",
     .type = PLT_CFG_INT,
     .def = "256",
     .min = 1,
     .max = 100000,
     .flags = PLT_CFG_RELOADABLE,
     .help = "most autocommit writes grouped in one commit"},
    PLT_CFG_END,
};

static const char *const provides[] = {PLT_STORAGE_NAME, NULL};

static const plt_command commands[] = {
    {.name = "db",
     .summary = "Show the schema version of each plugin",
     .usage = "status",
     .run = stq_cmd_db},
    {0},
};

/* Generations tell a live instance's posted messages from an old one's
 * (see stq_live); the plugin is never unloaded, so this survives. */
static uint64_t generation;
static stq *self_impl;

static void
read_tunables(stq *s, const plt_cfg *cfg)
{
    int64_t v = 0;
    if (plt_cfg_duration_ms(cfg, "txn_timeout", &v) == 0)
        s->txn_ms = v;
    if (plt_cfg_int(cfg, "batch_max", &v) == 0)
        s->batch_max = (int)v;
}

static int
sq_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    stq *s = calloc(1, sizeof(*s));
    if (!s)
        return PLT_ENOMEM;
    s->gen = ++generation;
    stc_migreg_init(&s->mig, STC_SQLITE);
    atomic_init(&s->abort, false);
    atomic_init(&s->declared, 0);

    const char *file = "plateau.db";
    int64_t v = 0;
    plt_cfg_str(cfg, "file", &file);
    s->nreaders = plt_cfg_int(cfg, "readers", &v) == 0 ? (int)v : 2;
    s->busy_ms = plt_cfg_duration_ms(cfg, "busy_timeout", &v) == 0 ? v : 5000;
    s->cache_mib = plt_cfg_int(cfg, "cache_mib", &v) == 0 ? (int)v : 16;
    s->ckpt_pages =
        plt_cfg_int(cfg, "checkpoint_pages", &v) == 0 ? (int)v : 1000;
    s->txn_ms = 10000;
    s->batch_max = 256;
    read_tunables(s, cfg);
    if (!file || !*file || strcmp(file, ":memory:") == 0 ||
        strncmp(file, "file:", 5) == 0) {
        plt_set_error("file: '%s' is not a file path (an in-memory "
                      "database cannot be shared by the writer and the "
                      "readers)",
                      file ? file : "");
        free(s);
        return PLT_ECONFIG;
    }
    if (file[0] == '/') {
        s->path = strdup(file);
    } else {
        const char *dir = plt_data_dir();
        size_t n = strlen(dir) + strlen(file) + 2;
        s->path = malloc(n);
        if (s->path)
            snprintf(s->path, n, "%s/%s", dir, file);
    }
    if (!s->path) {
        free(s);
        return PLT_ENOMEM;
    }

    plt_service_desc d = {.size = sizeof(d),
                          .major = PLT_STORAGE_MAJOR,
                          .minor = PLT_STORAGE_MINOR,
                          .name = PLT_STORAGE_NAME,
                          .vtable = &stq_vtable.vt,
                          .impl = s};
    int rc = plt_service_provide(&d);
    if (rc != 0) {
        free(s->path);
        free(s);
        return rc;
    }
    self_impl = s;
    stq_live = s;
    return 0;
}

static int
sync_init(stq *s)
{
    if (uv_mutex_init(&s->wmu) != 0)
        return PLT_ENOMEM;
    if (uv_cond_init(&s->wcv) != 0)
        goto e1;
    if (uv_mutex_init(&s->rmu) != 0)
        goto e2;
    if (uv_cond_init(&s->rcv) != 0)
        goto e3;
    if (uv_sem_init(&s->ready, 0) != 0)
        goto e4;
    s->sync_ready = true;
    return 0;
e4:
    uv_cond_destroy(&s->rcv);
e3:
    uv_mutex_destroy(&s->rmu);
e2:
    uv_cond_destroy(&s->wcv);
e1:
    uv_mutex_destroy(&s->wmu);
    return PLT_ENOMEM;
}

static int
sq_start(plt_plugin *self)
{
    (void)self;
    stq *s = self_impl;
    /* Consumers declared their migrations in their init(); from now on
     * the set is fixed. */
    stc_migreg_freeze(&s->mig);
    s->start_now_ms = plt_now();
    int rc = sync_init(s);
    if (rc != 0) {
        plt_set_error("out of memory");
        return rc;
    }
    /* Blocks while the writer opens the database and migrates: nothing
     * is served yet, and every SQLite wait is bounded by busy_timeout. */
    rc = stq_writer_start(s);
    if (rc == 0)
        rc = stq_readers_start(s);
    if (rc != 0) {
        stq_threads_abort(s);
        plt_set_error("%s", s->start_err[0] ? s->start_err : plt_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < s->nstart_notes; i++)
        plt_log(PLT_LOG_NOTICE, "%s", s->start_notes[i]);
    s->state = STQ_S_STARTED;
    plt_log(PLT_LOG_INFO,
            "SQLite %s database %s (WAL, %d reader(s), batch_max %d)",
            sqlite3_libversion(), s->path, s->nreaders, s->batch_max);
    return 0;
}

static int
sq_stop(plt_plugin *self)
{
    (void)self;
    return stq_api_stop(self_impl);
}

static void
sq_fini(plt_plugin *self)
{
    (void)self;
    stq *s = self_impl;
    if (!s)
        return;
    stq_api_fini(s);
    free(s);
    self_impl = NULL;
}

static int
sq_reconfigure(plt_plugin *self, const plt_cfg *cfg, plt_reconf_phase ph)
{
    (void)self;
    /* Only txn_timeout and batch_max are reloadable; both are read on the
     * loop, so applying them is just storing them. */
    if (ph == PLT_RECONF_APPLY && self_impl)
        read_tunables(self_impl, cfg);
    return 0;
}

static int
sq_check(plt_plugin *self)
{
    (void)self;
    return stq_check(self_impl);
}

/* NOUNLOAD: if the core's stop deadline passes, fini() stops the threads
 * by force and results they already posted may still sit in the core's
 * queue; their functions live in this .so and must stay mapped (they
 * recognise a finished instance and only free their memory). */
PLT_PLUGIN_DEFINE(.name = "storage_sqlite", .version = "1.0.0",
                  .summary = "SQLite storage engine (embedded default)",
                  .flags = PLT_PLUGIN_F_NOUNLOAD, .provides = provides,
                  .config_keys = keys, .commands = commands, .init = sq_init,
                  .start = sq_start, .stop = sq_stop, .fini = sq_fini,
                  .reconfigure = sq_reconfigure, .check = sq_check);
