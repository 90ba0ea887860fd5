#!/usr/bin/env bash
# The performance targets of PERFORMANCE.md (P1-P7), measured side by side in one run.
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
"$bin/caveat-bench" rules 1000 > bench-data/rules-1000.policy
"$bin/caveat-bench" rules 10000 > bench-data/rules-10000.policy
rules20=bench/rules/realistic-20.policy
small=bench-data/purchases-100000.yaml
large=bench-data/purchases-1000000.yaml

declare -A seconds peak
time_once() { # name cmd...
  local name=$1; shift
  /usr/bin/time -o bench-data/.time -f "%e %M" "$@" > /dev/null 2>&1 || true
  read -r s k < <(tail -1 bench-data/.time)  # a failing exit status adds a line before it
  echo "$name $s $k" >> bench-data/.times
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

# P1: 20 rules, one core, against reading alone.
pair read "$bin/caveat-bench" read "$small" -- check20 "$bin/caveat" check --jobs 1 --format json "$rules20" "$small"
median_of read; median_of check20
p1=$(ratio "${seconds[read]}" "${seconds[check20]}")

# P3: 1,000 rules, one core, against reading alone.
pair read1000 "$bin/caveat-bench" read "$small" -- check1000 "$bin/caveat" check --jobs 1 --format json bench-data/rules-1000.policy "$small"
median_of read1000; median_of check1000
p3=$(ratio "${seconds[read1000]}" "${seconds[check1000]}")

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
echo "| P1 20 rules, 1 core, vs reading alone | $p1 (read ${seconds[read]} s, check ${seconds[check20]} s, $(mb "${peak[check20]}")) | >= 0.9 | $(verdict "$p1" 0.9 ">=") |"
echo "| P2 2 cores vs 1 core, 1M records | $p2 (${seconds[jobs1]} s vs ${seconds[jobs2]} s) | >= 1.8 | $(verdict "$p2" 1.8 ">=") |"
echo "| P3 1,000 rules, 1 core, vs reading alone | $p3 (read ${seconds[read1000]} s, check ${seconds[check1000]} s) | >= 0.8 | $(verdict "$p3" 0.8 ">=") |"
echo "| P4 evaluation alone vs regorus | $p4 | >= 10x (20 rules), >= 100x (1,000) | see below |"
echo "| P5 memory, 1 GB file | $p5 | <= 100 MB | $( [ -n "$quick" ] && echo skipped || verdict "${p5k:-0}" 102400 "<=") |"
echo "| P6 tiny check, whole process | $p6 ms | <= 5 ms | $(verdict "$p6" 5 "<=") |"
echo "| P7 compile 10,000 rules | $p7 ms | <= 100 ms | $(verdict "$p7" 100 "<=") |"
if [ -f bench-data/peers.txt ] && [ -z "$quick" ]; then
  echo
  cat bench-data/peers.txt
fi
