/* SPDX-License-Identifier: MIT */
/*
 * ABI 1.0 pinned at compile time: the size and every member offset of each
 * public struct a plugin shares with the core (descriptor, host table,
 * plt_value, config keys, dependencies, commands, service descriptors and
 * references), and the numeric value of every enum, flag, error code and
 * magic number. A plugin built against 1.0 must keep loading into every
 * 1.x core, so none of these may ever change.
 *
 * IF AN ASSERTION HERE FIRES, YOU CHANGED THE ABI. Do not edit the number
 * to make it pass. Instead:
 *  - to add to plt_host or plt_plugin_desc, append the member at the end
 *    (where "Members added in 1.1+ are appended here") and bump
 *    PLT_ABI_MINOR: their sizes are pinned exactly only for minor 0, and
 *    every offset below stays as it is;
 *  - for any other change (a member inserted, moved, resized, removed or
 *    retyped, a value renumbered, a frozen struct grown), bump
 *    PLT_ABI_MAJOR: every plugin must then be rebuilt, and this file
 *    starts over for the new major.
 *
 * The layout pins hold for x86_64 LP64 (Linux), the reference platform;
 * the values hold everywhere. Nothing runs: compiling this file is the test.
 */
#include <stddef.h>
#include <stdio.h>

#include <plateau/plateau.h>

/* PLT_ABI_MAJOR is the generation these pins describe. A new major gets a
 * new file with its own pins. */
_Static_assert(PLT_ABI_MAJOR == 1, "new ABI major: pin it in a new file");

#if defined(__x86_64__) && defined(__LP64__)

/* The 1.0 descriptor is 136 bytes. PLT_PLUGIN_DESC_SIZE_1_0 is the
 * smallest descriptor the core accepts, so it must stay 136 even after
 * members are appended in 1.1+ (the macro must then become a literal). */
_Static_assert(PLT_PLUGIN_DESC_SIZE_1_0 == 136, "PLT_PLUGIN_DESC_SIZE_1_0");

#if PLT_ABI_MINOR == 0
_Static_assert(sizeof(plt_plugin_desc) == 136,
               "plt_plugin_desc grew: append only, and bump PLT_ABI_MINOR");
#else
_Static_assert(sizeof(plt_plugin_desc) > 136, "sizeof(plt_plugin_desc)");
#endif
_Static_assert(_Alignof(plt_plugin_desc) == 8, "_Alignof(plt_plugin_desc)");
_Static_assert(offsetof(plt_plugin_desc, magic) == 0, "plt_plugin_desc.magic");
_Static_assert(offsetof(plt_plugin_desc, abi_major) == 4, "plt_plugin_desc.abi_major");
_Static_assert(offsetof(plt_plugin_desc, abi_minor) == 6, "plt_plugin_desc.abi_minor");
_Static_assert(offsetof(plt_plugin_desc, size) == 8, "plt_plugin_desc.size");
_Static_assert(offsetof(plt_plugin_desc, flags) == 12, "plt_plugin_desc.flags");
_Static_assert(offsetof(plt_plugin_desc, name) == 16, "plt_plugin_desc.name");
_Static_assert(offsetof(plt_plugin_desc, version) == 24, "plt_plugin_desc.version");
_Static_assert(offsetof(plt_plugin_desc, summary) == 32, "plt_plugin_desc.summary");
_Static_assert(offsetof(plt_plugin_desc, needs) == 40, "plt_plugin_desc.needs");
_Static_assert(offsetof(plt_plugin_desc, provides) == 48, "plt_plugin_desc.provides");
_Static_assert(offsetof(plt_plugin_desc, config_keys) == 56, "plt_plugin_desc.config_keys");
_Static_assert(offsetof(plt_plugin_desc, commands) == 64, "plt_plugin_desc.commands");
_Static_assert(offsetof(plt_plugin_desc, host_slot) == 72, "plt_plugin_desc.host_slot");
_Static_assert(offsetof(plt_plugin_desc, self_slot) == 80, "plt_plugin_desc.self_slot");
_Static_assert(offsetof(plt_plugin_desc, init) == 88, "plt_plugin_desc.init");
_Static_assert(offsetof(plt_plugin_desc, start) == 96, "plt_plugin_desc.start");
_Static_assert(offsetof(plt_plugin_desc, stop) == 104, "plt_plugin_desc.stop");
_Static_assert(offsetof(plt_plugin_desc, fini) == 112, "plt_plugin_desc.fini");
_Static_assert(offsetof(plt_plugin_desc, reconfigure) == 120, "plt_plugin_desc.reconfigure");
_Static_assert(offsetof(plt_plugin_desc, check) == 128, "plt_plugin_desc.check");

#if PLT_ABI_MINOR == 0
_Static_assert(sizeof(plt_host) == 344,
               "plt_host grew: append only, and bump PLT_ABI_MINOR");
#else
_Static_assert(sizeof(plt_host) > 344, "sizeof(plt_host)");
#endif
_Static_assert(offsetof(plt_host, size) == 0, "plt_host.size");
_Static_assert(offsetof(plt_host, abi_major) == 4, "plt_host.abi_major");
_Static_assert(offsetof(plt_host, abi_minor) == 6, "plt_host.abi_minor");
_Static_assert(offsetof(plt_host, logv) == 8, "plt_host.logv");
_Static_assert(offsetof(plt_host, log_enabled) == 16, "plt_host.log_enabled");
_Static_assert(offsetof(plt_host, set_errorv) == 24, "plt_host.set_errorv");
_Static_assert(offsetof(plt_host, strerror) == 32, "plt_host.strerror");
_Static_assert(offsetof(plt_host, err_name) == 40, "plt_host.err_name");
_Static_assert(offsetof(plt_host, loop) == 48, "plt_host.loop");
_Static_assert(offsetof(plt_host, post) == 56, "plt_host.post");
_Static_assert(offsetof(plt_host, queue_work) == 64, "plt_host.queue_work");
_Static_assert(offsetof(plt_host, work_begin) == 72, "plt_host.work_begin");
_Static_assert(offsetof(plt_host, work_end) == 80, "plt_host.work_end");
_Static_assert(offsetof(plt_host, now) == 88, "plt_host.now");
_Static_assert(offsetof(plt_host, mono) == 96, "plt_host.mono");
_Static_assert(offsetof(plt_host, clock_simulated) == 104, "plt_host.clock_simulated");
_Static_assert(offsetof(plt_host, timer_start) == 112, "plt_host.timer_start");
_Static_assert(offsetof(plt_host, timer_stop) == 120, "plt_host.timer_stop");
_Static_assert(offsetof(plt_host, cfg_get) == 128, "plt_host.cfg_get");
_Static_assert(offsetof(plt_host, cfg_count) == 136, "plt_host.cfg_count");
_Static_assert(offsetof(plt_host, cfg_list_at) == 144, "plt_host.cfg_list_at");
_Static_assert(offsetof(plt_host, cfg_table_at) == 152, "plt_host.cfg_table_at");
_Static_assert(offsetof(plt_host, cfg_section) == 160, "plt_host.cfg_section");
_Static_assert(offsetof(plt_host, cfg_is_set) == 168, "plt_host.cfg_is_set");
_Static_assert(offsetof(plt_host, cfg_where) == 176, "plt_host.cfg_where");
_Static_assert(offsetof(plt_host, service_provide) == 184, "plt_host.service_provide");
_Static_assert(offsetof(plt_host, service_acquire) == 192, "plt_host.service_acquire");
_Static_assert(offsetof(plt_host, event_new) == 200, "plt_host.event_new");
_Static_assert(offsetof(plt_host, event_set) == 208, "plt_host.event_set");
_Static_assert(offsetof(plt_host, event_publish) == 216, "plt_host.event_publish");
_Static_assert(offsetof(plt_host, event_ref) == 224, "plt_host.event_ref");
_Static_assert(offsetof(plt_host, event_unref) == 232, "plt_host.event_unref");
_Static_assert(offsetof(plt_host, event_topic) == 240, "plt_host.event_topic");
_Static_assert(offsetof(plt_host, event_schema_ver) == 248, "plt_host.event_schema_ver");
_Static_assert(offsetof(plt_host, event_time) == 256, "plt_host.event_time");
_Static_assert(offsetof(plt_host, event_source) == 264, "plt_host.event_source");
_Static_assert(offsetof(plt_host, event_get) == 272, "plt_host.event_get");
_Static_assert(offsetof(plt_host, event_count) == 280, "plt_host.event_count");
_Static_assert(offsetof(plt_host, event_field_at) == 288, "plt_host.event_field_at");
_Static_assert(offsetof(plt_host, subscribe) == 296, "plt_host.subscribe");
_Static_assert(offsetof(plt_host, unsubscribe) == 304, "plt_host.unsubscribe");
_Static_assert(offsetof(plt_host, stopped) == 312, "plt_host.stopped");
_Static_assert(offsetof(plt_host, command_done) == 320, "plt_host.command_done");
_Static_assert(offsetof(plt_host, plugin_name) == 328, "plt_host.plugin_name");
_Static_assert(offsetof(plt_host, data_dir) == 336, "plt_host.data_dir");

_Static_assert(sizeof(plt_value) == 16, "sizeof(plt_value)");
_Static_assert(offsetof(plt_value, type) == 0, "plt_value.type");
_Static_assert(offsetof(plt_value, len) == 4, "plt_value.len");
_Static_assert(offsetof(plt_value, v) == 8, "plt_value.v");
_Static_assert(offsetof(plt_value, v.i) == 8, "plt_value.v.i");
_Static_assert(offsetof(plt_value, v.d) == 8, "plt_value.v.d");
_Static_assert(offsetof(plt_value, v.s) == 8, "plt_value.v.s");
_Static_assert(offsetof(plt_value, v.b) == 8, "plt_value.v.b");

_Static_assert(sizeof(plt_cfg_key) == 80, "sizeof(plt_cfg_key)");
_Static_assert(offsetof(plt_cfg_key, name) == 0, "plt_cfg_key.name");
_Static_assert(offsetof(plt_cfg_key, type) == 8, "plt_cfg_key.type");
_Static_assert(offsetof(plt_cfg_key, flags) == 12, "plt_cfg_key.flags");
_Static_assert(offsetof(plt_cfg_key, def) == 16, "plt_cfg_key.def");
_Static_assert(offsetof(plt_cfg_key, help) == 24, "plt_cfg_key.help");
_Static_assert(offsetof(plt_cfg_key, sub) == 32, "plt_cfg_key.sub");
_Static_assert(offsetof(plt_cfg_key, choices) == 40, "plt_cfg_key.choices");
_Static_assert(offsetof(plt_cfg_key, min) == 48, "plt_cfg_key.min");
_Static_assert(offsetof(plt_cfg_key, max) == 56, "plt_cfg_key.max");
_Static_assert(offsetof(plt_cfg_key, reserved) == 64, "plt_cfg_key.reserved");

_Static_assert(sizeof(plt_dep) == 16, "sizeof(plt_dep)");
_Static_assert(offsetof(plt_dep, service) == 0, "plt_dep.service");
_Static_assert(offsetof(plt_dep, major) == 8, "plt_dep.major");
_Static_assert(offsetof(plt_dep, min_minor) == 10, "plt_dep.min_minor");
_Static_assert(offsetof(plt_dep, flags) == 12, "plt_dep.flags");

_Static_assert(sizeof(plt_command) == 56, "sizeof(plt_command)");
_Static_assert(offsetof(plt_command, name) == 0, "plt_command.name");
_Static_assert(offsetof(plt_command, summary) == 8, "plt_command.summary");
_Static_assert(offsetof(plt_command, usage) == 16, "plt_command.usage");
_Static_assert(offsetof(plt_command, run) == 24, "plt_command.run");
_Static_assert(offsetof(plt_command, flags) == 32, "plt_command.flags");
_Static_assert(offsetof(plt_command, reserved) == 40, "plt_command.reserved");

_Static_assert(sizeof(plt_service_desc) == 32, "sizeof(plt_service_desc)");
_Static_assert(offsetof(plt_service_desc, size) == 0, "plt_service_desc.size");
_Static_assert(offsetof(plt_service_desc, major) == 4, "plt_service_desc.major");
_Static_assert(offsetof(plt_service_desc, minor) == 6, "plt_service_desc.minor");
_Static_assert(offsetof(plt_service_desc, name) == 8, "plt_service_desc.name");
_Static_assert(offsetof(plt_service_desc, vtable) == 16, "plt_service_desc.vtable");
_Static_assert(offsetof(plt_service_desc, impl) == 24, "plt_service_desc.impl");

_Static_assert(sizeof(plt_service_ref) == 32, "sizeof(plt_service_ref)");
_Static_assert(offsetof(plt_service_ref, vtable) == 0, "plt_service_ref.vtable");
_Static_assert(offsetof(plt_service_ref, impl) == 8, "plt_service_ref.impl");
_Static_assert(offsetof(plt_service_ref, major) == 16, "plt_service_ref.major");
_Static_assert(offsetof(plt_service_ref, minor) == 18, "plt_service_ref.minor");
_Static_assert(offsetof(plt_service_ref, provider) == 24, "plt_service_ref.provider");

#endif /* x86_64 LP64 */

/* Values: frozen on every platform. */
_Static_assert(PLT_T_NULL == 0, "PLT_T_NULL");
_Static_assert(PLT_T_I64 == 1, "PLT_T_I64");
_Static_assert(PLT_T_DOUBLE == 2, "PLT_T_DOUBLE");
_Static_assert(PLT_T_STR == 3, "PLT_T_STR");
_Static_assert(PLT_T_BLOB == 4, "PLT_T_BLOB");
_Static_assert(PLT_T_BOOL == 5, "PLT_T_BOOL");
_Static_assert(PLT_T_TIME == 6, "PLT_T_TIME");
_Static_assert(PLT_CFG_STR == 1, "PLT_CFG_STR");
_Static_assert(PLT_CFG_INT == 2, "PLT_CFG_INT");
_Static_assert(PLT_CFG_BOOL == 3, "PLT_CFG_BOOL");
_Static_assert(PLT_CFG_DOUBLE == 4, "PLT_CFG_DOUBLE");
_Static_assert(PLT_CFG_DURATION == 5, "PLT_CFG_DURATION");
_Static_assert(PLT_CFG_PATH == 6, "PLT_CFG_PATH");
_Static_assert(PLT_CFG_LIST == 7, "PLT_CFG_LIST");
_Static_assert(PLT_CFG_SECTION == 8, "PLT_CFG_SECTION");
_Static_assert(PLT_CFG_TABLE == 9, "PLT_CFG_TABLE");
_Static_assert(PLT_CFG_REQUIRED == 1, "PLT_CFG_REQUIRED");
_Static_assert(PLT_CFG_RELOADABLE == 2, "PLT_CFG_RELOADABLE");
_Static_assert(PLT_CFG_SECRET == 4, "PLT_CFG_SECRET");
_Static_assert(PLT_DEP_OPTIONAL == 1, "PLT_DEP_OPTIONAL");
_Static_assert(PLT_CMD_F_ALL_PLUGINS == 1, "PLT_CMD_F_ALL_PLUGINS");
_Static_assert(PLT_PLUGIN_F_NOUNLOAD == 1, "PLT_PLUGIN_F_NOUNLOAD");
_Static_assert(PLT_RECONF_CHECK == 1, "PLT_RECONF_CHECK");
_Static_assert(PLT_RECONF_APPLY == 2, "PLT_RECONF_APPLY");
_Static_assert(PLT_OK == 0, "PLT_OK");
_Static_assert(PLT_EPERM == -1, "PLT_EPERM");
_Static_assert(PLT_ENOENT == -2, "PLT_ENOENT");
_Static_assert(PLT_EIO == -5, "PLT_EIO");
_Static_assert(PLT_ENOMEM == -12, "PLT_ENOMEM");
_Static_assert(PLT_EACCES == -13, "PLT_EACCES");
_Static_assert(PLT_EBUSY == -16, "PLT_EBUSY");
_Static_assert(PLT_EEXIST == -17, "PLT_EEXIST");
_Static_assert(PLT_EINVAL == -22, "PLT_EINVAL");
_Static_assert(PLT_ENOSPC == -28, "PLT_ENOSPC");
_Static_assert(PLT_ERANGE == -34, "PLT_ERANGE");
_Static_assert(PLT_EAGAIN == -11, "PLT_EAGAIN");
_Static_assert(PLT_ENOTSUP == -95, "PLT_ENOTSUP");
_Static_assert(PLT_ETIMEDOUT == -110, "PLT_ETIMEDOUT");
_Static_assert(PLT_ECANCELED == -125, "PLT_ECANCELED");
_Static_assert(PLT_ECONNREFUSED == -111, "PLT_ECONNREFUSED");
_Static_assert(PLT_EINPROGRESS == -115, "PLT_EINPROGRESS");
_Static_assert(PLT_EABI == -1000, "PLT_EABI");
_Static_assert(PLT_ENOSERVICE == -1001, "PLT_ENOSERVICE");
_Static_assert(PLT_EDEPCYCLE == -1002, "PLT_EDEPCYCLE");
_Static_assert(PLT_ECONFIG == -1003, "PLT_ECONFIG");
_Static_assert(PLT_ESTATE == -1004, "PLT_ESTATE");
_Static_assert(PLT_ENOTPLUGIN == -1005, "PLT_ENOTPLUGIN");
_Static_assert(PLT_EVERSION == -1006, "PLT_EVERSION");
_Static_assert(PLT_ESHUTDOWN == -1007, "PLT_ESHUTDOWN");
_Static_assert(PLT_ECONFLICT == -1008, "PLT_ECONFLICT");
_Static_assert(PLT_EDB == -1009, "PLT_EDB");
_Static_assert(PLT_ESCHEMA == -1010, "PLT_ESCHEMA");
_Static_assert(PLT_EAUTH == -1011, "PLT_EAUTH");
_Static_assert(PLT_ELOCKED == -1012, "PLT_ELOCKED");
_Static_assert(PLT_PLUGIN_MAGIC == 0x504c5431u, "PLT_PLUGIN_MAGIC");
_Static_assert(PLT_LOG_ERROR == 3, "PLT_LOG_ERROR");
_Static_assert(PLT_LOG_WARN == 4, "PLT_LOG_WARN");
_Static_assert(PLT_LOG_NOTICE == 5, "PLT_LOG_NOTICE");
_Static_assert(PLT_LOG_INFO == 6, "PLT_LOG_INFO");
_Static_assert(PLT_LOG_DEBUG == 7, "PLT_LOG_DEBUG");

int
main(void)
{
    printf("ABI %d.%d layout pinned (plt_plugin_desc %zu bytes, plt_host "
           "%zu bytes)\n",
           PLT_ABI_MAJOR, PLT_ABI_MINOR, sizeof(plt_plugin_desc),
           sizeof(plt_host));
    return 0;
}
