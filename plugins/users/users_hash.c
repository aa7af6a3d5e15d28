/* SPDX-License-Identifier: MIT */
/*
 * Password hashing: Argon2id (libsodium crypto_pwhash_str) on worker
 * threads, never on the loop, with at most `hash_concurrency` hashes
 * running at once and at most `hash_queue` more waiting. An INTERACTIVE
 * hash needs 64 MiB and tens of milliseconds of CPU: without the cap, a
 * shift-start burst of fifty logins would ask for 3.2 GB at once. Beyond
 * the queue, submissions fail with PLT_EAGAIN at once, which is what a
 * login form can show ("try again in a moment").
 *
 * A login reserves its slot when it arrives (before its user row is
 * fetched), so that admission is decided in arrival order and a burst
 * gets exactly cap + queue admissions, whatever the database timing.
 *
 * The hasher also keeps the dummy hash that unknown logins are checked
 * against, so that "no such user" costs the same time as "wrong password".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "users_int.h"

struct users_hash_job {
    users_hasher *h;
    users_hash_kind kind;
    unsigned long long ops; /* parameters at submission */
    size_t mem;
    char *password; /* malloc'd copy, wiped after use */
    size_t pwlen;
    char in[USERS_HASH_MAX];  /* VERIFY/DUMMY: the hash to check */
    char out[USERS_HASH_MAX]; /* MAKE, or VERIFY's rehash */
    int status;               /* set by the worker */
    bool rehashed;
    users_hash_fn done;
    void *arg;
    users_hash_job *next;
};

void
users_hasher_init(users_hasher *h, struct users *owner, const users_cfg *cfg)
{
    memset(h, 0, sizeof(*h));
    h->owner = owner;
    atomic_init(&h->active, 0);
    atomic_init(&h->max_active, 0);
    users_hasher_configure(h, cfg);
}

void
users_hasher_configure(users_hasher *h, const users_cfg *cfg)
{
    h->cap = (unsigned)cfg->hash_concurrency;
    h->queue_max = (size_t)cfg->hash_queue;
    h->ops = (unsigned long long)cfg->hash_ops;
    h->mem = (size_t)cfg->hash_memory;
    /* A dummy made with other parameters would no longer cost what a real
     * verification costs: make a new one (see users_hasher_start). */
    if (h->dummy && crypto_pwhash_str_needs_rehash(h->dummy, h->ops, h->mem)) {
        free(h->dummy);
        h->dummy = NULL;
    }
}

static void
job_free(users_hash_job *j)
{
    if (j->password) {
        sodium_memzero(j->password, j->pwlen);
        free(j->password);
    }
    sodium_memzero(j, sizeof(*j));
    free(j);
}

/* Record the highest number of hashes computing at once, as the workers
 * see it: this is the figure the cap promises, measured where memory is
 * actually taken rather than where jobs are handed out. */
static void
note_active(users_hasher *h)
{
    unsigned now = atomic_fetch_add(&h->active, 1) + 1;
    unsigned max = atomic_load(&h->max_active);
    while (now > max &&
           !atomic_compare_exchange_weak(&h->max_active, &max, now))
        ;
}

/* Worker thread: only libsodium and the job; no host call. */
static void
hash_work(void *arg)
{
    users_hash_job *j = arg;
    users_hasher *h = j->h;
    note_active(h);
    switch (j->kind) {
    case USERS_HASH_MAKE:
        j->status = crypto_pwhash_str(j->out, j->password, j->pwlen, j->ops,
                                      j->mem) == 0
                        ? 0
                        : PLT_ENOMEM;
        break;
    case USERS_HASH_VERIFY:
        if (crypto_pwhash_str_verify(j->in, j->password, j->pwlen) != 0) {
            j->status = PLT_EAUTH;
            break;
        }
        j->status = 0;
        /* Parameters changed since this hash was made: re-hash now, while
         * the password is at hand, so the next login uses the new ones.
         * A failure here only postpones the upgrade. */
        if (crypto_pwhash_str_needs_rehash(j->in, j->ops, j->mem) != 0 &&
            crypto_pwhash_str(j->out, j->password, j->pwlen, j->ops, j->mem) ==
                0)
            j->rehashed = true;
        break;
    case USERS_HASH_DUMMY:
        /* Verifying against the dummy costs one Argon2 computation with
         * the current parameters, as a real verification does. Before the
         * dummy exists, hashing the password costs the same. */
        /* The results are deliberately ignored (the answer is always
         * no); libsodium insists they be looked at. */
        if (j->in[0]) {
            if (crypto_pwhash_str_verify(j->in, j->password, j->pwlen) == 0)
                j->out[0] = '\0';
        } else if (crypto_pwhash_str(j->out, j->password, j->pwlen, j->ops,
                                     j->mem) != 0) {
            j->out[0] = '\0';
        }
        j->status = PLT_EAUTH;
        break;
    }
    if (j->password) {
        sodium_memzero(j->password, j->pwlen);
        free(j->password);
        j->password = NULL;
    }
    atomic_fetch_sub(&h->active, 1);
}

static void hash_done(void *arg, int status);

static void
publish_drained(users_hasher *h)
{
    users_hash_stats s;
    users_hasher_stats(h, &s);
    plt_event *ev;
    if (plt_event_new(&ev, "users.hasher.drained", 1) != 0)
        return;
    plt_event_set_i64(ev, "max_running", s.max_running);
    plt_event_set_i64(ev, "concurrency", h->cap);
    plt_event_set_i64(ev, "completed", (int64_t)s.completed);
    plt_event_set_i64(ev, "rejected", (int64_t)s.rejected);
    plt_event_publish(ev);
}

/* Hand the job to a worker. On failure the job is untouched. */
static int
dispatch(users_hasher *h, users_hash_job *j)
{
    h->running++;
    int rc = plt_queue_work(hash_work, hash_done, j);
    if (rc != 0)
        h->running--;
    return rc;
}

/* Start waiting jobs while there is room. A job that cannot be handed to
 * a worker fails here; we are in a loop callback, so calling back is
 * allowed. */
static void
pump(users_hasher *h)
{
    while (h->head && h->running < h->cap) {
        users_hash_job *j = h->head;
        h->head = j->next;
        if (!h->head)
            h->tail = NULL;
        h->queued--;
        j->next = NULL;
        int rc = dispatch(h, j);
        if (rc != 0) {
            j->done(j->arg, rc, NULL);
            job_free(j);
        }
    }
}

static void
hash_done(void *arg, int status)
{
    users_hash_job *j = arg;
    users_hasher *h = j->h;
    h->running--;
    h->completed++;
    if (status == 0)
        status = j->status;
    const char *out = NULL;
    if (status == 0 && (j->kind == USERS_HASH_MAKE || j->rehashed))
        out = j->out;
    /* Start the next job before calling back, so a callback that submits
     * again queues behind those already waiting. */
    pump(h);
    j->done(j->arg, status, out);
    job_free(j);
    if (users_hasher_idle(h)) {
        publish_drained(h);
        users_check_stopped(h->owner);
    }
}

int
users_hash_reserve(users_hasher *h)
{
    if (h->closing)
        return PLT_ESHUTDOWN;
    if (h->running + h->queued + h->reserved >= h->cap + h->queue_max) {
        h->rejected++;
        return PLT_EAGAIN;
    }
    h->reserved++;
    return 0;
}

void
users_hash_unreserve(users_hasher *h)
{
    if (h->reserved > 0)
        h->reserved--;
}

int
users_hash_submit(users_hasher *h, users_hash_kind kind, const char *password,
                  size_t pwlen, const char *hash, bool reserved,
                  users_hash_fn done, void *arg)
{
    if (!password || !done || (kind == USERS_HASH_VERIFY && !hash))
        return PLT_EINVAL;
    if (h->closing) {
        if (reserved)
            users_hash_unreserve(h);
        return PLT_ESHUTDOWN;
    }
    if (!reserved &&
        h->running + h->queued + h->reserved >= h->cap + h->queue_max) {
        h->rejected++;
        return PLT_EAGAIN;
    }
    users_hash_job *j = calloc(1, sizeof(*j));
    char *pw = malloc(pwlen + 1);
    if (!j || !pw) {
        free(j);
        free(pw);
        if (reserved)
            users_hash_unreserve(h);
        return PLT_ENOMEM;
    }
    memcpy(pw, password, pwlen);
    pw[pwlen] = '\0';
    j->h = h;
    j->kind = kind;
    j->ops = h->ops;
    j->mem = h->mem;
    j->password = pw;
    j->pwlen = pwlen;
    j->done = done;
    j->arg = arg;
    if (hash)
        snprintf(j->in, sizeof(j->in), "%s", hash);
    else if (kind == USERS_HASH_DUMMY && h->dummy)
        snprintf(j->in, sizeof(j->in), "%s", h->dummy);
    if (reserved)
        users_hash_unreserve(h);

    if (h->running < h->cap && !h->head) {
        int rc = dispatch(h, j);
        if (rc != 0) {
            job_free(j);
            return rc;
        }
        return 0;
    }
    if (h->tail)
        h->tail->next = j;
    else
        h->head = j;
    h->tail = j;
    h->queued++;
    return 0;
}

static void
dummy_done(void *arg, int status, const char *hash)
{
    users_hasher *h = arg;
    h->dummy_pending = false;
    if (status != 0 || !hash) {
        plt_log_err(PLT_LOG_WARN, status,
                    "cannot make the hash unknown logins are checked "
                    "against; they hash the given password instead");
        return;
    }
    /* Parameters changed while it was being made (reload): make another,
     * or unknown logins would cost less than known ones. */
    if (crypto_pwhash_str_needs_rehash(hash, h->ops, h->mem) != 0) {
        if (!h->closing)
            (void)users_hasher_start(h);
        return;
    }
    free(h->dummy);
    h->dummy = strdup(hash);
}

int
users_hasher_start(users_hasher *h)
{
    if (h->dummy || h->dummy_pending)
        return 0;
    /* The dummy's password is random and forgotten: no password verifies
     * against it. */
    unsigned char rnd[24];
    char pw[sizeof(rnd) * 2 + 1];
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
    int rc = users_hash_submit(h, USERS_HASH_MAKE, pw, strlen(pw), NULL, false,
                               dummy_done, h);
    sodium_memzero(pw, sizeof(pw));
    sodium_memzero(rnd, sizeof(rnd));
    if (rc == 0)
        h->dummy_pending = true;
    return rc;
}

void
users_hasher_close(users_hasher *h)
{
    h->closing = true;
    users_hash_job *j = h->head;
    h->head = h->tail = NULL;
    h->queued = 0;
    while (j) {
        users_hash_job *next = j->next;
        j->done(j->arg, PLT_ECANCELED, NULL);
        job_free(j);
        j = next;
    }
}

bool
users_hasher_idle(const users_hasher *h)
{
    return h->running == 0 && h->queued == 0;
}

void
users_hasher_fini(users_hasher *h)
{
    free(h->dummy);
    h->dummy = NULL;
}

void
users_hasher_stats(const users_hasher *h, users_hash_stats *out)
{
    out->running = h->running;
    out->queued = h->queued;
    out->reserved = h->reserved;
    out->max_running = atomic_load(&((users_hasher *)h)->max_active);
    out->completed = h->completed;
    out->rejected = h->rejected;
}
