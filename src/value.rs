//! The data model of records: values that keep the span they were read from.

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::source::Span;

/// The text of a string value or a mapping key: kept inline, without an allocation, up to 24
/// bytes (most keys and strings of records are shorter).
pub type Text = compact_str::CompactString;

/// A value read from a record, with its span in the data file.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it was written in the data file.
    pub span: Span,
}

impl Node {
    /// The path of the value at `span` inside this node as a policy writes it (`amount`,
    /// `bids[0].value`, `record["unit name"]`), if a value of it starts there (and it is not
    /// the node itself).
    pub fn field_path(&self, span: Span) -> Option<String> {
        let mut steps: Vec<Result<&str, usize>> = Vec::new();
        let mut node = self;
        let contains = |outer: Span| outer.start <= span.start && span.end <= outer.end;
        loop {
            if node.span == span {
                return (!steps.is_empty()).then(|| crate::syntax::steps_as_written(steps));
            }
            match &node.value {
                Value::Map(map) => {
                    let entry = map.entries.iter().find(|e| contains(e.value.span))?;
                    steps.push(Ok(&entry.key));
                    node = &entry.value;
                }
                Value::List(items) => {
                    let (i, item) = items.iter().enumerate().find(|(_, i)| contains(i.span))?;
                    steps.push(Err(i));
                    node = item;
                }
                _ => return None,
            }
        }
    }
}

/// A record value. Strings stay strings (a string that looks like a number or a date is compared as
/// one when it meets a number or a date); numbers are exact decimals.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty value: counts as missing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An exact decimal number; its text as written is the node's span in the source.
    Number(Decimal),
    /// A string.
    String(Text),
    /// A date (only from typed sources such as a schema; YAML dates stay strings).
    Date(Date),
    /// A list.
    List(Vec<Node>),
    /// A mapping, in the order written.
    Map(Map),
}

/// A mapping from keys to nodes, in the order written. Records have few keys, so a vector searched
/// from the front beats a hash map.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Map {
    /// The entries in the order written.
    pub entries: Vec<Entry>,
}

/// One `key: value` pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: Text,
    /// Where the key was written.
    pub key_span: Span,
    /// The value.
    pub value: Node,
}

impl Map {
    /// The node stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry stored under `key`, if any.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| same_key(&e.key, key))
    }
}

/// Whether two keys are the same ([`same_bytes`]).
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// Whether two byte strings are the same, compared a word at a time without a call to
/// `memcmp` (which costs more than the comparison for the short keys and names of records).
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        // Eight bytes at a time, the last word overlapping the one before.
        let mut at = 0;
        while at + 8 < n {
            if piece::<8>(a, at) != piece::<8>(b, at) {
                return false;
            }
            at += 8;
        }
        return piece::<8>(a, n - 8) == piece::<8>(b, n - 8);
    }
    if n >= 4 {
        return piece::<4>(a, 0) == piece::<4>(b, 0)
            && piece::<4>(a, n - 4) == piece::<4>(b, n - 4);
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// The `N` bytes of `bytes` from `at`, if there are so many.
#[inline]
fn piece<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..).and_then(<[u8]>::first_chunk::<N>).copied()
}

/// Orders two exact decimals as [`Decimal`]'s own `cmp` does, by their integer mantissas when
/// their scales are equal or one scales to the other without overflow (the common case: an
/// amount against a threshold), which costs a fraction of the general comparison.
pub(crate) fn order_decimals(a: &Decimal, b: &Decimal) -> std::cmp::Ordering {
    let (scale_a, scale_b) = (a.scale(), b.scale());
    let (x, y) = (a.mantissa(), b.mantissa());
    if scale_a == scale_b {
        return x.cmp(&y);
    }
    // A mantissa below 2^64 times at most 10^18 stays far below 2^127: no overflow.
    let small = |m: i128| m.unsigned_abs() < 1 << 64;
    let power = |difference: u32| POWERS_OF_TEN.get(..19)?.get(difference as usize);
    if scale_a < scale_b
        && small(x)
        && let Some(power) = power(scale_b - scale_a)
    {
        return (x * power).cmp(&y);
    }
    if scale_b < scale_a
        && small(y)
        && let Some(power) = power(scale_a - scale_b)
    {
        return x.cmp(&(y * power));
    }
    a.cmp(b)
}

/// 10 to the power of 0 to 28, the scales a [`Decimal`] can have.
#[allow(
    clippy::indexing_slicing,
    reason = "evaluated when compiling: an index out of range fails the build"
)]
const POWERS_OF_TEN: [i128; 29] = {
    let mut powers = [1i128; 29];
    let mut i = 1;
    while i < 29 {
        powers[i] = powers[i - 1] * 10;
        i += 1;
    }
    powers
};

/// How `a / divisor`, as [`arith`] divides (rounded to what a [`Decimal`] holds), orders against
/// `bound`, found without dividing, when it is certain to be the same; `None` otherwise.
///
/// It is found exactly, as `a` against `bound × divisor` (reversed for a negative divisor).
/// The rounded quotient orders alike whenever rounding cannot reach the bound: with every scale
/// at most [`QUOTIENT_SCALE`], `a` and the divisor below 10^15 and the divisor at least 1, an
/// exact quotient other than the bound lies at least 10^-10 / |divisor| from it, while rounding
/// to a decimal's 28 digits moves it less than |a| / |divisor| × 10^-27, below 10^-12 /
/// |divisor|. A quotient equal to the bound has at most ten decimals, and is exact.
pub(crate) fn order_quotient(
    a: &Decimal,
    divisor: &Decimal,
    bound: &Decimal,
) -> Option<std::cmp::Ordering> {
    let (ma, sa) = (a.mantissa(), a.scale());
    let (md, sd) = (divisor.mantissa(), divisor.scale());
    let (mb, sb) = (bound.mantissa(), bound.scale());
    let scale = sa.max(sb + sd);
    if scale > QUOTIENT_SCALE || md == 0 {
        return None;
    }
    let power = |exponent: u32| POWERS_OF_TEN.get(exponent as usize).copied();
    let limit = |scale: u32| power(15 + scale);
    // |a| < 10^15, 1 <= |divisor| < 10^15.
    if ma.unsigned_abs() >= limit(sa)?.unsigned_abs()
        || md.unsigned_abs() >= limit(sd)?.unsigned_abs()
        || md.unsigned_abs() < power(sd)?.unsigned_abs()
    {
        return None;
    }
    let left = ma.checked_mul(power(scale - sa)?)?;
    let right = mb.checked_mul(md)?.checked_mul(power(scale - sb - sd)?)?;
    let ordering = left.cmp(&right);
    Some(if md < 0 { ordering.reverse() } else { ordering })
}

/// The largest scale of the numbers [`order_quotient`] orders without dividing.
const QUOTIENT_SCALE: u32 = 10;

/// A key's first eight bytes and its length in one number, compared where keys are compared
/// often: keys whose prints differ differ, and keys of up to seven bytes with the same print
/// are the same (a longer key's print leaves some of it out).
pub(crate) fn key_print(key: &[u8]) -> u64 {
    let head = match key.first_chunk::<8>() {
        Some(head) => u64::from_le_bytes(*head),
        None => key
            .iter()
            .rev()
            .fold(0, |print, &byte| (print << 8) | u64::from(byte)),
    };
    with_length(head, key.len())
}

/// [`key_print`] of the key at `key` in `text`, read with one load where eight bytes follow
/// its start (a short key's bytes past its end masked off).
pub(crate) fn key_print_in(text: &[u8], key: std::ops::Range<usize>) -> u64 {
    let len = key.len();
    let Some(head) = text.get(key.start..).and_then(<[u8]>::first_chunk::<8>) else {
        return key_print(text.get(key).unwrap_or(&[]));
    };
    let mask = if len >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * len)) - 1
    };
    with_length(u64::from_le_bytes(*head) & mask, len)
}

/// A print from a key's first bytes (zero past its end) and its length.
fn with_length(head: u64, len: usize) -> u64 {
    head ^ ((len as u64) << 56)
}

/// A record with no fields: the root expressions see where no record is at hand.
pub(crate) fn empty_record() -> Node {
    Node {
        value: Value::Map(Map::default()),
        span: Span::default(),
    }
}

impl Value {
    /// A short name of the value's type, for messages ("a string", "a number").
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Date(_) => "a date",
            Value::List(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Parses a policy's date literal: exactly `YYYY-MM-DD`, and a real calendar date.
pub(crate) fn parse_date_literal(text: &str) -> Result<Date, String> {
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err("a date has three parts".to_string());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(
            "dates are written YYYY-MM-DD, with a four-digit year and two-digit month and day"
                .to_string(),
        );
    }
    let (Ok(year), Ok(month), Ok(day)) = (y.parse::<i16>(), m.parse::<i8>(), d.parse::<i8>())
    else {
        return Err("dates are written with digits".to_string());
    };
    Date::new(year, month, day).map_err(|_| match month {
        1..=12 => format!("{y}-{m} has no day {day}"),
        _ => format!("there is no month {month}"),
    })
}

/// Reads a data string as a date, if it is one: `YYYY-MM-DD`, optionally followed by a time
/// (`T` or a space, then `HH:MM[:SS[.fff]]` and an optional `Z` or `±HH:MM`). Only the date counts.
pub(crate) fn parse_data_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    let date = bytes.get(..10)?;
    let digit = |i: usize| date.get(i).is_some_and(u8::is_ascii_digit);
    if !(0..4).all(digit)
        || date.get(4) != Some(&b'-')
        || !(5..7).all(digit)
        || date.get(7) != Some(&b'-')
        || !(8..10).all(digit)
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        date.get(r).map_or(0, |ds| {
            ds.iter().fold(0i32, |n, d| n * 10 + i32::from(d - b'0'))
        })
    };
    let parsed = Date::new(
        i16::try_from(num(0..4)).ok()?,
        i8::try_from(num(5..7)).ok()?,
        i8::try_from(num(8..10)).ok()?,
    )
    .ok()?;
    let rest = bytes.get(10..)?;
    if rest.is_empty() || valid_time_suffix(rest) {
        Some(parsed)
    } else {
        None
    }
}

/// `T` or space, `HH:MM[:SS[.fff]]`, then an optional `Z` or `±HH:MM`.
fn valid_time_suffix(rest: &[u8]) -> bool {
    let two_digits = |s: &[u8], max: u8| -> bool {
        match s {
            [a, b, ..] if a.is_ascii_digit() && b.is_ascii_digit() => {
                (a - b'0') * 10 + (b - b'0') <= max
            }
            _ => false,
        }
    };
    let Some((sep, mut s)) = rest.split_first() else {
        return false;
    };
    if *sep != b'T' && *sep != b' ' {
        return false;
    }
    if !two_digits(s, 23) || s.get(2) != Some(&b':') || !two_digits(s.get(3..).unwrap_or(&[]), 59) {
        return false;
    }
    s = s.get(5..).unwrap_or(&[]);
    if s.first() == Some(&b':') {
        if !two_digits(s.get(1..).unwrap_or(&[]), 60) {
            return false;
        }
        s = s.get(3..).unwrap_or(&[]);
        if s.first() == Some(&b'.') {
            let frac = s.iter().skip(1).take_while(|b| b.is_ascii_digit()).count();
            if frac == 0 {
                return false;
            }
            s = s.get(1 + frac..).unwrap_or(&[]);
        }
    }
    match s {
        [] | [b'Z'] => true,
        [b'+' | b'-', rest @ ..] => {
            rest.len() == 5
                && two_digits(rest, 23)
                && rest.get(2) == Some(&b':')
                && two_digits(rest.get(3..).unwrap_or(&[]), 59)
        }
        _ => false,
    }
}

/// Reads a data string as a plain decimal number, if it is one (`"389838.00"`, `"-12.5"`).
pub(crate) fn parse_data_number(text: &str) -> Option<Decimal> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.ends_with('.'));
    if !plain {
        return None;
    }
    Decimal::from_str_exact(text.strip_prefix('+').unwrap_or(text)).ok()
}

/// `-n`, where the negative of zero is zero (a decimal keeps a sign on zero, which shows as `-0`).
pub(crate) fn negate(n: Decimal) -> Decimal {
    let mut negated = -n;
    if negated.is_zero() {
        negated.set_sign_positive(true);
    }
    negated
}

/// The exact sum of `numbers`, `None` when it overflows. They are added in order; when that
/// overflows on the way, again with positives and negatives taken in turn, so that a total that
/// fits is found whatever the order (`[max, 1, -1]`): the running total then stays within the
/// largest magnitude until one sign runs out, and moves straight to the total after.
pub(crate) fn exact_sum(numbers: &[Decimal]) -> Option<Decimal> {
    numbers
        .iter()
        .try_fold(Decimal::ZERO, |total, n| total.checked_add(*n))
        .or_else(|| balanced_sum(numbers))
}

/// The sum of `numbers` with positives and negatives taken in turn (see [`exact_sum`]): what
/// to try once adding them in order overflowed.
pub(crate) fn balanced_sum(numbers: &[Decimal]) -> Option<Decimal> {
    let (mut up, mut down): (Vec<Decimal>, Vec<Decimal>) =
        numbers.iter().partition(|n| n.is_sign_positive());
    let mut total = Decimal::ZERO;
    loop {
        let next = if total.is_sign_negative() {
            up.pop().or_else(|| down.pop())
        } else {
            down.pop().or_else(|| up.pop())
        };
        let Some(n) = next else {
            return Some(total);
        };
        total = total.checked_add(n)?;
    }
}

/// Exact decimal arithmetic to 28 significant digits (a result that needs more is rounded at
/// its last digit); overflow, division by zero and a result of numbers other than zero too
/// small to hold (rounded to zero) are errors, never infinities or a silent zero.
pub(crate) fn arith(
    op: crate::syntax::ast::ArithOp,
    a: Decimal,
    b: Decimal,
) -> Result<Decimal, String> {
    use crate::syntax::ast::ArithOp;
    let result = match op {
        ArithOp::Add => a.checked_add(b),
        ArithOp::Sub => a.checked_sub(b),
        ArithOp::Mul => a.checked_mul(b),
        ArithOp::Div if b.is_zero() => return Err("division by zero".to_string()),
        // A quotient has the dividend's decimal places, or the fewer more it needs (`1 / 2` is
        // 0.5, `49350.00 / 4` is 12337.50); the division itself may give trailing zeros.
        ArithOp::Div => a.checked_div(b).map(|q| {
            let q = q.normalize();
            if q.scale() < a.scale() {
                let mut widened = q;
                widened.rescale(a.scale());
                widened
            } else {
                q
            }
        }),
    };
    let result = result.ok_or_else(|| "the result is too large (overflow)".to_string())?;
    // A product or quotient of numbers other than zero is never zero: it underflowed.
    let underflow = matches!(op, ArithOp::Mul | ArithOp::Div) && !a.is_zero() && !b.is_zero();
    if underflow && result.is_zero() {
        return Err(
            "the result is too small to hold (it needs more than 28 decimal places)".to_string(),
        );
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_path_is_written_as_a_policy_writes_it() {
        // {bids: [{v: 1}], "unit name": 2, tags: [3]}, each value at its own span.
        let leaf = |at: usize| Node {
            value: Value::Number(Decimal::from(at)),
            span: Span::new(at, at + 1),
        };
        let entry = |key: &str, value: Node| Entry {
            key: key.into(),
            key_span: Span::default(),
            value,
        };
        let map = |entries: Vec<Entry>, span: Span| Node {
            value: Value::Map(Map { entries }),
            span,
        };
        let list = |items: Vec<Node>, span: Span| Node {
            value: Value::List(items),
            span,
        };
        let bids = list(
            vec![map(vec![entry("v", leaf(3))], Span::new(2, 5))],
            Span::new(1, 6),
        );
        let root = map(
            vec![
                entry("bids", bids),
                entry("unit name", leaf(7)),
                entry("tags", list(vec![leaf(9)], Span::new(8, 11))),
            ],
            Span::new(0, 12),
        );
        assert_eq!(
            root.field_path(Span::new(3, 4)).as_deref(),
            Some("bids[0].v")
        );
        assert_eq!(root.field_path(Span::new(2, 5)).as_deref(), Some("bids[0]"));
        assert_eq!(
            root.field_path(Span::new(7, 8)).as_deref(),
            Some("record[\"unit name\"]")
        );
        assert_eq!(
            root.field_path(Span::new(9, 10)).as_deref(),
            Some("record.tags[0]")
        );
        assert_eq!(root.field_path(Span::new(0, 12)), None);
    }

    /// How the quotient [`arith`] computes orders against `bound`: what [`order_quotient`] must
    /// give whenever it gives anything.
    fn divided(a: Decimal, divisor: Decimal, bound: Decimal) -> Option<std::cmp::Ordering> {
        let quotient = arith(crate::syntax::ast::ArithOp::Div, a, divisor).ok()?;
        Some(quotient.cmp(&bound))
    }

    #[test]
    fn a_quotient_orders_without_dividing_as_it_does_divided() {
        let numbers = [
            "0",
            "1",
            "-1",
            "3",
            "7",
            "0.01",
            "12763.11",
            "125425.08",
            "-0.5",
            "20000",
            "2.5",
            "999999999999999",
            "100000000000000",
            "0.0000000001",
            "1.0000000001",
            "3.3333333333",
        ];
        let numbers: Vec<Decimal> = numbers.iter().map(|n| n.parse().unwrap()).collect();
        let mut decided = 0;
        for &a in &numbers {
            for &divisor in &numbers {
                // The bounds that matter most: the quotient itself, rounded, and its neighbours.
                let mut bounds = numbers.clone();
                if let Some(q) = a.checked_div(divisor) {
                    for dp in 0..=10 {
                        let step = Decimal::new(1, dp);
                        let r = q.round_dp(dp);
                        bounds.extend([r, r - step, r + step]);
                    }
                }
                for bound in bounds {
                    if let Some(ordering) = order_quotient(&a, &divisor, &bound) {
                        decided += 1;
                        assert_eq!(
                            Some(ordering),
                            divided(a, divisor, bound),
                            "{a} / {divisor} against {bound}"
                        );
                    }
                }
            }
        }
        assert!(decided > 1000, "only {decided} decided");
        // Where rounding could decide, it is left to the division.
        let third: Decimal = "0.3333333333333333333333333333".parse().unwrap();
        assert_eq!(
            order_quotient(&Decimal::ONE, &Decimal::from(3), &third),
            None
        );
        assert_eq!(order_quotient(&Decimal::ONE, &Decimal::ZERO, &third), None);
    }

    proptest::proptest! {
        /// On any numbers, a quotient ordered without dividing orders as the division's result.
        #[test]
        fn quotients_order_as_divided(
            (ma, sa) in (-(10i64.pow(17))..10i64.pow(17), 0u32..13),
            (md, sd) in (-(10i64.pow(17))..10i64.pow(17), 0u32..13),
            (mb, sb) in (-(10i64.pow(17))..10i64.pow(17), 0u32..13),
            near in 0u32..12,
            offset in -2i64..3,
        ) {
            let a = Decimal::new(ma, sa);
            let divisor = Decimal::new(md, sd);
            let mut bounds = vec![Decimal::new(mb, sb)];
            if let Some(q) = a.checked_div(divisor) {
                bounds.push(q.round_dp(near) + Decimal::new(offset, near));
            }
            for bound in bounds {
                if let Some(ordering) = order_quotient(&a, &divisor, &bound) {
                    proptest::prop_assert_eq!(Some(ordering), divided(a, divisor, bound));
                }
            }
        }
    }

    #[test]
    fn a_key_s_print_is_the_same_read_in_place_and_tells_short_keys_apart() {
        let text = b"\"vendorX\":1,\"a\":\"abcdefgh\",\"abcdefghi\"";
        for start in 0..text.len() {
            for end in start..=text.len() {
                assert_eq!(
                    key_print_in(text, start..end),
                    key_print(&text[start..end]),
                    "{start}..{end}"
                );
            }
        }
        // Up to seven bytes, different keys have different prints; the length counts too.
        let short = ["", "a", "a\0", "ab", "ba", "vendor", "vendorX", "vendorY"];
        for a in short {
            for b in short {
                assert_eq!(key_print(a.as_bytes()) == key_print(b.as_bytes()), a == b);
            }
        }
        assert_ne!(key_print(b"abcdefgh"), key_print(b"abcdefghi"));
    }

    /// Holds [`order_decimals`] to [`Decimal`]'s own order on every pair of `numbers`.
    fn orders_as_decimal_orders(numbers: &[Decimal]) {
        for a in numbers {
            for b in numbers {
                assert_eq!(order_decimals(a, b), a.cmp(b), "{a} against {b}");
            }
        }
    }

    #[test]
    fn decimals_order_as_decimal_orders_them() {
        let numbers = [
            "0",
            "-0",
            "0.00",
            "1",
            "-1",
            "1.0",
            "0.99999999999999999999999999",
            "225000",
            "225000.01",
            "224999.99",
            "-225000.5",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "7922816251426433759354395033.5",
            "0.0000000000000000000000000001",
            "12345678901234567890.12345678",
            "1e-28",
        ];
        let numbers: Vec<Decimal> = numbers
            .iter()
            .map(|n| Decimal::from_scientific(n).or_else(|_| n.parse()).unwrap())
            .collect();
        orders_as_decimal_orders(&numbers);
    }

    #[test]
    fn decimals_of_every_scale_order_as_decimal_orders_them() {
        let mantissas: [i128; 10] = [
            0,
            1,
            -1,
            7,
            123_456_789,
            -987_654_321_012,
            1 << 63,
            (1 << 64) - 1,
            1 << 64,
            -((1 << 95) + 12_345),
        ];
        let mut numbers: Vec<Decimal> = (0..=28)
            .flat_map(|scale| {
                mantissas
                    .iter()
                    .map(move |&m| Decimal::from_i128_with_scale(m, scale))
            })
            .collect();
        // The same number at every scale it can be written at, and its neighbours there.
        for base in [1i128, -7, 123_456_789] {
            let mut mantissa = base;
            for scale in 0..=28 {
                for step in [-1, 0, 1] {
                    if let Ok(n) = Decimal::try_from_i128_with_scale(mantissa + step, scale) {
                        numbers.push(n);
                    }
                }
                mantissa = mantissa.saturating_mul(10);
            }
        }
        orders_as_decimal_orders(&numbers);
    }

    #[test]
    fn bytes_are_the_same_only_when_equal() {
        let words = [
            "",
            "a",
            "b",
            "ab",
            "vendor",
            "vendorX",
            "vendor_X",
            "vendor_Y",
            "a_long_key_name_1",
            "a_long_key_name_2",
        ];
        for a in words {
            for b in words {
                assert_eq!(same_bytes(a.as_bytes(), b.as_bytes()), a == b, "{a} {b}");
            }
        }
    }

    #[test]
    fn date_literals_must_be_real_dates() {
        assert!(parse_date_literal("2018-05-23").is_ok());
        assert!(parse_date_literal("2020-02-29").is_ok());
        assert!(parse_date_literal("2018-02-30").is_err());
        assert!(parse_date_literal("2018-5-23").is_err());
        assert!(parse_date_literal("2018-13-01").is_err());
    }

    #[test]
    fn data_dates_may_carry_a_time() {
        let d = Date::new(2021, 4, 23).unwrap();
        assert_eq!(parse_data_date("2021-04-23"), Some(d));
        assert_eq!(parse_data_date("2021-04-23 00:00:00"), Some(d));
        assert_eq!(parse_data_date("2021-04-23T10:30"), Some(d));
        assert_eq!(parse_data_date("2021-04-23T10:30:05.123Z"), Some(d));
        assert_eq!(parse_data_date("2021-04-23T10:30:05+02:00"), Some(d));
        assert_eq!(parse_data_date("2021-04-23x"), None);
        assert_eq!(parse_data_date("2021-02-30"), None);
        assert_eq!(parse_data_date("soon"), None);
    }

    #[test]
    fn plain_decimal_strings_are_numbers() {
        assert_eq!(
            parse_data_number("389838.00").map(|d| d.to_string()),
            Some("389838.00".into())
        );
        assert_eq!(
            parse_data_number("-12.5").map(|d| d.to_string()),
            Some("-12.5".into())
        );
        assert_eq!(parse_data_number("12."), None);
        assert_eq!(parse_data_number("1e5"), None);
        assert_eq!(parse_data_number("lots"), None);
    }
}
