/* SPDX-License-Identifier: MIT */
/*
 * What the files running on the SIP thread share (sip_stack.c,
 * sip_registrar.c). Only these files include sofia-sip headers.
 */
#ifndef PLATEAU_SIP_THREAD_H
#define PLATEAU_SIP_THREAD_H

#include <sofia-sip/nua.h>
#include <sofia-sip/sip.h>

#include "sip_int.h"

/**
 * Handle a REGISTER from a phone (nua_i_register): digest challenge,
 * verification against the extension's password, binding update, reply.
 * Posts SIP_EV_AGENT_REG when a binding changes.
 */
void sip_registrar_on_register(sip_registrar *r, nua_t *nua, nua_handle_t *nh,
                               const sip_t *hdr);

/** Hand an event to the loop (takes @p m). */
void sip_stack_post(struct sip *s, sip_msg *m);

#endif
