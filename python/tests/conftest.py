"""Helpers shared by the tests: the repository, the `caveat` CLI, and findings compared as the
CLI's JSON Lines report gives them."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import pytest

REPO = Path(__file__).resolve().parents[2]

# A finding as compared between runs: rule, effect, record (or group) name, message, the group's
# keys (sorted) and its records' names, in order.
Finding = Tuple[str, str, str, str, Optional[Tuple[Tuple[str, str], ...]], Optional[Tuple[str, ...]]]


def binary(name: str) -> Path:
    """A binary of the workspace: `$CAVEAT_BIN_DIR/NAME`, else target/release, else target/debug."""
    folders = [os.environ.get("CAVEAT_BIN_DIR"), REPO / "target/release", REPO / "target/debug"]
    for folder in folders:
        if folder and (Path(folder) / name).is_file():
            return Path(folder) / name
    pytest.fail(f"`{name}` is not built: run `cargo build --release -p caveat -p caveat-bench`")


def cli_findings(*args: str, cwd: Path = REPO) -> List[Dict[str, Any]]:
    """The findings of `caveat check --format jsonl ARGS…` (exit 0 or 1)."""
    run = subprocess.run(
        [str(binary("caveat")), "check", "--format", "jsonl", "--fail-on", "never", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    found = []
    for line in run.stdout.splitlines():
        item = json.loads(line)
        assert "error" not in item, item
        if "summary" not in item:
            found.append(item)
    return found


def from_cli(item: Dict[str, Any]) -> Finding:
    group = item.get("group")
    return (
        item["rule"],
        item["effect"],
        item["record"],
        item["message"],
        tuple(sorted(group["key"].items())) if group else None,
        tuple(r["record"] for r in group["records"]) if group else None,
    )


def from_table(row: Dict[str, Any]) -> Finding:
    """A row of a findings table (`keys` a list of pairs, or JSON text from Spark)."""
    keys = row.get("keys")
    if isinstance(keys, str):
        keys = json.loads(keys).items()
    return (
        row["rule"],
        row["effect"],
        row["record"],
        row["message"],
        tuple(sorted((k, v) for k, v in keys)) if keys is not None else None,
        tuple(row["member_records"]) if row.get("member_records") is not None else None,
    )


def same_findings(expected: Iterable[Finding], found: Iterable[Finding]) -> None:
    """Asserts the two runs found the same findings, one by one, showing the first differences."""
    want, got = Counter(expected), Counter(found)
    missing = list((want - got).elements())
    extra = list((got - want).elements())
    assert not missing and not extra, (
        f"{len(missing)} findings missing, {len(extra)} extra; "
        f"first missing: {missing[:3]}; first extra: {extra[:3]}"
    )
