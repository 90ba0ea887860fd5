//! Records from Arrow record batches: each row is a record, each column a field, with the same
//! values the YAML and JSON readers give. Integers and decimals are exact numbers (a decimal
//! column keeps its scale: `Decimal128(10, 2)` gives `49350.00`); floating-point values are the
//! number their shortest text spells (`0.1` is `0.1`, as in a JSON file); strings stay strings
//! (a string that looks like a number or a date compares as one, LANGUAGE.md §4); dates are dates;
//! timestamps are date-time strings (`2020-07-14T20:00:00Z` with a time zone, without an offset
//! otherwise), which compare as instants; structs are mappings and lists are lists. A null is a
//! missing field: it is left out of its mapping.
//!
//! The columns' types are checked once per batch, before any row is read: a type caveat cannot
//! read (binary, time of day, interval, union…) is a [`DataError`] naming the column. Arrow
//! values have no place in a text file, so every span is empty; findings name a record by its
//! row instead ([`Record::index`]).

use std::ops::Range;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type, Float16Type, Float32Type,
    Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch, StructArray};
use arrow_schema::{DataType, TimeUnit};
use rust_decimal::Decimal;

use super::build::data_error;
use super::{DataError, Record};
use crate::diagnostic::Code;
use crate::source::{Source, SourceFile, Span};
use crate::value::{Entry, Map, Node, Text, Value};

/// The deepest nesting of Arrow types read (as `--max-depth` for files).
const MAX_DEPTH: usize = 128;

/// How to read one column (or a child of one): its array, decoded once per batch.
struct Column<'a> {
    array: &'a dyn Array,
    kind: Kind<'a>,
}

/// A function from a row to a value of the column's native type.
type At<'a, T> = Box<dyn Fn(usize) -> T + Send + 'a>;

enum Kind<'a> {
    Null,
    Bool(&'a arrow_array::BooleanArray),
    Int(At<'a, i128>),
    /// A float's shortest text.
    Float(At<'a, String>),
    /// The unscaled value (`None` when it does not fit 128 bits) and the scale.
    Decimal(At<'a, Option<i128>>, i8),
    Str(At<'a, &'a str>),
    /// Days since 1970-01-01.
    Date(At<'a, i64>),
    /// Nanoseconds since 1970-01-01T00:00:00Z, and whether the column has a time zone.
    Timestamp(At<'a, Option<i128>>, bool),
    Struct(Vec<(Text, Column<'a>)>),
    /// Each row's range of elements in the child.
    List(At<'a, Range<usize>>, Box<Column<'a>>),
    /// Each row's range of entries; the keys and the values.
    Map(At<'a, Range<usize>>, Box<Column<'a>>, Box<Column<'a>>),
    /// Each row's index into the dictionary's values.
    Dictionary(At<'a, usize>, Box<Column<'a>>),
}

/// The records of an Arrow record batch, one a row, in row order.
pub struct ArrowRecords<'a> {
    source: Source,
    root: Column<'a>,
    rows: Range<usize>,
    first_index: usize,
    /// A column is an Arrow map, whose entries may repeat a key (struct fields cannot).
    maps: bool,
}

/// The records of `batch`, named after `name` (a record without an id is `NAME#ROW`), their
/// indexes counted from `first_index` (the row of the batch's first row in a larger input). An
/// `Err` when a column has a type caveat does not read, naming it.
pub fn arrow_records<'a>(
    batch: &'a StructArray,
    name: &str,
    first_index: usize,
) -> Result<ArrowRecords<'a>, DataError> {
    let source = SourceFile::new(name, "");
    let root = column(batch, "", &source, 0)?;
    let maps = has_map(&root);
    Ok(ArrowRecords {
        source,
        root,
        rows: 0..batch.len(),
        first_index,
        maps,
    })
}

/// A record batch as the struct array `arrow_records` reads (its columns are shared, not copied).
pub fn batch_rows(batch: &RecordBatch) -> StructArray {
    StructArray::from(batch.clone())
}

impl Iterator for ArrowRecords<'_> {
    type Item = Result<Record, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.rows.next()?;
        let index = self.first_index + row;
        if self.root.array.is_null(row) {
            return Some(Err(data_error(
                &self.source,
                Code::DataArrowNull,
                format!("row {index} is null, where a record was expected"),
                Span::default(),
                "this row",
                Some(
                    "leave the row out, or give it a value (an empty record has no fields)".into(),
                ),
            )));
        }
        let root = node(&self.root, row);
        if self.maps
            && let Some(key) = repeated_key(&root)
        {
            // As a mapping of a file with a key twice: which value a rule reads would depend
            // on how it reads it.
            return Some(Err(data_error(
                &self.source,
                Code::DataDuplicateKey,
                format!("row {index} has a map with the key `{key}` twice"),
                Span::default(),
                "this row",
                Some("keep one entry per key in the map".into()),
            )));
        }
        Some(Ok(Record {
            source: self.source.clone(),
            index,
            root,
            line: None,
        }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.rows.size_hint()
    }
}

/// Whether `column` or a column inside it is an Arrow map.
fn has_map(column: &Column<'_>) -> bool {
    match &column.kind {
        Kind::Map(..) => true,
        Kind::Struct(fields) => fields.iter().any(|(_, field)| has_map(field)),
        Kind::List(_, items) | Kind::Dictionary(_, items) => has_map(items),
        _ => false,
    }
}

/// A key that a mapping inside `node` holds twice, if any.
fn repeated_key(node: &Node) -> Option<String> {
    match &node.value {
        Value::Map(map) => {
            let mut seen = std::collections::HashSet::with_capacity(map.entries.len());
            for entry in &map.entries {
                if !seen.insert(&*entry.key) {
                    return Some(entry.key.to_string());
                }
            }
            map.entries.iter().find_map(|e| repeated_key(&e.value))
        }
        Value::List(items) => items.iter().find_map(repeated_key),
        _ => None,
    }
}

/// A primitive column's values, by row.
fn primitive<'a, T: ArrowPrimitiveType, U>(
    array: &'a dyn Array,
    f: impl Fn(T::Native) -> U + Send + 'a,
) -> At<'a, U> {
    let values = array.as_primitive::<T>();
    Box::new(move |row| f(values.value(row)))
}

/// Decodes a column of type `array.data_type()`; `path` names it in errors.
fn column<'a>(
    array: &'a dyn Array,
    path: &str,
    source: &Source,
    depth: usize,
) -> Result<Column<'a>, DataError> {
    let unsupported = |what: String| {
        let named = if path.is_empty() {
            "the records".to_string()
        } else {
            format!("column `{path}`")
        };
        data_error(
            source,
            Code::DataArrowType,
            format!("{named} has the Arrow type `{what}`, which caveat does not read"),
            Span::default(),
            "this column",
            Some(
                "cast it to a type caveat reads: a string, a number (integer, float or decimal), \
                 a boolean, a date, a timestamp, a struct, a list or a map"
                    .into(),
            ),
        )
    };
    if depth > MAX_DEPTH {
        return Err(unsupported(format!(
            "nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let child = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    let scale_of = |unit: &TimeUnit| -> i128 {
        match unit {
            TimeUnit::Second => 1_000_000_000,
            TimeUnit::Millisecond => 1_000_000,
            TimeUnit::Microsecond => 1_000,
            TimeUnit::Nanosecond => 1,
        }
    };
    let kind = match array.data_type() {
        DataType::Null => Kind::Null,
        DataType::Boolean => Kind::Bool(array.as_boolean()),
        DataType::Int8 => Kind::Int(primitive::<Int8Type, _>(array, i128::from)),
        DataType::Int16 => Kind::Int(primitive::<Int16Type, _>(array, i128::from)),
        DataType::Int32 => Kind::Int(primitive::<Int32Type, _>(array, i128::from)),
        DataType::Int64 => Kind::Int(primitive::<Int64Type, _>(array, i128::from)),
        DataType::UInt8 => Kind::Int(primitive::<UInt8Type, _>(array, i128::from)),
        DataType::UInt16 => Kind::Int(primitive::<UInt16Type, _>(array, i128::from)),
        DataType::UInt32 => Kind::Int(primitive::<UInt32Type, _>(array, i128::from)),
        DataType::UInt64 => Kind::Int(primitive::<UInt64Type, _>(array, i128::from)),
        DataType::Float16 => Kind::Float(primitive::<Float16Type, _>(array, |v| v.to_string())),
        DataType::Float32 => Kind::Float(primitive::<Float32Type, _>(array, |v| v.to_string())),
        DataType::Float64 => Kind::Float(primitive::<Float64Type, _>(array, |v| v.to_string())),
        DataType::Decimal32(_, scale) => Kind::Decimal(
            primitive::<Decimal32Type, _>(array, |v| Some(i128::from(v))),
            *scale,
        ),
        DataType::Decimal64(_, scale) => Kind::Decimal(
            primitive::<Decimal64Type, _>(array, |v| Some(i128::from(v))),
            *scale,
        ),
        DataType::Decimal128(_, scale) => {
            Kind::Decimal(primitive::<Decimal128Type, _>(array, Some), *scale)
        }
        DataType::Decimal256(_, scale) => Kind::Decimal(
            primitive::<Decimal256Type, _>(array, |v| v.to_i128()),
            *scale,
        ),
        DataType::Utf8 => {
            let values = array.as_string::<i32>();
            Kind::Str(Box::new(move |row| values.value(row)))
        }
        DataType::LargeUtf8 => {
            let values = array.as_string::<i64>();
            Kind::Str(Box::new(move |row| values.value(row)))
        }
        DataType::Utf8View => {
            let values = array.as_string_view();
            Kind::Str(Box::new(move |row| values.value(row)))
        }
        DataType::Date32 => Kind::Date(primitive::<arrow_array::types::Date32Type, _>(
            array,
            i64::from,
        )),
        DataType::Date64 => Kind::Date(primitive::<arrow_array::types::Date64Type, _>(
            array,
            |ms| ms.div_euclid(86_400_000),
        )),
        DataType::Timestamp(unit, zone) => {
            let scale = scale_of(unit);
            let at = move |v: i64| i128::from(v).checked_mul(scale);
            let values = match unit {
                TimeUnit::Second => primitive::<TimestampSecondType, _>(array, at),
                TimeUnit::Millisecond => primitive::<TimestampMillisecondType, _>(array, at),
                TimeUnit::Microsecond => primitive::<TimestampMicrosecondType, _>(array, at),
                TimeUnit::Nanosecond => primitive::<TimestampNanosecondType, _>(array, at),
            };
            Kind::Timestamp(values, zone.is_some())
        }
        DataType::Struct(_) => {
            let structs = array.as_struct();
            let mut fields = Vec::with_capacity(structs.num_columns());
            let names = structs.column_names();
            let mut seen = std::collections::HashSet::with_capacity(names.len());
            for (name, values) in names.into_iter().zip(structs.columns()) {
                // Two columns of one name would be one key twice: which one a rule reads would
                // depend on how it reads it.
                if !seen.insert(name) {
                    return Err(data_error(
                        source,
                        Code::DataDuplicateKey,
                        format!("column `{}` appears twice", child(name)),
                        Span::default(),
                        "this column",
                        Some("rename or drop one of the two columns".into()),
                    ));
                }
                let decoded = column(values.as_ref(), &child(name), source, depth + 1)?;
                fields.push((name.into(), decoded));
            }
            Kind::Struct(fields)
        }
        DataType::List(_) => {
            let lists = array.as_list::<i32>();
            let items = column(lists.values().as_ref(), &child("[]"), source, depth + 1)?;
            let offsets = lists.value_offsets();
            Kind::List(Box::new(move |row| range(offsets, row)), Box::new(items))
        }
        DataType::LargeList(_) => {
            let lists = array.as_list::<i64>();
            let items = column(lists.values().as_ref(), &child("[]"), source, depth + 1)?;
            let offsets = lists.value_offsets();
            Kind::List(Box::new(move |row| range(offsets, row)), Box::new(items))
        }
        DataType::FixedSizeList(_, size) => {
            let lists = array.as_fixed_size_list();
            let items = column(lists.values().as_ref(), &child("[]"), source, depth + 1)?;
            let size = usize::try_from(*size).unwrap_or(0);
            Kind::List(
                Box::new(move |row| row * size..(row + 1) * size),
                Box::new(items),
            )
        }
        DataType::Map(_, _) => {
            let maps = array.as_map();
            let keys = column(maps.keys().as_ref(), &child("{key}"), source, depth + 1)?;
            let values = column(maps.values().as_ref(), &child("{value}"), source, depth + 1)?;
            let offsets = maps.value_offsets();
            Kind::Map(
                Box::new(move |row| range(offsets, row)),
                Box::new(keys),
                Box::new(values),
            )
        }
        DataType::Dictionary(key_type, _) => {
            let Some(dictionary) = array.as_any_dictionary_opt() else {
                return Err(unsupported(array.data_type().to_string()));
            };
            let values = column(dictionary.values().as_ref(), path, source, depth + 1)?;
            let keys = dictionary.keys();
            let index: At<'a, usize> = match key_type.as_ref() {
                DataType::Int8 => primitive::<Int8Type, _>(keys, to_index),
                DataType::Int16 => primitive::<Int16Type, _>(keys, to_index),
                DataType::Int32 => primitive::<Int32Type, _>(keys, to_index),
                DataType::Int64 => primitive::<Int64Type, _>(keys, to_index),
                DataType::UInt8 => primitive::<UInt8Type, _>(keys, to_index),
                DataType::UInt16 => primitive::<UInt16Type, _>(keys, to_index),
                DataType::UInt32 => primitive::<UInt32Type, _>(keys, to_index),
                DataType::UInt64 => primitive::<UInt64Type, _>(keys, to_index),
                other => return Err(unsupported(format!("Dictionary({other}, …)"))),
            };
            Kind::Dictionary(index, Box::new(values))
        }
        other => return Err(unsupported(other.to_string())),
    };
    Ok(Column { array, kind })
}

/// A dictionary key as an index (a negative key, which Arrow forbids, reads the first value).
fn to_index(key: impl TryInto<usize>) -> usize {
    key.try_into().unwrap_or(0)
}

/// The range of elements of a list or map row, from its offsets.
fn range<O: Copy + TryInto<usize>>(offsets: &[O], row: usize) -> Range<usize> {
    let at = |i: usize| {
        offsets
            .get(i)
            .and_then(|o| (*o).try_into().ok())
            .unwrap_or(0)
    };
    let start = at(row);
    start..at(row + 1).max(start)
}

/// The value of `column` at `row`.
fn node(column: &Column<'_>, row: usize) -> Node {
    Node {
        value: value(column, row),
        span: Span::default(),
    }
}

fn value(column: &Column<'_>, row: usize) -> Value {
    if column.array.is_null(row) {
        return Value::Null;
    }
    match &column.kind {
        Kind::Null => Value::Null,
        Kind::Bool(values) => Value::Bool(values.value(row)),
        Kind::Int(at) => number_or_text(at(row), 0),
        Kind::Float(at) => {
            let text = at(row);
            match crate::value::parse_data_number(&text) {
                Some(n) => Value::Number(n),
                // NaN and infinities are no numbers: they stay text, as bad data.
                None => Value::String(text.into()),
            }
        }
        Kind::Decimal(at, scale) => match at(row) {
            Some(unscaled) => number_or_text(unscaled, *scale),
            None => Value::String("a decimal too large to read".into()),
        },
        Kind::Str(at) => Value::String(at(row).into()),
        Kind::Date(at) => date(at(row)),
        Kind::Timestamp(at, zoned) => timestamp(at(row), *zoned),
        Kind::Struct(fields) => Value::Map(Map {
            entries: fields
                .iter()
                .filter(|(_, field)| !field.array.is_null(row))
                .map(|(key, field)| Entry {
                    key: key.clone(),
                    key_span: Span::default(),
                    value: node(field, row),
                })
                .collect(),
        }),
        Kind::List(at, items) => Value::List(at(row).map(|i| node(items, i)).collect()),
        Kind::Map(at, keys, values) => Value::Map(Map {
            entries: at(row)
                .filter(|&i| !values.array.is_null(i))
                .map(|i| Entry {
                    key: match value(keys, i) {
                        Value::String(s) => s,
                        other => map_key_text(&other).into(),
                    },
                    key_span: Span::default(),
                    value: node(values, i),
                })
                .collect(),
        }),
        Kind::Dictionary(at, values) => value(values, at(row)),
    }
}

/// An exact number `unscaled × 10^-scale`; as text when it does not fit a decimal.
fn number_or_text(unscaled: i128, scale: i8) -> Value {
    let exact = match u32::try_from(scale) {
        Ok(scale) => Decimal::try_from_i128_with_scale(unscaled, scale).ok(),
        // A negative scale multiplies.
        Err(_) => 10i128
            .checked_pow(u32::from(scale.unsigned_abs()))
            .and_then(|power| unscaled.checked_mul(power))
            .and_then(|n| Decimal::try_from_i128_with_scale(n, 0).ok()),
    };
    match exact {
        Some(n) => Value::Number(n),
        None => Value::String(decimal_text(unscaled, scale).into()),
    }
}

/// The digits of `unscaled × 10^-scale`, written out.
fn decimal_text(unscaled: i128, scale: i8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    match usize::try_from(scale) {
        Ok(0) => format!("{sign}{digits}"),
        Ok(scale) if digits.len() > scale => {
            let (int, frac) = digits.split_at(digits.len() - scale);
            format!("{sign}{int}.{frac}")
        }
        Ok(scale) => format!("{sign}0.{digits:0>scale$}"),
        Err(_) => format!(
            "{sign}{digits}{}",
            "0".repeat(usize::from(scale.unsigned_abs()))
        ),
    }
}

/// A map key that is not a string, as text.
fn map_key_text(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Date(d) => d.to_string(),
        Value::String(s) => s.to_string(),
        _ => String::new(),
    }
}

/// The date `days` after 1970-01-01 (Arrow's `Date32`); out of the calendar, its count as text.
fn date(days: i64) -> Value {
    let epoch = jiff::civil::Date::constant(1970, 1, 1);
    let shifted = jiff::Span::new()
        .try_days(days)
        .ok()
        .and_then(|span| epoch.checked_add(span).ok());
    match shifted {
        Some(d) => Value::Date(d),
        None => Value::String(format!("{days} days after 1970-01-01").into()),
    }
}

/// A timestamp as the text of its instant: UTC with `Z` for a column with a time zone, without
/// an offset otherwise (a naive date-time, as Arrow means it).
fn timestamp(nanos: Option<i128>, zoned: bool) -> Value {
    let Some(at) = nanos.and_then(|n| jiff::Timestamp::from_nanosecond(n).ok()) else {
        return Value::String("a timestamp out of range".into());
    };
    let text = if zoned {
        at.to_string()
    } else {
        jiff::tz::Offset::UTC.to_datetime(at).to_string()
    };
    Value::String(text.into())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{
        ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, DictionaryArray,
        Float64Array, Int64Array, StringArray, TimestampSecondArray, types::Int32Type,
    };
    use arrow_schema::{Field, Fields};

    use super::*;
    use crate::data::test_support::{get, number, string};

    fn batch(columns: Vec<(&str, ArrayRef)>) -> StructArray {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        StructArray::new(
            Fields::from(fields),
            columns.into_iter().map(|(_, a)| a).collect(),
            None,
        )
    }

    fn records(batch: &StructArray) -> Vec<Record> {
        arrow_records(batch, "table", 0)
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn columns_give_the_values_json_would() {
        let rows = batch(vec![
            (
                "id",
                Arc::new(StringArray::from(vec!["A-1", "A-2"])) as ArrayRef,
            ),
            ("quantity", Arc::new(Int64Array::from(vec![35, -2]))),
            ("price", Arc::new(Float64Array::from(vec![0.1, 1e21]))),
            (
                "amount",
                Arc::new(
                    Decimal128Array::from(vec![4_935_000, 5])
                        .with_precision_and_scale(12, 2)
                        .unwrap(),
                ),
            ),
            ("urgent", Arc::new(BooleanArray::from(vec![true, false]))),
        ]);
        let read = records(&rows);
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].index, 1);
        assert_eq!(string(get(&read[0].root, "id")), "A-1");
        assert_eq!(number(get(&read[0].root, "quantity")), Decimal::from(35));
        assert_eq!(number(get(&read[1].root, "quantity")), Decimal::from(-2));
        assert_eq!(number(get(&read[0].root, "price")).to_string(), "0.1");
        assert_eq!(
            number(get(&read[1].root, "price")).to_string(),
            "1000000000000000000000"
        );
        // A decimal keeps its scale, exactly.
        assert_eq!(number(get(&read[0].root, "amount")).to_string(), "49350.00");
        assert_eq!(number(get(&read[1].root, "amount")).to_string(), "0.05");
        assert_eq!(get(&read[0].root, "urgent").value, Value::Bool(true));
    }

    /// pyarrow's smaller decimals (`decimal32`, `decimal64`) read as `decimal128` does.
    #[test]
    fn small_decimals_keep_their_scale() {
        use arrow_array::{Decimal32Array, Decimal64Array};
        let rows = batch(vec![
            (
                "fee",
                Arc::new(
                    Decimal32Array::from(vec![12_345, -5])
                        .with_precision_and_scale(7, 2)
                        .unwrap(),
                ) as ArrayRef,
            ),
            (
                "amount",
                Arc::new(
                    Decimal64Array::from(vec![4_935_000, 5])
                        .with_precision_and_scale(12, 2)
                        .unwrap(),
                ),
            ),
        ]);
        let read = records(&rows);
        assert_eq!(number(get(&read[0].root, "fee")).to_string(), "123.45");
        assert_eq!(number(get(&read[1].root, "fee")).to_string(), "-0.05");
        assert_eq!(number(get(&read[0].root, "amount")).to_string(), "49350.00");
    }

    #[test]
    fn dates_are_dates_and_timestamps_are_instants() {
        let zoned = TimestampSecondArray::from(vec![1_594_756_800]).with_timezone("+02:00");
        let rows = batch(vec![
            (
                "date",
                Arc::new(Date32Array::from(vec![17_849])) as ArrayRef,
            ),
            ("deadline", Arc::new(zoned)),
            (
                "naive",
                Arc::new(TimestampSecondArray::from(vec![1_594_756_800])),
            ),
        ]);
        let read = records(&rows);
        assert_eq!(
            get(&read[0].root, "date").value,
            Value::Date(jiff::civil::date(2018, 11, 14))
        );
        assert_eq!(
            string(get(&read[0].root, "deadline")),
            "2020-07-14T20:00:00Z"
        );
        assert_eq!(string(get(&read[0].root, "naive")), "2020-07-14T20:00:00");
    }

    #[test]
    fn nulls_are_missing_and_lists_and_structs_nest() {
        let mut tenderers = ListBuilder::new(StringBuilder::new());
        tenderers.values().append_value("ORG-1");
        tenderers.values().append_value("ORG-2");
        tenderers.append(true);
        tenderers.append(false);
        let buyer = batch(vec![(
            "unit",
            Arc::new(StringArray::from(vec![Some("1st SOW"), None])) as ArrayRef,
        )]);
        let vendor: DictionaryArray<Int32Type> = vec!["DJI", "DJI"].into_iter().collect();
        let rows = batch(vec![
            ("tenderers", Arc::new(tenderers.finish()) as ArrayRef),
            ("buyer", Arc::new(buyer)),
            ("vendor", Arc::new(vendor)),
        ]);
        let read = records(&rows);
        let Value::List(items) = &get(&read[0].root, "tenderers").value else {
            panic!("a list")
        };
        assert_eq!(items.len(), 2);
        assert_eq!(string(&items[1]), "ORG-2");
        assert_eq!(string(get(get(&read[0].root, "buyer"), "unit")), "1st SOW");
        assert_eq!(string(get(&read[1].root, "vendor")), "DJI");
        // A null is left out of its mapping: the field is missing.
        let Value::Map(second) = &read[1].root.value else {
            panic!("a mapping")
        };
        assert!(second.get("tenderers").is_none());
        let Value::Map(buyer) = &get(&read[1].root, "buyer").value else {
            panic!("a mapping")
        };
        assert!(buyer.entries.is_empty());
    }

    #[test]
    fn a_column_of_another_type_is_an_error_naming_it() {
        let inner = batch(vec![(
            "blob",
            Arc::new(BinaryArray::from(vec![b"x".as_ref()])) as ArrayRef,
        )]);
        let rows = batch(vec![("attachment", Arc::new(inner) as ArrayRef)]);
        let Err(error) = arrow_records(&rows, "table", 0) else {
            panic!("binary is refused")
        };
        assert_eq!(error.code, Code::DataArrowType);
        assert_eq!(
            error.message,
            "column `attachment.blob` has the Arrow type `Binary`, which caveat does not read"
        );
    }

    #[test]
    fn two_columns_of_one_name_are_a_duplicate_key() {
        let rows = batch(vec![
            ("id", Arc::new(StringArray::from(vec!["a"])) as ArrayRef),
            (
                "vendor",
                Arc::new(StringArray::from(vec!["DJI"])) as ArrayRef,
            ),
            (
                "vendor",
                Arc::new(StringArray::from(vec!["Skydio"])) as ArrayRef,
            ),
        ]);
        let Err(error) = arrow_records(&rows, "table", 0) else {
            panic!("a column twice is refused")
        };
        assert_eq!(error.code, Code::DataDuplicateKey);
        assert_eq!(error.message, "column `vendor` appears twice");
    }

    #[test]
    fn a_map_with_a_key_twice_is_a_duplicate_key() {
        use arrow_array::builder::{MapBuilder, StringBuilder};
        let mut maps = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        for (key, value) in [("vendor", "x"), ("vendor", "DJI")] {
            maps.keys().append_value(key);
            maps.values().append_value(value);
        }
        maps.append(true).unwrap();
        maps.keys().append_value("vendor");
        maps.values().append_value("DJI");
        maps.append(true).unwrap();
        let rows = batch(vec![
            (
                "id",
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
            ),
            ("attrs", Arc::new(maps.finish()) as ArrayRef),
        ]);
        let read: Vec<_> = arrow_records(&rows, "table", 0).unwrap().collect();
        let Err(error) = &read[0] else {
            panic!("a key twice is refused")
        };
        assert_eq!(error.code, Code::DataDuplicateKey);
        assert_eq!(error.message, "row 0 has a map with the key `vendor` twice");
        assert!(read[1].is_ok());
    }

    #[test]
    fn a_null_row_is_an_error_and_reading_goes_on() {
        let ids: ArrayRef = Arc::new(StringArray::from(vec!["A", "B"]));
        let rows = StructArray::new(
            Fields::from(vec![Field::new("id", arrow_schema::DataType::Utf8, true)]),
            vec![ids],
            Some(vec![false, true].into()),
        );
        let read: Vec<_> = arrow_records(&rows, "table", 10).unwrap().collect();
        let Err(error) = &read[0] else {
            panic!("a null row is an error")
        };
        assert_eq!(error.code, Code::DataArrowNull);
        assert_eq!(error.message, "row 10 is null, where a record was expected");
        assert_eq!(read[1].as_ref().unwrap().index, 11);
    }

    #[test]
    fn decimals_too_large_for_caveat_stay_text() {
        assert_eq!(number_or_text(12, -2), Value::Number(Decimal::from(1200)));
        assert_eq!(
            number_or_text(i128::MAX, 0),
            Value::String(i128::MAX.to_string().into())
        );
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(decimal_text(1234, 2), "12.34");
    }
}
