//! Text from policies and data made safe to show: the one place every text renderer escapes
//! what it prints. Record values are written by whoever wrote the data, so a value could hold
//! terminal escape sequences (clipboard writes, cleared screens, hidden links), line breaks that
//! forge report lines, characters XML forbids, or spreadsheet formulas.
//!
//! Control characters are shown visibly, as Rust writes them (`\u{1b}`); JSON and SARIF escape
//! them through serde already.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal or a log viewer as is: C0 and C1 control characters
/// (line breaks and tabs aside) and the bidirectional controls that reorder what is shown.
pub fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character for which `escape` holds written as `\u{…}`.
fn escape_where(text: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escape(c) {
            push_escaped(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Appends `c` written as `\u{…}`.
pub fn push_escaped(c: char, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
}

/// Text for a terminal or a log, possibly on several lines: control characters other than line
/// feeds and tabs are shown as `\u{…}` escapes.
pub fn visible(text: &str) -> Cow<'_, str> {
    escape_where(text, hidden)
}

/// Text that must stay on one line (a TAP description, an annotation, a table cell): line
/// feeds and tabs are escaped as well.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| hidden(c) || c == '\n' || c == '\t')
}

/// Whether XML 1.0 allows `c` in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Text for an XML document: control characters and the characters XML 1.0 forbids (such as
/// U+FFFE and U+FFFF) are escaped, so that the document stays well-formed.
pub fn xml(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| hidden(c) || !xml_char(c))
}

/// Text for an XML attribute value: as [`xml`], and line breaks and tabs escaped too, which a
/// reader of the document would otherwise turn into spaces (XML's attribute-value
/// normalisation), losing them without a trace.
pub fn xml_attribute(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| {
        hidden(c) || !xml_char(c) || matches!(c, '\t' | '\n' | '\r')
    })
}

/// A CSV cell: control characters escaped, and a cell that a spreadsheet would run as a formula
/// (one starting with `=`, `+`, `-`, `@`, a tab or a carriage return) prefixed with `'`, as the
/// OWASP advice on CSV injection has it.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let shown = visible(text);
    if shown.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{shown}"))
    } else {
        shown
    }
}

/// A Markdown table cell: on one line, with backslashes and `|` escaped so that a value cannot
/// end the cell or the row, HTML's `<`, `>` and `&` written as entities and Markdown's own
/// punctuation escaped, so that a value from a record cannot add a tag, a link or an image to a
/// job summary.
pub fn markdown_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in one_line(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '~' | ':' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_are_shown_not_sent() {
        assert_eq!(
            visible("a\u{1b}]52;c;aGk=\u{7}b\nc"),
            "a\\u{1b}]52;c;aGk=\\u{7}b\nc"
        );
        assert_eq!(visible("\u{9b}2J\u{202e}"), "\\u{9b}2J\\u{202e}");
        assert!(matches!(visible("plain"), Cow::Borrowed("plain")));
        assert_eq!(one_line("a\nb\tc\rd"), "a\\u{a}b\\u{9}c\\u{d}d");
    }

    #[test]
    fn xml_text_has_no_character_xml_forbids() {
        assert_eq!(xml("a\u{fffe}b\u{ffff}\u{0}"), "a\\u{fffe}b\\u{ffff}\\u{0}");
        assert_eq!(xml("é ✓ 𝄞"), "é ✓ 𝄞");
        assert_eq!(xml("a\tb\nc"), "a\tb\nc");
        assert_eq!(xml_attribute("a\tb\nc\rd"), "a\\u{9}b\\u{a}c\\u{d}d");
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for formula in ["=HYPERLINK(\"x\")", "+1", "-1+2", "@SUM(A1)", "\tx"] {
            assert!(csv_cell(formula).starts_with('\''), "{formula}");
        }
        assert_eq!(csv_cell("\rx"), "\\u{d}x");
        assert_eq!(csv_cell("DJI"), "DJI");
    }

    #[test]
    fn markdown_cells_cannot_end_the_cell_or_the_row() {
        assert_eq!(markdown_cell("a|b\n| x |"), "a\\|b\\\\u{a}\\| x \\|");
        assert_eq!(markdown_cell("a\\|b"), "a\\\\\\|b");
    }

    #[test]
    fn markdown_cells_hold_no_html_links_or_images() {
        assert_eq!(
            markdown_cell("<img src=x onerror=alert(1)> [l](http://e) ![i](x) a&b `c` *d*"),
            "&lt;img src=x onerror=alert\\(1\\)&gt; \\[l\\]\\(http\\://e\\) \\!\\[i\\]\\(x\\) a&amp;b \\`c\\` \\*d\\*"
        );
    }
}
