/* SPDX-License-Identifier: MIT */
/*
 * A test-only storage consumer for the storage contract suite
 * (test_contract.c). It does what every domain plugin does: it needs the
 * `storage` service, acquires it in init() and declares the migrations of
 * its tables there, before the storage plugin starts and applies them.
 *
 * Its config key `migrations` says how many of its migrations it declares,
 * so that one .so plays two releases of a plugin: 6 (the first release)
 * and 8 (a later release adding a column and an index, the index written
 * once per engine). A database that already holds more versions than
 * declared must make the storage plugin refuse to start (PLT_ESCHEMA).
 *
 * It provides the service "contract_consumer" 1.0, whose one function
 * hands back the plt_storage handle it acquired through its `needs`, so
 * the test can check that a consumer sees the same provider.
 *
 * Built into tests/plugins/storage/plugins/ and never installed.
 */
#include <string.h>

#include <plateau/plateau.h>
#include <plateau/svc/storage.h>

#include "contract_consumer.h"

/* Never edited once "shipped": later releases only append. */
static const plt_storage_migration cc_migrations[CC_MIGRATIONS_MAX] = {
    {.version = 1,
     .name = "create ct_types",
     .sql = "CREATE TABLE ct_types (id BIGINT PRIMARY KEY, n BIGINT, "
            "i BIGINT, d DOUBLE PRECISION, s TEXT, b PLT_BLOB, t BIGINT, "
            "f BIGINT)"},
    {.version = 2,
     .name = "create ct_kv",
     .sql = "CREATE TABLE ct_kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)"},
    {.version = 3,
     .name = "create ct_counter",
     .sql = "CREATE TABLE ct_counter (id BIGINT PRIMARY KEY, "
            "n BIGINT NOT NULL)"},
    {.version = 4,
     .name = "create ct_lead",
     .sql = "CREATE TABLE ct_lead (id PLT_ID, campaign_id BIGINT NOT NULL, "
            "priority BIGINT NOT NULL DEFAULT 0, phone TEXT NOT NULL, "
            "reserved_by BIGINT, reserved_at BIGINT)"},
    {.version = 5,
     .name = "create ct_doc",
     .sql = "CREATE TABLE ct_doc (id PLT_ID, body PLT_JSON NOT NULL)"},
    {.version = 6,
     .name = "seed the counter",
     .sql = "INSERT INTO ct_counter (id, n) VALUES (1, 0)"},
    /* The "second release". */
    {.version = 7,
     .name = "add ct_kv.note",
     .sql = "ALTER TABLE ct_kv ADD COLUMN note TEXT"},
    {.version = 8,
     .name = "index ct_kv.v",
     .sqlite = "CREATE INDEX ct_kv_v ON ct_kv (v)",
     .pg = "CREATE INDEX ct_kv_v ON ct_kv USING btree (v)"},
};

static const plt_cfg_key cc_keys[] = {
    {.name = "migrations",
     .type = PLT_CFG_INT,
     .def = "6",
     .min = 0,
     .max = CC_MIGRATIONS_MAX,
     .help = "how many of the consumer's migrations to declare"},
    PLT_CFG_END,
};

static plt_storage cc_storage;

static const plt_storage *
cc_get_storage(void *impl)
{
    (void)impl;
    return &cc_storage;
}

static const cc_vt cc_vtable = {.size = sizeof(cc_vt),
                                .storage = cc_get_storage};

static int
cc_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    int64_t n = 6;
    plt_cfg_int(cfg, "migrations", &n);
    memset(&cc_storage, 0, sizeof(cc_storage));
    /* Allowed from init() (ADR 0004): the provider is initialised, and
     * migrations() is the one call its contract allows before start. */
    int rc = plt_storage_acquire(&cc_storage);
    if (rc != 0) {
        plt_set_error("cannot acquire storage");
        return rc;
    }
    rc = cc_storage.vt->migrations(cc_storage.impl, plt_plugin_name(),
                                   cc_migrations, (size_t)n);
    if (rc != 0) {
        plt_set_error("storage refused the migrations");
        return rc;
    }
    plt_service_desc d = {.size = sizeof(d),
                          .name = CC_SERVICE,
                          .major = 1,
                          .minor = 0,
                          .vtable = &cc_vtable,
                          .impl = NULL};
    return plt_service_provide(&d);
}

static const plt_dep cc_needs[] = {
    {PLT_STORAGE_NAME, PLT_STORAGE_MAJOR, PLT_STORAGE_MINOR, 0}, {0}};
static const char *const cc_provides[] = {CC_SERVICE, NULL};

PLT_PLUGIN_DEFINE(.name = "contract_consumer", .version = "1.0.0",
                  .summary = "storage contract test consumer",
                  .needs = cc_needs, .provides = cc_provides,
                  .config_keys = cc_keys, .init = cc_init);
