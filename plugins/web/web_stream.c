/* SPDX-License-Identifier: MIT */
/*
 * Large bodies in bounded memory, with the disk touched only on worker
 * threads.
 *
 * Downloads (a file of the web root or reply_file larger than one chunk):
 * the worker that opened the file read its first chunk; the connection
 * writes the chunk in slices as the socket takes them, then asks a worker
 * for the next chunk, and so on. One chunk per download is in memory.
 *
 * Uploads (PLT_HTTP_UPLOAD routes): the body is spooled to a temporary
 * file in the data directory as it arrives. Bytes gather in a chunk on the
 * loop; a full chunk goes to a worker that appends it to the file while
 * the next one fills. A disk slower than the network would let chunks
 * queue up: past WEB_UPLOAD_BACKLOG bytes waiting the upload is refused
 * (the connection closed) instead. Pausing the socket with
 * lws_rx_flow_control() was tried: libwebsockets 4.1 then delivers parts
 * of an HTTP body twice.
 *
 * Either object outlives its request when a worker still holds it: the
 * request lets go (req = NULL) and the worker's completion cleans up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "web_int.h"

/* ------------------------------------------------------------------ */
/* Downloads */

struct web_fstream {
    web *w;
    plt_http_req *req; /* NULL once the request is gone */
    int fd;
    char *buf;
    size_t len, off; /* bytes in buf, bytes of them written */
    uint64_t left;   /* bytes of the file not read yet */
    bool reading;    /* a worker is filling buf */
    bool failed;
};

static void
fstream_free(web_fstream *fs)
{
    if (fs->fd >= 0)
        close(fs->fd);
    free(fs->buf);
    free(fs);
}

web_fstream *
web_fstream_new(web *w, plt_http_req *req, int fd, uint64_t size, char *first,
                size_t first_len)
{
    web_fstream *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return NULL;
    fs->w = w;
    fs->req = req;
    fs->fd = fd;
    fs->buf = first;
    fs->len = first_len;
    fs->left = size > first_len ? size - first_len : 0;
    return fs;
}

static void
fstream_read_work(void *arg)
{
    web_fstream *fs = arg;
    size_t want = fs->left < WEB_FILE_CHUNK ? (size_t)fs->left : WEB_FILE_CHUNK;
    size_t got = 0;
    while (got < want) {
        ssize_t n = read(fs->fd, fs->buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    /* A file that shrank under us cannot match the announced length. */
    if (got < want)
        fs->failed = true;
    fs->len = got;
    fs->off = 0;
    fs->left -= got;
}

static void
fstream_read_done(void *arg, int status)
{
    web_fstream *fs = arg;
    web_call_end(fs->w);
    fs->reading = false;
    if (status != 0)
        fs->failed = true;
    if (!fs->req) {
        fstream_free(fs);
        return;
    }
    if (fs->req->wsi)
        lws_callback_on_writable(fs->req->wsi);
}

int
web_fstream_write(struct lws *wsi, web_fstream *fs)
{
    /* While a worker reads, it owns the buffer and the counters. */
    if (fs->reading)
        return 0; /* its completion asks for writable */
    if (fs->off == fs->len) {
        if (fs->failed)
            return -1;
        if (fs->left == 0)
            return 1;
        /* The chunk buffer is reused: one chunk per download. */
        if (!fs->buf && !(fs->buf = malloc(WEB_FILE_CHUNK)))
            return -1;
        fs->reading = true;
        if (plt_queue_work(fstream_read_work, fstream_read_done, fs) != 0) {
            fs->reading = false;
            return -1;
        }
        web_call_begin(fs->w);
        return 0;
    }
    size_t n = 0;
    int r = web_write_slice(wsi, fs->buf + fs->off, fs->len - fs->off,
                            fs->left == 0, &n);
    fs->off += n;
    return r;
}

int
web_write_slice(struct lws *wsi, const char *data, size_t avail, bool ends,
                size_t *sent)
{
    static unsigned char out[LWS_PRE + WEB_SLICE];
    size_t n = avail > WEB_SLICE ? WEB_SLICE : avail;
    bool last = ends && n == avail;
    memcpy(out + LWS_PRE, data, n);
    int m = lws_write(wsi, out + LWS_PRE, n,
                      last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
    if (m < (int)n)
        return -1;
    *sent = n;
    if (last)
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

void
web_fstream_release(web_fstream *fs)
{
    if (!fs)
        return;
    if (fs->reading)
        fs->req = NULL; /* the worker's completion frees it */
    else
        fstream_free(fs);
}

/* ------------------------------------------------------------------ */
/* Uploads */

typedef struct spool_chunk {
    struct spool_chunk *next;
    size_t len;
    char data[];
} spool_chunk;

struct web_spool {
    web *w;
    plt_http_req *req; /* NULL once the request is gone */
    char path[256];
    int fd;                   /* -1 until the first write created the file */
    spool_chunk *fill;        /* filling on the loop */
    spool_chunk *head, *tail; /* full chunks, head being written */
    spool_chunk *spare;       /* one written chunk kept for reuse */
    uint64_t queued;          /* bytes in head..tail */
    bool writing, failed, finishing, done_called;
    bool werr; /* set by the worker, read after its completion */
    web_spool_done_fn done;
    uint64_t written;
};

static spool_chunk *
chunk_get(web_spool *sp)
{
    spool_chunk *c = sp->spare;
    if (c)
        sp->spare = NULL;
    else if (!(c = malloc(sizeof(*c) + WEB_UPLOAD_CHUNK)))
        return NULL;
    c->next = NULL;
    c->len = 0;
    return c;
}

web_spool *
web_spool_new(web *w, plt_http_req *req)
{
    web_spool *sp = calloc(1, sizeof(*sp));
    if (!sp)
        return NULL;
    sp->w = w;
    sp->req = req;
    sp->fd = -1;
    snprintf(sp->path, sizeof(sp->path), "%s/web-upload-XXXXXX",
             plt_data_dir());
    return sp;
}

static void
spool_write_work(void *arg)
{
    web_spool *sp = arg;
    if (sp->fd < 0) {
        sp->fd = mkstemp(sp->path);
        if (sp->fd < 0) {
            sp->werr = true;
            return;
        }
    }
    const spool_chunk *c = sp->head;
    size_t off = 0;
    while (off < c->len) {
        ssize_t n = write(sp->fd, c->data + off, c->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            sp->werr = true;
            return;
        }
        off += (size_t)n;
    }
}

static void
spool_free(web_spool *sp)
{
    while (sp->head) {
        spool_chunk *c = sp->head;
        sp->head = c->next;
        free(c);
    }
    free(sp->fill);
    free(sp->spare);
    free(sp);
}

/* Close and remove the file: on a worker (unlink touches the disk). */
static void
spool_discard_work(void *arg)
{
    web_spool *sp = arg;
    if (sp->fd >= 0) {
        close(sp->fd);
        unlink(sp->path);
    }
}

static void
spool_discard_done(void *arg, int status)
{
    (void)status;
    web_spool *sp = arg;
    web_call_end(sp->w);
    spool_free(sp);
}

static void
spool_discard(web_spool *sp)
{
    if (sp->fd >= 0 &&
        plt_queue_work(spool_discard_work, spool_discard_done, sp) == 0) {
        web_call_begin(sp->w);
        return;
    }
    /* Nothing on disk, or no worker left (stopping): do it here. */
    spool_discard_work(sp);
    spool_free(sp);
}

static void
spool_finish(web_spool *sp)
{
    if (sp->done_called || !sp->done)
        return;
    sp->done_called = true;
    /* The handler reads the file on its own: close our descriptor (no
     * fsync, so this does not wait for the disk). */
    if (sp->fd >= 0 && close(sp->fd) != 0)
        sp->failed = true;
    sp->fd = -1;
    sp->done(sp->req, sp->failed ? PLT_EIO : 0, sp->failed ? NULL : sp->path);
}

static void spool_write_done(void *arg, int status);

/* Queue the chunk being filled when it is full (or, once the body is
 * complete, whatever it holds), start the next write, and report the end
 * once everything is on disk. */
static void
spool_pump(web_spool *sp)
{
    if (sp->fill && (sp->fill->len >= WEB_UPLOAD_CHUNK ||
                     (sp->finishing && sp->fill->len))) {
        if (sp->tail)
            sp->tail->next = sp->fill;
        else
            sp->head = sp->fill;
        sp->tail = sp->fill;
        sp->queued += sp->fill->len;
        sp->fill = NULL;
    }
    if (!sp->writing && sp->head && !sp->failed) {
        if (plt_queue_work(spool_write_work, spool_write_done, sp) == 0) {
            sp->writing = true;
            web_call_begin(sp->w);
        } else {
            sp->failed = true;
        }
    }
    if (sp->finishing && !sp->writing && (sp->failed || !sp->head) &&
        (!sp->fill || !sp->fill->len || sp->failed))
        spool_finish(sp);
}

static void
spool_write_done(void *arg, int status)
{
    web_spool *sp = arg;
    web_call_end(sp->w);
    sp->writing = false;
    if (status != 0 || sp->werr)
        sp->failed = true;
    spool_chunk *c = sp->head;
    sp->head = c->next;
    if (!sp->head)
        sp->tail = NULL;
    /* Counted on the loop only (web_spool_size() reads both). */
    sp->queued -= c->len;
    sp->written += c->len;
    if (sp->spare)
        free(c);
    else
        sp->spare = c;
    if (!sp->req) {
        spool_discard(sp);
        return;
    }
    spool_pump(sp);
}

int
web_spool_add(web_spool *sp, const void *in, size_t len)
{
    const char *p = in;
    while (len) {
        if (sp->failed)
            return -1;
        /* The disk normally keeps up with the network; when it does not,
         * refuse rather than hold the body in memory. */
        if (sp->queued > WEB_UPLOAD_BACKLOG) {
            plt_log(PLT_LOG_WARN,
                    "upload refused: %llu bytes wait for the "
                    "disk",
                    (unsigned long long)sp->queued);
            return -1;
        }
        if (!sp->fill && !(sp->fill = chunk_get(sp)))
            return -1;
        size_t n = WEB_UPLOAD_CHUNK - sp->fill->len;
        if (n > len)
            n = len;
        memcpy(sp->fill->data + sp->fill->len, p, n);
        sp->fill->len += n;
        p += n;
        len -= n;
        spool_pump(sp);
    }
    return 0;
}

void
web_spool_complete(web_spool *sp, web_spool_done_fn done)
{
    sp->done = done;
    sp->finishing = true;
    spool_pump(sp);
}

void
web_spool_release(web_spool *sp)
{
    if (!sp)
        return;
    sp->req = NULL;
    if (!sp->writing)
        spool_discard(sp);
}

uint64_t
web_spool_size(const web_spool *sp)
{
    return sp->written + sp->queued + (sp->fill ? sp->fill->len : 0);
}

/* ------------------------------------------------------------------ */
/* Removing a spooled upload */

typedef struct unlink_job {
    web *w;
    char *path;
} unlink_job;

static void
unlink_work(void *arg)
{
    unlink_job *j = arg;
    unlink(j->path); /* ENOENT when the handler moved it: fine */
}

static void
unlink_done(void *arg, int status)
{
    (void)status;
    unlink_job *j = arg;
    web_call_end(j->w);
    free(j->path);
    free(j);
}

void
web_unlink_later(web *w, char *path)
{
    unlink_job *j = malloc(sizeof(*j));
    if (j) {
        j->w = w;
        j->path = path;
        if (plt_queue_work(unlink_work, unlink_done, j) == 0) {
            web_call_begin(w);
            return;
        }
        free(j);
    }
    /* No worker (stopping) or no memory: here, once. */
    unlink(path);
    free(path);
}
