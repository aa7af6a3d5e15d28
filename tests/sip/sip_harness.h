/* SPDX-License-Identifier: MIT */
/*
 * What the SIP integration tests share: a fake host on the real clock
 * running the built sip.so, SIPp processes started and waited for while
 * the loop runs, and waiting for events. Everything binds to 127.0.0.1;
 * every wait is bounded.
 */
#ifndef PLATEAU_TEST_SIP_HARNESS_H
#define PLATEAU_TEST_SIP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <plateau/plateau.h>
#include <plateau/svc/telephony.h>
#include <plateau/testing/fake_host.h>

/* Ports of the tests (all on 127.0.0.1). */
#define H_SIP_PORT 35060   /* Plateau */
#define H_TRUNK_PORT 35070 /* SIPp playing the carrier */
#define H_PHONE_PORT 35080 /* SIPp playing an agent's phone (answers) */
#define H_REG_PORT 35081   /* SIPp registering that phone */
#define H_RTP_MIN 36000    /* Plateau's RTP range */
#define H_RTP_MAX 36999
#define H_TRUNK_MEDIA 37000 /* SIPp media ports */
#define H_PHONE_MEDIA 37010
/* Where Debian's sip-tester puts its RTP pcaps. */
#define H_PCAP_DIR "/usr/share/sip-tester"

typedef struct harness {
    plt_fake_host *fh;
    plt_telephony tel;
    char dir[256]; /* scratch directory (the fake host's data dir) */
} harness;

/** The sip plugin's configuration used by most tests, with @p extra
 *  appended (YAML lines at the top level of the section). */
const char *h_config(const char *trunk_extra, const char *extra);

/** Create the fake host (real clock), load sip.so with @p config, init,
 *  start and acquire telephony. 0 on success. */
int h_start(harness *h, const char *config);
/** Stop and free; returns plt_fake_host_free()'s result. */
int h_stop(harness *h);

/** cmocka teardown: kill SIPp processes left by a failed test, free its
 *  fake host. */
int h_cleanup(void **state);

/** Start SIPp with @p args (NULL-terminated, without "sipp"); its output
 *  goes to DIR/NAME.log. Returns the pid or -1. */
pid_t h_sipp(harness *h, const char *name, const char *const *args);
/** Run the loop until SIPp @p pid exits or @p timeout_ms passed (then it
 *  is killed). Returns its exit status, or -1. */
int h_sipp_wait(harness *h, pid_t pid, int timeout_ms);

/** Run the loop for @p ms of real time. */
void h_run(harness *h, int ms);
/** Run until an event with @p topic whose @p key equals @p value (both
 *  NULL: any) was recorded, at most @p timeout_ms. */
const plt_event *h_wait_event(harness *h, const char *topic, const char *key,
                              const char *value, int timeout_ms);

/** Path of a test file: $PLATEAU_SOURCE_DIR/tests/sip/NAME. */
const char *h_scenario(const char *name);
/** Write tests/sip/NAME.in with @CODE@, @CODECS@ (NULL: "") and
 *  @PCAPDIR@ replaced into the scratch directory; returns the path. */
const char *h_scenario_from(harness *h, const char *name, const char *code,
                            const char *codecs);

/** Originate with a few fields. */
int h_originate(harness *h, const char *dest, uint32_t ring_ms, uint32_t flags,
                plt_leg **out);
/** The id of a leg. */
const char *h_leg_id(harness *h, plt_leg *l);

#endif
