//! Values during evaluation, borrowed from the record or the program, and how they compare.

use std::borrow::Cow;
use std::cmp::Ordering;

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::compile::{AliasSet, Const};
use crate::source::Span;
use crate::value::{Map, Node, Value, parse_data_date, parse_data_number};

/// A value met during evaluation, with the span of the record value it came from, if any.
#[derive(Debug, Clone)]
pub struct Ev<'r> {
    /// The value.
    pub v: V<'r>,
    /// Where it stands in the record (`None` for constants and computed values).
    pub span: Option<Span>,
}

/// The kinds of value met during evaluation.
#[derive(Debug, Clone)]
pub enum V<'r> {
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
    /// A list straight from the record.
    Nodes(&'r [Node]),
    /// A list computed during evaluation (a projection, a constant list).
    List(Vec<Ev<'r>>),
    /// A mapping from the record.
    Map(&'r Map),
}

impl<'r> Ev<'r> {
    /// The missing value.
    pub const MISSING: Ev<'static> = Ev {
        v: V::Missing,
        span: None,
    };

    /// A record node as a value.
    pub fn node(node: &'r Node) -> Ev<'r> {
        let v = match &node.value {
            Value::Null => V::Missing,
            Value::Bool(b) => V::Bool(*b),
            Value::Number(n) => V::Num(*n),
            Value::String(s) => V::Str(Cow::Borrowed(s)),
            Value::Date(d) => V::Date(*d),
            Value::List(items) => V::Nodes(items),
            Value::Map(map) => V::Map(map),
        };
        Ev {
            v,
            span: Some(node.span),
        }
    }

    /// A constant as a value.
    pub fn constant(c: &'r Const) -> Ev<'r> {
        let v = match c {
            Const::String(s) => V::Str(Cow::Borrowed(s)),
            Const::Number(n) => V::Num(*n),
            Const::Date(d) => V::Date(*d),
            Const::Bool(b) => V::Bool(*b),
            Const::List(items) => V::List(items.iter().map(Ev::constant).collect()),
        };
        Ev { v, span: None }
    }

    /// A computed value.
    pub fn computed(v: V<'r>) -> Ev<'r> {
        Ev { v, span: None }
    }

    /// Whether the value is missing.
    pub fn is_missing(&self) -> bool {
        matches!(self.v, V::Missing)
    }

    /// The elements of a list value, if it is one.
    pub fn elements(&self) -> Option<Vec<Ev<'r>>> {
        match &self.v {
            V::Nodes(nodes) => Some(nodes.iter().map(Ev::node).collect()),
            V::List(items) => Some(items.clone()),
            _ => None,
        }
    }
}

impl V<'_> {
    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            V::Missing => "missing",
            V::Bool(_) => "a boolean",
            V::Num(_) => "a number",
            V::Str(_) => "a string",
            V::Date(_) => "a date",
            V::Nodes(_) | V::List(_) => "a list",
            V::Map(_) => "a mapping",
        }
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
pub fn show(ev: &Ev<'_>) -> String {
    match &ev.v {
        V::Missing => "(missing)".to_string(),
        V::Bool(b) => b.to_string(),
        V::Num(n) => n.to_string(),
        V::Str(s) => {
            let short: String = s.chars().take(40).collect();
            if short.len() < s.len() {
                format!("\"{short}…\"")
            } else {
                format!("\"{short}\"")
            }
        }
        V::Date(d) => d.to_string(),
        V::Nodes(_) | V::List(_) => "a list".to_string(),
        V::Map(_) => "a mapping".to_string(),
    }
}

/// A value and its type, for error messages: `"DJI" is a string`, or `it is a list` for a value
/// too big to show.
pub fn what_it_is(ev: &Ev<'_>) -> String {
    match &ev.v {
        V::Nodes(_) | V::List(_) | V::Map(_) => format!("it is {}", ev.v.type_name()),
        other => format!("{} is {}", show(ev), other.type_name()),
    }
}

/// A value with its type in brackets, `3 (a number)`, or just the type of a list or mapping.
fn shown_with_type(ev: &Ev<'_>) -> String {
    match &ev.v {
        V::Nodes(_) | V::List(_) | V::Map(_) => ev.v.type_name().to_string(),
        other => format!("{} ({})", show(ev), other.type_name()),
    }
}

fn mismatch(a: &Ev<'_>, b: &Ev<'_>, what: &str) -> Mismatch {
    // Point at whichever side came from the record: that is the bad data.
    let (bad, other) = if a.span.is_some() { (a, b) } else { (b, a) };
    Mismatch {
        message: format!(
            "cannot {what} {} with {}",
            shown_with_type(bad),
            shown_with_type(other)
        ),
        span: bad.span.or(other.span),
    }
}

/// Orders two values of compatible types. `Ok(None)` when either is missing (the comparison is
/// false); an error for incompatible types (bad data).
pub fn compare(a: &Ev<'_>, b: &Ev<'_>) -> Result<Option<Ordering>, Mismatch> {
    let ordering = match (&a.v, &b.v) {
        (V::Missing, _) | (_, V::Missing) => return Ok(None),
        (V::Num(x), V::Num(y)) => x.cmp(y),
        (V::Date(x), V::Date(y)) => x.cmp(y),
        (V::Str(x), V::Str(y)) => match (parse_data_date(x), parse_data_date(y)) {
            (Some(dx), Some(dy)) => dx.cmp(&dy),
            _ => x.as_ref().cmp(y.as_ref()),
        },
        (V::Num(x), V::Str(s)) => match parse_data_number(s) {
            Some(y) => x.cmp(&y),
            None => return Err(mismatch(a, b, "compare")),
        },
        (V::Str(s), V::Num(y)) => match parse_data_number(s) {
            Some(x) => x.cmp(y),
            None => return Err(mismatch(a, b, "compare")),
        },
        (V::Date(x), V::Str(s)) => match parse_data_date(s) {
            Some(y) => x.cmp(&y),
            None => return Err(mismatch(a, b, "compare")),
        },
        (V::Str(s), V::Date(y)) => match parse_data_date(s) {
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
    a: &Ev<'_>,
    b: &Ev<'_>,
    aliases: Option<&AliasSet>,
) -> Result<Option<bool>, Mismatch> {
    match (&a.v, &b.v) {
        (V::Missing, _) | (_, V::Missing) => Ok(None),
        (V::Str(x), V::Str(y)) => {
            if x == y {
                return Ok(Some(true));
            }
            if let Some(set) = aliases {
                // The aliased symbol is one side; the data is the other.
                return Ok(Some(set.matches(x) && set.matches(y)));
            }
            match (parse_data_date(x), parse_data_date(y)) {
                (Some(dx), Some(dy)) => Ok(Some(dx == dy)),
                _ => Ok(Some(false)),
            }
        }
        (V::Bool(x), V::Bool(y)) => Ok(Some(x == y)),
        (V::Nodes(_) | V::List(_), V::Nodes(_) | V::List(_)) => {
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
        (V::Map(_), _)
        | (_, V::Map(_))
        | (V::Nodes(_) | V::List(_), _)
        | (_, V::Nodes(_) | V::List(_))
        | (V::Bool(_), _)
        | (_, V::Bool(_)) => Err(mismatch(a, b, "compare")),
        _ => compare(a, b).map(|o| o.map(|o| o == Ordering::Equal)),
    }
}

/// The string of a value, for string operations; missing stays `None`.
pub fn as_str<'a>(ev: &'a Ev<'_>, what: &str) -> Result<Option<&'a str>, Mismatch> {
    match &ev.v {
        V::Missing => Ok(None),
        V::Str(s) => Ok(Some(s)),
        _ => Err(Mismatch {
            message: format!("{what} needs a string, but {}", what_it_is(ev)),
            span: ev.span,
        }),
    }
}

/// The number of a value for arithmetic (a plain decimal string counts); missing stays `None`.
pub fn as_number(ev: &Ev<'_>, what: &str) -> Result<Option<Decimal>, Mismatch> {
    match &ev.v {
        V::Missing => Ok(None),
        V::Num(n) => Ok(Some(*n)),
        V::Str(s) => parse_data_number(s).map(Some).ok_or_else(|| Mismatch {
            message: format!("{what} needs a number, but {} is not one", show(ev)),
            span: ev.span,
        }),
        _ => Err(Mismatch {
            message: format!("{what} needs a number, but {}", what_it_is(ev)),
            span: ev.span,
        }),
    }
}
