# shellcheck shell=bash
# The demo that scripts/run sets up on the sample configuration: the demo
# users (created once, never overwritten: a password changed in the UI
# stays changed) and the demo contact list of the "demo" campaign
# (imported once). Idempotent: a second run only prints the logins.

# login role display-name password
PLATEAU_DEMO_USERS=(
    "admin admin Administratrice Bureau-7-Demo"
    "supervisor supervisor Superviseur Tableau-8-Demo"
    "agent agent Agent Casque-2-Demo"
    "agent2 agent Agent-2 Casque-3-Demo"
)

# demo_setup PLATEAU CONF: create what is missing.
demo_setup() {
    local plateau=$1 conf=$2 users line login role name pw
    users=$("$plateau" user list -c "$conf" 2>/dev/null | awk 'NR > 1 {print $1}') ||
        die "cannot list users with $conf"
    for line in "${PLATEAU_DEMO_USERS[@]}"; do
        read -r login role name pw <<<"$line"
        grep -qx "$login" <<<"$users" && continue
        printf '%s\n' "$pw" |
            "$plateau" user add "$login" --role "$role" --name "$name" \
                --password-stdin --no-force-change -c "$conf" >/dev/null ||
            die "cannot create the demo user $login"
    done
    if ! "$plateau" leads lists -c "$conf" 2>/dev/null | awk '{print $2}' | grep -qx demo; then
        "$plateau" import "$PLATEAU_ROOT/conf/demo/contacts.csv" --list demo --create \
            --dedup list -c "$conf" >/dev/null ||
            die "cannot import the demo list conf/demo/contacts.csv"
    fi
}

# demo_banner CONF: where to point the browser, and the demo logins.
demo_banner() {
    local conf=$1 port bind line login role name pw
    port=$(awk '/^web:/ {w = 1; next} /^[^ #]/ {w = 0} w && $1 == "port:" {print $2; exit}' "$conf")
    bind=$(awk '/^web:/ {w = 1; next} /^[^ #]/ {w = 0} w && $1 == "bind:" {print $2; exit}' "$conf")
    [[ -z $bind || $bind == 0.0.0.0 ]] && bind=127.0.0.1
    printf '\nOpen http://%s:%s/ in a browser. Demo logins:\n\n' "$bind" "${port:-8080}"
    printf '  %-11s %-15s %s\n' LOGIN PASSWORD ROLE
    for line in "${PLATEAU_DEMO_USERS[@]}"; do
        read -r login role name pw <<<"$line"
        printf '  %-11s %-15s %s\n' "$login" "$pw" "$role"
    done
    printf '\nLog in as agent in one tab, connect extension 200, press Disponible;\n'
    printf 'log in as supervisor in another tab to watch. Simulated callers ring\n'
    printf 'about once a minute; the demo campaign calls conf/demo/contacts.csv.\n'
}
