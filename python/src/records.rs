//! Records from Python objects (an iterable of dicts), with the values the YAML and JSON readers
//! give: `int` and `decimal.Decimal` are exact numbers, a `float` is the number its shortest text
//! spells, `str` stays a string, `datetime.date` is a date, `datetime.datetime` the text of its
//! instant (ISO 8601), `dict` a mapping (keys must be strings) and `list` or `tuple` a list;
//! `None` is a missing field. Anything else is a `TypeError` naming the field.
//!
//! Also the helper columns of a Spark group (`__caveat_row`, …).

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use caveat::data::Record;
use caveat::source::{Source, Span};
use caveat::value::{Entry, Map, Node, Value};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use rust_decimal::Decimal;

/// The deepest nesting read, as `--max-depth`.
const MAX_DEPTH: usize = 128;

/// Why the `index`th item is not a record (`None`, or not a dict), if it is not.
pub fn not_a_record(item: &Bound<'_, PyAny>, index: usize) -> Option<String> {
    if item.is_none() {
        return Some(format!(
            "item {index} is None, where a record (a dict) was expected"
        ));
    }
    (!item.is_instance_of::<PyDict>()).then(|| {
        format!(
            "item {index} is a `{}`, where a record (a dict) was expected",
            type_name(item)
        )
    })
}

/// The record of the `index`th item, a dict.
pub fn record(item: &Bound<'_, PyAny>, source: &Source, index: usize) -> PyResult<Record> {
    let root = node(item, &format!("item {index}"), 0)?;
    Ok(Record {
        source: source.clone(),
        index,
        root,
        line: None,
    })
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    let kind = value.get_type();
    let name = kind
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into());
    // `numpy.bool`, not `bool`: the built-in of that name is read.
    match kind.module().map(|m| m.to_string()) {
        Ok(module) if module != "builtins" => format!("{module}.{name}"),
        _ => name,
    }
}

fn leaf(value: Value) -> Node {
    Node {
        value,
        span: Span::default(),
    }
}

/// A number from its text, exactly; the text itself when it is no number a decimal holds.
fn number(text: String) -> Value {
    Decimal::from_str_exact(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_or_else(|_| Value::String(text.into()), Value::Number)
}

/// A path cut to its first 60 characters and `…`, so that a message about a deep value stays
/// one line.
fn shortened(path: &str) -> String {
    match path.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", path.get(..cut).unwrap_or(path)),
        None => path.to_string(),
    }
}

fn node(value: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Node> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "`{}` nests deeper than {MAX_DEPTH} levels",
            shortened(path)
        )));
    }
    let py = value.py();
    if value.is_none() {
        return Ok(leaf(Value::Null));
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(leaf(Value::Bool(b.is_true())));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(leaf(number(value.str()?.to_string())));
    }
    if value.is_instance_of::<PyFloat>() {
        let float: f64 = value.extract()?;
        let text = float.to_string();
        return Ok(leaf(match caveat_number(&text) {
            Some(n) => Value::Number(n),
            None => Value::String(text.into()),
        }));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(leaf(Value::String(s.to_cow()?.as_ref().into())));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut entries = Vec::with_capacity(dict.len());
        for (key, item) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!(
                    "`{path}` has a key `{}` of type `{}`: record keys must be strings",
                    key.repr().map(|r| r.to_string()).unwrap_or_default(),
                    type_name(&key)
                )));
            };
            let key = key.to_cow()?;
            let key = key.as_ref();
            let child = node(&item, &format!("{path}.{key}"), depth + 1)?;
            entries.push(Entry {
                key: key.into(),
                key_span: Span::default(),
                value: child,
            });
        }
        return Ok(leaf(Value::Map(Map { entries })));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in value.try_iter()?.enumerate() {
            items.push(node(&item?, &format!("{path}[{i}]"), depth + 1)?);
        }
        return Ok(leaf(Value::List(items)));
    }
    let datetime = py.import("datetime")?;
    if value.is_instance(&datetime.getattr("datetime")?)? {
        // pandas' NaT is a datetime that is not equal to itself: missing, as pandas gives it
        // to Arrow (its text, "NaT", would compare as text).
        if value.ne(value)? {
            return Ok(leaf(Value::Null));
        }
        let text: String = value.call_method0("isoformat")?.extract()?;
        return Ok(leaf(Value::String(text.into())));
    }
    if value.is_instance(&datetime.getattr("date")?)? {
        let (y, m, d): (i16, i8, i8) = (
            value.getattr("year")?.extract()?,
            value.getattr("month")?.extract()?,
            value.getattr("day")?.extract()?,
        );
        let date = jiff::civil::Date::new(y, m, d)
            .map_err(|e| PyValueError::new_err(format!("`{path}`: {e}")))?;
        return Ok(leaf(Value::Date(date)));
    }
    if value.is_instance(&py.import("decimal")?.getattr("Decimal")?)? {
        return Ok(leaf(number(value.str()?.to_string())));
    }
    Err(PyTypeError::new_err(format!(
        "`{path}` is a `{}`, which caveat does not read: give a str, int, float, \
         decimal.Decimal, bool, date, datetime, dict, list or None",
        type_name(value)
    )))
}

/// A float's shortest text as an exact number (`0.1` is `0.1`).
fn caveat_number(text: &str) -> Option<Decimal> {
    Decimal::from_str_exact(text).ok()
}

/// The column the Spark helper adds: each record's position in the whole input.
pub const ROW: &str = "__caveat_row";

/// The `__caveat_row` of each row of a group's batch.
pub fn row_numbers(batch: &RecordBatch) -> PyResult<Vec<usize>> {
    let column = batch.column_by_name(ROW).ok_or_else(|| {
        PyValueError::new_err(format!("the group's records have no `{ROW}` column"))
    })?;
    let Some(rows) = column.as_primitive_opt::<Int64Type>() else {
        return Err(PyTypeError::new_err(format!(
            "`{ROW}` must be an int64 column"
        )));
    };
    Ok((0..rows.len())
        .map(|i| usize::try_from(rows.value(i)).unwrap_or(0))
        .collect())
}

/// The batch without the Spark helper's columns (named `__caveat_…`).
pub fn without_helper_columns(
    batch: &RecordBatch,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let keep: Vec<usize> = batch
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.name().starts_with("__caveat_"))
        .map(|(i, _)| i)
        .collect();
    batch.project(&keep)
}
