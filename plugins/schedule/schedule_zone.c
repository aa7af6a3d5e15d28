/* SPDX-License-Identifier: MIT */
/*
 * Local time in a named zone. A zone is loaded once with GLib's
 * GTimeZone (which reads the system's tz database: at init or off the
 * loop only); converting an instant to local time and a local time back
 * to an instant then only computes on the loaded transitions, so it may
 * run on the loop. Also the calendar pieces the rules need: local
 * midnight and Easter.
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <plateau/error.h>

#include "schedule.h"

struct schedule_zone {
    GTimeZone *tz;
    char *name;
};

int
schedule_zone_open(const char *name, schedule_zone **out)
{
    *out = NULL;
    schedule_zone *z = calloc(1, sizeof(*z));
    if (!z)
        return PLT_ENOMEM;
    if (!name || !*name || strcmp(name, "UTC") == 0) {
        z->tz = g_time_zone_new_utc();
        name = "UTC";
    } else {
        /* NULL for a zone the database does not know. */
        z->tz = g_time_zone_new_identifier(name);
    }
    z->name = strdup(name);
    if (!z->tz || !z->name) {
        int rc = z->tz ? PLT_ENOMEM : PLT_ENOENT;
        schedule_zone_free(z);
        return rc;
    }
    *out = z;
    return 0;
}

void
schedule_zone_free(schedule_zone *z)
{
    if (!z)
        return;
    if (z->tz)
        g_time_zone_unref(z->tz);
    free(z->name);
    free(z);
}

const char *
schedule_zone_name(const schedule_zone *z)
{
    return z ? z->name : "UTC";
}

int
schedule_local_time(const schedule_zone *z, int64_t utc_ms, schedule_local *out)
{
    /* Floor division: instants before 1970 keep their second. */
    int64_t secs = utc_ms >= 0 ? utc_ms / 1000 : -((-utc_ms + 999) / 1000);
    GDateTime *u = g_date_time_new_from_unix_utc(secs);
    if (!u)
        return PLT_EINVAL;
    GDateTime *l = g_date_time_to_timezone(u, z->tz);
    g_date_time_unref(u);
    if (!l)
        return PLT_EINVAL;
    out->year = g_date_time_get_year(l);
    out->month = g_date_time_get_month(l);
    out->day = g_date_time_get_day_of_month(l);
    out->wday = g_date_time_get_day_of_week(l) % 7; /* GLib: 7 = Sunday */
    out->minute = g_date_time_get_hour(l) * 60 + g_date_time_get_minute(l);
    out->second = g_date_time_get_second(l);
    g_date_time_unref(l);
    return 0;
}

int64_t
schedule_utc_of(const schedule_zone *z, int year, int month, int day,
                int minute)
{
    if (minute < 0 ||
        !g_date_valid_dmy((GDateDay)day, (GDateMonth)month, (GDateYear)year))
        return -1;
    /* Carry whole days on the calendar (24:00 is the next day's 00:00),
     * then take the wall-clock time of that day in the zone. */
    GDate date;
    g_date_clear(&date, 1);
    g_date_set_dmy(&date, (GDateDay)day, (GDateMonth)month, (GDateYear)year);
    g_date_add_days(&date, (guint)(minute / 1440));
    int mod = minute % 1440;
    GDateTime *w =
        g_date_time_new(z->tz, g_date_get_year(&date), g_date_get_month(&date),
                        g_date_get_day(&date), mod / 60, mod % 60, 0);
    if (!w)
        return -1;
    int64_t r = g_date_time_to_unix(w) * 1000;
    g_date_time_unref(w);
    return r;
}

int64_t
schedule_next_midnight(const schedule_zone *z, int64_t utc_ms)
{
    schedule_local l;
    if (schedule_local_time(z, utc_ms, &l) != 0)
        return -1;
    return schedule_utc_of(z, l.year, l.month, l.day, 1440);
}

/* Anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
void
schedule_easter(int year, int *month, int *day)
{
    int a = year % 19, b = year / 100, c = year % 100, d = b / 4, e = b % 4;
    int f = (b + 8) / 25, g = (b - f + 1) / 3;
    int h = (19 * a + b - d - g + 15) % 30;
    int i = c / 4, k = c % 4;
    int l = (32 + 2 * e + 2 * i - h - k) % 7;
    int m = (a + 11 * h + 22 * l) / 451;
    *month = (h + l - 7 * m + 114) / 31;
    *day = ((h + l - 7 * m + 114) % 31) + 1;
}
