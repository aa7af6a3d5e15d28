/* SPDX-License-Identifier: MIT */
/*
 * `plateau import FILE --list NAME ...`: import a lead file from a shell
 * or a script, with the same job, the same counters and the same report
 * as the web UI.
 *
 *   plateau import FILE --list NAME [--create] [--map COL=FIELD ...]
 *       [--phone-columns A,B] [--country FR] [--prefix 0]
 *       [--restore-lost-zero] [--dedup none|list|campaign|all]
 *       [--dedup-field NAME] [--encoding utf-8|windows-1252|latin-1]
 *       [--separator ';'] [--no-header] [--skip-dnc] [--resume JOB]
 *       [--preview]
 *
 * FIELD in --map is a custom field name, "phone" or "phone:TYPE" (mobile,
 * fixed, work, other), or "-" to ignore the column. Re-running the same
 * command after a crash continues the unfinished job of that file and list
 * (auto-resume); --resume JOB continues a given job with its own settings.
 *
 * Progress goes to stderr: a bar redrawn with \r on a terminal, else a
 * line every 10 %. The summary goes to stdout with the report's path.
 * Exit status: 0 when the job is done (even with rejected rows), 1 when it
 * failed or was interrupted, 2 for usage errors.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import_csv_int.h"

static import_csv *cli_ic;

typedef struct cli_state {
    plt_import_spec spec;
    plt_import_column cols[256];
    size_t ncols;
    bool preview;
    bool tty;
    int last_decile;
    uint64_t t0;
    char path[PATH_MAX];
    int64_t job_id;
} cli_state;

static cli_state cli;

void
import_csv_cli_bind(import_csv *ic)
{
    cli_ic = ic;
}

static void
usage(FILE *to)
{
    fputs("usage: plateau import FILE --list NAME [--create] "
          "[--map COL=FIELD ...]\n"
          "         [--phone-columns A,B] [--country FR] [--prefix 0] "
          "[--restore-lost-zero]\n"
          "         [--dedup none|list|campaign|all] [--dedup-field NAME]\n"
          "         [--encoding utf-8|windows-1252|latin-1] "
          "[--separator ';'] [--no-header]\n"
          "         [--skip-dnc] [--resume JOB] [--preview]\n"
          "FIELD: a field name, phone, phone:mobile|fixed|work|other, or - "
          "(ignore).\n",
          to);
}

static int
phone_type_of(const char *s)
{
    if (!s || !*s)
        return PLT_PHONE_UNKNOWN;
    if (strcmp(s, "mobile") == 0)
        return PLT_PHONE_MOBILE;
    if (strcmp(s, "fixed") == 0 || strcmp(s, "home") == 0)
        return PLT_PHONE_FIXED;
    if (strcmp(s, "work") == 0)
        return PLT_PHONE_WORK;
    if (strcmp(s, "other") == 0)
        return PLT_PHONE_OTHER;
    return -1;
}

static int
add_col(const char *col, const char *target)
{
    if (cli.ncols >= sizeof(cli.cols) / sizeof(cli.cols[0])) {
        fprintf(stderr, "plateau import: too many --map entries\n");
        return 2;
    }
    plt_import_column *c = &cli.cols[cli.ncols++];
    memset(c, 0, sizeof(*c));
    c->column = col;
    if (strcmp(target, "-") == 0 || strcmp(target, "ignore") == 0) {
        c->kind = PLT_IMPORT_IGNORE;
    } else if (strncmp(target, "phone", 5) == 0 &&
               (target[5] == '\0' || target[5] == ':')) {
        c->kind = PLT_IMPORT_PHONE;
        int t = phone_type_of(target[5] ? target + 6 : NULL);
        if (t < 0) {
            fprintf(stderr, "plateau import: unknown phone type in '%s'\n",
                    target);
            return 2;
        }
        c->phone_type = t;
    } else {
        c->kind = PLT_IMPORT_FIELD;
        c->field = target;
    }
    return 0;
}

static int
parse_args(int argc, char **argv)
{
    memset(&cli, 0, sizeof(cli));
    cli.spec.size = sizeof(cli.spec);
    cli.spec.dedup = PLT_IMPORT_DEDUP_LIST;
    cli.spec.auto_resume = true;
    cli.last_decile = -1;
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(a, "--create") == 0) {
            cli.spec.create_list = true;
            takes = false;
        } else if (strcmp(a, "--no-header") == 0) {
            cli.spec.read.no_header = true;
            takes = false;
        } else if (strcmp(a, "--skip-dnc") == 0) {
            cli.spec.skip_dnc = true;
            takes = false;
        } else if (strcmp(a, "--preview") == 0) {
            cli.preview = true;
            takes = false;
        } else if (strcmp(a, "--restore-lost-zero") == 0) {
            cli.spec.restore_lost_zero = true;
            takes = false;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        } else if (a[0] == '-' && a[1] == '-') {
            if (!v) {
                fprintf(stderr, "plateau import: %s needs a value\n", a);
                return 2;
            }
            if (strcmp(a, "--list") == 0) {
                cli.spec.list = v;
            } else if (strcmp(a, "--country") == 0) {
                cli.spec.country = v;
            } else if (strcmp(a, "--prefix") == 0) {
                cli.spec.prefix = v;
            } else if (strcmp(a, "--dedup-field") == 0) {
                cli.spec.dedup_field = v;
            } else if (strcmp(a, "--map") == 0) {
                char *eq = strrchr(argv[i + 1], '=');
                if (!eq || eq == argv[i + 1]) {
                    fprintf(stderr, "plateau import: --map wants COL=FIELD\n");
                    return 2;
                }
                *eq = '\0';
                int rc = add_col(argv[i + 1], eq + 1);
                if (rc != 0)
                    return rc;
            } else if (strcmp(a, "--phone-columns") == 0) {
                for (char *s = strtok(argv[i + 1], ","); s;
                     s = strtok(NULL, ",")) {
                    int rc = add_col(s, "phone");
                    if (rc != 0)
                        return rc;
                }
            } else if (strcmp(a, "--dedup") == 0) {
                static const char *const names[] = {"none", "list",
                                                    "campaign", "all"};
                int k;
                for (k = 0; k < 4 && strcmp(v, names[k]) != 0; k++)
                    ;
                if (k == 4) {
                    fprintf(stderr, "plateau import: --dedup: none, list, "
                                    "campaign or all\n");
                    return 2;
                }
                cli.spec.dedup = k;
            } else if (strcmp(a, "--encoding") == 0) {
                if (strcasecmp(v, "utf-8") == 0 || strcasecmp(v, "utf8") == 0)
                    cli.spec.read.encoding = PLT_IMPORT_ENC_UTF8;
                else if (strcasecmp(v, "windows-1252") == 0 ||
                         strcasecmp(v, "cp1252") == 0)
                    cli.spec.read.encoding = PLT_IMPORT_ENC_WINDOWS_1252;
                else if (strcasecmp(v, "latin-1") == 0 ||
                         strcasecmp(v, "iso-8859-1") == 0)
                    cli.spec.read.encoding = PLT_IMPORT_ENC_LATIN1;
                else {
                    fprintf(stderr, "plateau import: unknown encoding '%s'\n",
                            v);
                    return 2;
                }
            } else if (strcmp(a, "--separator") == 0) {
                if (strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0)
                    cli.spec.read.separator = '\t';
                else if (strlen(v) == 1)
                    cli.spec.read.separator = v[0];
                else {
                    fprintf(stderr, "plateau import: --separator wants one "
                                    "character\n");
                    return 2;
                }
            } else if (strcmp(a, "--resume") == 0) {
                char *end;
                cli.spec.resume_job = strtoll(v, &end, 10);
                if (*end || cli.spec.resume_job <= 0) {
                    fprintf(stderr, "plateau import: --resume wants a job "
                                    "number\n");
                    return 2;
                }
            } else {
                fprintf(stderr, "plateau import: unknown option %s\n", a);
                usage(stderr);
                return 2;
            }
        } else if (!file) {
            file = a;
            takes = false;
        } else {
            fprintf(stderr, "plateau import: one FILE only\n");
            return 2;
        }
        if (takes)
            i++;
    }
    if (cli.spec.resume_job > 0 && !cli.preview)
        return 0;
    if (!file) {
        usage(stderr);
        return 2;
    }
    /* An absolute path: re-running from another directory must find the
     * unfinished job of the same file. */
    if (!realpath(file, cli.path))
        snprintf(cli.path, sizeof(cli.path), "%s", file);
    cli.spec.path = cli.path;
    if (!cli.preview && !cli.spec.list) {
        fprintf(stderr, "plateau import: --list NAME is required\n");
        return 2;
    }
    cli.spec.columns = cli.ncols ? cli.cols : NULL;
    cli.spec.ncolumns = cli.ncols;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Preview */

static const char *
kind_text(const plt_import_column *c, char *buf, size_t len)
{
    static const char *const types[] = {"", ":mobile", ":fixed", ":work",
                                        ":other"};
    if (c->kind == PLT_IMPORT_PHONE)
        snprintf(buf, len, "phone%s",
                 c->phone_type >= 0 && c->phone_type <= 4 ? types[c->phone_type]
                                                          : "");
    else if (c->kind == PLT_IMPORT_FIELD)
        snprintf(buf, len, "%s", c->field ? c->field : "?");
    else
        snprintf(buf, len, "- (ignored)");
    return buf;
}

static void
preview_cb(void *arg, int status, const plt_import_preview *p,
           const char *error)
{
    (void)arg;
    if (status != 0) {
        fprintf(stderr, "plateau import: %s\n",
                error ? error : plt_strerror(status));
        plt_command_done(1);
        return;
    }
    char sep[8];
    if (p->separator == '\t')
        snprintf(sep, sizeof(sep), "TAB");
    else
        snprintf(sep, sizeof(sep), "'%c'", p->separator);
    printf("file:      %s (%" PRId64 " bytes)\n", cli.path, p->file_size);
    printf("encoding:  %s%s\n", p->encoding_name, p->has_bom ? " (BOM)" : "");
    printf("separator: %s\n", sep);
    printf("header:    %s\n", p->has_header ? "yes" : "no");
    printf("mapping:\n");
    for (size_t i = 0; i < p->ncolumns; i++) {
        char buf[160];
        /* Pad by characters, not bytes: headers are UTF-8 ("Prénom"). */
        size_t chars = 0;
        for (const unsigned char *c = (const unsigned char *)p->header[i];
             *c; c++)
            chars += (*c & 0xC0) != 0x80;
        printf("  %s%*s -> %s\n", p->header[i],
               chars < 24 ? (int)(24 - chars) : 0, "",
               kind_text(&p->mapping[i], buf, sizeof(buf)));
    }
    printf("first rows:\n");
    for (size_t r = 0; r < p->nrows; r++) {
        printf("  line %" PRId64 ":", p->rows[r].line);
        if (p->rows[r].error)
            printf(" (%s)", p->rows[r].error);
        for (size_t k = 0; k < p->rows[r].nfields; k++)
            printf("%s%s", k ? " | " : " ", p->rows[r].fields[k]);
        printf("\n");
    }
    fflush(stdout);
    plt_command_done(0);
}

/* ------------------------------------------------------------------ */
/* Import */

static void
on_progress(void *arg, const imp_job *j)
{
    (void)arg;
    int64_t total = j->c.bytes_total > 0 ? j->c.bytes_total : 1;
    int pct = (int)(j->c.bytes_done * 100 / total);
    uint64_t ms = plt_mono() - cli.t0;
    double rate = ms > 0 ? (double)j->c.rows_read * 1000.0 / (double)ms : 0;
    if (cli.tty) {
        char bar[31];
        int fill = pct * 30 / 100;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %3d%%  %" PRId64 " rows  %.0f rows/s ", bar,
                pct, j->c.rows_read, rate);
        fflush(stderr);
    } else if (pct / 10 > cli.last_decile) {
        cli.last_decile = pct / 10;
        fprintf(stderr, "progress: %d%% (%" PRId64 " rows, %" PRId64 "/%" PRId64
                        " bytes)\n",
                pct, j->c.rows_read, j->c.bytes_done, j->c.bytes_total);
        fflush(stderr);
    }
}

static void
on_finished(void *arg, const imp_job *j)
{
    (void)arg;
    if (cli.tty)
        fputs("\n", stderr);
    if (j->id <= 0) {
        /* Never started: start_cb already said why. */
        return;
    }
    const plt_import_counters *c = &j->c;
    const char *st = j->error ? "failed"
                     : j->end_state == PLT_IMPORT_DONE ? "done"
                     : j->end_state == PLT_IMPORT_CANCELLED ? "cancelled"
                                                           : "interrupted";
    uint64_t ms = plt_mono() - cli.t0;
    printf("import job %" PRId64 " %s: %s into list '%s' (id %" PRId64 ")\n",
           j->id, st, j->spec.path, j->spec.list ? j->spec.list : "",
           j->spec.list_id);
    printf("  rows read        %" PRId64 "\n", c->rows_read);
    printf("  imported         %" PRId64 "\n", c->imported);
    printf("  duplicates       %" PRId64 "\n", c->duplicates);
    printf("  invalid phones   %" PRId64 "\n", c->invalid_phones);
    printf("  do-not-call      %" PRId64 " (refused %" PRId64 ")\n",
           c->dnc_hits, c->dnc_refused);
    printf("  malformed        %" PRId64 "\n", c->malformed);
    printf("  rejected rows    %" PRId64 "\n", c->rejected);
    if (c->recovered)
        printf("  recovered        %" PRId64
               " (committed before an interruption)\n",
               c->recovered);
    printf("  time             %.1f s\n", (double)ms / 1000.0);
    printf("report: %s\n", j->report_path);
    if (j->error)
        fprintf(stderr, "plateau import: %s\n", j->error);
    fflush(stdout);
    plt_command_done(j->end_state == PLT_IMPORT_DONE && !j->error ? 0 : 1);
}

static void
started_cb(void *arg, int status, int64_t job_id, const char *error)
{
    (void)arg;
    if (status != 0) {
        fprintf(stderr, "plateau import: %s\n",
                error ? error : plt_strerror(status));
        plt_command_done(1);
        return;
    }
    cli.job_id = job_id;
    imp_job *j = import_csv_job_find(cli_ic, job_id);
    if (j) {
        char sep[8];
        snprintf(sep, sizeof(sep), j->separator == '\t' ? "TAB" : "'%c'",
                 j->separator);
        fprintf(stderr, "import job %" PRId64 ": %s (%" PRIu64
                        " bytes, %s, separator %s)%s\n",
                job_id, j->spec.path, j->file_size,
                csv_encoding_name((csv_encoding)j->encoding), sep,
                j->resumed ? " - resumed" : "");
        if (j->resumed)
            fprintf(stderr, "resuming at byte %" PRIu64 " (line %" PRIu64
                            "), %" PRId64 " rows already read\n",
                    j->start_offset, j->start_line, j->c.rows_read);
        fflush(stderr);
    }
}

static int
cmd_import(plt_plugin *self, int argc, char **argv)
{
    (void)self;
    int rc = parse_args(argc, argv);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (!cli_ic) {
        fprintf(stderr, "plateau import: the plugin is not initialised\n");
        return 1;
    }
    cli.tty = isatty(STDERR_FILENO) != 0;
    cli.t0 = plt_mono();
    if (cli.preview) {
        plt_import_preview_req req = {.size = sizeof(req),
                                      .path = cli.spec.path,
                                      .read = cli.spec.read};
        rc = import_csv_preview(cli_ic, &req, preview_cb, NULL);
    } else {
        imp_observer obs = {.progress = on_progress,
                            .finished = on_finished};
        rc = import_csv_job_start(cli_ic, &cli.spec, started_cb, NULL, &obs);
    }
    if (rc != 0) {
        fprintf(stderr, "plateau import: %s\n", plt_strerror(rc));
        return 1;
    }
    return PLT_EINPROGRESS;
}

const plt_command import_csv_commands[] = {
    {.name = "import",
     .summary = "Import a lead file (CSV) into a list",
     .usage = "FILE --list NAME [--create] [--map COL=FIELD ...] "
              "[--phone-columns A,B] [--country FR] [--prefix 0] "
              "[--dedup none|list|campaign|all] [--dedup-field NAME] "
              "[--encoding E] [--separator C] [--no-header] [--skip-dnc] "
              "[--resume JOB] [--preview]",
     .run = cmd_import},
    {0}};
