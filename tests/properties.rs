//! Property tests (proptest, bounded so that `cargo test` stays quick; raise PROPTEST_CASES for a
//! longer run): parsing never panics, evaluation never panics, formatting keeps the meaning and
//! is idempotent.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

use caveat::check::check_sources;
use caveat::data::{Format, LoadOptions, read_records};
use caveat::eval::{Evaluator, evaluate_all};
use caveat::format::format_file;
use caveat::source::SourceFile;
use proptest::prelude::*;

/// Pieces of the language, so that random text is often close to a policy.
const PIECES: &[&str] = &[
    "deny",
    "warn",
    "note",
    "require",
    "rule",
    "let",
    "alias",
    "import",
    "when",
    "unless",
    "vendor",
    "after",
    "before",
    "between",
    "and",
    "or",
    "not",
    "in",
    "exists",
    "is missing",
    "matches",
    "contains",
    "any",
    "all",
    "where",
    "amount",
    "date",
    "buyer.branch",
    "x",
    "DJI",
    "\"DJI\"",
    "'^A.*$'",
    "2018-05-23",
    "100",
    "$1_000.50",
    "-",
    "+",
    "*",
    "/",
    "==",
    "!=",
    "<",
    ">=",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    "=",
    "#c\n",
    "\n",
    " ",
    "count(",
    "message",
    "\"{vendor}\"",
    "cite",
    "tags",
];

fn policy_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|pieces| pieces.join(" "))
}

/// `key: value` pairs for a flow mapping, each key once (a duplicate is a data error).
fn entries(pairs: Vec<(&str, String)>) -> String {
    let mut seen = std::collections::HashSet::new();
    pairs
        .into_iter()
        .filter(|(k, _)| seen.insert(*k))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A YAML value of the shapes records have, nested a little.
fn yaml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("DJI".to_string()),
        Just("\"\"".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("2019-02-30".to_string()),
        Just("2018-11-14".to_string()),
        // Strings that read as a date or a number (as JSON gives them).
        Just("\"2018-11-14\"".to_string()),
        Just("\"100.5\"".to_string()),
        Just("\"-5\"".to_string()),
        Just(".nan".to_string()),
        Just("1e309".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[a-z ]{0,8}".prop_map(|s| format!("\"{s}\"")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(
                (
                    prop::sample::select(&["vendor", "amount", "date", "kind", "items"][..]),
                    inner
                ),
                0..4
            )
            .prop_map(|kv| format!("{{{}}}", entries(kv))),
        ]
    })
}

fn record() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(
                &[
                    "vendor",
                    "amount",
                    "date",
                    "quantity",
                    "buyer",
                    "exemption",
                    "items",
                ][..],
            ),
            yaml_value(),
        ),
        0..6,
    )
    .prop_map(|kv| format!("- {{{}}}\n", entries(kv)))
}

/// A record whose `items` are mostly mappings with the keys the quantifier tests read, some of
/// them mappings or lists of mappings again.
fn record_with_items() -> impl Strategy<Value = String> {
    let keyed = |inner: BoxedStrategy<String>| {
        prop::collection::vec(
            (
                prop::sample::select(&["amount", "date", "kind", "items"][..]),
                inner,
            ),
            0..4,
        )
        .prop_map(|kv| format!("{{{}}}", entries(kv)))
    };
    let nested = keyed(yaml_value().boxed());
    let value = prop_oneof![
        yaml_value(),
        nested.clone(),
        prop::collection::vec(nested, 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
    ];
    let item = prop_oneof![4 => keyed(value.boxed()), 1 => yaml_value()];
    prop::collection::vec(item, 0..4).prop_map(|v| format!("- {{items: [{}]}}\n", v.join(", ")))
}

const POLICY: &str = include_str!("../bench/rules/realistic-20.policy");

/// Valid statements, their tokens separated by single spaces where a gap may go.
const STATEMENTS: &[&str] = &[
    "alias DJI = [ \"SZ DJI\" , \"Da-Jiang\" ]",
    "let limit = 100 * 2",
    "let blue = [ Skydio , Parrot ]",
    "deny vendor DJI after 2018-05-23 unless exemption.kind == urgent",
    "rule big-buy { warn when amount > $225_000 and not ( quantity < 2 ) message \"big {amount}\" tags [ a , b-c ] }",
    "note when any i in items where i.price >= 5 - 1",
    "require buyer.unit exists when buyer exists",
    "warn vendor not in blue when product matches '^[A-Z]\\d+$'",
    "deny between 2019-09-15 and 2019-09-30 when count( items ) > 3 or amount / quantity > -2",
];

/// One to five statements with random whitespace and comments in their gaps.
fn valid_policy() -> impl Strategy<Value = String> {
    let gap = prop::sample::select(&[" ", "  ", "\n", " # note\n", "\t", "\n\n\n "][..]);
    prop::collection::vec(
        (
            prop::sample::select(STATEMENTS),
            prop::collection::vec(gap, 40),
        ),
        1..5,
    )
    .prop_map(|statements| {
        let mut text = String::new();
        for (statement, gaps) in statements {
            for (i, token) in statement.split(' ').enumerate() {
                if i > 0 {
                    text.push_str(gaps.get(i).copied().unwrap_or(" "));
                }
                text.push_str(token);
            }
            text.push('\n');
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsing_never_panics(text in policy_text()) {
        let _ = check_sources(&[SourceFile::new("p.policy", text)]);
    }

    #[test]
    fn parsing_arbitrary_strings_never_panics(text in "\\PC{0,200}") {
        let _ = check_sources(&[SourceFile::new("p.policy", text)]);
    }

    #[test]
    fn evaluation_never_panics_and_the_index_agrees(records in prop::collection::vec(record(), 1..8)) {
        let program = check_sources(&[SourceFile::new("p.policy", POLICY)]).unwrap();
        let source = SourceFile::new("r.yaml", records.concat());
        let mut evaluator = Evaluator::new(&program);
        for record in read_records(&source, Format::Yaml, &LoadOptions::default()).flatten() {
            let (mut indexed, mut scanned) = (Vec::new(), Vec::new());
            evaluator.evaluate(&record, &mut indexed);
            evaluate_all(&program, &record, &mut scanned);
            prop_assert_eq!(indexed, scanned);
        }
    }

    #[test]
    fn valid_policies_format_keeping_every_comment(text in valid_policy()) {
        let formatted = format_file("p.policy", &text);
        prop_assert!(formatted.is_ok(), "{:?}\n{}", formatted, text);
        let formatted = formatted.unwrap();
        // `caveat fmt` twice is `caveat fmt` once (the blank lines it keeps before an unnamed
        // rule, whose id is its line, included).
        prop_assert_eq!(format_file("p.policy", &formatted).ok(), Some(formatted.clone()));
        prop_assert_eq!(text.matches("# note").count(), formatted.matches("# note").count());
    }

    #[test]
    fn formatting_keeps_the_meaning_and_is_idempotent(text in policy_text()) {
        // Only text that parses can be formatted; format_file checks the meaning itself.
        if let Ok(formatted) = format_file("p.policy", &text) {
            // As above: `caveat fmt` twice is `caveat fmt` once.
            prop_assert_eq!(format_file("p.policy", &formatted).ok(), Some(formatted.clone()));
            prop_assert_eq!(
                text.matches('#').count(),
                formatted.matches('#').count(),
                "every comment kept"
            );
        }
    }
}

/// Fields and constants for comparisons: each rule `FIELD OP CONSTANT` has a mirror
/// `CONSTANT OP' (FIELD)` (parenthesised, so that a bare name on the right of `==` is a field,
/// not a symbol), which the evaluator decides by its general path only.
const COMPARED_FIELDS: &[&str] = &[
    "items[0].amount",
    "items[-1].kind",
    "amount",
    "date",
    "vendor",
    "quantity",
    "buyer.kind",
    "buyer.amount",
];
/// Each constant as the right side writes it, and as the left side must (a bare name on the
/// left is a field, on the right of `==` a symbol).
const CONSTANTS: &[(&str, &str)] = &[
    ("0", "0"),
    ("-5", "-5"),
    ("100", "100"),
    ("2018-11-14", "2018-11-14"),
    ("2019-01-01", "2019-01-01"),
    ("\"DJI\"", "\"DJI\""),
    ("DJI", "\"DJI\""),
    ("\"abc\"", "\"abc\""),
    ("\"2018-11-14\"", "\"2018-11-14\""),
    ("true", "true"),
    ("\"\"", "\"\""),
];
const ORDERS: &[(&str, &str)] = &[
    ("<", ">"),
    ("<=", ">="),
    (">", "<"),
    (">=", "<="),
    ("==", "=="),
    ("!=", "!="),
];

/// Each comparison and its mirror, for those that compile, and a policy of them as rules
/// `d-I` and `m-I` (worked out once).
fn mirrored_rules() -> &'static (Vec<(String, String)>, String) {
    static RULES: std::sync::OnceLock<(Vec<(String, String)>, String)> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        let pairs = comparisons_and_mirrors();
        let mut text = String::new();
        for (i, (direct, mirrored)) in pairs.iter().enumerate() {
            text.push_str(&format!(
                "rule d-{i} {{ {direct} }}\nrule m-{i} {{ {mirrored} }}\n"
            ));
        }
        (pairs, text)
    })
}

/// Paths from a quantifier's variable over `items`, compared inside `any i in items where (…)`:
/// keys, and keys over a list (which project). (A position is compared from the root, above: on
/// a variable that holds a list, `i.items[0]` projects the position while reading step by step
/// indexes the projection.)
const VARIABLE_FIELDS: &[&str] = &[
    "i.amount",
    "i.date",
    "i.kind",
    "i.items.kind",
    "i.items.amount",
];

fn comparisons_and_mirrors() -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let fields = COMPARED_FIELDS.iter().map(|f| (*f, "")).chain(
        VARIABLE_FIELDS
            .iter()
            .map(|f| (*f, "any i in items where ")),
    );
    for (field, quantifier) in fields {
        // The field as only the general path reads it: a top-level field in brackets, a
        // variable's path from the value of an `if`.
        let read = match field.strip_prefix("i.") {
            Some(rest) => format!("(if true then i else i).{rest}"),
            None => format!("({field})"),
        };
        // A test inside the quantifier's body, or the condition itself.
        let wrap = |test: String| {
            if quantifier.is_empty() {
                test
            } else {
                format!("{quantifier}({test})")
            }
        };
        for (right, left) in CONSTANTS {
            for (op, mirror) in ORDERS {
                if *right == "DJI" && !matches!(*op, "==" | "!=") {
                    continue; // a bare name on the right of `<` is a field
                }
                let direct = format!("note when {}", wrap(format!("{field} {op} {right}")));
                let mirrored = format!("note when {}", wrap(format!("{left} {mirror} {read}")));
                let compiles =
                    |text: &str| check_sources(&[SourceFile::new("p.policy", text)]).is_ok();
                if compiles(&direct) && compiles(&mirrored) {
                    pairs.push((direct, mirrored));
                }
            }
        }
        // Presence and membership, against the same test of the field read through `if`, which
        // only the general path evaluates.
        let general = match field.strip_prefix("i.") {
            Some(_) => read.clone(),
            None => format!("(if true then {field} else {field})"),
        };
        for test in [
            "exists",
            "is missing",
            "in [\"DJI\", \"abc\", \"2018-11-14\"]",
            "not in [DJI, abc]",
            "in [\"DJI\", 5, 2018-11-14, true]",
            "not in [\"abc\", 100]",
        ] {
            let direct = format!("note when {}", wrap(format!("{field} {test}")));
            let mirrored = format!("note when {}", wrap(format!("{general} {test}")));
            let compiles = |text: &str| check_sources(&[SourceFile::new("p.policy", text)]).is_ok();
            if compiles(&direct) && compiles(&mirrored) {
                pairs.push((direct, mirrored));
            }
        }
    }
    pairs
}
proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The evaluator's quick paths for `FIELD OP CONSTANT`, `FIELD exists`, `FIELD is missing`
    /// and `FIELD in LIST`, on fields of the record and on paths from a quantifier's variable,
    /// decide as the general path decides the mirrored comparison or the same test of the field
    /// read through `if`: the same outcome at the same place, or both an error.
    #[test]
    fn a_comparison_decides_as_its_mirror(
        records in prop::collection::vec(prop_oneof![record(), record_with_items()], 1..8)
    ) {
        let (pairs, text) = mirrored_rules();
        prop_assert!(pairs.len() > 600, "{} comparisons compile", pairs.len());
        let program = check_sources(&[SourceFile::new("p.policy", text.as_str())]).unwrap();
        let source = SourceFile::new("r.yaml", records.concat());
        let mut evaluator = Evaluator::new(&program);
        for record in read_records(&source, Format::Yaml, &LoadOptions::default()).flatten() {
            let mut findings = Vec::new();
            evaluator.evaluate(&record, &mut findings);
            // Rule 2i is the direct comparison, 2i + 1 its mirror.
            let mut decided = vec![None; program.rules.len()];
            for f in &findings {
                decided[f.rule] = Some((f.outcome, (f.outcome != caveat::eval::Outcome::Error).then_some(f.span)));
            }
            for (i, pair) in decided.chunks(2).enumerate() {
                prop_assert_eq!(&pair[0], &pair[1], "{:?} on {}", pairs[i], record.source.text());
            }
        }
    }
}
