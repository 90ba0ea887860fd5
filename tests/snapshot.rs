//! `caveat snapshot`: every record's outcome, sorted and stable; `--check` shows what a policy
//! change does to them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use common::{caveat, caveat_in, scratch};

#[test]
fn the_example_outcomes() {
    let out = caveat(&["snapshot", "policies", "examples"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn the_same_for_any_number_of_jobs() {
    // Over 1 MiB, so that the file is read in several chunks.
    let records: String = (0..30_000)
        .map(|i| {
            let vendor = ["DJI", "Parrot", "Autel"][i % 3];
            format!(
                "- {{id: r{i:05}, vendor: {vendor}, amount: {}}}\n",
                i * 7 % 1000
            )
        })
        .collect();
    let dir = scratch(
        "snapshot/jobs",
        &[
            ("rules.policy", "deny vendor DJI\nwarn when amount > 900\n"),
            ("buys.yaml", &records),
        ],
    );
    let one = caveat_in(&dir, &["snapshot", "--jobs", "1", "."]);
    let four = caveat_in(&dir, &["snapshot", "--jobs", "4", "."]);
    assert_eq!(one.stdout, four.stdout);
    let text = String::from_utf8(one.stdout).unwrap();
    // A line per finding, and one for each record without a finding.
    let expected: usize = (0..30_000)
        .map(|i| match (i % 3 == 0, i * 7 % 1000 > 900) {
            (true, true) => 2,
            _ => 1,
        })
        .sum();
    assert_eq!(text.lines().count(), expected);
    assert_eq!(text.matches("\tdeny\t").count(), 10_000);
    let mut sorted: Vec<&str> = text.lines().collect();
    sorted.sort_unstable();
    assert_eq!(sorted, text.lines().collect::<Vec<_>>());
}

#[test]
fn check_shows_the_records_a_policy_change_flips() {
    let dir = scratch(
        "snapshot/change",
        &[
            (
                "p/rules.policy",
                "deny vendor DJI after 2018-05-23 unless exemption.kind == urgent\n",
            ),
            (
                "buys.yaml",
                "- {id: a, vendor: DJI, date: 2018-06-01}\n- {id: b, vendor: DJI, date: 2018-03-01}\n- {id: c, vendor: DJI, date: 2018-07-01, exemption: {kind: research}}\n",
            ),
        ],
    );
    let out = caveat_in(&dir, &["snapshot", "-o", "outcomes.txt", "p", "buys.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.join("outcomes.txt")).unwrap(),
        "a\tdeny\trules:1\nb\tpass\nc\tdeny\trules:1\n"
    );
    let same = caveat_in(
        &dir,
        &["snapshot", "--check", "outcomes.txt", "p", "buys.yaml"],
    );
    assert_eq!(same.status.code(), Some(0));
    // Tighten the date and excuse research too: a and c now pass, b is still fine.
    std::fs::write(
        dir.join("p/rules.policy"),
        "deny vendor DJI after 2018-06-15 unless exemption.kind in [urgent, research]\n",
    )
    .unwrap();
    let changed = caveat_in(
        &dir,
        &["snapshot", "--check", "outcomes.txt", "p", "buys.yaml"],
    );
    assert_eq!(changed.status.code(), Some(1));
    let diff = String::from_utf8(changed.stdout).unwrap();
    assert!(diff.contains("-a\tdeny\trules:1\n+a\tpass\n"), "{diff}");
    assert!(diff.contains("-c\tdeny\trules:1\n+c\tpass\n"), "{diff}");
    let said = String::from_utf8_lossy(&changed.stderr);
    assert!(said.contains("2 lines gone, 2 new"), "{said}");
    // The command it suggests writes this run's outcomes: the same paths, `-o` for `--check`.
    assert!(
        said.contains("`caveat snapshot -o outcomes.txt p buys.yaml`"),
        "{said}"
    );
    let again = caveat_in(&dir, &["snapshot", "-o", "outcomes.txt", "p", "buys.yaml"]);
    assert_eq!(again.status.code(), Some(0));
    let same = caveat_in(
        &dir,
        &["snapshot", "--check", "outcomes.txt", "p", "buys.yaml"],
    );
    assert_eq!(same.status.code(), Some(0));
}

/// Findings found once every record is read do not take the place of the last record's
/// outcome: a group's finding lists its records (`a … in 1`), which then do not pass; a record
/// in no group still passes; a rule without `per` that reads `all.` flags its record, which then
/// does not also pass.
#[test]
fn findings_across_records_leave_every_record_its_outcome() {
    let dir = scratch(
        "snapshot/across",
        &[
            (
                "rules.policy",
                "rule g { note per v }\nrule top {\n  let a = v\n  note where v exists when a >= max(all.a)\n}\n",
            ),
            (
                "records.yaml",
                "[{id: a, v: 1}, {id: b, v: 5}, {id: c, w: 5}]\n",
            ),
        ],
    );
    let out = caveat_in(&dir, &["snapshot", "rules.policy", "records.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1\tnote\tg\n5\tnote\tg\na\tnote\tg\tin 1\nb\tnote\tg\tin 5\nb\tnote\ttop\nc\tpass\n"
    );
}

/// Records of one name in two files (ids that restart in each export) are told apart by file
/// and position, so that an outcome moving from one to the other fails `--check`; a name only
/// one record has stays as it is.
#[test]
fn records_sharing_a_name_are_told_apart() {
    let dir = scratch(
        "snapshot/shared_names",
        &[
            ("big.policy", "rule big { deny when amount > 1000 }\n"),
            (
                "sd/f1.yaml",
                "- {id: A, vendor: X, amount: 5000}\n- {id: B, amount: 1}\n",
            ),
            ("sd/f2.yaml", "- {id: A, vendor: Y, amount: 5}\n"),
        ],
    );
    let out = caveat_in(&dir, &["snapshot", "-o", "s1.txt", "big.policy", "sd"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.join("s1.txt")).unwrap(),
        "A (sd/f1.yaml #1)\tdeny\tbig\nA (sd/f2.yaml #1)\tpass\nB\tpass\n"
    );
    std::fs::write(
        dir.join("sd/f1.yaml"),
        "- {id: A, vendor: X, amount: 5}\n- {id: B, amount: 1}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sd/f2.yaml"),
        "- {id: A, vendor: Y, amount: 5000}\n",
    )
    .unwrap();
    let out = caveat_in(&dir, &["snapshot", "--check", "s1.txt", "big.policy", "sd"]);
    assert_eq!(out.status.code(), Some(1));
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(diff.contains("+A (sd/f2.yaml #1)\tdeny\tbig"), "{diff}");
}

/// Names with a tab or a line break stay one name on one line, told apart from the same name
/// with a space: the snapshot is tab-separated.
#[test]
fn names_with_tabs_and_line_breaks_stay_distinct() {
    let dir = scratch(
        "snapshot/tabs",
        &[
            ("p.policy", "rule by { note per vendor }\n"),
            (
                "d.jsonl",
                "{\"id\": \"a\\tb\", \"vendor\": \"V\\tW\"}\n{\"id\": \"a b\", \"vendor\": \"V W\"}\n{\"id\": \"c\\nd\", \"vendor\": \"X\"}\n",
            ),
        ],
    );
    let out = caveat_in(&dir, &["snapshot", "p.policy", "d.jsonl"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "a b\tnote\tby\tin V W",
        "a\\u{9}b\tnote\tby\tin V\\u{9}W",
        "c\\u{a}d\tnote\tby\tin X",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
    }
}

/// A snapshot that is there but outside the project is refused with its own help, not told to
/// be written first.
#[test]
fn a_snapshot_outside_the_project_is_not_called_missing() {
    let dir = scratch(
        "snapshot/outside",
        &[
            ("big.policy", "rule big { deny when amount > 1000 }\n"),
            ("d.yaml", "- {id: A, amount: 1}\n"),
        ],
    );
    let outside = std::env::temp_dir().join("caveat-snapshot-outside.txt");
    std::fs::write(&outside, "A\tpass\n").unwrap();
    let out = caveat_in(
        &dir,
        &[
            "snapshot",
            "--check",
            outside.to_str().unwrap(),
            "big.policy",
            "d.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("outside the project root"), "{stderr}");
    assert!(!stderr.contains("write one first"), "{stderr}");
}

/// A record joining a group finding (a policy change widens the group's `where`) changes the
/// snapshot and the diff, though the group's own finding reads the same.
#[test]
fn a_record_joining_a_group_changes_the_snapshot_and_the_diff() {
    let base = "rule many {\n  warn per vendor\n  where amount <= 100\n  having count(group) >= 2\n  message \"{vendor} has several small purchases\"\n}\n";
    let head = base.replace("<= 100", "<= 1000");
    let dir = scratch(
        "snapshot/joining",
        &[
            ("b/p.policy", base),
            ("h/p.policy", &head),
            (
                "d.yaml",
                "- {id: a, vendor: V, amount: 50}\n- {id: b, vendor: V, amount: 60}\n- {id: c, vendor: V, amount: 500}\n",
            ),
        ],
    );
    let out = caveat_in(&dir, &["snapshot", "-o", "snap.txt", "b", "d.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    let out = caveat_in(&dir, &["snapshot", "--check", "snap.txt", "h", "d.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(diff.contains("-c\tpass\n+c\twarn\tmany\tin V"), "{diff}");
    let out = caveat_in(&dir, &["diff", "--base", "b", "--head", "h", "d.yaml"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("~ warn   V: V has several small purchases (d.yaml:1:19); +1 record c"),
        "{text}"
    );
    assert!(text.contains("1 of 3 records and 1 group change"), "{text}");
}

/// A data file that cannot be read at all is named in the snapshot (two such files gave two
/// identical `unreadable` lines with no file).
#[test]
fn an_unreadable_file_is_named() {
    let dir = scratch(
        "snapshot-unreadable",
        &[
            ("p.policy", "rule r { deny vendor DJI }\n"),
            ("a.yaml", "- {id: a, vendor: DJI}\n"),
            ("b.yaml", "- {id: b, vendor: DJI}\n"),
        ],
    );
    let out = caveat_in(
        &dir,
        &[
            "snapshot",
            "--max-file-size",
            "3",
            "p.policy",
            "a.yaml",
            "b.yaml",
        ],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("a.yaml:1:1\tunreadable\tcaveat::data::file_too_large"),
        "{text}"
    );
    assert!(
        text.contains("b.yaml:1:1\tunreadable\tcaveat::data::file_too_large"),
        "{text}"
    );
}
