/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the SDP handling Plateau adds on top of sofia-sip's
 * parser (plugins/sip/sip_sdp.c): any bytes a party can put in an INVITE
 * or 200 OK body. Besides memory errors, it checks what the sip plugin
 * relies on: the return code is one of the documented ones; an accepted
 * SDP gives a numeric address, a port, PCMU or PCMA with a payload type
 * below 128, a telephone-event type that is -1 or below 128, a known
 * direction; and the answer Plateau writes to it parses back to the same
 * codec, payload type and port (so a party gets an answer it can read).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip_sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what, size_t size)
{
    if (cond)
        return;
    fprintf(stderr, "sdp_fuzzer: invariant broken: %s (input %zu bytes)\n",
            what, size);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sip_sdp_info in;
    int rc = sip_sdp_parse((const char *)data, size, &in);
    check(rc == 0 || rc == -EINVAL || rc == -ENOTSUP, "return code", size);
    if (rc != 0)
        return 0;
    check(in.addr[0] != '\0' && memchr(in.addr, '\0', sizeof(in.addr)),
          "address", size);
    check(in.port != 0, "port", size);
    check(in.codec == SIP_CODEC_PCMU || in.codec == SIP_CODEC_PCMA, "codec",
          size);
    check(in.pt >= 0 && in.pt < 128, "payload type", size);
    check(in.te_pt >= -1 && in.te_pt < 128, "telephone-event type", size);
    check(in.dir >= SIP_DIR_INACTIVE && in.dir <= SIP_DIR_SENDRECV,
          "direction", size);

    char buf[2048];
    sip_sdp_local loc = {.addr = "127.0.0.1",
                         .port = 40000,
                         .sess_id = 1,
                         .version = 1,
                         .answer_to = &in};
    int n = sip_sdp_write(buf, sizeof(buf), &loc);
    check(n > 0, "answer written", size);
    sip_sdp_info back;
    check(sip_sdp_parse(buf, (size_t)n, &back) == 0, "answer parses", size);
    check(back.codec == in.codec && back.pt == in.pt && back.port == 40000,
          "answer matches the offer", size);
    check((in.te_pt < 0) == (back.te_pt < 0), "telephone-event kept", size);
    return 0;
}
