#!/usr/bin/env python3
"""Compares what Cardinal flags with what caveat's red-flag pack flags, indicator by indicator.

Usage: compare-cardinal.py CARDINAL.json CAVEAT.jsonl

CARDINAL.json is the output of `ocdscardinal indicators` (its "OCID", "Tenderer", "Buyer" and
"ProcuringEntity" maps), or a `.expected` file of Cardinal's indicator fixtures, which has the
same shape (`scripts/cardinal-fixtures.sh`); CAVEAT.jsonl that of `caveat check --id-field ocid --format jsonl
policies/red-flags ...`. A rule `RNNN` or `RNNN-KIND` of the pack stands for indicator RNNN on
processes (R025 and R048 flag tenderers and suppliers) or on KIND. Prints one line per indicator
and kind, and exits 1 when any differs.
"""
import collections
import json
import sys

# What each indicator's rule without a suffix flags, where that is not the process.
PLAIN = {"R025": "tenderer", "R048": "tenderer"}
# Cardinal's maps, by the kind of what they flag.
KINDS = {"OCID": "process", "Tenderer": "tenderer", "Buyer": "buyer", "ProcuringEntity": "procuring-entity"}


def main(cardinal_path, caveat_path):
    caveat = collections.defaultdict(set)
    with open(caveat_path, encoding="utf-8") as lines:
        for line in lines:
            finding = json.loads(line)
            rule = finding.get("rule")
            if rule is None:
                continue
            indicator, _, kind = rule.partition("-")
            caveat[(indicator, kind or PLAIN.get(indicator, "process"))].add(finding["record"])
    with open(cardinal_path, encoding="utf-8") as text:
        results = json.load(text)
    cardinal = collections.defaultdict(set)
    for name, kind in KINDS.items():
        for flagged, indicators in results.get(name, {}).items():
            for indicator in indicators:
                cardinal[(indicator, kind)].add(flagged)
    same = True
    for key in sorted(set(cardinal) | set(caveat)):
        theirs, ours = cardinal.get(key, set()), caveat.get(key, set())
        verdict = "same" if theirs == ours else "DIFFERENT"
        same = same and theirs == ours
        print(f"{key[0]} {key[1]:17} Cardinal {len(theirs):6}  caveat {len(ours):6}  {verdict}"
              + ("" if theirs == ours else
                 f"  only Cardinal: {sorted(theirs - ours)[:5]}  only caveat: {sorted(ours - theirs)[:5]}"))
    print("every indicator flags the same" if same else "the results differ")
    return 0 if same else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
