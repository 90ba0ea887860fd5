//! Parsing: policy text into a typed AST, reporting every syntax error in a file.
//!
//! Statements are parsed one at a time. After a syntax error, parsing resumes at the next line
//! that starts with a statement keyword, so one mistake does not hide the next.

pub(crate) mod ast;
mod grammar;
mod lower;
pub(crate) mod tokens;

use pest::Parser as _;

use crate::diagnostic::{Code, Diag};
use crate::source::{Source, Span};
use ast::{PolicyFile, Statement};
use grammar::{PolicyParser, Rule};

/// The deepest nesting of brackets and operators a policy may use.
pub const MAX_NESTING: usize = 64;

/// The grammar's precedence levels of an expression, lowest first: each wraps the next, and a
/// level with a single operand is only a wrapper (see `grammar/caveat.pest`).
const PRECEDENCE_LEVELS: &[Rule] = &[
    Rule::expr,
    Rule::or_expr,
    Rule::and_expr,
    Rule::not_expr,
    Rule::compare,
    Rule::sum,
    Rule::product,
    Rule::unary,
    Rule::postfix,
];

/// Keywords that start a statement.
const STATEMENT_KEYWORDS: &[&str] = &[
    "deny", "warn", "note", "require", "rule", "let", "alias", "import", "test", "waive", "record",
];

/// The words reserved as bare identifiers (LANGUAGE.md §2): a field of that name is written
/// `record.NAME`.
const RESERVED: &[&str] = &[
    "deny", "warn", "note", "require", "rule", "when", "unless", "after", "before", "between",
    "and", "or", "not", "in", "where", "let", "alias", "import", "test", "given", "expect", "pass",
    "record", "waive", "for", "until", "because", "by", "message", "cite", "tags", "true", "false",
    "exists", "is", "missing", "matches", "contains", "starts", "ends", "with", "any", "all",
    "per", "as", "having", "group", "if", "then", "else",
];

/// A field path as a policy writes it: `.name` after a name, `["…"]` for a key that is not an
/// identifier, and `record.` or `record[…]` before a first key that is a keyword or not an
/// identifier (`buyer.unit`, `record.tags`, `content["#text"]`, `record["Entity Name"]`).
pub(crate) fn path_as_written<'a>(keys: impl IntoIterator<Item = &'a str>) -> String {
    steps_as_written(keys.into_iter().map(Ok))
}

/// `parent` (a path as [`path_as_written`] writes it, or empty) followed by `key`, as written.
pub(crate) fn path_extended(parent: &str, key: &str) -> String {
    let written = path_as_written([key]);
    match written.strip_prefix("record") {
        Some(rest) if !parent.is_empty() && rest.starts_with(['.', '[']) => {
            format!("{parent}{rest}")
        }
        _ if !parent.is_empty() => format!("{parent}.{written}"),
        _ => written,
    }
}

/// [`path_as_written`] of keys (`Ok`) and list positions (`Err`), a position written `[N]`
/// (`bids.details[1].value`).
pub(crate) fn steps_as_written<'a>(
    steps: impl IntoIterator<Item = Result<&'a str, usize>>,
) -> String {
    let mut out = String::new();
    for step in steps {
        let key = match step {
            Ok(key) => key,
            Err(position) => {
                if out.is_empty() {
                    out.push_str("record");
                }
                out.push_str(&format!("[{position}]"));
                continue;
            }
        };
        match (out.is_empty(), is_identifier(key)) {
            (true, true) if RESERVED.contains(&key) => out.push_str(&format!("record.{key}")),
            (true, true) => out.push_str(key),
            (true, false) => out.push_str(&format!("record[{key:?}]")),
            (false, true) => out.push_str(&format!(".{key}")),
            (false, false) => out.push_str(&format!("[{key:?}]")),
        }
    }
    out
}

/// Whether `c` may start an identifier (a name, a field written bare): an ASCII letter or `_`.
pub(crate) fn starts_identifier(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

/// Whether `word` is an identifier: it starts as one ([`starts_identifier`]), and has only
/// ASCII letters, digits and `_`.
pub(crate) fn is_identifier(word: &str) -> bool {
    word.chars().next().is_some_and(starts_identifier)
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Every keyword, for "did you mean" suggestions: the reserved words and `vendor`, which starts
/// a filter.
fn keywords() -> impl Iterator<Item = &'static str> {
    RESERVED.iter().copied().chain(["vendor"])
}

/// Whether `word` is a keyword ([`keywords`]).
fn is_keyword(word: &str) -> bool {
    keywords().any(|k| k == word)
}

/// The bidirectional control characters, with their names: they can make a policy display
/// differently from how it parses ("Trojan Source").
const BIDI_CONTROLS: &[(char, &str)] = &[
    ('\u{061C}', "ARABIC LETTER MARK"),
    ('\u{200E}', "LEFT-TO-RIGHT MARK"),
    ('\u{200F}', "RIGHT-TO-LEFT MARK"),
    ('\u{202A}', "LEFT-TO-RIGHT EMBEDDING"),
    ('\u{202B}', "RIGHT-TO-LEFT EMBEDDING"),
    ('\u{202C}', "POP DIRECTIONAL FORMATTING"),
    ('\u{202D}', "LEFT-TO-RIGHT OVERRIDE"),
    ('\u{202E}', "RIGHT-TO-LEFT OVERRIDE"),
    ('\u{2066}', "LEFT-TO-RIGHT ISOLATE"),
    ('\u{2067}', "RIGHT-TO-LEFT ISOLATE"),
    ('\u{2068}', "FIRST STRONG ISOLATE"),
    ('\u{2069}', "POP DIRECTIONAL ISOLATE"),
];

/// An error for each bidirectional control character in a policy, anywhere (strings and comments
/// included), as rustc refuses them.
fn bidi_controls(source: &Source) -> Vec<Diag> {
    // Found once, when a first control character needs it (the text is read once, however many
    // there are).
    let test_data = std::cell::OnceCell::new();
    source
        .text()
        .char_indices()
        .filter_map(|(i, c)| {
            let (_, name) = BIDI_CONTROLS.iter().find(|(b, _)| *b == c)?;
            Some(
                Diag::error(
                    Code::ParseBidiControl,
                    format!(
                        "a bidirectional control character (U+{:04X} {name}) in the policy",
                        u32::from(c)
                    ),
                )
                .label(
                    source,
                    Span::new(i, i + c.len_utf8()),
                    "it can make this line display differently from how it is read",
                )
                .help(if test_data_ranges(&test_data, source.text()).iter().any(|r| r.contains(&i)) {
                    format!(
                        "remove it; in a test's data (YAML), a double-quoted string that needs it \
                         writes the escape `\\u{:04X}`",
                        u32::from(c)
                    )
                } else {
                    format!(
                        "remove it; in a string that needs it, write the escape `\\u{{{:X}}}`",
                        u32::from(c)
                    )
                }),
            )
        })
        .collect()
}

/// Where a policy's text holds tests' `given` data, which is YAML: found once into `found`.
fn test_data_ranges<'c>(
    found: &'c std::cell::OnceCell<Vec<std::ops::Range<usize>>>,
    text: &str,
) -> &'c [std::ops::Range<usize>] {
    found.get_or_init(|| {
        let tokens = tokens::tokens(text);
        let mut previous: Option<&tokens::Token<'_>> = None;
        let mut ranges = Vec::new();
        for token in tokens.iter().filter(|t| t.kind != tokens::Kind::Comment) {
            if token.kind == tokens::Kind::Text && previous.is_some_and(|p| p.text == "given") {
                let start = (token.text.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
                ranges.push(start..start + token.text.len());
            }
            previous = Some(token);
        }
        ranges
    })
}

/// The length of the date-time literal at the start of `text` (`2020-07-14T17:00`,
/// `2020-07-14T17:00:00.5+02:00`), as the grammar reads one; `None` when none starts there.
pub(crate) fn datetime_len(text: &str) -> Option<usize> {
    // Tried on the first bytes only: a failed parse costs the length of its line (pest finds
    // the line of the error), and the tokenizer tries every number of a line (a line of
    // 100,000 `and amount > 1` took minutes). A literal that ends near the cut (where an offset
    // may have been cut off) is parsed again whole; one that does not start as a date-time in
    // the first bytes is none.
    let mut cut = text.len().min(128);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = text.get(..cut).unwrap_or(text);
    let parse = |text| -> Option<usize> {
        let mut pairs = PolicyParser::parse(Rule::datetime, text).ok()?;
        Some(pairs.next()?.as_span().end())
    };
    match parse(head)? {
        len if len + 16 < cut || cut == text.len() => Some(len),
        _ => parse(text),
    }
}

/// The length of the YAML flow mapping or sequence (`given { … }`, `given [ … ]`) at the start
/// of `text`, by the grammar's own rules: a closed one, else one whose brackets do not balance
/// (up to `expect`, without the blanks before it), if one starts there.
pub(crate) fn flow_data_len(text: &str) -> Option<usize> {
    if let Some(len) = closed_flow_data_len(text) {
        return Some(len);
    }
    let mut pairs = PolicyParser::parse(Rule::flow_unbalanced, text).ok()?;
    Some(pairs.next()?.as_str().trim_end().len())
}

/// The length of the YAML flow mapping or sequence `text` starts with, if its brackets close.
pub(crate) fn closed_flow_data_len(text: &str) -> Option<usize> {
    let closed = if text.starts_with('[') {
        Rule::flow_sequence
    } else {
        Rule::flow_mapping
    };
    let mut pairs = PolicyParser::parse(closed, text).ok()?;
    Some(pairs.next()?.as_span().end())
}

/// Whether the word right before `at` (blanks aside) is `given`.
fn follows_given(text: &str, at: usize) -> bool {
    let before = text.get(..at).unwrap_or("").trim_end();
    before.strip_suffix("given").is_some_and(|head| {
        !head
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// How a message's text is written: as in the policy file, between the message's double quotes
/// (a string inside a placeholder has its quotes escaped, `\"`), or with its escapes resolved.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageText {
    /// As written in the file.
    Written,
    /// Escapes resolved.
    Resolved,
}

/// Where the placeholder that starts at `text` (just after its `{`) ends: the offset of its
/// closing `}`, if any. Braces inside a string literal (`{if x then \"a}\" else \"b\"}`) or a
/// raw string do not close it.
pub(crate) fn placeholder_len(text: &str, how: MessageText) -> Option<usize> {
    let bytes = text.as_bytes();
    let written = how == MessageText::Written;
    let mut i = 0;
    // The quote of the string literal the scan is in, if any.
    let mut inside: Option<u8> = None;
    while let Some(&b) = bytes.get(i) {
        let escaped_quote = written && b == b'\\' && bytes.get(i + 1) == Some(&b'"');
        match inside {
            None if b == b'}' => return Some(i),
            None if escaped_quote => {
                inside = Some(b'"');
                i += 1;
            }
            None if (b == b'"' && !written) || b == b'\'' => inside = Some(b),
            Some(b'"') if escaped_quote => {
                inside = None;
                i += 1;
            }
            Some(b'"') if b == b'\\' => i += 1,
            Some(quote) if b == quote && !(written && quote == b'"') => inside = None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// A placeholder's text as written in the file, as an expression reads it: each escaped quote
/// `\"` becomes a quote, with a space on the outer side of the string so that every offset
/// stays where it was.
pub(crate) fn placeholder_source(written: &str) -> String {
    let bytes = written.as_bytes();
    let mut out = String::with_capacity(written.len());
    let mut in_string = false;
    let mut i = 0;
    while let Some(c) = written.get(i..).and_then(|rest| rest.chars().next()) {
        if c == '\\' && bytes.get(i + 1) == Some(&b'"') {
            out.push_str(if in_string { "\" " } else { " \"" });
            in_string = !in_string;
            i += 2;
            continue;
        }
        if in_string && c == '\\' {
            // An escape inside the inner string is the expression's own (`\\` stays `\\`).
            out.push(c);
            i += 1;
            if let Some(next) = written.get(i..).and_then(|rest| rest.chars().next()) {
                out.push(next);
                i += next.len_utf8();
            }
            continue;
        }
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Files at least this big are parsed in pieces on all cores.
const PARALLEL_PARSE_BYTES: usize = 64 * 1024;

/// Parses a policy file. Returns the statements that parsed and every syntax error found.
pub fn parse(source: &Source) -> (PolicyFile, Vec<Diag>) {
    let text = source.text();
    let file = |statements, unparsed_rules| PolicyFile {
        source: source.clone(),
        statements,
        unparsed_rules,
    };
    let bidi = bidi_controls(source);
    if !bidi.is_empty() {
        return (file(Vec::new(), Vec::new()), bidi);
    }
    let statement_starts = match scan_layout(source) {
        Ok(starts) => starts,
        Err(diag) => return (file(Vec::new(), Vec::new()), vec![diag]),
    };
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    if let Some(statements) = parse_in_pieces(source, start, &statement_starts) {
        return (file(statements, Vec::new()), Vec::new());
    }
    let piece = parse_range(source, start, text.len());
    (file(piece.statements, piece.unparsed_rules), piece.errors)
}

/// Parses a big file in pieces, cut at statements that start a line outside any bracket, on all
/// cores. `None` unless every piece parsed cleanly and ended where the next began; the caller
/// then parses the file in one go, so that errors are reported exactly as always.
fn parse_in_pieces(source: &Source, start: usize, starts: &[usize]) -> Option<Vec<Statement>> {
    use rayon::prelude::*;
    let len = source.text().len();
    if len < PARALLEL_PARSE_BYTES || starts.is_empty() {
        return None;
    }
    let pieces = rayon::current_num_threads() * 4;
    let mut bounds = vec![start];
    for k in 1..pieces {
        let target = len / pieces * k;
        let at = starts.partition_point(|&s| s < target);
        if let Some(&cut) = starts.get(at)
            && bounds.last().is_some_and(|&last| cut > last)
        {
            bounds.push(cut);
        }
    }
    bounds.push(len);
    let parsed: Vec<Piece> = bounds
        .par_windows(2)
        .map(|w| match w {
            [from, to] => parse_range(source, *from, *to),
            _ => Piece::default(),
        })
        .collect();
    let mut statements = Vec::new();
    for piece in parsed {
        if !piece.errors.is_empty() || piece.overran {
            return None;
        }
        statements.extend(piece.statements);
    }
    Some(statements)
}

/// What parsing a range of a file gave.
#[derive(Default)]
struct Piece {
    statements: Vec<Statement>,
    errors: Vec<Diag>,
    /// The ids of rule blocks that did not parse.
    unparsed_rules: Vec<String>,
    /// The last statement ran past the end of the range.
    overran: bool,
}

/// Parses the statements that start in `start..end`, recovering after errors.
fn parse_range(source: &Source, start: usize, end: usize) -> Piece {
    let text = source.text();
    let mut piece = Piece::default();
    let mut pos = start;
    let mut previous_start: Option<usize> = None;
    // A rule block failed: its lines after the error were parsed as statements of their own,
    // and its closing `}` is no error of its own.
    let mut in_failed_block = false;
    loop {
        pos = skip_trivia(text, pos);
        if pos >= end {
            break;
        }
        let Some(rest) = text.get(pos..) else { break };
        if in_failed_block && rest.starts_with('}') {
            in_failed_block = false;
            pos += 1;
            previous_start = None;
            continue;
        }
        match PolicyParser::parse(Rule::statement_at, rest) {
            Ok(mut pairs) => {
                let Some(pair) = pairs.next() else { break };
                in_failed_block &= rule_block_id(rest).is_none();
                let statement_end = pos + pair.as_span().end();
                match lower::statement(source, pos, pair) {
                    Ok(statement) => piece.statements.push(statement),
                    Err(mut diags) => {
                        piece.errors.append(&mut diags);
                        piece.unparsed_rules.extend(rule_block_id(rest));
                    }
                }
                previous_start = Some(pos);
                // A statement that consumed nothing would loop forever; the grammar has none.
                pos = statement_end.max(pos + 1);
                piece.overran = pos > end;
            }
            Err(error) => {
                let block = rule_block_id(rest);
                // Until a rule block parses again or its `}` is met.
                in_failed_block |= block.is_some();
                piece.unparsed_rules.extend(block);
                let diag = syntax_error(source, pos, previous_start, error);
                let at = diag.location().map_or(pos, |l| l.span.start);
                piece.errors.push(diag);
                // An unfinished statement often fails at the keyword of the next one: go on there.
                pos = if at > pos && starts_statement(text, at) {
                    at
                } else {
                    next_statement_start(text, at.max(pos) + 1)
                };
                previous_start = None;
            }
        }
    }
    piece
}

/// The id of the rule block `text` starts with (`rule ID`), if it does.
fn rule_block_id(text: &str) -> Option<String> {
    let rest = text.strip_prefix("rule")?;
    if !rest.starts_with([' ', '\t', '\r', '\n', '#']) {
        return None;
    }
    // Blanks and comments may stand between the keyword and the id.
    let blanks = [' ', '\t', '\r', '\n'];
    let mut id = rest.trim_start_matches(blanks);
    while let Some(comment) = id.strip_prefix('#') {
        id = comment
            .find('\n')
            .map_or("", |end| &comment[end..])
            .trim_start_matches(blanks);
    }
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let len = id
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .unwrap_or(id.len());
    Some(id[..len].to_string())
}

/// An expression nested more than [`MAX_NESTING`] levels deep, at `span`.
pub(crate) fn too_deep(source: &Source, span: Span) -> Diag {
    Diag::error(
        Code::ParseTooDeep,
        format!("expression nested more than {MAX_NESTING} levels deep"),
    )
    .label(source, span, "too deep here")
    .help("split the expression, for example with `let`")
}

/// Whether pest gave up because recursing further would overflow its stack (or its call budget):
/// input nested too deeply, whatever its syntax.
pub(crate) fn hit_parser_limit(error: &pest::error::Error<Rule>) -> bool {
    matches!(&error.variant, pest::error::ErrorVariant::CustomError { message }
        if message.ends_with("limit reached"))
}

/// Describes a syntax error in the words of the language.
fn syntax_error(
    source: &Source,
    pos: usize,
    previous_start: Option<usize>,
    error: pest::error::Error<Rule>,
) -> Diag {
    // When no statement can start here, the previous statement is what could not go on. Parse
    // it again followed by a character no rule accepts, to learn what it could have continued
    // with at exactly this place.
    // A stray word (a misspelt keyword) is reported where it stands; anything else where the
    // parse of both statements got furthest.
    let text = source.text();
    // The parser refuses to recurse deeper than its stack allows (thousands of nested `if`s or
    // quantifiers, which no bracket count catches beforehand): that is nesting, not syntax.
    if hit_parser_limit(&error) {
        let at = pos + error_offset(&error);
        let len = found_token(text, at).len.max(1);
        return too_deep(source, Span::new(at, at + len));
    }
    let word = leading_word(text.get(pos..).unwrap_or(""));
    let stray_word = !word.is_empty() && !is_keyword(word);
    let continued = match (&error.location, previous_start) {
        (pest::error::InputLocation::Pos(0), Some(start)) if stray_word => text
            .get(start..pos)
            .map(|previous| format!("{previous}\u{0}"))
            .and_then(|probe| PolicyParser::parse(Rule::statement_then, &probe).err())
            .map(|e| (pos, e)),
        (pest::error::InputLocation::Pos(0), Some(start)) => text
            .get(start..)
            .and_then(|both| PolicyParser::parse(Rule::statement_then, both).err())
            .map(|e| (start + error_offset(&e), e)),
        _ => None,
    };
    let (at, error) = match continued {
        Some(found) => found,
        None => (pos + error_offset(&error), error),
    };
    let expected = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let found = found_token(source.text(), at);
    // A letter outside ASCII in a name (`let café`) stops the parse where it stands or, when the
    // statement cannot start at all, at the statement: name the letter instead.
    // A letter after the error is another matter, unless nothing of the statement parsed (then
    // the letter may be what stopped it, further on its line).
    let end = if at <= pos {
        text.get(at + found.len..)
            .and_then(|rest| rest.find('\n'))
            .map_or(text.len(), |i| at + found.len + i)
    } else {
        at + found.len.max(1)
    };
    if let Some(letter) = letter_outside_ascii(text, pos, end) {
        return non_ascii_name(source, letter);
    }
    describe_expected(source, at, &expected, found)
}

/// Where the first letter outside ASCII stands in the policy's code between `from` and `to`
/// (strings, comments and `given` records, which may hold any letter, skipped).
fn letter_outside_ascii(text: &str, from: usize, to: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    while at < to {
        let b = *bytes.get(at)?;
        at = match b {
            b'#' => text.get(at..)?.find('\n').map_or(text.len(), |i| at + i),
            b'"' | b'\'' => string_end(text, at),
            b'g' if text.get(at..)?.starts_with("given")
                && !text
                    .get(..at)
                    .and_then(|t| t.chars().last())
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                let after = skip_trivia(text, at + "given".len());
                match bytes.get(after) {
                    Some(b'{' | b'[') => bracket_end(text, after),
                    _ => at + 1,
                }
            }
            _ if b.is_ascii() => at + 1,
            _ => {
                let c = text.get(at..)?.chars().next()?;
                if c.is_alphabetic() {
                    return Some(at);
                }
                at + c.len_utf8()
            }
        };
    }
    None
}

/// The end of the string that starts at `at` (`"…"` with escapes, or `'…'`): past its closing
/// quote, or the end of the text.
fn string_end(text: &str, at: usize) -> usize {
    let bytes = text.as_bytes();
    let quote = bytes.get(at).copied();
    let mut i = at + 1;
    while let Some(&b) = bytes.get(i) {
        if b == b'\\' && quote == Some(b'"') {
            i += 2;
            continue;
        }
        i += 1;
        if Some(b) == quote {
            return i;
        }
    }
    text.len()
}

/// The end of the bracketed flow value that starts at `at` (`{…}` or `[…]`, quotes aside): past
/// the bracket that closes it, or the end of the text.
fn bracket_end(text: &str, at: usize) -> usize {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = at;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' | b'\'' => {
                i = string_end(text, i);
                continue;
            }
            // A YAML comment (`#` after a blank) runs to the end of its line.
            b'#' if i == 0 || bytes.get(i - 1).is_some_and(u8::is_ascii_whitespace) => {
                i = text
                    .get(i..)
                    .and_then(|t| t.find('\n'))
                    .map_or(text.len(), |n| i + n);
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    text.len()
}

/// A letter outside ASCII at `at`, in a name: names are ASCII.
fn non_ascii_name(source: &Source, at: usize) -> Diag {
    let text = source.text();
    let in_word = |c: char| c.is_alphanumeric() || c == '_';
    let start = text
        .get(..at)
        .and_then(|t| t.char_indices().rev().find(|&(_, c)| !in_word(c)))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text
        .get(at..)
        .and_then(|t| t.char_indices().find(|&(_, c)| !in_word(c)))
        .map_or(text.len(), |(i, _)| at + i);
    let word = text.get(start..end).unwrap_or("");
    let letter = text.get(at..).and_then(|t| t.chars().next()).unwrap_or('?');
    Diag::error(
        Code::ParseSyntax,
        format!("`{letter}` cannot be part of a name: names are ASCII letters, digits and `_`"),
    )
    .label(
        source,
        Span::new(at, at + letter.len_utf8()),
        "not an ASCII letter",
    )
    .help(format!(
        "text is written in quotes, `\"{word}\"`; a field named `{word}` is read with a string \
         index, `record[\"{word}\"]`; a `let`, `alias` or rule is named in ASCII"
    ))
}

/// Where in its input a pest error happened.
fn error_offset(error: &pest::error::Error<Rule>) -> usize {
    match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    }
}

/// Builds the "expected …, found …" diagnostic.
fn describe_expected(source: &Source, at: usize, expected: &[Rule], found: FoundToken) -> Diag {
    let mut words: Vec<&'static str> = Vec::new();
    let mut statement_start = false;
    for rule in expected {
        match expected_word(*rule) {
            Expected::Word(w) => {
                if !words.contains(&w) {
                    words.push(w);
                }
            }
            Expected::StatementStart => statement_start = true,
            Expected::Nothing => {}
        }
    }
    // Operators and field access can follow almost anything: name them only when nothing else fits.
    let continuations = [
        "an operator",
        "a comparison",
        "a field name",
        "an expression",
        "`and`",
        "`or`",
    ];
    if words.iter().any(|w| !continuations.contains(w)) || statement_start {
        words.retain(|w| !continuations[..4].contains(w));
    }
    // `if … then …` waits for its next word more than for an operator.
    if let Some(i) = words.iter().position(|w| matches!(*w, "`then`" | "`else`")) {
        let word = words.remove(i);
        words.insert(0, word);
    }
    // Only declarations other than `let` and the effects show that a file's statement may
    // start here; without them, this is the head of a rule block, before its statement.
    let top_level = expected.iter().any(|rule| {
        matches!(
            rule,
            Rule::kw_rule
                | Rule::kw_alias
                | Rule::kw_import
                | Rule::alias_decl
                | Rule::import_decl
                | Rule::EOI
        )
    });
    if statement_start && words.contains(&"`}`") {
        // Inside a rule block, only a rule-local `let` starts a statement.
        words.push("`let`");
    } else if statement_start && !top_level && words.is_empty() {
        words.push(BLOCK_START);
    } else if statement_start {
        words.push(if words.is_empty() {
            "a rule or declaration (`deny`, `warn`, `note`, `require`, `rule`, `let`, `alias`, `import`, `waive`, `test`)"
        } else {
            "the next rule"
        });
    }
    let expected_text = match words.as_slice() {
        [] => "something else".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    };
    let text = source.text();
    // A statement cut short shows up as an error at the keyword of the next one.
    let unfinished = found.kind == FoundKind::Word && starts_statement(text, at);
    let span = if found.kind == FoundKind::End || unfinished {
        let before = if unfinished {
            text.get(..at)
        } else {
            Some(text)
        };
        let end = before.map_or(0, |t| t.trim_end().len());
        let last = text
            .get(..end)
            .and_then(|t| t.chars().last())
            .map_or(1, char::len_utf8);
        Span::new(end.saturating_sub(last), end)
    } else {
        Span::new(at, at + found.len.max(1))
    };
    let (message, label) = match found.kind {
        _ if unfinished => (
            format!("unfinished statement: expected {expected_text} before the next statement"),
            format!("expected {expected_text} after this"),
        ),
        FoundKind::End => (
            format!("unexpected end of file: expected {expected_text}"),
            "the file ends after this".to_string(),
        ),
        FoundKind::UnterminatedString => (
            "unterminated string".to_string(),
            "this string has no closing quote".to_string(),
        ),
        _ => (
            format!("expected {expected_text}, found {}", found.describe()),
            format!("expected {expected_text}"),
        ),
    };
    let mut diag = Diag::error(Code::ParseSyntax, message).label(source, span, label);
    if found.kind == FoundKind::UnterminatedString {
        let raw = source.text().get(at..).is_some_and(|t| t.starts_with('\''));
        diag = diag.help(if raw {
            "add the closing `'`; a raw string has no escapes, so one that holds a `'` is written \
             as a `\"…\"` string, with `\\` before each backslash"
        } else {
            "add the closing quote; a `\"` inside a string is written `\\\"`"
        });
    } else if unfinished {
        diag = diag.help("finish the statement; a new line does not end one, so the next statement was read as its continuation");
    } else if let Some(help) = syntax_help(source.text(), at, &found, &words) {
        diag = diag.help(help);
    }
    diag
}

/// `2018-01-01T10`, `2018-01-01abc`: a date literal (its year and month read) that goes on
/// with what no date or date-time has, so that its day was taken for another token.
fn date_literal_help(text: &str, at: usize, token: &str) -> Option<String> {
    let before = text.get(..at)?.as_bytes();
    let start = at.checked_sub(8)?;
    let head = before.get(start..)?;
    let digits = |range: std::ops::Range<usize>| {
        head.get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let shaped =
        digits(0..4) && head.get(4) == Some(&b'-') && digits(5..7) && head.get(7) == Some(&b'-');
    if !shaped || !token.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let literal = text.get(start..at + token.len())?;
    Some(format!(
        "`{literal}` is not a date or a date-time: write a date `YYYY-MM-DD`, or a date-time \
         `YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]` (`2018-01-01T10:00Z`)"
    ))
}

/// The fix for a duration whose count is not a whole number of units (`1.5 days`, `$5 days`),
/// when `token` at `at` is a unit after such a count: the same duration in whole units.
fn duration_help(text: &str, at: usize, token: &str) -> Option<String> {
    // Each unit, its singular, and the next smaller unit with how many of it make one.
    let units = [
        ("week", 7, "days"),
        ("day", 24, "hours"),
        ("hour", 60, "minutes"),
        ("minute", 60, "seconds"),
        ("second", 1, "seconds"),
    ];
    let &(_, factor, smaller) = units
        .iter()
        .find(|(unit, ..)| token == *unit || token.strip_suffix('s') == Some(*unit))?;
    let before = text.get(..at)?.trim_end();
    let count_start = before
        .rfind(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '_' | '$')))
        .map_or(0, |i| i + 1);
    let written = before.get(count_start..)?;
    if !(written.contains('.') || written.starts_with('$')) {
        return None;
    }
    let count: rust_decimal::Decimal = written.replace(['$', '_'], "").parse().ok()?;
    let whole = |n: rust_decimal::Decimal| n.fract().is_zero().then(|| n.normalize());
    let fix = match (
        whole(count),
        whole(count * rust_decimal::Decimal::from(factor)),
    ) {
        (Some(n), _) => format!("`{n} {token}`"),
        (None, Some(n)) if factor > 1 => format!("`{n} {smaller}`"),
        _ => "a whole number of a smaller unit".to_string(),
    };
    Some(format!(
        "a duration counts whole units, without `$` or a decimal point: write {fix}"
    ))
}

/// The fix for a number written with an exponent (`1e3`, `2.5E-2`), when `token` at `at` is
/// one: the number written out.
fn exponent_help(text: &str, at: usize, token: &str) -> Option<String> {
    // The token may stop before an exponent's sign: `2.5E-2` is found as `2.5E`.
    let rest = text.get(at..)?;
    let len = rest
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphanumeric()
                || c == '.'
                || (matches!(c, '-' | '+') && rest[..i].ends_with(['e', 'E'])))
        })
        .map_or(rest.len(), |(i, _)| i);
    let written = rest.get(..len)?;
    if !token.starts_with(|c: char| c.is_ascii_digit()) || !written.contains(['e', 'E']) {
        return None;
    }
    let number = rust_decimal::Decimal::from_scientific(written).ok()?;
    Some(format!(
        "a number in a policy is written out, without an exponent: `{}`",
        number.normalize()
    ))
}

/// The word (letters, digits, `_`) that ends right before `at`, blanks aside, and the text
/// before that word.
fn word_before(text: &str, at: usize) -> (&str, &str) {
    let before = text.get(..at).unwrap_or("").trim_end();
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    before.split_at_checked(start).unwrap_or((before, ""))
}

/// The schema's type names, which an enum member must quote.
const TYPE_NAMES: [&str; 5] = ["string", "integer", "number", "date", "bool"];

/// The help for a schema type name written as an enum member.
fn quote_type_name(name: &str) -> String {
    format!("a type name used as an enum member must be quoted: `\"{name}\"`")
}

/// A fix to suggest for a syntax error, when one is plain.
fn syntax_help(text: &str, at: usize, found: &FoundToken, expected: &[&str]) -> Option<String> {
    let token = text.get(at..at + found.len).unwrap_or("");
    // `deny vendor DJI mesage "x"`: a misspelt keyword among the filters was read as the field
    // of a date filter (`delivered after …`), so the error stands after it.
    let date_filter = ["`after`", "`before`", "`between`"];
    let (ahead, word) = word_before(text, at);
    if date_filter.iter().all(|w| expected.contains(w))
        && !word.is_empty()
        && !is_keyword(word)
        && let Some(keyword) = crate::suggest::closest(word, keywords())
    {
        return Some(format!(
            "`{word}` was read as the field of a date filter (`delivered after …`): did you mean \
             `{keyword}`?"
        ));
    }
    // `after 2018-01-01T10:00`: a date filter takes a date, a date-time is compared in `when`.
    if expected.contains(&"a date like 2018-05-23")
        && let Some(rest) = text.get(at..)
        && rest.len() > 10
        && rest.get(10..11).is_some_and(|t| t == "T" || t == "t")
        && rest
            .get(..10)
            .is_some_and(|d| d.bytes().filter(|b| *b == b'-').count() == 2)
    {
        if word_before(text, at).1 == "until" {
            return Some(
                "a waiver's `until` takes a date, and the waiver applies through the end of that \
                 day: `until 2030-01-01`"
                    .to_string(),
            );
        }
        return Some(
            "a date filter (`after`, `before`, `between`) takes a date; compare a date-time in \
             `when`: `when date > 2018-01-01T10:00`"
                .to_string(),
        );
    }
    // `vendor [DJI, Autel]`: several vendors are matched with `in`.
    if let Some(head) = ahead.trim_end().strip_suffix('[')
        && word_before(head, head.len()).1 == "vendor"
    {
        return Some("to match any of several vendors, write `vendor in [DJI, Autel]`".to_string());
    }
    // `kind: date | urgent`: the type name, first, was taken for the field's type.
    if token == "|" && TYPE_NAMES.contains(&word) && ahead.trim_end().ends_with(':') {
        return Some(quote_type_name(word));
    }
    if found.kind == FoundKind::Word {
        let filter_words = ["vendor", "after", "before", "between"];
        if filter_words.contains(&token) {
            return Some(format!(
                "filters come right after the effect, before `when`: `deny {token} … when …`"
            ));
        }
        if let Some(help) = date_literal_help(text, at, token) {
            return Some(help);
        }
        if let Some(help) = duration_help(text, at, token) {
            return Some(help);
        }
        if let Some(help) = exponent_help(text, at, token) {
            return Some(help);
        }
        if TYPE_NAMES.contains(&token) && expected.iter().any(|e| e.starts_with("a type")) {
            return Some(quote_type_name(token));
        }
        if let Some(keyword) = crate::suggest::closest(token, keywords())
            && keyword != token
            && !is_keyword(token)
        {
            return Some(format!("did you mean `{keyword}`?"));
        }
        let expects = |w: &str| expected.iter().any(|e| e.contains(&format!("`{w}`")));
        // What starts a statement, or follows one in its rule block.
        let starts = [
            "deny", "warn", "note", "require", "rule", "let", "alias", "import", "test", "waive",
            "message", "cite", "tags",
        ];
        let clause = matches!(token, "when" | "unless" | "where" | "per" | "having");
        let ended_by = last_word_before(text, at, &starts);
        if clause
            && !expects(token)
            && let Some(ended_by @ ("let" | "message" | "cite" | "tags")) = ended_by
        {
            return Some(format!(
                "`{token}` is a clause of the rule's statement, which `{ended_by}` ended: write \
                 every clause before the rule-local lets and metadata that follow the statement"
            ));
        }
        match token {
            "unless" if !expects("unless") => {
                return Some(
                    "`require` takes no `unless`, and a rule has at most one `unless`, after its \
                     `when`: write `deny … when … unless …`"
                        .to_string(),
                );
            }
            "when" if !expects("when") => {
                return Some(
                    "a rule has at most one `when`, before its `unless`: join conditions with `and`"
                        .to_string(),
                );
            }
            // In a `require` rule: a rule over groups has an effect.
            "per" | "having" if !expects(token) && ended_by == Some("require") => {
                return Some(format!(
                    "`require` checks each record alone and takes no `{token}`: a rule over \
                     groups of records has an effect, `deny per vendor having … when …`"
                ));
            }
            // A clause written after one that comes after it (`when … where …`), or twice.
            "per" | "where" | "having" if !expects(token) && expects("unless") => {
                return Some(format!(
                    "`{token}` is out of place: a rule's clauses go in the order EFFECT \
                     FILTER… [per KEY] [where …] [having …] [when …] [unless …], each at most once"
                ));
            }
            _ => {}
        }
        if expects("because") {
            return Some(
                "a waiver gives its reason: `waive RULE for CONDITION until DATE because \"WHY\" [by \"WHO\"]`"
                    .to_string(),
            );
        }
        let place = if expected.contains(&BLOCK_START) {
            Some("goes after the rule's statement")
        } else if expected
            .iter()
            .any(|e| e.starts_with("a rule or declaration") || *e == "the next rule")
        {
            Some("belongs in a rule block, after the rule's statement")
        } else {
            None
        };
        if let Some(place) = place
            && matches!(token, "message" | "cite" | "tags")
        {
            return Some(format!(
                "`{token}` is metadata of a rule: it {place}, `rule NAME {{ deny … {token} … }}`; \
                 to read a field named `{token}` write `record.{token}`"
            ));
        }
        if is_keyword(token) && !expects(token) {
            return Some(format!(
                "`{token}` is a keyword; to use a field of that name write `record.{token}`"
            ));
        }
    }
    let comparison = ["==", "!=", "<=", ">=", "<", ">"];
    let ahead = text.get(at..).unwrap_or("");
    if comparison.iter().any(|op| ahead.starts_with(op)) && expected.contains(&"`and`") {
        return Some("comparisons do not chain: write `a < b and b < c`".to_string());
    }
    if token == "=" {
        return Some("equality is written `==`".to_string());
    }
    if token == "{" && expected.contains(&"a YAML flow mapping `{ … }`") {
        return Some(
            "this mapping is not closed: check that its brackets match and every quote is closed"
                .to_string(),
        );
    }
    if expected.contains(&"`expect`") {
        return Some(
            "a `given { … }` mapping ends at the `}` that matches its `{`, quoted text aside: \
             check its brackets and quotes"
                .to_string(),
        );
    }
    None
}

/// The last of `words` before `at`, as a word of its own outside strings and comments.
fn last_word_before<'t>(text: &'t str, at: usize, words: &[&str]) -> Option<&'t str> {
    let text = text.get(..at)?;
    let mut last = None;
    let mut word_start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let in_word = c.is_ascii_alphanumeric() || c == '_' || c == '.';
        if !in_word && let Some(start) = word_start.take() {
            let word = text.get(start..i).unwrap_or("");
            if words.contains(&word) {
                last = Some(word);
            }
        }
        match (quote, comment, c) {
            (_, true, '\n') => comment = false,
            (_, true, _) => {}
            (Some('"'), _, '\\') => {
                chars.next();
            }
            (Some(q), _, c) if c == q => quote = None,
            (Some(_), _, _) => {}
            (None, _, '#') => comment = true,
            (None, _, '"' | '\'') => quote = Some(c),
            (None, _, _) if in_word && word_start.is_none() => word_start = Some(i),
            (None, _, _) => {}
        }
    }
    if let Some(start) = word_start {
        let word = text.get(start..).unwrap_or("");
        if words.contains(&word) {
            last = Some(word);
        }
    }
    last
}

/// What a rule block takes before its statement.
const BLOCK_START: &str =
    "a rule-local `let` or the rule's statement (`deny`, `warn`, `note`, `require`)";

/// What pest expected, in the words of the language.
enum Expected {
    Word(&'static str),
    StatementStart,
    Nothing,
}

fn expected_word(rule: Rule) -> Expected {
    use Expected::{Nothing, StatementStart, Word};
    match rule {
        Rule::kw_deny
        | Rule::kw_warn
        | Rule::kw_note
        | Rule::kw_require
        | Rule::kw_rule
        | Rule::kw_let
        | Rule::kw_alias
        | Rule::kw_import
        | Rule::let_decl
        | Rule::alias_decl
        | Rule::import_decl
        | Rule::record_decl
        | Rule::rule_block
        | Rule::effect_rule
        | Rule::require_rule
        | Rule::effect
        | Rule::kw_waive
        | Rule::kw_test
        | Rule::waive_decl
        | Rule::test_block
        | Rule::EOI => StatementStart,
        Rule::kw_for => Word("`for`"),
        Rule::kw_until => Word("`until`"),
        Rule::kw_because => Word("`because`"),
        Rule::kw_by | Rule::waive_owner => Word("`by`"),
        Rule::kw_given | Rule::given_clause => Word("`given`"),
        Rule::kw_expect | Rule::expect_clause => Word("`expect`"),
        Rule::kw_pass => Word("`pass`"),
        Rule::kw_file | Rule::given_file => Word("`file`"),
        Rule::flow_mapping => Word("a YAML flow mapping `{ … }`"),
        Rule::expectation | Rule::expected_effect => {
            Word("an effect (`deny`, `warn`, `note`, `error`, `waived`)")
        }
        Rule::local_let => Word("`let`"),
        Rule::kw_per | Rule::per_clause => Word("`per`"),
        Rule::kw_having | Rule::having_clause => Word("`having`"),
        Rule::where_clause => Word("`where`"),
        Rule::flow_sequence => Word("a YAML flow sequence `[ … ]`"),
        Rule::kw_when | Rule::when_clause => Word("`when`"),
        Rule::kw_unless | Rule::unless_clause => Word("`unless`"),
        Rule::kw_after | Rule::after_filter => Word("`after`"),
        Rule::kw_before | Rule::before_filter => Word("`before`"),
        Rule::kw_between | Rule::between_filter => Word("`between`"),
        Rule::kw_and => Word("`and`"),
        Rule::kw_or => Word("`or`"),
        Rule::kw_in | Rule::in_op => Word("`in`"),
        Rule::kw_where => Word("`where`"),
        Rule::kw_message | Rule::message_meta => Word("`message`"),
        Rule::kw_cite | Rule::cite_meta => Word("`cite`"),
        Rule::kw_tags | Rule::tags_meta => Word("`tags`"),
        Rule::kw_with => Word("`with`"),
        Rule::kw_missing => Word("`missing`"),
        Rule::kw_vendor | Rule::vendor_filter => {
            Word("a filter (`vendor`, `after`, `before`, `between`)")
        }
        Rule::date_filter | Rule::filter_path => {
            Word("a filter (`vendor`, `after`, `before`, `between`)")
        }
        Rule::ident | Rule::path_head | Rule::filter_value | Rule::list_operand => Word("a name"),
        Rule::name | Rule::member => Word("a field name"),
        Rule::rule_id | Rule::rule_ref => Word("a rule id like `dod-2018-memo`"),
        Rule::string | Rule::string_inner | Rule::raw_string => Word("a string"),
        Rule::date | Rule::date_operand => Word("a date like 2018-05-23"),
        Rule::number => Word("a number"),
        Rule::list_lit => Word("a list"),
        Rule::tag | Rule::tag_word => Word("a tag"),
        Rule::open_brace => Word("`{`"),
        Rule::record_body => Word("`{`"),
        Rule::schema_field | Rule::field_name => Word("a field declaration like `vendor: string`"),
        Rule::optional_mark => Word("`?`"),
        Rule::colon => Word("`:`"),
        Rule::list_type | Rule::type_name | Rule::enum_type | Rule::enum_member => {
            Word("a type (`string`, `integer`, `number`, `date`, `bool`, `[T]`, `{…}` or `a | b`)")
        }
        Rule::close_brace => Word("`}`"),
        Rule::close_paren => Word("`)`"),
        Rule::close_bracket => Word("`]`"),
        Rule::order_op
        | Rule::not_in_op
        | Rule::matches_op
        | Rule::contains_op
        | Rule::starts_op
        | Rule::ends_op
        | Rule::exists_op
        | Rule::missing_op => Word("a comparison"),
        Rule::add_op | Rule::mul_op => Word("an operator"),
        level if PRECEDENCE_LEVELS.contains(&level) => Word("an expression"),
        Rule::paren | Rule::quantifier | Rule::call | Rule::boolean | Rule::neg => {
            Word("an expression")
        }
        Rule::kw_not | Rule::vendor_not_in => Word("`not`"),
        Rule::kw_then => Word("`then`"),
        Rule::kw_else => Word("`else`"),
        _ => Nothing,
    }
}

/// What stands at the place of a syntax error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FoundKind {
    End,
    Word,
    UnterminatedString,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct FoundToken<'a> {
    kind: FoundKind,
    len: usize,
    text: &'a str,
}

impl FoundToken<'_> {
    fn describe(&self) -> String {
        match self.kind {
            FoundKind::End => "the end of the file".to_string(),
            _ => format!("`{}`", self.text),
        }
    }
}

fn found_token(text: &str, at: usize) -> FoundToken<'_> {
    let rest = text.get(at..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return FoundToken {
            kind: FoundKind::End,
            len: 0,
            text: "",
        };
    };
    if first == '"' || first == '\'' {
        let closed = rest
            .char_indices()
            .skip(1)
            .scan(false, |escaped, (i, c)| {
                let r = Some((i, c, *escaped));
                *escaped = first == '"' && c == '\\' && !*escaped;
                r
            })
            .any(|(_, c, escaped)| c == first && !escaped);
        if !closed {
            return FoundToken {
                kind: FoundKind::UnterminatedString,
                len: 1,
                text: rest.get(..1).unwrap_or(""),
            };
        }
    }
    let word = leading_word(rest);
    if !word.is_empty() {
        return FoundToken {
            kind: FoundKind::Word,
            len: word.len(),
            text: word,
        };
    }
    let len = rest
        .char_indices()
        .take_while(|(_, c)| !c.is_whitespace())
        .take(12)
        .last()
        .map_or(first.len_utf8(), |(i, c)| i + c.len_utf8());
    let len = if "([{}])=,".contains(first) {
        first.len_utf8()
    } else {
        len
    };
    FoundToken {
        kind: FoundKind::Other,
        len,
        text: rest.get(..len).unwrap_or(""),
    }
}

/// The identifier-like word at the start of `text`, if any.
fn leading_word(text: &str) -> &str {
    let end = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(text.len(), |(i, _)| i);
    text.get(..end).unwrap_or("")
}

/// Skips whitespace and comments from `pos`.
fn skip_trivia(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(pos) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'#' => {
                while let Some(&c) = bytes.get(pos) {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    pos += 1;
                }
            }
            _ => break,
        }
    }
    pos
}

/// Whether a statement keyword stands at `at`, first on its line.
fn starts_statement(text: &str, at: usize) -> bool {
    let line_start = text
        .get(..at)
        .and_then(|before| before.rfind(['\n', '\r']))
        .map_or(0, |i| i + 1);
    text.get(line_start..at)
        .is_some_and(|indent| indent.trim_start_matches([' ', '\t']).is_empty())
        && STATEMENT_KEYWORDS.contains(&leading_word(text.get(at..).unwrap_or("")))
}

/// The start of the next line, at or after `from`, whose first word is a statement keyword.
fn next_statement_start(text: &str, from: usize) -> usize {
    let mut pos = from.min(text.len());
    // `from` may fall inside a character (one past an error at a letter outside ASCII).
    while !text.is_char_boundary(pos) {
        pos += 1;
    }
    while let Some(rest) = text.get(pos..) {
        let Some(newline) = rest.find(['\n', '\r']) else {
            return text.len();
        };
        pos += newline + 1;
        let line_start = pos;
        let line = text.get(line_start..).unwrap_or("");
        let trimmed = line.trim_start_matches([' ', '\t']);
        let word = leading_word(trimmed);
        if STATEMENT_KEYWORDS.contains(&word) {
            return line_start + (line.len() - trimmed.len());
        }
    }
    text.len()
}

/// Refuses brackets nested deeper than [`MAX_NESTING`] before pest would recurse into them, and
/// otherwise gives the offsets of the statement keywords that start a line outside any bracket,
/// string or comment (where a big file can be cut into pieces), for files big enough to cut.
fn scan_layout(source: &Source) -> Result<Vec<usize>, Diag> {
    let text = source.text();
    let bytes = text.as_bytes();
    let want_starts = text.len() >= PARALLEL_PARSE_BYTES;
    let mut starts = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'#' => {
                while bytes.get(i).is_some_and(|&c| c != b'\n' && c != b'\r') {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                i = string_end(text, i);
                continue;
            }
            // A test's `given` data is YAML, whose quotes follow YAML's rules: skipped whole.
            b'[' | b'{'
                if follows_given(text, i)
                    && let Some(len) = text.get(i..).and_then(closed_flow_data_len) =>
            {
                i += len;
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Diag::error(
                        Code::ParseTooDeep,
                        format!("brackets nested more than {MAX_NESTING} levels deep"),
                    )
                    .label(source, Span::new(i, i + 1), "too deep here")
                    .help("split the expression, for example with `let`"));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' | b'\r' if depth == 0 && want_starts => {
                let line = text.get(i + 1..).unwrap_or("");
                let word_at = i + 1 + (line.len() - line.trim_start_matches([' ', '\t']).len());
                if starts_statement(text, word_at)
                    && !text
                        .get(word_at..)
                        .is_some_and(|r| r.starts_with("record."))
                {
                    starts.push(word_at);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(starts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    /// A big policy with every layout the cutter must respect: blocks, multi-line rules,
    /// keywords in comments and strings, lists over several lines.
    fn big_policy() -> String {
        let mut text = String::from("\u{feff}alias DJI = [\"SZ DJI\",\n  \"Da-Jiang\"]\n");
        for i in 0..3000 {
            text.push_str(&match i % 5 {
                0 => format!("rule r{i} {{\n  deny vendor DJI\n  when amount > {i}\n}}\n"),
                1 => format!(
                    "# deny this is a comment\nwarn when amount > {i}\n  and quantity > 2\n"
                ),
                2 => format!("note when vendor == \"x\ndeny {i}\"\n"),
                3 => format!("let limit{i} = [\n{i},\n{}\n]\n", i + 1),
                _ => format!("deny when product matches '^deny{i}$'\n"),
            });
        }
        text
    }

    /// An apostrophe inside `given` data is YAML's: it does not start a string for the nesting
    /// count, which would then count the brackets of a later string as code.
    #[test]
    fn brackets_after_an_apostrophe_in_given_data_are_not_nesting() {
        let text = format!(
            "test \"t\" {{ given {{by: O'Brien}} expect pass }}\nrule r {{ deny when x > 1 message \"it's {}\" }}\n",
            "(".repeat(MAX_NESTING + 5)
        );
        let (_, errors) = parse(&SourceFile::new("given.policy", text));
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn a_big_file_parses_in_pieces_exactly_as_in_one_go() {
        let source = SourceFile::new("big.policy", big_policy());
        assert!(source.text().len() >= PARALLEL_PARSE_BYTES);
        let starts = scan_layout(&source).unwrap_or_default();
        let pieces = parse_in_pieces(&source, 3, &starts).expect("the pieces parse");
        let whole = parse_range(&source, 3, source.text().len());
        assert!(whole.errors.is_empty(), "{:?}", whole.errors);
        assert_eq!(pieces.len(), 3001);
        assert_eq!(format!("{pieces:?}"), format!("{:?}", whole.statements));
    }

    #[test]
    fn a_big_file_with_an_error_is_reported_as_in_one_go() {
        let mut text = big_policy();
        text.push_str("deny when amount >\nwarn vendor\n");
        let source = SourceFile::new("big.policy", text);
        let (file, errors) = parse(&source);
        let whole = parse_range(&source, 3, source.text().len());
        assert_eq!(errors.len(), 2);
        assert_eq!(format!("{errors:?}"), format!("{:?}", whole.errors));
        assert_eq!(file.statements.len(), whole.statements.len());
    }
}
