#!/usr/bin/env bash
# Measures `caveat check --format json` against just reading the same file with the same YAML
# reader, in one run: throughput and peak memory of both. Generated data goes to bench-data/
# (ignored by git); the generator uses a fixed seed, so every run sees the same file.
#
#   scripts/bench.sh [RECORDS] [RUNS]      (defaults: 100000 records, 5 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-100000}
runs=${2:-5}
cargo build --release -q -p caveat -p caveat-bench
mkdir -p bench-data
data=bench-data/purchases-$records.yaml
[ -f "$data" ] || ./target/release/caveat-bench gen "$records" 42 > "$data"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "data: $data ($(du -h "$data" | cut -f1)), policies: policies/ ($(grep -c '^rule ' policies/*.policy | awk -F: '{s+=$2} END {print s}') rules)"
measure() { # name, command...: prints "seconds peak-KB" for each run, alternating with the other
  local name=$1; shift
  /usr/bin/time -f "$name %e %M" "$@" > /dev/null 2>> bench-data/times.txt || true
}
rm -f bench-data/times.txt
for _ in $(seq "$runs"); do
  measure read ./target/release/caveat-bench read "$data"
  measure check ./target/release/caveat check --format json policies/ "$data"
done
grep -E '^(read|check) ' bench-data/times.txt | sort -k1,1 -k2,2n | awk -v n="$records" -v runs="$runs" '
  { t[$1] = t[$1] " " $2; m[$1] = $3 > m[$1] ? $3 : m[$1]; c[$1]++; if (c[$1] == int((runs + 1) / 2)) med[$1] = $2 }
  END {
    printf "%-6s %10s %14s %12s\n", "what", "median s", "records/s", "peak RSS MB"
    for (k in med) printf "%-6s %10.2f %14.0f %12.1f\n", k, med[k], n / med[k], m[k] / 1024
    printf "check / read throughput: %.2f\n", med["read"] / med["check"]
  }'
