//! Plain scalars resolved by YAML 1.2's core schema: numbers kept exact (decimal, `0x`, `0o`),
//! `true`/`false`, `null`/`~`; everything else is a string.

use crate::data::build::{decimal_from_parts, exponent};
use crate::value::Value;

/// The value of a plain (unquoted, untagged) scalar under the YAML 1.2 core schema; numbers are
/// exact decimals, and anything that is not null, a boolean or a number stays a string.
pub(super) fn plain_value(text: std::borrow::Cow<str>) -> Value {
    let bytes = text.as_bytes();
    let special = match bytes.first() {
        None => Some(Value::Null),
        Some(b'~') if bytes.len() == 1 => Some(Value::Null),
        Some(b'n' | b'N') => matches!(bytes, b"null" | b"Null" | b"NULL").then_some(Value::Null),
        Some(b't' | b'T') => {
            matches!(bytes, b"true" | b"True" | b"TRUE").then_some(Value::Bool(true))
        }
        Some(b'f' | b'F') => {
            matches!(bytes, b"false" | b"False" | b"FALSE").then_some(Value::Bool(false))
        }
        Some(b'0'..=b'9' | b'-' | b'+' | b'.') => parse_number(bytes).map(Value::Number),
        _ => None,
    };
    special.unwrap_or_else(|| Value::String(text.into()))
}

/// A core-schema integer: `[-+]?[0-9]+`, `0o[0-7]+` or `0x[0-9a-fA-F]+`.
pub(super) fn parse_int(bytes: &[u8]) -> Option<rust_decimal::Decimal> {
    if let Some(octal) = bytes.strip_prefix(b"0o") {
        return parse_radix(octal, 8);
    }
    if let Some(hex) = bytes.strip_prefix(b"0x") {
        return parse_radix(hex, 16);
    }
    let (negative, digits) = split_sign(bytes);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    decimal_from_parts(negative, digits, &[], 0)
}

pub(super) fn parse_radix(digits: &[u8], radix: u32) -> Option<rust_decimal::Decimal> {
    if digits.is_empty() {
        return None;
    }
    let mut value: i128 = 0;
    for &d in digits {
        let digit = char::from(d).to_digit(radix)?;
        value = value
            .checked_mul(i128::from(radix))?
            .checked_add(i128::from(digit))?;
    }
    rust_decimal::Decimal::try_from_i128_with_scale(value, 0).ok()
}

pub(super) fn split_sign(bytes: &[u8]) -> (bool, &[u8]) {
    match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, bytes),
    }
}

/// A core-schema number: an integer (also octal or hex) or
/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
pub(crate) fn parse_number(bytes: &[u8]) -> Option<rust_decimal::Decimal> {
    if bytes.starts_with(b"0o") || bytes.starts_with(b"0x") {
        return parse_int(bytes);
    }
    let (negative, rest) = split_sign(bytes);
    let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let (int, rest) = rest.split_at_checked(int_len)?;
    let (frac, rest) = match rest.split_first() {
        Some((b'.', after)) => {
            let len = after.iter().take_while(|b| b.is_ascii_digit()).count();
            after.split_at_checked(len)?
        }
        _ => (&[][..], rest),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let exp = match rest.split_first() {
        None => 0,
        Some((b'e' | b'E', after)) => {
            let (exp_negative, digits) = split_sign(after);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            exponent(exp_negative, digits)
        }
        Some(_) => return None,
    };
    decimal_from_parts(negative, int, frac, exp)
}

/// The byte after the closing quote of the single- or double-quoted scalar whose opening quote is
/// at `at` (escaped quotes, `''` and `\"`, skipped); `None` when it does not close in `bytes`.
pub(super) fn quoted_end(bytes: &[u8], at: usize) -> Option<usize> {
    let quote = *bytes.get(at)?;
    let mut i = at + 1;
    while let Some(&b) = bytes.get(i) {
        if b == quote {
            if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += if b == b'\\' && quote == b'"' { 2 } else { 1 };
    }
    None
}
