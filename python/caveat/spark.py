"""caveat on Spark: the same policies, the same findings as ``caveat check``, over a DataFrame.

    from caveat.spark import check
    findings = check(["policies/red-flags"], spark.read.json("releases.jsonl",
                     prefersDecimal=True), id_field="ocid")

How it runs (every step through ``pyarrow``, as Spark's Arrow UDFs do):

1. Each record gets its position, ``__caveat_row`` (``monotonically_increasing_id``).
2. Per-record rules: ``DataFrame.mapInArrow``; each Python worker compiles the policies once and
   checks its batches. The same pass gives the groups each record joins for every rule across
   records: the rule and a token of its key values (``per vendor, buyer.unit``), computed by the
   library from the compiled rule's keys, so that aliases, lists and computed keys
   (``week(date)``) group as in the CLI.
3. Rules across records: the records are brought together by ``groupBy(rule, token)`` and each
   group evaluated with ``applyInArrow``.
4. ``all.NAME``: a first ``applyInArrow`` gives each group's values; the driver joins them in the
   order of the groups' first records and broadcasts them to the second, which evaluates the
   groups: the same values, exactly, as the CLI's one pass.

Policies are compiled on the driver first (a :class:`caveat.PolicyError` is raised there), then
by each worker from the same paths or text: files must be readable at the same path on every
worker (a shared file system, or give the policy text).

Numbers: read JSON with ``prefersDecimal=True`` (or a schema with ``DecimalType``) so that
amounts stay exact decimals, as the CLI reads them; a ``double`` column is read as the number its
shortest text spells.

Not carried over from the CLI: a key whose type differs between records (a string in one, a
number in another) forms separate groups instead of the CLI's error finding.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import caveat

__all__ = ["check", "FINDINGS_DDL", "findings_table"]

ROW = "__caveat_row"
RULE = "__caveat_rule"
TOKEN = "__caveat_token"

#: The findings DataFrame's schema (as ``caveat.Policy.check``'s, ``keys`` as JSON text and
#: without the file columns).
FINDINGS_DDL = (
    "rule string, effect string, record string, message string, cite string, row bigint, "
    "`group` string, keys string, members array<bigint>, member_records array<string>"
)

_COLUMNS = [
    "rule",
    "effect",
    "record",
    "message",
    "cite",
    "row",
    "group",
    "keys",
    "members",
    "member_records",
]

PolicySource = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]

# The policies each Python worker compiled, by their source: compiled once per worker.
_COMPILED: Dict[str, "caveat.Policy"] = {}


def _policy(source: Any) -> "caveat.Policy":
    key = json.dumps(source, default=str)
    policy = _COMPILED.get(key)
    if policy is None:
        policy = caveat.compile(source) if not isinstance(source, dict) else caveat.compile(
            text=source["text"], name=source["name"]
        )
        _COMPILED[key] = policy
    return policy


def findings_table(table: Any) -> Any:
    """A findings table of :meth:`caveat.Policy.check` in :data:`FINDINGS_DDL`'s shape."""
    import pyarrow as pa

    keys = [
        None if k is None else json.dumps(dict(k), ensure_ascii=False)
        for k in table.column("keys").to_pylist()
    ]
    columns = {name: table.column(name) for name in _COLUMNS if name != "keys"}
    columns["keys"] = pa.array(keys, type=pa.string())
    return pa.table({name: columns[name] for name in _COLUMNS})


def _empty_findings() -> Any:
    import pyarrow as pa

    return pa.table(
        {
            "rule": pa.array([], pa.string()),
            "effect": pa.array([], pa.string()),
            "record": pa.array([], pa.string()),
            "message": pa.array([], pa.string()),
            "cite": pa.array([], pa.string()),
            "row": pa.array([], pa.int64()),
            "group": pa.array([], pa.string()),
            "keys": pa.array([], pa.string()),
            "members": pa.array([], pa.list_(pa.int64())),
            "member_records": pa.array([], pa.list_(pa.string())),
        }
    )


def _without_row(batch: Any) -> Tuple[Any, int]:
    """The batch without ``__caveat_row``, and the row of its first record."""
    index = batch.schema.get_field_index(ROW)
    rows = batch.column(index)
    first = rows[0].as_py() if len(rows) else 0
    return batch.drop_columns([ROW]), first


def _record_stage(source: Any, id_field: str):
    """The function ``mapInArrow`` runs for per-record rules: findings of each batch."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        policy = _policy(source)
        for batch in batches:
            if batch.num_rows == 0:
                continue
            records, first = _without_row(batch)
            # Rows of a partition are consecutive: the batch's rows are first, first + 1, …
            found, _ = policy._compiled.check_arrow(
                pa.Table.from_batches([records]), "spark", id_field, first, True
            )
            for out in findings_table(found).to_batches():
                yield out

    return run


def _key_stage(source: Any, id_field: str):
    """The function ``mapInArrow`` runs to give each record once per group it joins, with the
    group's rule and token."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        import pyarrow.compute as pc

        policy = _policy(source)
        for batch in batches:
            if batch.num_rows == 0:
                continue
            records, first = _without_row(batch)
            _, groups = policy._compiled.check_arrow(
                pa.Table.from_batches([records]), "spark", id_field, first, True
            )
            if groups.num_rows == 0:
                continue
            positions = pc.subtract(groups.column("row"), pa.scalar(first, pa.int64()))
            taken = pa.Table.from_batches([batch]).take(positions)
            taken = taken.append_column(RULE, groups.column("rule"))
            taken = taken.append_column(TOKEN, groups.column("token"))
            for out in taken.to_batches():
                yield out

    return run


def _plain(value: Any) -> Any:
    """A group key's value as Python (Spark gives pyarrow scalars)."""
    return value.as_py() if hasattr(value, "as_py") else value


def _values_stage(source: Any, id_field: str):
    """The function ``applyInArrow`` runs for the first stage of ``all.``."""

    def run(key: Tuple[Any, ...], table: Any) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        rule, token = _plain(key[0]), _plain(key[1])
        policy = _policy(source)
        records = table.drop_columns([RULE, TOKEN])
        values = policy._compiled.group_all_values(records, int(rule), token, id_field)
        first = pc.min(table.column(ROW)).as_py()
        return pa.table(
            {
                "rule": pa.array([int(rule)], pa.int32()),
                "token": pa.array([token], pa.string()),
                "first": pa.array([first], pa.int64()),
                "values": pa.array([values], pa.string()),
            }
        )

    return run


def _group_stage(source: Any, id_field: str, all_values: Any):
    """The function ``applyInArrow`` runs to evaluate each group."""

    def run(key: Tuple[Any, ...], table: Any) -> Any:
        rule, token = _plain(key[0]), _plain(key[1])
        policy = _policy(source)
        given = all_values.value if all_values is not None else {}
        records = table.drop_columns([RULE, TOKEN])
        found = policy._compiled.group_findings(
            records, int(rule), token, id_field, given.get(int(rule))
        )
        if found.num_rows == 0:
            return _empty_findings()
        return findings_table(found)

    return run


def _source_of(policies: Any) -> Any:
    """What workers compile: absolute paths (text as is)."""
    if isinstance(policies, caveat.Policy):
        raise TypeError(
            "give caveat.spark.check the policies' paths or text, not a compiled Policy: "
            "each worker compiles them"
        )
    if isinstance(policies, str) and caveat._looks_like_text(policies):
        return {"text": policies, "name": "<policy>"}
    if isinstance(policies, (str, os.PathLike)):
        return [os.path.abspath(os.fspath(policies))]
    return [os.path.abspath(os.fspath(p)) for p in policies]


def check(
    policies: PolicySource,
    df: Any,
    *,
    id_field: str = "id",
) -> Any:
    """The findings of ``policies`` (paths or text) on the records of the Spark DataFrame ``df``,
    as a DataFrame of :data:`FINDINGS_DDL`: the same findings as ``caveat check`` on the same
    records. ``row`` is the record's ``monotonically_increasing_id`` (increasing in input
    order); ``members`` are rows too.

    Raises :class:`caveat.PolicyError` on the driver when the policies do not compile.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    source = _source_of(policies)
    policy = _policy(source)
    rules = policy.rules
    spark = df.sparkSession
    rows = df.withColumn(ROW, F.monotonically_increasing_id())
    across = [r for r in rules if r.across]
    if across:
        rows = rows.cache()
    found = rows.mapInArrow(_record_stage(source, id_field), FINDINGS_DDL)
    if not across:
        return found
    keyed_schema = StructType(
        list(rows.schema.fields)
        + [StructField(RULE, IntegerType(), False), StructField(TOKEN, StringType(), False)]
    )
    keyed = rows.mapInArrow(_key_stage(source, id_field), keyed_schema)
    grouped = keyed.groupBy(RULE, TOKEN)
    all_values = None
    if any(r.reads_all for r in across):
        keyed = keyed.cache()
        grouped = keyed.groupBy(RULE, TOKEN)
        parts = (
            grouped.applyInArrow(
                _values_stage(source, id_field),
                "rule int, token string, first bigint, values string",
            )
            .collect()
        )
        by_rule: Dict[int, List[Tuple[int, str]]] = {}
        for part in parts:
            by_rule.setdefault(part["rule"], []).append((part["first"], part["values"]))
        reading = {r.index for r in across if r.reads_all}
        combined = {
            rule: caveat._caveat.combine_all([v for _, v in sorted(values)])
            for rule, values in by_rule.items()
            if rule in reading
        }
        all_values = spark.sparkContext.broadcast(combined)
    groups = grouped.applyInArrow(_group_stage(source, id_field, all_values), FINDINGS_DDL)
    return found.unionByName(groups)
