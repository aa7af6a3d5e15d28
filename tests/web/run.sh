#!/usr/bin/env bash
# Start Plateau (web, users, leads, import_csv, sim, agents, acd, dialer) on a free
# 127.0.0.1 port with a fresh SQLite database and the demo users, then run
# browser.mjs in headless Chromium. Skips (77) when the web plugin or
# Chromium is missing; installs playwright-core into the build directory.
set -euo pipefail
bin=${PLATEAU_BIN:?}
build=${PLATEAU_BUILD_DIR:?}
src=${PLATEAU_SOURCE_DIR:?}
plugdir=${PLATEAU_PLUGIN_DIR:?}
[[ -f $plugdir/web.so ]] || { echo "skip: the web plugin is not built"; exit 77; }
[[ -x /usr/bin/chromium ]] || { echo "skip: /usr/bin/chromium is missing"; exit 77; }
command -v node >/dev/null || { echo "skip: node is missing"; exit 77; }

nm="$build/web-test"
if [[ ! -d $nm/node_modules/playwright-core ]]; then
    mkdir -p "$nm"
    (cd "$nm" && npm install --no-audit --no-fund --silent playwright-core@1 >/dev/null) ||
        { echo "cannot install playwright-core with npm"; exit 1; }
fi

tmp=$(mktemp -d /tmp/plateau-web.XXXXXX)
pid=
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cat >"$tmp/plateau.yaml" <<EOC
core: {data_dir: $tmp/data, log_level: info}
plugins: [storage_sqlite, users, leads, import_csv, sim, agents, acd, dialer, web]
users: {lockout_threshold: 6, lockout_duration: 15m}
# Every scenario logs in from 127.0.0.1, a dozen times within a minute: the
# per-address login limit (10/min by default, tested in tests/plugins/web)
# would otherwise refuse the later ones depending on how fast the run is.
web: {bind: 127.0.0.1, port: $port, root: $src/web, login_per_minute: 1000}
sim:
  seed: 5
  answer_rate: 1.0
  machine_rate: 0
  busy_rate: 0
  invalid_rate: 0
  talk_mean: 20s
  talk_sd: 2s
  patience_mean: 120s
  inbound: [{did: "+33140000000", rate_per_hour: 1200}]
agents: {max_wrap_up: 120s}
acd:
  queues: [{name: accueil, wrap_up: 120s, dids: ["+33140000000"]}, {name: sortant, wrap_up: 120s}]
  agents: [{agent: agent, queues: [accueil]}, {agent: agent2, queues: [sortant]}]
EOC

add_user() {
    printf '%s\n' "$3" | "$bin" user add "$1" --role "$2" --password-stdin --no-force-change \
        -c "$tmp/plateau.yaml" >/dev/null
}
add_user admin admin Bureau-7-Demo
add_user supervisor supervisor Tableau-8-Demo
add_user agent agent Casque-2-Demo
add_user victim agent Cible-9-Demo
add_user agent2 agent Casque-3-Demo
# A new colleague whose temporary password must be changed at first login.
printf '%s\n' Premier-3-Jour | "$bin" user add newbie --role agent --password-stdin \
    -c "$tmp/plateau.yaml" >/dev/null

"$bin" run -c "$tmp/plateau.yaml" >"$tmp/plateau.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "http://127.0.0.1:$port/" >/dev/null || { cat "$tmp/plateau.log"; echo "Plateau did not serve"; exit 1; }

mkdir -p "$build/web-artifacts"
# A larger file, so that the import's progress bar is seen moving (and the
# import stopped half-way).
python3 - "$tmp/big.csv" <<'PY'
import sys
with open(sys.argv[1], 'w', encoding='utf-8') as f:
    f.write('prenom;nom;ville;telephone\n')
    for i in range(50000):
        f.write(f'P{i};N{i};Ville;01 {40 + i // 100000:02d} {i // 1000 % 100:02d} {i // 10 % 100:02d} {i % 10}{i % 7}\n')
PY
rc=0
NODE_PATH="$nm/node_modules" PLATEAU_URL="http://127.0.0.1:$port" \
    PLATEAU_ARTIFACTS="$build/web-artifacts" PLATEAU_CSV="$src/conf/demo/contacts.csv" PLATEAU_BIG_CSV="$tmp/big.csv" \
    node "$src/tests/web/browser.mjs" || rc=$?
if ((rc != 0)); then
    tail -50 "$tmp/plateau.log"
fi
exit $rc
