//! Findings as an Arrow record batch: a row per finding, in the order `caveat check` reports them.

use std::sync::Arc;

use arrow_array::builder::{
    Int32Builder, Int64Builder, ListBuilder, MapBuilder, MapFieldNames, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use caveat::compile::Program;
use caveat::report::Reported;
use caveat::run::records::GroupOf;
use pyo3::PyResult;
use pyo3::exceptions::PyValueError;

/// A row count as Arrow's `int64`.
fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A batch of `columns`, each `(name, values, nullable)`: the schema never depends on the data.
fn batch_of(columns: Vec<(&str, ArrayRef, bool)>) -> PyResult<RecordBatch> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, values, nullable)| Field::new(*name, values.data_type().clone(), *nullable))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, values, _)| values).collect(),
    )
    .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The findings: rule, effect, record, message, cite, row (the record's position in the input;
/// a group's first record's), group (a group finding's name), keys (its keys by name), members
/// and member_records (its records' rows and names), file, line and column (for files).
pub fn batch(_program: &Program, found: &[Reported], with_place: bool) -> PyResult<RecordBatch> {
    let mut rule = StringBuilder::new();
    let mut effect = StringBuilder::new();
    let mut record = StringBuilder::new();
    let mut message = StringBuilder::new();
    let mut cite = StringBuilder::new();
    let mut row = Int64Builder::new();
    let mut group = StringBuilder::new();
    // The entries' names pyarrow gives a `map_(string, string)`.
    let names = MapFieldNames {
        entry: "entries".into(),
        key: "key".into(),
        value: "value".into(),
    };
    let mut keys = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
    let mut members = ListBuilder::new(Int64Builder::new());
    let mut member_records = ListBuilder::new(StringBuilder::new());
    let mut file = StringBuilder::new();
    let mut line = Int64Builder::new();
    let mut column = Int64Builder::new();
    for f in found {
        rule.append_value(&*f.rule_id);
        effect.append_value(f.outcome.name());
        record.append_value(&*f.record);
        message.append_value(&*f.message);
        cite.append_option(f.cite.as_deref());
        row.append_value(int(f.index));
        match &f.group {
            Some(note) => {
                group.append_value(&*f.record);
                for (name, value) in &note.keys {
                    keys.keys().append_value(&**name);
                    keys.values().append_value(value);
                }
                keys.append(true)
                    .map_err(|e| PyValueError::new_err(e.to_string()))?;
                for m in &note.records {
                    members.values().append_value(int(m.index));
                    member_records.values().append_value(&*m.record);
                }
                members.append(true);
                member_records.append(true);
            }
            None => {
                group.append_null();
                keys.append(false)
                    .map_err(|e| PyValueError::new_err(e.to_string()))?;
                members.append(false);
                member_records.append(false);
            }
        }
        if with_place {
            let (name, l, c) = f.at.place();
            file.append_value(name);
            line.append_value(int(l));
            column.append_value(int(c));
        } else {
            file.append_null();
            line.append_null();
            column.append_null();
        }
    }
    batch_of(vec![
        ("rule", Arc::new(rule.finish()) as ArrayRef, false),
        ("effect", Arc::new(effect.finish()), false),
        ("record", Arc::new(record.finish()), false),
        ("message", Arc::new(message.finish()), false),
        ("cite", Arc::new(cite.finish()), true),
        ("row", Arc::new(row.finish()), false),
        ("group", Arc::new(group.finish()), true),
        ("keys", Arc::new(keys.finish()), true),
        ("members", Arc::new(members.finish()), true),
        ("member_records", Arc::new(member_records.finish()), true),
        ("file", Arc::new(file.finish()), true),
        ("line", Arc::new(line.finish()), true),
        ("column", Arc::new(column.finish()), true),
    ])
}

/// The groups records join in a split run: row, rule (its index), token.
pub fn groups(groups: &[GroupOf]) -> PyResult<RecordBatch> {
    let mut row = Int64Builder::new();
    let mut rule = Int32Builder::new();
    let mut token = StringBuilder::new();
    for g in groups {
        row.append_value(int(g.index));
        rule.append_value(i32::try_from(g.rule).unwrap_or(i32::MAX));
        token.append_value(&g.token);
    }
    batch_of(vec![
        ("row", Arc::new(row.finish()) as ArrayRef, false),
        ("rule", Arc::new(rule.finish()), false),
        ("token", Arc::new(token.finish()), false),
    ])
}
