/* SPDX-License-Identifier: MIT */
/*
 * The crash test: "a child process writes committed rows in a loop and is
 * kill -9ed at random moments, 20 times; every acknowledged commit is
 * present afterwards and the database opens cleanly."
 *
 * The child (crash_writer) prints a row's id only after storage_sqlite
 * called done() with success. Each run appends to the same database, so
 * later runs also recover WALs left by earlier kills. With the default
 * synchronous=NORMAL this is exactly the durability the README promises
 * for a crash of the process (not for a power cut).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#define RUNS 20

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

typedef struct reader {
    int fd;
    char buf[65536];
    size_t len;
    long long *ids;
    size_t n, cap;
    bool ready;
    bool eof;
} reader;

/* Read what the child printed; complete lines only. */
static void
drain(reader *r, int timeout_ms)
{
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return;
    ssize_t k = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len - 1);
    if (k <= 0) {
        r->eof = true;
        return;
    }
    r->len += (size_t)k;
    char *start = r->buf, *nl;
    while ((nl = memchr(start, '\n', r->len - (size_t)(start - r->buf)))) {
        *nl = '\0';
        if (strcmp(start, "ready") == 0) {
            r->ready = true;
        } else {
            if (r->n == r->cap) {
                r->cap = r->cap ? r->cap * 2 : 1024;
                r->ids = realloc(r->ids, r->cap * sizeof(*r->ids));
                assert_non_null(r->ids);
            }
            r->ids[r->n++] = strtoll(start, NULL, 10);
        }
        start = nl + 1;
    }
    r->len -= (size_t)(start - r->buf);
    memmove(r->buf, start, r->len);
}

static void
verify(const char *path, const reader *r)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM acked WHERE "
                                        "id = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    for (size_t i = 0; i < r->n; i++) {
        sqlite3_bind_int64(st, 1, r->ids[i]);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        if (sqlite3_column_int64(st, 0) != 1)
            fail_msg("acknowledged row %lld is missing", r->ids[i]);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void
test_kill9_keeps_acknowledged_commits(void **state)
{
    (void)state;
    char dir[] = "/tmp/sqcrash.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/plateau.db", dir);
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    size_t total = 0, runs_with_acks = 0;
    for (int run = 0; run < RUNS; run++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            dup2(fds[1], 1);
            close(fds[0]);
            close(fds[1]);
            execl(CRASH_WRITER, CRASH_WRITER, dir, (char *)NULL);
            _exit(127);
        }
        close(fds[1]);
        reader r = {.fd = fds[0]};
        double limit = now_ms() + 60000;
        while (!r.ready && !r.eof && now_ms() < limit)
            drain(&r, 100);
        assert_true(r.ready);
        /* Kill at a random moment 50-400 ms into the writing. */
        double kill_at = now_ms() + 50 + rand() % 351;
        while (!r.eof && now_ms() < kill_at)
            drain(&r, (int)(kill_at - now_ms()) + 1);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        /* Lines already in the pipe were printed before the kill. */
        while (!r.eof)
            drain(&r, 1000);
        close(fds[0]);
        verify(path, &r);
        total += r.n;
        if (r.n)
            runs_with_acks++;
        free(r.ids);
    }
    printf("# %d kills, %zu acknowledged rows, all present; integrity ok\n",
           RUNS, total);
    assert_true(runs_with_acks >= RUNS / 2);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_keeps_acknowledged_commits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
