//! `+ - * /` at run time: exact decimals, and time (§11): a date or date-time and a duration, two
//! dates or date-times for a duration, durations with durations.

use rust_decimal::Decimal;

use super::value::{EvalValue, Mismatch, Operand, When, as_when, show};
use crate::compile::Const;
use crate::syntax::ast::ArithOp;
use crate::time::{Duration, Instant, date_from_days, days_from_date};

/// One operand of a chain of arithmetic, by kind.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Term {
    /// A number (a plain decimal string counts).
    Num(Decimal),
    /// A date or date-time (a data string that reads as one counts).
    When(When),
    /// A duration.
    Duration(Duration),
}

impl Term {
    /// The term of a value; `Ok(None)` when it is missing.
    pub(crate) fn of(value: &Operand<'_>) -> Result<Option<Term>, Mismatch> {
        Ok(Some(match &value.value {
            EvalValue::Missing => return Ok(None),
            EvalValue::Num(n) => Term::Num(*n),
            EvalValue::Duration(d) => Term::Duration(*d),
            EvalValue::Str(s) => match crate::value::parse_data_number(s) {
                Some(n) => Term::Num(n),
                None => match as_when(&value.value) {
                    Some(w) => Term::When(w),
                    None => {
                        return Err(Mismatch {
                            message: format!(
                                "arithmetic needs a number, a date or a duration, but {} is none",
                                show(value)
                            ),
                            span: value.span,
                        });
                    }
                },
            },
            other => match as_when(other) {
                Some(w) => Term::When(w),
                None => {
                    return Err(Mismatch {
                        message: format!(
                            "arithmetic needs a number, a date or a duration, but {} is {}",
                            show(value),
                            other.type_name()
                        ),
                        span: value.span,
                    });
                }
            },
        }))
    }

    /// The term as a value.
    pub(crate) fn value(self) -> EvalValue<'static> {
        match self {
            Term::Num(n) => EvalValue::Num(n),
            Term::Duration(d) => EvalValue::Duration(d),
            Term::When(When::Date(d)) => EvalValue::Date(d),
            Term::When(When::At(t)) => EvalValue::DateTime(t),
        }
    }

    /// The term of a number, date, date-time or duration constant of the policy.
    pub(crate) fn of_constant(constant: &Const) -> Option<Term> {
        Some(match constant {
            Const::Number(n) => Term::Num(*n),
            Const::Date(d) => Term::When(When::Date(*d)),
            Const::DateTime(t) => Term::When(When::At(*t)),
            Const::Duration(d) => Term::Duration(*d),
            _ => return None,
        })
    }

    /// The term as a constant of the policy.
    pub(crate) fn constant(self) -> Const {
        match self {
            Term::Num(n) => Const::Number(n),
            Term::Duration(d) => Const::Duration(d),
            Term::When(When::Date(d)) => Const::Date(d),
            Term::When(When::At(t)) => Const::DateTime(t),
        }
    }

    fn name(self) -> &'static str {
        self.value().type_name()
    }
}

/// Why `a OP b` has no value.
#[derive(Debug)]
pub(crate) enum Fault {
    /// The kinds do not combine (`date + 5`): of constants, the type checker says so.
    Kinds(String),
    /// The values do: the result overflows, or it divides by zero.
    Value(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Kinds(why) | Fault::Value(why) => f.write_str(why),
        }
    }
}

/// `a OP b`; why not when the kinds do not combine or the result overflows.
pub(crate) fn combine(op: ArithOp, a: Term, b: Term) -> Result<Term, Fault> {
    let overflow = || Fault::Value("the result is too large (overflow)".to_string());
    let off_calendar =
        || Fault::Value("the result is not a date of the years 0000 to 9999".to_string());
    Ok(match (a, b, op) {
        (Term::Num(x), Term::Num(y), _) => {
            Term::Num(crate::value::arith(op, x, y).map_err(Fault::Value)?)
        }
        (Term::When(x), Term::When(y), ArithOp::Sub) => Term::Duration(between(y, x)),
        (Term::When(w), Term::Duration(d), ArithOp::Add | ArithOp::Sub) => {
            let d = if matches!(op, ArithOp::Sub) {
                Duration(d.0.checked_neg().ok_or_else(overflow)?)
            } else {
                d
            };
            Term::When(shift(w, d).ok_or_else(off_calendar)?)
        }
        (Term::Duration(d), Term::When(w), ArithOp::Add) => {
            Term::When(shift(w, d).ok_or_else(off_calendar)?)
        }
        (Term::Duration(x), Term::Duration(y), ArithOp::Add) => {
            Term::Duration(x.checked_add(y).ok_or_else(overflow)?)
        }
        (Term::Duration(x), Term::Duration(y), ArithOp::Sub) => {
            Term::Duration(Duration(x.0.checked_sub(y.0).ok_or_else(overflow)?))
        }
        (Term::When(_), Term::Num(_), ArithOp::Add | ArithOp::Sub) => {
            return Err(Fault::Kinds(format!(
                "{}: write a duration, such as `5 days`",
                cannot(op, a.name(), b.name())
            )));
        }
        _ => return Err(Fault::Kinds(cannot(op, a.name(), b.name()))),
    })
}

/// "cannot add a number to a date", and so on: `op` with `a` on its left and `b` on its right.
fn cannot(op: ArithOp, a: &str, b: &str) -> String {
    match op {
        ArithOp::Add => format!("cannot add {b} to {a}"),
        ArithOp::Sub => format!("cannot subtract {b} from {a}"),
        ArithOp::Mul => format!("cannot multiply {a} by {b}"),
        ArithOp::Div => format!("cannot divide {a} by {b}"),
    }
}

/// From `start` to `end`: whole days between two dates, else the exact time between instants
/// (a date counting as 00:00 UTC of its day).
fn between(start: When, end: When) -> Duration {
    match (start, end) {
        (When::Date(s), When::Date(e)) => {
            Duration(i128::from(days_from_date(e) - days_from_date(s)) * Duration::DAY)
        }
        (s, e) => e.instant().since(s.instant()),
    }
}

/// A date moved by whole days stays a date; anything else is a date-time.
fn shift(w: When, by: Duration) -> Option<When> {
    match w {
        When::Date(d) if by.is_whole_days() => {
            let days = i64::try_from(by.whole_days()).ok()?;
            date_from_days(days_from_date(d).checked_add(days)?).map(When::Date)
        }
        other => Instant::checked_add(other.instant(), by).map(When::At),
    }
}
