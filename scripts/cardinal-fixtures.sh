#!/usr/bin/env bash
# Runs the red-flag pack on Cardinal's own indicator fixtures and compares what it flags with what
# Cardinal's tests expect, fixture by fixture.
#
#   scripts/cardinal-fixtures.sh CARDINAL_SOURCE
#
# CARDINAL_SOURCE is a checkout of open-contracting/cardinal-rs; its tests/fixtures/indicators/
# hold NAME.jsonl (releases) and NAME.expected (Cardinal's results, in the shape of its
# `indicators` output). The settings are the ones Cardinal's tests use (its build.rs): the
# procurement method details EXC excluded, NPC without price comparison, and the setting a
# fixture's name carries (R003-threshold-10: `[R003] threshold = 10`). Nothing is copied into
# this repository; the fixtures are read where they are. Exits 1 when any fixture differs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# = 1 ] && [ -d "$1/tests/fixtures/indicators" ] || {
  echo "usage: $0 CARDINAL_SOURCE (a checkout of open-contracting/cardinal-rs)" >&2
  exit 2
}
fixtures=$1/tests/fixtures/indicators
cargo build --release -q -p caveat
# Inside the project: caveat reads no file outside it.
work=bench-data/cardinal-fixtures
failed=0
for data in "$fixtures"/*.jsonl; do
  name=$(basename "$data" .jsonl)
  indicator=${name%%-*}
  rm -rf "$work" && mkdir -p "$work/pack"
  cp policies/red-flags/settings.policy "policies/red-flags/$indicator.policy" "$work/pack/"
  # set FILE PATTERN REPLACEMENT: a setting changed in place; a pattern that no longer matches
  # the pack stops the run (it would silently compare with the defaults).
  set_let() {
    grep -q "$2" "$1" || { echo "$name: no line matches '$2' in $1" >&2; exit 2; }
    sed -i "s/$2/$3/" "$1"
  }
  set_let "$work/pack/settings.policy" '^let excluded_details = \[\]' 'let excluded_details = [EXC]'
  set_let "$work/pack/settings.policy" '^let no_price_details = \[\]' 'let no_price_details = [NPC]'
  # A setting in the fixture's name: INDICATOR-FIELD-VALUE, or INDICATOR-FIELD-KEY-VALUE-...
  # for a map; `+` separates the items of a list.
  setting=${name#"$indicator"}
  case $setting in
    "" | -tenderer) ;;
    -threshold-*) set_let "$work/pack/$indicator.policy" '^let r003_days = .*' "let r003_days = ${setting#-threshold-}" ;;
    -procurement_methods-*)
      list=${setting#-procurement_methods-}
      set_let "$work/pack/$indicator.policy" '^let r003_methods = .*' "let r003_methods = [${list//+/, }]" ;;
    -procurement_method_details-*)
      pairs=$(echo "${setting#-procurement_method_details-}" | awk -F- '{ for (i = 1; i < NF; i += 2) printf "%s[%s, %s]", (i > 1 ? ", " : ""), $i, $(i + 1) }')
      set_let "$work/pack/$indicator.policy" '^let r003_days_by_details = .*' "let r003_days_by_details = [$pairs]" ;;
    -minimum_contracting_processes-*)
      set_let "$work/pack/$indicator.policy" '^let r048_minimum_processes = .*' "let r048_minimum_processes = ${setting#-minimum_contracting_processes-}" ;;
    *) echo "$name: a setting this script does not know ($setting)"; failed=1; continue ;;
  esac
  cp "$data" "$work/releases.jsonl"
  ./target/release/caveat check --jobs 1 --id-field ocid --format jsonl -q \
    "$work/pack" "$work/releases.jsonl" > "$work/caveat.jsonl" 2> "$work/stderr" || true
  if python3 scripts/compare-cardinal.py "$fixtures/$name.expected" "$work/caveat.jsonl" > "$work/compare.txt"; then
    echo "$name: same ($(grep -c '^R.*Cardinal.* same$' "$work/compare.txt") indicators and kinds)"
  else
    echo "$name: DIFFERENT"
    grep -v ' same' "$work/compare.txt" | sed 's/^/  /'
    # What caveat said on stderr (errors in the pack, data it could not read), if anything.
    grep -v 'lint::unused_let\|is never used\|^$' "$work/stderr" | head -5 | sed 's/^/  caveat: /'
    failed=1
  fi
done
rm -rf "$work"
if [ $failed = 0 ]; then echo "every fixture: the same as Cardinal's tests expect"; fi
exit $failed
