/* SPDX-License-Identifier: MIT */
/*
 * The configuration document: a YAML file parsed by libyaml into a small
 * tree of mappings, sequences and scalars, each node remembering the line
 * it came from so that every later complaint can say "file:line".
 *
 * The tree is deliberately poorer than YAML. Anchors, aliases and merge
 * keys are refused, because a value that silently comes from elsewhere in
 * the file defeats line-accurate messages, and a second document in one
 * stream is refused because the core reads exactly one. Duplicate keys are
 * an error (libyaml accepts them; the last one would silently win). A YAML
 * null (`key:` with nothing, `~`, `null`) is a scalar whose text reads as
 * "" but which is marked null, so that schema validation can tell an unset
 * key from an explicit empty string ("").
 *
 * Schema validation, typed values and getters live in config.c, which
 * only uses the node accessors below.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "internal.h"


/* Deeper nesting than this is certainly a mistake (or an attack on the
 * recursive descent below); real configuration files nest 4 or 5 levels. */
#define DOC_MAX_DEPTH 64

/* Refuse absurdly large files instead of reading them into memory. */
#define DOC_MAX_BYTES (16u * 1024 * 1024)

struct plt__node {
    int kind;
    int line;   /* 1-based; for a collection under a key, the key's line */
    bool null;  /* a YAML null scalar */
    char *text; /* scalar text as written (NULL for a collection) */
    size_t n;   /* sequence items, or mapping pairs */
    size_t cap;
    /* Sequence: n items. Mapping: 2n nodes, key then value; keys are
     * always scalars with text. */
    plt__node **kids;
};

struct plt__doc {
    char *file;
    plt__node *root;
};

/* State of one parse. */
typedef struct doc_parser {
    yaml_parser_t yp;
    const char *file;
    const char *text; /* the input, to place reader errors */
    size_t len;
    plt__diags *d;
    int rc; /* first error: PLT_ECONFIG or PLT_ENOMEM */
} doc_parser;

static void
node_free(plt__node *n)
{
    if (!n)
        return;
    size_t kids = n->kind == PLT__N_MAP ? 2 * n->n : n->n;
    for (size_t i = 0; i < kids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n);
}

static int
mark_line(yaml_mark_t m)
{
    return (int)m.line + 1;
}

/* Report the first error of a parse; later ones are consequences. */
static void
fail(doc_parser *p, int rc, int line, const char *msg, const char *arg)
{
    if (p->rc)
        return;
    p->rc = rc;
    if (rc == PLT_ENOMEM)
        return;
    if (arg)
        plt__diags_add(p->d, p->file, line, "%s%s", msg, arg);
    else
        plt__diags_add(p->d, p->file, line, "%s", msg);
}

/* Turn libyaml's own error state into a diagnostic. */
static void
fail_yaml(doc_parser *p)
{
    yaml_parser_t *y = &p->yp;
    if (y->error == YAML_MEMORY_ERROR) {
        fail(p, PLT_ENOMEM, 0, "", NULL);
        return;
    }
    if (p->rc)
        return;
    p->rc = PLT_ECONFIG;
    const char *problem = y->problem ? y->problem : "invalid YAML";
    if (y->error == YAML_READER_ERROR) {
        /* Reader errors (bad encoding) carry a byte offset, not a mark:
         * count the lines before it. */
        int line = 1;
        for (size_t i = 0; i < y->problem_offset && i < p->len; i++)
            line += p->text[i] == '\n';
        plt__diags_add(p->d, p->file, line, "%s (byte %zu)", problem,
                       y->problem_offset);
    } else if (y->context) {
        plt__diags_add(p->d, p->file, mark_line(y->problem_mark),
                       "%s (%s at line %d)", problem, y->context,
                       mark_line(y->context_mark));
    } else {
        plt__diags_add(p->d, p->file, mark_line(y->problem_mark), "%s",
                       problem);
    }
}

static bool
next_event(doc_parser *p, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&p->yp, ev)) {
        fail_yaml(p);
        return false;
    }
    return true;
}

static plt__node *
node_new(doc_parser *p, int kind, int line)
{
    plt__node *n = calloc(1, sizeof(*n));
    if (!n) {
        fail(p, PLT_ENOMEM, 0, "", NULL);
        return NULL;
    }
    n->kind = kind;
    n->line = line;
    return n;
}

/* Append a sequence item (@p val NULL) or a mapping pair. */
static bool
node_push(doc_parser *p, plt__node *parent, plt__node *kid, plt__node *val)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        /* Mappings store two nodes per pair. */
        size_t slots = parent->kind == PLT__N_MAP ? 2 * cap : cap;
        plt__node **v = realloc(parent->kids, slots * sizeof(*v));
        if (!v) {
            fail(p, PLT_ENOMEM, 0, "", NULL);
            return false;
        }
        parent->kids = v;
        parent->cap = cap;
    }
    if (parent->kind == PLT__N_MAP) {
        parent->kids[2 * parent->n] = kid;
        parent->kids[2 * parent->n + 1] = val;
    } else {
        parent->kids[parent->n] = kid;
    }
    parent->n++;
    return true;
}

/* YAML 1.1/1.2 core-schema nulls, only when written plain and untagged:
 * a quoted "null" is the string null. */
static bool
scalar_is_null(const yaml_event_t *ev)
{
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || ev->data.scalar.tag)
        return false;
    const char *v = (const char *)ev->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

static const char *
event_anchor(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return (const char *)ev->data.scalar.anchor;
    case YAML_SEQUENCE_START_EVENT:
        return (const char *)ev->data.sequence_start.anchor;
    case YAML_MAPPING_START_EVENT:
        return (const char *)ev->data.mapping_start.anchor;
    default:
        return NULL;
    }
}

static plt__node *parse_node(doc_parser *p, yaml_event_t *ev, int depth);

static plt__node *
parse_scalar(doc_parser *p, yaml_event_t *ev)
{
    int line = mark_line(ev->start_mark);
    const char *v = (const char *)ev->data.scalar.value;
    /* A "\0" escape would silently truncate the value everywhere it is
     * used as a C string. */
    if (strlen(v) != ev->data.scalar.length) {
        fail(p, PLT_ECONFIG, line, "NUL characters are not allowed in values",
             NULL);
        return NULL;
    }
    plt__node *n = node_new(p, PLT__N_SCALAR, line);
    if (!n)
        return NULL;
    n->null = scalar_is_null(ev);
    n->text = plt__strdup(v);
    if (!n->text) {
        free(n);
        fail(p, PLT_ENOMEM, 0, "", NULL);
        return NULL;
    }
    return n;
}

static plt__node *
parse_seq(doc_parser *p, yaml_event_t *start, int depth)
{
    plt__node *n = node_new(p, PLT__N_SEQ, mark_line(start->start_mark));
    if (!n)
        return NULL;
    for (;;) {
        yaml_event_t ev;
        if (!next_event(p, &ev))
            break;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return n;
        }
        plt__node *kid = parse_node(p, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!kid || !node_push(p, n, kid, NULL)) {
            node_free(kid);
            break;
        }
    }
    node_free(n);
    return NULL;
}

static plt__node *
map_find(const plt__node *map, const char *key)
{
    for (size_t i = 0; i < map->n; i++) {
        if (!strcmp(map->kids[2 * i]->text, key))
            return map->kids[2 * i];
    }
    return NULL;
}

static plt__node *
parse_map(doc_parser *p, yaml_event_t *start, int depth)
{
    plt__node *n = node_new(p, PLT__N_MAP, mark_line(start->start_mark));
    if (!n)
        return NULL;
    for (;;) {
        yaml_event_t ev;
        if (!next_event(p, &ev))
            break;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return n;
        }
        /* Keys are names: a sequence or mapping as a key ("? [a]: b") has
         * no meaning in a configuration file. */
        if (ev.type != YAML_SCALAR_EVENT) {
            if (ev.type == YAML_ALIAS_EVENT)
                fail(p, PLT_ECONFIG, mark_line(ev.start_mark),
                     "aliases are not supported: *",
                     (const char *)ev.data.alias.anchor);
            else
                fail(p, PLT_ECONFIG, mark_line(ev.start_mark),
                     "mapping keys must be plain strings", NULL);
            yaml_event_delete(&ev);
            break;
        }
        plt__node *key = parse_node(p, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!key)
            break;
        if (!*key->text) {
            /* An empty key (": x") cannot name anything. */
            fail(p, PLT_ECONFIG, key->line, "empty mapping key", NULL);
            node_free(key);
            break;
        }
        const plt__node *first = map_find(n, key->text);
        if (first) {
            if (!p->rc) {
                p->rc = PLT_ECONFIG;
                plt__diags_add(p->d, p->file, key->line,
                               "duplicate key '%s' (first set at line %d)",
                               key->text, first->line);
            }
            node_free(key);
            break;
        }
        if (!next_event(p, &ev)) {
            node_free(key);
            break;
        }
        plt__node *val = parse_node(p, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!val) {
            node_free(key);
            break;
        }
        /* A block collection starts on the line after its key, but users
         * think of "trunks:" as where the trunks are: report that line. */
        if (val->kind != PLT__N_SCALAR)
            val->line = key->line;
        if (!node_push(p, n, key, val)) {
            node_free(key);
            node_free(val);
            break;
        }
    }
    node_free(n);
    return NULL;
}

/* Build the node that starts with @p ev (already read). */
static plt__node *
parse_node(doc_parser *p, yaml_event_t *ev, int depth)
{
    int line = mark_line(ev->start_mark);
    if (depth > DOC_MAX_DEPTH) {
        fail(p, PLT_ECONFIG, line, "values nest too deeply", NULL);
        return NULL;
    }
    const char *anchor = event_anchor(ev);
    if (anchor) {
        fail(p, PLT_ECONFIG, line, "anchors are not supported: &", anchor);
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return parse_scalar(p, ev);
    case YAML_SEQUENCE_START_EVENT:
        return parse_seq(p, ev, depth);
    case YAML_MAPPING_START_EVENT:
        return parse_map(p, ev, depth);
    case YAML_ALIAS_EVENT:
        fail(p, PLT_ECONFIG, line, "aliases are not supported: *",
             (const char *)ev->data.alias.anchor);
        return NULL;
    default:
        fail(p, PLT_ECONFIG, line, "unexpected YAML event", NULL);
        return NULL;
    }
}

/* Parse the whole stream: at most one document whose root is a mapping
 * (or empty). */
static plt__node *
parse_stream(doc_parser *p, bool *empty)
{
    yaml_event_t ev;
    plt__node *root = NULL;
    *empty = true;
    if (!next_event(p, &ev))
        return NULL;
    yaml_event_delete(&ev); /* STREAM-START */
    if (!next_event(p, &ev))
        return NULL;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return NULL;
    }
    yaml_event_delete(&ev); /* DOCUMENT-START */
    *empty = false;
    if (!next_event(p, &ev))
        return NULL;
    root = parse_node(p, &ev, 0);
    yaml_event_delete(&ev);
    if (!root)
        return NULL;
    if (!next_event(p, &ev)) /* DOCUMENT-END */
        goto fail;
    yaml_event_delete(&ev);
    if (!next_event(p, &ev))
        goto fail;
    if (ev.type == YAML_DOCUMENT_START_EVENT) {
        fail(p, PLT_ECONFIG, mark_line(ev.start_mark),
             "multiple documents in one file are not supported (found '---' "
             "after the first document)",
             NULL);
        yaml_event_delete(&ev);
        goto fail;
    }
    yaml_event_delete(&ev); /* STREAM-END */
    return root;
fail:
    node_free(root);
    return NULL;
}

static int
doc_from_text(const char *name, const char *text, size_t len, plt__doc **out,
              plt__diags *d)
{
    *out = NULL;
    plt__doc *doc = calloc(1, sizeof(*doc));
    if (!doc)
        return PLT_ENOMEM;
    doc->file = plt__strdup(name ? name : "<config>");
    if (!doc->file) {
        free(doc);
        return PLT_ENOMEM;
    }
    doc_parser p = {.file = doc->file, .text = text, .len = len, .d = d};
    if (!yaml_parser_initialize(&p.yp)) {
        plt__doc_free(doc);
        return PLT_ENOMEM;
    }
    yaml_parser_set_input_string(&p.yp, (const unsigned char *)text, len);
    bool empty;
    plt__node *root = parse_stream(&p, &empty);
    yaml_parser_delete(&p.yp);
    if (p.rc) {
        node_free(root);
        plt__doc_free(doc);
        return p.rc;
    }
    /* A document holding only a null ("~", or only comments) is empty. */
    if (root && root->kind == PLT__N_SCALAR && root->null) {
        node_free(root);
        root = NULL;
    }
    if (root && root->kind != PLT__N_MAP) {
        plt__diags_add(d, doc->file, root->line,
                       "the top level of the file must be a mapping of "
                       "sections (\"name: ...\")");
        node_free(root);
        plt__doc_free(doc);
        return PLT_ECONFIG;
    }
    doc->root = root;
    *out = doc;
    return 0;
}

int
plt__doc_parse(const char *name, const char *text, size_t len, plt__doc **out,
               plt__diags *d)
{
    if (!out)
        return PLT_EINVAL;
    *out = NULL;
    if (!text && len)
        return PLT_EINVAL;
    return doc_from_text(name, text ? text : "", len, out, d);
}

int
plt__doc_load(const char *path, plt__doc **out, plt__diags *d)
{
    if (!out || !path)
        return PLT_EINVAL;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        plt__diags_add(d, NULL, 0, "cannot read %s: %s", path, strerror(errno));
        return PLT_ECONFIG;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= DOC_MAX_BYTES) {
                plt__diags_add(d, NULL, 0,
                               "cannot read %s: larger than %u bytes", path,
                               DOC_MAX_BYTES);
                rc = PLT_ECONFIG;
                break;
            }
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = PLT_ENOMEM;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                /* fopen() succeeds on a directory; reading says EISDIR. */
                plt__diags_add(d, NULL, 0, "cannot read %s: %s", path,
                               strerror(errno));
                rc = PLT_ECONFIG;
            }
            break;
        }
    }
    fclose(f);
    if (!rc)
        rc = doc_from_text(path, buf ? buf : "", len, out, d);
    free(buf);
    return rc;
}

void
plt__doc_free(plt__doc *doc)
{
    if (!doc)
        return;
    node_free(doc->root);
    free(doc->file);
    free(doc);
}

const plt__node *
plt__doc_root(const plt__doc *doc)
{
    return doc ? doc->root : NULL;
}

const char *
plt__doc_file(const plt__doc *doc)
{
    return doc ? doc->file : NULL;
}

int
plt__node_kind(const plt__node *n)
{
    return n ? n->kind : 0;
}

int
plt__node_line(const plt__node *n)
{
    return n ? n->line : 0;
}

/* A null reads as "" so that callers which only want text need no
 * special case; plt__node_is_null() tells them apart. */
const char *
plt__node_scalar(const plt__node *n)
{
    if (!n || n->kind != PLT__N_SCALAR)
        return NULL;
    return n->null ? "" : n->text;
}

bool
plt__node_is_null(const plt__node *n)
{
    return n && n->kind == PLT__N_SCALAR && n->null;
}

size_t
plt__node_len(const plt__node *n)
{
    return n && n->kind != PLT__N_SCALAR ? n->n : 0;
}

const plt__node *
plt__node_at(const plt__node *n, size_t i)
{
    if (!n || n->kind != PLT__N_SEQ || i >= n->n)
        return NULL;
    return n->kids[i];
}

const char *
plt__node_key_at(const plt__node *n, size_t i, int *line, const plt__node **val)
{
    if (!n || n->kind != PLT__N_MAP || i >= n->n)
        return NULL;
    if (line)
        *line = n->kids[2 * i]->line;
    if (val)
        *val = n->kids[2 * i + 1];
    return n->kids[2 * i]->text;
}

const plt__node *
plt__node_get(const plt__node *map, const char *key)
{
    if (!map || map->kind != PLT__N_MAP || !key)
        return NULL;
    for (size_t i = 0; i < map->n; i++) {
        if (!strcmp(map->kids[2 * i]->text, key))
            return map->kids[2 * i + 1];
    }
    return NULL;
}
