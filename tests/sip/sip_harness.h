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

/* Ports of the tests (all on 127.0.0.1): below 16384, out of the
 * kernel's ephemeral range (32768-60999) and of the media engine's default
 * RTP range (16384-32767), where other programs' sockets come and go.
 * CMake defines them from PLATEAU_SIP_TEST_PORT_BASE (default 14000), so
 * two build trees on one machine can run their SIP tests at once. */
#ifndef H_SIP_PORT
#define H_SIP_PORT 14060   /* Plateau */
#define H_TRUNK_PORT 14070 /* SIPp playing the carrier */
#define H_PHONE_PORT 14080 /* SIPp playing an agent's phone (answers) */
#define H_REG_PORT 14081   /* SIPp registering that phone */
#define H_PEER_PORT 14090  /* raw UDP peer of the malformed-SIP tests */
#define H_RTP_MIN 14200    /* Plateau's RTP range */
#define H_RTP_MAX 14399
#define H_TRUNK_MEDIA 14500 /* SIPp media ports (and the 3 above each) */
#define H_PHONE_MEDIA 14510
#endif
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

/* Every wait below is for a condition, bounded by its timeout times
 * h_slack() (PLATEAU_TEST_SLACK, default H_SLACK_DEFAULT): the bound only
 * matters when the awaited thing never happens, and a loaded 2-core CI
 * machine running ASan builds is slow. */
#define H_SLACK_DEFAULT 4
int h_slack(void);
uint64_t h_now_ms(void);

/** Start SIPp with @p args (NULL-terminated, without "sipp"); its output
 *  goes to DIR/NAME.log. Returns the pid or -1. */
pid_t h_sipp(harness *h, const char *name, const char *const *args);
/** Run the loop until SIPp @p pid exits or @p timeout_ms passed (then it
 *  is killed). Returns its exit status, or -1. */
int h_sipp_wait(harness *h, pid_t pid, int timeout_ms);

/** Run the loop (or sleep when there is no fake host yet) until a UDP
 *  socket is bound to @p port on 127.0.0.1 or any address. 0, or -1 at
 *  the deadline. */
int h_wait_bound(harness *h, int port, int timeout_ms);
/** Run the loop until @p cond(@p arg) holds; false at the deadline. */
bool h_wait_until(harness *h, bool (*cond)(void *), void *arg,
                  int timeout_ms);

/** Run the loop for @p ms of real time. */
void h_run(harness *h, int ms);
/** Run until an event with @p topic whose @p key equals @p value (both
 *  NULL: any) was recorded, at most @p timeout_ms. */
const plt_event *h_wait_event(harness *h, const char *topic, const char *key,
                              const char *value, int timeout_ms);

/** Path of a test file: $PLATEAU_SOURCE_DIR/tests/sip/NAME, or
 *  $PLATEAU_SOURCE_DIR/NAME if NAME holds a '/'. */
const char *h_scenario(const char *name);
/** Write tests/sip/NAME.in with @CODE@, @CODECS@ (NULL: "") and
 *  @PCAPDIR@ replaced into the scratch directory; returns the path. */
const char *h_scenario_from(harness *h, const char *name, const char *code,
                            const char *codecs);

/** Write tests/sip/NAME.in into the scratch directory as NAME-TAG.xml
 *  with each kv[2i] replaced by kv[2i+1] (NULL-terminated) and @PCAPDIR@
 *  by H_PCAP_DIR; returns the path (valid until the second next call). */
const char *h_scenario_subst(harness *h, const char *name, const char *tag,
                             const char *const *kv);

/** Originate with a few fields. */
int h_originate(harness *h, const char *dest, uint32_t ring_ms, uint32_t flags,
                plt_leg **out);
/** The id of a leg. */
const char *h_leg_id(harness *h, plt_leg *l);

#endif
