/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/version.h
 * Version numbers of the Plateau SDK and of its binary interface (ABI).
 *
 * The ABI version describes the plugin descriptor, the host function table
 * and every public struct. MAJOR changes break plugins (they must be
 * rebuilt); MINOR changes only append, so a plugin built against 1.N loads
 * into any core speaking 1.M with M >= N.
 */
#ifndef PLATEAU_VERSION_H
#define PLATEAU_VERSION_H

#define PLT_ABI_MAJOR 1
#define PLT_ABI_MINOR 0

#define PLT_VERSION_MAJOR 0
#define PLT_VERSION_MINOR 1
#define PLT_VERSION_PATCH 0
#define PLT_VERSION_STRING "0.1.0"

#endif
