/* SPDX-License-Identifier: MIT */
/*
 * users: who may use Plateau, with which role, and the append-only audit
 * log of what they did. Provides the `users` 1.0 service (plateau/svc/
 * users.h) on top of `storage` 1.x, and the `plateau user ...` command.
 *
 * This file holds only the descriptor, the configuration schema and the
 * lifecycle. The service lives in users_auth.c and users_account.c, the
 * SQL in users_store.c, hashing in users_hash.c, the password rules in
 * users_policy.c and the command in users_cli.c.
 *
 * Stopping waits for what is in flight (hashes on workers, statements in
 * storage) so that no callback runs into freed state; waiting hashes are
 * cancelled rather than computed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "users_int.h"

/* The defaults below are libsodium's INTERACTIVE limits for Argon2id,
 * written out because the schema takes text. */
_Static_assert(crypto_pwhash_OPSLIMIT_INTERACTIVE == 2, "hash_ops default");
_Static_assert(crypto_pwhash_MEMLIMIT_INTERACTIVE == 67108864,
               "hash_memory default");
_Static_assert(crypto_pwhash_MEMLIMIT_MIN == 8192, "hash_memory minimum");

static const plt_cfg_key users_keys[] = {
    {.name = "hash_concurrency",
     .type = PLT_CFG_INT,
     .def = "2",
     .flags = PLT_CFG_RELOADABLE,
     .min = 1,
     .max = 16,
     .help = "password hashes computed at once (each takes hash_memory)"},
    {.name = "hash_queue",
     .type = PLT_CFG_INT,
     .def = "200",
     .flags = PLT_CFG_RELOADABLE,
     .min = 0,
     .max = 100000,
     .help = "hashes that may wait beyond that; more are refused (retry)"},
    {.name = "hash_ops",
     .type = PLT_CFG_INT,
     .def = "2",
     .flags = PLT_CFG_RELOADABLE,
     .min = 1,
     .max = 100,
     .help = "Argon2id passes (libsodium INTERACTIVE: 2)"},
    {.name = "hash_memory",
     .type = PLT_CFG_INT,
     .def = "67108864",
     .flags = PLT_CFG_RELOADABLE,
     .min = 8192,
     .max = 4294967296,
     .help = "Argon2id memory in bytes (INTERACTIVE: 64 MiB); stored "
             "hashes are upgraded at the next login when this changes"},
    {.name = "lockout_threshold",
     .type = PLT_CFG_INT,
     .def = "6",
     .flags = PLT_CFG_RELOADABLE,
     .min = 0,
     .max = 1000,
     .help = "consecutive failed logins that lock an account (0 = never)"},
    {.name = "lockout_duration",
     .type = PLT_CFG_DURATION,
     .def = "15m",
     .flags = PLT_CFG_RELOADABLE,
     .min = 1000,
     .max = 604800000,
     .help = "how long a locked account stays locked (1s to 7d)"},
    {.name = "password_min_length",
     .type = PLT_CFG_INT,
     .def = "10",
     .flags = PLT_CFG_RELOADABLE,
     .min = 8,
     .max = 256,
     .help = "minimum password length in characters (8 to 256)"},
    {.name = "password_min_classes",
     .type = PLT_CFG_INT,
     .def = "3",
     .flags = PLT_CFG_RELOADABLE,
     .min = 1,
     .max = 4,
     .help = "character classes a password mixes, of lowercase, "
             "uppercase, digits, other"},
    {.name = "password_max_age",
     .type = PLT_CFG_DURATION,
     .def = "0",
     .flags = PLT_CFG_RELOADABLE,
     .min = 0,
     .max = 315360000000,
     .help = "age after which a password must be changed (0 = never)"},
    PLT_CFG_END};

static const plt_dep users_needs[] = {
    {PLT_STORAGE_NAME, PLT_STORAGE_MAJOR, 0, 0}, {0}};
static const char *const users_provides[] = {PLT_USERS_NAME, NULL};

/* The plugin's state, from init() to fini(). */
static users *users_state;

static int
read_cfg(const plt_cfg *cfg, users_cfg *out)
{
    int rc = 0;
    rc |= plt_cfg_int(cfg, "hash_concurrency", &out->hash_concurrency);
    rc |= plt_cfg_int(cfg, "hash_queue", &out->hash_queue);
    rc |= plt_cfg_int(cfg, "hash_ops", &out->hash_ops);
    rc |= plt_cfg_int(cfg, "hash_memory", &out->hash_memory);
    rc |= plt_cfg_int(cfg, "lockout_threshold", &out->lockout_threshold);
    rc |=
        plt_cfg_duration_ms(cfg, "lockout_duration", &out->lockout_duration_ms);
    rc |= plt_cfg_int(cfg, "password_min_length", &out->password_min_length);
    rc |= plt_cfg_int(cfg, "password_min_classes", &out->password_min_classes);
    rc |=
        plt_cfg_duration_ms(cfg, "password_max_age", &out->password_max_age_ms);
    if (rc != 0) {
        plt_set_error("cannot read the configuration");
        return PLT_ECONFIG;
    }
    return 0;
}

/* ---- state shared with the other files ---- */

void
users_req_begin(users *u)
{
    u->pending++;
}

void
users_req_end(users *u)
{
    u->pending--;
    users_check_stopped(u);
}

void
users_check_stopped(users *u)
{
    if (u->stop_async && u->pending == 0 && users_hasher_idle(&u->hasher)) {
        u->stop_async = false;
        plt_stopped();
    }
}

int
users_accepting(const users *u)
{
    if (u->stopping)
        return PLT_ESHUTDOWN;
    return u->started ? 0 : PLT_ESTATE;
}

/* ---- lifecycle ---- */

static int
users_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    if (sodium_init() < 0) {
        plt_set_error("libsodium cannot initialise");
        return PLT_EIO;
    }
    users *u = calloc(1, sizeof(*u));
    if (!u)
        return PLT_ENOMEM;
    int rc = read_cfg(cfg, &u->cfg);
    if (rc != 0) {
        free(u);
        return rc;
    }
    users_hasher_init(&u->hasher, u, &u->cfg);

    /* Storage is acquired here, not in start(), because migrations must
     * be declared before the storage plugin starts (it applies them). */
    rc = plt_storage_acquire(&u->st);
    if (rc != 0) {
        plt_set_error("cannot acquire storage: %s", plt_strerror(rc));
        free(u);
        return rc;
    }
    rc = u->st.vt->migrations(u->st.impl, "users", users_migrations,
                              users_nmigrations);
    if (rc != 0) {
        plt_set_error("cannot declare migrations: %s", plt_strerror(rc));
        free(u);
        return rc;
    }
    plt_service_desc svc = {.size = sizeof(svc),
                            .major = PLT_USERS_MAJOR,
                            .minor = PLT_USERS_MINOR,
                            .name = PLT_USERS_NAME,
                            .vtable = &users_vtable,
                            .impl = u};
    rc = plt_service_provide(&svc);
    if (rc != 0) {
        plt_set_error("cannot provide the users service: %s", plt_strerror(rc));
        free(u);
        return rc;
    }
    users_state = u;
    users_cli_bind(u);
    return 0;
}

static int
users_start(plt_plugin *self)
{
    (void)self;
    users *u = users_state;
    u->started = true;
    /* Unknown logins hash the given password until the dummy exists, so
     * a failure here costs nothing but a log line. */
    int rc = users_hasher_start(&u->hasher);
    if (rc != 0)
        plt_log_err(PLT_LOG_WARN, rc, "cannot queue the dummy hash");
    return 0;
}

static int
users_stop(plt_plugin *self)
{
    (void)self;
    users *u = users_state;
    u->stopping = true;
    u->started = false;
    users_cli_abort();
    users_hasher_close(&u->hasher);
    if (u->pending == 0 && users_hasher_idle(&u->hasher))
        return 0;
    u->stop_async = true;
    return PLT_EINPROGRESS;
}

static void
users_fini(plt_plugin *self)
{
    (void)self;
    users *u = users_state;
    if (!u)
        return;
    users_cli_bind(NULL);
    users_hasher_fini(&u->hasher);
    sodium_memzero(u, sizeof(*u));
    free(u);
    users_state = NULL;
}

static int
users_reconfigure(plt_plugin *self, const plt_cfg *cfg, plt_reconf_phase phase)
{
    (void)self;
    users_cfg c;
    int rc = read_cfg(cfg, &c);
    if (rc != 0 || phase == PLT_RECONF_CHECK)
        return rc;
    users *u = users_state;
    u->cfg = c;
    users_hasher_configure(&u->hasher, &c);
    /* New hash parameters: the dummy must cost what a real check costs. */
    if (u->started && !u->stopping)
        (void)users_hasher_start(&u->hasher);
    return 0;
}

/* `plateau check`: the hash parameters must be usable on this machine
 * (hash_memory can be set beyond what it can allocate). Blocking is
 * allowed here: nothing is serving. */
static int
users_check(plt_plugin *self)
{
    (void)self;
    users *u = users_state;
    char out[crypto_pwhash_STRBYTES];
    uint64_t t0 = plt_mono();
    if (crypto_pwhash_str(out, "plateau-check", 13,
                          (unsigned long long)u->cfg.hash_ops,
                          (size_t)u->cfg.hash_memory) != 0) {
        plt_log(PLT_LOG_ERROR,
                "cannot compute a password hash with hash_memory %lld bytes "
                "and hash_ops %lld: lower them",
                (long long)u->cfg.hash_memory, (long long)u->cfg.hash_ops);
        return PLT_ENOMEM;
    }
    if (!plt_clock_simulated())
        plt_log(PLT_LOG_INFO,
                "one password hash takes %llu ms and %lld MiB; at most %lld "
                "at once",
                (unsigned long long)(plt_mono() - t0),
                (long long)(u->cfg.hash_memory >> 20),
                (long long)u->cfg.hash_concurrency);
    return 0;
}

PLT_PLUGIN_DEFINE(.name = "users", .version = "1.0.0",
                  .summary = "Users, roles, password logins and the audit log",
                  .needs = users_needs, .provides = users_provides,
                  .config_keys = users_keys, .commands = users_commands,
                  .init = users_init, .start = users_start, .stop = users_stop,
                  .fini = users_fini, .reconfigure = users_reconfigure,
                  .check = users_check);
