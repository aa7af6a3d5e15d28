/* SPDX-License-Identifier: MIT */
/*
 * Opening rules: weekly windows and holiday sets, evaluated on the local
 * date and time of the schedule's zone. A holiday closes the whole local
 * day. The next opening walks forward day by day on the local calendar
 * (at most 400 days) and converts the first window start found back to
 * an instant, so a DST change between now and then is accounted for.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <plateau/error.h>

#include "schedule.h"

static const char *const day_names[] = {"sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat"};

static int
day_index(const char *p, size_t n)
{
    for (int i = 0; i < 7; i++)
        if (n == 3 && strncmp(p, day_names[i], 3) == 0)
            return i;
    return -1;
}

/* "mon-fri,sun" -> bit set; "daily" -> every day. */
static int
parse_days(const char *p, size_t n, uint8_t *out)
{
    if (n == 5 && strncmp(p, "daily", 5) == 0) {
        *out = 0x7f;
        return 0;
    }
    uint8_t days = 0;
    const char *end = p + n;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        const char *dash = memchr(p, '-', (size_t)(stop - p));
        int from = day_index(p, (size_t)((dash ? dash : stop) - p));
        int to = dash ? day_index(dash + 1, (size_t)(stop - dash - 1)) : from;
        if (from < 0 || to < 0)
            return PLT_EINVAL;
        /* A range may wrap over the week's end: "fri-mon". */
        for (int d = from;; d = (d + 1) % 7) {
            days |= (uint8_t)(1u << d);
            if (d == to)
                break;
        }
        p = comma ? comma + 1 : end;
    }
    *out = days;
    return days ? 0 : PLT_EINVAL;
}

static int
parse_hhmm(const char *p, int *out)
{
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) ||
        p[2] != ':' || !isdigit((unsigned char)p[3]) ||
        !isdigit((unsigned char)p[4]))
        return PLT_EINVAL;
    int h = (p[0] - '0') * 10 + (p[1] - '0');
    int m = (p[3] - '0') * 10 + (p[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return PLT_EINVAL;
    *out = h * 60 + m;
    return 0;
}

int
schedule_window_parse(const char *text, schedule_window *out)
{
    if (!text)
        return PLT_EINVAL;
    while (*text == ' ')
        text++;
    const char *sp = strchr(text, ' ');
    const char *times = text;
    out->days = 0x7f;
    if (sp) {
        int rc = parse_days(text, (size_t)(sp - text), &out->days);
        if (rc != 0)
            return rc;
        times = sp;
        while (*times == ' ')
            times++;
    }
    int from, to;
    if (strlen(times) != 11 || times[5] != '-' ||
        parse_hhmm(times, &from) != 0 || parse_hhmm(times + 6, &to) != 0 ||
        from >= to)
        return PLT_EINVAL;
    out->from_min = (int16_t)from;
    out->to_min = (int16_t)to;
    return 0;
}

static int
push(int **v, size_t *n, int x)
{
    int *nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (!nv)
        return PLT_ENOMEM;
    nv[(*n)++] = x;
    *v = nv;
    return 0;
}

static const struct {
    const char *name;
    int offset;
} easter_named[] = {{"good_friday", -2},  {"easter", 0},
                    {"easter_monday", 1}, {"ascension", 39},
                    {"whit_sunday", 49},  {"whit_monday", 50}};

int
schedule_holiday_add(schedule_holidays *h, const char *text)
{
    if (!text)
        return PLT_EINVAL;
    for (size_t i = 0; i < sizeof(easter_named) / sizeof(easter_named[0]); i++)
        if (strcmp(text, easter_named[i].name) == 0)
            return push(&h->easter, &h->neaster, easter_named[i].offset);
    if (strncmp(text, "easter", 6) == 0 && (text[6] == '+' || text[6] == '-')) {
        char *end;
        long off = strtol(text + 6, &end, 10);
        if (end == text + 7 || *end || off < -100 || off > 100)
            return PLT_EINVAL;
        return push(&h->easter, &h->neaster, (int)off);
    }
    int y, m, d, n = 0;
    size_t len = strlen(text);
    if (len == 5 && sscanf(text, "%2d-%2d%n", &m, &d, &n) == 2 && n == 5 &&
        g_date_valid_dmy((GDateDay)d, (GDateMonth)m, 2000))
        return push(&h->fixed, &h->nfixed, m * 100 + d);
    if (len == 10 && sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 &&
        n == 10 && g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y))
        return push(&h->dated, &h->ndated, y * 10000 + m * 100 + d);
    return PLT_EINVAL;
}

static uint32_t
julian(int y, int m, int d)
{
    GDate date;
    g_date_clear(&date, 1);
    g_date_set_dmy(&date, (GDateDay)d, (GDateMonth)m, (GDateYear)y);
    return g_date_get_julian(&date);
}

bool
schedule_is_holiday(const schedule_holidays *h, const schedule_local *l)
{
    int md = l->month * 100 + l->day;
    int ymd = l->year * 10000 + md;
    for (size_t i = 0; i < h->nfixed; i++)
        if (h->fixed[i] == md)
            return true;
    for (size_t i = 0; i < h->ndated; i++)
        if (h->dated[i] == ymd)
            return true;
    if (h->neaster) {
        int em, ed;
        schedule_easter(l->year, &em, &ed);
        int64_t off = (int64_t)julian(l->year, l->month, l->day) -
                      (int64_t)julian(l->year, em, ed);
        for (size_t i = 0; i < h->neaster; i++)
            if (h->easter[i] == off)
                return true;
    }
    return false;
}

int
schedule_add_window(schedule *s, const char *text)
{
    schedule_window w;
    int rc = schedule_window_parse(text, &w);
    if (rc != 0)
        return rc;
    schedule_window *v = realloc(s->windows, (s->nwindows + 1) * sizeof(*v));
    if (!v)
        return PLT_ENOMEM;
    v[s->nwindows++] = w;
    s->windows = v;
    return 0;
}

void
schedule_holidays_clear(schedule_holidays *h)
{
    free(h->fixed);
    free(h->easter);
    free(h->dated);
    memset(h, 0, sizeof(*h));
}

void
schedule_clear(schedule *s)
{
    free(s->windows);
    s->windows = NULL;
    s->nwindows = 0;
    schedule_holidays_clear(&s->holidays);
}

bool
schedule_in_windows(const schedule_window *w, size_t n,
                    const schedule_local *l)
{
    for (size_t i = 0; i < n; i++)
        if ((w[i].days & (1u << l->wday)) && l->minute >= w[i].from_min &&
            l->minute < w[i].to_min)
            return true;
    return false;
}

static bool
open_local(const schedule *s, const schedule_local *l)
{
    if (schedule_is_holiday(&s->holidays, l))
        return false;
    return !s->nwindows || schedule_in_windows(s->windows, s->nwindows, l);
}

bool
schedule_open_at(const schedule *s, int64_t utc_ms)
{
    schedule_local l;
    return schedule_local_time(s->zone, utc_ms, &l) == 0 && open_local(s, &l);
}

int64_t
schedule_next_open(const schedule *s, int64_t utc_ms)
{
    schedule_local now;
    if (schedule_local_time(s->zone, utc_ms, &now) != 0)
        return -1;
    if (open_local(s, &now))
        return utc_ms;
    GDate date;
    g_date_clear(&date, 1);
    g_date_set_dmy(&date, (GDateDay)now.day, (GDateMonth)now.month,
                   (GDateYear)now.year);
    for (int k = 0; k < 400; k++, g_date_add_days(&date, 1)) {
        schedule_local l = {.year = g_date_get_year(&date),
                            .month = g_date_get_month(&date),
                            .day = g_date_get_day(&date),
                            .wday = g_date_get_weekday(&date) % 7};
        if (schedule_is_holiday(&s->holidays, &l))
            continue;
        int best = -1;
        if (!s->nwindows)
            best = 0; /* a day that is not a holiday opens at midnight */
        for (size_t i = 0; i < s->nwindows; i++) {
            const schedule_window *w = &s->windows[i];
            if (!(w->days & (1u << l.wday)))
                continue;
            /* Today, only a window still ahead counts (the one we are in
             * would have made us open). */
            if (k == 0 && w->from_min <= now.minute)
                continue;
            if (best < 0 || w->from_min < best)
                best = w->from_min;
        }
        if (best < 0)
            continue;
        int64_t at = schedule_utc_of(s->zone, l.year, l.month, l.day, best);
        /* A start skipped by a DST change lands later; never earlier than
         * the instant asked about. */
        if (at >= utc_ms)
            return at;
    }
    return -1;
}
