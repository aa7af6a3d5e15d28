/* SPDX-License-Identifier: MIT */
/*
 * The child of the crash test (test_crash.c): runs storage_sqlite.so on
 * the fake host with the real clock and inserts rows with autocommit, a
 * few in flight at a time, forever. Only when done() reports success -
 * the engine's promise that the row is committed - does it print the
 * row's id on stdout, line-buffered. The parent kills it with SIGKILL at
 * a random moment and then checks that every printed id is in the file.
 *
 * Usage: crash_writer DATA_DIR   (PLATEAU_PLUGIN_DIR must be set)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plateau/plateau.h>
#include <plateau/svc/storage.h>
#include <plateau/testing/fake_host.h>

#define IN_FLIGHT 8

static const plt_storage_migration m[] = {
    {.version = 1,
     .name = "create acked",
     .sql = "CREATE TABLE acked (id PLT_ID, payload TEXT NOT NULL)"},
};

typedef struct slot {
    plt_storage st;
    long long id;
    unsigned n;
} slot;

static void issue(slot *s);

static int
on_row(void *arg, const plt_storage_row *row)
{
    slot *s = arg;
    s->id = row->vals[0].v.i;
    return 0;
}

static void
on_done(void *arg, int status, const plt_storage_result *res)
{
    slot *s = arg;
    if (status != 0) {
        fprintf(stderr, "insert failed: %s\n", res->error);
        exit(2);
    }
    /* Acknowledged: the engine says it is committed. */
    printf("%lld\n", s->id);
    issue(s);
}

static void
issue(slot *s)
{
    char payload[200];
    s->n++;
    int len = snprintf(payload, sizeof(payload), "row %u of slot %p ", s->n,
                       (void *)s);
    /* Vary the size so pages and WAL frames fill unevenly. */
    while (len < (int)(s->n % 150) + 20)
        payload[len++] = 'x';
    payload[len] = '\0';
    plt_value a[] = {PLT_V_STR(payload)};
    int rc = plt_storage_exec(&s->st,
                              "INSERT INTO acked (payload) VALUES ($1) "
                              "RETURNING id",
                              a, 1, PLT_STORAGE_WRITE, on_row, on_done, s);
    if (rc != 0) {
        fprintf(stderr, "query: %d\n", rc);
        exit(2);
    }
}

int
main(int argc, char **argv)
{
    if (argc != 2 || !getenv("PLATEAU_PLUGIN_DIR")) {
        fprintf(stderr, "usage: PLATEAU_PLUGIN_DIR=... %s DATA_DIR\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    plt_fake_options o = {
        .real_clock = 1, .data_dir = argv[1], .log_level = PLT_LOG_WARN};
    plt_fake_host *fh;
    if (plt_fake_host_new(&fh, &o) != 0)
        return 2;
    char so[512];
    snprintf(so, sizeof(so), "%s/storage_sqlite.so",
             getenv("PLATEAU_PLUGIN_DIR"));
    plt_service_ref ref;
    if (plt_fake_host_add_so(fh, so, NULL, NULL) != 0 ||
        plt_fake_host_init(fh) != 0 ||
        plt_fake_host_acquire(fh, PLT_STORAGE_NAME, PLT_STORAGE_MAJOR,
                              PLT_STORAGE_MINOR, &ref) != 0) {
        fprintf(stderr, "%s\n", plt_fake_host_last_error(fh));
        return 2;
    }
    const plt_storage_vt *vt = ref.vtable;
    if (vt->migrations(ref.impl, "crash", m, 1) != 0 ||
        plt_fake_host_start(fh) != 0) {
        fprintf(stderr, "%s\n", plt_fake_host_last_error(fh));
        return 2;
    }
    printf("ready\n");
    static slot slots[IN_FLIGHT];
    for (int i = 0; i < IN_FLIGHT; i++) {
        slots[i].st = (plt_storage){.vt = vt, .impl = ref.impl};
        issue(&slots[i]);
    }
    for (;;)
        plt_fake_host_run_for(fh, 1000);
}
