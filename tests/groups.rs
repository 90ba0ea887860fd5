//! Rules across records give the same findings whatever the number of jobs and the size of the
//! chunks a file is cut into, and the same as a naive evaluation that loads every record first.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::PathBuf;

use caveat::data::{Format, LoadOptions, read_records};
use caveat::eval::across::{AcrossFinding, GroupNote};
use caveat::eval::{evaluate_across, record_name};
use proptest::prelude::*;

mod common;

const POLICY: &str = r#"
alias DJI = ["Da-Jiang Innovations", "Dajiang"]
rule split {
  warn per vendor, buyer.unit, week(date)
  where amount <= 10000
  when count(group) >= 2 and sum(group.amount) > 10000
  message "{count(group)} from {vendor}: {sum(group.amount)}"
}
rule many-units {
  let units = distinct(group.buyer.unit)
  note per vendor having count(group) >= 2 when count(units) >= 2
  message "{vendor} sold to {count(units)} units"
}
rule outlier {
  let a = amount
  warn where amount exists when a > upper_fence(all.a)
}
rule tenderers {
  let entered = count(group)
  note per bidders as bidder when entered >= quantile(all.entered, 0.5)
  message "{bidder} in {entered}"
}
rule deviation {
  let total = sum(group.amount)
  let dev = total - median(all.total)
  note per vendor when dev >= quantile(all.dev, 0.75)
  message "{vendor} {dev}"
}
rule shares {
  let each share = amount / 1000
  let top = max(group.share)
  note per bidders as bidder where share > 1
  when top >= quantile(all.share, 0.5) and any r in group where r.share > 5
  message "{bidder}: top {top} of {group.share}, {count(all.share)} counted"
}
"#;

/// Records from generated numbers: vendor, unit, day, amount, bidders.
fn records_yaml(rows: &[(usize, usize, usize, u32, usize)]) -> String {
    let vendors = ["DJI", "Dajiang", "Parrot", "Acme"];
    let units = ["1st SOW", "2nd SOW", "3rd ID"];
    let mut out = String::new();
    for (i, (v, u, day, amount, bidders)) in rows.iter().enumerate() {
        let bidders: Vec<&str> = ["A", "B", "C", "D"]
            .iter()
            .take(*bidders)
            .copied()
            .collect();
        out.push_str(&format!(
            "- id: R{i}\n  vendor: {}\n  buyer: {{unit: {}}}\n  date: 2018-11-{:02}\n  amount: {amount}\n  bidders: [{}]\n",
            vendors[*v],
            units[*u],
            day + 1,
            bidders.join(", ")
        ));
    }
    out
}

/// Three purchases: two from DJI (one spelt `Dajiang`) by the 1st SOW in week 46 totalling
/// 11,000, and one by the 2nd SOW.
const SPLIT: [(usize, usize, usize, u32, usize); 3] = [
    (0, 0, 11, 6000, 0),
    (1, 0, 12, 5000, 0),
    (0, 1, 12, 5000, 0),
];

/// A finding across records as text: rule, name, effect, message and the group's records.
fn shown(rule: &str, name: &str, effect: &str, message: &str, group: Option<&GroupNote>) -> String {
    let members = group.map(|g| {
        g.records
            .iter()
            .map(|m| m.record.to_string())
            .collect::<Vec<_>>()
    });
    format!("{rule} {name} {effect} {message} {members:?}")
}

fn pipeline(paths: &[PathBuf], jobs: usize, chunk_bytes: usize) -> Vec<String> {
    let (findings, _) = common::run_check(paths, jobs, chunk_bytes);
    findings
        .iter()
        .filter(|f| f.across)
        .map(|f| {
            shown(
                &f.rule_id,
                &f.record,
                f.outcome.name(),
                &f.message,
                f.group.as_deref(),
            )
        })
        .collect()
}

/// The findings across records of `policy` on `data`, all records loaded first: each with its
/// rule's id.
fn across(policy: &str, data: &str) -> Vec<(String, AcrossFinding)> {
    let program = caveat::check_sources(&[caveat::SourceFile::new("p.policy", policy)]).unwrap();
    let source = caveat::SourceFile::new("d.yaml", data);
    let records: Vec<caveat::Record> = read_records(&source, Format::Yaml, &LoadOptions::default())
        .map(Result::unwrap)
        .collect();
    let id = [caveat::compile::Segment::Key("id".into())];
    let names: Vec<String> = records.iter().map(|r| record_name(r, &id)).collect();
    let named: Vec<(&caveat::Record, &str)> = records
        .iter()
        .zip(&names)
        .map(|(r, n)| (r, n.as_str()))
        .collect();
    evaluate_across(&program, &named)
        .into_iter()
        .map(|f| (program.rules[f.finding.rule].id.to_string(), f))
        .collect()
}

fn naive(policy: &str, data: &str) -> Vec<String> {
    across(policy, data)
        .iter()
        .map(|(rule, f)| {
            shown(
                rule,
                &f.name,
                f.finding.outcome.name(),
                &f.finding.message,
                f.group.as_deref(),
            )
        })
        .collect()
}

/// A scratch folder `name` with the test policy as `p.policy` and `rows` as `d.yaml`.
fn project(name: &str, rows: &[(usize, usize, usize, u32, usize)]) -> PathBuf {
    common::scratch(
        name,
        &[("p.policy", POLICY), ("d.yaml", &records_yaml(rows))],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn group_rules_do_not_depend_on_jobs_or_chunks(
        rows in prop::collection::vec((0..4usize, 0..3usize, 0..20usize, 1..12_000u32, 0..5usize), 1..120)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("p.policy");
        let data = dir.path().join("d.yaml");
        let yaml = records_yaml(&rows);
        std::fs::write(&policy, POLICY).unwrap();
        std::fs::write(&data, &yaml).unwrap();
        let paths = vec![policy, data];
        let one = pipeline(&paths, 1, 0);
        let two = pipeline(&paths, 2, 300);
        let expected = naive(POLICY, &yaml);
        prop_assert_eq!(&one, &two);
        prop_assert_eq!(&one, &expected);
    }
}

#[test]
fn a_split_purchase_group_lists_its_records() {
    let found = naive(POLICY, &records_yaml(&SPLIT));
    assert!(
        found.iter().any(|f| f.starts_with(
            "split DJI / 1st SOW / 2018-W46 warn 2 from DJI: 11000 Some([\"R0\", \"R1\"])"
        )),
        "{found:#?}"
    );
}

#[test]
fn explain_shows_a_groups_keys_size_and_clauses() {
    let dir = project("groups-explain", &SPLIT);
    let out = common::caveat_in(
        &dir,
        &[
            "explain",
            "split",
            "DJI / 1st SOW / 2018-W46",
            "p.policy",
            "d.yaml",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text,
        "rule `split` warns about the group `DJI / 1st SOW / 2018-W46`:\n  \
         ✓ when count(group) >= 2 and sum(group.amount) > 10000   vendor = DJI, buyer.unit = 1st SOW, week(date) = 2018-W46, count(group) = 2, sum(group.amount) = 11000\n"
    );
    let missing = common::caveat_in(
        &dir,
        &[
            "explain",
            "split",
            "DJI / 1st SOW / 2018-W47",
            "p.policy",
            "d.yaml",
        ],
    );
    assert_eq!(missing.status.code(), Some(2));
    let checked = common::caveat_in(
        &dir,
        &[
            "check",
            "--explain",
            "--format",
            "jsonl",
            "p.policy",
            "d.yaml",
        ],
    );
    let jsonl = String::from_utf8_lossy(&checked.stdout);
    let group_line = jsonl
        .lines()
        .find(|l| l.contains("\"record\":\"DJI / 1st SOW / 2018-W46\""))
        .unwrap_or_default();
    assert!(
        group_line.contains("\"explanation\":[{\"clause\":\"when count(group) >= 2"),
        "{jsonl}"
    );
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("did you mean `DJI / 1st SOW / 2018-W46`?")
    );
}

#[test]
fn explain_shows_the_values_a_clause_computes_from_the_run() {
    let dir = common::scratch(
        "explain-all",
        &[
            (
                "p.policy",
                "rule outlier {\n  let a = amount\n  warn when a > max(all.a) / 2\n}\n",
            ),
            (
                "d.yaml",
                "- {id: A1, amount: 10}\n- {id: A2, amount: 12}\n- {id: A3, amount: 30}\n",
            ),
        ],
    );
    let out = common::caveat_in(&dir, &["explain", "outlier", "A2", "p.policy", "d.yaml"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "rule `outlier` does not fire on A2 (d.yaml:2:3):\n  \
         ✗ when a > max(all.a) / 2   a = 12, max(all.a) = 30\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn diff_shows_the_group_findings_a_policy_change_adds() {
    let dir = project("groups-diff", &SPLIT);
    let base = POLICY.replace("sum(group.amount) > 10000", "sum(group.amount) > 20000");
    std::fs::write(dir.join("base.policy"), base).unwrap();
    let out = common::diff_in(
        &dir,
        "base.policy",
        "p.policy",
        &["d.yaml", "--format", "json"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("DJI / 1st SOW / 2018-W46"), "{text}");
    // Only the split rule changed: the other group findings are alike on both sides.
    assert!(
        !text.contains("many-units") && !text.contains("tenderers"),
        "{text}"
    );
}

/// Every group whose finding changes is listed, each against its own base finding, and counted
/// as a group, not as a record.
#[test]
fn diff_compares_each_group_with_its_own_base_finding() {
    let dir = common::scratch(
        "groups-diff-each",
        &[
            (
                "base.policy",
                "rule tot { warn per vendor when count(group) >= 2 message \"{vendor} has {count(group)}\" }\n",
            ),
            (
                "head.policy",
                "rule tot { deny per vendor when count(group) >= 3 message \"{vendor} has {count(group)} orders\" }\n",
            ),
            (
                "d.yaml",
                "- {id: a, vendor: X}\n- {id: b, vendor: X}\n- {id: c, vendor: Y}\n- {id: d, vendor: Y}\n- {id: e, vendor: X}\n",
            ),
        ],
    );
    let out = common::diff_in(&dir, "base.policy", "head.policy", &["d.yaml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn a_waiver_names_a_group_by_its_id_or_chooses_groups_by_their_keys() {
    let policy = format!(
        "{POLICY}\nwaive split for id == \"DJI / 1st SOW / 2018-W46\" until 2027-01-31 because \"one order\"\n\
         waive many-units for vendor == Parrot and count(group) < 100 until 2027-01-31 because \"known\"\n"
    );
    let rows = [
        (0, 0, 11, 6000, 0),
        (1, 0, 12, 5000, 0),
        (2, 0, 12, 5000, 0),
        (2, 1, 13, 5000, 0),
    ];
    let found: Vec<String> = across(&policy, &records_yaml(&rows))
        .iter()
        .map(|(rule, f)| format!("{rule} {} {}", f.name, f.finding.outcome.name()))
        .collect();
    assert!(
        found.contains(&"split DJI / 1st SOW / 2018-W46 waived".to_string()),
        "{found:#?}"
    );
    assert!(
        found.contains(&"many-units Parrot waived".to_string()),
        "{found:#?}"
    );
}

/// Comprehensions and quantifiers over `group` that read only the member and the keys are
/// computed per member as records are read; a rule-local let in them makes them evaluated on
/// the group instead. Both give the same findings, errors included.
#[test]
fn values_per_member_are_those_of_the_group() {
    let data = "- {id: a1, vendor: A, amount: 50, bids: [{status: valid, by: [X]}, {status: lost, by: [Y]}]}\n\
                - {id: a2, vendor: A, amount: 150, bids: [{status: valid, by: [X, Y]}], note: {text: hi}}\n\
                - {id: b1, vendor: B, amount: 500, bids: []}\n\
                - {id: b2, vendor: B, amount: 700}\n\
                - {id: c1, vendor: C, amount: 5, bids: [{status: valid, by: [Z]}]}\n\
                - {id: c2, vendor: C, amount: seven}\n";
    let rule = |limit: &str| {
        format!(
            "rule r {{\n  let limit = 100\n  let big = count([r for r in group where r.amount > {limit}])\n  \
             let valid_bids = sum([count([b for b in r.bids where b.status == valid and vendor != Q]) for r in group])\n  \
             let notes = [r.note for r in group where {limit} > 0]\n  \
             let bidders = distinct(flatten([r.bids.by for r in group where {limit} > 0]))\n  \
             warn per vendor\n  when big > 0 or any r in group where r.amount > {limit} * 5\n  \
             message \"{{vendor}}: {{big}} big, {{valid_bids}} valid bids by {{bidders}}, notes {{notes}}\"\n}}\n"
        )
    };
    let hoisted = naive(&rule("100"), data);
    let on_groups = naive(&rule("limit"), data);
    assert_eq!(hoisted, on_groups);
    // A and B fire; C's `seven` is not a number: an error finding.
    assert_eq!(hoisted.len(), 3, "{hoisted:#?}");
    assert!(
        hoisted[0].contains("A: 1 big, 2 valid bids by [X, Y], notes [{text: hi}]"),
        "{}",
        hoisted[0]
    );
    assert!(hoisted[2].contains("error"), "{}", hoisted[2]);
}

/// `let each` is computed per record before grouping: `where` and the keys read it by name, the
/// group reads it as `group.NAME` and `r.NAME`, and `all.NAME` counts each record once (in the
/// first group it joins), whatever `having` decides.
#[test]
fn a_let_each_is_a_value_per_record() {
    let policy = "rule r {\n  let each half = amount / 2\n  \
                  note per bidders as bidder where half > 50\n  \
                  message \"{bidder}: {group.half} of {all.half}; highest {[r.id for r in group where r.half == max(group.half)]}\"\n}\n";
    let data = "- {id: p1, vendor: A, amount: 200, bidders: [X, Y]}\n\
                - {id: p2, vendor: B, amount: 400, bidders: [Y]}\n\
                - {id: p3, vendor: A, amount: 800, bidders: [X]}\n\
                - {id: p4, vendor: C, amount: 50, bidders: [Z]}\n";
    let found = naive(policy, data);
    // p4's half (25) fails `where`; p1 joins X and Y but counts once, in X.
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains("X: [100, 400] of [100, 400, 200]; highest [p3]"),
        "{}",
        found[0]
    );
    assert!(
        found[1].contains("Y: [100, 200] of [100, 400, 200]; highest [p2]"),
        "{}",
        found[1]
    );
    // `having` chooses groups, not the records `all.` counts.
    let having = policy.replace("where half > 50", "where half > 50 having count(group) > 5");
    assert!(naive(&having, data).is_empty());
    let counted = having
        .replace("having count(group) > 5", "having bidder == Y")
        .replace("{group.half} of", "{count(all.half)} of");
    let found = naive(&counted, data);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("Y: 3 of [100, 400, 200]"), "{}", found[0]);
}

/// A `let each` that cannot be computed on a record: an error finding for the record when
/// `all.` reads it (the record cannot count), for the group that reads it otherwise.
#[test]
fn a_let_each_that_fails_is_reported() {
    let data = "- {id: p1, vendor: A, amount: 200}\n\
                - {id: p2, vendor: A, amount: seven}\n\
                - {id: p3, vendor: B, amount: 400}\n";
    let in_all = "rule r {\n  let each half = amount / 2\n  note per vendor\n  \
                  when max(group.half) >= min(all.half)\n  message \"{vendor}: {group.half}\"\n}\n";
    let found = naive(in_all, data);
    assert_eq!(found.len(), 3, "{found:#?}");
    // The record's error first: the findings of records come before those of groups.
    assert!(
        found[0].contains("p2") && found[0].contains("error"),
        "{}",
        found[0]
    );
    assert!(found[1].contains("A: [100]"), "{}", found[1]);
    assert!(found[2].contains("B: [200]"), "{}", found[2]);
    let in_group = in_all.replace("min(all.half)", "150");
    let found = naive(&in_group, data);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains("A") && found[0].contains("error"),
        "{}",
        found[0]
    );
    assert!(found[1].contains("B: [200]"), "{}", found[1]);
}

/// A rule without `per` that reads `all.` keeps the values of its lets, computed while the
/// record is read, not the fields they read: a missing value stays missing, and a value that
/// cannot be computed is the record's error.
#[test]
fn a_rule_reading_all_keeps_its_values_missing_and_failed_ones_too() {
    let policy = "rule r {\n  let a = amount * 2\n  let m = if amount exists then nothing_here else 1\n  \
                  note where id exists when a >= median(all.a) and m is missing\n  message \"{a}\"\n}\n";
    let data = "- {id: p1, amount: 200}\n- {id: p2, amount: 10}\n- {id: p3, amount: seven}\n";
    let found = naive(policy, data);
    // all.a is [400, 20] (p3's fails): the median is 210.
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].starts_with("r p1 note 400"), "{}", found[0]);
    assert!(found[1].starts_with("r p3 error"), "{}", found[1]);
}

/// `all.` of a let that reads `all.` itself: its values are taken once those it reads are
/// complete (they were all missing, and the rule silently never fired), for a rule without
/// `per` and for a group rule.
#[test]
fn all_of_a_let_that_reads_all_is_taken_a_round_later() {
    let data = "- {id: H1, vendor: A, amount: 100}\n- {id: H2, vendor: A, amount: 5}\n- {id: H3, vendor: B, amount: 1000}\n- {id: H4, vendor: C, amount: 50}\n- {id: H5, vendor: C, amount: 60}\n- {id: H6, vendor: D, amount: 20}\n";
    // The median of the amounts is 55: b is 45, -50, 945, -5, 5, -35.
    let records = "rule na {\n  let a = amount\n  let b = a - median(all.a)\n  \
                   let c = b * 2\n  note when c >= max(all.c) and b >= max(all.b)\n  message \"{b} {all.b}\"\n}\n";
    let found = naive(records, data);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("na H3 note 945 [45, -50, 945, -5, 5, -35]"),
        "{}",
        found[0]
    );
    // Totals 105, 1000, 110, 20; their mean 308.75: B is 691.25 above it.
    let groups = "rule gd {\n  let t = sum(group.amount)\n  let dev = t - avg(all.t)\n  \
                  note per vendor when dev >= max(all.dev)\n  message \"{vendor} {dev}\"\n}\n";
    let found = naive(groups, data);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].starts_with("gd B note B 691.25"), "{}", found[0]);
}

/// A waiver of a group rule reads its `let each` through the group, as the rule does.
#[test]
fn a_waiver_reads_a_let_each_through_the_group() {
    let policy = "rule big {\n  let each share = amount / 100\n  warn per vendor\n  \
                  when any r in group where r.share > 5\n  message \"{vendor}: {group.share}\"\n}\n\
                  waive big for max(group.share) > 7 until 2099-01-01 because \"known\"\n";
    let data = "- {id: a, vendor: X, amount: 200}\n- {id: c, vendor: X, amount: 800}\n\
                - {id: b, vendor: Y, amount: 600}\n";
    let found = naive(policy, data);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("big X waived X: [2, 8]"),
        "{}",
        found[0]
    );
    assert!(found[1].starts_with("big Y warn Y: [6]"), "{}", found[1]);
}

/// A let that several rules compute alike is computed once per record and read by each: a rule
/// per record and a group rule see the value each would compute alone.
#[test]
fn rules_sharing_a_let_see_the_values_they_would_compute_alone() {
    let first = "rule p {\n  let big = [b.v for b in bids where b.v > 10]\n  note when count(big) > 0\n  \
                 message \"{big}\"\n}\n";
    let second = "rule g {\n  let each big = [b.v for b in bids where b.v > 10]\n  \
                  note per vendor when count(flatten(group.big)) > 1\n  message \"{group.big}\"\n}\n";
    let data = "- {id: r1, vendor: A, bids: [{v: 5}, {v: 20}]}\n- {id: r2, vendor: A, bids: [{v: 30}]}\n\
                - {id: r3, vendor: B, bids: [{v: 1}]}\n";
    let run = |name: &str, policies: &[&str]| {
        let names: Vec<String> = (0..policies.len())
            .map(|i| format!("p{i}.policy"))
            .collect();
        let mut files: Vec<(&str, &str)> = names
            .iter()
            .map(String::as_str)
            .zip(policies.iter().copied())
            .collect();
        files.push(("d.yaml", data));
        let dir = common::scratch(name, &files);
        let paths: Vec<PathBuf> = files.iter().map(|(file, _)| dir.join(file)).collect();
        let (findings, _) = common::run_check(&paths, 1, 0);
        let mut shown: Vec<String> = findings
            .iter()
            .map(|f| format!("{} {} {}", f.rule_id, f.record, f.message))
            .collect();
        shown.sort();
        shown
    };
    let together = run("shared-lets-together", &[first, second]);
    let mut alone = run("shared-lets-first", &[first]);
    alone.extend(run("shared-lets-second", &[second]));
    alone.sort();
    assert_eq!(together, alone);
    assert_eq!(
        together,
        ["g A [[20], [30]]", "p r1 [20]", "p r2 [30]"],
        "{together:#?}"
    );
}

/// A record whose key has another type than in the records before it: an error finding that
/// shows the record's value and the key in the rule.
#[test]
fn a_key_of_another_type_points_at_the_value_and_the_key() {
    insta::assert_snapshot!(failing_check(
        "mixed-key-kinds",
        "rule by-vendor {\n  warn per vendor\n  when count(group) > 1\n}\n",
        "- {id: R1, vendor: DJI}\n- {id: R2, vendor: 42}\n- {id: R3, vendor: DJI}\n",
    ));
}

/// A group whose sum fails on one record's value: the message names that record and where it
/// is; the label on the group's first key does not call the key the bad data.
#[test]
fn a_groups_error_names_the_record_holding_the_bad_value() {
    insta::assert_snapshot!(failing_check(
        "group-error-label",
        "rule tot { warn per vendor when sum(group.amount) > 100 }\n",
        "- {id: A1, vendor: DJI, amount: 600}\n- {id: A2, vendor: DJI, amount: lots}\n- {id: A3, vendor: Autel, amount: 5}\n",
    ));
}

/// The human report of `caveat check` on `policy` and `data` in a scratch folder `name`, which
/// exits 1.
fn failing_check(name: &str, policy: &str, data: &str) -> String {
    let dir = common::scratch(name, &[("p.policy", policy), ("d.yaml", data)]);
    let out = common::caveat_in(&dir, &["check", "p.policy", "d.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8(out.stdout).unwrap()
}

/// A rule that compares each record with `all.` of a value one record holds badly: that record
/// is told its value is bad; the others that its value reaches are told whose it is.
#[test]
fn a_bad_value_brought_by_all_is_shown_as_another_records() {
    insta::assert_snapshot!(failing_check(
        "bad-all-value",
        "rule outlier {\n  let v = amount\n  warn when v > upper_fence(all.v)\n}\n",
        "- {id: R1, amount: 5}\n- {id: R2, amount: lots}\n- {id: R3, amount: 7}\n",
    ));
}

/// A rule without `per` that reads `all.` decides once every record is read, from the values its
/// records kept: its finding still points at the value that decided it (the value of the first
/// let its `when` reads, here `amount` on its own line), as a rule without `all.` would.
#[test]
fn a_finding_of_a_rule_reading_all_points_at_the_value_of_its_let() {
    let records: String = (1..=8)
        .map(|i| {
            let amount = if i == 6 { 9_000 } else { 100 + i };
            format!("- id: R{i}\n  vendor: V{i}\n  amount: {amount}\n")
        })
        .collect();
    insta::assert_snapshot!(failing_check(
        "all-finding-at-let",
        "rule outlier {\n  let spent = amount\n  deny when spent > upper_fence(all.spent)\n  message \"{vendor} spent {spent}\"\n}\n",
        &records,
    ));
}

/// Such a rule points at the value of the first let its `when` reads, which need not be the value
/// that failed: the label says so, and the message names the bad value. A record whose first let
/// itself fails points at the bad value that failed it (`amount: many`).
#[test]
fn an_error_of_a_rule_reading_all_does_not_blame_the_value_it_points_at() {
    insta::assert_snapshot!(failing_check(
        "all-error-at-let",
        "rule outlier {\n  let a = amount * 2\n  let p = price\n  deny when a > upper_fence(all.a) or p > upper_fence(all.p)\n}\n",
        "- id: R1\n  amount: 5\n  price: lots\n- id: R2\n  amount: many\n  price: 7\n",
    ));
}

/// TAP and JUnit give a record one test point or case, also when a finding about it comes once
/// every record is read (a rule reading `all.`, a key of another type): a CI run must not show a
/// record as passed and then as failed. Each file is one JUnit suite.
#[test]
fn tap_and_junit_give_a_record_one_point_whatever_finds_it() {
    let dir = common::scratch(
        "one-point-per-record",
        &[
            (
                "p.policy",
                "rule by-vendor { note per vendor when count(group) > 1 }\nrule above {\n  let a = amount\n  deny when a > median(all.a)\n}\n",
            ),
            (
                "d.yaml",
                "- {id: R1, vendor: DJI, amount: 1}\n- {id: R2, vendor: 42, amount: 2}\n",
            ),
            ("e.yaml", "- {id: R3, vendor: DJI, amount: 3}\n"),
        ],
    );
    let tap = common::caveat_in(
        &dir,
        &["check", "--format", "tap", "p.policy", "d.yaml", "e.yaml"],
    );
    let tap = String::from_utf8(tap.stdout).unwrap();
    let points: Vec<&str> = tap
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
        .collect();
    assert_eq!(
        points,
        ["ok 1 - R1", "not ok 2 - R2", "not ok 3 - R3", "ok 4 - DJI"],
        "{tap}"
    );
    assert!(tap.ends_with("1..4\n"), "{tap}");
    let junit = common::caveat_in(
        &dir,
        &["check", "--format", "junit", "p.policy", "d.yaml", "e.yaml"],
    );
    let junit = String::from_utf8(junit.stdout).unwrap();
    assert_eq!(junit.matches("<testsuite ").count(), 2, "{junit}");
    for name in ["R1", "R2", "R3", "DJI"] {
        assert_eq!(
            junit.matches(&format!("<testcase name=\"{name}\"")).count(),
            1,
            "{junit}"
        );
    }
    assert_eq!(junit.matches("<failure ").count(), 2, "{junit}");
}

/// `explain` says of a group what `check` finds: a group whose clause cannot be evaluated is
/// one the rule cannot evaluate, not one it does not fire on.
#[test]
fn explain_a_group_that_cannot_be_evaluated() {
    let dir = common::scratch(
        "explain-group-error",
        &[
            (
                "p.policy",
                "rule tot { note per vendor when sum(group.amount) > 100 }\n",
            ),
            (
                "d.yaml",
                "- {id: A1, vendor: DJI, amount: 50}\n- {id: A2, vendor: DJI, amount: lots}\n",
            ),
        ],
    );
    let out = common::caveat_in(&dir, &["explain", "tot", "DJI", "p.policy", "d.yaml"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("rule `tot` cannot evaluate the group `DJI`:"),
        "{text}"
    );
    // Which record holds the bad value, as the error finding says.
    assert!(text.contains("is not one (in A2, d.yaml:2:20)"), "{text}");
    let check = common::caveat_in(&dir, &["check", "--format", "jsonl", "p.policy", "d.yaml"]);
    assert!(String::from_utf8_lossy(&check.stdout).contains("\"effect\":\"error\""));
}

/// `explain RULE RECORD` of a group rule, the record in no group: it says that the record is
/// in none and what leaves a record out, not that no group has that name.
#[test]
fn explain_of_a_record_in_no_group_says_so() {
    let dir = common::scratch(
        "explain-record-no-group",
        &[
            (
                "p.policy",
                "rule by-vendor { warn per vendor when count(group) > 1 }\n",
            ),
            (
                "d.yaml",
                "- {id: q1, vendor: A}\n- {id: q2, vendor: A}\n- {id: q3, amount: 9}\n",
            ),
        ],
    );
    let out = common::caveat_in(&dir, &["explain", "by-vendor", "q3", "p.policy", "d.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("the record q3 (d.yaml:3:3) is in no group of this rule"),
        "{text}"
    );
    assert!(text.contains("whose key is missing"), "{text}");
    // A record that is in a group is named as one, with the command that explains the group.
    let out = common::caveat_in(&dir, &["explain", "by-vendor", "q1", "p.policy", "d.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("q1 (d.yaml:1:3) is a record, in the group `A` of this rule"),
        "{text}"
    );
    assert!(text.contains("`caveat explain by-vendor A`"), "{text}");
}

/// A key whose value is a list: every element's type counts, not only the first one's, so the
/// order of the elements does not decide whether a record is refused.
#[test]
fn every_element_of_a_list_key_has_the_key_s_type() {
    let policy = "rule lk { note per line_items.vendor as v }\n";
    let data = "- {id: a, line_items: [{vendor: DJI}]}\n- {id: b, line_items: [{vendor: DJI}, {vendor: 7}]}\n- {id: c, line_items: [{vendor: 7}, {vendor: DJI}]}\n";
    let found = naive(policy, data);
    let errors: Vec<&String> = found.iter().filter(|f| f.contains(" error ")).collect();
    assert_eq!(errors.len(), 2, "{found:#?}");
    assert!(errors[0].starts_with("lk b error"), "{}", errors[0]);
    assert!(errors[1].starts_with("lk c error"), "{}", errors[1]);
}

/// `explain` on a rule without `per` that reads `all.`: a record it kept is "the record", not
/// "the group"; one its `where` left out is explained clause by clause, not unknown.
#[test]
fn explain_a_record_of_a_rule_reading_all() {
    let dir = common::scratch(
        "explain-all-record",
        &[
            (
                "p.policy",
                "rule pr {\n  let a = amount\n  note where amount > 10 when a >= median(all.a)\n}\n",
            ),
            (
                "d.yaml",
                "- {id: H1, amount: 100}\n- {id: H2, amount: 5}\n- {id: H3, amount: 1000}\n- {id: H5, amount: 60}\n",
            ),
        ],
    );
    let explain = |record: &str| {
        let out = common::caveat_in(&dir, &["explain", "pr", record, "p.policy", "d.yaml"]);
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let (code, kept) = explain("H5");
    assert_eq!(code, Some(0));
    assert!(
        kept.starts_with("rule `pr` does not fire on H5 (d.yaml:4:3):"),
        "{kept}"
    );
    assert!(
        kept.contains("✗ when a >= median(all.a)   a = 60"),
        "{kept}"
    );
    let (code, left_out) = explain("H2");
    assert_eq!(code, Some(0));
    assert!(
        left_out.contains("✗ where amount > 10   amount = 5"),
        "{left_out}"
    );
}

/// A group whose key is an element of a list points at that element in its first record (the
/// spec's "at the first KEY's value where that is a field"), not at the whole list.
#[test]
fn a_group_of_a_list_key_points_at_its_element() {
    let dir = common::scratch(
        "list-key-place",
        &[
            (
                "p.policy",
                "rule bidders {\n  note per bids.details.tenderers.id as tenderer when count(group) >= 2\n}\n",
            ),
            (
                "d.yaml",
                "- {id: O1, bids: {details: [{tenderers: [{id: A}, {id: C}]}]}}\n- {id: O2, bids: {details: [{tenderers: [{id: B}, {id: C}]}]}}\n",
            ),
        ],
    );
    let out = common::caveat_in(&dir, &["check", "--format", "jsonl", "p.policy", "d.yaml"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(r#""record":"C","file":"d.yaml","line":1,"column":56"#),
        "{text}"
    );
}

#[test]
fn date_time_strings_group_by_their_instant() {
    // Three writings of 20:00 UTC (two offsets and none) and one of another instant: two
    // groups, the first named as its first record wrote it, whatever the jobs and chunks.
    let dir = common::scratch(
        "instant-keys",
        &[
            (
                "p.policy",
                "rule same-time {\n  note per received when count(group) >= 2\n  message \"{count(group)} at {received}\"\n}\n",
            ),
            (
                "d.yaml",
                "- {id: B1, received: \"2020-07-14T21:00:00+01:00\"}\n- {id: B2, received: \"2020-07-14T20:00:00Z\"}\n- {id: B3, received: \"2020-07-14 20:00\"}\n- {id: B4, received: \"2020-07-14T20:00:01Z\"}\n",
            ),
        ],
    );
    let paths = [dir.join("p.policy"), dir.join("d.yaml")];
    let one = pipeline(&paths, 1, 0);
    assert_eq!(
        one,
        [
            r#"same-time 2020-07-14T21:00:00+01:00 note 3 at 2020-07-14T21:00:00+01:00 Some(["B1", "B2", "B3"])"#
        ],
        "{one:?}"
    );
    assert_eq!(one, pipeline(&paths, 2, 40));
}

/// A group finding points at its first key's value in the group's first record: labelled with
/// the field as the record writes it when the key is a field path (whatever its `as` name, and
/// though an alias names the group), and not as the key when the key computes its value
/// (`lower(vendor)` is not the text pointed at).
#[test]
fn a_group_finding_labels_the_value_it_points_at_truly() {
    let dir = common::scratch(
        "group-labels",
        &[
            (
                "p.policy",
                "alias DJI = [Dajiang]\n\
                 rule computed { note per lower(vendor) as lv, month(date) }\n\
                 rule named { note per vendor as v }\n",
            ),
            ("d.yaml", "- {id: r1, vendor: Dajiang, date: 2018-11-14}\n"),
        ],
    );
    let out = common::caveat_in(&dir, &["check", "p.policy", "d.yaml"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("╰── the group's first record"), "{text}");
    assert!(text.contains("╰── `vendor` is Dajiang"), "{text}");
    assert!(!text.contains("`lv` is"), "{text}");
    assert!(!text.contains("`v` is"), "{text}");
}

/// Each group finding of `t.policy` on `data` in `dir`: the group and its place
/// (`"alpha" at 2:12`), and its records with theirs (`"O1" 2:12, "O2" 7:7`).
fn group_places(dir: &std::path::Path, data: &str) -> Vec<(String, String)> {
    let out = common::caveat_in(dir, &["check", "--format", "jsonl", "t.policy", data]);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|f| f.get("group").is_some())
        .map(|f| {
            let records: Vec<String> = f["group"]["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| format!("{} {}:{}", r["record"], r["line"], r["column"]))
                .collect();
            (
                format!("{} at {}:{}", f["record"], f["line"], f["column"]),
                records.join(", "),
            )
        })
        .collect()
}

/// A record in a group's list points at the key value that put it in that group: for a key
/// that is a list, the element (not the list, nor its first element), in every group it joins.
#[test]
fn a_record_of_a_group_points_at_its_own_key_value() {
    let dir = common::scratch(
        "groups/list_key_places",
        &[
            (
                "t.policy",
                "rule tg { note per labels having count(group) >= 2 }\nrule items { note per line_items.vendor as v having count(group) >= 2 }\n",
            ),
            (
                "t.yaml",
                "- id: O1\n  labels: [alpha, beta]\n  line_items: [{vendor: A}, {vendor: B}]\n- id: O2\n  labels:\n    - beta\n    - alpha\n  line_items:\n    - {vendor: B}\n    - {vendor: A}\n",
            ),
        ],
    );
    let places: Vec<String> = group_places(&dir, "t.yaml")
        .into_iter()
        .map(|(finding, records)| format!("{finding}: {records}"))
        .collect();
    assert_eq!(
        places,
        [
            r#""alpha" at 2:12: "O1" 2:12, "O2" 7:7"#,
            r#""beta" at 2:19: "O1" 2:19, "O2" 6:7"#,
            r#""A" at 3:25: "O1" 3:25, "O2" 10:16"#,
            r#""B" at 3:38: "O1" 3:38, "O2" 9:16"#,
        ],
        "{places:#?}"
    );
}

/// In JSON Lines (a record on one line), each record of a group points at its own key value,
/// letters outside ASCII before it counted as one column each.
#[test]
fn a_record_of_a_group_points_at_its_own_key_value_on_one_line() {
    let dir = common::scratch(
        "groups/list_key_places_jsonl",
        &[
            (
                "t.policy",
                "rule tg { note per labels having count(group) >= 2 }\n",
            ),
            (
                "t.jsonl",
                "{\"id\": \"O1\", \"note\": \"é€\", \"labels\": [\"alpha\", \"ñ\", \"beta\"]}\n{\"id\": \"O2\", \"labels\": [\"beta\", \"alpha\"]}\n",
            ),
        ],
    );
    let places: Vec<String> = group_places(&dir, "t.jsonl")
        .into_iter()
        .map(|(_, records)| records)
        .collect();
    assert_eq!(
        places,
        [r#""O1" 1:39, "O2" 2:33"#, r#""O1" 1:53, "O2" 2:25"#],
        "{places:#?}"
    );
}
