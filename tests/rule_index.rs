//! The rule index gives exactly the findings of the plain scan, on generated rules and records.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

use caveat::check::check_sources;
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
    let body = match rng.next() % 10 {
        0 => format!("deny vendor {v}"),
        1 => format!("warn vendor in [{v}, {w}]"),
        2 => format!("note vendor {v} when amount > {x}"),
        3 => "deny vendor in uas".to_string(),
        4 => format!("warn when buyer.branch == {b} and amount > {x}"),
        5 => format!("note vendor not in [{v}]"),
        6 => format!("warn when amount > {x}"),
        7 => format!("note vendor {v} after 2018-06-01"),
        8 => format!("deny when vendor == {v} or amount < {x}"),
        _ => format!("require vendor != {v} when buyer.branch in [Army, {b}]"),
    };
    format!("rule r{i} {{ {body} }}\n")
}

fn record(rng: &mut Rng, i: usize) -> String {
    let mut fields = vec![format!("id: x{i}")];
    if !rng.next().is_multiple_of(6) {
        fields.push(format!("vendor: {}", rng.pick(VALUES)));
    }
    match rng.next() % 4 {
        0 => {}
        1 => fields.push("amount: lots".into()),
        _ => fields.push(format!("amount: {}", rng.next() % 2500)),
    }
    if !rng.next().is_multiple_of(3) {
        fields.push(format!("buyer: {{branch: {}}}", rng.pick(BRANCHES)));
    }
    fields.push(format!("date: 2018-0{}-15", 1 + rng.next() % 9));
    format!("- {{{}}}\n", fields.join(", "))
}

#[test]
fn the_index_agrees_with_the_plain_scan() {
    let mut rng = Rng(7);
    let mut compared = 0;
    for case in 0..40 {
        let mut policy = String::from(
            "alias DJI = [\"SZ DJI Technology Co., Ltd.\", \"Da-Jiang Innovations\"]\nlet uas = [DJI, Autel]\n",
        );
        for i in 0..30 {
            policy.push_str(&rule(&mut rng, i));
        }
        let program = check_sources(&[SourceFile::new(
            format!("case{case}.policy"),
            policy.clone(),
        )])
        .unwrap_or_else(|e| panic!("{policy}\n{e:#?}"));
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
