#!/usr/bin/env bash
# A running campaign on SQLite killed with -9, twenty times, at random
# moments: every call the trunk saw was written as an attempt before it
# left, every attempt finished normally was seen by the trunk, and no
# contact was dialled twice. Real binary: storage_sqlite, leads,
# import_csv (to load the contacts), sim (the trunk; originate_log is its
# record of every call that left), agents, acd, sim_agents (ten agents
# logged in) and dialer (a power campaign, 2.5 lines per free agent, one
# attempt per contact), on the simulated clock. Each restart begins an
# hour later in simulated time. Attempts cut by a kill are "in doubt"
# (pending, then interrupted after recovery): they may or may not have
# left, are never repeated, and are the only rows allowed without a line
# in the trunk's record. Skips (77) when a plugin or sqlite3 is missing.
set -euo pipefail

bin=${PLATEAU_BIN:?}
plugins=${PLATEAU_PLUGIN_DIR:?}
for p in storage_sqlite leads import_csv sim agents acd sim_agents dialer; do
    [[ -f $plugins/$p.so ]] || { echo "# skip: $p.so not built"; exit 77; }
done
command -v sqlite3 > /dev/null || { echo "# skip: no sqlite3 shell"; exit 77; }
kills=${DIALER_KILL9_ROUNDS:-20}
contacts=${DIALER_KILL9_CONTACTS:-3000}
tmp=$(mktemp -d /tmp/plateau-dialer-kill9.XXXXXX)
pid=
trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null; [[ -n ${DIALER_KILL9_KEEP:-} ]] && echo "# kept $tmp" || rm -rf "$tmp"' EXIT

fails=0
pass() { echo "ok - $1"; }
failt() { echo "not ok - $1"; fails=$((fails + 1)); }

log=$tmp/originates.log
write_conf() { # write_conf SIM_START
    cat > "$tmp/plateau.yaml" <<EOC
core:
  data_dir: data
  plugin_path: [$plugins]
  stop_timeout: 5s
  log_level: warn
  clock: simulated
  sim_start: $1
plugins: [storage_sqlite, leads, import_csv, sim, agents, acd, sim_agents,
          dialer]
sim:
  seed: 7
  originate_log: $log
  trunks: [{name: t, max_channels: 60, cps: 0}]
  answer_rate: 0.3
  machine_rate: 0.1
  busy_rate: 0.1
  invalid_rate: 0.05
agents:
  max_wrap_up: 1m
acd:
  queues: [{name: q, wrap_up: 1m}]
  agents:
EOC
    for i in $(seq -w 1 10); do
        echo "    - {agent: sim$i, queues: [q]}" >> "$tmp/plateau.yaml"
    done
    cat >> "$tmp/plateau.yaml" <<EOC
sim_agents:
  agents: 10
dialer:
  campaigns:
    - {name: c, enabled: true, mode: power, power_ratio: 2.5, queue: q,
       lists: [l], max_attempts: 1, connect_deadline: 2s}
EOC
}

# Contacts: unique French mobile numbers.
awk -v n="$contacts" 'BEGIN { print "Nom;Mobile";
    for (i = 0; i < n; i++) printf "N%d;06 %02d %02d %02d %02d\n", i,
        int(i / 1000000) % 100, int(i / 10000) % 100, int(i / 100) % 100,
        i % 100 }' > "$tmp/contacts.csv"
write_conf 2025-01-06T09:00:00Z
if "$bin" -c "$tmp/plateau.yaml" import "$tmp/contacts.csv" --list l \
    --create > "$tmp/import.out" 2> "$tmp/import.err"; then
    pass "$contacts contacts imported"
else
    failt "import"; cat "$tmp/import.out" "$tmp/import.err"; exit 1
fi

lines() { [[ -f $log ]] && wc -l < "$log" || echo 0; }

# Twenty runs, each killed with -9 once it has dialled, at a random moment.
RANDOM=42
for round in $(seq 1 "$kills"); do
    write_conf "$(date -u -d "2025-01-06T09:00:00Z + $round hour" \
                   +%Y-%m-%dT%H:%M:%SZ)"
    before=$(lines)
    "$bin" -c "$tmp/plateau.yaml" run > "$tmp/run.out" 2> "$tmp/run$round.err" &
    pid=$!
    for _ in $(seq 1 300); do
        (($(lines) > before)) && break
        kill -0 $pid 2> /dev/null || break
        sleep 0.05
    done
    sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
    if kill -9 $pid 2> /dev/null; then
        wait $pid 2> /dev/null || true
    else
        failt "round $round: plateau ended before it was killed"
        cat "$tmp/run$round.err"
    fi
    pid=
    if (($(lines) <= before)); then
        failt "round $round: nothing was dialled"; cat "$tmp/run$round.err"
    fi
done
pass "$kills runs killed with -9 while dialling"

# Two last runs, each stopped cleanly while calls are in flight: the
# first recovers the last kill, the second what the clean stop left.
for last in 1 2; do
    write_conf "2025-01-07T1$last:00:00Z"
    before=$(lines)
    "$bin" -c "$tmp/plateau.yaml" run > "$tmp/run.out" 2> "$tmp/last$last.err" &
    pid=$!
    for _ in $(seq 1 300); do
        (($(lines) > before + 20)) && break
        sleep 0.05
    done
    kill -TERM $pid
    wait $pid && pass "run $last after the kills stops cleanly" \
        || { failt "run $last after the kills stops cleanly"
             cat "$tmp/last$last.err"; }
    pid=
done

db=$(find "$tmp/data" -name '*.db' | head -n 1)
q() { sqlite3 -batch -noheader "$db" "$1"; }
[[ $(q "PRAGMA integrity_check") == ok ]] && pass "integrity_check ok" \
    || failt "integrity_check"

# The trunk's record against the attempts.
awk '{print $4}' "$log" | sort > "$tmp/sent.refs"
q "SELECT ref FROM dialer_attempt WHERE state NOT IN ('deferred',
   'cancelled')" | sort > "$tmp/rows.refs"
q "SELECT ref FROM dialer_attempt WHERE state IN ('ended', 'recorded')" \
    | sort \
    > "$tmp/ended.refs"
q "SELECT ref FROM dialer_attempt WHERE state IN ('pending', 'interrupted')" \
    | sort > "$tmp/doubt.refs"
sent=$(wc -l < "$tmp/sent.refs")
echo "# $sent calls left the trunk; $(wc -l < "$tmp/rows.refs") attempts" \
     "written, $(wc -l < "$tmp/ended.refs") ended, $(wc -l < "$tmp/doubt.refs")" \
     "in doubt"
((sent >= 100)) && pass "at least 100 calls placed" \
    || failt "at least 100 calls placed ($sent)"
[[ -z $(awk '$4 == "-"' "$log") ]] && pass "every call carries its attempt" \
    || failt "calls without an attempt id"
missing=$(comm -23 "$tmp/sent.refs" "$tmp/rows.refs" | wc -l)
((missing == 0)) && pass "every call that left was written first" \
    || failt "$missing calls left without an attempt row"
unseen=$(comm -13 "$tmp/sent.refs" "$tmp/ended.refs" | wc -l)
((unseen == 0)) && pass "every finished attempt was seen by the trunk" \
    || failt "$unseen finished attempts the trunk never saw"
[[ -z $(sort "$tmp/sent.refs" | uniq -d) ]] \
    && pass "no attempt sent twice" || failt "an attempt was sent twice"
twice=$(awk '{print $3}' "$log" | sort | uniq -d | wc -l)
((twice == 0)) && pass "no contact dialled twice" \
    || failt "$twice numbers dialled twice"
multi=$(q "SELECT count(*) FROM (SELECT contact_id FROM dialer_attempt
           WHERE state NOT IN ('deferred', 'cancelled')
           GROUP BY contact_id HAVING count(*) > 1)")
((multi == 0)) && pass "at most one attempt per contact" \
    || failt "$multi contacts with more than one attempt"
doubt=$(wc -l < "$tmp/doubt.refs")
((doubt >= 1)) && pass "kills cut calls in flight ($doubt in doubt)" \
    || failt "no kill cut a call in flight"
# What leads counts agrees: one attempt per dialled contact, none lost.
la=$(q "SELECT count(*) FROM contact WHERE attempts > 0")
rows=$(wc -l < "$tmp/rows.refs")
((la <= rows && rows - la <= doubt)) \
    && pass "leads counts the attempts ($la contacts)" \
    || failt "leads counts $la attempted contacts for $rows attempts"

if ((fails > 0)); then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all checks passed"
