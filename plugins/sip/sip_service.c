/* SPDX-License-Identifier: MIT */
/*
 * The telephony 1.0 vtable of the sip plugin: handle checks and the
 * mapping from the contract's calls to legs (sip_legs.c), media
 * (sip_media.c) and trunks (sip_trunk.c). A handle is checked with a
 * magic number and its owner, so a stale or foreign pointer is refused
 * with PLT_EINVAL instead of being followed.
 */
#include <string.h>

#include "sip_int.h"

static bool
leg_ok(const sip *s, const plt_leg *l)
{
    return l && l->magic == SIP_LEG_MAGIC && l->s == s;
}

#define LEG_OR_EINVAL(impl, l)                                                 \
    do {                                                                       \
        if (!leg_ok((impl), (l)))                                              \
            return PLT_EINVAL;                                                 \
    } while (0)

static const char *
t_name(void *impl)
{
    (void)impl;
    return "sip";
}

static int
t_originate(void *impl, const plt_originate *o, plt_leg **out)
{
    return sip_originate(impl, o, out);
}

static plt_leg *
t_leg_ref(void *impl, plt_leg *leg)
{
    return leg_ok(impl, leg) ? sip_leg_ref(leg) : NULL;
}

static void
t_leg_unref(void *impl, plt_leg *leg)
{
    if (leg_ok(impl, leg) && leg->refs > 0)
        sip_leg_unref(leg);
    else
        plt_log(PLT_LOG_ERROR, "leg_unref: not a held leg reference");
}

static int
t_leg_find(void *impl, const char *id, plt_leg **out)
{
    plt_leg *l = out ? sip_leg_lookup(impl, id) : NULL;
    if (!out)
        return PLT_EINVAL;
    if (!l)
        return PLT_ENOENT;
    *out = sip_leg_ref(l);
    return 0;
}

static int
t_leg_info(void *impl, plt_leg *leg, plt_leg_info *out)
{
    LEG_OR_EINVAL(impl, leg);
    if (!out || out->size < sizeof(*out))
        return PLT_EINVAL;
    *out = (plt_leg_info){.size = out->size,
                          .id = leg->id,
                          .call_id = leg->call->id,
                          .role = leg->role,
                          .state = leg->state,
                          .inbound = leg->inbound,
                          .remote = leg->remote,
                          .bridged_to = leg->bridged ? leg->bridged->id : NULL,
                          .created_at = leg->created_at,
                          .answered_at = leg->answered_at};
    return 0;
}

static plt_call *
t_leg_call(void *impl, plt_leg *leg)
{
    return leg_ok(impl, leg) ? leg->call : NULL;
}

static int
t_answer(void *impl, plt_leg *leg)
{
    LEG_OR_EINVAL(impl, leg);
    return sip_cmd_answer(leg);
}

static int
t_hangup(void *impl, plt_leg *leg, int code, int32_t by)
{
    LEG_OR_EINVAL(impl, leg);
    return sip_cmd_hangup(leg, code, by);
}

static int
t_bridge(void *impl, plt_leg *a, plt_leg *b)
{
    LEG_OR_EINVAL(impl, a);
    LEG_OR_EINVAL(impl, b);
    return sip_cmd_bridge(a, b);
}

static int
t_unbridge(void *impl, plt_leg *leg)
{
    LEG_OR_EINVAL(impl, leg);
    return sip_cmd_unbridge(leg);
}

static int
t_hold(void *impl, plt_leg *leg, const char *music)
{
    LEG_OR_EINVAL(impl, leg);
    return sip_cmd_hold(leg, music);
}

static int
t_resume(void *impl, plt_leg *leg)
{
    LEG_OR_EINVAL(impl, leg);
    return sip_cmd_resume(leg);
}

static int
t_play(void *impl, plt_leg *leg, const char *file, uint32_t flags,
       char play_id[32])
{
    LEG_OR_EINVAL(impl, leg);
    return sip_play_start(leg, file, flags, play_id);
}

static int
t_stop_play(void *impl, plt_leg *leg, const char *play_id)
{
    LEG_OR_EINVAL(impl, leg);
    return sip_play_stop(leg, play_id);
}

static int
t_send_dtmf(void *impl, plt_leg *leg, const char *digits)
{
    LEG_OR_EINVAL(impl, leg);
    return sip_dtmf_send(leg, digits);
}

static int
t_amd_start(void *impl, plt_leg *leg, const plt_amd_params *p)
{
    LEG_OR_EINVAL(impl, leg);
    return sip_amd_start(leg, p);
}

static int
t_record_start(void *impl, plt_call *call, const char *path, int32_t mode,
               char rec_id[32])
{
    return sip_rec_start(impl, call, path, mode, rec_id);
}

static int
t_record_stop(void *impl, const char *rec_id)
{
    return sip_rec_stop(impl, rec_id);
}

static int
t_record_pause(void *impl, const char *rec_id)
{
    return sip_rec_pause(impl, rec_id);
}

static int
t_record_resume(void *impl, const char *rec_id)
{
    return sip_rec_resume(impl, rec_id);
}

static int
t_transfer_blind(void *impl, plt_leg *leg, const char *destination)
{
    LEG_OR_EINVAL(impl, leg);
    return sip_cmd_transfer_blind(leg, destination);
}

static int
t_transfer_attended(void *impl, plt_leg *a, plt_leg *c)
{
    LEG_OR_EINVAL(impl, a);
    LEG_OR_EINVAL(impl, c);
    return sip_cmd_transfer_attended(a, c);
}

static size_t
t_trunk_count(void *impl)
{
    return ((sip *)impl)->ntrunks;
}

static int
t_trunk_at(void *impl, size_t i, const char **name, bool *up,
           uint32_t *in_use, uint32_t *max_channels)
{
    sip *s = impl;
    if (i >= s->ntrunks)
        return PLT_ERANGE;
    const sip_trunk *t = &s->trunks[i];
    if (name)
        *name = t->name;
    if (up)
        *up = t->up;
    if (in_use)
        *in_use = t->in_use;
    if (max_channels)
        *max_channels = t->max_channels;
    return 0;
}

const plt_telephony_vt sip_telephony_vt = {
    .size = sizeof(plt_telephony_vt),
    .name = t_name,
    .originate = t_originate,
    .leg_ref = t_leg_ref,
    .leg_unref = t_leg_unref,
    .leg_find = t_leg_find,
    .leg_info = t_leg_info,
    .leg_call = t_leg_call,
    .answer = t_answer,
    .hangup = t_hangup,
    .bridge = t_bridge,
    .unbridge = t_unbridge,
    .hold = t_hold,
    .resume = t_resume,
    .play = t_play,
    .stop_play = t_stop_play,
    .send_dtmf = t_send_dtmf,
    .amd_start = t_amd_start,
    .record_start = t_record_start,
    .record_stop = t_record_stop,
    .record_pause = t_record_pause,
    .record_resume = t_record_resume,
    .transfer_blind = t_transfer_blind,
    .transfer_attended = t_transfer_attended,
    .trunk_count = t_trunk_count,
    .trunk_at = t_trunk_at,
};
