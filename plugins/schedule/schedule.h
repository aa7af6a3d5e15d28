/* SPDX-License-Identifier: MIT */
/*
 * plateau_schedule: when something is open. Weekly windows ("mon-fri
 * 08:00-18:00"), holiday sets (fixed "12-25", Easter-based "easter_monday",
 * "ascension", "whit_monday", "easter+N", and dated "2026-05-08"), all
 * evaluated in local time of a named zone (IANA, through GLib's
 * GTimeZone), so a DST change moves the windows with the zone; and the
 * next opening or local midnight after an instant.
 *
 * Thread: schedule_zone_open() reads the time-zone database: call it at
 * init or on a worker thread, never on the loop at run time. Everything
 * else is pure computation on loaded data and may run on the loop.
 * Ownership: whoever opens or inits releases (schedule_zone_free,
 * schedule_clear). Errors: 0 or a negative PLT_* code.
 */
#ifndef PLATEAU_SCHEDULE_H
#define PLATEAU_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A loaded time zone. */
typedef struct schedule_zone schedule_zone;

/** A local date and time. wday: 0 = Sunday ... 6 = Saturday. */
typedef struct schedule_local {
    int year, month, day, wday;
    int minute; /**< of the day, 0-1439 */
    int second; /**< of the minute */
} schedule_local;

/** A weekly window: days (bit 0 = Sunday) from from_min to to_min
 *  (minutes of the local day, to_min up to 1440 = midnight). */
typedef struct schedule_window {
    uint8_t days;
    int16_t from_min, to_min;
} schedule_window;

/** Holidays: fixed (month*100+day), Easter offsets in days, dated
 *  (year*10000+month*100+day). */
typedef struct schedule_holidays {
    int *fixed;
    size_t nfixed;
    int *easter;
    size_t neaster;
    int *dated;
    size_t ndated;
} schedule_holidays;

/** Windows and holidays in a zone. No window means open every day (but
 *  holidays). The zone is borrowed: it must outlive the schedule. */
typedef struct schedule {
    const schedule_zone *zone;
    schedule_window *windows;
    size_t nwindows;
    schedule_holidays holidays;
} schedule;

/** Load zone @p name ("Europe/Paris"; NULL, "" or "UTC" = UTC).
 *  PLT_ENOENT for an unknown zone. Reads files: not on the loop. */
int schedule_zone_open(const char *name, schedule_zone **out);
void schedule_zone_free(schedule_zone *z);
const char *schedule_zone_name(const schedule_zone *z);

/** Local time in @p z of UTC instant @p utc_ms. */
int schedule_local_time(const schedule_zone *z, int64_t utc_ms,
                        schedule_local *out);
/** The UTC instant of local @p year-@p month-@p day at @p minute of the
 *  day in @p z (a time skipped by a DST change moves forward, as GLib
 *  does). */
int64_t schedule_utc_of(const schedule_zone *z, int year, int month, int day,
                        int minute);
/** The next local midnight strictly after @p utc_ms. */
int64_t schedule_next_midnight(const schedule_zone *z, int64_t utc_ms);
/** Easter Sunday (Gregorian) of @p year. */
void schedule_easter(int year, int *month, int *day);

/** Parse "mon-fri 08:00-18:00", "sat,sun 10:00-12:30", "daily 00:00-24:00"
 *  or a bare "08:00-18:00" (every day). PLT_EINVAL if malformed. */
int schedule_window_parse(const char *text, schedule_window *out);
/** Add a holiday: "MM-DD", "YYYY-MM-DD", "easter", "good_friday",
 *  "easter_monday", "ascension", "whit_sunday", "whit_monday",
 *  "easter+N" / "easter-N". PLT_EINVAL if malformed; PLT_ENOMEM. */
int schedule_holiday_add(schedule_holidays *h, const char *text);
bool schedule_is_holiday(const schedule_holidays *h, const schedule_local *l);
/** Release the holidays' arrays and empty @p h. */
void schedule_holidays_clear(schedule_holidays *h);
/** Is local time @p l inside one of the @p n windows @p w? */
bool schedule_in_windows(const schedule_window *w, size_t n,
                         const schedule_local *l);

/** Add a window parsed from @p text. */
int schedule_add_window(schedule *s, const char *text);
/** Release the windows and holidays (not the zone). */
void schedule_clear(schedule *s);
/** Open at @p utc_ms: not a holiday, and inside a window (or none). */
bool schedule_open_at(const schedule *s, int64_t utc_ms);
/** The first instant >= @p utc_ms at which @p s is open (@p utc_ms itself
 *  if open now), or -1 if it never opens within 400 days. */
int64_t schedule_next_open(const schedule *s, int64_t utc_ms);

#endif
