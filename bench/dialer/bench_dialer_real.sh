#!/bin/sh
# bench_dialer_real.sh: the S1-S5 table of issue 7 on the REAL plugins
# (storage_sqlite, leads, sim, agents, acd, dialer, sim_agents on the
# simulated clock), through `plateau simulate`. For each scenario it runs
# progressive, power 2.0 and predictive for D days and prints busy
# occupancy (mean ± standard error over the days), the pooled abandon rate,
# the worst day, days over 3 %, wait and dials per connect, and predictive's
# occupancy as a ratio of progressive's measured in the same run. The last
# line says, per scenario, whether predictive met the goal. It never passes
# or fails on time.
#
#   bench_dialer_real.sh [--plateau BIN] [--days D] [--seed N] [--jobs J]
#                        [--scenario S1 ...] [--modes "progressive power
#                        predictive"]
#
# Each day is a fresh process (the pacing starts cold every morning and,
# with no compliance pack, holds a per-day window); an 8-hour S3 day takes
# about a minute of one CPU in a Release build. Days run under $TMPDIR
# (default /dev/shm when it exists: SQLite's syncs cost nothing there).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
plateau=""
days=20
seed=3000
jobs=2
scenarios="S1 S2 S3 S4 S5"
modes="progressive power predictive"
while [ $# -gt 0 ]; do
  case "$1" in
    --plateau) plateau=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --scenario) scenarios=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench_dialer_real.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$plateau" ]; then
  for b in "$src/build-release/bin/plateau" "$src/build/bin/plateau"; do
    [ -x "$b" ] && { plateau=$b; break; }
  done
fi
[ -n "$plateau" ] && [ -x "$plateau" ] ||
  { echo "bench_dialer_real.sh: give --plateau (a Release build's bin/plateau)" >&2; exit 2; }
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  TMPDIR=/dev/shm
fi
export TMPDIR="${TMPDIR:-/tmp}"
export PLATEAU_SOURCE_DIR="$src"

work=$(mktemp -d "$TMPDIR/plateau-bench-dialer-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

goal() {
  case "$1" in S1) echo 70 ;; S2) echo 80 ;; S3) echo 93 ;; S4) echo 83 ;;
    S5) echo 86 ;; *) echo 0 ;; esac
}

# One line of figures from a simulate output: U, se, abandon pooled, worst
# day, days over, wait, dials per connect.
figures() {
  awk '
    /^pooled / {
      for (i = 1; i <= NF; i++) {
        if ($i == "abandon") ab = $(i + 1)
        if ($i == "wait") wait = $(i + 1)
        if ($i == "dials/connect") dpc = $(i - 1)
      }
    }
    /^per day: / {
      # per day: U 92.6 ± 0.2 %, abandon 2.48 ± 0.10 % (worst 2.64 %), 0 days over 3 %
      u = $4; se = $6
      for (i = 1; i <= NF; i++) {
        if ($i == "(worst") { w = $(i + 1) }
        if ($i == "days" && $(i + 1) == "over") over = $(i - 1)
      }
    }
    END { printf "%s %s %s %s %s %s %s\n", u, se, ab, w, over, wait, dpc }
  ' "$1"
}

echo "bench_dialer_real: $days days per run, seed $seed, $jobs jobs, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "plateau: $plateau"
summary=""
for sc in $scenarios; do
  echo "$sc (goal U >= $(goal "$sc") %, abandon <= 3 %)"
  base=""
  for m in $modes; do
    t0=$(date +%s)
    out="$work/$sc-$m.txt"
    if ! "$plateau" -c "$src/conf/scenarios/$sc.yaml" simulate "$sc" \
        --days "$days" --seed "$seed" --jobs "$jobs" --mode "$m" \
        >"$out" 2>"$work/err"; then
      echo "  $m: plateau simulate failed:" >&2
      tail -5 "$work/err" >&2
      exit 1
    fi
    t1=$(date +%s)
    set -- $(figures "$out")
    u=$1 se=$2 ab=$3 worst=$4 over=$5 wait=$6 dpc=$7
    [ "$m" = progressive ] && base=$u
    ratio=$(awk -v a="$u" -v b="${base:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }')
    printf "  %-12s U %5s ± %3s %%  abandon pooled %5s %%  worst day %5s %%  days>3%% %2s  wait %6s s  dials/connect %5s  U/progressive %4s  (%d s)\n" \
      "$m" "$u" "$se" "$ab" "$worst" "$over" "$wait" "$dpc" "$ratio" $((t1 - t0))
    if [ "$m" = predictive ]; then
      ok=$(awk -v u="$u" -v ab="$ab" -v over="$over" -v g="$(goal "$sc")" \
        'BEGIN { print (u >= g && ab <= 3.00 && over == 0) ? "met" : "NOT met" }')
      summary="$summary $sc:$ok"
    fi
  done
done
echo "predictive goal (U >= goal, pooled abandon <= 3.00 %, no day over 3 %):$summary"
