/* SPDX-License-Identifier: MIT */
/*
 * `plateau user VERB ...`: manage accounts from a shell, typically to
 * create the first administrator before anyone can log in to the web UI.
 *
 *   plateau user add LOGIN --role admin|supervisor|agent [--name NAME]
 *                          [--password-stdin] [--no-force-change]
 *   plateau user passwd LOGIN [--password-stdin] [--no-force-change]
 *   plateau user list
 *   plateau user unlock|disable|enable LOGIN
 *   plateau user check-password LOGIN [--password-stdin]
 *
 * Passwords are never taken from the command line (other users could read
 * them in the process list). On a terminal they are prompted for on
 * stderr without echo, twice when setting one; otherwise one line is read
 * from stdin, which suits scripts (`echo "$PW" | plateau user add ...`).
 * Reading the terminal blocks, so it runs on a worker thread, as does
 * looking up the Unix user name (NSS may ask a directory over the
 * network); the loop only sees the result.
 *
 * Results go to stdout, problems to stderr with the reason (the policy
 * rule broken, a taken login); the exit status is 0 or 1 (2 for usage
 * errors). Every change is audited with actor "cli:<unix user>" and
 * origin "cli".
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "users_int.h"

typedef enum cli_verb {
    V_ADD,
    V_PASSWD,
    V_LIST,
    V_UNLOCK,
    V_DISABLE,
    V_ENABLE,
    V_CHECK
} cli_verb;

static const struct {
    const char *name;
    cli_verb verb;
    bool login;    /* takes LOGIN */
    bool password; /* reads a password */
} verbs[] = {
    {"add", V_ADD, true, true},
    {"passwd", V_PASSWD, true, true},
    {"list", V_LIST, false, false},
    {"unlock", V_UNLOCK, true, false},
    {"disable", V_DISABLE, true, false},
    {"enable", V_ENABLE, true, false},
    {"check-password", V_CHECK, true, true},
};

typedef struct cli_cmd {
    users *u;
    cli_verb verb;
    const char *vname;
    char login[USERS_LOGIN_MAX * 4 + 1]; /* as typed; the service checks */
    char name[USERS_NAME_MAX + 1];
    bool has_name;
    int32_t role;
    bool force_change;
    bool pw_stdin;
    bool need_pw;
    /* Filled on the worker. */
    char actor[96];
    char pw[USERS_PASSWORD_MAX + 2];
    int in_status;
    char in_msg[128];
    /* list */
    size_t count;
} cli_cmd;

static users *cli_users;

/* The terminal settings to restore if stop() interrupts a prompt. */
static struct {
    atomic_bool echo_off;
    struct termios saved;
} cli_tty;

void
users_cli_bind(users *u)
{
    cli_users = u;
}

void
users_cli_abort(void)
{
    if (atomic_exchange(&cli_tty.echo_off, false)) {
        tcsetattr(STDIN_FILENO, TCSANOW, &cli_tty.saved);
        fputs("\n", stderr);
    }
}

static void
usage(FILE *to)
{
    fputs("usage: plateau user add LOGIN --role admin|supervisor|agent "
          "[--name NAME]\n"
          "                          [--password-stdin] [--no-force-change]\n"
          "       plateau user passwd LOGIN [--password-stdin] "
          "[--no-force-change]\n"
          "       plateau user list\n"
          "       plateau user unlock|disable|enable LOGIN\n"
          "       plateau user check-password LOGIN [--password-stdin]\n"
          "Passwords are prompted for on a terminal, else read as one line "
          "from stdin.\n",
          to);
}

/* ------------------------------------------------------------------ */
/* Worker side: who runs the command, and the password */

/* Read one line from @p fd into @p buf (without the end of line). Bytes
 * are read one at a time so no copy of the password lingers in a stdio
 * buffer. Returns its length, -1 at end of input with nothing read, -2
 * when it does not fit. */
static ssize_t
read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    bool any = false, overflow = false;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        any = true;
        if (c == '\n')
            break;
        if (n + 1 < cap)
            buf[n++] = c;
        else
            overflow = true;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (overflow)
        return -2;
    return any ? (ssize_t)n : -1;
}

static void
echo(bool on)
{
    struct termios t;
    if (!on) {
        if (tcgetattr(STDIN_FILENO, &cli_tty.saved) != 0)
            return;
        t = cli_tty.saved;
        t.c_lflag &= ~(tcflag_t)ECHO;
        t.c_lflag |= ECHONL;
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
            atomic_store(&cli_tty.echo_off, true);
    } else if (atomic_exchange(&cli_tty.echo_off, false)) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &cli_tty.saved);
    }
}

/* Prompt (on a terminal) and read one password into @p buf. */
static int
ask(cli_cmd *c, bool tty, const char *prompt, char *buf, size_t cap)
{
    if (tty) {
        if (!c->pw_stdin) {
            fputs(prompt, stderr);
            fflush(stderr);
        }
        echo(false);
    }
    ssize_t n = read_line(STDIN_FILENO, buf, cap);
    if (tty)
        echo(true);
    if (n == -2) {
        snprintf(c->in_msg, sizeof(c->in_msg),
                 "password must be at most %d bytes long", USERS_PASSWORD_MAX);
        return -1;
    }
    if (n <= 0) {
        snprintf(c->in_msg, sizeof(c->in_msg), "no password given%s",
                 tty ? "" : " on standard input");
        return -1;
    }
    return 0;
}

static void
input_work(void *arg)
{
    cli_cmd *c = arg;
    /* getpwuid_r may ask NSS (LDAP, sssd): never on the loop. */
    struct passwd pw, *res = NULL;
    char buf[1024];
    uid_t uid = geteuid();
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res &&
        res->pw_name && strlen(res->pw_name) < 64)
        snprintf(c->actor, sizeof(c->actor), "cli:%s", res->pw_name);
    else
        snprintf(c->actor, sizeof(c->actor), "cli:uid%lu", (unsigned long)uid);

    if (!c->need_pw)
        return;
    bool tty = isatty(STDIN_FILENO) == 1;
    char prompt[160];
    snprintf(prompt, sizeof(prompt),
             "%s for %.64s: ", c->verb == V_CHECK ? "Password" : "New password",
             c->login);
    if (ask(c, tty, prompt, c->pw, sizeof(c->pw)) != 0) {
        c->in_status = -1;
        return;
    }
    /* On a terminal, a new password is typed twice: a typo would
     * otherwise lock its owner out at once. */
    if (tty && !c->pw_stdin && c->verb != V_CHECK) {
        char again[sizeof(c->pw)];
        int rc = ask(c, tty, "Repeat it: ", again, sizeof(again));
        bool same = rc == 0 && strcmp(again, c->pw) == 0;
        sodium_memzero(again, sizeof(again));
        if (rc != 0 || !same) {
            if (rc == 0)
                snprintf(c->in_msg, sizeof(c->in_msg),
                         "the two passwords differ");
            c->in_status = -1;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Loop side */

static void
finish(cli_cmd *c, int status)
{
    users *u = c->u;
    fflush(stdout);
    fflush(stderr);
    sodium_memzero(c->pw, sizeof(c->pw));
    free(c);
    plt_command_done(status);
    users_req_end(u);
}

static void
fail(cli_cmd *c, const char *msg)
{
    fprintf(stderr, "plateau user %s: %s\n", c->vname, msg);
    finish(c, 1);
}

static void
format_time(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, len, "%lld ms", (long long)ms);
}

static void
on_changed(void *arg, int status, const char *msg)
{
    cli_cmd *c = arg;
    if (status != 0) {
        fail(c, msg ? msg : plt_strerror(status));
        return;
    }
    switch (c->verb) {
    case V_ADD:
        printf("user %s created (%s)%s\n", c->login, plt_role_name(c->role),
               c->force_change ? "; the password must be changed at first "
                                 "login"
                               : "");
        break;
    case V_PASSWD:
        printf("password of %s changed%s\n", c->login,
               c->force_change ? "; it must be changed at next login" : "");
        break;
    case V_UNLOCK:
        printf("user %s unlocked\n", c->login);
        break;
    case V_DISABLE:
        printf("user %s disabled\n", c->login);
        break;
    case V_ENABLE:
        printf("user %s enabled\n", c->login);
        break;
    default:
        break;
    }
    finish(c, 0);
}

static int
list_row(void *arg, const plt_user *u)
{
    cli_cmd *c = arg;
    if (c->count++ == 0)
        printf("%-24s %-10s %-32s %s\n", "LOGIN", "ROLE", "STATE", "NAME");
    char state[96] = "";
    size_t n = 0;
    if (u->disabled)
        n += (size_t)snprintf(state + n, sizeof(state) - n, "disabled,");
    if (u->locked_until > plt_now()) {
        char t[40];
        format_time(u->locked_until, t, sizeof(t));
        n += (size_t)snprintf(state + n, sizeof(state) - n, "locked until %s,",
                              t);
    }
    if (n < sizeof(state) && u->password_expired)
        n +=
            (size_t)snprintf(state + n, sizeof(state) - n, "password expired,");
    if (n < sizeof(state) && u->must_change_password)
        n += (size_t)snprintf(state + n, sizeof(state) - n,
                              "must change password,");
    if (n == 0)
        snprintf(state, sizeof(state), "active");
    else if (n < sizeof(state))
        state[n - 1] = '\0';
    const char *role = plt_role_name(u->role);
    printf("%-24s %-10s %-32s %s\n", u->login, role ? role : "?", state,
           u->name);
    return 0;
}

static void
on_listed(void *arg, int status, const char *msg)
{
    cli_cmd *c = arg;
    if (status != 0) {
        fail(c, msg ? msg : plt_strerror(status));
        return;
    }
    if (c->count == 0)
        printf("no users yet: create one with "
               "`plateau user add LOGIN --role admin`\n");
    finish(c, 0);
}

/* check-password refused with PLT_EAUTH: the service does not say why
 * (on purpose, for remote callers); the operator at the console may know. */
static void
on_check_diagnosed(void *arg, int status, const plt_user *u)
{
    cli_cmd *c = arg;
    if (status == 0 && u && u->disabled)
        fail(c, "refused: the account is disabled");
    else
        fail(c, "refused: wrong login or password");
}

static void
on_checked(void *arg, int status, const plt_user *u)
{
    cli_cmd *c = arg;
    if (status == 0) {
        printf("ok%s%s\n",
               u && u->must_change_password ? " (must change password)" : "",
               u && u->password_expired ? " (password expired)" : "");
        finish(c, 0);
        return;
    }
    if (status == PLT_ELOCKED && u) {
        char t[40], msg[96];
        format_time(u->locked_until, t, sizeof(t));
        snprintf(msg, sizeof(msg), "refused: the account is locked until %s",
                 t);
        fail(c, msg);
        return;
    }
    if (status == PLT_EAUTH &&
        users_get(c->u, c->login, on_check_diagnosed, c) == 0)
        return;
    if (status == PLT_EAGAIN) {
        fail(c, "busy: too many passwords being checked; try again");
        return;
    }
    fail(c, status == PLT_EAUTH ? "refused: wrong login or password"
                                : plt_strerror(status));
}

static void
input_done(void *arg, int status)
{
    cli_cmd *c = arg;
    users *u = c->u;
    if (status != 0) {
        fail(c, plt_strerror(status));
        return;
    }
    if (c->in_status != 0) {
        fail(c, c->in_msg);
        return;
    }
    int rc = 0;
    switch (c->verb) {
    case V_ADD: {
        plt_user_new nu = {.size = sizeof(nu),
                           .login = c->login,
                           .name = c->has_name ? c->name : NULL,
                           .role = c->role,
                           .must_change_password = c->force_change};
        rc = users_create(u, &nu, c->pw, c->actor, "cli", on_changed, c);
        break;
    }
    case V_PASSWD:
        rc = users_set_password(u, c->login, c->pw, c->force_change, c->actor,
                                "cli", on_changed, c);
        break;
    case V_LIST:
        rc = users_list(u, 0, 0, list_row, on_listed, c);
        break;
    case V_UNLOCK:
        rc = users_unlock(u, c->login, c->actor, "cli", on_changed, c);
        break;
    case V_DISABLE:
    case V_ENABLE:
        rc = users_update(u, c->login, 0, NULL, c->verb == V_DISABLE ? 1 : 0,
                          c->actor, "cli", on_changed, c);
        break;
    case V_CHECK:
        rc = users_authenticate(u, c->login, c->pw, "cli", on_checked, c);
        break;
    }
    /* The service copied the password; this copy is no longer needed. */
    sodium_memzero(c->pw, sizeof(c->pw));
    if (rc != 0)
        fail(c, plt_strerror(rc));
}

static int
parse_role(const char *s, int32_t *out)
{
    for (int32_t r = PLT_ROLE_ADMIN; r <= PLT_ROLE_AGENT; r++)
        if (strcmp(s, plt_role_name(r)) == 0) {
            *out = r;
            return 0;
        }
    return -1;
}

/* Parse the arguments after the verb into @p c. Returns 0, or 2 after
 * printing the problem. */
static int
parse(cli_cmd *c, bool wants_login, int argc, char **argv)
{
    bool have_login = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (!strcmp(a, "--role") || !strcmp(a, "--name")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "plateau user %s: %s needs a value\n", c->vname,
                        a);
                return 2;
            }
            val = argv[++i];
        } else if (!strncmp(a, "--role=", 7) || !strncmp(a, "--name=", 7)) {
            val = a + 7;
        }
        if (val && !strncmp(a, "--role", 6) && c->verb == V_ADD) {
            if (parse_role(val, &c->role) != 0) {
                fprintf(stderr,
                        "plateau user add: unknown role '%s' (admin, "
                        "supervisor or agent)\n",
                        val);
                return 2;
            }
        } else if (val && !strncmp(a, "--name", 6) && c->verb == V_ADD) {
            if (strlen(val) > USERS_NAME_MAX) {
                fprintf(stderr, "plateau user add: name too long\n");
                return 2;
            }
            snprintf(c->name, sizeof(c->name), "%s", val);
            c->has_name = true;
        } else if (!val && !strcmp(a, "--password-stdin") && c->need_pw) {
            c->pw_stdin = true;
        } else if (!val && !strcmp(a, "--no-force-change") &&
                   (c->verb == V_ADD || c->verb == V_PASSWD)) {
            c->force_change = false;
        } else if (a[0] == '-' || val) {
            fprintf(stderr, "plateau user %s: unknown option '%s'\n", c->vname,
                    a);
            return 2;
        } else if (wants_login && !have_login) {
            if (strlen(a) >= sizeof(c->login)) {
                fprintf(stderr, "plateau user %s: login too long\n", c->vname);
                return 2;
            }
            snprintf(c->login, sizeof(c->login), "%s", a);
            have_login = true;
        } else {
            fprintf(stderr, "plateau user %s: unexpected argument '%s'\n",
                    c->vname, a);
            return 2;
        }
    }
    if (wants_login && !have_login) {
        fprintf(stderr, "plateau user %s: LOGIN is missing\n", c->vname);
        return 2;
    }
    if (c->verb == V_ADD && c->role == 0) {
        fprintf(stderr, "plateau user add: --role is required (admin, "
                        "supervisor or agent)\n");
        return 2;
    }
    return 0;
}

static int
user_cmd(plt_plugin *self, int argc, char **argv)
{
    (void)self;
    users *u = cli_users;
    if (!u)
        return PLT_ESTATE;
    if (argc < 1) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help") ||
        !strcmp(argv[0], "-h")) {
        usage(stdout);
        return 0;
    }
    size_t i;
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (!strcmp(argv[0], verbs[i].name))
            break;
    if (i == sizeof(verbs) / sizeof(verbs[0])) {
        fprintf(stderr, "plateau user: unknown verb '%s'\n", argv[0]);
        usage(stderr);
        return 2;
    }
    cli_cmd *c = calloc(1, sizeof(*c));
    if (!c) {
        fprintf(stderr, "plateau user: out of memory\n");
        return 1;
    }
    c->u = u;
    c->verb = verbs[i].verb;
    c->vname = verbs[i].name;
    c->need_pw = verbs[i].password;
    c->force_change = true;
    int rc = parse(c, verbs[i].login, argc - 1, argv + 1);
    if (rc != 0) {
        free(c);
        return rc;
    }
    if (users_accepting(u) != 0) {
        fprintf(stderr, "plateau user: the users plugin is not running\n");
        free(c);
        return 1;
    }
    users_req_begin(u);
    rc = plt_queue_work(input_work, input_done, c);
    if (rc != 0) {
        fprintf(stderr, "plateau user %s: %s\n", c->vname, plt_strerror(rc));
        free(c);
        users_req_end(u);
        return 1;
    }
    return PLT_EINPROGRESS;
}

const plt_command users_commands[] = {
    {.name = "user",
     .summary = "manage users: add, passwd, list, unlock, disable, enable, "
                "check-password",
     .usage = "add|passwd|list|unlock|disable|enable|check-password "
              "[LOGIN] [OPTIONS] (see `plateau user help`)",
     .run = user_cmd},
    {0}};
