/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/svc/users.h
 * The `users` service 1.0: who may use Plateau, with which role, and the
 * append-only audit log of what they changed.
 *
 * Passwords are hashed with Argon2id (libsodium crypto_pwhash) on worker
 * threads, never on the loop, with a cap on how many hashes run at once so
 * that a shift-start burst of logins cannot exhaust memory (requests over
 * the cap wait in a bounded queue; beyond it they fail with PLT_EAGAIN).
 * Failed logins are counted per user; past the configured threshold the
 * account is locked for the configured time. An unknown login costs the
 * same hashing time as a known one, so timing does not reveal who exists.
 *
 * Thread: every function is called on the loop thread and calls back
 * there. Ownership: inputs are copied before the call returns; a plt_user
 * passed to a callback is valid only during the callback. Callbacks: none
 * is called if a function returns < 0.
 */
#ifndef PLATEAU_SVC_USERS_H
#define PLATEAU_SVC_USERS_H

#include <stdbool.h>

#include "plateau/service.h"
#include "plateau/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLT_USERS_NAME "users"
#define PLT_USERS_MAJOR 1
#define PLT_USERS_MINOR 0

/** Roles, from most to least privileged. Values frozen for users 1.x. */
typedef enum plt_role {
    PLT_ROLE_ADMIN = 1,      /**< users, campaigns, lists, settings */
    PLT_ROLE_SUPERVISOR = 2, /**< live view, statistics, force states */
    PLT_ROLE_AGENT = 3       /**< takes calls */
} plt_role;

/** A user as read from storage. Never carries the password hash. */
typedef struct plt_user {
    uint32_t size;              /**< sizeof(plt_user) of the provider */
    int64_t id;
    const char *login;          /**< unique, [a-z0-9._@-], 1-64 chars */
    const char *name;           /**< display name */
    int32_t role;               /**< a plt_role */
    bool disabled;              /**< may not log in */
    bool must_change_password;  /**< set by creation/reset, cleared by change */
    int32_t failed_logins;      /**< consecutive failures */
    int64_t locked_until;       /**< UTC ms; 0 = not locked */
    int64_t created_at;         /**< UTC ms */
    int64_t password_changed_at; /**< UTC ms */
    bool password_expired;      /**< older than the configured max age */
} plt_user;

/** Fields of a new user. */
typedef struct plt_user_new {
    uint32_t size; /**< sizeof(plt_user_new), set by the caller */
    const char *login;
    const char *name;  /**< may be NULL (login is used) */
    int32_t role;      /**< a plt_role */
    bool must_change_password; /**< force a change at first login */
} plt_user_new;

/** One audit entry (see audit()). */
typedef struct plt_audit_entry {
    int64_t id;
    int64_t at;          /**< UTC ms */
    const char *actor;   /**< "user:alice", "cli:root", "system" */
    const char *action;  /**< "user.created", "campaign.updated", ... */
    const char *object;  /**< what it acted on, e.g. "user:bob" */
    const char *details; /**< JSON text or NULL; never a secret */
    const char *origin;  /**< remote address or "cli", or NULL */
} plt_audit_entry;

/** Completion carrying a user (NULL when status < 0). */
typedef void (*plt_user_fn)(void *arg, int status, const plt_user *u);
/** Completion without data. @p msg explains a failure (may be NULL). */
typedef void (*plt_users_done_fn)(void *arg, int status, const char *msg);
/** One listed user; return non-zero to stop. */
typedef int (*plt_user_row_fn)(void *arg, const plt_user *u);
/** One audit entry; return non-zero to stop. */
typedef int (*plt_audit_row_fn)(void *arg, const plt_audit_entry *e);

typedef struct plt_users_vt {
    uint32_t size;

    /**
     * Check a login and password.
     * Status: 0 (u set; check u->must_change_password and
     * u->password_expired); PLT_EAUTH (unknown login, wrong password or
     * disabled account - deliberately indistinguishable); PLT_ELOCKED
     * (locked after too many failures; u set so the caller can say until
     * when); PLT_EAGAIN (too many logins being checked right now).
     * Every outcome is written to the audit log with @p origin.
     */
    int (*authenticate)(void *impl, const char *login, const char *password,
                        const char *origin, plt_user_fn cb, void *arg);

    /**
     * Create a user. The password must pass the policy (done() gets
     * PLT_EINVAL and the rule broken in msg). Status PLT_EEXIST if the
     * login is taken. Audited as user.created by @p actor.
     */
    int (*create)(void *impl, const plt_user_new *u, const char *password,
                  const char *actor, const char *origin,
                  plt_users_done_fn done, void *arg);

    /** Set a new password (policy applies); clears must_change_password
     *  unless @p force_change; resets failures and lock. Audited. */
    int (*set_password)(void *impl, const char *login, const char *password,
                        bool force_change, const char *actor,
                        const char *origin, plt_users_done_fn done,
                        void *arg);

    /** Read one user by login. PLT_ENOENT if absent. */
    int (*get)(void *impl, const char *login, plt_user_fn cb, void *arg);

    /** List users ordered by login, from @p offset, at most @p limit. */
    int (*list)(void *impl, int64_t offset, int64_t limit,
                plt_user_row_fn row, plt_users_done_fn done, void *arg);

    /** Change role, display name (NULL = keep) or disabled flag. Audited. */
    int (*update)(void *impl, const char *login, int32_t role,
                  const char *name, int disabled, const char *actor,
                  const char *origin, plt_users_done_fn done, void *arg);

    /** Clear the failure counter and lock. Audited. */
    int (*unlock)(void *impl, const char *login, const char *actor,
                  const char *origin, plt_users_done_fn done, void *arg);

    /**
     * Append to the audit log (append-only: there is no update or
     * delete). @p details is JSON text or NULL and must hold no secret.
     */
    int (*audit)(void *impl, const char *actor, const char *action,
                 const char *object, const char *details, const char *origin,
                 plt_users_done_fn done, void *arg);

    /** Read the audit log, newest first, entries with id < @p before_id
     *  (0 = from the newest), at most @p limit. */
    int (*audit_list)(void *impl, int64_t before_id, int64_t limit,
                      plt_audit_row_fn row, plt_users_done_fn done,
                      void *arg);
} plt_users_vt;

/** Names of roles ("admin", "supervisor", "agent"); NULL if unknown. */
static inline const char *
plt_role_name(int32_t role)
{
    switch (role) {
    case PLT_ROLE_ADMIN: return "admin";
    case PLT_ROLE_SUPERVISOR: return "supervisor";
    case PLT_ROLE_AGENT: return "agent";
    default: return (const char *)0;
    }
}

#ifdef __cplusplus
}
#endif
#endif
