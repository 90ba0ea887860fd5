"""Records/s through `Policy.check` on an Arrow table of purchase records, against `caveat check`
on the same records as JSON Lines with `--jobs 1`, and the Python process's peak memory.

    python python/benches/check_speed.py [RECORDS] [POLICY]

RECORDS defaults to 1,000,000, POLICY to bench/rules/realistic-20.policy. The records are those
of python/tests/test_spark.py's generator (seed 15), written to target/bench-purchases.jsonl.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pj

import caveat

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python" / "tests"))
from test_spark import write_purchases  # noqa: E402


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    policy_path = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "bench/rules/realistic-20.policy"
    data = REPO / "target" / f"bench-purchases-{count}.jsonl"
    if not data.exists():
        write_purchases(data, count, seed=15)
    cli = REPO / "target/release/caveat"
    start = time.monotonic()
    run = subprocess.run(
        [str(cli), "check", "--jobs", "1", "--format", "jsonl", "--fail-on", "never",
         "--allow-outside", str(policy_path), str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, cwd=REPO,
    )
    cli_seconds = time.monotonic() - start
    cli_findings = sum(1 for line in run.stdout.splitlines() if line.startswith(b'{"rule"'))
    # The amounts as exact decimals, as the CLI reads them.
    schema = pa.schema([("amount", pa.decimal128(12, 2))])
    table = pj.read_json(data, parse_options=pj.ParseOptions(explicit_schema=schema,
                                                             unexpected_field_behavior="infer"))
    policy = caveat.compile(policy_path)
    start = time.monotonic()
    found = policy.check(table)
    check_seconds = time.monotonic() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "records": count,
        "policy": str(policy_path.relative_to(REPO)),
        "cli_jsonl_jobs_1_seconds": round(cli_seconds, 2),
        "cli_records_per_second": round(count / cli_seconds),
        "cli_findings": cli_findings,
        "check_arrow_seconds": round(check_seconds, 2),
        "check_records_per_second": round(count / check_seconds),
        "check_findings": found.num_rows,
        "python_peak_rss_mb": round(peak_mb),
        "table_mb": round(table.nbytes / 2**20),
    }, indent=2))


if __name__ == "__main__":
    main()
