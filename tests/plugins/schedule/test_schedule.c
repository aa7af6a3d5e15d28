/* SPDX-License-Identifier: MIT */
/*
 * plateau_schedule as a queue or a campaign relies on it: weekly windows
 * in a named zone across the DST changes of Europe/Paris and
 * America/New_York (the window follows local time, so its UTC instant
 * moves by an hour), local midnight on a 23-hour day, Easter-based, fixed
 * and dated holidays, the next opening over a holiday and a weekend,
 * malformed rules refused, and windows and holiday sets used alone (as
 * the dialer intersects a campaign's hours with its pack's).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include <plateau/error.h>

#include "schedule.h"

/* UTC instant of a UTC date and time, in ms. */
static int64_t
utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi};
    return (int64_t)timegm(&tm) * 1000;
}

static schedule_zone *
zone(const char *name)
{
    schedule_zone *z = NULL;
    assert_int_equal(schedule_zone_open(name, &z), 0);
    return z;
}

static void
test_local_time_follows_dst(void **state)
{
    (void)state;
    schedule_zone *paris = zone("Europe/Paris");
    schedule_local l;
    /* Saturday 2026-03-28 07:00 UTC is 08:00 CET; the Monday after the
     * change (2026-03-29) 07:00 UTC is 09:00 CEST. */
    assert_int_equal(schedule_local_time(paris, utc(2026, 3, 28, 7, 0), &l), 0);
    assert_int_equal(l.minute, 8 * 60);
    assert_int_equal(l.wday, 6);
    assert_int_equal(schedule_local_time(paris, utc(2026, 3, 30, 7, 0), &l), 0);
    assert_int_equal(l.minute, 9 * 60);
    assert_int_equal(l.wday, 1);
    assert_int_equal(l.day, 30);
    /* Back to CET on 2026-10-25. */
    assert_int_equal(schedule_local_time(paris, utc(2026, 10, 26, 7, 0), &l),
                     0);
    assert_int_equal(l.minute, 8 * 60);
    assert_string_equal(schedule_zone_name(paris), "Europe/Paris");
    schedule_zone_free(paris);
}

static void
test_window_across_paris_dst(void **state)
{
    (void)state;
    schedule_zone *paris = zone("Europe/Paris");
    schedule s = {.zone = paris};
    assert_int_equal(schedule_add_window(&s, "mon-fri 08:00-18:00"), 0);
    /* Friday before the change: 08:00 local is 07:00 UTC. */
    assert_false(schedule_open_at(&s, utc(2026, 3, 27, 6, 59)));
    assert_true(schedule_open_at(&s, utc(2026, 3, 27, 7, 0)));
    assert_true(schedule_open_at(&s, utc(2026, 3, 27, 16, 59)));
    assert_false(schedule_open_at(&s, utc(2026, 3, 27, 17, 0)));
    /* The weekend is closed; the next opening is Monday 08:00 CEST, which
     * is 06:00 UTC, an hour earlier in UTC than the Friday before. */
    assert_false(schedule_open_at(&s, utc(2026, 3, 28, 12, 0)));
    assert_int_equal(schedule_next_open(&s, utc(2026, 3, 28, 12, 0)),
                     utc(2026, 3, 30, 6, 0));
    assert_true(schedule_open_at(&s, utc(2026, 3, 30, 6, 0)));
    assert_false(schedule_open_at(&s, utc(2026, 3, 30, 5, 59)));
    assert_false(schedule_open_at(&s, utc(2026, 3, 30, 16, 0)));
    /* Open now: next_open is now. */
    assert_int_equal(schedule_next_open(&s, utc(2026, 3, 30, 9, 0)),
                     utc(2026, 3, 30, 9, 0));
    /* After closing time on Friday the next opening is Monday. */
    assert_int_equal(schedule_next_open(&s, utc(2026, 10, 23, 18, 0)),
                     utc(2026, 10, 26, 7, 0));
    schedule_clear(&s);
    schedule_zone_free(paris);
}

static void
test_window_across_new_york_dst(void **state)
{
    (void)state;
    schedule_zone *ny = zone("America/New_York");
    schedule s = {.zone = ny};
    assert_int_equal(schedule_add_window(&s, "daily 09:00-17:00"), 0);
    /* Saturday 2026-03-07 09:00 EST = 14:00 UTC; Sunday 2026-03-08 (DST
     * starts at 02:00) 09:00 EDT = 13:00 UTC. */
    assert_int_equal(schedule_next_open(&s, utc(2026, 3, 7, 3, 0)),
                     utc(2026, 3, 7, 14, 0));
    assert_int_equal(schedule_next_open(&s, utc(2026, 3, 7, 22, 0)),
                     utc(2026, 3, 8, 13, 0));
    assert_true(schedule_open_at(&s, utc(2026, 3, 8, 13, 0)));
    assert_false(schedule_open_at(&s, utc(2026, 3, 7, 13, 30)));
    /* Fall back on 2026-11-01: 09:00 EST = 14:00 UTC again. */
    assert_int_equal(schedule_next_open(&s, utc(2026, 10, 31, 22, 0)),
                     utc(2026, 11, 1, 14, 0));
    assert_false(schedule_open_at(&s, utc(2026, 11, 1, 13, 30)));
    schedule_clear(&s);
    schedule_zone_free(ny);
}

static void
test_midnight_on_short_and_long_days(void **state)
{
    (void)state;
    schedule_zone *paris = zone("Europe/Paris");
    /* Midnight of 2026-03-29 local is 23:00 UTC the day before (CET); the
     * day that follows has 23 hours: its midnight is 22:00 UTC. */
    int64_t m1 = schedule_next_midnight(paris, utc(2026, 3, 28, 12, 0));
    assert_int_equal(m1, utc(2026, 3, 28, 23, 0));
    int64_t m2 = schedule_next_midnight(paris, m1);
    assert_int_equal(m2, utc(2026, 3, 29, 22, 0));
    assert_int_equal(m2 - m1, 23 * 3600 * 1000LL);
    /* The autumn day has 25 hours. */
    int64_t a1 = schedule_next_midnight(paris, utc(2026, 10, 24, 12, 0));
    assert_int_equal(schedule_next_midnight(paris, a1) - a1,
                     25 * 3600 * 1000LL);
    schedule_zone *u = zone(NULL);
    assert_int_equal(schedule_next_midnight(u, utc(2026, 1, 1, 0, 0)),
                     utc(2026, 1, 2, 0, 0));
    schedule_zone_free(u);
    schedule_zone_free(paris);
}

static void
test_holidays(void **state)
{
    (void)state;
    int m, d;
    schedule_easter(2026, &m, &d);
    assert_int_equal(m * 100 + d, 405);
    schedule_easter(2025, &m, &d);
    assert_int_equal(m * 100 + d, 420);
    schedule_easter(2024, &m, &d);
    assert_int_equal(m * 100 + d, 331);
    schedule_easter(2038, &m, &d);
    assert_int_equal(m * 100 + d, 425);

    schedule_zone *paris = zone("Europe/Paris");
    schedule s = {.zone = paris};
    assert_int_equal(schedule_add_window(&s, "mon-fri 08:00-18:00"), 0);
    const char *const hol[] = {"easter_monday", "ascension",  "whit_monday",
                               "05-01",         "2026-05-08", "12-25"};
    for (size_t i = 0; i < sizeof(hol) / sizeof(hol[0]); i++)
        assert_int_equal(schedule_holiday_add(&s.holidays, hol[i]), 0);
    /* 10:00 local (CEST, 08:00 UTC) on each: closed. */
    assert_false(schedule_open_at(&s, utc(2026, 4, 6, 8, 0)));  /* Easter Mon */
    assert_false(schedule_open_at(&s, utc(2026, 5, 14, 8, 0))); /* Ascension */
    assert_false(schedule_open_at(&s, utc(2026, 5, 25, 8, 0))); /* Whit Mon */
    assert_false(schedule_open_at(&s, utc(2026, 5, 1, 8, 0)));  /* fixed */
    assert_false(schedule_open_at(&s, utc(2026, 5, 8, 8, 0)));  /* dated */
    /* The days around are open; the dated holiday is only that year's. */
    assert_true(schedule_open_at(&s, utc(2026, 4, 7, 8, 0)));
    assert_true(schedule_open_at(&s, utc(2026, 5, 13, 8, 0)));
    assert_true(schedule_open_at(&s, utc(2025, 5, 8, 8, 0)));
    /* 2025: Easter Monday is 04-21, Ascension 05-29. */
    assert_false(schedule_open_at(&s, utc(2025, 4, 21, 8, 0)));
    assert_false(schedule_open_at(&s, utc(2025, 5, 29, 8, 0)));
    assert_true(schedule_open_at(&s, utc(2025, 4, 22, 8, 0)));
    /* From Ascension Thursday the next opening is Friday 08:00 CEST. */
    assert_int_equal(schedule_next_open(&s, utc(2026, 5, 14, 8, 0)),
                     utc(2026, 5, 15, 6, 0));
    /* Christmas 2026 is a Friday: next opening Monday 28th, 08:00 CET. */
    assert_int_equal(schedule_next_open(&s, utc(2026, 12, 24, 18, 0)),
                     utc(2026, 12, 28, 7, 0));
    /* "easter+N" is the same as the named day. */
    schedule_holidays h = {0};
    assert_int_equal(schedule_holiday_add(&h, "easter+39"), 0);
    schedule_local l = {.year = 2026, .month = 5, .day = 14};
    assert_true(schedule_is_holiday(&h, &l));
    l.day = 15;
    assert_false(schedule_is_holiday(&h, &l));
    free(h.easter);
    schedule_clear(&s);
    schedule_zone_free(paris);
}

static void
test_no_windows_and_wrapping_days(void **state)
{
    (void)state;
    schedule_zone *u = zone("UTC");
    schedule s = {.zone = u};
    /* No window: open except on holidays, reopening at midnight. */
    assert_true(schedule_open_at(&s, utc(2026, 12, 25, 12, 0)));
    assert_int_equal(schedule_holiday_add(&s.holidays, "12-25"), 0);
    assert_false(schedule_open_at(&s, utc(2026, 12, 25, 12, 0)));
    assert_int_equal(schedule_next_open(&s, utc(2026, 12, 25, 12, 0)),
                     utc(2026, 12, 26, 0, 0));
    schedule_clear(&s);
    s.zone = u;
    /* "fri-mon" wraps over the weekend; two windows on one day. */
    assert_int_equal(schedule_add_window(&s, "fri-mon 09:00-12:00"), 0);
    assert_int_equal(schedule_add_window(&s, "fri-mon 14:00-24:00"), 0);
    assert_true(schedule_open_at(&s, utc(2026, 3, 8, 10, 0)));   /* Sun */
    assert_false(schedule_open_at(&s, utc(2026, 3, 10, 10, 0))); /* Tue */
    assert_false(schedule_open_at(&s, utc(2026, 3, 9, 13, 0)));  /* Mon */
    assert_true(schedule_open_at(&s, utc(2026, 3, 9, 23, 59)));
    assert_int_equal(schedule_next_open(&s, utc(2026, 3, 9, 12, 0)),
                     utc(2026, 3, 9, 14, 0));
    assert_int_equal(schedule_next_open(&s, utc(2026, 3, 10, 0, 0)),
                     utc(2026, 3, 13, 9, 0));
    schedule_clear(&s);
    schedule_zone_free(u);
}

static void
test_malformed_rules(void **state)
{
    (void)state;
    schedule_window w;
    const char *const bad_w[] = {"mon-fri 18:00-08:00",
                                 "xyz 08:00-09:00",
                                 "mon 8:00-9:00",
                                 "mon 08:00-25:00",
                                 "mon 08:60-09:00",
                                 "",
                                 "mon-fri"};
    for (size_t i = 0; i < sizeof(bad_w) / sizeof(bad_w[0]); i++)
        assert_int_equal(schedule_window_parse(bad_w[i], &w), PLT_EINVAL);
    assert_int_equal(schedule_window_parse("sat,sun 10:00-12:30", &w), 0);
    assert_int_equal(w.days, 0x41);
    assert_int_equal(w.from_min, 600);
    assert_int_equal(w.to_min, 750);
    schedule_holidays h = {0};
    const char *const bad_h[] = {"13-01", "easter+", "2026-02-30",
                                 "xmas",  "12-25x",  "easter+500"};
    for (size_t i = 0; i < sizeof(bad_h) / sizeof(bad_h[0]); i++)
        assert_int_equal(schedule_holiday_add(&h, bad_h[i]), PLT_EINVAL);
    assert_int_equal(h.nfixed + h.ndated + h.neaster, 0);
    schedule_zone *z = NULL;
    assert_int_equal(schedule_zone_open("Mars/Olympus_Mons", &z), PLT_ENOENT);
    assert_null(z);
}

/* The pieces a caller with its own window list uses (the dialer
 * intersects a campaign's hours with its compliance pack's): windows
 * checked on a local time, and a holiday set emptied for reuse. */
static void
test_windows_and_holidays_alone(void **state)
{
    (void)state;
    schedule_window w[2];
    assert_int_equal(schedule_window_parse("mon-fri 10:00-13:00", &w[0]), 0);
    assert_int_equal(schedule_window_parse("mon-fri 14:00-20:00", &w[1]), 0);
    schedule_local l = {.year = 2026, .month = 5, .day = 4, .wday = 1};
    const struct {
        int wday, minute;
        bool open;
    } cases[] = {{1, 9 * 60 + 59, false}, {1, 10 * 60, true},
                 {1, 13 * 60, false},     {1, 14 * 60, true},
                 {5, 19 * 60 + 59, true}, {1, 20 * 60, false},
                 {6, 11 * 60, false},     {0, 11 * 60, false}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        l.wday = cases[i].wday;
        l.minute = cases[i].minute;
        assert_int_equal(schedule_in_windows(w, 2, &l), cases[i].open);
        assert_int_equal(schedule_in_windows(w, 1, &l),
                         cases[i].open && l.minute < 13 * 60);
    }
    assert_false(schedule_in_windows(w, 0, &l));

    schedule_holidays h = {0};
    assert_int_equal(schedule_holiday_add(&h, "easter+1"), 0);
    assert_int_equal(schedule_holiday_add(&h, "05-08"), 0);
    assert_int_equal(schedule_holiday_add(&h, "2026-05-04"), 0);
    /* Easter 2026 is April 5: Easter Monday is April 6. */
    schedule_local mon = {.year = 2026, .month = 4, .day = 6, .wday = 1};
    assert_true(schedule_is_holiday(&h, &mon));
    assert_true(schedule_is_holiday(&h, &l));
    schedule_holidays_clear(&h);
    assert_int_equal(h.nfixed + h.ndated + h.neaster, 0);
    assert_null(h.easter);
    assert_false(schedule_is_holiday(&h, &mon));
    assert_false(schedule_is_holiday(&h, &l));
    assert_int_equal(schedule_holiday_add(&h, "12-25"), 0);
    schedule_holidays_clear(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_time_follows_dst),
        cmocka_unit_test(test_window_across_paris_dst),
        cmocka_unit_test(test_window_across_new_york_dst),
        cmocka_unit_test(test_midnight_on_short_and_long_days),
        cmocka_unit_test(test_holidays),
        cmocka_unit_test(test_no_windows_and_wrapping_days),
        cmocka_unit_test(test_malformed_rules),
        cmocka_unit_test(test_windows_and_holidays_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
