/* SPDX-License-Identifier: MIT */
/*
 * `plateau leads ...` and `plateau dnc ...`: look at lists and contacts and
 * manage the do-not-call list from a shell.
 *
 *   plateau leads lists
 *   plateau leads stats LIST            (name or id)
 *   plateau leads show ID
 *   plateau leads search TEXT | --phone NUMBER
 *   plateau dnc add|remove|check NUMBER [--scope CAMPAIGN]
 *   plateau dnc import FILE [--scope CAMPAIGN]   (one number per line)
 *
 * Every command goes through the service (the same code the dialer and
 * the web UI use), except `leads lists`, one read of the plugin's own
 * tables. The file of `dnc import` is read on a worker thread, then added
 * in chunks (one durable transaction each). Results go to stdout, problems
 * to stderr; exit status 0, 1 (refused or failed) or 2 (usage). `dnc
 * check` exits 0 when the number may be called and 1 when it is blocked.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leads_int.h"

static leads *cli_leads;

void
leads_cli_bind(leads *L)
{
    cli_leads = L;
}

void
leads_cli_abort(void)
{
}

static const char *const status_names[8] = {
    "?", "available", "reserved", "callback", "done", "failed", "dnc",
    "invalid"};

static const char *
status_name(int32_t s)
{
    return s >= 1 && s <= 7 ? status_names[s] : "?";
}

static void
fmt_time(int64_t ms, char *out, size_t n)
{
    if (ms <= 0) {
        snprintf(out, n, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* The command in flight (one per process). */
typedef struct cli {
    leads *L;
    int status;
    int64_t id;
    size_t count;
    char scope[128];
    char what[256];
    /* dnc import */
    char *file;
    char **nums;
    size_t nnums, next;
    int read_err;
    size_t added_total;
} cli;

static void
cli_end(cli *c, int status)
{
    fflush(stdout);
    free(c->file);
    if (c->nums) {
        for (size_t i = 0; i < c->nnums; i++)
            free(c->nums[i]);
        free(c->nums);
    }
    free(c);
    plt_command_done(status);
}

static int
fail_now(cli *c, int rc, const char *what)
{
    fprintf(stderr, "plateau: %s: %s\n", what, plt_strerror(rc));
    free(c);
    return 1;
}

/* ------------------------------------------------------------------ */
/* leads lists: one read of the plugin's tables */

static int
lists_row(void *arg, const plt_storage_row *row)
{
    cli *c = arg;
    const char *name = leads_col_str(row, 1);
    const char *country = leads_col_str(row, 2);
    printf("%6lld  %-30s %-3s %10lld contacts %10lld available\n",
           (long long)leads_col_i64(row, 0), name ? name : "",
           country ? country : "", (long long)leads_col_i64(row, 3),
           (long long)leads_col_i64(row, 4));
    c->count++;
    return 0;
}

static void
lists_done(void *arg, int status, const plt_storage_result *res)
{
    cli *c = arg;
    if (status != 0) {
        fprintf(stderr, "plateau leads lists: %s\n",
                res && res->error ? res->error : plt_strerror(status));
        cli_end(c, 1);
        return;
    }
    if (c->count == 0)
        printf("no lists\n");
    cli_end(c, 0);
}

/* ------------------------------------------------------------------ */
/* leads stats */

static void
stats_done(void *arg, int status, const plt_list_stats *st)
{
    cli *c = arg;
    if (status != 0) {
        fprintf(stderr, "plateau leads stats: %s: %s\n", c->what,
                plt_strerror(status));
        cli_end(c, 1);
        return;
    }
    printf("list %s (id %lld): %lld contacts\n", c->what, (long long)c->id,
           (long long)st->total);
    for (int s = 1; s < 8; s++) {
        double pct = st->total ? 100.0 * (double)st->by_status[s] /
                                     (double)st->total
                               : 0.0;
        printf("  %-10s %10lld  %5.1f %%\n", status_names[s],
               (long long)st->by_status[s], pct);
    }
    printf("  due now    %10lld\n", (long long)st->due_now);
    cli_end(c, 0);
}

static void
stats_found(void *arg, int status, int64_t id)
{
    cli *c = arg;
    if (status != 0) {
        fprintf(stderr, "plateau leads stats: no list '%s'\n", c->what);
        cli_end(c, 1);
        return;
    }
    c->id = id;
    int rc = leads_list_stats(c->L, id, plt_now(), stats_done, c);
    if (rc != 0) {
        fprintf(stderr, "plateau leads stats: %s\n", plt_strerror(rc));
        cli_end(c, 1);
    }
}

/* ------------------------------------------------------------------ */
/* leads show / search */

static void
print_lead(const plt_lead *l)
{
    char at[40], next[40], cb[40];
    fmt_time(l->created_at, at, sizeof(at));
    fmt_time(l->next_attempt_at, next, sizeof(next));
    fmt_time(l->callback_at, cb, sizeof(cb));
    printf("contact %lld  list %lld  %s  zone %s  priority %lld\n",
           (long long)l->id, (long long)l->list_id, status_name(l->status),
           l->time_zone ? l->time_zone : "-", (long long)l->priority);
    printf("  attempts %d  next %s  callback %s%s%s  last %s / %s  created"
           " %s\n",
           l->attempts, next, cb, l->callback_agent ? " for " : "",
           l->callback_agent ? l->callback_agent : "",
           l->last_outcome ? l->last_outcome : "-",
           l->last_disposition ? l->last_disposition : "-", at);
    for (size_t i = 0; i < l->nphones; i++)
        printf("  phone %zu: %s  (%s)\n", i + 1, l->phones[i].e164,
               l->phones[i].original ? l->phones[i].original : "");
    for (size_t i = 0; i < l->nfields; i++)
        printf("  %s: %s\n", l->fields[i].name,
               l->fields[i].value ? l->fields[i].value : "");
}

static int
hist_row(void *arg, const plt_lead_event *ev)
{
    (void)arg;
    char at[40];
    fmt_time(ev->at, at, sizeof(at));
    printf("  %s  %-11s", at, ev->kind ? ev->kind : "");
    if (ev->campaign)
        printf(" campaign=%s", ev->campaign);
    if (ev->phone)
        printf(" phone=%s", ev->phone);
    if (ev->outcome)
        printf(" outcome=%s", ev->outcome);
    if (ev->disposition)
        printf(" disposition=%s", ev->disposition);
    if (ev->agent)
        printf(" agent=%s", ev->agent);
    if (ev->note)
        printf(" (%s)", ev->note);
    printf("\n");
    return 0;
}

static void
hist_done(void *arg, int status, const char *msg)
{
    cli *c = arg;
    if (status != 0)
        fprintf(stderr, "plateau leads show: history: %s\n",
                msg ? msg : plt_strerror(status));
    cli_end(c, status ? 1 : 0);
}

static void
show_got(void *arg, int status, const plt_lead *l)
{
    cli *c = arg;
    if (status != 0) {
        fprintf(stderr, "plateau leads show: contact %lld: %s\n",
                (long long)c->id,
                status == PLT_ENOENT ? "not found" : plt_strerror(status));
        cli_end(c, 1);
        return;
    }
    print_lead(l);
    printf("history (newest first):\n");
    int rc = leads_history(c->L, c->id, hist_row, hist_done, c);
    if (rc != 0) {
        fprintf(stderr, "plateau leads show: %s\n", plt_strerror(rc));
        cli_end(c, 1);
    }
}

static int
search_row(void *arg, const plt_lead *l)
{
    cli *c = arg;
    c->count++;
    print_lead(l);
    return 0;
}

static void
search_done(void *arg, int status, const char *msg)
{
    cli *c = arg;
    if (status != 0) {
        fprintf(stderr, "plateau leads search: %s\n",
                msg ? msg : plt_strerror(status));
        cli_end(c, 1);
        return;
    }
    printf("%zu contact(s)\n", c->count);
    cli_end(c, 0);
}

static void
leads_usage(FILE *to)
{
    fputs("usage: plateau leads lists\n"
          "       plateau leads stats LIST\n"
          "       plateau leads show CONTACT_ID\n"
          "       plateau leads search TEXT | --phone NUMBER\n",
          to);
}

static bool
all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static int
leads_cmd(plt_plugin *self, int argc, char **argv)
{
    (void)self;
    leads *L = cli_leads;
    if (!L)
        return PLT_ESTATE;
    if (argc < 1 || !strcmp(argv[0], "help") || !strcmp(argv[0], "--help")) {
        leads_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    cli *c = calloc(1, sizeof(*c));
    if (!c) {
        fprintf(stderr, "plateau leads: out of memory\n");
        return 1;
    }
    c->L = L;
    int rc;
    if (!strcmp(argv[0], "lists") && argc == 1) {
        rc = plt_storage_exec(
            &L->st,
            "SELECT l.id, l.name, l.country, count(c.id),"
            " sum(CASE WHEN c.status = 1 THEN 1 ELSE 0 END)"
            " FROM lead_list l LEFT JOIN contact c ON c.list_id = l.id"
            " GROUP BY l.id, l.name, l.country ORDER BY l.id",
            NULL, 0, 0, lists_row, lists_done, c);
        return rc ? fail_now(c, rc, "leads lists") : PLT_EINPROGRESS;
    }
    if (!strcmp(argv[0], "stats") && argc == 2) {
        snprintf(c->what, sizeof(c->what), "%s", argv[1]);
        if (all_digits(argv[1])) {
            c->id = strtoll(argv[1], NULL, 10);
            rc = leads_list_stats(L, c->id, plt_now(), stats_done, c);
        } else {
            rc = leads_list_find(L, argv[1], stats_found, c);
        }
        return rc ? fail_now(c, rc, "leads stats") : PLT_EINPROGRESS;
    }
    if (!strcmp(argv[0], "show") && argc == 2 && all_digits(argv[1])) {
        c->id = strtoll(argv[1], NULL, 10);
        rc = leads_get(L, c->id, show_got, c);
        return rc ? fail_now(c, rc, "leads show") : PLT_EINPROGRESS;
    }
    if (!strcmp(argv[0], "search") && (argc == 2 || argc == 3)) {
        plt_lead_query q = {.size = sizeof(q)};
        if (argc == 3 && !strcmp(argv[1], "--phone"))
            q.phone = argv[2];
        else if (argc == 2)
            q.text = argv[1];
        else {
            leads_usage(stderr);
            free(c);
            return 2;
        }
        rc = leads_search(L, &q, 0, 100, search_row, search_done, c);
        return rc ? fail_now(c, rc, "leads search") : PLT_EINPROGRESS;
    }
    free(c);
    leads_usage(stderr);
    return 2;
}

/* ------------------------------------------------------------------ */
/* dnc */

static void
dnc_done(void *arg, int status, const char *msg)
{
    cli *c = arg;
    if (status != 0) {
        fprintf(stderr, "plateau dnc: %s\n", msg ? msg : plt_strerror(status));
        cli_end(c, 1);
        return;
    }
    printf("%s\n", msg && *msg ? msg : "ok");
    cli_end(c, 0);
}

static void
dnc_checked(void *arg, int status, bool blocked)
{
    cli *c = arg;
    if (status != 0) {
        fprintf(stderr, "plateau dnc check: %s\n", plt_strerror(status));
        cli_end(c, 2);
        return;
    }
    printf("%s %s%s%s\n", c->what, blocked ? "blocked" : "callable",
           strcmp(c->scope, "*") ? " for campaign " : "",
           strcmp(c->scope, "*") ? c->scope : "");
    cli_end(c, blocked ? 1 : 0);
}

#define IMPORT_CHUNK 10000

static void import_next(cli *c);

static void
import_chunk_done(void *arg, int status, const char *msg)
{
    cli *c = arg;
    if (status != 0) {
        fprintf(stderr, "plateau dnc import: %s\n",
                msg ? msg : plt_strerror(status));
        cli_end(c, 1);
        return;
    }
    printf("%s\n", msg ? msg : "ok");
    import_next(c);
}

static void
import_next(cli *c)
{
    if (c->next >= c->nnums) {
        printf("%zu line(s) read from %s\n", c->nnums, c->file);
        cli_end(c, 0);
        return;
    }
    size_t n = c->nnums - c->next;
    if (n > IMPORT_CHUNK)
        n = IMPORT_CHUNK;
    const char *const *nums = (const char *const *)(c->nums + c->next);
    c->next += n;
    /* Opposition lists (Bloctel exports, a client's own list) come out of
     * spreadsheets too: numbers that lost their leading 0 must still block
     * the contact, so restore it where the national plan makes it safe. */
    static const plt_lead_rules rules = {.restore_lost_zero = true};
    int rc = leads_dnc_add(c->L, c->scope, nums, n, &rules, "cli:import",
                           import_chunk_done, c);
    if (rc == PLT_EINVAL) {
        printf("%zu line(s) without a valid number skipped\n", n);
        import_next(c);
    } else if (rc != 0) {
        fprintf(stderr, "plateau dnc import: %s\n", plt_strerror(rc));
        cli_end(c, 1);
    }
}

/* Worker: read the file, one number per line (blank lines and lines
 * starting with '#' skipped). */
static void
import_read(void *arg)
{
    cli *c = arg;
    FILE *f = fopen(c->file, "r");
    if (!f) {
        c->read_err = -errno;
        return;
    }
    char line[256];
    size_t cap = 0;
    while (fgets(line, sizeof(line), f)) {
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        size_t n = strlen(s);
        while (n && isspace((unsigned char)s[n - 1]))
            s[--n] = 0;
        if (n == 0 || s[0] == '#')
            continue;
        if (c->nnums == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            char **nn = realloc(c->nums, nc * sizeof(*nn));
            if (!nn) {
                c->read_err = PLT_ENOMEM;
                break;
            }
            c->nums = nn;
            cap = nc;
        }
        c->nums[c->nnums] = strdup(s);
        if (!c->nums[c->nnums]) {
            c->read_err = PLT_ENOMEM;
            break;
        }
        c->nnums++;
    }
    fclose(f);
}

static void
import_read_done(void *arg, int status)
{
    cli *c = arg;
    if (status == 0 && c->read_err)
        status = c->read_err;
    if (status != 0) {
        fprintf(stderr, "plateau dnc import: %s: %s\n", c->file,
                plt_strerror(status));
        cli_end(c, 1);
        return;
    }
    import_next(c);
}

static void
dnc_usage(FILE *to)
{
    fputs("usage: plateau dnc add|remove|check NUMBER [--scope CAMPAIGN]\n"
          "       plateau dnc import FILE [--scope CAMPAIGN]\n"
          "The scope is the global list (*) unless a campaign is given.\n",
          to);
}

static int
dnc_cmd(plt_plugin *self, int argc, char **argv)
{
    (void)self;
    leads *L = cli_leads;
    if (!L)
        return PLT_ESTATE;
    if (argc < 1 || !strcmp(argv[0], "help") || !strcmp(argv[0], "--help")) {
        dnc_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    const char *scope = "*";
    if (argc == 4 && !strcmp(argv[2], "--scope"))
        scope = argv[3];
    else if (argc != 2) {
        dnc_usage(stderr);
        return 2;
    }
    cli *c = calloc(1, sizeof(*c));
    if (!c) {
        fprintf(stderr, "plateau dnc: out of memory\n");
        return 1;
    }
    c->L = L;
    snprintf(c->scope, sizeof(c->scope), "%s", scope);
    snprintf(c->what, sizeof(c->what), "%s", argv[1]);
    const char *verb = argv[0];
    int rc;
    if (!strcmp(verb, "add") || !strcmp(verb, "remove") ||
        !strcmp(verb, "check")) {
        char e164[PHONE_E164_SIZE], why[96];
        if (leads_normalize(L, argv[1], NULL, e164, NULL, 0, why) != 0) {
            fprintf(stderr, "plateau dnc %s: %s\n", verb, why);
            free(c);
            return 2;
        }
        snprintf(c->what, sizeof(c->what), "%s", e164);
        const char *nums[] = {e164};
        if (!strcmp(verb, "add"))
            rc = leads_dnc_add(L, c->scope, nums, 1, NULL, "cli", dnc_done, c);
        else if (!strcmp(verb, "remove"))
            rc = leads_dnc_remove(L, c->scope, e164, dnc_done, c);
        else
            rc = leads_dnc_check(L, strcmp(c->scope, "*") ? c->scope : NULL,
                                 e164, dnc_checked, c);
        return rc ? fail_now(c, rc, verb) : PLT_EINPROGRESS;
    }
    if (!strcmp(verb, "import")) {
        c->file = strdup(argv[1]);
        if (!c->file)
            return fail_now(c, PLT_ENOMEM, "dnc import");
        rc = plt_queue_work(import_read, import_read_done, c);
        if (rc != 0) {
            free(c->file);
            return fail_now(c, rc, "dnc import");
        }
        return PLT_EINPROGRESS;
    }
    free(c);
    dnc_usage(stderr);
    return 2;
}

const plt_command leads_commands[] = {
    {.name = "leads",
     .summary = "look at lead lists and contacts: lists, stats, show, search",
     .usage = "lists | stats LIST | show ID | search TEXT|--phone NUMBER",
     .run = leads_cmd},
    {.name = "dnc",
     .summary = "manage the do-not-call list: add, remove, check, import",
     .usage = "add|remove|check NUMBER [--scope CAMPAIGN] | import FILE",
     .run = dnc_cmd},
    {0}};
