/* SPDX-License-Identifier: MIT */
/*
 * The ACD's queue figures for supervisors, registered through the
 * optional `http` service (acd_http.c).
 */
#ifndef PLATEAU_ACD_HTTP_H
#define PLATEAU_ACD_HTTP_H

#include "acd_int.h"
#include <plateau/svc/http.h>

/* From start(): register if the http service exists (0 when it does not). */
int acd_http_start(acd *s);
/* From stop() and fini(): idempotent. */
void acd_http_stop(void);

#endif
