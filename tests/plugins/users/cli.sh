#!/usr/bin/env bash
# `plateau user ...` as an operator uses it, against the real SQLite
# engine: create the first administrator with a piped password, list
# users, see a weak password refused with the rule, change a password,
# disable/enable, lock and unlock, and check that the administrator can
# log in (`user check-password` runs the same authentication as the web
# login). Exit codes: 0 success, 1 refused, 2 usage.
set -euo pipefail

bin=${PLATEAU_BIN:?}
plugins=${PLATEAU_PLUGIN_DIR:?}
tmp=$(mktemp -d /tmp/plateau-users-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

fails=0
pass() { echo "ok - $1"; }
failt() { echo "not ok - $1"; fails=$((fails + 1)); }
expect() { # expect DESCRIPTION FILE PATTERN
    if grep -qE -- "$3" "$2"; then pass "$1"; else
        failt "$1"; echo "--- $2:"; cat "$2"; echo "--- wanted: $3"; fi
}
absent() { # absent DESCRIPTION FILE PATTERN
    if grep -qE -- "$3" "$2"; then
        failt "$1"; echo "--- $2:"; cat "$2"; echo "--- unwanted: $3"
    else pass "$1"; fi
}

cat > "$tmp/plateau.yaml" <<EOF
core:
  data_dir: data
  plugin_path: [$plugins]
  stop_timeout: 5s
plugins: [storage_sqlite, users]
users:
  hash_ops: 1
  hash_memory: 65536
  lockout_threshold: 3
EOF

# run STATUS_WANTED DESCRIPTION [--stdin TEXT] ARGS...: run plateau with
# the config; stdout in $tmp/out, stderr in $tmp/err.
run() {
    local want=$1 desc=$2 input=
    shift 2
    if [[ ${1:-} == --stdin ]]; then input=$2; shift 2; fi
    local status=0
    # From a file, not a pipe: a command that exits before reading must
    # not turn into a SIGPIPE of the writer.
    printf '%s' "$input" > "$tmp/in"
    "$bin" -c "$tmp/plateau.yaml" "$@" < "$tmp/in" > "$tmp/out" 2> "$tmp/err" \
        || status=$?
    if [[ $status == "$want" ]]; then pass "$desc (exit $want)"; else
        failt "$desc (exit $status, wanted $want)"
        echo "--- stdout:"; cat "$tmp/out"; echo "--- stderr:"; cat "$tmp/err"
    fi
}

pw='Correct-Horse-9'

# 1. The first administrator, password piped.
run 0 "add an admin" --stdin "$pw"$'\n' \
    user add alice --role admin --name "Alice Martin" --password-stdin
expect "add says what it did" "$tmp/out" "^user alice created \(admin\)"
absent "the password is never printed" "$tmp/out" "$pw"

# 2. Listed, with role and name.
run 0 "list" user list
expect "alice listed with her role" "$tmp/out" "^alice +admin +.*Alice Martin"
expect "a new account must change its password" "$tmp/out" "must change password"

# 3. The administrator can log in.
run 0 "check-password accepts the right password" --stdin "$pw"$'\n' \
    user check-password alice --password-stdin
expect "check-password says ok" "$tmp/out" "^ok \(must change password\)"
run 1 "check-password refuses a wrong one" --stdin $'Wrong-Horse-9\n' \
    user check-password alice --password-stdin
expect "the refusal is explained" "$tmp/err" "refused: wrong login or password"

# 4. A weak password: exit 1, the rule named, nothing created. Without
#    --password-stdin a pipe is read the same way.
run 1 "a short password is refused" --stdin $'Sh0rt!\n' \
    user add bob --role agent
expect "the length rule is named" "$tmp/err" "at least 10 characters"
run 1 "a one-class password is refused" --stdin $'onlylowercaseletters\n' \
    user add bob --role agent
expect "the class rule is named" "$tmp/err" "at least 3 of"
run 0 "list again" user list
absent "bob was not created" "$tmp/out" "^bob "

# 5. A taken login, an empty stdin, usage errors.
run 1 "a taken login is refused" --stdin "$pw"$'\n' user add alice --role agent
expect "the login is said taken" "$tmp/err" "login 'alice' is taken"
run 1 "no password on stdin" user add carl --role agent
expect "the missing password is named" "$tmp/err" "no password given"
run 2 "add without --role" --stdin "$pw"$'\n' user add carl
expect "--role is asked for" "$tmp/err" "--role is required"
run 2 "an unknown verb" user frobnicate
expect "usage is printed" "$tmp/err" "usage: plateau user add"

# 6. passwd: the old password stops working, the new one works.
run 0 "passwd" --stdin $'Battery-Staple-42\n' \
    user passwd alice --password-stdin --no-force-change
expect "passwd says what it did" "$tmp/out" "^password of alice changed"
run 1 "the old password no longer works" --stdin "$pw"$'\n' \
    user check-password alice --password-stdin
run 0 "the new password works" --stdin $'Battery-Staple-42\n' \
    user check-password alice --password-stdin
expect "no forced change any more" "$tmp/out" "^ok$"
run 1 "passwd refuses a weak password" --stdin $'weak\n' \
    user passwd alice --password-stdin
expect "passwd names the rule" "$tmp/err" "at least 10 characters"
run 1 "passwd of an unknown user" --stdin $'Battery-Staple-42\n' \
    user passwd nobody --password-stdin
expect "the unknown user is named" "$tmp/err" "no user 'nobody'"

# 7. disable / enable.
run 0 "disable" user disable alice
expect "disable says so" "$tmp/out" "^user alice disabled"
run 1 "a disabled account cannot log in" --stdin $'Battery-Staple-42\n' \
    user check-password alice --password-stdin
expect "the operator is told why" "$tmp/err" "account is disabled"
run 0 "enable" user enable alice
run 0 "enabled again" --stdin $'Battery-Staple-42\n' \
    user check-password alice --password-stdin

# 8. Lockout after 3 failures (this config), then unlock.
for i in 1 2; do
    run 1 "failure $i" --stdin $'Wrong-Horse-9\n' \
        user check-password alice --password-stdin
done
run 1 "the third failure locks" --stdin $'Wrong-Horse-9\n' \
    user check-password alice --password-stdin
expect "locked until a time" "$tmp/err" "locked until [0-9]{4}-[0-9]{2}-[0-9]{2} "
run 1 "locked: the right password is refused" --stdin $'Battery-Staple-42\n' \
    user check-password alice --password-stdin
run 0 "list while locked" user list
expect "list shows the lock" "$tmp/out" "^alice .*locked until"
run 0 "unlock" user unlock alice
expect "unlock says so" "$tmp/out" "^user alice unlocked"
run 0 "unlocked: the right password works" --stdin $'Battery-Staple-42\n' \
    user check-password alice --password-stdin

# 9. The audit log names the operator and the origin (when the sqlite3
#    shell is there to read it).
db=$(find "$tmp/data" -type f \( -name '*.db' -o -name '*.sqlite*' \) \
     ! -name '*-wal' ! -name '*-shm' | head -n 1)
if command -v sqlite3 > /dev/null && [[ -n $db ]]; then
    me=$(id -un)
    sqlite3 "$db" "SELECT actor || '|' || action || '|' || COALESCE(origin, '')
                   FROM audit_log ORDER BY id" > "$tmp/audit"
    expect "creation audited with the Unix user" "$tmp/audit" "^cli:$me\|user.created\|cli$"
    expect "password change audited" "$tmp/audit" "^cli:$me\|user.password_changed\|cli$"
    expect "disable audited" "$tmp/audit" "^cli:$me\|user.disabled\|cli$"
    expect "unlock audited" "$tmp/audit" "^cli:$me\|user.unlocked\|cli$"
    expect "logins audited" "$tmp/audit" "^user:alice\|login.succeeded\|cli$"
    expect "lock refusals audited" "$tmp/audit" "^user:alice\|login.locked\|cli$"
    if sqlite3 "$db" "DELETE FROM audit_log" 2> "$tmp/sqlerr"; then
        failt "the audit log refuses DELETE"
    else
        expect "the audit log refuses DELETE" "$tmp/sqlerr" "append-only"
    fi
else
    echo "# skipped audit checks: no sqlite3 shell or database file"
fi

if ((fails > 0)); then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all checks passed"
