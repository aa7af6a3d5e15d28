#!/usr/bin/env bash
# The plateau command line as an operator uses it: `check` reports a
# mistyped key with its line and exits non-zero; an incompatible plugin is
# refused with its reason; `run` starts, reloads on SIGHUP and stops cleanly
# on SIGTERM with exit status 0; a failing plugin leaves nothing started;
# plugin subcommands run and return their status.
set -euo pipefail

bin=${PLATEAU_BIN:?}
fix=${PLATEAU_BUILD_DIR:?}/tests/fixtures/plugins
tmp=$(mktemp -d /tmp/plateau-cli.XXXXXX)
pid=
cleanup() {
    [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

fails=0
pass() { echo "ok - $1"; }
failt() { echo "not ok - $1"; fails=$((fails + 1)); }
expect() { # expect DESCRIPTION FILE PATTERN
    if grep -qE -- "$3" "$2"; then pass "$1"; else
        failt "$1"; echo "--- $2:"; cat "$2"; echo "--- wanted: $3"; fi
}

conf() { # conf FILE BODY
    printf 'core:\n  data_dir: data\n  plugin_path: [%s]\n  stop_timeout: 2s\n%s' "$fix" "$2" > "$1"
}

# 1. A mistyped key: file:line and a non-zero exit, nothing started.
conf "$tmp/typo.yaml" $'plugins: [fx_a]\nfx_a:\n  valeu: 3\n'
if "$bin" check -c "$tmp/typo.yaml" > "$tmp/out" 2> "$tmp/err"; then
    failt "check fails on a mistyped key"; else pass "check fails on a mistyped key"; fi
expect "check names file and line" "$tmp/err" "typo.yaml:7: fx_a: unknown key 'valeu' \(did you mean 'value'\?\)"

# 2. A valid config: check says OK and gives the start order.
conf "$tmp/ok.yaml" $'plugins: [fx_b, fx_a]\nfx_a:\n  secret: hunter2\n'
"$bin" check --dump -c "$tmp/ok.yaml" > "$tmp/out" 2> "$tmp/err" && pass "check accepts a valid config" || failt "check accepts a valid config"
expect "check prints the start order" "$tmp/out" "plugins in start order: fx_a, fx_b"
expect "dump masks secrets" "$tmp/out" "secret: \"?\*\*\*\*\*\*\*\*"
if grep -q hunter2 "$tmp/out"; then failt "secret never printed"; else pass "secret never printed"; fi

# 2b. Plugins' own checks run (after init, nothing started).
conf "$tmp/chk.yaml" $'plugins: [fx_a]\nfx_a:\n  check_fails: true\n'
"$bin" check -c "$tmp/chk.yaml" > "$tmp/out" 2> "$tmp/err" && failt "a failing plugin check fails check" || pass "a failing plugin check fails check"
expect "plugin check explains" "$tmp/err" "\[fx_a\] the thing this plugin needs is not there"
if grep -q "trace start" "$tmp/err"; then failt "check starts nothing"; else pass "check starts nothing"; fi

# 3. Incompatible plugins are refused with the reason.
conf "$tmp/abi.yaml" $'plugins: [fx_major, fx_minor, fx_garbage]\n'
"$bin" check -c "$tmp/abi.yaml" > "$tmp/out" 2> "$tmp/err" && failt "check refuses incompatible plugins" || pass "check refuses incompatible plugins"
expect "other major: rebuild" "$tmp/err" "fx_major.so: plugin built for ABI 2.x, this Plateau speaks ABI 1.x: rebuild the plugin"
expect "newer minor: upgrade" "$tmp/err" "fx_minor.so: plugin needs ABI 1.1 or newer.*upgrade Plateau"
expect "garbage: not a plugin" "$tmp/err" "fx_garbage.so: not a Plateau plugin"

# 4. run: start, SIGHUP reload, SIGTERM stop with status 0.
conf "$tmp/run.yaml" $'plugins: [fx_a, fx_b]\nfx_a:\n  value: one\n'
"$bin" run -c "$tmp/run.yaml" > "$tmp/run.out" 2> "$tmp/run.err" &
pid=$!
for _ in $(seq 50); do grep -q "running with" "$tmp/run.err" && break; sleep 0.1; done
expect "run starts every plugin" "$tmp/run.err" "\[core\] started fx_b"
conf "$tmp/run.yaml" $'plugins: [fx_a, fx_b]\nfx_a:\n  value: two\n'
kill -HUP "$pid"
for _ in $(seq 50); do grep -q "reload applied" "$tmp/run.err" && break; sleep 0.1; done
expect "SIGHUP applies a reloadable change" "$tmp/run.err" "\[fx_a\] trace apply two"
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
pid=
[[ $status == 0 ]] && pass "SIGTERM stops with status 0" || failt "SIGTERM stops with status 0 (got $status)"
expect "stop runs in reverse order" "$tmp/run.err" "\[fx_a\] trace stop"
expect "Plateau says it stopped" "$tmp/run.err" "Plateau stopped"

# 4b. core.log_file: lines go to the file, with the [plugin] prefix.
conf "$tmp/lf.yaml" $'  log_file: logs/plateau.log\nplugins: [fx_a]\n'
mkdir -p "$tmp/logs"
"$bin" run -c "$tmp/lf.yaml" > "$tmp/out" 2> "$tmp/err" &
pid=$!
for _ in $(seq 50); do grep -qs "running with" "$tmp/logs/plateau.log" && break; sleep 0.1; done
kill -TERM "$pid"; wait "$pid" || true; pid=
expect "log_file receives the log" "$tmp/logs/plateau.log" "\[fx_a\] trace start"
expect "log_file lines carry time and level" "$tmp/logs/plateau.log" "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z INFO +\[core\] started fx_a"

# 5. A plugin failing in start: exit 1, the others stopped, one clear line.
conf "$tmp/fail.yaml" $'plugins: [fx_a, fx_b]\nfx_b:\n  fail_start: true\n'
status=0; "$bin" run -c "$tmp/fail.yaml" > "$tmp/out" 2> "$tmp/err" || status=$?
[[ $status == 1 ]] && pass "failed start exits 1" || failt "failed start exits 1 (got $status)"
expect "failed start names plugin and cause" "$tmp/err" "plugin fx_b: start failed: asked to fail in start"
expect "started plugins are stopped" "$tmp/err" "\[fx_a\] trace stop"

# 6. Plugin subcommands.
conf "$tmp/cmd.yaml" $'plugins: [fx_a]\nfx_a:\n  value: hello\n'
"$bin" fx-echo a b -c "$tmp/cmd.yaml" > "$tmp/out" 2> "$tmp/err" && pass "plugin command runs" || failt "plugin command runs"
expect "plugin command output" "$tmp/out" "^echo: a b value=hello$"
status=0; "$bin" fx-echo fail -c "$tmp/cmd.yaml" > "$tmp/out" 2>&1 || status=$?
[[ $status == 3 ]] && pass "plugin command status is the exit status" || failt "plugin command status (got $status)"
status=0; "$bin" no-such-command -c "$tmp/cmd.yaml" > "$tmp/out" 2>&1 || status=$?
[[ $status == 2 ]] && pass "unknown command exits 2" || failt "unknown command exits 2 (got $status)"
expect "unknown command lists the available ones" "$tmp/out" "fx-echo"

# 7. plugins lists what it finds, and why it refuses the rest.
"$bin" plugins -c "$tmp/cmd.yaml" > "$tmp/out" 2>&1 || true
expect "plugins lists a plugin with version" "$tmp/out" "^fx_a 1.0.0 - test fixture fx_a"
expect "plugins shows needs" "$tmp/out" "needs: +svc_a 1.1"
expect "plugins shows refusals" "$tmp/out" "rejected: .*fx_badmagic.so"

if (( fails )); then echo "$fails check(s) failed"; exit 1; fi
echo "all CLI checks passed"
