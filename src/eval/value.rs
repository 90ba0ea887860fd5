//! Values during evaluation, borrowed from the record or the program, and how they compare.

use std::borrow::Cow;
use std::cmp::Ordering;

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::compile::{AliasSet, Const};
use crate::source::Span;
use crate::time::{Duration, Instant, parse_instant};
use crate::value::{Map, Node, Value, parse_data_date, parse_data_number};

/// A value met during evaluation, with the span of the record value it came from, if any.
#[derive(Debug, Clone)]
pub struct Operand<'r> {
    /// The value.
    pub value: EvalValue<'r>,
    /// Where it stands in the record (`None` for constants and computed values).
    pub span: Option<Span>,
}

/// The kinds of value met during evaluation.
#[derive(Debug, Clone)]
pub enum EvalValue<'r> {
    /// A field that is absent or null.
    Missing,
    /// `true` / `false`.
    Bool(bool),
    /// An exact decimal.
    Num(Decimal),
    /// A string.
    Str(Cow<'r, str>),
    /// A date.
    Date(Date),
    /// A date-time.
    DateTime(Instant),
    /// A duration.
    Duration(Duration),
    /// A list straight from the record.
    Nodes(&'r [Node]),
    /// A list computed during evaluation (a projection, a constant list).
    List(Vec<Operand<'r>>),
    /// A mapping from the record.
    Map(&'r Map),
}

impl<'r> Operand<'r> {
    /// The missing value.
    pub(crate) const MISSING: Operand<'static> = Operand {
        value: EvalValue::Missing,
        span: None,
    };

    /// A record node as a value.
    pub fn node(node: &'r Node) -> Operand<'r> {
        let v = match &node.value {
            Value::Null => EvalValue::Missing,
            Value::Bool(b) => EvalValue::Bool(*b),
            Value::Number(n) => EvalValue::Num(*n),
            Value::String(s) => EvalValue::Str(Cow::Borrowed(s)),
            Value::Date(d) => EvalValue::Date(*d),
            Value::List(items) => EvalValue::Nodes(items),
            Value::Map(map) => EvalValue::Map(map),
        };
        Operand {
            value: v,
            span: Some(node.span),
        }
    }

    /// A constant as a value.
    pub(crate) fn constant(c: &'r Const) -> Operand<'r> {
        let v = match c {
            Const::String(s) => EvalValue::Str(Cow::Borrowed(s)),
            Const::Number(n) => EvalValue::Num(*n),
            Const::Date(d) => EvalValue::Date(*d),
            Const::DateTime(t) => EvalValue::DateTime(*t),
            Const::Duration(d) => EvalValue::Duration(*d),
            Const::Bool(b) => EvalValue::Bool(*b),
            Const::List(items) => EvalValue::List(items.iter().map(Operand::constant).collect()),
        };
        Operand {
            value: v,
            span: None,
        }
    }

    /// Whether the value is missing.
    pub(crate) fn is_missing(&self) -> bool {
        matches!(self.value, EvalValue::Missing)
    }

    /// The elements of a list value, if it is one.
    pub(crate) fn elements(&self) -> Option<Vec<Operand<'r>>> {
        self.items().map(Iterator::collect)
    }

    /// The elements of a list value, if it is one, one at a time (nothing is collected).
    pub(crate) fn items(&self) -> Option<Items<'_, 'r>> {
        match &self.value {
            EvalValue::Nodes(nodes) => Some(Items::Nodes(nodes.iter())),
            EvalValue::List(items) => Some(Items::List(items.iter())),
            _ => None,
        }
    }
}

/// The elements of a list value, as [`Operand::items`] gives them.
pub(crate) enum Items<'a, 'r> {
    /// A list of the record.
    Nodes(std::slice::Iter<'r, Node>),
    /// A computed list.
    List(std::slice::Iter<'a, Operand<'r>>),
}

impl<'r> Iterator for Items<'_, 'r> {
    type Item = Operand<'r>;

    fn next(&mut self) -> Option<Operand<'r>> {
        match self {
            Items::Nodes(nodes) => nodes.next().map(Operand::node),
            Items::List(items) => items.next().cloned(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Items::Nodes(nodes) => nodes.size_hint(),
            Items::List(items) => items.size_hint(),
        }
    }
}

impl EvalValue<'_> {
    /// A short name of the value's type, for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            EvalValue::Missing => "missing",
            EvalValue::Bool(_) => "a boolean",
            EvalValue::Num(_) => "a number",
            EvalValue::Str(s) => beyond_decimals(s).unwrap_or("a string"),
            EvalValue::Date(_) => "a date",
            EvalValue::DateTime(_) => "a date-time",
            EvalValue::Duration(_) => "a duration",
            EvalValue::Nodes(_) | EvalValue::List(_) => "a list",
            EvalValue::Map(_) => "a mapping",
        }
    }
}

/// What `text` is when it is written as a number that an exact decimal cannot hold, so that the
/// reader kept it as text. A plain decimal longer than 28 significant digits is called a number:
/// the language compares it as one, quoted or not. A number whose exponent takes it out of range
/// (`1e400`, `5e-40`) and YAML's infinity and not-a-number (`.inf`, `.nan`) are strings to the
/// language, and may have been quoted on purpose (which cannot be told here): they are called
/// strings, with what they would be as numbers. `None` for any other text.
pub(crate) fn beyond_decimals(text: &str) -> Option<&'static str> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return Some("a string: as a number, YAML's infinity, which exact decimals cannot hold");
    }
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(
            "a string: as a number, YAML's not-a-number, which exact decimals cannot hold",
        );
    }
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    let is_number =
        !(int.is_empty() && frac.is_empty()) && digits(int) && digits(frac) && exponent_ok;
    if !is_number || crate::data::number_as_written(text).is_some() {
        return None;
    }
    let significant = int.trim_start_matches('0').len() + frac.len();
    match exponent {
        Some(_) => Some("a string: as a number, out of the range of exact decimals"),
        None if significant > 28 => Some("a number too long for exact decimals"),
        None => None,
    }
}

/// Why two values could not be compared: the value that did not fit and what was expected.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// The message.
    pub message: String,
    /// The record value at fault, when one is.
    pub span: Option<Span>,
}

/// Renders a value briefly for messages: `"DJI"`, `49350.00`, `2018-05-23`.
pub fn show(ev: &Operand<'_>) -> String {
    match &ev.value {
        EvalValue::Missing => "(missing)".to_string(),
        EvalValue::Bool(b) => b.to_string(),
        EvalValue::Num(n) => n.to_string(),
        EvalValue::Str(s) => {
            let short: String = s.chars().take(40).collect();
            if short.len() < s.len() {
                format!("\"{short}…\"")
            } else {
                format!("\"{short}\"")
            }
        }
        EvalValue::Date(d) => d.to_string(),
        EvalValue::DateTime(t) => t.to_string(),
        EvalValue::Duration(d) => d.to_string(),
        EvalValue::Nodes(_) | EvalValue::List(_) => "a list".to_string(),
        EvalValue::Map(_) => "a mapping".to_string(),
    }
}

/// A value and its type, for error messages: `"DJI" is a string`, or `it is a list` for a value
/// too big to show.
pub(crate) fn what_it_is(ev: &Operand<'_>) -> String {
    match &ev.value {
        EvalValue::Nodes(_) | EvalValue::List(_) | EvalValue::Map(_) => {
            format!("it is {}", ev.value.type_name())
        }
        other => format!("{} is {}", show(ev), other.type_name()),
    }
}

/// A value with its type in brackets, `3 (a number)`, or just the type of a list or mapping.
fn shown_with_type(ev: &Operand<'_>) -> String {
    match &ev.value {
        EvalValue::Nodes(_) | EvalValue::List(_) | EvalValue::Map(_) => {
            ev.value.type_name().to_string()
        }
        other => format!("{} ({})", show(ev), other.type_name()),
    }
}

fn mismatch(a: &Operand<'_>, b: &Operand<'_>, what: &str) -> Mismatch {
    // Point at whichever side came from the record: that is the bad data. When neither (or
    // both) did, the sides stay in the order the rule wrote them.
    let (bad, other) = if a.span.is_none() && b.span.is_some() {
        (b, a)
    } else {
        (a, b)
    };
    Mismatch {
        message: format!(
            "cannot {what} {} with {}",
            shown_with_type(bad),
            shown_with_type(other)
        ),
        span: bad.span.or(other.span),
    }
}

/// A point in time: a date, or a date-time.
#[derive(Debug, Clone, Copy)]
pub(crate) enum When {
    /// A calendar date.
    Date(Date),
    /// A date-time.
    At(Instant),
}

impl When {
    /// A data string as a date or date-time, if it is one.
    pub(crate) fn parse(text: &str) -> Option<When> {
        match parse_instant(text) {
            Some(t) => Some(When::At(t)),
            None => parse_data_date(text).map(When::Date),
        }
    }

    /// Its calendar date (a date-time's as written).
    pub(crate) fn date(self) -> Option<Date> {
        match self {
            When::Date(d) => Some(d),
            When::At(t) => t.date(),
        }
    }

    /// As an instant: a date counts as 00:00 UTC of its day.
    pub(crate) fn instant(self) -> Instant {
        match self {
            When::Date(d) => Instant::at_midnight(d),
            When::At(t) => t,
        }
    }

    /// Two date-times compare as instants; a date and a date-time by calendar date.
    fn cmp(self, other: When) -> Option<Ordering> {
        match (self, other) {
            (When::At(x), When::At(y)) => Some(x.cmp(&y)),
            (x, y) => Some(x.date()?.cmp(&y.date()?)),
        }
    }
}

/// A value as a date or date-time, when it is one (a data string that reads as one counts).
pub(crate) fn as_when(value: &EvalValue<'_>) -> Option<When> {
    match value {
        EvalValue::Date(d) => Some(When::Date(*d)),
        EvalValue::DateTime(t) => Some(When::At(*t)),
        EvalValue::Str(s) => When::parse(s),
        _ => None,
    }
}

/// Orders two values of compatible types. `Ok(None)` when either is missing (the comparison is
/// false); an error for incompatible types (bad data).
pub fn compare(a: &Operand<'_>, b: &Operand<'_>) -> Result<Option<Ordering>, Mismatch> {
    let ordering = match (&a.value, &b.value) {
        (EvalValue::Missing, _) | (_, EvalValue::Missing) => return Ok(None),
        (EvalValue::Num(x), EvalValue::Num(y)) => crate::value::order_decimals(x, y),
        // Values of one type order (LANGUAGE.md §4): `false` before `true`.
        (EvalValue::Bool(x), EvalValue::Bool(y)) => x.cmp(y),
        (EvalValue::Date(x), EvalValue::Date(y)) => x.cmp(y),
        (EvalValue::Duration(x), EvalValue::Duration(y)) => x.cmp(y),
        (EvalValue::Duration(_), _) | (_, EvalValue::Duration(_)) => {
            return Err(mismatch(a, b, "compare"));
        }
        (EvalValue::Str(x), EvalValue::Str(y)) => match (When::parse(x), When::parse(y)) {
            (Some(wx), Some(wy)) => match wx.cmp(wy) {
                Some(o) => o,
                None => x.as_ref().cmp(y.as_ref()),
            },
            _ => x.as_ref().cmp(y.as_ref()),
        },
        (EvalValue::DateTime(_), _) | (_, EvalValue::DateTime(_)) => {
            match (as_when(&a.value), as_when(&b.value)) {
                (Some(x), Some(y)) => match x.cmp(y) {
                    Some(o) => o,
                    None => return Err(mismatch(a, b, "compare")),
                },
                _ => return Err(mismatch(a, b, "compare")),
            }
        }
        (EvalValue::Num(x), EvalValue::Str(s)) => match parse_data_number(s) {
            Some(y) => x.cmp(&y),
            None => return Err(mismatch(a, b, "compare")),
        },
        (EvalValue::Str(s), EvalValue::Num(y)) => match parse_data_number(s) {
            Some(x) => x.cmp(y),
            None => return Err(mismatch(a, b, "compare")),
        },
        (EvalValue::Date(x), EvalValue::Str(s)) => match parse_data_date(s) {
            Some(y) => x.cmp(&y),
            None => return Err(mismatch(a, b, "compare")),
        },
        (EvalValue::Str(s), EvalValue::Date(y)) => match parse_data_date(s) {
            Some(x) => x.cmp(y),
            None => return Err(mismatch(a, b, "compare")),
        },
        _ => return Err(mismatch(a, b, "compare")),
    };
    Ok(Some(ordering))
}

/// Whether two values are equal. `Ok(None)` when either is missing; an error for incompatible
/// types. With `aliases`, a string matches any of the alias spellings.
pub fn equals(
    a: &Operand<'_>,
    b: &Operand<'_>,
    aliases: Option<&AliasSet>,
) -> Result<Option<bool>, Mismatch> {
    match (&a.value, &b.value) {
        (EvalValue::Missing, _) | (_, EvalValue::Missing) => Ok(None),
        (EvalValue::Str(x), EvalValue::Str(y)) => {
            if x == y {
                return Ok(Some(true));
            }
            if let Some(set) = aliases {
                // The aliased symbol is one side; the data is the other.
                return Ok(Some(set.matches(x) && set.matches(y)));
            }
            match (When::parse(x), When::parse(y)) {
                (Some(wx), Some(wy)) => Ok(Some(wx.cmp(wy) == Some(Ordering::Equal))),
                _ => Ok(Some(false)),
            }
        }
        (EvalValue::Bool(x), EvalValue::Bool(y)) => Ok(Some(x == y)),
        (EvalValue::Nodes(_) | EvalValue::List(_), EvalValue::Nodes(_) | EvalValue::List(_)) => {
            let (xs, ys) = (
                a.elements().unwrap_or_default(),
                b.elements().unwrap_or_default(),
            );
            if xs.len() != ys.len() {
                return Ok(Some(false));
            }
            for (x, y) in xs.iter().zip(&ys) {
                if equals(x, y, aliases)? != Some(true) {
                    return Ok(Some(false));
                }
            }
            Ok(Some(true))
        }
        (EvalValue::Map(_), _)
        | (_, EvalValue::Map(_))
        | (EvalValue::Nodes(_) | EvalValue::List(_), _)
        | (_, EvalValue::Nodes(_) | EvalValue::List(_))
        | (EvalValue::Bool(_), _)
        | (_, EvalValue::Bool(_)) => Err(mismatch(a, b, "compare")),
        _ => compare(a, b).map(|o| o.map(|o| o == Ordering::Equal)),
    }
}

/// The string of a value, for string operations; missing stays `None`.
pub fn as_str<'a>(ev: &'a Operand<'_>, what: &str) -> Result<Option<&'a str>, Mismatch> {
    match &ev.value {
        EvalValue::Missing => Ok(None),
        EvalValue::Str(s) => Ok(Some(s)),
        _ => Err(Mismatch {
            message: format!("{what} needs a string, but {}", what_it_is(ev)),
            span: ev.span,
        }),
    }
}

/// The number of a value for arithmetic (a plain decimal string counts); missing stays `None`.
pub(crate) fn as_number(ev: &Operand<'_>, what: &str) -> Result<Option<Decimal>, Mismatch> {
    match &ev.value {
        EvalValue::Missing => Ok(None),
        EvalValue::Num(n) => Ok(Some(*n)),
        EvalValue::Str(s) => parse_data_number(s).map(Some).ok_or_else(|| Mismatch {
            // A number exact decimals cannot hold says what it is (`beyond_decimals`).
            message: match beyond_decimals(s) {
                Some(what_it_is) => {
                    format!("{what} needs a number, but {} is {what_it_is}", show(ev))
                }
                None => format!("{what} needs a number, but {} is not one", show(ev)),
            },
            span: ev.span,
        }),
        _ => Err(Mismatch {
            message: format!("{what} needs a number, but {}", what_it_is(ev)),
            span: ev.span,
        }),
    }
}

/// What `sort`, `min` and `max` order `items` by, when it is not the items themselves: among
/// numbers, a string that is a plain decimal is that number (`"10"` after `9.5`, not before it
/// as text), as comparisons read it one pair at a time. `None` when no item needs that.
pub(crate) fn ordering_keys<'r>(items: &[Operand<'r>]) -> Option<Vec<Operand<'r>>> {
    let is_number = |i: &Operand<'_>| matches!(i.value, EvalValue::Num(_));
    let is_string = |i: &Operand<'_>| matches!(i.value, EvalValue::Str(_));
    if !(items.iter().any(is_number) && items.iter().any(is_string)) {
        return None;
    }
    let key = |item: &Operand<'r>| match &item.value {
        EvalValue::Str(s) => parse_data_number(s).map_or_else(
            || item.clone(),
            |n| Operand {
                value: EvalValue::Num(n),
                span: item.span,
            },
        ),
        _ => item.clone(),
    };
    Some(items.iter().map(key).collect())
}

/// A value as `sort`, `min` and `max` order it among the values of its list: the values of one
/// list get ranks of one kind, in one total order, so that a sort never meets a cycle (comparing
/// pair by pair, a date equals every date-time of its day while date-times order as instants).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rank<'a> {
    /// `false` before `true`.
    Bool(bool),
    /// A number.
    Num(Decimal),
    /// A duration.
    Duration(Duration),
    /// A date or date-time. In a list of both, by calendar date first (a date-time's as
    /// written, as comparisons match a date with a date-time), then as an instant (a date at
    /// 00:00 UTC of its day); dates alone order by day, date-times alone as instants.
    When(Option<Date>, Instant),
    /// A string of a list in which not every string is a date or date-time: its text.
    Text(&'a str),
    /// A value that does not order (a list, a mapping).
    Other,
}

/// How the values of one list rank ([`Rank`]).
pub(crate) struct Ranking {
    /// Every value is a date or a date-time (or a string that is one): they rank as such;
    /// otherwise strings rank by their text.
    when: bool,
    /// Among them are dates and date-times both: the calendar date ranks first.
    mixed: bool,
}

impl Ranking {
    /// The ranking of `items` (missing ones left out).
    pub(crate) fn of(items: &[Operand<'_>]) -> Ranking {
        // One pass: each string is read as a date or date-time once.
        let (mut dates, mut times) = (false, false);
        for item in items.iter().filter(|i| !i.is_missing()) {
            match as_when(&item.value) {
                Some(When::Date(_)) => dates = true,
                Some(When::At(_)) => times = true,
                None => {
                    return Ranking {
                        when: false,
                        mixed: false,
                    };
                }
            }
        }
        Ranking {
            when: true,
            mixed: dates && times,
        }
    }

    /// The rank of `item`; `None` when it is missing.
    pub(crate) fn rank<'a>(&self, item: &'a Operand<'_>) -> Option<Rank<'a>> {
        Some(match &item.value {
            EvalValue::Missing => return None,
            EvalValue::Bool(b) => Rank::Bool(*b),
            EvalValue::Num(n) => Rank::Num(*n),
            EvalValue::Duration(d) => Rank::Duration(*d),
            EvalValue::Str(s) if !self.when => Rank::Text(s),
            value => match as_when(value) {
                Some(when) => Rank::When(when.date().filter(|_| self.mixed), when.instant()),
                None => Rank::Other,
            },
        })
    }

    /// The ranks of `items` by position (`None` for a missing one), or, when two of them do not
    /// order together (a list mixing types is bad data), what `compare` says of the odd one out
    /// ([`odd_one_out`]), at that value.
    pub(crate) fn ranks<'a>(
        &self,
        items: &'a [Operand<'_>],
    ) -> Result<Vec<Option<Rank<'a>>>, Mismatch> {
        let ranks: Vec<Option<Rank<'a>>> = items.iter().map(|i| self.rank(i)).collect();
        let mut present = ranks.iter().flatten();
        if let Some(first) = present.next()
            && present.any(|rank| !Rank::orders_with(first, rank))
        {
            return Err(odd_one_out(items, &ranks));
        }
        Ok(ranks)
    }
}

/// Of values that do not all order together, the first that does not order with the kind most
/// of them have (the earliest kind among equals), compared with the first of that kind: in a
/// group, the record that holds the bad value is named, wherever it stands.
fn odd_one_out(items: &[Operand<'_>], ranks: &[Option<Rank<'_>>]) -> Mismatch {
    let present: Vec<(&Operand<'_>, &Rank<'_>)> = items
        .iter()
        .zip(ranks)
        .filter_map(|(item, rank)| Some((item, rank.as_ref()?)))
        .collect();
    let mut kinds: std::collections::HashMap<std::mem::Discriminant<Rank<'_>>, (usize, usize)> =
        std::collections::HashMap::new();
    for (at, (_, rank)) in present.iter().enumerate() {
        if !matches!(rank, Rank::Other) {
            kinds
                .entry(std::mem::discriminant(*rank))
                .or_insert((0, at))
                .0 += 1;
        }
    }
    let typical = kinds
        .values()
        .max_by_key(|(count, first)| (*count, std::cmp::Reverse(*first)))
        .and_then(|(_, first)| present.get(*first));
    match typical {
        Some(&(example, kind)) => {
            let odd = present
                .iter()
                .find(|(_, rank)| !Rank::orders_with(kind, rank))
                .map_or(example, |(item, _)| *item);
            mismatch(odd, example, "compare")
        }
        // Nothing orders (mappings, lists): the first two.
        None => match present.as_slice() {
            [(a, _), (b, _), ..] => mismatch(a, b, "compare"),
            [(a, _)] => mismatch(a, a, "compare"),
            [] => Mismatch {
                message: "cannot compare these values".to_string(),
                span: None,
            },
        },
    }
}

impl Rank<'_> {
    /// Whether two ranks order together: of one kind, and not [`Rank::Other`].
    pub(crate) fn orders_with(&self, other: &Rank<'_>) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && !matches!(self, Rank::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The evaluator moves an operand for every expression it evaluates: a value must not grow
    /// past a string's size (an `i128` aligned to 16 bytes once made every operand 80 bytes).
    #[test]
    fn operands_stay_small() {
        assert!(std::mem::size_of::<EvalValue<'static>>() <= 32);
        assert!(std::mem::size_of::<Operand<'static>>() <= 56);
    }

    /// A number the reader kept as text says what it is as a number; text that is not written
    /// as a number is just a string.
    #[test]
    fn numbers_beyond_exact_decimals_are_named_as_numbers() {
        let name = |text: &'static str| EvalValue::Str(Cow::Borrowed(text)).type_name();
        let long = "1234567890123456789012345678901";
        assert_eq!(name(long), "a number too long for exact decimals");
        assert_eq!(
            name("-0.0000000000000000000000000000001"),
            "a number too long for exact decimals"
        );
        for text in ["1e400", "-2.5E+400", "5e-40"] {
            assert_eq!(
                name(text),
                "a string: as a number, out of the range of exact decimals",
                "{text}"
            );
        }
        for text in [".inf", "-.Inf", "+.INF"] {
            assert_eq!(
                name(text),
                "a string: as a number, YAML's infinity, which exact decimals cannot hold"
            );
        }
        assert_eq!(
            name(".nan"),
            "a string: as a number, YAML's not-a-number, which exact decimals cannot hold"
        );
        for text in [
            "DJI", "1e", "e5", "1.", ".5", "1e4x", "-.nan", "..inf", "12.5", "1e3", "",
        ] {
            assert_eq!(name(text), "a string", "{text}");
        }
    }
}
