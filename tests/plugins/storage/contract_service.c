/* SPDX-License-Identifier: MIT */
/*
 * Contract cases about the service around the statements (part of
 * test_contract, see test_contract.c): LISTEN/NOTIFY delivery within the
 * process, the counters of status(), and a stop with statements still
 * pending (each gets exactly one completion; later calls are refused).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract_harness.h"

static bool g_cb_called;

static void
cb_flag_done(void *arg, int status, const plt_storage_result *res)
{
    (void)arg;
    (void)status;
    (void)res;
    g_cb_called = true;
}

/* --- listen / notify --- */

typedef struct ln {
    int n;
    char ch[8][32];
    char pl[8][128];
} ln;

static void
ln_cb(void *arg, const char *channel, const char *payload)
{
    ln *l = arg;
    if (l->n < 8) {
        snprintf(l->ch[l->n], sizeof(l->ch[0]), "%s", channel ? channel : "");
        snprintf(l->pl[l->n], sizeof(l->pl[0]), "%s", payload ? payload : "");
    }
    l->n++;
}

typedef struct ln_wait {
    const ln *l;
    int n;
} ln_wait;

static bool
ln_reached(void *arg)
{
    ln_wait *w = arg;
    return w->l->n >= w->n;
}

static int
ct_notify(ct *c, const char *ch, const char *payload)
{
    q x = {0};
    int rc = c->st.vt->notify(c->st.impl, ch, payload, q_done, &x);
    if (rc < 0)
        return rc;
    if (!ct_wait(c, &x.done, CT_GUARD_MS))
        rc = CT_NO_CALLBACK;
    else
        rc = x.status;
    q_free(&x);
    return rc;
}

void
test_listen_notify(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    ln a = {0}, b = {0}, other = {0};
    plt_storage_listener *la, *lb, *lo, *bad = NULL;
    assert_int_equal(c->st.vt->listen(c->st.impl, "Bad-Chan", ln_cb, &a, &bad),
                     PLT_EINVAL);
    assert_int_equal(c->st.vt->listen(c->st.impl, "ct_chan", ln_cb, &a, &la),
                     0);
    assert_int_equal(c->st.vt->listen(c->st.impl, "ct_chan", ln_cb, &b, &lb),
                     0);
    assert_int_equal(
        c->st.vt->listen(c->st.impl, "ct_other", ln_cb, &other, &lo), 0);
    /* Sent right after listen() returned: must arrive. */
    assert_int_equal(ct_notify(c, "ct_chan", "it's \"one\""), 0);
    ln_wait wa = {&a, 1}, wb = {&b, 1};
    bool got = ct_wait_pred(c, ln_reached, &wa, 5000) &&
               ct_wait_pred(c, ln_reached, &wb, 5000);
    if (!got) {
        /* Say whether listening was merely late, or broken. */
        ct_notify(c, "ct_chan", "retry");
        ln_wait w2 = {&a, 1};
        bool late = ct_wait_pred(c, ln_reached, &w2, 5000);
        fail_msg("a notification sent right after listen() was %s",
                 late ? "lost (a second one arrived: LISTEN was not yet "
                        "effective when listen() returned)"
                      : "never delivered (nor a second one)");
    }
    assert_int_equal(a.n, 1);
    assert_string_equal(a.ch[0], "ct_chan");
    assert_string_equal(a.pl[0], "it's \"one\"");
    assert_int_equal(b.n, 1);
    assert_string_equal(b.pl[0], "it's \"one\"");
    assert_int_equal(other.n, 0);
    /* An empty payload, and a notify without a done callback. */
    assert_int_equal(c->st.vt->notify(c->st.impl, "ct_chan", "", NULL, NULL),
                     0);
    wa.n = 2;
    assert_true(ct_wait_pred(c, ln_reached, &wa, 5000));
    assert_string_equal(a.pl[1], "");
    /* After unlisten(), nothing more arrives there. */
    c->st.vt->unlisten(c->st.impl, la);
    assert_int_equal(ct_notify(c, "ct_chan", "two"), 0);
    wb.n = 3;
    assert_true(ct_wait_pred(c, ln_reached, &wb, 5000));
    ct_spin(c, 200);
    assert_int_equal(a.n, 2);
    assert_string_equal(b.pl[2], "two");
    assert_int_equal(other.n, 0);
    c->st.vt->unlisten(c->st.impl, lb);
    c->st.vt->unlisten(c->st.impl, lo);
    assert_int_equal(ct_close(c), 0);
}

/* --- status --- */

void
test_status_counts(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    q x = {0};
    plt_storage_status s0 = {.size = sizeof(s0)}, s1 = {.size = sizeof(s1)};
    assert_int_equal(ct_i64(c, NULL, "SELECT 1", NULL, 0), 1);
    assert_int_equal(c->st.vt->status(c->st.impl, &s0), 0);
    assert_int_equal(s0.connected, 1);
    assert_int_equal(s0.queued, 0);
    assert_int_equal(s0.in_flight, 0);
    for (int i = 0; i < 5; i++)
        ct_ok(c, NULL, &x, "SELECT count(*) FROM ct_kv", NULL, 0, 0);
    assert_int_equal(ct_sql(c, NULL, &x, "SELEC 1", NULL, 0, 0), PLT_EINVAL);
    assert_int_equal(c->st.vt->status(c->st.impl, &s1), 0);
    printf("# completed %" PRIu64 " -> %" PRIu64 ", failed %" PRIu64
           " -> %" PRIu64 "\n",
           s0.completed, s1.completed, s0.failed, s1.failed);
    assert_true(s1.completed - s0.completed >= 5);
    assert_true(s1.completed - s0.completed <= 6);
    assert_int_equal(s1.failed - s0.failed, 1);
    assert_int_equal(s1.queued, 0);
    assert_int_equal(s1.in_flight, 0);

    /* Work in progress shows. */
    q many[40];
    memset(many, 0, sizeof(many));
    for (int i = 0; i < 40; i++)
        assert_int_equal(c->st.vt->query(c->st.impl, NULL,
                                         "SELECT count(*) FROM ct_kv", NULL, 0,
                                         0, q_row, q_done, &many[i]),
                         0);
    plt_storage_status s2 = {.size = sizeof(s2)};
    assert_int_equal(c->st.vt->status(c->st.impl, &s2), 0);
    printf("# with 40 issued: queued %u in_flight %u\n", s2.queued,
           s2.in_flight);
    assert_true(s2.queued + s2.in_flight >= 1);
    for (int i = 0; i < 40; i++) {
        assert_true(ct_wait(c, &many[i].done, CT_GUARD_MS));
        q_free(&many[i]);
    }
    assert_int_equal(c->st.vt->status(c->st.impl, &s2), 0);
    assert_int_equal(s2.queued + s2.in_flight, 0);
    assert_true(s2.completed - s1.completed >= 40);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

/* --- shutdown --- */

void
test_stop_completes_pending(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    q big = {0}, small[5];
    memset(small, 0, sizeof(small));
    assert_int_equal(c->st.vt->query(c->st.impl, NULL,
                                     "WITH RECURSIVE s(n) AS (SELECT 1 UNION "
                                     "ALL SELECT n + 1 FROM s WHERE n < "
                                     "400000) SELECT count(*) FROM s",
                                     NULL, 0, 0, q_row, q_done, &big),
                     0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            c->st.vt->query(c->st.impl, NULL,
                            "INSERT INTO ct_counter (id, n) VALUES ($1, 0)",
                            (plt_value[]){PLT_V_I64(100 + i)}, 1, 0, q_row,
                            q_done, &small[i]),
            0);
    uint64_t t0 = ct_mono_ms();
    int rc = plt_fake_host_stop(c->fh);
    printf("# stop with work pending: %s after %" PRIu64 " ms; big query %s\n",
           ct_err_name(rc), ct_mono_ms() - t0,
           big.calls ? ct_err_name(big.status) : "not completed");
    assert_int_equal(rc, 0);
    /* After stop, statements are refused at once. */
    g_cb_called = false;
    assert_int_equal(c->st.vt->query(c->st.impl, NULL, "SELECT 1", NULL, 0, 0,
                                     NULL, cb_flag_done, NULL),
                     PLT_ESHUTDOWN);
    assert_int_equal(ct_close(c), 0);
    assert_false(g_cb_called);
    /* Every statement got exactly one completion. */
    assert_int_equal(big.calls, 1);
    assert_true(big.status == 0 || big.status == PLT_ECANCELED ||
                big.status == PLT_ESHUTDOWN);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(small[i].calls, 1);
        assert_true(small[i].status == 0 || small[i].status == PLT_ECANCELED ||
                    small[i].status == PLT_ESHUTDOWN);
        q_free(&small[i]);
    }
    q_free(&big);
}
