//! Policy text as tokens, for layout: what `caveat fmt` lays out, and the one spacing of an
//! expression's text where that text is shown (a group key's name).

/// The kinds of token the formatter tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A name, keyword, number or date part.
    Word,
    /// A quoted string (`"…"` or `'…'`), verbatim.
    Text,
    /// An operator or bracket.
    Punct,
    /// `# …` to the end of the line.
    Comment,
}

/// A token and how it sat in the source.
#[derive(Debug, Clone)]
pub(crate) struct Token<'a> {
    pub(crate) kind: Kind,
    pub(crate) text: &'a str,
    /// Whitespace came before it on its line.
    pub(crate) spaced: bool,
    /// It is the first token of its line.
    pub(crate) line_start: bool,
    /// Blank lines just before it.
    pub(crate) blank_before: usize,
}

/// Splits a policy into tokens; whitespace only decides `spaced`, `line_start` and blank lines.
pub(crate) fn tokens(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut spaced = false;
    let mut line_start = true;
    let mut newlines = 0usize;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        let kind = match b {
            b' ' | b'\t' => {
                spaced = true;
                i += 1;
                continue;
            }
            b'\n' | b'\r' => {
                if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                i += 1;
                newlines += 1;
                line_start = true;
                spaced = false;
                continue;
            }
            b'#' => {
                while bytes.get(i).is_some_and(|&c| c != b'\n' && c != b'\r') {
                    i += 1;
                }
                Kind::Comment
            }
            // A test's records, verbatim: they are YAML, not policy text.
            // (A comment may stand between `given` and its data.)
            b'{' | b'['
                if out
                    .iter()
                    .rev()
                    .find(|t: &&Token<'_>| t.kind != Kind::Comment)
                    .is_some_and(|t| t.text == "given") =>
            {
                i += text.get(i..).and_then(super::flow_data_len).unwrap_or(1);
                if i - start > 1 {
                    Kind::Text
                } else {
                    Kind::Punct
                }
            }
            b'"' | b'\'' => {
                i += quoted_len(bytes.get(i..).unwrap_or(&[]));
                Kind::Text
            }
            // A date-time is one token: its `:`s and offset sign are no operators.
            b'0'..=b'9' if let Some(len) = text.get(i..).and_then(super::datetime_len) => {
                i += len;
                Kind::Word
            }
            // A rule id after `waive` or an effect (`expect deny z:1`): one word, `:`, `.` and
            // `-` included, so that `z:1` (an unnamed rule's id) is not spaced into `z: 1`.
            b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' if names_a_rule(&out) => {
                i += 1;
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || b"_-.:".contains(c))
                {
                    i += 1;
                }
                Kind::Word
            }
            b'$' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                i += 1;
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
                // A decimal point inside a number is part of it.
                if (b.is_ascii_digit() || b == b'$')
                    && bytes.get(i) == Some(&b'.')
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                {
                    i += 1;
                    while bytes
                        .get(i)
                        .is_some_and(|c| c.is_ascii_digit() || *c == b'_')
                    {
                        i += 1;
                    }
                }
                Kind::Word
            }
            b'=' | b'!' | b'<' | b'>' => {
                i += if bytes.get(i + 1) == Some(&b'=') {
                    2
                } else {
                    1
                };
                Kind::Punct
            }
            _ => {
                // One character, whatever it is (non-ASCII characters never parse outside strings).
                i += text
                    .get(i..)
                    .and_then(|r| r.chars().next())
                    .map_or(1, char::len_utf8);
                Kind::Punct
            }
        };
        i = i.min(bytes.len());
        out.push(Token {
            kind,
            text: text.get(start..i).unwrap_or(""),
            spaced,
            line_start,
            blank_before: newlines.saturating_sub(1),
        });
        spaced = false;
        line_start = false;
        newlines = 0;
    }
    out
}

/// Whether one space goes between `a` and `b` on the same line.
pub(crate) fn space_between(a: &Token<'_>, b: &Token<'_>) -> bool {
    if b.kind == Kind::Comment {
        return true;
    }
    if a.text == "-" || b.text == "-" {
        return b.spaced;
    }
    // A call or an index (`count(x)`, `xs[0]`, `[… for …][0]`) stays as written.
    if matches!(b.text, "(" | "[") && (a.kind == Kind::Word || matches!(a.text, ")" | "]")) {
        return b.spaced;
    }
    // A schema field: `name: TYPE`, `name?: TYPE`.
    if matches!(a.text, "(" | "[" | ".") || matches!(b.text, ")" | "]" | "," | "." | ":" | "?") {
        return false;
    }
    true
}

/// Whether the next token is a rule's id: it follows `waive`, or an effect in `expect` (`expect
/// deny r`, `expect warn a, note b`).
fn names_a_rule(before: &[Token<'_>]) -> bool {
    let mut words = before.iter().rev().filter(|t| t.kind != Kind::Comment);
    match words.next().map(|t| t.text) {
        Some("waive") => true,
        Some("deny" | "warn" | "note" | "error" | "waived") => {
            // In an `expect` list: `expect` or a `,` before the effect.
            matches!(words.next().map(|t| t.text), Some("expect" | ","))
        }
        _ => false,
    }
}

/// The length of the string at the start of `bytes`, quotes included (to the end when it is not
/// closed): `"…"` with `\` escapes, or a raw `'…'` without.
fn quoted_len(bytes: &[u8]) -> usize {
    let quote = bytes.first().copied();
    let mut i = 1;
    while let Some(&c) = bytes.get(i) {
        i += 1;
        if c == b'\\' && quote == Some(b'"') {
            i += 1;
        } else if Some(c) == quote {
            break;
        }
    }
    i.min(bytes.len())
}

/// `text` on one line with the formatter's spacing: what `caveat fmt` makes of it, so that a
/// name taken from an expression's text (`per week( date )` is the key `week(date)`) does not
/// change when the policy is formatted.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous: Option<Token<'_>> = None;
    for mut token in tokens(text) {
        if token.kind == Kind::Comment {
            continue;
        }
        // A line break is a space, whatever the indentation after it.
        token.spaced |= token.line_start;
        if let Some(prev) = &previous
            && space_between(prev, &token)
        {
            out.push(' ');
        }
        out.push_str(token.text);
        previous = Some(token);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A date-time is one token whatever its length, an offset near the 128 bytes first tried
    /// included.
    #[test]
    fn a_long_date_time_is_one_token() {
        for zeros in [1, 100, 105, 110, 200] {
            let literal = format!("2020-07-14T17:00:00.{}+02:00", "0".repeat(zeros));
            let text = format!("at > {literal} and n > 1");
            let words: Vec<&str> = tokens(&text).iter().map(|t| t.text).collect();
            assert_eq!(
                words,
                ["at", ">", literal.as_str(), "and", "n", ">", "1"],
                "{zeros}"
            );
        }
    }

    /// A key's text reads as the formatter writes it, so formatting never renames a group key.
    #[test]
    fn one_line_is_the_formatter_s_spacing() {
        for (written, name) in [
            ("week( date )", "week(date)"),
            ("a+b", "a + b"),
            ("f(\n    x,y)", "f(x, y)"),
            ("month (date)", "month (date)"),
            ("tender . id", "tender.id"),
            ("2020-07-14T17:00+02:00", "2020-07-14T17:00+02:00"),
        ] {
            assert_eq!(one_line(written), name, "{written:?}");
            let policy = format!("rule r {{ note per {written} }}\n");
            let formatted = crate::format::format(&policy);
            let key = formatted
                .trim_end()
                .strip_prefix("rule r { note per ")
                .and_then(|k| k.strip_suffix(" }"))
                .expect("the key is there");
            assert_eq!(one_line(key), name, "{formatted:?}");
        }
    }
}
