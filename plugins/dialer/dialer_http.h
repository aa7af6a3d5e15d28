/* SPDX-License-Identifier: MIT */
/*
 * Campaigns for the browser, registered through the optional `http`
 * service, and the desk profile table (dialer_http.c).
 */
#ifndef PLATEAU_DIALER_HTTP_H
#define PLATEAU_DIALER_HTTP_H

#include "dialer_int.h"

#include <plateau/svc/http.h>

/* Tables campaign_ui and campaign_sale (migrations "dialer_ui"). */
extern const plt_storage_migration dialer_http_migrations[];
extern const size_t dialer_http_nmigrations;

/* From start(): register if the http service exists (0 when it does not). */
int dialer_http_start(dialer *D);
/* From stop(): no more events followed. Idempotent. */
void dialer_http_stop(void);
/* From fini(): release everything. Idempotent. */
void dialer_http_fini(void);

#endif
