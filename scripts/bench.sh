#!/usr/bin/env bash
# The performance targets of PERFORMANCE.md (P1-P10), measured side by side in one run: P1 and P3
# against saphyr-parser's bare event loop, P8 against serde_json, each floor timed in the same run.
#
#   scripts/bench.sh            everything (P5 generates a 1 GB file: about a minute more)
#   BENCH_QUICK=1 scripts/bench.sh   skips P5 and the peer comparison (P4)
#   BENCH_RUNS=5 scripts/bench.sh    runs per timing (the median is reported; default 3)
#   BENCH_PEERS=0 scripts/bench.sh   skips the peer comparison only
#
# It builds --release, generates the workload with fixed seeds into bench-data/ (ignored by git),
# and prints each target's figure. Absolute times drift on a shared machine; the ratios are
# measured with the commands alternating, so that drift hits both sides.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${BENCH_RUNS:-3}
quick=${BENCH_QUICK:-}

cargo build --release -q -p caveat -p caveat-bench
bin=./target/release
mkdir -p bench-data
gen() { # records, file
  [ -s "$2" ] || "$bin/caveat-bench" gen "$1" 42 > "$2"
}
gen 100000 bench-data/purchases-100000.yaml
gen 1000000 bench-data/purchases-1000000.yaml
gen 10 bench-data/tiny.yaml
[ -s bench-data/purchases-100000.jsonl ] || "$bin/caveat-bench" jsonl bench-data/purchases-100000.yaml > bench-data/purchases-100000.jsonl
"$bin/caveat-bench" rules 1000 > bench-data/rules-1000.policy
"$bin/caveat-bench" rules 10000 > bench-data/rules-10000.policy
rules20=bench/rules/realistic-20.policy
small=bench-data/purchases-100000.yaml
large=bench-data/purchases-1000000.yaml

declare -A seconds peak
time_once() { # name cmd...: wall seconds to the millisecond (time's %e has 10 ms steps), peak KB
  local name=$1; shift
  local start end
  start=$(date +%s%N)
  /usr/bin/time -o bench-data/.time -f "%e %M" "$@" > /dev/null 2>&1 || true
  end=$(date +%s%N)
  read -r _ k < <(tail -1 bench-data/.time)  # a failing exit status adds a line before it
  echo "$name $(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }') $k" >> bench-data/.times
}
pair() { # nameA cmdA... -- nameB cmdB...  (alternating, $runs times each)
  local a=() b=() seen=0
  for x in "$@"; do
    if [ "$x" = "--" ]; then seen=1; continue; fi
    if [ $seen = 0 ]; then a+=("$x"); else b+=("$x"); fi
  done
  for _ in $(seq "$runs"); do time_once "${a[@]}"; time_once "${b[@]}"; done
}
median_of() { # name -> sets seconds[name], peak[name]
  local line
  line=$(grep "^$1 " bench-data/.times | sort -k2,2n | sed -n "$(( (runs + 1) / 2 ))p")
  seconds[$1]=$(echo "$line" | cut -d' ' -f2)
  peak[$1]=$(grep "^$1 " bench-data/.times | cut -d' ' -f3 | sort -n | tail -1)
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v x="$1" -v t="$2" -v dir="$3" 'BEGIN { ok = (dir == ">=") ? (x >= t) : (x <= t); print ok ? "met" : "NOT met" }'; }

rm -f bench-data/.times
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"

# P1: 20 rules, one core, against saphyr-parser's bare event loop over the same file.
pair read "$bin/caveat-bench" saphyr "$small" -- check20 "$bin/caveat" check --jobs 1 --format json "$rules20" "$small"
median_of read; median_of check20
p1=$(ratio "${seconds[read]}" "${seconds[check20]}")

# P3: 1,000 rules, one core, against the same floor.
pair read1000 "$bin/caveat-bench" saphyr "$small" -- check1000 "$bin/caveat" check --jobs 1 --format json bench-data/rules-1000.policy "$small"
median_of read1000; median_of check1000
p3=$(ratio "${seconds[read1000]}" "${seconds[check1000]}")

# P8: JSON Lines, 20 rules, one core, against serde_json::Value per line.
jsonl=bench-data/purchases-100000.jsonl
pair serde "$bin/caveat-bench" serde-json "$jsonl" -- checkjsonl "$bin/caveat" check --jobs 1 --format json "$rules20" "$jsonl"
median_of serde; median_of checkjsonl
p8=$(ratio "${seconds[serde]}" "${seconds[checkjsonl]}")

# P9: what a finding costs, from evaluation to JSON bytes: a rule that fires on every record
# against the same rule that never fires, over the same records (a million of them, so that the
# difference is well above the noise of a shared machine).
[ -s bench-data/purchases-1000000.jsonl ] || "$bin/caveat-bench" jsonl "$large" > bench-data/purchases-1000000.jsonl
echo 'rule every { note when amount > 0 }' > bench-data/fires.policy
echo 'rule never { note when amount < 0 }' > bench-data/silent.policy
jsonl_large=bench-data/purchases-1000000.jsonl
pair fires "$bin/caveat" check --jobs 1 --format json bench-data/fires.policy "$jsonl_large" -- silent "$bin/caveat" check --jobs 1 --format json bench-data/silent.policy "$jsonl_large"
median_of fires; median_of silent
findings=$("$bin/caveat" check --jobs 1 --format jsonl -q bench-data/fires.policy "$jsonl_large" | grep -c '"rule"' || true)
p9=$(awk -v a="${seconds[fires]}" -v b="${seconds[silent]}" -v n="$findings" 'BEGIN { printf "%.2f", (a - b) / n * 1e6 }')

# P10: the red-flag pack against Cardinal on 100,000 OCDS releases, CPU time (user + sys).
p10="not measured (set CARDINAL)"
p10r=""
if [ -n "${CARDINAL:-}" ] && [ -x "$CARDINAL" ]; then
  [ -s bench-data/ocds-100000.jsonl ] || "$bin/caveat-bench" ocds 100000 42 > bench-data/ocds-100000.jsonl
  rm -rf bench-data/red-flags && cp -r policies/red-flags bench-data/red-flags
  sed -i 's/^let no_price_details = \[\]/let no_price_details = ["Sorteo de Obras"]/' bench-data/red-flags/settings.policy
  printf 'currency = USD\nno_price_comparison_procurement_methods = Sorteo de Obras\n' > bench-data/cardinal.ini
  for r in R003 R018 R024 R025 R028 R030 R035 R036 R038 R048 R058; do printf '[%s]\n' "$r" >> bench-data/cardinal.ini; done
  # cpu OUT COMMAND...: the command's CPU seconds; its output goes to OUT.
  cpu() { local out=$1; shift; /usr/bin/time -o bench-data/.cpu -f "%U %S" "$@" > "$out" 2> /dev/null || true; awk '{ printf "%.2f", $1 + $2 }' bench-data/.cpu; }
  c_cardinal=$(cpu bench-data/red-flags-cardinal.json "$CARDINAL" indicators -s bench-data/cardinal.ini bench-data/ocds-100000.jsonl)
  c_caveat=$(cpu bench-data/red-flags-caveat.jsonl "$bin/caveat" check --jobs 1 --id-field ocid --format jsonl bench-data/red-flags bench-data/ocds-100000.jsonl)
  p10r=$(ratio "$c_caveat" "$c_cardinal")
  # The same results: every process, tenderer, buyer and procuring entity, indicator by indicator.
  if python3 scripts/compare-cardinal.py bench-data/red-flags-cardinal.json bench-data/red-flags-caveat.jsonl > bench-data/red-flags-compare.txt; then
    same="same results"
  else
    same="DIFFERENT results, see bench-data/red-flags-compare.txt"
  fi
  p10="$p10r (caveat $c_caveat s, Cardinal $c_cardinal s of CPU; $same)"
fi

# P2: two cores against one, on one large file.
pair jobs1 "$bin/caveat" check --jobs 1 --format json "$rules20" "$large" -- jobs2 "$bin/caveat" check --jobs 2 --format json "$rules20" "$large"
median_of jobs1; median_of jobs2
p2=$(ratio "${seconds[jobs1]}" "${seconds[jobs2]}")

# P6: a tiny check (one rule, ten records) as a whole process: the mean of 50 runs.
start=$(date +%s%N)
for _ in $(seq 50); do "$bin/caveat" check --format json bench/rules/headline.policy bench-data/tiny.yaml > /dev/null || true; done
p6=$(awk -v ns=$(( $(date +%s%N) - start )) 'BEGIN { printf "%.1f", ns / 50 / 1e6 }')

# P7: compiling 10,000 rules.
p7=$("$bin/caveat-bench" compile bench-data/rules-10000.policy | awk '{print $(NF-1)}')

# P5: peak memory checking a 1 GB file.
p5="skipped (BENCH_QUICK)"
if [ -z "$quick" ]; then
  gen 5200000 bench-data/purchases-1g.yaml
  /usr/bin/time -o bench-data/.time -f "%e %M" "$bin/caveat" check --format json "$rules20" bench-data/purchases-1g.yaml > /dev/null 2>&1 || true
  read -r p5s p5k < <(tail -1 bench-data/.time)
  p5="$(awk -v k="$p5k" 'BEGIN { printf "%.0f", k / 1024 }') MB peak RSS for $(du -h bench-data/purchases-1g.yaml | cut -f1) ($p5s s, --jobs $(nproc))"
fi

# P4: evaluation alone against regorus, CEL and Cedar (a workspace member of its own).
p4="skipped (BENCH_QUICK)"
if [ -z "$quick" ] && [ "${BENCH_PEERS:-1}" = 1 ] && [ -d peers ]; then
  cargo run --release -q -p caveat-peers > bench-data/peers.txt 2>&1 || true
  p4="see the table below"
fi

mb() { awk -v k="$1" 'BEGIN { printf "%.0f MB", k / 1024 }'; }
echo
echo "| target | measured | goal | verdict |"
echo "| --- | --- | --- | --- |"
echo "| P1 20 rules, 1 core, vs saphyr-parser events | $p1 (events ${seconds[read]} s, check ${seconds[check20]} s, $(mb "${peak[check20]}")) | >= 1.0 | $(verdict "$p1" 1.0 ">=") |"
echo "| P2 2 cores vs 1 core, 1M records | $p2 (${seconds[jobs1]} s vs ${seconds[jobs2]} s) | >= 1.8 | $(verdict "$p2" 1.8 ">=") |"
echo "| P3 1,000 rules, 1 core, vs saphyr-parser events | $p3 (events ${seconds[read1000]} s, check ${seconds[check1000]} s) | >= 0.8 | $(verdict "$p3" 0.8 ">=") |"
echo "| P4 evaluation alone vs regorus | $p4 | >= 10x (20 rules), >= 100x (1,000) | see below |"
echo "| P5 memory, 1 GB file | $p5 | <= 100 MB | $( [ -n "$quick" ] && echo skipped || verdict "${p5k:-0}" 102400 "<=") |"
echo "| P6 tiny check, whole process | $p6 ms | <= 5 ms | $(verdict "$p6" 5 "<=") |"
echo "| P7 compile 10,000 rules | $p7 ms | <= 100 ms | $(verdict "$p7" 100 "<=") |"
echo "| P8 JSON Lines, 20 rules, 1 core, vs serde_json | $p8 (serde_json ${seconds[serde]} s, check ${seconds[checkjsonl]} s) | >= 1.0 | $(verdict "$p8" 1.0 ">=") |"
echo "| P9 cost of a finding, evaluation to JSON | $p9 µs ($findings findings: ${seconds[fires]} s vs ${seconds[silent]} s) | <= 0.3 µs | $(verdict "$p9" 0.3 "<=") |"
echo "| P10 red-flag pack vs Cardinal, CPU | $p10 | <= 0.67 | $( [ -n "$p10r" ] && verdict "$p10r" 0.67 "<=" || echo "not measured") |"
if [ -f bench-data/peers.txt ] && [ -z "$quick" ]; then
  echo
  cat bench-data/peers.txt
fi
