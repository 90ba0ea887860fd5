//! Hostile policies: deep nesting must give an error or a correct result, never a stack overflow.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use caveat::check::check_sources;
use caveat::source::SourceFile;

/// The codes of the diagnostics for a policy, or an empty list if it checks.
fn codes(text: &str) -> Vec<String> {
    match check_sources(&[SourceFile::new("hostile.policy", text)]) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| e.code.to_string()).collect(),
    }
}

#[test]
fn a_hundred_thousand_parentheses_are_refused() {
    let n = 100_000;
    let text = format!("deny when {}amount > 1{}\n", "(".repeat(n), ")".repeat(n));
    assert_eq!(codes(&text), ["caveat::parse::too_deep"]);
}

#[test]
fn a_hundred_thousand_nots_are_refused() {
    let text = format!("deny when {}amount > 1\n", "not ".repeat(100_000));
    assert_eq!(codes(&text), ["caveat::parse::too_deep"]);
}

#[test]
fn a_hundred_thousand_unary_minuses_are_refused() {
    let text = format!("deny when amount > {}1\n", "-".repeat(100_000));
    assert_eq!(codes(&text), ["caveat::parse::too_deep"]);
}

#[test]
fn nested_lists_and_quantifiers_are_refused() {
    let lists = format!("let x = {}1{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(codes(&lists), ["caveat::parse::too_deep"]);
    let quantifiers = format!("deny when {}true\n", "any i in items where ".repeat(5_000));
    assert_eq!(codes(&quantifiers), ["caveat::parse::too_deep"]);
}

/// Quantifiers and `else if`s nest without brackets, so no bracket count refuses them before the
/// parser runs; the parser stops where its stack would run out, and that is reported as nesting
/// (it was "expected something else" before).
#[test]
fn a_hundred_thousand_unbracketed_quantifiers_or_else_ifs_are_too_deep() {
    let quantifiers = format!(
        "deny when {}true\n",
        "any i in items where ".repeat(100_000)
    );
    assert_eq!(codes(&quantifiers), ["caveat::parse::too_deep"]);
    let else_ifs = format!("let x = {}2\n", "if a then 1 else ".repeat(100_000));
    assert_eq!(codes(&else_ifs), ["caveat::parse::too_deep"]);
    let in_a_message = format!(
        "rule r {{ deny when a message \"{{{}2}}\" }}\n",
        "if a then 1 else ".repeat(100_000)
    );
    assert_eq!(codes(&in_a_message), ["caveat::parse::too_deep"]);
}

#[test]
fn brackets_nested_to_the_limit_parse_without_backtracking_at_each_level() {
    // A list and a comprehension both open with `[`: the first expression after it is parsed
    // once, not once for each, or 63 levels would take 2^63 parses (the fuzzer found a policy
    // with 28 unclosed brackets that took minutes).
    let n = caveat::MAX_NESTING - 1;
    let closed = format!("deny when x == {}1{}\n", "[".repeat(n), "]".repeat(n));
    assert_eq!(codes(&closed), Vec::<String>::new());
    let unclosed = format!(
        "deny when any i in items{}x where i.v == 1\n",
        "[".repeat(n)
    );
    assert_eq!(codes(&unclosed), ["caveat::parse::syntax"]);
    let comprehension = (0..n - 2).fold("v".to_string(), |body, level| {
        format!("[{body} for v in items{level}]")
    });
    let comprehensions = format!("deny when count({comprehension}) > 0\n");
    assert_eq!(codes(&comprehensions), Vec::<String>::new());
}

#[test]
fn unclosed_flow_brackets_in_a_test_block_are_read_without_backtracking_at_each_level() {
    // Read as a plain character after failing to close, each `{` or `[` of a test's data was
    // tried both ways: 2^n tries for n of them.
    let n = caveat::MAX_NESTING - 2;
    let text = format!(
        "rule a {{ deny when x == 1 }}\ntest \"t\" {{\n  given {}\n  expect pass\n}}\n",
        "{[".repeat(n / 2)
    );
    // The data reader says what is wrong with the data, when the test runs.
    assert_eq!(codes(&text), Vec::<String>::new());
}

#[test]
fn a_hundred_thousand_member_and_index_accessors_are_refused() {
    let members = format!("deny when exemption{} == 1\n", ".kind".repeat(100_000));
    assert_eq!(codes(&members), ["caveat::parse::too_deep"]);
    let indexes = format!("deny when items{} == 1\n", "[0]".repeat(100_000));
    assert_eq!(codes(&indexes), ["caveat::parse::too_deep"]);
    let short = format!("deny when items{}.kind == 1\n", "[0]".repeat(10));
    assert_eq!(codes(&short), Vec::<String>::new());
}

#[test]
fn nesting_up_to_the_limit_is_fine() {
    let n = caveat::MAX_NESTING - 1;
    let text = format!("deny when {}amount > 1{}\n", "(".repeat(n), ")".repeat(n));
    assert_eq!(codes(&text), Vec::<String>::new());
    let text = format!("deny when {}amount > 1\n", "not ".repeat(n));
    assert_eq!(codes(&text), Vec::<String>::new());
}

#[test]
fn long_flat_chains_are_correct() {
    // 100,000 `and`s are one flat list, not a deep tree.
    let text = format!(
        "deny when amount > 1{}\n",
        " and amount > 1".repeat(100_000)
    );
    assert_eq!(codes(&text), Vec::<String>::new());
    let sum = format!("deny when amount > 1{}\n", " + 1".repeat(100_000));
    assert_eq!(codes(&sum), Vec::<String>::new());
}

#[test]
fn a_megabyte_line_and_odd_bytes_are_diagnosed() {
    let long = format!("deny when vendor == \"{}\"\n", "x".repeat(1 << 20));
    assert_eq!(codes(&long), Vec::<String>::new());
    assert!(!codes("deny when vendor == \"x\0\" \0").is_empty());
    assert_eq!(
        codes("\u{feff}deny vendor DJI\r\nwarn vendor Autel\r"),
        Vec::<String>::new()
    );
}

/// LANGUAGE.md §2: the reserved words, verbatim.
const RESERVED: &str = "deny warn note require rule when unless after before between and or not in \
    where let alias import test given expect pass record waive for until because by message cite \
    tags true false exists is missing matches contains starts ends with any all";

#[test]
fn every_reserved_word_is_refused_as_a_bare_name_and_allowed_after_a_dot() {
    for word in RESERVED.split_whitespace() {
        assert!(
            !codes(&format!("let {word} = 1\n")).is_empty(),
            "`{word}` is reserved"
        );
        assert_eq!(
            codes(&format!("let {word}x = 1\n")),
            Vec::<String>::new(),
            "`{word}x` is a name"
        );
        assert_eq!(
            codes(&format!("let x{word} = 1\n")),
            Vec::<String>::new(),
            "`x{word}` is a name"
        );
        assert_eq!(
            codes(&format!(
                "note when record.{word} == 1 and a.{word}.b exists\n"
            )),
            Vec::<String>::new(),
            "`{word}` is a name after a dot"
        );
    }
}

#[test]
fn bidi_controls_are_refused_but_their_escapes_are_fine() {
    assert_eq!(
        codes("# note \u{2066}hidden\u{2069}\ndeny vendor DJI\n"),
        ["caveat::parse::bidi_control", "caveat::parse::bidi_control"]
    );
    assert_eq!(
        codes("deny when vendor == \"a\\u{202E}b\"\n"),
        Vec::<String>::new()
    );
}
