/* SPDX-License-Identifier: MIT */
/*
 * The contact document of the import path, written without building a
 * jansson object: byte for byte what leads_fields_to_json() writes (see
 * leads_json.c for the rules and when it does not apply).
 */
#ifndef LEADS_JSON_H
#define LEADS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "plateau/svc/leads.h"

#include "leads_fold.h"

/* Bytes (with the NUL) of the document of @p f, whose named fields must
 * have distinct names; 0 when no field has a name (no document);
 * SIZE_MAX when a name is not valid UTF-8 (use leads_fields_to_json). */
size_t leads_json_fields_len(const plt_lead_field *f, size_t n);
/* Write that document into @p out (leads_json_fields_len() bytes). */
void leads_json_fields_write(const plt_lead_field *f, size_t n, char *out);

#endif
