/* SPDX-License-Identifier: MIT */
/*
 * When a contact may be called: the campaign's opening hours intersected
 * with its compliance pack's legal hours, minus holidays (the pack's fixed,
 * Easter-based and dated ones, and the campaign's), all evaluated in the
 * contact's own time zone (its number's, else the contact's, else the
 * site's) - so a DST change in that zone moves the window with it. Per
 * number type rules ("mobile only outside office hours") narrow it
 * further.
 *
 * The reservation asks leads only for contacts in zones open now: the
 * candidate zones come from the system's zone.tab (read once at start)
 * and the campaign's open set is recomputed once a minute.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialer_int.h"

static bool
in_windows(const plt_dialer_window *w, size_t n, const dialer_local *l)
{
    for (size_t i = 0; i < n; i++)
        if ((w[i].days & PLT_DAY(l->wday)) && l->minute >= w[i].from_min &&
            l->minute < w[i].to_min)
            return true;
    return false;
}

static int
day_of_year(int y, int m, int d)
{
    static const int cum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273,
                              304, 334};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return cum[m - 1] + d + (leap && m > 2 ? 1 : 0);
}

static bool
is_holiday(const campaign *c, const dialer_local *l)
{
    char md[8], ymd[16];
    snprintf(md, sizeof(md), "%02d-%02d", l->month, l->day);
    snprintf(ymd, sizeof(ymd), "%04d-%02d-%02d", l->year, l->month, l->day);
    for (size_t i = 0; i < c->def.c.nholidays; i++)
        if (!strcmp(c->def.c.holidays[i], ymd))
            return true;
    const dialer_pack *p = c->pack;
    if (!p)
        return false;
    for (size_t i = 0; i < p->nfixed; i++)
        if (!strcmp(p->fixed_holidays[i], md))
            return true;
    for (size_t i = 0; i < p->ndated; i++)
        if (!strcmp(p->dated_holidays[i], ymd))
            return true;
    if (p->neaster) {
        int em, ed;
        dialer_easter(l->year, &em, &ed);
        int today = day_of_year(l->year, l->month, l->day);
        int easter = day_of_year(l->year, em, ed);
        for (size_t i = 0; i < p->neaster; i++)
            if (today - easter == p->easter_offsets[i])
                return true;
    }
    return false;
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
        !in_windows(c->pack->hours, c->pack->nhours, &l))
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

int
dialer_zones_load(dialer *D)
{
    /* The candidate zones: every zone of the system's zone.tab, plus UTC
     * and the site's zone. Read once, at start. */
    size_t cap = 512;
    D->zones = calloc(cap, sizeof(char *));
    if (!D->zones)
        return PLT_ENOMEM;
    const char *extra[] = {"UTC", D->site_tz};
    for (size_t i = 0; i < 2; i++)
        D->zones[D->nzones++] = strdup(extra[i]);
    FILE *f = fopen("/usr/share/zoneinfo/zone.tab", "r");
    if (!f) {
        plt_log(PLT_LOG_WARN, "no /usr/share/zoneinfo/zone.tab: only UTC and"
                              " %s are dialled", D->site_tz);
        return 0;
    }
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#')
            continue;
        char cc[8], coord[32], name[128];
        if (sscanf(line, "%7s %31s %127s", cc, coord, name) != 3)
            continue;
        if (!strcmp(name, D->site_tz))
            continue;
        if (D->nzones == cap) {
            const char **n = realloc(D->zones, 2 * cap * sizeof(char *));
            if (!n)
                break;
            D->zones = n;
            cap *= 2;
        }
        D->zones[D->nzones] = strdup(name);
        if (D->zones[D->nzones])
            D->nzones++;
    }
    fclose(f);
    return 0;
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
