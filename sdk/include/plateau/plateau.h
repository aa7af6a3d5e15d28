/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/plateau.h
 * Umbrella header for plugin authors: everything but plateau/loop.h (which
 * pulls in <uv.h>) and the service contracts under plateau/svc/.
 */
#ifndef PLATEAU_PLATEAU_H
#define PLATEAU_PLATEAU_H

#include "plateau/version.h"
#include "plateau/error.h"
#include "plateau/types.h"
#include "plateau/host.h"
#include "plateau/plugin.h"
#include "plateau/log.h"
#include "plateau/config.h"
#include "plateau/service.h"
#include "plateau/event.h"
#include "plateau/clock.h"

#endif
