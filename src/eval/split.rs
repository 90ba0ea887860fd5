//! Rules across records in a run split into parts, as a Spark job splits it: the records are
//! spread over workers, so a rule across records runs in stages instead of in one [`finish`](across::finish).
//!
//! 1. Each record's groups: [`crate::run::records::RecordCheck`] with
//!    [`AcrossStage::Split`](crate::run::records::AcrossStage::Split) gives, for each rule across
//!    records, a token per group the record joins (its key values, typed), so that the records
//!    can be brought together by `(rule, token)`.
//! 2. If the rule reads `all.NAME`: [`group_all_values`] on each group's records gives the values
//!    the group adds to `all.`; [`combine_all`] joins them, in the order of the groups' first
//!    records, into the run's values (computed on the driver and broadcast).
//! 3. [`group_findings`] on each group's records, with the run's `all.` values, gives the group's
//!    findings: the same as [`finish`](across::finish) gives for that group on the whole run.
//!
//! Values travel between the stages as JSON text, each value tagged with its type, so that
//! numbers stay exact decimals and dates stay dates.

use std::borrow::Cow;

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde_json::{Value as Json, json};

use super::across::{self, AcrossRecords, KeyValue, finish_with};
use super::value::{EvalValue, Operand};
use crate::compile::{Program, Segment};
use crate::data::Record;
use crate::report::Reported;
use crate::time::{Duration, Instant};

/// A group's name among the groups of its rule, as a text that tells key values of different
/// types apart (`s:DJI`, `n:10.5`, `d:2018-11-14`), keys separated by a unit separator. A rule
/// without `per` (one that reads `all.` record by record) makes each record its own group,
/// named by its position, `#ROW`.
pub(crate) fn token(keys: &[KeyValue], index: usize) -> String {
    if keys.is_empty() {
        return format!("#{index}");
    }
    let mut out = String::new();
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push('\u{1f}');
        }
        match key {
            KeyValue::Text(s) => {
                out.push_str("s:");
                out.push_str(s);
            }
            KeyValue::Number(n) => out.push_str(&format!("n:{n}")),
            KeyValue::Date(d) => out.push_str(&format!("d:{d}")),
            KeyValue::Instant(t) => out.push_str(&format!("t:{}", { t.nanos })),
            KeyValue::TimeText(t) => out.push_str(&format!("st:{}", { t.nanos })),
            KeyValue::Bool(b) => out.push_str(&format!("b:{b}")),
        }
    }
    out
}

/// What the records of one group give the rule at `rule`: the run's records as the rule keeps
/// them, reduced to the group named `token` (the records' other groups, and the other rules,
/// are left out); every group of the rule when `token` is `None` (for a rule without `per`,
/// whose groups are its records, a part of the run at once). Records are taken in the order
/// given, which must be input order.
fn one_group(
    program: &Program,
    records: impl IntoIterator<Item = Record>,
    rule: usize,
    token_of_group: Option<&str>,
    id_field: &[Segment],
) -> AcrossRecords {
    let mut kept = AcrossRecords::default();
    let mut collected = Vec::new();
    let plan = across::Plan::new(program);
    for record in records {
        let name = super::record_label(&record, id_field);
        collected.clear();
        across::collect(program, &plan, &record, &name, &mut collected);
        let chosen = collected.drain(..).filter_map(|mut c| {
            if c.rule != rule || c.error.is_some() {
                return None;
            }
            let Some(token_of_group) = token_of_group else {
                return Some(c);
            };
            if c.joins.is_empty() {
                // A rule without `per`: the record is the group.
                return (token(&[], c.index) == token_of_group).then_some(c);
            }
            let index = c.index;
            c.retain_groups(|k| token(k, index) == token_of_group);
            (!c.joins.is_empty()).then_some(c)
        });
        kept.add(program, chosen.collect(), |index| index.to_string());
    }
    kept
}

/// The values the group named `token` of the rule at `rule` adds to `all.` (stage 2 above), as
/// JSON text: for each of the rule's lets, the list of values (empty for a let `all.` does not
/// read, or a group `having` leaves out). `records` are the group's records in input order;
/// with `token` `None`, every group they form (for a rule without `per`: a part of the run's
/// records, in input order).
pub fn group_all_values(
    program: &Program,
    records: impl IntoIterator<Item = Record>,
    rule: usize,
    token: Option<&str>,
    id_field: &[Segment],
) -> Result<String, String> {
    let kept = one_group(program, records, rule, token, id_field);
    let values = across::all_values(program, &kept, rule, to_json);
    let lets: Result<Vec<Vec<Json>>, String> = values
        .into_iter()
        .map(|values| values.into_iter().collect())
        .collect();
    Ok(Json::Array(lets?.into_iter().map(Json::Array).collect()).to_string())
}

/// The run's `all.` values of a rule, from what each group gave ([`group_all_values`]), in the
/// order of the groups' first records: each let's lists joined.
pub fn combine_all<'a>(parts: impl IntoIterator<Item = &'a str>) -> Result<String, String> {
    let mut lets: Vec<Vec<Json>> = Vec::new();
    for part in parts {
        let Ok(Json::Array(part)) = serde_json::from_str::<Json>(part) else {
            return Err("the values of a group are not a JSON list".into());
        };
        if lets.len() < part.len() {
            lets.resize(part.len(), Vec::new());
        }
        for (all, values) in lets.iter_mut().zip(part) {
            let Json::Array(values) = values else {
                return Err("the values of a let are not a JSON list".into());
            };
            all.extend(values);
        }
    }
    Ok(Json::Array(lets.into_iter().map(Json::Array).collect()).to_string())
}

/// The findings of the rule at `rule` on the group named `token` (stage 3 above): `records` are
/// the group's records in input order (with `token` `None`, every group they form), `all` the
/// run's `all.` values from [`combine_all`] (`None` when the rule reads none). An `Err` when
/// `all` is not such a text.
pub fn group_findings(
    program: &Program,
    records: impl IntoIterator<Item = Record>,
    rule: usize,
    token: Option<&str>,
    id_field: &[Segment],
    all: Option<&str>,
) -> Result<Vec<Reported>, String> {
    let kept = one_group(program, records, rule, token, id_field);
    let mut given = across::GivenAll::new();
    if let Some(all) = all {
        let Ok(Json::Array(lets)) = serde_json::from_str::<Json>(all) else {
            return Err("the `all.` values are not a JSON list".into());
        };
        let mut values = Vec::with_capacity(lets.len());
        for values_of_let in lets {
            let Json::Array(items) = values_of_let else {
                return Err("the values of a let are not a JSON list".into());
            };
            values.push(items.iter().map(from_json).collect::<Result<Vec<_>, _>>()?);
        }
        given.insert(rule, values);
    }
    let mut used = vec![false; program.waivers.len()];
    Ok(finish_with(program, &kept, &mut used, false, &given)
        .into_iter()
        .map(|found| crate::report::finding::across_finding(program, found))
        .collect())
}

/// A value as tagged JSON; `Err` for a mapping, which cannot travel.
fn to_json(value: &Operand<'_>) -> Result<Json, String> {
    Ok(match &value.value {
        EvalValue::Missing => json!({ "m": null }),
        EvalValue::Bool(b) => json!({ "b": b }),
        EvalValue::Num(n) => json!({ "n": n.to_string() }),
        EvalValue::Str(s) => json!({ "s": s }),
        EvalValue::Date(d) => json!({ "d": d.to_string() }),
        EvalValue::DateTime(t) => {
            let nanos = t.nanos;
            json!({ "t": [nanos.to_string(), t.offset_seconds] })
        }
        EvalValue::Duration(d) => {
            let nanos = d.0;
            json!({ "u": nanos.to_string() })
        }
        EvalValue::Nodes(_) | EvalValue::List(_) => {
            let items = value.elements().unwrap_or_default();
            json!({ "l": items.iter().map(to_json).collect::<Result<Vec<_>, _>>()? })
        }
        EvalValue::Map(_) => {
            return Err(
                "a value `all.` reads is a mapping, which a split run cannot carry between its \
                 stages: let the rule read a field of it"
                    .into(),
            );
        }
    })
}

/// A value from tagged JSON ([`to_json`]).
fn from_json(json: &Json) -> Result<Operand<'static>, String> {
    let bad = || format!("`{json}` is not a value of `all.`");
    let Json::Object(map) = json else {
        return Err(bad());
    };
    let Some((tag, inner)) = map.iter().next() else {
        return Err(bad());
    };
    let text = || inner.as_str().ok_or_else(bad);
    let value = match tag.as_str() {
        "m" => EvalValue::Missing,
        "b" => EvalValue::Bool(inner.as_bool().ok_or_else(bad)?),
        "n" => EvalValue::Num(text()?.parse::<Decimal>().map_err(|_| bad())?),
        "s" => EvalValue::Str(Cow::Owned(text()?.to_string())),
        "d" => EvalValue::Date(text()?.parse::<Date>().map_err(|_| bad())?),
        "t" => {
            let nanos = inner
                .get(0)
                .and_then(Json::as_str)
                .and_then(|n| n.parse::<i128>().ok());
            let offset = inner
                .get(1)
                .and_then(Json::as_i64)
                .and_then(|o| i32::try_from(o).ok());
            let (Some(nanos), Some(offset_seconds)) = (nanos, offset) else {
                return Err(bad());
            };
            EvalValue::DateTime(Instant {
                nanos,
                offset_seconds,
            })
        }
        "u" => EvalValue::Duration(Duration(text()?.parse::<i128>().map_err(|_| bad())?)),
        "l" => EvalValue::List(
            inner
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .map(from_json)
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(bad()),
    };
    Ok(Operand { value, span: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_travel_as_tagged_json_and_come_back_alike() {
        let values = [
            r#"{"n":"49350.00"}"#,
            r#"{"s":"DJI"}"#,
            r#"{"d":"2018-11-14"}"#,
            r#"{"t":["1594756800000000000",7200]}"#,
            r#"{"b":true}"#,
            r#"{"u":"86400000000000"}"#,
            r#"{"l":[{"n":"1"},{"m":null}]}"#,
        ];
        for text in values {
            let json: Json = serde_json::from_str(text).unwrap();
            let value = from_json(&json).unwrap();
            assert_eq!(to_json(&value).unwrap(), json, "{text}");
        }
        assert!(from_json(&json!({"x": 1})).is_err());
        assert!(from_json(&json!({"n": "lots"})).is_err());
    }

    #[test]
    fn the_parts_of_all_are_joined_let_by_let_in_order() {
        let joined = combine_all([r#"[[{"n":"1"}],[]]"#, r#"[[{"n":"2"}],[{"s":"x"}]]"#]).unwrap();
        assert_eq!(joined, r#"[[{"n":"1"},{"n":"2"}],[{"s":"x"}]]"#);
        assert!(combine_all(["{}"]).is_err());
    }

    #[test]
    fn tokens_tell_key_types_apart() {
        let text = token(&[KeyValue::Text("10".into())], 0);
        let number = token(&[KeyValue::Number(Decimal::from(10))], 0);
        assert_ne!(text, number);
        assert_eq!(token(&[], 7), "#7");
        assert_eq!(
            token(&[KeyValue::Text("DJI".into()), KeyValue::Bool(true)], 0),
            "s:DJI\u{1f}b:true"
        );
    }
}
