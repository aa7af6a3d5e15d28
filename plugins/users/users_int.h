/* SPDX-License-Identifier: MIT */
/*
 * Private header of the users plugin: its state, the configuration it
 * runs with, and the functions the files share.
 *
 *   users.c          descriptor and lifecycle
 *   users_auth.c     authenticate(): lookup, verify, lockout, audit
 *   users_account.c  the other service calls (create, passwords, list...)
 *   users_store.c    migrations, SQL texts, row decoding, transactions
 *   users_hash.c     Argon2id on worker threads under a concurrency cap
 *   users_policy.c   password and login rules
 *   users_cli.c      `plateau user ...`
 */
#ifndef USERS_INT_H
#define USERS_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include <plateau/loop.h>
#include <plateau/plateau.h>
#include <plateau/svc/storage.h>
#include <plateau/svc/users.h>

/* Logins are [a-z0-9._@-], 1 to 64 characters (users.h). */
#define USERS_LOGIN_MAX 64
/* Longest password accepted, in bytes. Far above what anyone types (ASVS
 * V6.2.9 asks for at least 64 characters) but bounded, so a request cannot
 * make the plugin copy megabytes around. */
#define USERS_PASSWORD_MAX 1024
/* Longest display name, in bytes. */
#define USERS_NAME_MAX 128
/* Room for an error message handed to a plt_users_done_fn. */
#define USERS_MSG_MAX 256
/* Room for a crypto_pwhash_str() string (NUL included). */
#define USERS_HASH_MAX crypto_pwhash_STRBYTES

/* Configuration values, read in init() and on reload. */
typedef struct users_cfg {
    int64_t hash_concurrency;     /* hashes running at once */
    int64_t hash_queue;           /* hashes waiting beyond that */
    int64_t hash_ops;             /* Argon2id passes */
    int64_t hash_memory;          /* Argon2id memory, bytes */
    int64_t lockout_threshold;    /* failures that lock; 0 = never */
    int64_t lockout_duration_ms;  /* how long a lock lasts */
    int64_t password_min_length;  /* characters (code points) */
    int64_t password_min_classes; /* of lower/upper/digit/other */
    int64_t password_max_age_ms;  /* 0 = passwords never expire */
} users_cfg;

/* ------------------------------------------------------------------ */
/* Hashing (users_hash.c) */

struct users;
typedef struct users_hash_job users_hash_job;

/* What a hash job does. */
typedef enum users_hash_kind {
    USERS_HASH_MAKE = 1,   /* hash a new password */
    USERS_HASH_VERIFY = 2, /* check a password against a stored hash */
    USERS_HASH_DUMMY = 3   /* cost the same as VERIFY, always fails */
} users_hash_kind;

/*
 * Completion of a hash job, on the loop thread.
 * MAKE: 0 and @p hash, the new hash string. VERIFY: 0 when the password
 * matches (then @p hash is a fresh hash with the current parameters when
 * the stored one needed a rehash, else NULL), PLT_EAUTH when it does not.
 * DUMMY: PLT_EAUTH. Any kind: PLT_ENOMEM (Argon2 could not get its
 * memory), PLT_ECANCELED (the plugin is stopping).
 */
typedef void (*users_hash_fn)(void *arg, int status, const char *hash);

/* Counters of the hasher, for tests and metrics. */
typedef struct users_hash_stats {
    unsigned running;     /* jobs handed to workers, not yet back */
    size_t queued;        /* jobs waiting for a worker slot */
    size_t reserved;      /* slots promised to logins still fetching */
    unsigned max_running; /* most hashes ever computing at once, as seen
                           * by the workers themselves */
    uint64_t completed;   /* jobs finished */
    uint64_t rejected;    /* submissions refused with PLT_EAGAIN */
} users_hash_stats;

typedef struct users_hasher {
    struct users *owner;
    /* Parameters, copied into each job when it is submitted. */
    unsigned cap;
    size_t queue_max;
    unsigned long long ops;
    size_t mem;
    /* Loop-thread accounting: running + queued + reserved never exceeds
     * cap + queue_max. */
    unsigned running;
    size_t queued;
    size_t reserved;
    users_hash_job *head, *tail; /* FIFO of waiting jobs */
    /* The hash unknown logins are verified against (NULL until made). */
    char *dummy;
    bool dummy_pending;
    bool closing;
    /* Worker-side concurrency, measured where the hashing happens. */
    atomic_uint active;
    atomic_uint max_active;
    uint64_t completed;
    uint64_t rejected;
} users_hasher;

/* Set parameters from @p cfg; allocates nothing. */
void users_hasher_init(users_hasher *h, struct users *owner,
                       const users_cfg *cfg);
/* Take new parameters (reload). Jobs already submitted keep theirs. */
void users_hasher_configure(users_hasher *h, const users_cfg *cfg);
/* Make the dummy hash on a worker (start()). */
int users_hasher_start(users_hasher *h);
/* Fail every waiting job with PLT_ECANCELED and refuse new ones; jobs on
 * workers finish normally. */
void users_hasher_close(users_hasher *h);
/* True when no job is waiting or running. */
bool users_hasher_idle(const users_hasher *h);
/* Free what the hasher holds (after it is idle). */
void users_hasher_fini(users_hasher *h);

/* Promise a slot to a login that will need a hash once its user row is
 * fetched. 0, or PLT_EAGAIN when the cap and the queue are full. */
int users_hash_reserve(users_hasher *h);
/* Give back a slot that will not be used. */
void users_hash_unreserve(users_hasher *h);

/*
 * Submit a job. @p password is copied (and wiped after hashing); @p hash
 * (VERIFY) is copied. With @p reserved the slot promised by
 * users_hash_reserve() is used, so the call cannot fail for lack of room.
 * @return 0 and later done(); PLT_EAGAIN (full); PLT_ESHUTDOWN (closing);
 *         PLT_ENOMEM; PLT_EINVAL.
 */
int users_hash_submit(users_hasher *h, users_hash_kind kind,
                      const char *password, size_t pwlen, const char *hash,
                      bool reserved, users_hash_fn done, void *arg);

void users_hasher_stats(const users_hasher *h, users_hash_stats *out);

/* ------------------------------------------------------------------ */
/* The plugin state */

typedef struct users {
    users_cfg cfg;
    plt_storage st;
    users_hasher hasher;
    int64_t pending; /* requests and jobs in flight */
    bool started;    /* start() ran and stop() did not */
    bool stopping;   /* stop() ran: new calls get PLT_ESHUTDOWN */
    bool stop_async; /* stop() returned PLT_EINPROGRESS */
} users;

/* The service vtable (users_account.c). */
extern const plt_users_vt users_vtable;

/* A request starts / ends: counted so that stop() can wait for them. */
void users_req_begin(users *u);
void users_req_end(users *u);
/* Tell the core the plugin stopped if stop() is waiting and nothing is in
 * flight any more. */
void users_check_stopped(users *u);
/* 0 when the service accepts calls, else PLT_ESTATE / PLT_ESHUTDOWN. */
int users_accepting(const users *u);

/* Publish users.user.<verb> with login and actor (best effort). */
void users_publish(const char *verb, const char *login, const char *actor);

/* Service calls, also used by the CLI (same semantics as users.h). */
int users_authenticate(void *impl, const char *login, const char *password,
                       const char *origin, plt_user_fn cb, void *arg);
int users_create(void *impl, const plt_user_new *nu, const char *password,
                 const char *actor, const char *origin, plt_users_done_fn done,
                 void *arg);
int users_set_password(void *impl, const char *login, const char *password,
                       bool force_change, const char *actor, const char *origin,
                       plt_users_done_fn done, void *arg);
int users_get(void *impl, const char *login, plt_user_fn cb, void *arg);
int users_list(void *impl, int64_t offset, int64_t limit, plt_user_row_fn row,
               plt_users_done_fn done, void *arg);
int users_update(void *impl, const char *login, int32_t role, const char *name,
                 int disabled, const char *actor, const char *origin,
                 plt_users_done_fn done, void *arg);
int users_unlock(void *impl, const char *login, const char *actor,
                 const char *origin, plt_users_done_fn done, void *arg);
int users_audit(void *impl, const char *actor, const char *action,
                const char *object, const char *details, const char *origin,
                plt_users_done_fn done, void *arg);
int users_audit_list(void *impl, int64_t before_id, int64_t limit,
                     plt_audit_row_fn row, plt_users_done_fn done, void *arg);

/* ------------------------------------------------------------------ */
/* Policy (users_policy.c) */

/* Check a login's syntax. 0, or PLT_EINVAL with the rule in @p msg. */
int users_login_check(const char *login, char *msg, size_t len);
/* Copy @p in into @p out (USERS_LOGIN_MAX + 1 bytes) with ASCII letters
 * folded to lowercase. Returns 0, or PLT_EINVAL when the result is not a
 * valid login (out then holds "" ). */
int users_login_fold(const char *in, char *out);
/* Check a display name (length, no control characters). */
int users_name_check(const char *name, char *msg, size_t len);
/* Check a password against the policy. 0, or PLT_EINVAL with the rule
 * broken in @p msg ("password must be at least 10 characters long"). */
int users_policy_check(const users_cfg *cfg, const char *login,
                       const char *password, char *msg, size_t len);

/* ------------------------------------------------------------------ */
/* Storage (users_store.c) */

/* The migrations declared for owner "users". */
extern const plt_storage_migration users_migrations[];
extern const size_t users_nmigrations;

/* Columns of app_user as the plugin reads them, in this order. */
#define USERS_COLS                                                             \
    "id, login, name, role, disabled, must_change_password, failed_logins, "   \
    "locked_until, created_at, password_changed_at, password_hash"

extern const char users_sql_get[];
extern const char users_sql_list[];
extern const char users_sql_insert[];
extern const char users_sql_set_password[];
extern const char users_sql_update[];
extern const char users_sql_unlock[];
extern const char users_sql_login_failed[];
extern const char users_sql_login_ok[];
extern const char users_sql_login_ok_rehash[];
extern const char users_sql_audit_insert[];
extern const char users_sql_audit_list[];

/* A user row with its strings copied out of the storage row. */
typedef struct users_row {
    int64_t id;
    char login[USERS_LOGIN_MAX + 1];
    char name[USERS_NAME_MAX + 1];
    int32_t role;
    bool disabled;
    bool must_change_password;
    int32_t failed_logins;
    int64_t locked_until;
    int64_t created_at;
    int64_t password_changed_at;
    char hash[USERS_HASH_MAX]; /* "" when the user has no password */
} users_row;

/* Decode a row selected with USERS_COLS. 0 or PLT_EINVAL. */
int users_row_decode(const plt_storage_row *row, users_row *out);
/* Fill the public view of @p r (never the hash); @p now decides whether
 * the password expired. Strings point into @p r. */
void users_row_to_user(const users_cfg *cfg, const users_row *r, int64_t now,
                       plt_user *out);

/* Integer / string of column @p i (NULL and wrong types give 0 / NULL). */
int64_t users_col_i64(const plt_storage_row *row, size_t i);
const char *users_col_str(const plt_storage_row *row, size_t i);

/* One statement of a transaction run by users_txn_run(). The values (and
 * what they point to) must stay valid until the run's done() is called. */
typedef struct users_stmt {
    const char *sql;
    plt_value args[8];
    size_t nargs;
    int none_status; /* if it touches no row: fail with this (0 = fine) */
} users_stmt;

/* Completion of users_txn_run(): 0 once committed, else the failure and
 * the engine's message (may be NULL). */
typedef void (*users_txn_fn)(void *arg, int status, const char *msg);

/* Run @p n statements in one transaction, in order, then commit; roll
 * back at the first failure. Returns 0 and later done(), or < 0. */
int users_txn_run(users *u, const users_stmt *stmts, size_t n,
                  users_txn_fn done, void *arg);

/* Fill @p s with the audit INSERT (strings are referenced, not copied). */
void users_audit_stmt(users_stmt *s, int64_t at, const char *actor,
                      const char *action, const char *object,
                      const char *details, const char *origin);

/* ------------------------------------------------------------------ */
/* Command line (users_cli.c) */

extern const plt_command users_commands[];
/* Set the state the command works on (init) or clear it (fini). */
void users_cli_bind(users *u);
/* stop(): give the terminal its echo back if a prompt was interrupted. */
void users_cli_abort(void);

#endif
