//! The built-in functions of §11–§12: calendar keys, list functions and statistics (exact
//! decimals, Hyndman and Fan's type-8 quantile, Tukey's fences), strings and rounding.

use std::borrow::Cow;

use jiff::civil::Date;
use rust_decimal::{Decimal, RoundingStrategy};

use super::value::{
    EvalValue, Mismatch, Operand, Ranking, as_number, as_str, as_when, equals, ordering_keys,
    what_it_is,
};
use crate::compile::Function;
use crate::time;

/// The function's name in backquotes, as messages name it (made once, not on every call).
fn quoted_name(function: Function) -> &'static str {
    static QUOTED: std::sync::OnceLock<Vec<(Function, String)>> = std::sync::OnceLock::new();
    QUOTED
        .get_or_init(|| {
            Function::ALL
                .iter()
                .map(|(name, f)| (*f, format!("`{name}`")))
                .collect()
        })
        .iter()
        .find(|(f, _)| *f == function)
        .map_or("``", |(_, quoted)| quoted.as_str())
}

/// Calls one of the functions of §11–§12 on evaluated arguments. Missing in, missing out.
pub(crate) fn call<'r>(
    function: Function,
    values: &[Operand<'r>],
    today: Date,
) -> Result<Operand<'r>, Mismatch> {
    let what = quoted_name(function);
    if function == Function::Today {
        return Ok(computed(EvalValue::Date(today)));
    }
    let Some(first) = values.first() else {
        return Ok(Operand::MISSING);
    };
    if first.is_missing() {
        return Ok(Operand::MISSING);
    }
    let span = first.span;
    let with_span = |value: EvalValue<'r>| Operand { value, span };
    let date = |v: &Operand<'_>| -> Result<Date, Mismatch> {
        as_when(&v.value)
            .and_then(|w| w.date())
            .ok_or_else(|| Mismatch {
                message: format!("{what} needs a date, but {}", what_it_is(v)),
                span: v.span,
            })
    };
    Ok(match function {
        Function::Days => match &first.value {
            EvalValue::Duration(d) => computed(EvalValue::Num(Decimal::from_i128_with_scale(
                d.whole_days(),
                0,
            ))),
            _ => return Err(needs(what, "a duration", first)),
        },
        Function::Year => with_span(EvalValue::Num(Decimal::from(date(first)?.year()))),
        Function::FiscalYear => with_span(EvalValue::Num(Decimal::from(time::fiscal_year(date(
            first,
        )?)))),
        Function::Month => owned(time::month_key(date(first)?), span),
        Function::Quarter => owned(time::quarter_key(date(first)?), span),
        Function::Week => owned(time::week_key(date(first)?), span),
        Function::Day => with_span(EvalValue::Date(date(first)?)),
        Function::Distinct => {
            let mut kept: Vec<Operand<'r>> = Vec::new();
            for item in elements(first, what)? {
                // Missing values (nulls) are one value: the first is kept.
                let same = |k: &Operand<'r>| match (k.is_missing(), item.is_missing()) {
                    (true, true) => true,
                    (false, false) => equals(k, &item, None).unwrap_or(None) == Some(true),
                    _ => false,
                };
                let seen = kept.iter().any(same);
                if !seen {
                    kept.push(item);
                }
            }
            computed(EvalValue::List(kept))
        }
        Function::Sort => {
            let items: Vec<Operand<'r>> = elements(first, what)?
                .into_iter()
                .filter(|i| !i.is_missing())
                .collect();
            let keys = ordering_keys(&items);
            let keys = keys.as_deref().unwrap_or(&items);
            let ranks = Ranking::of(keys).ranks(keys).map_err(|m| Mismatch {
                message: format!("{what} needs values of one type: {}", m.message),
                span: m.span,
            })?;
            let mut order: Vec<usize> = (0..items.len()).collect();
            order.sort_by(|&a, &b| ranks.get(a).cmp(&ranks.get(b)));
            // Each item moved to its place, not copied.
            let mut items: Vec<Option<Operand<'r>>> = items.into_iter().map(Some).collect();
            let sorted = order.iter().filter_map(|&i| items.get_mut(i)?.take());
            computed(EvalValue::List(sorted.collect()))
        }
        Function::Flatten => {
            let mut out = Vec::new();
            for item in elements(first, what)? {
                match item.elements() {
                    Some(inner) => out.extend(inner),
                    None => out.push(item),
                }
            }
            computed(EvalValue::List(out))
        }
        Function::Avg
        | Function::Median
        | Function::Quantile
        | Function::LowerFence
        | Function::UpperFence => {
            let numbers = numbers(first, what)?;
            if numbers.is_empty() {
                return Ok(Operand::MISSING);
            }
            let result = match function {
                Function::Avg => {
                    let count = Decimal::from(numbers.len());
                    match crate::value::exact_sum(&numbers) {
                        Some(total) => total.checked_div(count),
                        // A total too large to hold may still have a mean that fits: each
                        // number's whole share and what it leaves, the leftovers divided once.
                        None => {
                            let left: Option<Vec<Decimal>> =
                                numbers.iter().map(|n| n.checked_rem(count)).collect();
                            let whole: Option<Vec<Decimal>> = numbers
                                .iter()
                                .zip(left.iter().flatten())
                                .map(|(n, l)| n.checked_sub(*l)?.checked_div(count))
                                .collect();
                            let whole = whole.as_deref().and_then(crate::value::exact_sum);
                            let left = left.as_deref().and_then(crate::value::exact_sum);
                            whole
                                .zip(left)
                                .and_then(|(w, l)| w.checked_add(l.checked_div(count)?))
                        }
                    }
                    .ok_or_else(|| overflow(what, span))?
                }
                Function::Median => {
                    quantile(&numbers, Decimal::new(5, 1)).ok_or_else(|| overflow(what, span))?
                }
                Function::Quantile => {
                    let p_operand = values.get(1).unwrap_or(&Operand::MISSING);
                    let Some(p) = as_number(p_operand, what)? else {
                        return Ok(Operand::MISSING);
                    };
                    if p < Decimal::ZERO || p > Decimal::ONE {
                        return Err(Mismatch {
                            message: format!("{what} takes a probability from 0 to 1, not {p}"),
                            span: p_operand.span,
                        });
                    }
                    quantile(&numbers, p).ok_or_else(|| overflow(what, span))?
                }
                _ => fence(&numbers, function == Function::LowerFence)
                    .ok_or_else(|| overflow(what, span))?,
            };
            computed(EvalValue::Num(result.normalize()))
        }
        Function::Substring => {
            let Some(text) = as_str(first, what)? else {
                return Ok(Operand::MISSING);
            };
            let index = |i: usize| -> Result<Option<usize>, Mismatch> {
                let operand = values.get(i).unwrap_or(&Operand::MISSING);
                match as_number(operand, what)? {
                    None => Ok(None),
                    Some(n) if n.fract().is_zero() && n >= Decimal::ZERO => {
                        Ok(Some(usize::try_from(n).unwrap_or(usize::MAX)))
                    }
                    Some(n) => Err(Mismatch {
                        message: format!("{what} takes whole numbers from 0, not {n}"),
                        span: operand.span,
                    }),
                }
            };
            let (Some(start), Some(length)) = (index(1)?, index(2)?) else {
                return Ok(Operand::MISSING);
            };
            owned(text.chars().skip(start).take(length).collect(), span)
        }
        Function::Abs => match as_number(first, what)? {
            Some(n) => computed(EvalValue::Num(n.abs())),
            None => Operand::MISSING,
        },
        Function::Round => {
            let Some(n) = as_number(first, what)? else {
                return Ok(Operand::MISSING);
            };
            let digits = match values.get(1) {
                None => 0,
                Some(d) => match as_number(d, what)? {
                    None => return Ok(Operand::MISSING),
                    Some(d)
                        if d.fract().is_zero()
                            && (Decimal::ZERO..=Decimal::from(28)).contains(&d) =>
                    {
                        u32::try_from(d).unwrap_or(0)
                    }
                    Some(d) => {
                        return Err(Mismatch {
                            message: format!("{what} takes 0 to 28 digits, not {d}"),
                            span: values.get(1).and_then(|v| v.span),
                        });
                    }
                },
            };
            computed(EvalValue::Num(n.round_dp_with_strategy(
                digits,
                RoundingStrategy::MidpointNearestEven,
            )))
        }
        _ => Operand::MISSING,
    })
}

/// Tukey's fence of `numbers` (not empty): Q1 - 1.5 IQR (`lower`) or Q3 + 1.5 IQR, with type 8
/// quartiles; `None` when a step overflows.
fn fence(numbers: &[Decimal], lower: bool) -> Option<Decimal> {
    let q1 = quantile(numbers, Decimal::new(25, 2))?;
    let q3 = quantile(numbers, Decimal::new(75, 2))?;
    let reach = q3.checked_sub(q1)?.checked_mul(Decimal::new(15, 1))?;
    if lower {
        q1.checked_sub(reach)
    } else {
        q3.checked_add(reach)
    }
}

/// Hyndman and Fan's type 8 quantile of sorted-or-not `numbers` (not empty), in exact decimals:
/// h = (n + 1/3) p + 1/3, then linear interpolation between the order statistics around h,
/// clamped to the smallest and the largest. `None` when it cannot be computed (values near the
/// largest decimal).
pub(crate) fn quantile(numbers: &[Decimal], p: Decimal) -> Option<Decimal> {
    let mut sorted = numbers.to_vec();
    sorted.sort_unstable();
    let n = Decimal::from(sorted.len());
    let three = Decimal::from(3);
    // Three times h, so that the thirds stay exact.
    let three_h = n
        .checked_mul(three)?
        .checked_add(Decimal::ONE)?
        .checked_mul(p)?
        .checked_add(Decimal::ONE)?;
    let j = three_h.checked_div(three)?.floor();
    let at = |k: Decimal| -> Decimal {
        let index = usize::try_from(k).unwrap_or(0).saturating_sub(1);
        sorted
            .get(index.min(sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    if j < Decimal::ONE {
        return Some(at(Decimal::ONE));
    }
    if j >= n {
        return Some(at(n));
    }
    let (low, high) = (at(j), at(j.checked_add(Decimal::ONE)?));
    // g = h - j = (3h - 3j) / 3.
    let three_g = three_h.checked_sub(three.checked_mul(j)?)?;
    let exact = high
        .checked_sub(low)
        .and_then(|gap| three_g.checked_mul(gap))
        .and_then(|step| low.checked_add(step.checked_div(three)?));
    exact.or_else(|| {
        // Near the largest decimal, where the gap overflows: the weighted mean of the two,
        // which stays between them.
        let g = three_g.checked_div(three)?;
        low.checked_mul(Decimal::ONE.checked_sub(g)?)?
            .checked_add(high.checked_mul(g)?)
    })
}

fn computed<'r>(value: EvalValue<'r>) -> Operand<'r> {
    Operand { value, span: None }
}

fn owned<'r>(text: String, span: Option<crate::source::Span>) -> Operand<'r> {
    Operand {
        value: EvalValue::Str(Cow::Owned(text)),
        span,
    }
}

fn needs(what: &str, wanted: &str, value: &Operand<'_>) -> Mismatch {
    Mismatch {
        message: format!("{what} needs {wanted}, but {}", what_it_is(value)),
        span: value.span,
    }
}

fn overflow(what: &str, span: Option<crate::source::Span>) -> Mismatch {
    Mismatch {
        message: format!("{what} failed: the result is too large (overflow)"),
        span,
    }
}

fn elements<'r>(list: &Operand<'r>, what: &str) -> Result<Vec<Operand<'r>>, Mismatch> {
    list.elements().ok_or_else(|| needs(what, "a list", list))
}

/// The numbers of a list, missing elements left out; another value is bad data.
fn numbers(list: &Operand<'_>, what: &str) -> Result<Vec<Decimal>, Mismatch> {
    let mut out = Vec::new();
    for item in elements(list, what)? {
        if let Some(n) = as_number(&item, what)? {
            out.push(n);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    /// Values from R: `quantile(x, p, type = 8)`.
    #[test]
    fn quantiles_are_type_8() {
        let x: Vec<Decimal> = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
            .iter()
            .map(|&n| Decimal::from(n))
            .collect();
        // R: quantile(1:10, c(.25, .5, .75), type = 8) → 2.916667 5.500000 8.083333
        assert_eq!(quantile(&x, d("0.5")), Some(d("5.5")));
        assert_eq!(
            quantile(&x, d("0.25")).map(|q| q.round_dp(6)),
            Some(d("2.916667"))
        );
        assert_eq!(
            quantile(&x, d("0.75")).map(|q| q.round_dp(6)),
            Some(d("8.083333"))
        );
        assert_eq!(quantile(&x, d("0")), Some(d("1")));
        assert_eq!(quantile(&x, d("1")), Some(d("10")));
        let odd: Vec<Decimal> = [3, 1, 2].iter().map(|&n| Decimal::from(n)).collect();
        assert_eq!(quantile(&odd, d("0.5")), Some(d("2")));
        assert_eq!(quantile(&[d("7")], d("0.9")), Some(d("7")));
    }
}
