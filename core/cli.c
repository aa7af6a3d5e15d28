/* SPDX-License-Identifier: MIT */
/*
 * The command line: `plateau run`, `plateau check`, `plateau plugins`,
 * `plateau --version`, and the subcommands plugins contribute (e.g.
 * `plateau user add`). Core commands print results on stdout and problems
 * on stderr as "file:line: message", and exit non-zero on any problem.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static void
usage(FILE *to)
{
    fprintf(to,
            "usage: plateau [-c FILE] [-v | --log-level LEVEL] COMMAND [ARGS]\n"
            "\n"
            "  run                 start Plateau and serve until SIGTERM/SIGINT\n"
            "                      (SIGHUP reloads the configuration)\n"
            "  check [--dump]      validate the configuration and the plugin set\n"
            "                      without starting anything; --dump prints the\n"
            "                      effective settings (secrets masked)\n"
            "  plugins             list the plugins found, with what they need,\n"
            "                      provide and accept as settings\n"
            "  --version           print the version\n"
            "  COMMAND ...         a command of an enabled plugin (see `plateau help`)\n"
            "\n"
            "  -c, --config FILE   configuration (default: $PLATEAU_CONFIG, else\n"
            "                      ./plateau.yaml, else the installed sample)\n"
            "  -v                  log at debug level\n");
}

static char *
default_config(void)
{
    const char *env = getenv("PLATEAU_CONFIG");
    if (env && *env)
        return plt__strdup(env);
    if (access("plateau.yaml", R_OK) == 0)
        return plt__strdup("plateau.yaml");
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *bindir = plt__dirname(exe);
        char *p = bindir ? plt__path_join(bindir,
                                          "../" PLATEAU_DATA_SUBDIR
                                          "/conf/plateau.yaml")
                         : NULL;
        free(bindir);
        if (p && access(p, R_OK) == 0)
            return p;
        free(p);
    }
    return plt__strdup("plateau.yaml");
}

static const char *
type_name(int t)
{
    switch (t) {
    case PLT_CFG_STR: return "string";
    case PLT_CFG_INT: return "integer";
    case PLT_CFG_BOOL: return "boolean";
    case PLT_CFG_DOUBLE: return "number";
    case PLT_CFG_DURATION: return "duration";
    case PLT_CFG_PATH: return "path";
    case PLT_CFG_LIST: return "list";
    case PLT_CFG_SECTION: return "section";
    case PLT_CFG_TABLE: return "table";
    default: return "?";
    }
}

static void
print_keys(const plt_cfg_key *k, int indent)
{
    for (; k && k->name; k++) {
        printf("%*s%s (%s", indent, "", k->name, type_name(k->type));
        if (k->flags & PLT_CFG_REQUIRED)
            printf(", required");
        else if (k->def)
            printf(", default %s", (k->flags & PLT_CFG_SECRET) ? "********"
                                                                : k->def);
        if (k->flags & PLT_CFG_RELOADABLE)
            printf(", reloadable");
        if (k->flags & PLT_CFG_SECRET)
            printf(", secret");
        printf(")%s%s\n", k->help ? ": " : "", k->help ? k->help : "");
        if (k->sub)
            print_keys(k->sub, indent + 4);
    }
}

static void
describe(const plt_plugin *p)
{
    const plt_plugin_desc *d = p->desc;
    printf("%s %s - %s\n", d->name, d->version ? d->version : "?",
           d->summary ? d->summary : "");
    printf("    file:     %s\n", p->path);
    printf("    abi:      %u.%u\n", d->abi_major, d->abi_minor);
    printf("    needs:    ");
    if (!d->needs || !d->needs->service)
        printf("-");
    for (const plt_dep *n = d->needs; n && n->service; n++)
        printf("%s%s %u.%u%s", n == d->needs ? "" : ", ", n->service, n->major,
               n->min_minor, (n->flags & PLT_DEP_OPTIONAL) ? " (optional)" : "");
    printf("\n    provides: ");
    if (!d->provides || !d->provides[0])
        printf("-");
    for (const char *const *s = d->provides; s && *s; s++)
        printf("%s%s", s == d->provides ? "" : ", ", *s);
    printf("\n");
    for (const plt_command *c = d->commands; c && c->name; c++)
        printf("    command:  plateau %s %s - %s\n", c->name,
               c->usage ? c->usage : "", c->summary ? c->summary : "");
    if (d->config_keys && d->config_keys->name) {
        printf("    settings (section '%s:'):\n", d->name);
        print_keys(d->config_keys, 8);
    }
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmd_plugins(plt__core *c, bool have_config)
{
    int bad = 0, good = 0;
    if (!have_config) {
        char *dir = plt__default_plugin_dir();
        if (dir) {
            c->dirs = calloc(1, sizeof(char *));
            if (c->dirs) {
                c->dirs[0] = dir;
                c->ndirs = 1;
            } else {
                free(dir);
            }
        }
    }
    for (size_t i = 0; i < c->ndirs; i++) {
        DIR *dh = opendir(c->dirs[i]);
        if (!dh) {
            fprintf(stderr, "%s: cannot list: %s\n", c->dirs[i],
                    plt__strerror(-errno));
            continue;
        }
        char **names = NULL;
        size_t nn = 0;
        struct dirent *e;
        while ((e = readdir(dh))) {
            size_t l = strlen(e->d_name);
            if (l < 4 || strcmp(e->d_name + l - 3, ".so") != 0)
                continue;
            char **v = realloc(names, (nn + 1) * sizeof(*v));
            if (!v)
                break;
            names = v;
            names[nn++] = plt__asprintf("%s/%s", c->dirs[i], e->d_name);
        }
        closedir(dh);
        if (nn > 1)
            qsort(names, nn, sizeof(*names), cmp_str);
        for (size_t k = 0; k < nn; k++) {
            plt__diags d = {0};
            plt_plugin *p = NULL;
            if (names[k] && plt__plugin_open(names[k], &p, &d) == 0) {
                describe(p);
                plt__plugin_close(p);
                good++;
            } else {
                printf("rejected: ");
                plt__diags_print(&d, stdout);
                bad++;
            }
            plt__diags_clear(&d);
            free(names[k]);
        }
        free(names);
    }
    if (good + bad == 0)
        printf("no plugins found\n");
    return 0;
}

static int
cmd_check(plt__core *c, bool dump)
{
    printf("configuration OK: %s\n", c->config_path);
    printf("plugins in start order:");
    for (size_t k = 0; k < c->n; k++) {
        plt_plugin *p = c->plugins[c->order[k]];
        printf("%s%s", k ? ", " : " ", p->name);
    }
    printf("\n");
    if (dump) {
        printf("---\ncore:\n");
        plt__cfg_dump(c->core_cfg, stdout, 2);
        printf("plugins: [");
        for (size_t i = 0; i < c->n; i++)
            printf("%s%s", i ? ", " : "", c->plugins[i]->name);
        printf("]\n");
        for (size_t i = 0; i < c->n; i++) {
            printf("%s:\n", c->plugins[i]->name);
            plt__cfg_dump(c->plugins[i]->cfg, stdout, 2);
        }
    }
    return 0;
}

static const plt_command *
find_command(plt__core *c, const char *name, plt_plugin **owner)
{
    for (size_t i = 0; i < c->n; i++)
        for (const plt_command *cmd = c->plugins[i]->desc->commands;
             cmd && cmd->name; cmd++)
            if (strcmp(cmd->name, name) == 0) {
                *owner = c->plugins[i];
                return cmd;
            }
    return NULL;
}

static void
list_commands(plt__core *c, FILE *to)
{
    bool any = false;
    for (size_t i = 0; i < c->n; i++)
        for (const plt_command *cmd = c->plugins[i]->desc->commands;
             cmd && cmd->name; cmd++) {
            if (!any)
                fprintf(to, "\ncommands of the enabled plugins:\n");
            any = true;
            fprintf(to, "  %s %s\n      %s (plugin %s)\n", cmd->name,
                    cmd->usage ? cmd->usage : "",
                    cmd->summary ? cmd->summary : "", c->plugins[i]->name);
        }
}

int
plt__cli_main(int argc, char **argv)
{
    char *config = NULL;
    int level = 0;
    bool dump = false, verbose = false;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0;
    if (!rest)
        return 1;

    /* -c/--config and logging options are taken wherever they appear, so
     * `plateau run -c x.yaml` and `plateau -c x.yaml run` both work. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && i + 1 < argc) {
            free(config);
            config = plt__strdup(argv[++i]);
        } else if (!strncmp(a, "--config=", 9)) {
            free(config);
            config = plt__strdup(a + 9);
        } else if (!strcmp(a, "-v")) {
            verbose = true;
            level = PLT_LOG_DEBUG;
        } else if (!strcmp(a, "--log-level") && i + 1 < argc) {
            level = plt__log_level_from_name(argv[++i]);
        } else if (nrest == 0 && (!strcmp(a, "--version") || !strcmp(a, "version"))) {
            printf("plateau %s (plugin ABI %d.%d)\n", PLT_VERSION_STRING,
                   PLT_ABI_MAJOR, PLT_ABI_MINOR);
            free(config);
            free(rest);
            return 0;
        } else if (nrest == 0 && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            rest[nrest++] = "help";
        } else if (nrest >= 1 && !strcmp(a, "--dump") &&
                   !strcmp(rest[0], "check")) {
            dump = true;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    (void)verbose;
    if (nrest == 0) {
        usage(stderr);
        free(config);
        free(rest);
        return 2;
    }
    const char *cmd = rest[0];
    bool explicit_config = config != NULL;
    if (!config)
        config = default_config();

    plt__core core;
    plt__core_opts opts = {.log_level = level};
    /* Plugin commands keep the terminal for their own output. */
    bool core_cmd = !strcmp(cmd, "run") || !strcmp(cmd, "check") ||
                    !strcmp(cmd, "plugins") || !strcmp(cmd, "help");
    if (!core_cmd && !level)
        opts.log_level = PLT_LOG_WARN;
    if (!strcmp(cmd, "check") || !strcmp(cmd, "plugins") ||
        !strcmp(cmd, "help"))
        opts.sync_log = true;
    plt__log_open(NULL, opts.log_level ? opts.log_level : PLT_LOG_INFO);
    if (plt__core_init(&core, &opts) != 0) {
        fprintf(stderr, "plateau: cannot create the event loop\n");
        free(config);
        free(rest);
        return 1;
    }

    plt__diags d = {0};
    int rc = plt__core_load(&core, config, &d);
    int status = 0;

    if (!strcmp(cmd, "plugins")) {
        /* Listing works without a valid config: it only needs the search
         * path, which is the default one when the config cannot be read. */
        bool have = core.ndirs > 0;
        if (rc != 0 && explicit_config)
            plt__diags_print(&d, stderr);
        status = cmd_plugins(&core, have);
        goto out;
    }
    if (!strcmp(cmd, "help")) {
        usage(stdout);
        if (rc == 0)
            list_commands(&core, stdout);
        goto out;
    }
    if (rc != 0) {
        plt__diags_print(&d, stderr);
        fprintf(stderr, "plateau: %s: %zu problem%s, nothing started\n",
                config, d.n, d.n == 1 ? "" : "s");
        status = 1;
        goto out;
    }
    if (!strcmp(cmd, "check")) {
        /* Plugins look deeper than their schema (a database reachable,
         * migrations pending) once initialised; nothing is started. */
        if (plt__core_check(&core) != 0) {
            fprintf(stderr, "plateau: %s: a plugin's check failed (see "
                            "above), nothing started\n", config);
            status = 1;
            goto out;
        }
        status = cmd_check(&core, dump);
        goto out;
    }
    if (!strcmp(cmd, "run")) {
        if (nrest > 1) {
            fprintf(stderr, "plateau run: unexpected argument '%s'\n", rest[1]);
            status = 2;
            goto out;
        }
        if (plt__core_start(&core) != 0) {
            plt__log("core", PLT_LOG_ERROR, "Plateau did not start");
            status = 1;
            goto out;
        }
        plt__log("core", PLT_LOG_NOTICE,
                 "Plateau %s running with %s (%zu plugin%s)",
                 PLT_VERSION_STRING, config, core.n, core.n == 1 ? "" : "s");
        status = plt__core_run(&core);
        plt__log("core", PLT_LOG_NOTICE, "Plateau stopped");
        goto out;
    }

    /* A plugin's command. */
    plt_plugin *owner = NULL;
    const plt_command *pc = find_command(&core, cmd, &owner);
    if (!pc) {
        fprintf(stderr, "plateau: unknown command '%s'\n", cmd);
        list_commands(&core, stderr);
        status = 2;
        goto out;
    }
    if (!(pc->flags & PLT_CMD_F_ALL_PLUGINS))
        plt__core_select(&core, owner);
    if (plt__core_start(&core) != 0) {
        status = 1;
        goto out;
    }
    core.cmd_plugin = owner;
    int r = pc->run(owner, nrest - 1, rest + 1);
    if (r == PLT_EINPROGRESS) {
        status = plt__core_run(&core);
    } else {
        if (r < 0) {
            fprintf(stderr, "plateau %s: %s\n", cmd,
                    owner->error ? owner->error : plt__strerror(r));
            r = 1;
        }
        plt__core_request_stop(&core, r);
        status = plt__core_run(&core);
    }

out:
    plt__diags_clear(&d);
    plt__core_free(&core);
    free(config);
    free(rest);
    return status;
}
