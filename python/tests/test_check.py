"""caveat.compile and Policy.check over Arrow, Polars, pandas and dicts: the CLI's findings."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import caveat
from conftest import REPO, cli_findings, from_cli, from_table, same_findings

US_POLICIES = [REPO / "policies" / name for name in
               ["dod-uas.policy", "telecom-889.policy", "us-rules.policy"]]


def rows(table: pa.Table, *columns: str):
    return [tuple(r[c] for c in columns) for r in table.to_pylist()]


def test_a_policy_text_checks_dicts():
    policy = caveat.compile("deny vendor DJI after 2018-05-23 unless exemption.kind == urgent")
    found = policy.check([
        {"id": "AF-2018-1114", "vendor": "DJI", "date": "2018-11-14"},
        {"id": "N-2018-0801", "vendor": "DJI", "date": "2018-08-01",
         "exemption": {"kind": "urgent"}},
    ])
    assert found.schema == caveat.FINDINGS_SCHEMA
    assert rows(found, "effect", "record", "row") == [("deny", "AF-2018-1114", 0)]


def test_arrow_polars_pandas_batches_and_dicts_give_the_same_findings():
    policy = caveat.compile(US_POLICIES)
    records = [
        {"id": f"P-{i}", "vendor": vendor, "product": "Mavic Pro", "date": "2018-11-14",
         "amount": Decimal("9000.00"), "buyer": {"branch": "Army", "unit": "1st SOW"}}
        for i, vendor in enumerate(["DJI", "Skydio", "Da-Jiang Innovations", "DJI"])
    ]
    table = pa.Table.from_pylist(records)
    expected = [from_table(r) for r in policy.check(records).to_pylist()]
    assert len(expected) > 3
    for data in [table, table.to_batches()[0], pl.from_arrow(table), table.to_pandas()]:
        assert [from_table(r) for r in policy.check(data).to_pylist()] == expected, type(data)


def test_findings_carry_the_cite_and_a_group_its_keys_and_members():
    policy = caveat.compile(US_POLICIES)
    found = policy.check([
        {"id": "A", "vendor": "Staples", "date": "2024-03-04", "amount": 6000,
         "buyer": {"unit": "NSWC"}},
        {"id": "B", "vendor": "Other", "date": "2024-03-05", "amount": 10, "buyer": {"unit": "X"}},
        {"id": "C", "vendor": "Staples", "date": "2024-03-06", "amount": 6392.5,
         "buyer": {"unit": "NSWC"}},
    ]).to_pylist()
    split = [f for f in found if f["rule"] == "split-purchase"]
    assert len(split) == 1
    assert split[0]["group"] == "Staples / NSWC"
    assert dict(split[0]["keys"]) == {"vendor": "Staples", "buyer.unit": "NSWC"}
    assert split[0]["members"] == [0, 2]
    assert split[0]["member_records"] == ["A", "C"]
    assert split[0]["row"] == 0
    assert split[0]["cite"].startswith("FAR 13.003(c)(2)")
    assert "total 12392.5," in split[0]["message"]


def test_decimals_stay_exact_and_strings_that_look_like_numbers_compare_as_numbers():
    policy = caveat.compile('rule big {\n  warn when amount > 0.3\n  message "{amount}"\n}')
    table = pa.table({
        "id": ["decimal", "float", "string", "small"],
        "amount": pa.array([Decimal("0.30"), None, None, Decimal("0.29")], pa.decimal128(10, 2)),
    })
    assert rows(policy.check(table), "record") == []
    table = pa.table({"id": ["a", "b"], "amount": pa.array([Decimal("49350.00"), Decimal("0.31")],
                                                          pa.decimal128(12, 2))})
    assert rows(policy.check(table), "record", "message") == [("a", "49350.00"), ("b", "0.31")]
    # 0.1 + 0.2 is 0.3 exactly, as in a JSON file: floats are their shortest text.
    policy = caveat.compile("warn when a + b == 0.3")
    assert rows(policy.check(pa.table({"id": ["x"], "a": [0.1], "b": [0.2]})), "record") == [("x",)]
    policy = caveat.compile("warn when amount > 1000")
    found = policy.check([{"id": "s", "amount": "389838.00"}, {"id": "t", "amount": "lots"}])
    assert rows(found, "record", "effect") == [("s", "warn"), ("t", "error")]


def test_dates_are_dates_and_timestamps_compare_as_instants():
    policy = caveat.compile("warn when received > deadline\ndeny when date > 2018-05-23")
    table = pa.table({
        "id": ["late", "early"],
        "date": pa.array([dt.date(2018, 11, 14), dt.date(2018, 1, 2)], pa.date32()),
        "received": pa.array([dt.datetime(2020, 7, 14, 20), dt.datetime(2020, 7, 13)],
                             pa.timestamp("s", tz="UTC")),
        "deadline": ["2020-07-14T00:00:00Z", "2020-07-14T00:00:00Z"],
    })
    assert sorted(rows(policy.check(table), "record", "effect")) == [
        ("late", "deny"), ("late", "warn")]
    dicts = [{"id": "late", "date": dt.date(2018, 11, 14),
              "received": dt.datetime(2020, 7, 14, 20, tzinfo=dt.timezone.utc),
              "deadline": "2020-07-14T00:00:00Z"}]
    assert sorted(rows(policy.check(dicts), "record", "effect")) == [
        ("late", "deny"), ("late", "warn")]


def test_nested_lists_of_structs_as_ocds_has_them(tmp_path: Path):
    policy = caveat.compile(
        "rule single {\n  warn when count(bids.details) == 1"
        " and any b in bids.details where b.value.amount > 100\n"
        "  message \"{bids.details.tenderers.id}\"\n}")
    release = {"ocid": "o-1", "bids": {"details": [
        {"tenderers": [{"id": "ORG-1"}, {"id": "ORG-2"}], "value": {"amount": Decimal("100.50")}}]}}
    table = pa.Table.from_pylist([release, {"ocid": "o-2"}])
    assert rows(policy.check(table, id_field="ocid"), "record", "message") == [
        ("o-1", "[ORG-1, ORG-2]")]


def test_records_without_an_id_are_named_by_their_row():
    policy = caveat.compile("deny vendor DJI")
    found = policy.check(pa.table({"vendor": ["Skydio", "DJI"]}), name="purchases")
    assert rows(found, "record", "row") == [("purchases#1", 1)]


def test_the_shipped_examples_give_the_cli_findings_through_check_files():
    policy = caveat.compile([REPO / "policies" / "dod-uas.policy",
                             REPO / "policies" / "telecom-889.policy",
                             REPO / "policies" / "us-rules.policy"])
    found = policy.check_files([REPO / "examples" / "purchases.yaml",
                                REPO / "examples" / "split-purchases.yaml"])
    expected = cli_findings("policies/dod-uas.policy", "policies/telecom-889.policy",
                            "policies/us-rules.policy", "examples/purchases.yaml",
                            "examples/split-purchases.yaml")
    same_findings(map(from_cli, expected), map(from_table, found.to_pylist()))
    first = found.to_pylist()[0]
    assert first["file"].endswith("purchases.yaml") and first["line"] > 0


def test_ocds_releases_as_arrow_and_as_dicts_give_the_cli_findings():
    """The red-flag pack (group rules and `all.`) on the shipped OCDS releases, read as Arrow
    (decimals exact, nested structs and lists) and as dicts, against `caveat check`."""
    folder = REPO / "examples" / "ocds"
    releases = []
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, encoding="utf-8") as f:
            releases += [json.loads(line, parse_float=Decimal) for line in f if line.strip()]
    policy = caveat.compile(REPO / "policies" / "red-flags")
    expected = [from_cli(f) for f in
                cli_findings("--id-field", "ocid", "policies/red-flags", "examples/ocds")]
    assert any(f[4] for f in expected), "the pack has group findings"
    as_dicts = policy.check(releases, id_field="ocid")
    same_findings(expected, map(from_table, as_dicts.to_pylist()))
    as_arrow = policy.check(pa.Table.from_pylist(releases), id_field="ocid")
    same_findings(expected, map(from_table, as_arrow.to_pylist()))


def test_a_policy_error_carries_the_cli_diagnostics():
    with pytest.raises(caveat.PolicyError) as raised:
        caveat.compile("deny vendor in chinese_uass", name="mine.policy")
    error = raised.value
    assert isinstance(error, ValueError)
    [diag] = error.diagnostics
    assert diag.code == "caveat::check::unknown_list"
    assert (diag.file, diag.line, diag.column) == ("mine.policy", 1, 16)
    assert "chinese_uass" in diag.message and diag.help
    assert "deny vendor in chinese_uass" in diag.rendered
    assert "caveat::check::unknown_list" in str(error)


def test_a_missing_policy_file_is_a_policy_error(tmp_path: Path):
    with pytest.raises(caveat.PolicyError) as raised:
        caveat.compile(tmp_path / "nothing.policy")
    assert raised.value.diagnostics[0].code == "caveat::io::not_found"


def test_a_column_of_a_type_caveat_does_not_read_is_a_data_error():
    policy = caveat.compile("deny vendor DJI")
    with pytest.raises(caveat.DataError) as raised:
        policy.check(pa.table({"vendor": ["DJI"], "scan": pa.array([b"%PDF"])}))
    [diag] = raised.value.diagnostics
    assert diag.code == "caveat::data::arrow_type"
    assert diag.message == "column `scan` has the Arrow type `Binary`, which caveat does not read"
    assert "cast it" in diag.help


def test_a_null_where_a_record_is_expected_is_a_data_error():
    policy = caveat.compile("deny vendor DJI")
    with pytest.raises(caveat.DataError) as raised:
        policy.check([{"vendor": "DJI"}, None])
    assert raised.value.diagnostics[0].code == "caveat::data::not_a_record"
    assert "item 1" in raised.value.diagnostics[0].message
    with pytest.raises(caveat.DataError):
        policy.check([{"vendor": "DJI"}, ["not", "a", "record"]])


def test_a_null_row_of_an_array_of_structs_is_a_data_error_chunked_or_not():
    policy = caveat.compile("deny vendor DJI")
    row = pa.struct([("id", pa.string()), ("vendor", pa.string())])
    chunked = pa.chunked_array([
        pa.array([{"id": "a", "vendor": "DJI"}], type=row),
        pa.array([None, {"id": "c", "vendor": "DJI"}], type=row),
    ])
    whole = pa.array([{"id": "a", "vendor": "DJI"}, None, {"id": "c", "vendor": "DJI"}], type=row)
    for data in [chunked, whole]:
        # A table made of the array reads its null row as an empty record, which passes.
        with pytest.raises(caveat.DataError) as raised:
            policy.check(data)
        [diag] = raised.value.diagnostics
        assert diag.code == "caveat::data::arrow_null"
        assert diag.message == "row 1 is null, where a record was expected"
        assert rows(raised.value.findings, "record", "row") == [("a", 0), ("c", 2)]
    assert rows(policy.check(pa.array([{"id": "a", "vendor": "DJI"}], type=row)),
                "record") == [("a",)]


def test_an_array_of_other_values_is_not_records():
    policy = caveat.compile("deny vendor DJI")
    with pytest.raises(caveat.DataError) as raised:
        policy.check(pa.array([1, 2]))
    [diag] = raised.value.diagnostics
    assert diag.code == "caveat::data::not_a_record"
    assert diag.message == "the data's rows are values of type Int64, not records"


def test_a_value_of_an_unknown_python_type_is_a_type_error():
    policy = caveat.compile("deny vendor DJI")
    with pytest.raises(TypeError, match=r"`item 0.vendor` is a `object`"):
        policy.check([{"vendor": object()}])
    with pytest.raises(TypeError, match="check_files"):
        policy.check("purchases.yaml")


def test_unreadable_data_files_raise_with_the_findings_of_the_others(tmp_path: Path):
    (tmp_path / "good.yaml").write_text("- {id: A, vendor: DJI}\n")
    (tmp_path / "bad.json").write_text("[{\"id\": \"B\", \"vendor\": }]")
    policy = caveat.compile("deny vendor DJI")
    with pytest.raises(caveat.DataError) as raised:
        policy.check_files(tmp_path)
    assert raised.value.diagnostics[0].code == "caveat::data::json_syntax"
    assert rows(raised.value.findings, "record") == [("A",)]


def test_rules_expose_group_keys():
    policy = caveat.compile(REPO / "policies" / "us-rules.policy")
    by_id = {r.id: r for r in policy.rules}
    assert by_id["split-purchase"].keys == ("vendor", "buyer.unit")
    assert by_id["vendor-fiscal-year-spend"].keys == ("vendor", "fy")
    assert not by_id["sole-source-just-under-sat"].across


def test_waivers_apply_as_of_today_as_with_the_cli_flag():
    text = ('rule dji {\n  deny vendor DJI\n}\n'
            'waive dji for id == "A" until 2019-06-28 because "SOCOM training need"\n')
    before = caveat.compile(text, today="2019-06-01")
    assert before.today == "2019-06-01"
    assert rows(before.check([{"id": "A", "vendor": "DJI"}]), "effect") == [("waived",)]
    after = caveat.compile(text, today=dt.date(2019, 7, 1))
    assert rows(after.check([{"id": "A", "vendor": "DJI"}]), "effect") == [("deny",)]
    assert [d.code for d in after.warnings] == ["caveat::waiver::expired"]
    with pytest.raises(ValueError, match="not a date"):
        caveat.compile(text, today="soon")


def test_empty_inputs_give_no_findings():
    policy = caveat.compile("deny vendor DJI")
    assert policy.check([]).num_rows == 0
    assert policy.check(pa.table({"vendor": pa.array([], pa.string())})).num_rows == 0


def test_policy_text_with_a_slash_is_text_and_jobs_are_bounded(tmp_path):
    # A one-line policy naming "PRI/DJI" is text, not a path.
    policy = caveat.compile('deny vendor "PRI/DJI"')
    found = policy.check([{"id": "a", "vendor": "PRI/DJI"}, {"id": "b", "vendor": "DJI"}])
    assert rows(found, "effect", "record") == [("deny", "a")]
    data = tmp_path / "d.yaml"
    data.write_text("- {id: a, vendor: PRI/DJI}\n")
    for jobs in (257, -1, 2.5, True):
        with pytest.raises(ValueError, match="jobs must be"):
            policy.check_files(str(data), jobs=jobs)
    assert rows(policy.check_files(str(data), jobs=256), "effect", "record") == [("deny", "a")]


def test_two_columns_of_one_name_are_refused():
    table = pa.Table.from_arrays(
        [pa.array(["a"]), pa.array(["DJI"]), pa.array(["Skydio"])],
        names=["id", "vendor", "vendor"],
    )
    with pytest.raises(caveat.DataError) as raised:
        caveat.compile("deny vendor DJI").check(table)
    assert raised.value.diagnostics[0].code == "caveat::data::duplicate_key"


def test_nat_is_missing_and_a_numpy_type_is_named_with_its_module():
    policy = caveat.compile("warn when t > u")
    found = policy.check([{"id": "a", "t": pd.NaT, "u": dt.datetime(2020, 1, 1)}])
    assert rows(found, "effect", "record") == []
    np = pytest.importorskip("numpy")
    with pytest.raises(TypeError, match="numpy"):
        policy.check([{"id": "a", "t": np.bool_(True)}])


def test_sliced_arrays_of_structs_holding_structs_are_read():
    # A slice (or a batch of a table split by to_batches) starts at an offset; the Arrow import
    # panicked on such an array of structs that holds structs.
    table = pa.table({"id": ["a", "b"], "b": [{"w": {"z": 1}}, {"w": {"z": 2}}]})
    policy = caveat.compile("deny when b.w.z > 1")
    for data in [
        table.slice(1),
        pa.Table.from_batches(table.to_batches(max_chunksize=1)),
        table.to_batches(max_chunksize=1)[1],
        pa.array([{"id": "a", "b": {"w": {"z": 1}}}, {"id": "b", "b": {"w": {"z": 2}}}]).slice(1),
    ]:
        assert policy.check(data).column("record").to_pylist() == ["b"]


def test_a_map_with_a_key_twice_is_a_data_error():
    attrs = pa.array([[("vendor", "x"), ("vendor", "DJI")]], pa.map_(pa.string(), pa.string()))
    table = pa.table({"id": ["a"], "attrs": attrs})
    with pytest.raises(caveat.DataError, match="the key `vendor` twice"):
        caveat.compile("deny when attrs.vendor == DJI").check(table)


def test_a_pandas_index_of_ids_names_the_records():
    frame = pd.DataFrame({"id": ["a", "b"], "vendor": ["DJI", "Parrot"]}).set_index("id")
    findings = caveat.compile("deny vendor DJI").check(frame)
    assert findings.column("record").to_pylist() == ["a"]
    # A plain range index adds no field.
    plain = pd.DataFrame({"id": ["a"], "vendor": ["DJI"]})
    assert caveat.compile("deny vendor DJI").check(plain).column("record").to_pylist() == ["a"]


def test_a_single_word_is_a_path_and_a_missing_one_says_so():
    # A misspelt path was read as policy text: "found `policies`".
    with pytest.raises(caveat.PolicyError, match="no such file or folder"):
        caveat.compile("policies-missing")
    assert caveat.compile("deny vendor DJI").rules[0].effect == "deny"


def test_a_pandas_column_of_mixed_types_is_a_data_error_with_the_way_out():
    # pyarrow's own `ArrowInvalid` escaped, naming no remedy.
    frame = pd.DataFrame({"id": ["a", "b"], "x": [1, "a"]})
    policy = caveat.compile('deny when x == "a"')
    with pytest.raises(caveat.DataError, match=r"column x .*to_dict\("):
        policy.check(frame)
    # As dicts each value keeps its own type: comparing the number with a string is an error.
    findings = policy.check(frame.to_dict("records")).select(["record", "effect"]).to_pylist()
    assert findings == [{"record": "a", "effect": "error"}, {"record": "b", "effect": "deny"}]


def test_a_record_nested_too_deep_names_a_short_path():
    record: dict = {}
    inner = record
    for _ in range(200):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(ValueError, match="nests deeper than 128 levels") as raised:
        caveat.compile("deny vendor DJI").check([record])
    assert len(str(raised.value)) < 120, str(raised.value)


def test_a_null_inside_dicts_reads_as_arrow_and_polars_read_it_and_a_lazyframe_is_collected():
    policy = caveat.compile('rule r {\n  note when count(items) > 0\n  message "{items}"\n}')
    records = [{"id": "a", "items": [{"x": None, "y": 1}]}]
    # Dicts dropped a key whose value is None, so the message lost `x`.
    messages = [
        policy.check(data).column("message").to_pylist()
        for data in [records, pa.Table.from_pylist(records), pl.DataFrame(records)]
    ]
    assert messages == [["[{x: (missing), y: 1}]"]] * 3
    # A LazyFrame had no `to_arrow`: an AttributeError.
    assert policy.check(pl.DataFrame(records).lazy()).column("message").to_pylist() == messages[0]
