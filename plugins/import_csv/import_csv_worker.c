/* SPDX-License-Identifier: MIT */
/*
 * The worker side of an import: everything that touches the file runs
 * here, on a worker thread (plt_queue_work), never on the loop.
 *
 *  - open: the file's identity (size, mtime, FNV-1a of its first 64 KiB,
 *    enough to recognise "the same file" when a command is re-run after a
 *    crash), and a sniff of its start for the separator, the encoding and
 *    the header;
 *  - parse: read chunks, feed the CSV reader, and turn each record into a
 *    row of the current batch: the original fields copied (for the
 *    report), the mapped custom fields, and the phone numbers normalised
 *    to E.164 with the job's rules (plateau_phone), so the loop and the
 *    database do no parsing. Rows that cannot become contacts (unreadable
 *    records, no usable number) are refused here with their reason.
 *    A batch ends at the record that does not fit in it; the offset and
 *    line of that record are where reading resumes after the batch;
 *  - the preview, which is a sniff plus the suggested mapping.
 *
 * A work item never calls the host; it only touches the job's worker-owned
 * members (file, reader, current batch, report), and the loop does not
 * touch them while the item runs (one work item per job at a time).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "import_csv_int.h"
#include "phone.h"

/* ------------------------------------------------------------------ */
/* Arena and batches */

char *
import_csv_arena_dup(imp_arena *a, const char *s, size_t len)
{
    imp_chunk *c = a->head;
    if (!c || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > 64 * 1024 ? len + 1 : 64 * 1024;
        c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    char *p = c->data + c->used;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    c->used += len + 1;
    return p;
}

void
import_csv_arena_free(imp_arena *a)
{
    while (a->head) {
        imp_chunk *n = a->head->next;
        free(a->head);
        a->head = n;
    }
}

void
import_csv_batch_free(imp_batch *b)
{
    if (!b)
        return;
    import_csv_arena_free(&b->arena);
    free(b->rows);
    free(b->orig);
    free(b->leads);
    free(b->fields);
    free(b->phones);
    free(b);
}

/* Grow an array to hold @p need items. */
static int
grow(void **arr, size_t *cap, size_t need, size_t item)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 256;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, n * item);
    if (!p)
        return PLT_ENOMEM;
    *arr = p;
    *cap = n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Names and mapping */

/* "Code Postal" -> "code_postal", "Prénom" -> "prenom": lowercase ASCII,
 * accents of Latin-1 letters stripped, anything else -> '_'. */
void
import_csv_normalize_name(const char *in, char *out, size_t len)
{
    static const char *const from[] = {
        "à", "â", "ä", "á", "ã", "å", "ç", "é", "è", "ê", "ë", "í", "ì",
        "î", "ï", "ñ", "ó", "ò", "ô", "ö", "õ", "ø", "ú", "ù", "û", "ü",
        "ý", "ÿ", "À", "Â", "Ä", "Á", "Ç", "É", "È", "Ê", "Ë", "Î", "Ï",
        "Ô", "Ö", "Ù", "Û", "Ü", "œ", "Œ", "æ", "Æ", "ß"};
    static const char *const to[] = {
        "a", "a", "a", "a", "a", "a", "c", "e", "e", "e", "e", "i", "i",
        "i", "i", "n", "o", "o", "o", "o", "o", "o", "u", "u", "u", "u",
        "y", "y", "a", "a", "a", "a", "c", "e", "e", "e", "e", "i", "i",
        "o", "o", "u", "u", "u", "oe", "oe", "ae", "ae", "ss"};
    size_t o = 0;
    bool under = true; /* no leading '_' */
    for (const char *p = in; *p && o + 3 < len;) {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x80) {
            if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
                out[o++] = (char)ch;
                under = false;
            } else if (ch >= 'A' && ch <= 'Z') {
                out[o++] = (char)(ch - 'A' + 'a');
                under = false;
            } else if (!under) {
                out[o++] = '_';
                under = true;
            }
            p++;
            continue;
        }
        size_t k;
        for (k = 0; k < sizeof(from) / sizeof(from[0]); k++) {
            size_t fl = strlen(from[k]);
            if (strncmp(p, from[k], fl) == 0) {
                for (const char *t = to[k]; *t && o + 3 < len; t++)
                    out[o++] = *t;
                under = false;
                p += fl;
                break;
            }
        }
        if (k == sizeof(from) / sizeof(from[0])) {
            /* Another non-ASCII character: skip its UTF-8 sequence. */
            p++;
            while ((*p & 0xC0) == 0x80)
                p++;
            if (!under) {
                out[o++] = '_';
                under = true;
            }
        }
    }
    while (o > 0 && out[o - 1] == '_')
        o--;
    out[o] = '\0';
}

/* The suggested mapping of a header. @p field receives the field name. */
static void
suggest(const char *header, size_t index, int32_t *kind, int32_t *ptype,
        char *field, size_t flen)
{
    const char *s = header ? csv_suggest_field(header) : NULL;
    *ptype = 0;
    if (s && strcmp(s, "phone_mobile") == 0) {
        *kind = PLT_IMPORT_PHONE;
        *ptype = PLT_PHONE_MOBILE;
        field[0] = '\0';
        return;
    }
    if (s && strcmp(s, "phone") == 0) {
        *kind = PLT_IMPORT_PHONE;
        *ptype = PLT_PHONE_FIXED;
        field[0] = '\0';
        return;
    }
    *kind = PLT_IMPORT_FIELD;
    if (s) {
        snprintf(field, flen, "%s", s);
        return;
    }
    import_csv_normalize_name(header ? header : "", field, flen);
    if (field[0] == '\0')
        snprintf(field, flen, "column_%zu", index + 1);
}

/* Does spec column name @p want designate column @p i (header @p h)? */
static bool
col_match(const char *want, size_t i, const char *h)
{
    if (want[0] == '#') {
        char *end;
        unsigned long n = strtoul(want + 1, &end, 10);
        return *end == '\0' && n == i + 1;
    }
    while (*want == ' ')
        want++;
    size_t wl = strlen(want);
    while (wl > 0 && want[wl - 1] == ' ')
        wl--;
    while (*h == ' ')
        h++;
    size_t hl = strlen(h);
    while (hl > 0 && h[hl - 1] == ' ')
        hl--;
    return wl == hl && strncasecmp(want, h, wl) == 0;
}

int
import_csv_map_columns(imp_job *j, char *why, size_t whylen)
{
    j->cols = calloc(j->ncols ? j->ncols : 1, sizeof(*j->cols));
    if (!j->cols) {
        snprintf(why, whylen, "out of memory");
        return PLT_ENOMEM;
    }
    /* Every spec entry must name a column of the file. */
    for (size_t k = 0; k < j->spec.ncolumns; k++) {
        const plt_import_column *c = &j->spec.columns[k];
        bool hit = false;
        for (size_t i = 0; i < j->ncols && !hit; i++)
            hit = c->column && col_match(c->column, i, j->header[i]);
        if (!hit) {
            snprintf(why, whylen, "no column '%s' in the file",
                     c->column ? c->column : "(null)");
            return PLT_EINVAL;
        }
    }
    j->nphone_cols = 0;
    for (size_t i = 0; i < j->ncols; i++) {
        char name[IMP_NAME_MAX];
        int32_t kind, ptype;
        suggest(j->has_header ? j->header[i] : NULL, i, &kind, &ptype, name,
                sizeof(name));
        if (j->spec.map_only)
            kind = PLT_IMPORT_IGNORE;
        for (size_t k = 0; k < j->spec.ncolumns; k++) {
            const plt_import_column *c = &j->spec.columns[k];
            if (!col_match(c->column, i, j->header[i]))
                continue;
            kind = c->kind;
            if (kind == PLT_IMPORT_PHONE)
                ptype = c->phone_type;
            if (kind == PLT_IMPORT_FIELD && c->field && c->field[0])
                snprintf(name, sizeof(name), "%s", c->field);
        }
        j->cols[i].kind = kind;
        j->cols[i].phone_type = ptype;
        if (kind == PLT_IMPORT_FIELD) {
            j->cols[i].field = strdup(name);
            if (!j->cols[i].field) {
                snprintf(why, whylen, "out of memory");
                return PLT_ENOMEM;
            }
        }
        if (kind == PLT_IMPORT_PHONE)
            j->nphone_cols++;
    }
    if (j->nphone_cols == 0) {
        snprintf(why, whylen,
                 "no phone column: name one with --phone-columns or "
                 "--map COLUMN=phone");
        return PLT_EINVAL;
    }
    if (j->nphone_cols > PLT_LEADS_MAX_PHONES) {
        snprintf(why, whylen, "%zu phone columns: at most %d", j->nphone_cols,
                 PLT_LEADS_MAX_PHONES);
        return PLT_EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* open: identity, sniff, header */

static uint64_t
fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void
werr(imp_job *j, int rc, const char *fmt, const char *a)
{
    j->werr = rc;
    snprintf(j->werrmsg, sizeof(j->werrmsg), fmt, a);
}

/* Fill header names from a sniff result (or "#N" without a header). */
static int
take_header(imp_job *j, const csv_sniff_result *r)
{
    size_t n = r->header.nfields;
    j->has_header = n > 0 && !j->spec.read.no_header;
    if (!j->has_header) {
        n = 0;
        for (size_t i = 0; i < r->nrows; i++)
            if (r->rows[i].nfields > n)
                n = r->rows[i].nfields;
        if (r->header.nfields > n)
            n = r->header.nfields;
    }
    if (n == 0)
        return PLT_EINVAL;
    j->header = calloc(n, sizeof(*j->header));
    if (!j->header)
        return PLT_ENOMEM;
    j->ncols = n;
    for (size_t i = 0; i < n; i++) {
        char tmp[32];
        const char *s = tmp;
        if (j->has_header)
            s = r->header.fields[i].ptr;
        else
            snprintf(tmp, sizeof(tmp), "#%zu", i + 1);
        j->header[i] = strdup(s);
        if (!j->header[i])
            return PLT_ENOMEM;
    }
    return 0;
}

static csv_options
read_options(const plt_import_read *r)
{
    csv_options o;
    memset(&o, 0, sizeof(o));
    o.separator = r->separator;
    o.encoding = (csv_encoding)r->encoding;
    o.no_header = r->no_header;
    return o;
}

void
import_csv_open_work(void *arg)
{
    imp_job *j = arg;
    FILE *f = fopen(j->spec.path, "rb");
    if (!f) {
        werr(j, -errno, "%s", strerror(errno));
        return;
    }
    struct stat st;
    unsigned char *buf = malloc(IMP_HASH_BYTES);
    if (!buf || fstat(fileno(f), &st) != 0) {
        werr(j, buf ? -errno : PLT_ENOMEM, "%s",
             buf ? strerror(errno) : "out of memory");
        free(buf);
        fclose(f);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        werr(j, PLT_EINVAL, "%s", "not a regular file");
        free(buf);
        fclose(f);
        return;
    }
    size_t n = fread(buf, 1, IMP_HASH_BYTES, f);
    fclose(f);
    j->seen_size = (uint64_t)st.st_size;
    j->seen_mtime =
        (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    snprintf(j->seen_hash, sizeof(j->seen_hash), "%016" PRIx64,
             fnv1a(buf, n));
    if (n == 0) {
        werr(j, PLT_EINVAL, "%s", "the file is empty");
        free(buf);
        return;
    }
    csv_options o = read_options(&j->spec.read);
    csv_sniff_result r;
    int rc = csv_sniff_with(buf, n, &o, &r);
    if (rc == 0) {
        j->separator = r.separator;
        j->encoding = (int32_t)r.encoding;
        j->has_bom = r.has_bom;
        rc = take_header(j, &r);
        if (rc == PLT_EINVAL)
            werr(j, rc, "%s", "no record found in the file");
        else if (rc != 0)
            werr(j, rc, "%s", "out of memory");
    } else {
        werr(j, rc, "cannot read the file as CSV: %s", plt_strerror(rc));
    }
    csv_sniff_free(&r);
    free(buf);
}

/* ------------------------------------------------------------------ */
/* parse: records into the current batch */

static imp_batch *
batch_new(void)
{
    return calloc(1, sizeof(imp_batch));
}

static void
push_out(imp_job *j, imp_batch *b)
{
    b->next = NULL;
    imp_batch **pp = &j->w_out;
    while (*pp)
        pp = &(*pp)->next;
    *pp = b;
}

static const char *
status_reason(csv_status s)
{
    switch (s) {
    case CSV_UNBALANCED_QUOTE:
        return "a quote is not closed, or closes before other text";
    case CSV_TOO_LONG:
        return "the record is too long";
    case CSV_NUL_BYTE:
        return "a NUL byte (binary or UTF-16 file?)";
    default:
        return "unreadable record";
    }
}

/* Fix the per-lead pointers into the field and phone arrays (which may
 * have moved while the batch grew): leads hold indices until then. */
static void
batch_seal(imp_batch *b)
{
    for (size_t i = 0; i < b->nleads; i++) {
        plt_lead_new *l = &b->leads[i];
        l->fields = b->fields + (uintptr_t)l->fields;
        l->phones = b->phones + (uintptr_t)l->phones;
    }
}

static int
add_row(imp_job *j, imp_batch *b, const csv_record *rec)
{
    if (grow((void **)&b->rows, &b->caprows, b->nrows + 1, sizeof(imp_row)) ||
        grow((void **)&b->orig, &b->caporig, b->norig + rec->nfields,
             sizeof(csv_field)))
        return PLT_ENOMEM;
    imp_row *r = &b->rows[b->nrows++];
    memset(r, 0, sizeof(*r));
    r->line = (int64_t)rec->line;
    r->lead = -1;
    r->first_orig = (uint32_t)b->norig;
    r->norig = (uint32_t)rec->nfields;
    for (size_t i = 0; i < rec->nfields; i++) {
        char *p = import_csv_arena_dup(&b->arena, rec->fields[i].ptr,
                                       rec->fields[i].len);
        if (!p)
            return PLT_ENOMEM;
        b->orig[b->norig].ptr = p;
        b->orig[b->norig].len = rec->fields[i].len;
        b->norig++;
    }
    if (rec->status != CSV_OK && rec->status != CSV_RAGGED) {
        r->reject = IMP_R_MALFORMED;
        r->reason = status_reason(rec->status);
        return 0;
    }
    if (rec->nfields > j->ncols) {
        /* Extra fields are accepted only when empty (Excel's trailing
         * separators); otherwise the columns cannot be trusted. */
        for (size_t i = j->ncols; i < rec->nfields; i++) {
            if (rec->fields[i].len > 0) {
                char msg[96];
                snprintf(msg, sizeof(msg), "%zu fields where the header has %zu",
                         rec->nfields, j->ncols);
                r->reject = IMP_R_MALFORMED;
                r->reason = import_csv_arena_dup(&b->arena, msg, strlen(msg));
                return r->reason ? 0 : PLT_ENOMEM;
            }
        }
    }
    size_t nf = rec->nfields < j->ncols ? rec->nfields : j->ncols;
    if (grow((void **)&b->fields, &b->capfields, b->nfields + nf,
             sizeof(plt_lead_field)) ||
        grow((void **)&b->phones, &b->capphones, b->nphones + j->nphone_cols,
             sizeof(plt_lead_phone)) ||
        grow((void **)&b->leads, &b->capleads, b->nleads + 1,
             sizeof(plt_lead_new)))
        return PLT_ENOMEM;
    size_t f0 = b->nfields, p0 = b->nphones;
    phone_rules pr = {.default_country = j->spec.country,
                      .prefix_to_add = j->spec.prefix,
                      .flags = j->spec.restore_lost_zero
                                   ? PHONE_ASSUME_LOST_ZERO
                                   : 0};
    const char *bad = NULL, *bad_why = NULL;
    char why[PHONE_ERROR_SIZE];
    for (size_t i = 0; i < nf; i++) {
        const csv_field *fv = &b->orig[r->first_orig + i];
        const imp_col *c = &j->cols[i];
        if (fv->len == 0 || c->kind == PLT_IMPORT_IGNORE)
            continue;
        if (c->kind == PLT_IMPORT_FIELD) {
            plt_lead_field *lf = &b->fields[b->nfields++];
            lf->name = c->field;
            lf->value = fv->ptr;
            continue;
        }
        phone_result res;
        if (phone_normalize_n(fv->ptr, fv->len, &pr, &res) != 0) {
            if (!bad) {
                bad = fv->ptr;
                snprintf(why, sizeof(why), "%s", res.error);
                bad_why = why;
            }
            continue;
        }
        char *e = import_csv_arena_dup(&b->arena, res.e164, strlen(res.e164));
        if (!e)
            return PLT_ENOMEM;
        plt_lead_phone *ph = &b->phones[b->nphones++];
        ph->e164 = e;
        ph->original = fv->ptr;
        ph->type = c->phone_type;
        ph->time_zone = res.time_zone;
    }
    if (b->nphones == p0) {
        char msg[256];
        if (bad)
            snprintf(msg, sizeof(msg), "invalid phone '%.120s': %s", bad,
                     bad_why);
        else
            snprintf(msg, sizeof(msg), "no phone number");
        b->nfields = f0;
        r->reject = IMP_R_INVALID_PHONE;
        r->reason = import_csv_arena_dup(&b->arena, msg, strlen(msg));
        return r->reason ? 0 : PLT_ENOMEM;
    }
    plt_lead_new *l = &b->leads[b->nleads];
    memset(l, 0, sizeof(*l));
    l->fields = (const plt_lead_field *)(uintptr_t)f0; /* see batch_seal */
    l->nfields = b->nfields - f0;
    l->phones = (const plt_lead_phone *)(uintptr_t)p0;
    l->nphones = b->nphones - p0;
    l->line = r->line;
    r->lead = (int32_t)b->nleads++;
    return 0;
}

static int
on_record(void *ud, const csv_record *rec)
{
    imp_job *j = ud;
    if (rec->flags & CSV_F_HEADER)
        return 0;
    if (j->cur && j->cur->nrows + (size_t)j->cur->recovered >=
                      (size_t)j->ic->cfg.batch_rows) {
        /* This record starts the next batch: it is where reading resumes
         * after the current one. */
        j->cur->end_offset = rec->offset;
        j->cur->end_line = rec->line;
        batch_seal(j->cur);
        push_out(j, j->cur);
        j->cur = NULL;
    }
    if (!j->cur && !(j->cur = batch_new()))
        return PLT_ENOMEM;
    if (rec->offset < j->skip_until) {
        /* Committed before a crash (the leads progress says so). */
        j->cur->recovered++;
        return 0;
    }
    return add_row(j, j->cur, rec);
}

static int
open_reader(imp_job *j)
{
    j->file = fopen(j->spec.path, "rb");
    if (!j->file) {
        werr(j, -errno, "cannot open the file: %s", strerror(errno));
        return j->werr;
    }
    if (j->start_offset > 0 &&
        fseeko(j->file, (off_t)j->start_offset, SEEK_SET) != 0) {
        werr(j, -errno, "cannot seek: %s", strerror(errno));
        return j->werr;
    }
    csv_options o = read_options(&j->spec.read);
    o.separator = j->separator;
    o.encoding = (csv_encoding)j->encoding;
    if (j->start_offset > 0) {
        /* Past the header: rows must have its field count. */
        o.no_header = 1;
        o.expected_fields = j->ncols;
        o.first_offset = j->start_offset;
        o.first_line = j->start_line;
    }
    size_t chunk = (size_t)j->ic->cfg.read_chunk;
    j->readbuf = malloc(chunk);
    if (!j->readbuf) {
        werr(j, PLT_ENOMEM, "%s", "out of memory");
        return j->werr;
    }
    int rc = csv_reader_new(&o, on_record, j, &j->rd);
    if (rc != 0)
        werr(j, rc, "cannot create the CSV reader: %s", plt_strerror(rc));
    return rc;
}

static void
parse_one_batch(imp_job *j)
{
    if (!j->rd && open_reader(j) != 0)
        return;
    size_t chunk = (size_t)j->ic->cfg.read_chunk;
    while (!j->w_out && !j->eof) {
        size_t n = fread(j->readbuf, 1, chunk, j->file);
        int rc;
        if (n > 0) {
            rc = csv_feed(j->rd, j->readbuf, n);
        } else if (ferror(j->file)) {
            werr(j, PLT_EIO, "read error: %s", strerror(errno));
            return;
        } else {
            rc = csv_finish(j->rd);
            j->eof = true;
            if (rc == 0 && j->cur) {
                j->cur->end_offset = j->file_size;
                j->cur->end_line = 0;
                batch_seal(j->cur);
                push_out(j, j->cur);
                j->cur = NULL;
            }
        }
        if (rc != 0) {
            werr(j, rc, "cannot parse: %s", plt_strerror(rc));
            return;
        }
    }
}

void
import_csv_parse_work(void *arg)
{
    imp_job *j = arg;
    if (!j->report && j->werr == 0 && import_csv_report_open(j) != 0)
        j->w_parse = false;
    /* Report rows of committed batches first: they are then complete on
     * disk before the job row says so. */
    while (j->w_in) {
        imp_batch *b = j->w_in;
        j->w_in = b->next;
        if (j->report && import_csv_report_rows(j, b) != 0 && !j->werr)
            werr(j, PLT_EIO, "cannot write the report: %s", strerror(errno));
        b->report_bytes = j->report_bytes;
        b->next = j->w_done;
        j->w_done = b;
    }
    if (j->w_parse && j->werr == 0)
        parse_one_batch(j);
    if (j->w_close) {
        import_csv_report_close(j);
        if (j->rd) {
            csv_reader_free(j->rd);
            j->rd = NULL;
        }
        if (j->file) {
            fclose(j->file);
            j->file = NULL;
        }
        import_csv_batch_free(j->cur);
        j->cur = NULL;
    }
}
