/* SPDX-License-Identifier: MIT */
/*
 * The simulation's configuration: read the typed values the core already
 * validated against the schema (sim.c), check the rules a schema cannot
 * express (the fate probabilities add up to at most 1, a range's bounds are
 * in order, an hourly profile has 24 values), and build the trunks and
 * DIDs. Every refusal names the keys at fault with plt_set_error(), so the
 * core prints "plugin sim: init failed: answer_rate + ... > 1".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

static int
get_rate(const plt_cfg *cfg, const char *key, double *out)
{
    int rc = plt_cfg_double(cfg, key, out);
    if (rc != 0) {
        plt_set_error("%s: cannot read (%s)", key, plt_strerror(rc));
        return rc;
    }
    if (!(*out >= 0.0 && *out <= 1.0)) {
        plt_set_error("%s must be between 0 and 1 (is %g)", key, *out);
        return PLT_ECONFIG;
    }
    return 0;
}

static int
get_ms(const plt_cfg *cfg, const char *key, int64_t *out)
{
    int rc = plt_cfg_duration_ms(cfg, key, out);
    if (rc != 0) {
        plt_set_error("%s: cannot read (%s)", key, plt_strerror(rc));
        return rc;
    }
    if (*out < 0) {
        plt_set_error("%s must not be negative", key);
        return PLT_ECONFIG;
    }
    return 0;
}

static int
get_msd(const plt_cfg *cfg, const char *key, double *out)
{
    int64_t v;
    int rc = get_ms(cfg, key, &v);
    *out = (double)v;
    return rc;
}

/* "1,1,0.5,..." -> 24 non-negative multipliers. */
static int
parse_hourly(const char *text, double out[24], const char *did)
{
    const char *p = text;
    for (int i = 0; i < 24; i++) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v >= 0) || !isfinite(v)) {
            plt_set_error("inbound %s: hourly: value %d is not a "
                          "non-negative number",
                          did, i + 1);
            return PLT_ECONFIG;
        }
        out[i] = v;
        p = end;
        while (*p == ' ')
            p++;
        if (i < 23) {
            if (*p != ',') {
                plt_set_error("inbound %s: hourly needs 24 comma-separated "
                              "values (found %d)",
                              did, i + 1);
                return PLT_ECONFIG;
            }
            p++;
        }
    }
    if (*p != '\0') {
        plt_set_error("inbound %s: hourly has more than 24 values", did);
        return PLT_ECONFIG;
    }
    return 0;
}

static int
read_conf(const plt_cfg *cfg, sim_conf *c)
{
    int64_t seed;
    int rc = plt_cfg_int(cfg, "seed", &seed);
    if (rc != 0)
        return rc;
    c->seed = (uint64_t)seed;

    if ((rc = get_rate(cfg, "answer_rate", &c->answer_rate)) ||
        (rc = get_rate(cfg, "machine_rate", &c->machine_rate)) ||
        (rc = get_rate(cfg, "busy_rate", &c->busy_rate)) ||
        (rc = get_rate(cfg, "invalid_rate", &c->invalid_rate)) ||
        (rc = get_rate(cfg, "amd_sensitivity", &c->amd_sensitivity)) ||
        (rc = get_rate(cfg, "amd_false_positive", &c->amd_false_positive)) ||
        (rc = get_rate(cfg, "agent_miss_rate", &c->agent_miss_rate)))
        return rc;
    c->has_answer_rate_end = plt_cfg_is_set(cfg, "answer_rate_end") == 1;
    if (c->has_answer_rate_end &&
        (rc = get_rate(cfg, "answer_rate_end", &c->answer_rate_end)))
        return rc;

    /* The rest of the probability mass is "no answer", so it must not be
     * negative - at the start of the day nor at its end. */
    double rest = c->machine_rate + c->busy_rate + c->invalid_rate;
    double ans = c->answer_rate;
    if (c->has_answer_rate_end && c->answer_rate_end > ans)
        ans = c->answer_rate_end;
    if (ans + rest > 1.0 + 1e-9) {
        plt_set_error("%s + machine_rate + busy_rate + invalid_rate = %g, "
                      "more than 1",
                      ans == c->answer_rate ? "answer_rate" : "answer_rate_end",
                      ans + rest);
        return PLT_ECONFIG;
    }

    if ((rc = get_ms(cfg, "day_length", &c->day_length_ms)) ||
        (rc = get_msd(cfg, "ring_to_answer_mean", &c->ring_mean)) ||
        (rc = get_msd(cfg, "ring_to_answer_sd", &c->ring_sd)) ||
        (rc = get_msd(cfg, "machine_pickup_mean", &c->machine_mean)) ||
        (rc = get_msd(cfg, "machine_pickup_sd", &c->machine_sd)) ||
        (rc = get_msd(cfg, "talk_mean", &c->talk_mean)) ||
        (rc = get_msd(cfg, "talk_sd", &c->talk_sd)) ||
        (rc = get_msd(cfg, "patience_mean", &c->patience_mean)) ||
        (rc = get_msd(cfg, "patience_sd", &c->patience_sd)) ||
        (rc = get_ms(cfg, "machine_hangup", &c->machine_hangup_ms)) ||
        (rc = get_ms(cfg, "ring_timeout", &c->ring_timeout_ms)) ||
        (rc = get_ms(cfg, "amd_delay", &c->amd_delay_ms)) ||
        (rc = get_ms(cfg, "claim_timeout", &c->claim_timeout_ms)) ||
        (rc = get_ms(cfg, "agent_ring_min", &c->agent_ring_min_ms)) ||
        (rc = get_ms(cfg, "agent_ring_max", &c->agent_ring_max_ms)) ||
        (rc = get_ms(cfg, "play_duration", &c->play_duration_ms)))
        return rc;
    if (c->agent_ring_min_ms > c->agent_ring_max_ms) {
        plt_set_error("agent_ring_min (%lld ms) is more than agent_ring_max "
                      "(%lld ms)",
                      (long long)c->agent_ring_min_ms,
                      (long long)c->agent_ring_max_ms);
        return PLT_ECONFIG;
    }
    if (c->day_length_ms <= 0) {
        plt_set_error("day_length must be positive");
        return PLT_ECONFIG;
    }
    return plt_cfg_bool(cfg, "play_check_files", &c->play_check_files);
}

static int
read_trunks(const plt_cfg *cfg, sim *s)
{
    size_t n = 0;
    int rc = plt_cfg_count(cfg, "trunks", &n);
    if (rc != 0)
        return rc;
    /* No trunk configured: one default trunk, so a minimal config works. */
    size_t cap = n ? n : 1;
    s->trunks = calloc(cap, sizeof(*s->trunks));
    if (!s->trunks)
        return PLT_ENOMEM;
    s->ntrunks = cap;
    for (size_t i = 0; i < cap; i++) {
        sim_trunk *t = &s->trunks[i];
        const char *name = "sim";
        int64_t maxch = 30, cps = 10;
        if (n) {
            const plt_cfg *tc;
            if ((rc = plt_cfg_table_at(cfg, "trunks", i, &tc)) ||
                (rc = plt_cfg_str(tc, "name", &name)) ||
                (rc = plt_cfg_int(tc, "max_channels", &maxch)) ||
                (rc = plt_cfg_int(tc, "cps", &cps)))
                return rc;
            for (size_t j = 0; j < i; j++)
                if (strcmp(s->trunks[j].name, name) == 0) {
                    plt_set_error("trunks: name \"%s\" appears twice", name);
                    return PLT_ECONFIG;
                }
        }
        t->name = strdup(name);
        if (!t->name)
            return PLT_ENOMEM;
        t->max_channels = (uint32_t)maxch;
        t->cps = (uint32_t)cps;
        if (t->cps) {
            t->cps_ring = malloc(t->cps * sizeof(*t->cps_ring));
            if (!t->cps_ring)
                return PLT_ENOMEM;
            /* "Long ago": the window starts empty. */
            for (uint32_t k = 0; k < t->cps; k++)
                t->cps_ring[k] = INT64_MIN / 2;
        }
    }
    return 0;
}

static int
read_inbound(const plt_cfg *cfg, sim *s)
{
    size_t n = 0;
    int rc = plt_cfg_count(cfg, "inbound", &n);
    if (rc != 0 || n == 0)
        return rc;
    s->dids = calloc(n, sizeof(*s->dids));
    if (!s->dids)
        return PLT_ENOMEM;
    s->ndids = n;
    for (size_t i = 0; i < n; i++) {
        sim_did *d = &s->dids[i];
        const plt_cfg *dc;
        const char *did, *hourly = NULL, *trunk = NULL;
        if ((rc = plt_cfg_table_at(cfg, "inbound", i, &dc)) ||
            (rc = plt_cfg_str(dc, "did", &did)) ||
            (rc = plt_cfg_double(dc, "rate_per_hour", &d->rate_per_hour)))
            return rc;
        d->s = s;
        d->did = strdup(did);
        if (!d->did)
            return PLT_ENOMEM;
        if (!(d->rate_per_hour >= 0) || !isfinite(d->rate_per_hour)) {
            plt_set_error("inbound %s: rate_per_hour must be a "
                          "non-negative number",
                          did);
            return PLT_ECONFIG;
        }
        for (int h = 0; h < 24; h++)
            d->hourly[h] = 1.0;
        if (plt_cfg_str(dc, "hourly", &hourly) == 0 && hourly &&
            (rc = parse_hourly(hourly, d->hourly, did)))
            return rc;
        d->max_mult = 0;
        for (int h = 0; h < 24; h++)
            if (d->hourly[h] > d->max_mult)
                d->max_mult = d->hourly[h];
        if (plt_cfg_str(dc, "trunk", &trunk) == 0 && trunk) {
            d->trunk = sim_trunk_find(s, trunk);
            if (!d->trunk) {
                plt_set_error("inbound %s: trunk \"%s\" is not in trunks", did,
                              trunk);
                return PLT_ECONFIG;
            }
        } else {
            d->trunk = &s->trunks[0];
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->dids[j].did, did) == 0) {
                plt_set_error("inbound: did \"%s\" appears twice", did);
                return PLT_ECONFIG;
            }
        /* The DID names its arrival stream; stream b = 0 is the arrival
         * process, each caller uses b = arrival number + 1. */
        d->hash = sim_hash_str(did);
        sim_rng_seed(&d->rng, s->conf.seed, d->hash, 0);
    }
    return 0;
}

int
sim_create(const plt_cfg *cfg, sim **out)
{
    sim *s = calloc(1, sizeof(*s));
    if (!s)
        return PLT_ENOMEM;
    int rc = read_conf(cfg, &s->conf);
    if (rc == 0)
        rc = read_trunks(cfg, s);
    if (rc == 0)
        rc = read_inbound(cfg, s);
    if (rc == 0) {
        s->nbuckets = 256;
        s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
        if (!s->buckets)
            rc = PLT_ENOMEM;
    }
    if (rc != 0) {
        sim_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void
sim_destroy(sim *s)
{
    if (!s)
        return;
    sim_legs_free_all(s);
    sim_rec_free_all(s);
    for (size_t i = 0; i < s->ntrunks; i++) {
        free(s->trunks[i].name);
        free(s->trunks[i].cps_ring);
    }
    free(s->trunks);
    for (size_t i = 0; i < s->ndids; i++)
        free(s->dids[i].did);
    free(s->dids);
    free(s->buckets);
    free(s->att_keys);
    free(s->att_vals);
    free(s);
}
