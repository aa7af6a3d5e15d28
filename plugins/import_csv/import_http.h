/* SPDX-License-Identifier: MIT */
/*
 * Lead files for the browser, registered through the optional `http`
 * service (import_http.c).
 */
#ifndef PLATEAU_IMPORT_HTTP_H
#define PLATEAU_IMPORT_HTTP_H

#include "import_csv_int.h"

#include <plateau/svc/http.h>

/* From start(): register if the http service exists (0 when it does not). */
int import_http_start(import_csv *ic);
/* From stop(): no more events to browsers. Idempotent. */
void import_http_stop(void);
/* From fini(): release everything. Idempotent. */
void import_http_fini(void);

#endif
