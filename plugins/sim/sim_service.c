/* SPDX-License-Identifier: MIT */
/*
 * The telephony 1.0 vtable of the sim plugin: argument checks and the
 * mapping from the contract's calls to the simulation (sim_legs.c,
 * sim_media.c). Handles are checked with a magic number, so a stale or
 * foreign pointer is refused with PLT_EINVAL rather than followed - cheap
 * insurance in a test tool.
 */
#include <string.h>

#include "sim_int.h"

static bool
leg_ok(sim *s, const plt_leg *l)
{
    return l && l->magic == SIM_LEG_MAGIC && l->s == s;
}

#define CHECK_LEG(s, l)                                                        \
    do {                                                                       \
        if (!leg_ok((s), (l)))                                                 \
            return PLT_EINVAL;                                                 \
    } while (0)

static const char *
tel_name(void *impl)
{
    (void)impl;
    return "sim";
}

static int
tel_originate(void *impl, const plt_originate *o, plt_leg **out)
{
    return sim_originate(impl, o, out);
}

static plt_leg *
tel_leg_ref(void *impl, plt_leg *leg)
{
    if (!leg_ok(impl, leg))
        return NULL;
    return sim_leg_ref(leg);
}

static void
tel_leg_unref(void *impl, plt_leg *leg)
{
    if (!leg_ok(impl, leg) || leg->refs <= 0) {
        plt_log(PLT_LOG_ERROR, "leg_unref: not a held leg reference");
        return;
    }
    sim_leg_unref(leg);
}

static int
tel_leg_find(void *impl, const char *id, plt_leg **out)
{
    if (!out)
        return PLT_EINVAL;
    plt_leg *l = sim_leg_lookup(impl, id);
    if (!l)
        return PLT_ENOENT;
    *out = sim_leg_ref(l);
    return 0;
}

static int
tel_leg_info(void *impl, plt_leg *leg, plt_leg_info *out)
{
    CHECK_LEG(impl, leg);
    if (!out || out->size < sizeof(*out))
        return PLT_EINVAL;
    out->id = leg->id;
    out->call_id = leg->call->id;
    out->role = leg->role;
    out->state = leg->state;
    out->inbound = leg->inbound;
    out->remote = leg->remote;
    out->bridged_to = leg->bridged ? leg->bridged->id : NULL;
    out->created_at = leg->created_at;
    out->answered_at = leg->answered_at;
    return 0;
}

static plt_call *
tel_leg_call(void *impl, plt_leg *leg)
{
    return leg_ok(impl, leg) ? leg->call : NULL;
}

static int
tel_answer(void *impl, plt_leg *leg)
{
    CHECK_LEG(impl, leg);
    return sim_cmd_answer(leg);
}

static int
tel_hangup(void *impl, plt_leg *leg, int sip_code, int32_t by)
{
    CHECK_LEG(impl, leg);
    return sim_cmd_hangup(leg, sip_code, by);
}

static int
tel_bridge(void *impl, plt_leg *a, plt_leg *b)
{
    CHECK_LEG(impl, a);
    CHECK_LEG(impl, b);
    return sim_cmd_bridge(a, b);
}

static int
tel_unbridge(void *impl, plt_leg *leg)
{
    CHECK_LEG(impl, leg);
    return sim_cmd_unbridge(leg);
}

static int
tel_hold(void *impl, plt_leg *leg, const char *music)
{
    CHECK_LEG(impl, leg);
    return sim_cmd_hold(leg, music);
}

static int
tel_resume(void *impl, plt_leg *leg)
{
    CHECK_LEG(impl, leg);
    return sim_cmd_resume(leg);
}

static int
tel_play(void *impl, plt_leg *leg, const char *file, uint32_t flags,
         char play_id[32])
{
    CHECK_LEG(impl, leg);
    return sim_play_start(leg, file, flags, play_id);
}

static int
tel_stop_play(void *impl, plt_leg *leg, const char *play_id)
{
    CHECK_LEG(impl, leg);
    return sim_play_stop(leg, play_id);
}

static int
tel_send_dtmf(void *impl, plt_leg *leg, const char *digits)
{
    CHECK_LEG(impl, leg);
    return sim_dtmf_send(leg, digits);
}

static int
tel_amd_start(void *impl, plt_leg *leg, const plt_amd_params *p)
{
    CHECK_LEG(impl, leg);
    return sim_amd_start(leg, p);
}

static int
tel_record_start(void *impl, plt_call *call, const char *path, int32_t mode,
                 char rec_id[32])
{
    return sim_rec_start(impl, call, path, mode, rec_id);
}

static int
tel_record_stop(void *impl, const char *rec_id)
{
    return sim_rec_stop(impl, rec_id);
}

static int
tel_record_pause(void *impl, const char *rec_id)
{
    return sim_rec_pause(impl, rec_id);
}

static int
tel_record_resume(void *impl, const char *rec_id)
{
    return sim_rec_resume(impl, rec_id);
}

static int
tel_transfer_blind(void *impl, plt_leg *leg, const char *destination)
{
    CHECK_LEG(impl, leg);
    return sim_cmd_transfer_blind(leg, destination);
}

static int
tel_transfer_attended(void *impl, plt_leg *a, plt_leg *c)
{
    CHECK_LEG(impl, a);
    CHECK_LEG(impl, c);
    return sim_cmd_transfer_attended(a, c);
}

static size_t
tel_trunk_count(void *impl)
{
    return ((sim *)impl)->ntrunks;
}

static int
tel_trunk_at(void *impl, size_t i, const char **name, bool *up,
             uint32_t *channels_in_use, uint32_t *max_channels)
{
    sim *s = impl;
    if (i >= s->ntrunks)
        return PLT_ERANGE;
    const sim_trunk *t = &s->trunks[i];
    if (name)
        *name = t->name;
    if (up)
        *up = true; /* simulated trunks never go down */
    if (channels_in_use)
        *channels_in_use = t->in_use;
    if (max_channels)
        *max_channels = t->max_channels;
    return 0;
}

const plt_telephony_vt sim_telephony_vt = {
    .size = sizeof(plt_telephony_vt),
    .name = tel_name,
    .originate = tel_originate,
    .leg_ref = tel_leg_ref,
    .leg_unref = tel_leg_unref,
    .leg_find = tel_leg_find,
    .leg_info = tel_leg_info,
    .leg_call = tel_leg_call,
    .answer = tel_answer,
    .hangup = tel_hangup,
    .bridge = tel_bridge,
    .unbridge = tel_unbridge,
    .hold = tel_hold,
    .resume = tel_resume,
    .play = tel_play,
    .stop_play = tel_stop_play,
    .send_dtmf = tel_send_dtmf,
    .amd_start = tel_amd_start,
    .record_start = tel_record_start,
    .record_stop = tel_record_stop,
    .record_pause = tel_record_pause,
    .record_resume = tel_record_resume,
    .transfer_blind = tel_transfer_blind,
    .transfer_attended = tel_transfer_attended,
    .trunk_count = tel_trunk_count,
    .trunk_at = tel_trunk_at,
};
