/* SPDX-License-Identifier: MIT */
/*
 * Lists and contacts for the browser, registered through the optional
 * `http` service (leads_http.c).
 */
#ifndef PLATEAU_LEADS_HTTP_H
#define PLATEAU_LEADS_HTTP_H

#include "leads_int.h"
#include <plateau/svc/http.h>

/* From start(): register if the http service exists (0 when it does not). */
int leads_http_start(leads *L);
/* From stop() and fini(): idempotent. */
void leads_http_stop(void);

#endif
