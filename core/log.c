/* SPDX-License-Identifier: MIT */
/*
 * Logging. Every line gets a UTC timestamp from the core clock, a level and
 * the name of who wrote it ("[core]", "[sip]"); errors and debug lines also
 * get file:line. Lines are formatted by the caller and written by a writer
 * thread, so the loop thread never blocks on a slow terminal or disk. When
 * the writer cannot keep up, lines are dropped and counted rather than
 * stalling calls; the count is reported with the next line written.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "internal.h"

#define LOG_QUEUE_MAX 20000

typedef struct log_line {
    struct log_line *next;
    char text[];
} log_line;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t drained;
    FILE *out;
    bool own_out;
    int level;
    bool thread_on;
    bool stop;
    pthread_t thread;
    log_line *head, *tail;
    size_t qlen;
    bool writing;
    uint64_t dropped, dropped_reported;
    int64_t (*now)(void *);
    void *now_arg;
    plt__log_sink_fn sink;
    void *sink_arg;
} L = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
    .drained = PTHREAD_COND_INITIALIZER,
    .level = PLT_LOG_INFO,
};

static const char *
level_name(int level)
{
    switch (level) {
    case PLT_LOG_ERROR: return "ERROR";
    case PLT_LOG_WARN: return "WARN ";
    case PLT_LOG_NOTICE: return "NOTE ";
    case PLT_LOG_INFO: return "INFO ";
    case PLT_LOG_DEBUG: return "DEBUG";
    default: return level < PLT_LOG_ERROR ? "CRIT " : "TRACE";
    }
}

int
plt__log_open(const char *file, int level)
{
    FILE *f = stderr;
    bool own = false;
    if (file && *file) {
        f = fopen(file, "a");
        if (!f)
            return -errno;
        setvbuf(f, NULL, _IOLBF, 0);
        own = true;
    }
    pthread_mutex_lock(&L.mu);
    if (L.own_out && L.out)
        fclose(L.out);
    L.out = f;
    L.own_out = own;
    L.level = level;
    pthread_mutex_unlock(&L.mu);
    return 0;
}

void
plt__log_set_level(int level)
{
    __atomic_store_n(&L.level, level, __ATOMIC_RELAXED);
}

int
plt__log_level(void)
{
    return __atomic_load_n(&L.level, __ATOMIC_RELAXED);
}

void
plt__log_set_clock(int64_t (*now)(void *), void *arg)
{
    pthread_mutex_lock(&L.mu);
    L.now = now;
    L.now_arg = arg;
    pthread_mutex_unlock(&L.mu);
}

void
plt__log_set_sink(plt__log_sink_fn sink, void *arg)
{
    pthread_mutex_lock(&L.mu);
    L.sink = sink;
    L.sink_arg = arg;
    pthread_mutex_unlock(&L.mu);
}

uint64_t
plt__log_dropped(void)
{
    pthread_mutex_lock(&L.mu);
    uint64_t d = L.dropped;
    pthread_mutex_unlock(&L.mu);
    return d;
}

static void
write_line(FILE *out, const char *text)
{
    fputs(text, out ? out : stderr);
}

static void *
writer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&L.mu);
    for (;;) {
        while (!L.head && !L.stop)
            pthread_cond_wait(&L.cv, &L.mu);
        if (!L.head && L.stop)
            break;
        log_line *batch = L.head;
        L.head = L.tail = NULL;
        L.qlen = 0;
        L.writing = true;
        FILE *out = L.out;
        uint64_t lost = L.dropped - L.dropped_reported;
        L.dropped_reported = L.dropped;
        pthread_mutex_unlock(&L.mu);

        /* The writes happen without the lock so that loggers never wait
         * for the terminal or the disk. */
        if (lost)
            fprintf(out ? out : stderr,
                    "-- %llu log lines dropped (writer too slow) --\n",
                    (unsigned long long)lost);
        while (batch) {
            log_line *n = batch->next;
            write_line(out, batch->text);
            free(batch);
            batch = n;
        }
        fflush(out ? out : stderr);

        pthread_mutex_lock(&L.mu);
        L.writing = false;
        if (!L.head)
            pthread_cond_broadcast(&L.drained);
    }
    L.writing = false;
    pthread_cond_broadcast(&L.drained);
    pthread_mutex_unlock(&L.mu);
    return NULL;
}

int
plt__log_thread_start(void)
{
    pthread_mutex_lock(&L.mu);
    if (L.thread_on) {
        pthread_mutex_unlock(&L.mu);
        return 0;
    }
    L.stop = false;
    int rc = pthread_create(&L.thread, NULL, writer_main, NULL);
    if (rc == 0)
        L.thread_on = true;
    pthread_mutex_unlock(&L.mu);
    return -rc;
}

void
plt__log_flush(void)
{
    pthread_mutex_lock(&L.mu);
    while (L.thread_on && (L.head || L.writing))
        pthread_cond_wait(&L.drained, &L.mu);
    pthread_mutex_unlock(&L.mu);
}

void
plt__log_thread_stop(void)
{
    pthread_mutex_lock(&L.mu);
    if (!L.thread_on) {
        pthread_mutex_unlock(&L.mu);
        return;
    }
    L.stop = true;
    pthread_cond_signal(&L.cv);
    pthread_mutex_unlock(&L.mu);
    pthread_join(L.thread, NULL);
    pthread_mutex_lock(&L.mu);
    L.thread_on = false;
    pthread_mutex_unlock(&L.mu);
}

static void
format_time(char *buf, size_t len, int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

void
plt__logv(const char *who, int level, const char *file, int line, int err,
          const char *fmt, va_list ap)
{
    if (level > plt__log_level())
        return;

    char *msg = plt__vasprintf(fmt, ap);
    if (!msg)
        return;
    if (err) {
        char *m2 = plt__asprintf("%s: %s", msg, plt__strerror(err));
        if (m2) {
            free(msg);
            msg = m2;
        }
    }

    int64_t now;
    pthread_mutex_lock(&L.mu);
    int64_t (*clk)(void *) = L.now;
    void *clk_arg = L.now_arg;
    plt__log_sink_fn sink = L.sink;
    void *sink_arg = L.sink_arg;
    pthread_mutex_unlock(&L.mu);
    if (clk) {
        now = clk(clk_arg);
    } else {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        now = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    }
    if (sink)
        sink(sink_arg, who ? who : "core", level, msg);

    char ts[40];
    format_time(ts, sizeof(ts), now);
    const char *base = file ? strrchr(file, '/') : NULL;
    base = base ? base + 1 : file;
    bool where = file && (level <= PLT_LOG_ERROR || level >= PLT_LOG_DEBUG);
    char *text;
    if (where)
        text = plt__asprintf("%s %s [%s] %s (%s:%d)\n", ts, level_name(level),
                             who ? who : "core", msg, base, line);
    else
        text = plt__asprintf("%s %s [%s] %s\n", ts, level_name(level),
                             who ? who : "core", msg);
    free(msg);
    if (!text)
        return;

    pthread_mutex_lock(&L.mu);
    if (!L.thread_on) {
        /* Before the loop starts and after it ends there is no writer;
         * write directly (nothing else runs then). */
        write_line(L.out, text);
        fflush(L.out ? L.out : stderr);
        pthread_mutex_unlock(&L.mu);
        free(text);
        return;
    }
    if (L.qlen >= LOG_QUEUE_MAX) {
        L.dropped++;
        pthread_mutex_unlock(&L.mu);
        free(text);
        return;
    }
    size_t tl = strlen(text);
    log_line *ll = malloc(sizeof(*ll) + tl + 1);
    if (!ll) {
        L.dropped++;
        pthread_mutex_unlock(&L.mu);
        free(text);
        return;
    }
    memcpy(ll->text, text, tl + 1);
    free(text);
    ll->next = NULL;
    if (L.tail)
        L.tail->next = ll;
    else
        L.head = ll;
    L.tail = ll;
    L.qlen++;
    pthread_cond_signal(&L.cv);
    pthread_mutex_unlock(&L.mu);
}

void
plt__log(const char *who, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    plt__logv(who, level, NULL, 0, 0, fmt, ap);
    va_end(ap);
}
