# shellcheck shell=bash
# Helpers shared by scripts/run and scripts/test: logging, the root check,
# installation of missing Debian packages, and the CMake build.
#
# Sourcing sets PLATEAU_ROOT (the source tree) and PLATEAU_PROG (the calling
# script's name, for messages) and loads the package lists.

PLATEAU_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PLATEAU_PROG="scripts/$(basename "$0")"
# shellcheck source-path=SCRIPTDIR source-path=SCRIPTDIR/lib source=packages.sh
. "$PLATEAU_ROOT/scripts/lib/packages.sh"

if [[ -t 2 ]]; then
    _plt_bold=$'\e[1m' _plt_red=$'\e[31m' _plt_yellow=$'\e[33m' _plt_off=$'\e[0m'
else
    _plt_bold='' _plt_red='' _plt_yellow='' _plt_off=''
fi

# log MESSAGE...: a step, on stderr.
log() {
    printf '%s==> %s%s\n' "$_plt_bold" "$*" "$_plt_off" >&2
}

# warn MESSAGE...: something worth knowing that does not stop the script.
warn() {
    printf '%s%s: warning: %s%s\n' "$_plt_yellow" "$PLATEAU_PROG" "$*" "$_plt_off" >&2
}

# die MESSAGE...: report an error and exit 1.
die() {
    printf '%s%s: error: %s%s\n' "$_plt_red" "$PLATEAU_PROG" "$*" "$_plt_off" >&2
    exit 1
}

# is_root: true when running as root.
is_root() {
    [[ $(id -u) -eq 0 ]]
}

# need_root WHY COMMAND: unless root, say WHY, print the COMMAND to run as
# root, and exit 1.
need_root() {
    local why=$1 cmd=$2
    is_root && return 0
    printf '%s: %s\nRun this as root (e.g. with sudo), then run %s again:\n\n    %s\n\n' \
        "$PLATEAU_PROG" "$why" "$PLATEAU_PROG" "$cmd" >&2
    exit 1
}

# missing_packages NAME...: print, one a line, the names that no installed
# package has or provides. One dpkg-query call, so it is fast.
missing_packages() {
    dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Provides}\n' 2>/dev/null |
        awk -F'\t' -v want="$*" '
            substr($1, 2, 1) == "i" {
                have[$2] = 1
                n = split($3, p, /, */)
                for (i = 1; i <= n; i++) {
                    sub(/ .*/, "", p[i])     # drop a version: "foo (= 1.0)"
                    if (p[i] != "") have[p[i]] = 1
                }
            }
            END {
                n = split(want, w, " ")
                for (i = 1; i <= n; i++)
                    if (!(w[i] in have)) print w[i]
            }'
}

# ensure_packages NAME...: install the packages that are missing. Does
# nothing (and never calls apt-get) when all are present. As another user
# than root, prints the apt-get command to run and exits 1. Never prompts.
ensure_packages() {
    command -v dpkg-query >/dev/null || die "dpkg-query not found: Plateau's scripts need Debian 12"
    local missing
    mapfile -t missing < <(missing_packages "$@")
    ((${#missing[@]} == 0)) && return 0

    local apt_opts=(-y -q --no-install-recommends
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
        -o DPkg::Lock::Timeout=300)
    need_root "these Debian packages are missing: ${missing[*]}" \
        "apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"

    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q -o DPkg::Lock::Timeout=300 update </dev/null ||
        die "apt-get update failed (network or apt sources?)"
    apt-get "${apt_opts[@]}" install "${missing[@]}" </dev/null ||
        die "apt-get install failed for: ${missing[*]}"

    mapfile -t missing < <(missing_packages "$@")
    ((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
}

# cmake_build DIR OPTION...: configure DIR (Ninja, unless DIR was already
# configured with another generator) with the given -D options, then build.
# Uses PLATEAU_JOBS parallel jobs when set. Exits 1 with a clear message when
# configuring or building fails.
cmake_build() {
    local dir=$1
    shift
    local gen=()
    [[ -f $dir/CMakeCache.txt ]] || gen=(-G Ninja)
    log "configuring $dir"
    cmake -S "$PLATEAU_ROOT" -B "$dir" "${gen[@]}" --log-level=WARNING "$@" ||
        die "CMake could not configure $dir (see the messages above)"
    log "building $dir"
    cmake --build "$dir" --parallel "${PLATEAU_JOBS:-$(nproc)}" ||
        die "the build failed in $dir (see the compiler messages above)"
}
