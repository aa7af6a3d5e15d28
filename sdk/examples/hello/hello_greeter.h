/* SPDX-License-Identifier: MIT */
/**
 * @file hello_greeter.h
 * The "greeter" service of the hello example plugin: the contract a
 * consumer includes to call it. A service header holds only the name, the
 * version and the vtable; it never shows the provider's internals.
 *
 * A consumer declares the need in its descriptor:
 *
 *     static const plt_dep needs[] = {
 *         {HELLO_GREETER_NAME, HELLO_GREETER_MAJOR, 0, 0}, {0}};
 *
 * and acquires it in start():
 *
 *     plt_service_ref ref;
 *     int rc = plt_service_acquire(HELLO_GREETER_NAME, HELLO_GREETER_MAJOR,
 *                                  0, &ref);
 *     const hello_greeter_vt *vt = ref.vtable;
 *     char buf[128];
 *     if (rc == 0)
 *         rc = vt->greet(ref.impl, "Alice", buf, sizeof(buf));
 *
 * Versioning: members are only ever appended (bumping the minor); test for
 * members newer than 1.0 with PLT_VT_HAS(vt, member).
 */
#ifndef HELLO_GREETER_H
#define HELLO_GREETER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HELLO_GREETER_NAME "greeter"
#define HELLO_GREETER_MAJOR 1
#define HELLO_GREETER_MINOR 0

typedef struct hello_greeter_vt {
    uint32_t size; /**< sizeof(hello_greeter_vt) in the provider */

    /**
     * Write "<greeting>, <name>!" into @p buf.
     * @param impl  the ref's impl.
     * @param name  who to greet (UTF-8).
     * @param buf, len  destination, always NUL-terminated when len > 0.
     * @return 0; PLT_EINVAL for a NULL or empty name or a NULL buffer;
     *         PLT_ERANGE if the text was truncated.
     * Ownership: nothing is kept. Thread: loop thread. Callbacks: none.
     */
    int (*greet)(void *impl, const char *name, char *buf, size_t len);

    /* 1.1+ members are appended here. */
} hello_greeter_vt;

#ifdef __cplusplus
}
#endif
#endif
