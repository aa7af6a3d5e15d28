/* SPDX-License-Identifier: MIT */
/*
 * storage_pg: the `storage` service on PostgreSQL, for larger sites and
 * for several Plateau nodes sharing one database.
 *
 * This file holds the descriptor and the lifecycle only: init() reads the
 * configuration and registers the service (consumers declare their
 * migrations from their own init()); start() runs the bounded startup
 * session - connect, migrate - then opens the pool; stop() lets in-flight
 * work finish and closes every connection; check() reports pending
 * migrations for `plateau check`. The rest lives in storage_pg_conn.c,
 * storage_pg_pool.c, storage_pg_listen.c and storage_pg_migrate.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage_pg_int.h"

/* The plugin's state, from init() to fini(). */
static spg *spg_the;

static const char *const sslmodes[] = {"disable", "prefer", "require", NULL};

static const plt_cfg_key spg_keys[] = {
    {.name = "host",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_REQUIRED,
     .help = "server address (numeric, or a name resolved off the loop)"},
    {.name = "port",
     .type = PLT_CFG_INT,
     .def = "5432",
     .min = 1,
     .max = 65535,
     .help = "server TCP port"},
    {.name = "dbname",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_REQUIRED,
     .help = "database name"},
    {.name = "user",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_REQUIRED,
     .help = "database role"},
    {.name = "password",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_SECRET,
     .help = "password of the role (write ${ENV_VAR} to keep it out of the "
             "file)"},
    {.name = "pool",
     .type = PLT_CFG_INT,
     .def = "4",
     .min = 1,
     .max = 64,
     .help = "connections for statements (1 to 64)"},
    {.name = "connect_timeout",
     .type = PLT_CFG_DURATION,
     .def = "5s",
     .min = 100,
     .max = 600000,
     .help = "bound on a connection attempt, and on how long queued work "
             "waits for a connection"},
    {.name = "txn_timeout",
     .type = PLT_CFG_DURATION,
     .def = "10s",
     .min = 100,
     .max = 86400000,
     .help = "a transaction idle longer than this is rolled back"},
    {.name = "reconnect_max",
     .type = PLT_CFG_DURATION,
     .def = "30s",
     .min = 250,
     .max = 3600000,
     .help = "ceiling of the reconnection back-off (from 250 ms, doubling)"},
    {.name = "sslmode",
     .type = PLT_CFG_STR,
     .def = "prefer",
     .choices = sslmodes,
     .help = "TLS to the server: disable, prefer or require"},
    {.name = "application_name",
     .type = PLT_CFG_STR,
     .def = "plateau",
     .help = "shown in pg_stat_activity"},
    {.name = "jit",
     .type = PLT_CFG_BOOL,
     .def = "false",
     .help = "let the server JIT-compile our statements (off: every session "
             "starts with SET jit = off)"},
    PLT_CFG_END};

static const char *const spg_provides[] = {PLT_STORAGE_NAME, NULL};

static int
read_config(spg *pg, const plt_cfg *cfg)
{
    int64_t port, pool, ct, tt, rm;
    int rc = 0;
    rc |= plt_cfg_str(cfg, "host", &pg->host);
    rc |= plt_cfg_int(cfg, "port", &port);
    rc |= plt_cfg_str(cfg, "dbname", &pg->dbname);
    rc |= plt_cfg_str(cfg, "user", &pg->user);
    rc |= plt_cfg_int(cfg, "pool", &pool);
    rc |= plt_cfg_duration_ms(cfg, "connect_timeout", &ct);
    rc |= plt_cfg_duration_ms(cfg, "txn_timeout", &tt);
    rc |= plt_cfg_duration_ms(cfg, "reconnect_max", &rm);
    rc |= plt_cfg_str(cfg, "sslmode", &pg->sslmode);
    rc |= plt_cfg_str(cfg, "application_name", &pg->appname);
    rc |= plt_cfg_bool(cfg, "jit", &pg->jit);
    if (rc != 0)
        return PLT_ECONFIG;
    if (plt_cfg_str(cfg, "password", &pg->password) != 0)
        pg->password = NULL;
    if (!pg->host[0] || strchr(pg->host, ',')) {
        plt_set_error("host: one server address or name is expected");
        return PLT_ECONFIG;
    }
    pg->port = (int)port;
    pg->pool_size = (int)pool;
    pg->connect_timeout_ms = (uint64_t)ct;
    pg->txn_timeout_ms = (uint64_t)tt;
    pg->reconnect_max_ms = (uint64_t)rm;
    unsigned char addr[16];
    pg->host_numeric = uv_inet_pton(AF_INET, pg->host, addr) == 0 ||
                       uv_inet_pton(AF_INET6, pg->host, addr) == 0;
    return 0;
}

static int
spg_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    spg *pg = calloc(1, sizeof(*pg));
    if (!pg)
        return PLT_ENOMEM;
    int rc = read_config(pg, cfg);
    if (rc != 0) {
        free(pg);
        return rc;
    }
    stc_migreg_init(&pg->migs, STC_PG);
    pg->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32);
    plt_service_desc svc = {.size = sizeof(svc),
                            .major = PLT_STORAGE_MAJOR,
                            .minor = PLT_STORAGE_MINOR,
                            .name = PLT_STORAGE_NAME,
                            .vtable = &spg_vtable,
                            .impl = pg};
    rc = plt_service_provide(&svc);
    if (rc != 0) {
        plt_set_error("cannot register the storage service: %s",
                      plt_strerror(rc));
        stc_migreg_free(&pg->migs);
        free(pg);
        return rc;
    }
    spg_the = pg;
    return 0;
}

static int
spg_start(plt_plugin *self)
{
    (void)self;
    spg *pg = spg_the;
    stc_migreg_freeze(&pg->migs);
    /* Bounded blocking I/O (connect + migrations) on a thread start()
     * joins: nothing is serving yet, and the loop thread itself never
     * runs a blocking libpq call. */
    PGconn *first = NULL;
    int rc = spg_session_run(pg, SPG_SESSION_START, &first);
    if (rc != 0)
        return rc;
    rc = spg_pool_open(pg, first);
    if (rc != 0) {
        plt_set_error("storage_pg: cannot open the pool: %s", plt_strerror(rc));
        return rc;
    }
    char w[300];
    plt_log(PLT_LOG_INFO, "connected to %s, database '%s' as '%s'; pool of %d",
            spg_where(pg, w, sizeof(w)), pg->dbname, pg->user, pg->pool_size);
    return 0;
}

static int
spg_stop(plt_plugin *self)
{
    (void)self;
    spg *pg = spg_the;
    if (pg->state != SPG_S_STARTED)
        return 0;
    spg_pool_stop(pg);
    if (pg->state == SPG_S_STOPPED)
        return 0;
    /* In-flight statements finish, then the connections close; the last
     * close callback calls plt_stopped(). */
    pg->stop_async = true;
    return PLT_EINPROGRESS;
}

static void
spg_fini(plt_plugin *self)
{
    (void)self;
    spg_pool_free(spg_the);
    spg_the = NULL;
}

static int
spg_check(plt_plugin *self)
{
    (void)self;
    return spg_session_run(spg_the, SPG_SESSION_CHECK, NULL);
}

/* NOUNLOAD: libpq brings OpenSSL and Kerberos along, which keep global
 * state (and atexit handlers) that must not be unmapped. */
PLT_PLUGIN_DEFINE(.name = "storage_pg", .version = "1.0.0",
                  .flags = PLT_PLUGIN_F_NOUNLOAD,
                  .summary = "Storage on PostgreSQL (libpq, non-blocking)",
                  .provides = spg_provides, .config_keys = spg_keys,
                  .init = spg_init, .start = spg_start, .stop = spg_stop,
                  .fini = spg_fini, .check = spg_check);
