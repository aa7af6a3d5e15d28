/* SPDX-License-Identifier: MIT */
/*
 * The agents plugin's routes, WebSocket messages and pushes, registered
 * through the optional `http` service (agents_http.c).
 */
#ifndef PLATEAU_AGENTS_HTTP_H
#define PLATEAU_AGENTS_HTTP_H

#include "agents_int.h"
#include <plateau/svc/http.h>

/* Table agent_call, "my last calls" (migrations "agents_ui"), declared
 * from init() whether or not the web plugin runs. */
extern const plt_storage_migration agents_http_migrations[];
extern const size_t agents_http_nmigrations;

/* From start(): register everything if the http service exists (0 when it
 * does not). */
int agents_http_start(agents *s);
/* agents 1.1 set_hold_music: the campaign hold music lookup (the dialer). */
int agents_set_hold_music(void *impl, plt_hold_music_fn fn, void *arg);
/* From stop() and fini(): unsubscribe and free (idempotent). */
void agents_http_stop(void);

#endif
