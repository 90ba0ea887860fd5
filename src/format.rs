//! `caveat fmt`: the one layout of a policy file. It keeps the author's line breaks (as gofmt
//! does) and every comment, and makes the rest canonical: one space between tokens (none inside
//! brackets, before `,` or around `.`), two spaces of indentation per open bracket, and two more
//! for a line that continues an item: a top-level statement, or a clause of a `rule` or `test`
//! block (a line starting `deny`, `warn`, `note`, `require`, `let`, `per`, `where`, `having`,
//! `when`, `unless`, `message`, `cite`, `tags`, `given` or `expect` starts one, except a `where`
//! that a quantifier of the clause waits for); a comment one space after the code it follows, at
//! most one blank line in a row, LF line ends and a final newline. A test's `given` data is YAML
//! and stays as written.
//!
//! A space next to `-` is kept or left out as written, and so is the space before a `(` or `[`
//! that follows a word: rule ids, tags and dates hold `-`, and `f(x)` and `f (x)` may differ.
//! Before a file is rewritten, the result is parsed again and must give the same statements, and
//! each rule written outside a block must stand on its line: its id is `FILE-STEM:LINE`.

use crate::source::{SourceFile, Span};
use crate::syntax::tokens::{Kind, Token, space_between, tokens};

/// Words that start a statement at the top level.
const STATEMENT_WORDS: &[&str] = &[
    "deny", "warn", "note", "require", "rule", "let", "alias", "import", "test", "waive", "record",
];

/// Words that start a clause of a `rule` block: inside one, a line starting with one of them
/// starts an item, as a statement word does at the top level.
const RULE_CLAUSE_WORDS: &[&str] = &[
    "deny", "warn", "note", "require", "let", "per", "where", "having", "when", "unless",
    "message", "cite", "tags",
];

/// Words that start a clause of a `test` block.
const TEST_CLAUSE_WORDS: &[&str] = &["given", "expect"];

/// Formats a policy's text. The text should parse; the result is checked by [`format_file`].
pub fn format(text: &str) -> String {
    // The one layout has no byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let tokens = tokens(text);
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    // Inside a top-level statement that has not ended at a line break.
    let mut in_statement = false;
    // The word that started the current top-level statement.
    let mut statement_word = "";
    // The depth just inside the `{` of a `rule` or `test` block, while in one, and whether a
    // clause of it has started: its items are clauses, indented as statements are at the top.
    let mut clause_block: Option<usize> = None;
    let mut clause_words: &[&str] = RULE_CLAUSE_WORDS;
    let mut in_clause = false;
    // Quantifiers (`any b in bids where …`) of the current clause, outside brackets, still
    // waiting for their `where`: a line starting with that `where` continues the clause.
    let mut open_quantifiers = 0usize;
    let mut previous: Option<&Token<'_>> = None;
    for (at, token) in tokens.iter().enumerate() {
        if token.line_start {
            if previous.is_some() {
                out.push('\n');
                if token.blank_before > 0 {
                    out.push('\n');
                }
            }
            let closes = usize::from(matches!(token.text, ")" | "]" | "}"));
            let starts_statement =
                depth == 0 && token.kind == Kind::Word && STATEMENT_WORDS.contains(&token.text);
            if starts_statement {
                in_statement = true;
                statement_word = token.text;
            }
            let continuation = if clause_block == Some(depth) {
                // One rule everywhere: a line that continues an item is indented one step more
                // than the item's first line, inside a block as at the top level.
                let starts_clause = token.kind == Kind::Word
                    && clause_words.contains(&token.text)
                    && !(token.text == "where" && open_quantifiers > 0);
                if starts_clause {
                    in_clause = true;
                    open_quantifiers = 0;
                }
                in_clause && !starts_clause && closes == 0 && token.kind != Kind::Comment
            } else {
                depth == 0 && in_statement && !starts_statement && token.kind != Kind::Comment
            };
            let indent = depth.saturating_sub(closes) + usize::from(continuation);
            out.extend(std::iter::repeat_n("  ", indent));
        } else if let Some(prev) = previous
            && space_between(prev, token)
        {
            out.push(' ');
        }
        match token.kind {
            Kind::Comment => out.push_str(token.text.trim_end()),
            // A test's records over several lines (YAML, whose line breaks mean LF whatever
            // ends them) get LF line ends too.
            Kind::Text if token.text.starts_with(['{', '[']) && token.text.contains('\r') => {
                out.push_str(&token.text.replace("\r\n", "\n").replace('\r', "\n"));
            }
            _ => out.push_str(token.text),
        }
        if clause_block == Some(depth) && token.kind == Kind::Word {
            let member = tokens.get(at + 1).is_some_and(|next| next.text == ".");
            match token.text {
                "any" | "all" if !member => open_quantifiers += 1,
                "where" => open_quantifiers = open_quantifiers.saturating_sub(1),
                _ => {}
            }
        }
        match token.text {
            "{" if depth == 0 && matches!(statement_word, "rule" | "test") => {
                depth += 1;
                clause_block = Some(depth);
                in_clause = false;
                clause_words = if statement_word == "rule" {
                    RULE_CLAUSE_WORDS
                } else {
                    TEST_CLAUSE_WORDS
                };
            }
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                if clause_block == Some(depth) && token.text == "}" {
                    clause_block = None;
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        previous = Some(token);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// The text with a unique comment (`# gap N`) in every gap between two tokens that whitespace
/// separates, and how many it holds: Cedar's test of a formatter, for tests and fuzzing. The
/// result means the same as the text; formatting it must keep every one of those comments, in
/// order.
pub fn comment_every_gap(text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len() * 2);
    let mut gaps = 0;
    for token in tokens(text) {
        if (token.spaced || token.line_start) && !out.is_empty() {
            out.push_str(&format!(" # gap {gaps}\n"));
            gaps += 1;
        }
        out.push_str(token.text);
        if token.kind == Kind::Comment {
            out.push('\n');
        }
    }
    (out, gaps)
}

/// Whether `formatted` holds the comments `# gap 0` to `# gap {gaps - 1}`, in order.
pub fn keeps_every_gap_comment(formatted: &str, gaps: usize) -> bool {
    let mut from = 0;
    (0..gaps).all(|gap| {
        let marker = format!("# gap {gap}\n");
        match formatted.get(from..).and_then(|rest| rest.find(&marker)) {
            Some(at) => {
                from += at + marker.len();
                true
            }
            None => false,
        }
    })
}

/// Each rule written outside a block: its line (from 1) and where it starts.
type UnnamedRules = Vec<(usize, Span)>;

/// The statements of a policy text as the parser sees them, spans left out: what formatting must
/// not change; and where each rule written outside a block starts, with its line (from 1, as
/// its id `FILE-STEM:LINE` counts it), which formatting must not change either.
fn meaning(name: &str, text: &str) -> Result<(String, UnnamedRules), Vec<crate::diagnostic::Diag>> {
    let source = SourceFile::new(name, text.to_string());
    let (file, errors) = crate::syntax::parse(&source);
    if !errors.is_empty() {
        return Err(errors);
    }
    let debug = format!("{:?}", file.statements);
    let debug = match span_pattern() {
        Some(pattern) => pattern.replace_all(&debug, "Span").into_owned(),
        None => debug,
    };
    let unnamed = file
        .statements
        .iter()
        .filter_map(|statement| match statement {
            crate::syntax::ast::Statement::Rule(rule) if rule.id.is_none() => {
                Some((source.line_col(rule.span.start).0, rule.span))
            }
            _ => None,
        })
        .collect();
    Ok((debug, unnamed))
}

/// `formatted` with blank lines added before each rule written outside a block that formatting
/// moved up (`at`, its lines there), so that it stands on its line of the original (`lines`) and
/// keeps its id. `Err` with the rule's index when formatting moved it down, past its line.
fn keep_unnamed_rule_lines(
    formatted: &str,
    at: &[usize],
    lines: &[usize],
) -> Result<String, usize> {
    let mut out: Vec<&str> = formatted.split_inclusive('\n').collect();
    let mut added = 0;
    for (index, (&now, &before)) in at.iter().zip(lines).enumerate() {
        let now = now + added;
        if now > before {
            return Err(index);
        }
        let missing = before - now;
        if missing > 0 {
            // Above the comments written right before the rule, which belong to it.
            let mut insert = now - 1;
            while insert > 0
                && out
                    .get(insert - 1)
                    .is_some_and(|line| line.trim_start().starts_with('#'))
            {
                insert -= 1;
            }
            for _ in 0..missing {
                out.insert(insert, "\n");
            }
            added += missing;
        }
    }
    Ok(out.concat())
}

/// Spans in the statements' debug text.
fn span_pattern() -> Option<&'static regex::Regex> {
    static PATTERN: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    PATTERN
        .get_or_init(|| regex::Regex::new(r"Span \{ start: \d+, end: \d+ \}").ok())
        .as_ref()
}

/// Why a file was not formatted.
#[derive(Debug)]
pub enum NotFormatted {
    /// It does not parse: the diagnostics.
    Invalid(Vec<crate::diagnostic::Diag>),
    /// Formatting would change what it means or lose a comment (a bug in the formatter): the
    /// place where the output first differs.
    Changed(Span),
    /// Formatting would move a rule written outside a block to a later line, and so change its
    /// id, `FILE-STEM:LINE`.
    MovesUnnamedRule {
        /// Where the rule starts.
        at: Span,
        /// Its line.
        from: usize,
        /// The line formatting would move it to.
        to: usize,
    },
}

/// Formats the text of the policy `name`: the formatted text, after checking that it parses to
/// the same statements.
pub fn format_file(name: &str, text: &str) -> Result<String, NotFormatted> {
    let (statements, unnamed) = meaning(name, text).map_err(NotFormatted::Invalid)?;
    let lines: Vec<usize> = unnamed.iter().map(|(line, _)| *line).collect();
    let formatted = format(text);
    let comments = |t: &str| -> Vec<String> {
        tokens(t)
            .into_iter()
            .filter(|token| token.kind == Kind::Comment)
            .map(|token| token.text.trim_end().to_string())
            .collect()
    };
    match meaning(name, &formatted) {
        Ok((after, moved)) if after == statements && comments(text) == comments(&formatted) => {
            let at: Vec<usize> = moved.iter().map(|(line, _)| *line).collect();
            if at == lines {
                return Ok(formatted);
            }
            keep_unnamed_rule_lines(&formatted, &at, &lines).map_err(|index| {
                let (from, span) = unnamed.get(index).copied().unwrap_or_default();
                NotFormatted::MovesUnnamedRule {
                    at: Span::new(span.start, span.start + 1),
                    from,
                    to: at.get(index).copied().unwrap_or(from),
                }
            })
        }
        _ => {
            let at = text
                .bytes()
                .zip(formatted.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            Err(NotFormatted::Changed(Span::new(at, at + 1)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        let once = format_file("t.policy", input).unwrap();
        assert_eq!(once, expected);
        assert_eq!(format(&once), once, "formatting is idempotent");
    }

    #[test]
    fn spacing_is_canonical() {
        check(
            "deny   vendor DJI when amount>5 and  count( items )==2\n",
            "deny vendor DJI when amount > 5 and count(items) == 2\n",
        );
        check(
            "let xs = [ a ,b,  c ]\nwarn when xs[0].name==\"x\"\n",
            "let xs = [a, b, c]\nwarn when xs[0].name == \"x\"\n",
        );
        // An index right after a list or a call is not pulled away from it.
        check(
            "rule r {\n  let w = [a.id for a in awards][0]\n  note when w == x\n}\n",
            "rule r {\n  let w = [a.id for a in awards][0]\n  note when w == x\n}\n",
        );
    }

    #[test]
    fn waivers_and_tests_are_formatted_but_a_given_record_is_kept_verbatim() {
        check(
            "waive  r for id==\"x\" until 2030-01-01 because \"why\"  by \"me\"\ntest \"t\"   {\ngiven {a:  1,   b: \"x } # y\" }   # c\n  expect   deny r ,warn r\n}\nrule r { deny vendor DJI }\n",
            "waive r for id == \"x\" until 2030-01-01 because \"why\" by \"me\"\ntest \"t\" {\n  given {a:  1,   b: \"x } # y\" } # c\n  expect deny r, warn r\n}\nrule r { deny vendor DJI }\n",
        );
        check(
            "test \"t\" {\n  given {\n     a: 1,   # one\n   b: [x, y]\n  }\n  expect pass\n}\n",
            "test \"t\" {\n  given {\n     a: 1,   # one\n   b: [x, y]\n  }\n  expect pass\n}\n",
        );
        // After a comment too: `#` inside the data is YAML's.
        check(
            "test \"t\" {\n  given # the record\n  {a: x#y}\n  expect pass\n}\n",
            "test \"t\" {\n  given # the record\n    {a: x#y}\n  expect pass\n}\n",
        );
        // A list of records too.
        check(
            "test \"t\" {\n  given [ {a:  1},\n          {a: 2} ]\n  expect   pass\n}\n",
            "test \"t\" {\n  given [ {a:  1},\n          {a: 2} ]\n  expect pass\n}\n",
        );
        // A quote inside a plain scalar is a character of it, not a string to the next quote.
        check(
            "test \"t\" {\n  given {product: 27\" monitor,   by: O'Brien}\n  expect   pass\n}\nrule   r { deny vendor DJI }\n",
            "test \"t\" {\n  given {product: 27\" monitor,   by: O'Brien}\n  expect pass\n}\nrule r { deny vendor DJI }\n",
        );
        // Data whose brackets do not balance is kept as written too (its test reports it).
        check(
            "test \"t\" {\n  given {vendor: [DJI,   x}\n  expect   pass\n}\n",
            "test \"t\" {\n  given {vendor: [DJI,   x}\n  expect pass\n}\n",
        );
    }

    #[test]
    fn blocks_and_continuations_are_indented() {
        check(
            "rule dod-2018-memo {\ndeny vendor DJI after 2018-05-23\n      unless exemption.kind == urgent\n   message \"m\"\n tags [uas, dod-2018]\n}\ndeny vendor DJI\nwhen amount > 1\n",
            "rule dod-2018-memo {\n  deny vendor DJI after 2018-05-23\n  unless exemption.kind == urgent\n  message \"m\"\n  tags [uas, dod-2018]\n}\ndeny vendor DJI\n  when amount > 1\n",
        );
    }

    #[test]
    fn comments_and_blank_lines_are_kept() {
        check(
            "\n\n# head   \n\n\n\nlet a = 1   # one\n# two\nlet b = [\n  1, # first\n  2\n]\n\n\n",
            "# head\n\nlet a = 1 # one\n# two\nlet b = [\n  1, # first\n  2\n]\n",
        );
    }

    #[test]
    fn schema_fields_are_spaced_as_in_the_language_reference() {
        check(
            "record closed {id : string, vendor ?: string,\n   items: [ {a: number} ]\n  kind: a|b | \"c d\"}\n",
            "record closed { id: string, vendor?: string,\n  items: [{ a: number }]\n  kind: a | b | \"c d\" }\n",
        );
        check(
            "record {\n  line_items?: [{ vendor: string, amount: number }]\n}\n",
            "record {\n  line_items?: [{ vendor: string, amount: number }]\n}\n",
        );
    }

    #[test]
    fn minus_and_call_spacing_is_kept_as_written() {
        check(
            "let a = 5-3\nlet b = 5 - -3\nwarn when amount - 1 > 2\n",
            "let a = 5-3\nlet b = 5 - -3\nwarn when amount - 1 > 2\n",
        );
    }

    #[test]
    fn a_byte_order_mark_and_crlf_are_dropped() {
        check("\u{feff}deny vendor DJI\r\n", "deny vendor DJI\n");
    }

    /// An unnamed rule's id, `FILE-STEM:LINE`, is one word where waivers and tests name it, and
    /// the rule keeps its line (the blank lines before it that formatting would drop are kept),
    /// so that what refers to it, in this file or another, still finds it.
    #[test]
    fn unnamed_rules_keep_their_ids() {
        let text = "\n\n# the first\nwarn when amount > 5\n\n\n\n# the second\nnote   when amount > 9\n\
                    waive z:4 for id == \"a\" until 2030-01-01 because \"r\"\n\
                    test \"t\" { given { amount: 6 } expect warn z:4, note   z:9 }\n";
        let formatted = format_file("z.policy", text).unwrap_or_else(|_| panic!("not formatted"));
        assert_eq!(
            formatted,
            "\n\n# the first\nwarn when amount > 5\n\n\n\n# the second\nnote when amount > 9\n\
             waive z:4 for id == \"a\" until 2030-01-01 because \"r\"\n\
             test \"t\" { given { amount: 6 } expect warn z:4, note z:9 }\n"
        );
        assert_eq!(
            format_file("z.policy", &formatted).ok(),
            Some(formatted.clone())
        );
        // A rule that formatting would move down cannot keep its line: the file is left alone.
        assert_eq!(keep_unnamed_rule_lines("a\nb\nc\n", &[3], &[2]), Err(0));
        assert_eq!(
            keep_unnamed_rule_lines("a\n# c\nrule\n", &[3], &[5]).as_deref(),
            Ok("a\n\n\n# c\nrule\n")
        );
    }

    /// Lines end as the rule ids count them: a lone CR and CRLF end one too, so a file written
    /// with them keeps its unnamed rules on their lines (and ids) when formatted with LFs.
    #[test]
    fn unnamed_rules_keep_their_ids_whatever_ends_their_lines() {
        for end in ["\r", "\r\n"] {
            let text = format!("deny vendor A{end}{end}warn   vendor B{end}");
            assert_eq!(
                format_file("x.policy", &text).ok().as_deref(),
                Some("deny vendor A\n\nwarn vendor B\n"),
                "{text:?}"
            );
        }
    }

    /// A test's records written over lines ending in CRLF get LF line ends like the rest.
    #[test]
    fn given_records_get_lf_line_ends() {
        let text = "rule r {\r\n  deny when amount > 5\r\n}\r\ntest \"t\" {\r\n  given { amount: 6,\r\n          id: x }\r\n  expect deny r\r\n}\r\n";
        let formatted = format_file("x.policy", text).ok();
        assert_eq!(
            formatted.as_deref(),
            Some(
                "rule r {\n  deny when amount > 5\n}\ntest \"t\" {\n  given { amount: 6,\n          id: x }\n  expect deny r\n}\n"
            )
        );
    }

    #[test]
    fn a_policy_that_does_not_parse_is_not_formatted() {
        assert!(matches!(
            format_file("t.policy", "deny when amount >\n"),
            Err(NotFormatted::Invalid(_))
        ));
    }

    /// Cedar's test: a unique comment in every gap between tokens, and all of them survive, in
    /// order, through a formatting that keeps the meaning.
    #[test]
    fn a_comment_in_every_gap_survives() {
        for name in ["dod-uas", "telecom-889", "vendors"] {
            let path = format!("{}/policies/{name}.policy", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            let (gappy, gaps) = comment_every_gap(&text);
            let formatted = format_file(&path, &gappy).unwrap();
            assert_eq!(format(&formatted), formatted, "{name}: idempotent");
            assert!(keeps_every_gap_comment(&formatted, gaps), "{name}");
            assert!(
                !keeps_every_gap_comment(&formatted, gaps + 1),
                "{name}: the check can fail"
            );
            assert!(gaps > 20, "{name}: {gaps} gaps");
        }
    }

    /// Every shipped policy is in the one layout: `caveat fmt --check` passes on what ships.
    #[test]
    fn the_shipped_policies_are_formatted() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(&root).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                for inner in std::fs::read_dir(&path).unwrap() {
                    paths.push(inner.unwrap().path());
                }
            } else {
                paths.push(path);
            }
        }
        paths.retain(|p| p.extension().is_some_and(|e| e == "policy"));
        assert!(paths.len() >= 18, "{paths:?}");
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.display().to_string();
            assert_eq!(format_file(&name, &text).unwrap(), text, "{name}");
        }
    }

    /// A date-time literal is one token: its `:`s and offset take no spaces.
    #[test]
    fn date_times_are_kept_whole() {
        check(
            "rule e { note when x > 2018-01-01T10:00 and y<2020-07-14T17:00:00.5+02:00 }\n",
            "rule e { note when x > 2018-01-01T10:00 and y < 2020-07-14T17:00:00.5+02:00 }\n",
        );
        check(
            "let t = 2020-07-14T17:00:00Z - 3 days\n",
            "let t = 2020-07-14T17:00:00Z - 3 days\n",
        );
    }

    /// `where` and `having` start clauses as `when` does; a `where` a quantifier waits for
    /// continues its clause.
    #[test]
    fn where_and_having_are_clauses_unless_a_quantifier_waits_for_where() {
        check(
            "rule r {\nwarn per vendor\n    where amount > 1\n  and any b in bids\n  where b.x > 1\n      having count(group) > 1\nwhen x > 1\n}\n",
            "rule r {\n  warn per vendor\n  where amount > 1\n    and any b in bids\n    where b.x > 1\n  having count(group) > 1\n  when x > 1\n}\n",
        );
    }

    #[test]
    fn the_shipped_policies_format_to_the_same_meaning() {
        for name in ["dod-uas", "telecom-889", "vendors"] {
            let path = format!("{}/policies/{name}.policy", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            let once = format_file(&path, &text).unwrap();
            assert_eq!(format(&once), once, "{name}");
            let comments = |t: &str| t.matches('#').count();
            assert_eq!(
                comments(&once),
                comments(&text),
                "{name}: every comment kept"
            );
        }
    }

    #[test]
    fn continuation_lines_are_indented_alike_at_the_top_and_in_blocks() {
        let text = "deny vendor DJI\nwhen amount > 5\nand buyer == Army\n\
                    rule r {\ndeny vendor DJI\nafter 2018-05-23\nwhen amount > 5 and\nbuyer == Army\n\
                    unless exemption.kind == urgent\nmessage \"m\"\ntags [a,\nb]\n}\n\
                    test \"t\" {\n  given { vendor: DJI }\n  expect deny r,\ndeny x\n}\n";
        insta::assert_snapshot!(format(text));
    }
}
