//! The rule index and the quick tests give exactly the findings of the plain scan (the general
//! evaluation of every rule), on generated rules and records.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

use caveat::check::check_sources_linted;
use caveat::data::{Format, LoadOptions, read_records};
use caveat::eval::{Evaluator, evaluate_all};
use caveat::source::SourceFile;

/// SplitMix64, so that every run tests the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const SYMBOLS: &[&str] = &[
    "DJI",
    "Autel",
    "Parrot",
    "Skydio",
    "\"SZ DJI Technology Co., Ltd.\"",
    "\"2018-01-01\"",
    "\"5\"",
];
const VALUES: &[&str] = &[
    "DJI",
    "dji",
    "Autel",
    "Parrot",
    "Skydio",
    "\"SZ DJI Technology Co Ltd\"",
    "Da-Jiang Innovations",
    "\"2018-01-01\"",
    "\"2018-01-01 00:00:00\"",
    "5",
    "\"5\"",
    "true",
    "null",
    "[DJI, Autel]",
    "{name: DJI}",
    "PRI/DJI",
];
const BRANCHES: &[&str] = &["Army", "Navy", "\"Air Force\"", "5", "[Army]"];

fn rule(rng: &mut Rng, i: usize) -> String {
    let v = rng.pick(SYMBOLS);
    let w = rng.pick(SYMBOLS);
    let b = rng.pick(BRANCHES);
    let x = rng.next() % 2000;
    let m = 1 + rng.next() % 9;
    let q = rng.next() % 40;
    let body = match rng.next() % 36 {
        0 => format!("deny vendor {v}"),
        1 => format!("warn vendor in [{v}, {w}]"),
        2 => format!("note vendor {v} when amount > {x}"),
        3 => "deny vendor in uas".to_string(),
        4 => format!("warn when buyer.branch == {b} and amount > {x}"),
        5 => format!("note vendor not in [{v}]"),
        6 => format!("warn when amount > {x}"),
        7 => format!("note vendor {v} after 2018-06-01"),
        8 => format!("deny when vendor == {v} or amount < {x}"),
        9 => format!("warn when amount >= {x}"),
        10 => format!("note when {x} < amount and vendor == {v}"),
        11 => format!("deny when amount <= {x}.5"),
        12 => format!("note after 2018-0{m}-01"),
        13 => format!("warn before 2018-0{m}-15"),
        14 => format!("note between 2018-03-01 and 2018-0{m}-28 when amount > {x}"),
        15 => "deny when exemption exists".to_string(),
        16 => format!("warn when date >= 2018-0{m}-15"),
        17 => format!("note when 2018-0{m}-15 > date"),
        18 => format!("note when (amount > {x} and vendor == {v}) and buyer.branch == {b}"),
        19 => format!("warn when exemption exists and amount > {x} unless vendor == {w}"),
        // A second pattern (each evaluator searches with its own copy of each regex), and a
        // message of the rule's own beside the generated ones.
        20 => "warn when vendor matches '(?i)^[a-d].*'".to_string(),
        21 => format!("note when amount > {x}\n  message \"{{vendor}} spent {{amount}}\""),
        // Shapes the quick tests decide: arithmetic, `not`, `or`, `matches`, `is missing`.
        22 => format!("warn when quantity > 0 and amount / quantity > {q}"),
        23 => format!("note when amount - {x} * quantity >= 0"),
        24 => format!("deny when not (amount > {x}) and vendor != {v}"),
        25 => format!("warn when buyer.branch is missing or amount < {x}"),
        26 => "note when vendor matches '^[A-Z][a-z]+$'".to_string(),
        27 => format!("deny when exemption.kind == urgent and {x} / quantity < 100"),
        28 => format!("warn vendor in uas unless exemption.kind == urgent or amount > {x}"),
        29 => format!("require exemption.kind exists when amount > {x}"),
        30 => format!("note when not (buyer.branch == {b} or exemption is missing)"),
        31 => format!("warn when date > 2018-0{m}-01 and quantity * 2 > {q}"),
        32 => format!("deny when amount / quantity == {q}"),
        // A null top-level field is the deciding value of these when they fire.
        33 => "note when exemption is missing".to_string(),
        34 => format!("warn when not (quantity > {q}) and amount exists"),
        _ => format!("require vendor != {v} when buyer.branch in [Army, {b}]"),
    };
    format!("rule r{i} {{ {body} }}\n")
}

fn record(rng: &mut Rng, i: usize) -> String {
    let mut fields = vec![format!("id: x{i}")];
    if !rng.next().is_multiple_of(6) {
        fields.push(format!("vendor: {}", rng.pick(VALUES)));
    }
    match rng.next() % 9 {
        0 => {}
        1 => fields.push("amount: lots".into()),
        2 => fields.push(format!("amount: \"{}\"", rng.next() % 2500)),
        3 => fields.push("amount: 2018-01-01".into()),
        4 => fields.push("amount: [5, 1500]".into()),
        5 => fields.push(format!("amount: {}.5", rng.next() % 2500)),
        _ => fields.push(format!("amount: {}", rng.next() % 2500)),
    }
    match rng.next() % 8 {
        0 => {}
        1 => fields.push("quantity: 0".into()),
        2 => fields.push("quantity: lots".into()),
        3 => fields.push(format!("quantity: \"{}\"", rng.next() % 30)),
        4 => fields.push("quantity: [1, 2]".into()),
        5 => fields.push("quantity: null".into()),
        _ => fields.push(format!("quantity: {}", rng.next() % 30)),
    }
    match rng.next() % 6 {
        0 => fields.push("exemption: {kind: urgent}".into()),
        2 => fields.push("exemption: {kind: [urgent]}".into()),
        1 => fields.push("exemption: null".into()),
        _ => {}
    }
    if !rng.next().is_multiple_of(3) {
        fields.push(format!("buyer: {{branch: {}}}", rng.pick(BRANCHES)));
    }
    match rng.next() % 8 {
        0 => {}
        1 => fields.push("date: soon".into()),
        2 => fields.push("date: 20180601".into()),
        3 => fields.push("date: \"2018-06-01 10:00:00\"".into()),
        _ => fields.push(format!(
            "date: 2018-0{}-{}",
            1 + rng.next() % 9,
            10 + rng.next() % 20
        )),
    }
    format!("- {{{}}}\n", fields.join(", "))
}

#[test]
fn the_index_and_the_quick_tests_agree_with_the_plain_scan() {
    let mut rng = Rng(7);
    let mut compared = 0;
    for case in 0..40 {
        let mut policy = String::from(
            "alias DJI = [\"SZ DJI Technology Co., Ltd.\", \"Da-Jiang Innovations\"]\nlet uas = [DJI, Autel]\n",
        );
        for i in 0..30 {
            policy.push_str(&rule(&mut rng, i));
        }
        // Generated rules may contradict themselves (a lint error): the index must agree anyway.
        let program = check_sources_linted(&[SourceFile::new(
            format!("case{case}.policy"),
            policy.clone(),
        )])
        .unwrap_or_else(|e| panic!("{policy}\n{e:#?}"))
        .program;
        assert!(!program.index.paths.is_empty(), "some rules are indexed");
        let data: String = (0..100).map(|i| record(&mut rng, i)).collect();
        let source = SourceFile::new("records.yaml", data);
        let mut evaluator = Evaluator::new(&program);
        for record in read_records(&source, Format::Yaml, &LoadOptions::default()) {
            let record = record.unwrap();
            let (mut indexed, mut scanned) = (Vec::new(), Vec::new());
            evaluator.evaluate(&record, &mut indexed);
            evaluate_all(&program, &record, &mut scanned);
            assert_eq!(
                indexed,
                scanned,
                "{policy}\n{}",
                source.slice(record.root.span)
            );
            compared += scanned.len();
        }
    }
    assert!(
        compared > 1000,
        "the cases produce findings to compare ({compared})"
    );
}

/// A list meeting `in` a list of strings is a type mismatch named after one of the strings: the
/// same one in every run (a set's order of iteration changes with each program compiled).
#[test]
fn a_mismatch_with_a_list_of_strings_names_the_same_string_every_time() {
    let source = SourceFile::new("d.yaml", "- {id: r1, x: [1]}\n".to_string());
    let record = read_records(&source, Format::Yaml, &LoadOptions::default())
        .next()
        .unwrap()
        .unwrap();
    for _ in 0..16 {
        let program = check_sources_linted(&[SourceFile::new(
            "p.policy",
            "rule r { note when x in [b, c, a] }\n".to_string(),
        )])
        .unwrap()
        .program;
        let mut findings = Vec::new();
        evaluate_all(&program, &record, &mut findings);
        assert_eq!(
            findings.iter().map(|f| &*f.message).collect::<Vec<_>>(),
            ["cannot compare a list with \"a\" (a string)"]
        );
    }
}
