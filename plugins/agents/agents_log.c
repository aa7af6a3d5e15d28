/* SPDX-License-Identifier: MIT */
/*
 * The state log: one row per state an agent was in, in storage table
 * agent_state_log. A transition at time T closes the agent's open row
 * (ended_at = T, duration_ms = T - started_at) and opens the row of the
 * new state (started_at = T, ended_at NULL), so consecutive rows of an
 * agent are contiguous by construction and the current state always has
 * its row.
 *
 * Statements go out one at a time, in the order the transitions happened,
 * from an in-memory queue: the state machine never waits for the
 * database. A failed statement is logged and counted, and the queue goes
 * on; a transition is never refused because of storage.
 */
#include <stdlib.h>
#include <string.h>

#include "agents_int.h"

/* One statement per migration: engines may prepare migration texts one
 * statement at a time. */
const plt_storage_migration agents_migrations[] = {
    {.version = 1,
     .name = "create agent_state_log",
     .sql = "CREATE TABLE agent_state_log ("
            " id PLT_ID,"
            " agent TEXT NOT NULL,"
            " state TEXT NOT NULL,"
            " reason TEXT,"
            " by_who TEXT NOT NULL,"
            " started_at BIGINT NOT NULL,"
            " ended_at BIGINT,"
            " duration_ms BIGINT)"},
    {.version = 2,
     .name = "index agent_state_log by agent",
     .sql = "CREATE INDEX agent_state_log_agent"
            " ON agent_state_log (agent, ended_at)"},
};
const size_t agents_nmigrations =
    sizeof(agents_migrations) / sizeof(agents_migrations[0]);

static const char sql_close[] =
    "UPDATE agent_state_log SET ended_at = $2, duration_ms = $2 - started_at"
    " WHERE agent = $1 AND ended_at IS NULL";

static const char sql_open[] =
    "INSERT INTO agent_state_log (agent, state, reason, by_who, started_at)"
    " VALUES ($1, $2, $3, $4, $5)";

struct agents_log_item {
    agents_log_item *next;
    bool open; /* INSERT of the new row; else UPDATE closing the old */
    char *agent;
    const char *state; /* static state name */
    char *reason;
    char *by;
    int64_t at;
};

static void pump(agents_log *lg);

static void
item_free(agents_log_item *it)
{
    if (!it)
        return;
    free(it->agent);
    free(it->reason);
    free(it->by);
    free(it);
}

void
agents_log_init(agents_log *lg, const plt_storage *st)
{
    memset(lg, 0, sizeof(*lg));
    if (st) {
        lg->st = *st;
        lg->have_st = true;
    }
}

static void
on_done(void *arg, int status, const plt_storage_result *res)
{
    agents_log *lg = arg;
    agents_log_item *it = lg->head;
    lg->head = it->next;
    if (!lg->head)
        lg->tail = NULL;
    lg->busy = false;
    if (status == 0) {
        lg->written++;
    } else {
        lg->errors++;
        plt_log_err(PLT_LOG_ERROR, status, "agent %s: state log %s failed (%s)",
                    it->agent, it->open ? "insert" : "update",
                    res && res->error ? res->error : "no message");
    }
    item_free(it);
    pump(lg);
}

/* Send the head of the queue if nothing is in flight. */
static void
pump(agents_log *lg)
{
    while (!lg->busy && lg->head) {
        agents_log_item *it = lg->head;
        plt_value args[5];
        size_t n;
        const char *sql;
        if (it->open) {
            sql = sql_open;
            args[0] = PLT_V_STR(it->agent);
            args[1] = PLT_V_STR(it->state);
            args[2] = it->reason ? PLT_V_STR(it->reason) : PLT_V_NULL();
            args[3] = PLT_V_STR(it->by);
            args[4] = PLT_V_TIME(it->at);
            n = 5;
        } else {
            sql = sql_close;
            args[0] = PLT_V_STR(it->agent);
            args[1] = PLT_V_TIME(it->at);
            n = 2;
        }
        lg->busy = true;
        int rc = plt_storage_exec(&lg->st, sql, args, n, PLT_STORAGE_WRITE,
                                  NULL, on_done, lg);
        if (rc != 0) {
            /* No callback comes after a failed call: account for the
             * statement here and go on with the next one. */
            lg->busy = false;
            lg->errors++;
            plt_log_err(PLT_LOG_ERROR, rc, "agent %s: cannot queue state log",
                        it->agent);
            lg->head = it->next;
            if (!lg->head)
                lg->tail = NULL;
            item_free(it);
        }
    }
    if (!lg->busy && !lg->head && lg->stopping) {
        lg->stopping = false;
        plt_stopped();
    }
}

static agents_log_item *
item_new(bool open, const char *login, int32_t state, const char *reason,
         const char *by, int64_t at)
{
    agents_log_item *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->open = open;
    it->state = plt_agent_state_name(state);
    it->at = at;
    it->agent = strdup(login);
    it->by = strdup(by);
    if (reason)
        it->reason = strdup(reason);
    if (!it->agent || !it->by || (reason && !it->reason)) {
        item_free(it);
        return NULL;
    }
    return it;
}

static void
push(agents_log *lg, agents_log_item *it)
{
    if (lg->tail)
        lg->tail->next = it;
    else
        lg->head = it;
    lg->tail = it;
}

void
agents_log_transition(agents_log *lg, const char *login, int32_t state,
                      const char *reason, const char *by, int64_t at)
{
    if (!lg->have_st)
        return;
    agents_log_item *close = item_new(false, login, state, NULL, by, at);
    agents_log_item *open = item_new(true, login, state, reason, by, at);
    if (!close || !open) {
        item_free(close);
        item_free(open);
        lg->errors += 2;
        plt_log(PLT_LOG_ERROR, "agent %s: out of memory, state log row lost",
                login);
        return;
    }
    push(lg, close);
    push(lg, open);
    pump(lg);
}

int
agents_log_stop(agents_log *lg)
{
    if (!lg->busy && !lg->head)
        return 0;
    lg->stopping = true;
    return PLT_EINPROGRESS;
}

void
agents_log_fini(agents_log *lg)
{
    /* A statement still in flight at fini() would call back into freed
     * memory; stop() waits for the queue to drain, so this only frees
     * what a failed stop left behind. */
    agents_log_item *it = lg->head;
    while (it) {
        agents_log_item *next = it->next;
        item_free(it);
        it = next;
    }
    lg->head = lg->tail = NULL;
}
