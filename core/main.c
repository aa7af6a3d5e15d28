/* SPDX-License-Identifier: MIT */
/*
 * The plateau executable. Everything lives in the core library so that
 * tests can drive the same code; this file only hands over the arguments.
 */
#include "internal.h"

int
main(int argc, char **argv)
{
    return plt__cli_main(argc, argv);
}
