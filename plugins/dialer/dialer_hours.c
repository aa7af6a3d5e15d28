/* SPDX-License-Identifier: MIT */
/*
 * When a contact may be called: the campaign's opening hours intersected
 * with its compliance pack's legal hours, minus holidays (the pack's fixed,
 * Easter-based and dated ones, and the campaign's), all evaluated in the
 * contact's own time zone (its number's, else the contact's, else the
 * site's) - so a DST change in that zone moves the window with it. Per
 * number type rules ("mobile only outside office hours") narrow it
 * further. Local time, windows and holidays are plateau_schedule's
 * (plugins/schedule), shared with the ACD.
 *
 * The reservation asks leads only for contacts in zones open now: the
 * candidate zones are every zone of the system's tz database (read once,
 * at start, ADR 0014) and the campaign's open set is recomputed once a
 * minute. A contact whose zone is not a known zone (none, a typo, a made-up name)
 * is in the site's zone: such contacts are reached by a reservation
 * without a zone filter, at most every few minutes, while the site's zone
 * is open (dialer_engine.c).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dialer_int.h"

/* Campaign windows (the service's plt_dialer_window) evaluated by
 * plateau_schedule. */
static bool
in_windows(const plt_dialer_window *w, size_t n, const dialer_local *l)
{
    for (size_t i = 0; i < n; i++) {
        schedule_window sw = dialer_window_to_schedule(&w[i]);
        if (schedule_in_windows(&sw, 1, l))
            return true;
    }
    return false;
}

static bool
is_holiday(const campaign *c, const dialer_local *l)
{
    char ymd[16];
    snprintf(ymd, sizeof(ymd), "%04d-%02d-%02d", l->year, l->month, l->day);
    for (size_t i = 0; i < c->def.c.nholidays; i++)
        if (!strcmp(c->def.c.holidays[i], ymd))
            return true;
    return c->pack && schedule_is_holiday(&c->pack->holidays, l);
}

bool
dialer_open_at(const campaign *c, const char *tz, int64_t at)
{
    dialer_local l;
    if (dialer_local_time(at, tz, c->D->site_tz, &l) != 0)
        return false;
    if (c->def.c.nhours && !in_windows(c->def.c.hours, c->def.c.nhours, &l))
        return false;
    if (c->pack && c->pack->nhours &&
        !schedule_in_windows(c->pack->hours, c->pack->nhours, &l))
        return false;
    return !is_holiday(c, &l);
}

bool
dialer_phone_allowed(const campaign *c, int32_t phone_type, const char *tz,
                     int64_t at)
{
    for (size_t i = 0; i < c->def.c.nphone_rules; i++) {
        const plt_dialer_phone_rule *r = &c->def.c.phone_rules[i];
        if (r->phone_type != phone_type)
            continue;
        dialer_local l;
        if (dialer_local_time(at, tz, c->D->site_tz, &l) != 0)
            return false;
        return in_windows(r->windows, r->nwindows, &l);
    }
    return true;
}

int64_t
dialer_next_open(const campaign *c, const char *tz, int32_t type,
                 int64_t from)
{
    /* Five-minute steps over two weeks: windows are given to the minute
     * and rarely shorter than that; the result is rounded up to a step. */
    const int64_t step = 5 * 60000;
    int64_t t = from - from % step + step;
    for (int i = 0; i < 14 * 288; i++, t += step)
        if (dialer_open_at(c, tz, t) && dialer_phone_allowed(c, type, tz, t))
            return t;
    return from + 14 * DIALER_DAY_MS;
}

/* One entry of the tz database: a regular file (or a link to one) that
 * starts with the TZif magic. */
static bool
is_tzif(const char *path)
{
    char magic[4];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    bool ok = fread(magic, 1, 4, f) == 4 && !memcmp(magic, "TZif", 4);
    fclose(f);
    return ok;
}

static int
zone_add(dialer *D, size_t *cap, const char *name)
{
    for (size_t i = 0; i < D->nzones; i++)
        if (!strcmp(D->zones[i], name))
            return 0;
    if (dialer_tz_preload(name) != 0)
        return 0;
    if (D->nzones == *cap) {
        const char **n = realloc(D->zones, 2 * *cap * sizeof(char *));
        if (!n)
            return PLT_ENOMEM;
        D->zones = n;
        *cap *= 2;
    }
    char *dup = strdup(name);
    if (!dup)
        return PLT_ENOMEM;
    D->zones[D->nzones++] = dup;
    return 0;
}

static int
zones_walk(dialer *D, size_t *cap, const char *root, const char *rel,
           int depth)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.' || (!rel[0] && (!strcmp(e->d_name, "posix") ||
                                                !strcmp(e->d_name, "right") ||
                                                !strcmp(e->d_name, "localtime") ||
                                                !strcmp(e->d_name,
                                                        "posixrules"))))
            continue;
        char name[512], path[1600];
        snprintf(name, sizeof(name), "%s%s%s", rel, rel[0] ? "/" : "",
                 e->d_name);
        snprintf(path, sizeof(path), "%s/%s", root, name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 3)
                rc = zones_walk(D, cap, root, name, depth + 1);
        } else if (S_ISREG(st.st_mode) && is_tzif(path)) {
            rc = zone_add(D, cap, name);
        }
    }
    closedir(d);
    return rc;
}

int
dialer_zones_load(dialer *D)
{
    /* The candidate zones: every zone of the system's tz database (also
     * the old names still found in contact files: Europe/Kiev, US/Eastern,
     * CET), plus UTC and the site's zone, each loaded now: start is the
     * time for file reads (ADR 0007, 0014), the loop never reads one. */
    size_t cap = 1024;
    D->zones = calloc(cap, sizeof(char *));
    if (!D->zones)
        return PLT_ENOMEM;
    int rc = zone_add(D, &cap, "UTC");
    if (rc == 0 && dialer_tz_preload(D->site_tz) != 0) {
        plt_set_error("site_time_zone: unknown time zone '%s'", D->site_tz);
        return PLT_ECONFIG;
    }
    if (rc == 0)
        rc = zone_add(D, &cap, D->site_tz);
    if (rc == 0)
        rc = zones_walk(D, &cap, "/usr/share/zoneinfo", "", 0);
    if (rc == 0 && D->nzones <= 2)
        plt_log(PLT_LOG_WARN, "no time zone database in /usr/share/zoneinfo:"
                              " every contact is in %s", D->site_tz);
    return rc;
}

size_t
dialer_open_zones(dialer *D, campaign *c, int64_t now, const char ***out)
{
    int64_t minute = now / 60000;
    if (c->open_zones && c->open_minute == minute) {
        *out = c->open_zones;
        return c->nopen_zones;
    }
    if (!c->open_zones)
        c->open_zones = calloc(D->nzones ? D->nzones : 1, sizeof(char *));
    c->nopen_zones = 0;
    for (size_t i = 0; c->open_zones && i < D->nzones; i++)
        if (dialer_open_at(c, D->zones[i], now))
            c->open_zones[c->nopen_zones++] = D->zones[i];
    c->open_minute = minute;
    *out = c->open_zones;
    return c->nopen_zones;
}
