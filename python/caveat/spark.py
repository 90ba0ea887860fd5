"""caveat on Spark: the same policies, the same findings as ``caveat check``, over a DataFrame.

    from caveat.spark import check, decimal_schema
    inferred = spark.read.json("releases.jsonl").schema
    df = spark.read.json("releases.jsonl", schema=decimal_schema(inferred, 18, 2))
    findings = check(["policies/red-flags"], df, id_field="ocid")

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

Numbers: give Spark a schema with ``DecimalType`` for amounts, so that they stay exact decimals
with their scale, as the CLI reads them (``49350.00``): :func:`decimal_schema` turns an inferred
schema's ``double`` fields into decimals. A ``double`` column is read as the number its shortest
text spells (``49350``). Do not use ``prefersDecimal``: Spark then also reads strings of digits
(UNSPSC codes) as decimals; nor ``primitivesAsString``: ``min`` and ``max`` of strings compare
them as text.

A key whose type differs between records (a string in one, a number in another) is bad data:
``caveat check`` reports each record whose key has another type than the first record's as an
error finding and leaves it out of the groups; :func:`check` refuses the run instead, with a
:class:`caveat.DataError` that names the rule, the key and a record of each type (telling the
first record apart needs every record in input order).
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import caveat

__all__ = ["check", "decimal_schema", "FINDINGS_DDL", "findings_table"]

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


def decimal_schema(schema: Any, precision: int = 38, scale: int = 2) -> Any:
    """``schema`` with every ``double`` field, at any depth, as ``DecimalType(precision,
    scale)``: read JSON amounts written with ``scale`` decimals exactly.

    Spark rounds a value with more than ``scale`` decimals (half up) and reads one with more
    than ``precision - scale`` digits before the point as null (missing to caveat), silently:
    choose both for the data, or the findings differ from ``caveat check``'s.

        inferred = spark.read.json(path).schema
        df = spark.read.json(path, schema=decimal_schema(inferred))
    """
    from pyspark.sql.types import ArrayType, DecimalType, DoubleType, MapType, StructField, StructType

    def convert(kind: Any) -> Any:
        if isinstance(kind, DoubleType):
            return DecimalType(precision, scale)
        if isinstance(kind, StructType):
            return StructType(
                [StructField(f.name, convert(f.dataType), f.nullable, f.metadata) for f in kind]
            )
        if isinstance(kind, ArrayType):
            return ArrayType(convert(kind.elementType), kind.containsNull)
        if isinstance(kind, MapType):
            return MapType(kind.keyType, convert(kind.valueType), kind.valueContainsNull)
        return kind

    return convert(schema)


def _policy(source: Dict[str, Any]) -> "caveat.Policy":
    key = json.dumps(source, sort_keys=True)
    policy = _COMPILED.get(key)
    if policy is None:
        if "text" in source:
            policy = caveat.compile(text=source["text"], name=source["name"],
                                    today=source["today"])
        else:
            policy = caveat.compile(source["paths"], today=source["today"])
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


def _checked(source: Any, id_field: str, batches: Iterator[Any]) -> Iterator[Tuple[Any, int, Any, Any]]:
    """Each non-empty batch checked: the batch, the row of its first record, its findings and
    the groups its records join."""
    import pyarrow as pa

    policy = _policy(source)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        records, first = _without_row(batch)
        # Rows of a partition are consecutive: the batch's rows are first, first + 1, …
        found, groups = policy._compiled.check_arrow(
            pa.Table.from_batches([records]), "spark", id_field, first, True
        )
        yield batch, first, found, groups


def _record_stage(source: Any, id_field: str):
    """The function ``mapInArrow`` runs for per-record rules: findings of each batch."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        for _, _, found, _ in _checked(source, id_field, batches):
            for out in findings_table(found).to_batches():
                yield out

    return run


def _key_stage(source: Any, id_field: str, columns: List[str], rules: List[int]):
    """The function ``mapInArrow`` runs to give each record once per group it joins of the
    group ``rules``, with the group's rule and token, and only the ``columns`` the rules across
    records read."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        import pyarrow.compute as pc

        for batch, first, _, groups in _checked(source, id_field, batches):
            groups = groups.filter(pc.is_in(groups.column("rule"), pa.array(rules, pa.int32())))
            if groups.num_rows == 0:
                continue
            positions = pc.subtract(groups.column("row"), pa.scalar(first, pa.int64()))
            taken = pa.Table.from_batches([batch]).select(columns).take(positions)
            taken = taken.append_column(RULE, groups.column("rule"))
            taken = taken.append_column(TOKEN, groups.column("token"))
            for out in taken.to_batches():
                yield out

    return run


def _record_values_stage(source: Any, id_field: str, rules: List[int]):
    """The function ``mapInArrow`` runs for the first stage of ``all.`` of rules without
    ``per``: each batch's values, with its first row."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        policy = _policy(source)
        for batch in batches:
            if batch.num_rows == 0:
                continue
            first = batch.column(batch.schema.get_field_index(ROW))[0].as_py()
            for rule in rules:
                values = policy._compiled.group_all_values(batch, rule, None, id_field)
                yield pa.RecordBatch.from_pydict(
                    {
                        "rule": pa.array([rule], pa.int32()),
                        "token": pa.array([""], pa.string()),
                        "first": pa.array([first], pa.int64()),
                        "values": pa.array([values], pa.string()),
                    }
                )

    return run


def _record_rules_stage(source: Any, id_field: str, rules: List[int], all_values: Any):
    """The function ``mapInArrow`` runs to evaluate rules without ``per`` that read ``all.``,
    a batch of records at a time."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        policy = _policy(source)
        given = all_values.value
        for batch in batches:
            if batch.num_rows == 0:
                continue
            for rule in rules:
                found = policy._compiled.group_findings(
                    batch, rule, None, id_field, given.get(rule)
                )
                for out in findings_table(found).to_batches():
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
        given = all_values.value
        records = table.drop_columns([RULE, TOKEN])
        found = policy._compiled.group_findings(
            records, int(rule), token, id_field, given.get(int(rule))
        )
        if found.num_rows == 0:
            return _empty_findings()
        return findings_table(found)

    return run


def _source_of(policies: Any, today: Optional[str]) -> Dict[str, Any]:
    """What workers compile: absolute paths or the text, and the day."""
    if isinstance(policies, caveat.Policy):
        raise TypeError(
            "give caveat.spark.check the policies' paths or text, not a compiled Policy: "
            "each worker compiles them"
        )
    if isinstance(policies, str) and caveat._looks_like_text(policies):
        return {"text": policies, "name": "<policy>", "today": today}
    if isinstance(policies, (str, os.PathLike)):
        policies = [policies]
    return {"paths": [os.path.abspath(os.fspath(p)) for p in policies], "today": today}


def _refuse_mixed_key_types(keyed: Any, rules: Sequence["caveat.Rule"], id_field: str) -> None:
    """Raises :class:`caveat.DataError` when a key of a group rule has values of two types (the
    token of a group tags each key value with its type: ``s:``, ``n:``, ``d:``, ``t:``, ``b:``)."""
    from pyspark.sql import functions as F

    kinds = keyed.select(
        F.col(RULE).alias("rule"),
        F.expr(f"transform(split({TOKEN}, '\\u001f'), k -> substring(k, 1, 1))").alias("kinds"),
        F.col(id_field.split(".")[0]).cast("string").alias("record")
        if id_field.split(".")[0] in keyed.columns
        else F.col(ROW).cast("string").alias("record"),
    )
    mixed = (
        kinds.select("rule", F.posexplode("kinds").alias("position", "kind"), "record")
        .groupBy("rule", "position", "kind")
        .agg(F.min("record").alias("record"))
        .groupBy("rule", "position")
        .agg(F.collect_list(F.struct("kind", "record")).alias("seen"))
        .where(F.size("seen") > 1)
        .limit(1)
        .collect()
    )
    if not mixed:
        return
    names = {"s": "a string", "n": "a number", "d": "a date", "t": "a date-time", "b": "a boolean"}
    found = mixed[0]
    rule = next((r for r in rules if r.index == found["rule"]), None)
    key = rule.keys[found["position"]] if rule and found["position"] < len(rule.keys) else str(found["position"] + 1)
    seen = ", ".join(
        f"{names.get(s['kind'], s['kind'])} for `{s['record']}`" for s in sorted(found["seen"], key=lambda s: s["kind"])
    )
    raise caveat.DataError(
        f"the key `{key}` of rule `{rule.id if rule else found['rule']}` has values of several types "
        f"({seen}): a key must have one type in every record; `caveat check` reports each such "
        "record as an error finding, caveat.spark refuses the run",
        [],
    )


def _refuse_unreadable(policy: "caveat.Policy", df: Any, id_field: str) -> None:
    """Raises :class:`caveat.DataError` on the driver when ``df`` has a column caveat.spark
    needs for itself or one of a type caveat does not read (each worker would fail the job with
    it, in Spark's words). The types are tried on one row of nulls of ``df``'s schema."""
    import pyarrow as pa

    # Spark matches column names whatever their case, by default.
    taken = [c for c in df.columns if c.lower() in (ROW, RULE, TOKEN)]
    if taken:
        raise caveat.DataError(
            f"the DataFrame has a column `{taken[0]}`, a name caveat.spark gives its own "
            "bookkeeping columns: rename it (`df.withColumnRenamed`)",
            [],
        )
    try:
        from pyspark.sql.pandas.types import to_arrow_schema

        schema = to_arrow_schema(df.schema)
    except Exception:  # A type Arrow cannot carry: Spark's own error will name it.
        return
    nulls = pa.Table.from_arrays([pa.nulls(1, f.type) for f in schema], names=schema.names)
    policy.check(nulls, id_field=id_field)


def check(
    policies: PolicySource,
    df: Any,
    *,
    id_field: str = "id",
    today: Union[str, "datetime.date", None] = None,
) -> Any:
    """The findings of ``policies`` (paths or text) on the records of the Spark DataFrame ``df``,
    as a DataFrame of :data:`FINDINGS_DDL`: the same findings as ``caveat check`` on the same
    records. ``row`` is the record's ``monotonically_increasing_id`` (increasing in input
    order); ``members`` are rows too.

    ``today`` is the day waivers are applied as of (as ``--today``); by default the driver's
    current date (UTC), which every worker then uses.

    Raises :class:`caveat.PolicyError` on the driver when the policies do not compile, and
    :class:`caveat.DataError` when a column has a type caveat does not read or a name
    caveat.spark uses (``__caveat_row``, ``__caveat_rule``, ``__caveat_token``).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    source = _source_of(policies, None if today is None else str(today))
    policy = _policy(source)
    # The workers apply the waivers as of the driver's day.
    source = {**source, "today": policy.today}
    _COMPILED[json.dumps(source, sort_keys=True)] = policy
    _refuse_unreadable(policy, df, id_field)
    rules = policy.rules
    spark = df.sparkSession
    rows = df.withColumn(ROW, F.monotonically_increasing_id())
    across = [r for r in rules if r.across]
    if across:
        rows = rows.cache()
    found = rows.mapInArrow(_record_stage(source, id_field), FINDINGS_DDL)
    if not across:
        return found
    # Rules with `per`: records brought together by group. Rules without `per` that read
    # `all.` (each record its own group) stay in their partitions.
    grouped_rules = [r.index for r in across if r.keys]
    record_rules = [r.index for r in across if not r.keys]
    values_ddl = "rule int, token string, first bigint, values string"
    parts = []
    keyed = None
    if grouped_rules:
        # Only the fields the rules across records read (and the id) travel to the groups.
        reads = set(policy._compiled.across_reads())
        kept = [
            f for f in rows.schema.fields
            if "*" in reads or f.name in reads or f.name in (ROW, id_field.split(".")[0])
        ]
        keyed_schema = StructType(
            kept
            + [StructField(RULE, IntegerType(), False), StructField(TOKEN, StringType(), False)]
        )
        keyed = rows.mapInArrow(
            _key_stage(source, id_field, [f.name for f in kept], grouped_rules), keyed_schema
        ).cache()
        _refuse_mixed_key_types(keyed, rules, id_field)
        if any(r.reads_all for r in across if r.keys):
            parts += keyed.groupBy(RULE, TOKEN).applyInArrow(
                _values_stage(source, id_field), values_ddl
            ).collect()
    if record_rules:
        parts += rows.mapInArrow(
            _record_values_stage(source, id_field, record_rules), values_ddl
        ).collect()
    # The run's `all.` values: each rule's parts joined in input order, on the driver.
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
    if keyed is not None:
        found = found.unionByName(
            keyed.groupBy(RULE, TOKEN).applyInArrow(
                _group_stage(source, id_field, all_values), FINDINGS_DDL
            )
        )
    if record_rules:
        found = found.unionByName(
            rows.mapInArrow(
                _record_rules_stage(source, id_field, record_rules, all_values), FINDINGS_DDL
            )
        )
    return found
