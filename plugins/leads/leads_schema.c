/* SPDX-License-Identifier: MIT */
/*
 * The tables of the leads plugin and their indexes, as storage migrations
 * (portable DDL: PLT_ID, BIGINT times in ms, BIGINT booleans). One
 * statement per migration: engines may prepare a migration text one
 * statement at a time. Never edit a shipped migration; append one.
 *
 * Each index serves a named query path:
 *  - contact_due (list_id, status, priority DESC, next_attempt_at, id):
 *    reserve() of AVAILABLE contacts walks it in ORDER BY order and stops
 *    at LIMIT, without sorting a whole list; list_stats() counts by its
 *    (list_id, status) prefix.
 *  - contact_callback (list_id, callback_at) partial on status 3
 *    (CALLBACK; from version 27): due callbacks. Only callbacks have
 *    entries, so adding contacts costs this index nothing.
 *  - contact_reserved (reserved_by) partial: release() of one owner.
 *  - contact_dedup (dedup_key) partial, non-NULL keys only: duplicate
 *    checks on a custom field (from version 24; phone de-duplication
 *    probes contact_phone_e164, so contacts de-duplicated on their phone
 *    carry no key and cost this index nothing).
 *  - contact_phone_e164 (e164): duplicate checks on numbers, search by
 *    phone, DNC changes flipping contacts.
 *  - contact_search primary key (name, value, contact_id): search by the
 *    fields named in `indexed_fields` (lead_field_index says from which
 *    contact id each is complete). From version 19 a contact's custom
 *    fields live in contact.fields, one JSON object (TEXT, written and
 *    parsed with jansson), and from version 30 contact_search, one B-tree
 *    on SQLite (WITHOUT ROWID), replaces contact_field and its two
 *    indexes (ADR 0010).
 *  - contact_search_folded (name, folded): search by an indexed field,
 *    case and accents folded (from version 31).
 *  - contact_event_contact (contact_id, at): history (attempts,
 *    dispositions, callbacks, DNC changes; from version 33 a contact's
 *    "imported" entry is its own row: created_at, source).
 *  - contact_event_attempt (phone, at) partial on attempts: the legal caps
 *    (attempts_since).
 *  - dnc primary key (scope, e164): dnc_check and every DNC probe.
 *  - contact_created (created_at): searches by import date.
 */
#include "leads_int.h"

const plt_storage_migration leads_migrations[] = {
    {.version = 1,
     .name = "create lead_list",
     .sql = "CREATE TABLE lead_list ("
            " id PLT_ID,"
            " name TEXT NOT NULL UNIQUE,"
            " country TEXT NOT NULL,"
            " prefix TEXT,"
            " restore_lost_zero BIGINT NOT NULL DEFAULT 0,"
            " created_at BIGINT NOT NULL)"},
    {.version = 2,
     .name = "create lead_list_field",
     .sql = "CREATE TABLE lead_list_field ("
            " list_id BIGINT NOT NULL REFERENCES lead_list (id),"
            " position BIGINT NOT NULL,"
            " name TEXT NOT NULL,"
            " PRIMARY KEY (list_id, position))"},
    {.version = 3,
     .name = "create campaign_list",
     .sql = "CREATE TABLE campaign_list ("
            " campaign TEXT NOT NULL,"
            " list_id BIGINT NOT NULL REFERENCES lead_list (id),"
            " weight BIGINT NOT NULL DEFAULT 1,"
            " PRIMARY KEY (campaign, list_id))"},
    {.version = 4,
     .name = "create contact",
     .sql = "CREATE TABLE contact ("
            " id PLT_ID,"
            " list_id BIGINT NOT NULL REFERENCES lead_list (id),"
            " status BIGINT NOT NULL,"
            " time_zone TEXT,"
            " priority BIGINT NOT NULL DEFAULT 0,"
            " attempts BIGINT NOT NULL DEFAULT 0,"
            " last_attempt_at BIGINT NOT NULL DEFAULT 0,"
            " next_attempt_at BIGINT NOT NULL DEFAULT 0,"
            " callback_at BIGINT NOT NULL DEFAULT 0,"
            " callback_agent TEXT,"
            " last_outcome TEXT,"
            " last_disposition TEXT,"
            " reserved_by TEXT,"
            " reserved_at BIGINT NOT NULL DEFAULT 0,"
            " dedup_key TEXT,"
            " created_at BIGINT NOT NULL,"
            " updated_at BIGINT NOT NULL)"},
    {.version = 5,
     .name = "index contact_due",
     .sql = "CREATE INDEX contact_due ON contact"
            " (list_id, status, priority DESC, next_attempt_at, id)"},
    {.version = 6,
     .name = "index contact_callback",
     .sql = "CREATE INDEX contact_callback ON contact"
            " (list_id, status, callback_at)"},
    {.version = 7,
     .name = "index contact_reserved",
     .sql = "CREATE INDEX contact_reserved ON contact (reserved_by)"
            " WHERE reserved_by IS NOT NULL"},
    {.version = 8,
     .name = "index contact_dedup",
     .sql = "CREATE INDEX contact_dedup ON contact (dedup_key)"},
    {.version = 9,
     .name = "create contact_field",
     .sql = "CREATE TABLE contact_field ("
            " contact_id BIGINT NOT NULL,"
            " name TEXT NOT NULL,"
            " value TEXT,"
            " PRIMARY KEY (contact_id, name))"},
    {.version = 10,
     .name = "index contact_field_value",
     .sql = "CREATE INDEX contact_field_value ON contact_field (name, value)"},
    {.version = 11,
     .name = "create contact_phone",
     .sql = "CREATE TABLE contact_phone ("
            " contact_id BIGINT NOT NULL,"
            " position BIGINT NOT NULL,"
            " e164 TEXT NOT NULL,"
            " original TEXT,"
            " type BIGINT NOT NULL DEFAULT 0,"
            " time_zone TEXT,"
            " PRIMARY KEY (contact_id, position))"},
    {.version = 12,
     .name = "index contact_phone_e164",
     .sql = "CREATE INDEX contact_phone_e164 ON contact_phone (e164)"},
    {.version = 13,
     .name = "create contact_event",
     .sql = "CREATE TABLE contact_event ("
            " id PLT_ID,"
            " contact_id BIGINT NOT NULL,"
            " at BIGINT NOT NULL,"
            " kind TEXT NOT NULL,"
            " campaign TEXT,"
            " phone TEXT,"
            " outcome TEXT,"
            " disposition TEXT,"
            " agent TEXT,"
            " note TEXT,"
            " attempt_ref TEXT)"},
    {.version = 14,
     .name = "index contact_event_contact",
     .sql = "CREATE INDEX contact_event_contact ON contact_event"
            " (contact_id, at)"},
    {.version = 15,
     .name = "index contact_event_attempt",
     .sql = "CREATE INDEX contact_event_attempt ON contact_event (phone, at)"
            " WHERE kind = 'attempt'"},
    {.version = 16,
     .name = "create dnc",
     .sql = "CREATE TABLE dnc ("
            " scope TEXT NOT NULL,"
            " e164 TEXT NOT NULL,"
            " added_at BIGINT NOT NULL,"
            " source TEXT,"
            " PRIMARY KEY (scope, e164))"},
    {.version = 17,
     .name = "create lead_progress",
     .sql = "CREATE TABLE lead_progress ("
            " key TEXT PRIMARY KEY,"
            " value BIGINT NOT NULL,"
            " updated_at BIGINT NOT NULL)"},
    {.version = 18,
     .name = "index contact_created",
     .sql = "CREATE INDEX contact_created ON contact (created_at)"},
    /* ---- 19-25: custom fields as one JSON document per contact ---- */
    {.version = 19,
     .name = "add contact.fields",
     .sql = "ALTER TABLE contact ADD COLUMN fields TEXT"},
    /* Existing databases: each contact's contact_field rows become its
     * JSON object, keys in name order, compact (the form jansson writes),
     * values as JSON strings (NULL as null). */
    {.version = 20,
     .name = "convert contact_field rows to contact.fields",
     .sqlite = "UPDATE contact SET fields = (SELECT json_group_object(name,"
               " value) FROM (SELECT f.name, f.value FROM contact_field f"
               " WHERE f.contact_id = contact.id ORDER BY f.name))"
               " WHERE id IN (SELECT contact_id FROM contact_field)",
     .pg = "UPDATE contact c SET fields = '{' || s.body || '}' FROM"
           " (SELECT contact_id, string_agg(to_json(name)::text || ':' ||"
           " COALESCE(to_json(value)::text, 'null'), ',' ORDER BY name"
           " COLLATE \"C\") AS body FROM contact_field GROUP BY contact_id) s"
           " WHERE s.contact_id = c.id"},
    {.version = 21,
     .name = "create lead_field_index",
     .sql = "CREATE TABLE lead_field_index ("
            " name TEXT PRIMARY KEY,"
            " from_id BIGINT NOT NULL)"},
    /* Every field of the contacts stored so far has its contact_field
     * rows: each name is indexed from the first contact on. leads' start
     * then drops the names that are not configured. */
    {.version = 22,
     .name = "fields indexed so far",
     .sql = "INSERT INTO lead_field_index (name, from_id)"
            " SELECT DISTINCT name, 0 FROM contact_field"},
    {.version = 23,
     .name = "drop index contact_dedup",
     .sql = "DROP INDEX contact_dedup"},
    /* Phone de-duplication never read contact.dedup_key (it probes
     * contact_phone), so phone keys are dropped and the index keeps only
     * custom-field keys. */
    {.version = 24,
     .name = "clear phone dedup keys",
     .sql = "UPDATE contact SET dedup_key = NULL WHERE dedup_key LIKE '+%'"},
    {.version = 25,
     .name = "index contact_dedup on keys only",
     .sql = "CREATE INDEX contact_dedup ON contact (dedup_key)"
            " WHERE dedup_key IS NOT NULL"},
    {.version = 26,
     .name = "drop index contact_callback",
     .sql = "DROP INDEX contact_callback"},
    /* The callback query says c.status = 3 in its text, which lets both
     * engines use a partial index. */
    {.version = 27,
     .name = "index contact_callback on callbacks only",
     .sql = "CREATE INDEX contact_callback ON contact (list_id, callback_at)"
            " WHERE status = 3"},
    /* The search index as one B-tree keyed the way searches read it (and
     * the way an edit finds the row it replaces: the old value is in the
     * document). NULL values are never searched for: no row. */
    {.version = 28,
     .name = "create contact_search",
     .sqlite = "CREATE TABLE contact_search ("
               " name TEXT NOT NULL,"
               " value TEXT NOT NULL,"
               " contact_id BIGINT NOT NULL,"
               " PRIMARY KEY (name, value, contact_id)) WITHOUT ROWID",
     .pg = "CREATE TABLE contact_search ("
           " name TEXT NOT NULL,"
           " value TEXT NOT NULL,"
           " contact_id BIGINT NOT NULL,"
           " PRIMARY KEY (name, value, contact_id))"},
    {.version = 29,
     .name = "fill contact_search",
     .sql = "INSERT INTO contact_search (name, value, contact_id)"
            " SELECT name, value, contact_id FROM contact_field"
            " WHERE value IS NOT NULL"},
    {.version = 30,
     .name = "drop contact_field",
     .sql = "DROP TABLE contact_field"},
    /* Searches fold case and accents (leads_fold): the folded value
     * beside each key. Rows written before are folded by leads after
     * start (leads_fields_backfill); until then a search also reads the
     * rows whose folded value is NULL. */
    {.version = 31,
     .name = "add contact_search.folded",
     .sql = "ALTER TABLE contact_search ADD COLUMN folded TEXT"},
    {.version = 32,
     .name = "index contact_search_folded",
     .sql = "CREATE INDEX contact_search_folded ON contact_search"
            " (name, folded)"},
    /* A contact's "imported" history entry is its row: created_at and
     * source (the add's `source` note, "add" without one). Contacts added
     * before version 33 keep their contact_event row and a NULL source;
     * history() reads both. */
    {.version = 33,
     .name = "add contact.source",
     .sql = "ALTER TABLE contact ADD COLUMN source TEXT"},
};
const size_t leads_nmigrations =
    sizeof(leads_migrations) / sizeof(leads_migrations[0]);
