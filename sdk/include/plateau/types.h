/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/types.h
 * Opaque handles and the typed value shared by events, storage and scripts.
 *
 * Every handle here is owned by the core; a plugin only ever holds
 * pointers to them and releases them with the matching function.
 */
#ifndef PLATEAU_TYPES_H
#define PLATEAU_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A loaded plugin, as the core sees it ("self"). */
typedef struct plt_plugin plt_plugin;
/** The host function table (see plateau/host.h). */
typedef struct plt_host plt_host;
/** A read-only view of one configuration section. */
typedef struct plt_cfg plt_cfg;
/** An immutable, refcounted event. */
typedef struct plt_event plt_event;
/** A subscription to events. */
typedef struct plt_sub plt_sub;
/** A timer owned by one plugin. */
typedef struct plt_timer plt_timer;

/** Types of a plt_value. Numbers are frozen for ABI 1. */
typedef enum plt_type {
    PLT_T_NULL = 0,
    PLT_T_I64 = 1,    /**< 64-bit signed integer */
    PLT_T_DOUBLE = 2, /**< IEEE double */
    PLT_T_STR = 3,    /**< UTF-8 text, NUL-terminated; len excludes the NUL */
    PLT_T_BLOB = 4,   /**< bytes; len is their count */
    PLT_T_BOOL = 5,   /**< 0 or 1 in v.i */
    PLT_T_TIME = 6    /**< UTC milliseconds since the Unix epoch in v.i */
} plt_type;

/**
 * A typed value. Used for event fields, storage parameters and rows, and
 * script function arguments.
 * Ownership: a plt_value never owns what it points to; the function that
 * receives it copies what it keeps.
 */
typedef struct plt_value {
    int32_t type; /**< a plt_type */
    uint32_t len; /**< byte length for STR and BLOB, else 0 */
    union {
        int64_t i;
        double d;
        const char *s;
        const void *b;
    } v;
} plt_value;

/** Constructors for plt_value (valid in C and C++). */
static inline plt_value
plt_v_null(void)
{
    plt_value v;
    v.type = PLT_T_NULL;
    v.len = 0;
    v.v.i = 0;
    return v;
}

static inline plt_value
plt_v_i64(int64_t i)
{
    plt_value v = plt_v_null();
    v.type = PLT_T_I64;
    v.v.i = i;
    return v;
}

static inline plt_value
plt_v_double(double d)
{
    plt_value v = plt_v_null();
    v.type = PLT_T_DOUBLE;
    v.v.d = d;
    return v;
}

static inline plt_value
plt_v_bool(int b)
{
    plt_value v = plt_v_null();
    v.type = PLT_T_BOOL;
    v.v.i = b ? 1 : 0;
    return v;
}

static inline plt_value
plt_v_time(int64_t ms)
{
    plt_value v = plt_v_null();
    v.type = PLT_T_TIME;
    v.v.i = ms;
    return v;
}

/** A string value; NULL gives a NULL value. Not copied. */
static inline plt_value
plt_v_str(const char *s)
{
    plt_value v = plt_v_null();
    if (s) {
        v.type = PLT_T_STR;
        v.len = (uint32_t)__builtin_strlen(s);
        v.v.s = s;
    }
    return v;
}

/** A blob of @p n bytes. Not copied. */
static inline plt_value
plt_v_blob(const void *p, size_t n)
{
    plt_value v = plt_v_null();
    v.type = PLT_T_BLOB;
    v.len = (uint32_t)n;
    v.v.b = p;
    return v;
}

/* Short spellings, e.g. plt_value args[] = {PLT_V_STR(name), PLT_V_I64(3)}. */
#define PLT_V_NULL() plt_v_null()
#define PLT_V_I64(x) plt_v_i64((int64_t)(x))
#define PLT_V_DOUBLE(x) plt_v_double((double)(x))
#define PLT_V_BOOL(x) plt_v_bool((x) ? 1 : 0)
#define PLT_V_TIME(ms) plt_v_time((int64_t)(ms))
#define PLT_V_STR(x) plt_v_str(x)
#define PLT_V_BLOB(p, n) plt_v_blob((p), (size_t)(n))

#ifdef __cplusplus
}
#endif
#endif
