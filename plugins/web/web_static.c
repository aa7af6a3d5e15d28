/* SPDX-License-Identifier: MIT */
/*
 * Files: the browser UI from the web root, and files a handler answers
 * with (reply_file). Both are read on a worker thread, never on the loop;
 * a file larger than one chunk is sent chunk by chunk (web_stream.c), so
 * a recording or an export costs one chunk of memory, not its size.
 *
 * A static path must be safe before it reaches the disk (no "." or ".."
 * segments, no backslash, no empty segment; libwebsockets has already
 * decoded and collapsed the URL) and, once resolved with realpath(), must
 * still lie inside the web root, so a symbolic link cannot lead out.
 * Only regular files are served.
 *
 * Caching: every file carries an ETag (size and modification time) and
 * "Cache-Control: no-cache", so browsers revalidate with If-None-Match
 * and get a 304 without the body. The UI's files have no content hash in
 * their names, so anything longer-lived would serve stale code after an
 * upgrade.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "web_int.h"

typedef struct file_job {
    web *w;
    plt_http_req *req;
    char *path;       /* absolute */
    char *root;       /* NULL: no containment check (reply_file) */
    char *inm;        /* If-None-Match */
    char *ctype;      /* NULL: from the extension */
    char *filename;   /* attachment name, or NULL */
    int64_t max;
    /* results */
    int status;
    char *body;
    size_t len;
    int fd;           /* >= 0: the file continues past body (size) */
    uint64_t size;
    char etag[64];
} file_job;

static int
read_file(file_job *j)
{
    char real[PATH_MAX];
    if (!realpath(j->path, real))
        return 404;
    if (j->root) {
        size_t rl = strlen(j->root);
        if (strncmp(real, j->root, rl) != 0 || real[rl] != '/')
            return 404;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 404;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 404;
    }
    if ((int64_t)st.st_size > j->max) {
        close(fd);
        return 413;
    }
    snprintf(j->etag, sizeof(j->etag), "\"%llx-%llx%09lx\"",
             (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec,
             (unsigned long)st.st_mtim.tv_nsec);
    if (j->inm && strstr(j->inm, j->etag)) {
        close(fd);
        return 304;
    }
    /* Small files whole; larger ones start with their first chunk. */
    size_t want = (size_t)st.st_size;
    if (want > WEB_FILE_CHUNK)
        want = WEB_FILE_CHUNK;
    j->body = malloc(want + 1);
    if (!j->body) {
        close(fd);
        return 503;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t n = read(fd, j->body + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    j->len = got;
    j->size = (uint64_t)st.st_size;
    if (got == want && want < (size_t)st.st_size)
        j->fd = fd;
    else
        close(fd);
    return 200;
}

static void
file_work(void *arg)
{
    file_job *j = arg;
    j->status = read_file(j);
}

static void
job_free(file_job *j)
{
    free(j->path);
    free(j->root);
    free(j->inm);
    free(j->ctype);
    free(j->filename);
    free(j->body);
    if (j->fd >= 0)
        close(j->fd);
    free(j);
}

static void
file_done(void *arg, int status)
{
    file_job *j = arg;
    plt_http_req *req = j->req;
    web_call_end(j->w);
    if (status != 0) {
        web_req_error(req, 503, "unavailable", "the server is stopping");
    } else if (j->status == 200 || j->status == 304) {
        char hdr[512];
        int n = snprintf(hdr, sizeof(hdr), "ETag: %s\r\n", j->etag);
        if (req->is_static)
            snprintf(hdr + n, sizeof(hdr) - (size_t)n,
                     "Cache-Control: no-cache\r\n");
        else if (j->filename)
            snprintf(hdr + n, sizeof(hdr) - (size_t)n,
                     "Content-Disposition: attachment; filename=\"%s\"\r\n",
                     j->filename);
        const char *ctype = j->ctype ? j->ctype : web_mime_type(j->path);
        if (j->status == 304) {
            web_req_respond(req, 304, NULL, NULL, 0, hdr);
        } else if (j->fd >= 0) {
            web_fstream *fs =
                web_fstream_new(j->w, req, j->fd, j->size, j->body, j->len);
            if (!fs) {
                web_req_error(req, 503, "unavailable", "out of memory");
            } else {
                j->fd = -1;
                j->body = NULL;
                web_req_respond_stream(req, 200, ctype, fs, j->size, hdr);
            }
        } else {
            web_req_respond(req, 200, ctype, j->body, j->len, hdr);
            j->body = NULL;
        }
    } else if (j->status == 413) {
        web_req_error(req, 413, "too_large", "the file is too large");
    } else if (j->status == 503) {
        web_req_error(req, 503, "unavailable", "out of memory");
    } else {
        web_req_error(req, 404, "not_found", "no such file");
    }
    job_free(j);
}

static file_job *
job_new(void)
{
    file_job *j = calloc(1, sizeof(*j));
    if (j)
        j->fd = -1;
    return j;
}

static void
start_job(web *w, plt_http_req *req, file_job *j)
{
    j->w = w;
    j->req = req;
    int rc = plt_queue_work(file_work, file_done, j);
    if (rc != 0) {
        job_free(j);
        web_req_error(req, 503, "unavailable", "cannot read the file now");
        return;
    }
    web_call_begin(w);
}

void
web_static_serve(web *w, plt_http_req *req)
{
    req->is_static = true;
    w->ctr.http_static++;
    if (req->method != WEB_M_GET) {
        web_req_error(req, 405, "method_not_allowed",
                      "static files are read-only");
        return;
    }
    if (!w->cfg.root) {
        web_req_error(req, 404, "not_found", "no web root configured");
        return;
    }
    if (!web_path_safe(req->path)) {
        web_req_error(req, 404, "not_found", "no such file");
        return;
    }
    file_job *j = job_new();
    if (!j) {
        web_req_error(req, 503, "unavailable", "out of memory");
        return;
    }
    size_t pl = strlen(req->path);
    const char *index = req->path[pl - 1] == '/' ? "index.html" : "";
    size_t n = strlen(w->cfg.root) + pl + strlen(index) + 1;
    j->path = malloc(n);
    j->root = strdup(w->cfg.root);
    j->inm = web_strdup(req->if_none_match);
    j->max = w->cfg.max_static;
    if (!j->path || !j->root) {
        job_free(j);
        web_req_error(req, 503, "unavailable", "out of memory");
        return;
    }
    snprintf(j->path, n, "%s%s%s", w->cfg.root, req->path, index);
    start_job(w, req, j);
}

void
web_file_reply(web *w, plt_http_req *req, const char *path,
               const char *ctype, const char *filename)
{
    file_job *j = job_new();
    if (!j || !path) {
        free(j);
        web_req_error(req, 404, "not_found", "no such file");
        return;
    }
    j->path = strdup(path);
    j->ctype = web_strdup(ctype);
    j->max = w->cfg.max_static;
    if (filename) {
        /* The name goes into a quoted header value: keep it plain. */
        j->filename = strdup(filename);
        for (char *c = j->filename; c && *c; c++)
            if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ||
                (unsigned char)*c >= 0x7f)
                *c = '_';
    }
    if (!j->path) {
        job_free(j);
        web_req_error(req, 503, "unavailable", "out of memory");
        return;
    }
    start_job(w, req, j);
}
