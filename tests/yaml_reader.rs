//! caveat's own YAML block scanner against the general parser (saphyr-parser): on every case of
//! the YAML test suite, every YAML fixture and example, and generated and mutated block YAML, the
//! two readers give the same records, values and spans, and the same errors. The scanner hands
//! what it does not read itself to the general parser, so the reader as a whole must always
//! agree; these tests also check that the common shapes really take the fast path.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

use std::path::{Path, PathBuf};

use caveat::data::{Format, LoadOptions, Record, read_records, yaml_read_by_scanner};
use caveat::source::SourceFile;
use proptest::prelude::*;

/// Whether the scanner reads `text` by itself.
fn fast(text: &str) -> bool {
    yaml_read_by_scanner(&SourceFile::new("data.yaml", text), &LoadOptions::default())
}

/// The two readers agree on `text`, read with `options`; `Err` says where they first differ.
fn agree_with(text: &str, options: &LoadOptions) -> Result<Vec<String>, String> {
    caveat::data::compare_yaml_readers(&SourceFile::new("data.yaml", text), options)
}

/// [`agree_with`] the default options.
fn agree(text: &str) -> Result<Vec<String>, String> {
    agree_with(text, &LoadOptions::default())
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_readers_agree_on_every_suite_case_and_fixture() {
    let mut files = Vec::new();
    for dir in ["tests", "examples", "policies", "fuzz/corpus/read_records"] {
        yaml_files(&root().join(dir), &mut files);
    }
    files.sort();
    assert!(files.len() > 400, "the suite and the fixtures are found");
    let (mut differ, mut scanned, mut slow_examples) = (Vec::new(), 0, Vec::new());
    for path in &files {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        if let Err(e) = agree(&text) {
            differ.push(format!("{}: {e}", path.display()));
        }
        let read_fast = fast(&text);
        scanned += usize::from(read_fast);
        if !read_fast && path.starts_with(root().join("examples")) {
            slow_examples.push(path.display().to_string());
        }
    }
    println!(
        "{} files, {scanned} read by the scanner alone, {} differ",
        files.len(),
        differ.len()
    );
    assert!(differ.is_empty(), "{}", differ.join("\n\n"));
    assert!(
        slow_examples.is_empty(),
        "the scanner reads every example data file itself: {slow_examples:?}"
    );
    assert!(scanned > 80, "the scanner reads {scanned} files itself");
}

/// The shapes record files have, each read by the scanner itself and as the general parser
/// reads it.
#[test]
fn common_shapes_take_the_fast_path_and_agree() {
    let shapes = [
        "- id: N-1\n  vendor: DJI\n  amount: 49350.00\n  date: 2018-08-12\n",
        "- id: N-1\n  exemption: {kind: urgent, approved_by: OSD A&S, expires: 2019-06-28}\n",
        "- id: 'it''s'\n  note: \"tab\\there \\u00e9 \\\"q\\\"\"\n  tags: [a, 'b', \"c\", [d, {e: f}]]\n",
        "# header\n---\nrecords:\n- id: 1\n  lines:\n  - {sku: A, qty: 2}\n  - sku: B\n    qty: 3\n...\n",
        "- a:\n  b: ~\n  c:\n    - 1\n    -\n    - -2\n  d: # note\n  e: null\n-\n- x: y # c\n",
        "id: 1\n---\nid: 2\n--- # c\nid: 3\n",
        "- \"quoted key\": 1\n  'single': 2\n  key with spaces  : 3\n  url: http://x.y/z?a=b#frag\n",
        "- - 1\n  - 2\n- - a: 1\n    b: 2\n",
        "- name: Émile Zola\n  city: Zürich\n",
        "[]\n",
        "{}\n",
        "- {}\n- []\n",
    ];
    for shape in shapes {
        agree(shape).unwrap();
        assert!(fast(shape), "the scanner reads {shape:?} itself");
    }
}

/// With `--records PATH`, the readers agree too (the builder finds the list on either path).
#[test]
fn the_readers_agree_on_records_at_a_path() {
    let options = || LoadOptions {
        records_path: Some(vec!["data".into(), "records".into()]),
        ..LoadOptions::default()
    };
    for text in [
        "data:\n  records:\n  - id: 1\n  - id: 2\n    x: [1, 2]\n  other: 3\n",
        "data:\n  records: [{id: 1}, {id: 2}]\n---\ndata:\n  records:\n    - id: 3\n",
        "data:\n  records: 5\n",
        "data: {records: []}\n---\nnothing: here\n",
        "- id: 1\n",
    ] {
        agree_with(text, &options()).unwrap();
        assert!(fast(text), "{text:?}");
    }
}

/// Limits give the same errors at the same places on either path.
#[test]
fn the_readers_agree_on_limits() {
    let limits = caveat::data::Limits {
        max_depth: 3,
        max_scalar_bytes: 8,
        max_documents: 2,
        ..caveat::data::Limits::default()
    };
    let options = || LoadOptions {
        limits,
        ..LoadOptions::default()
    };
    for text in [
        "- a:\n    b:\n      c: 1\n- d: 2\n",
        "- a: [[[1]]]\n",
        "- a: a long string value\n  a long key indeed: 1\n- b: 1\n",
        "a: 1\n---\nb: 2\n---\nc: 3\n",
    ] {
        let ours = agree_with(text, &options()).unwrap();
        assert!(
            ours.iter().any(|r| r.starts_with("error")),
            "{text:?}: {ours:?}"
        );
    }
}

/// A value no rule reads is still checked as a read one is: a key twice in a flow mapping, a
/// merge key (in a flow mapping, read or not) and a scalar over the size limit are refused by
/// both readers alike, with or without a rule reading them.
#[test]
fn the_readers_agree_on_what_no_rule_reads() {
    let source = SourceFile::new("p.policy", "deny when amount > 1000\n");
    let program = caveat::check_sources(&[source]).unwrap_or_else(|e| panic!("{:?}", e[0].message));
    let long = "x".repeat(200);
    let texts = [
        "- id: a\n  amount: 1500\n  x: {k: 1, k: 2}\n".to_string(),
        "- id: a\n  amount: 1500\n  x: [{k: 1, \"k\": 2}]\n".to_string(),
        "- id: a\n  amount: 1500\n  x: {<<: {k: 1}, j: 2}\n".to_string(),
        "- id: a\n  amount: {<<: {k: 1}}\n".to_string(),
        format!("- id: a\n  amount: 1500\n  note: {long}\n"),
        format!("- id: a\n  amount: 1500\n  note: [\"{long}\"]\n"),
        format!("- id: a\n  amount: 1500\n  note: {{{long}: 1}}\n"),
    ];
    for projection in [None, program.projection(&[]).map(std::sync::Arc::new)] {
        let options = LoadOptions {
            projection: projection.clone(),
            limits: caveat::data::Limits {
                max_scalar_bytes: 100,
                ..caveat::data::Limits::default()
            },
            ..LoadOptions::default()
        };
        for text in &texts {
            let ours = agree_with(text, &options).unwrap();
            assert!(
                ours.iter().any(|r| r.starts_with("error")),
                "{text:?} (projected: {}): {ours:?}",
                projection.is_some()
            );
        }
    }
}

/// Shapes the scanner leaves to the general parser, which still reads them (or refuses them)
/// the same way.
#[test]
fn what_the_scanner_does_not_read_goes_to_the_general_parser() {
    let shapes = [
        "- a: &x 1\n  b: *x\n",
        "- a: !!str 1\n",
        "- a: |\n    text\n",
        "- a: plain\n    continued\n",
        "- a: \"two\n    lines\"\n",
        "- a: [1,\n    2]\n",
        "- a:\t1\n",
        "- a: 1\r\n",
        "%YAML 1.2\n---\na: 1\n",
        "- a: 1\n  a: 2\n- b: 1\n",
        "- a: 1\n - b\n",
        "- a: b: c\n",
        "- ? a\n  : b\n",
        "- <<: {a: 1}\n",
        "- a: 1\n  b: [1, 2, ]\n",
        "- a: \"\\q\"\n",
    ];
    for shape in shapes {
        agree(shape).unwrap();
    }
    assert!(!fast("- a: &x 1\n"), "an anchor is the general parser's");
    assert!(!fast("- a: plain\n    continued\n"));
    assert!(
        fast("- a: 1\n  a: 2\n- b: 1\n"),
        "a duplicate key is the builder's to find, on either path"
    );
}

/// A scalar of the kinds record files hold, in block or flow context.
fn scalar(flow: bool) -> impl Strategy<Value = String> {
    let plain = if flow {
        "[a-zA-Z0-9 ._/@()-]{0,12}"
    } else {
        "[a-zA-Z0-9 ._/@(),:#-]{0,12}"
    };
    prop_oneof![
        plain.prop_map(|s| s),
        "-?[0-9]{1,6}(\\.[0-9]{1,3})?(e[0-9])?".prop_map(|s| s),
        Just("~".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("2018-08-12".to_string()),
        Just("2018-08-12T20:00:00Z".to_string()),
        "[a-z ,:#\\[\\]'é]{0,8}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        "[a-z ,:#\\[\\]\"\\\\tnu0-9é]{0,8}".prop_map(|s| format!("\"{s}\"")),
        Just(String::new()),
    ]
}

/// A flow collection on one line.
fn flow() -> impl Strategy<Value = String> {
    let leaf = scalar(true);
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec(("[a-z]{1,4}", inner), 0..4).prop_map(|entries| {
                let parts: Vec<String> = entries.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", parts.join(", "))
            }),
        ]
    })
}

/// A block node at `indent`, as lines of text.
#[derive(Debug, Clone)]
enum Block {
    Scalar(String),
    Map(Vec<(String, Block)>),
    List(Vec<Block>),
}

fn block() -> impl Strategy<Value = Block> {
    let leaf = prop_oneof![
        4 => scalar(false).prop_map(Block::Scalar),
        1 => flow().prop_map(Block::Scalar),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(("[a-z_]{1,6}|\"[a-z ]{1,4}\"", inner.clone()), 1..5)
                .prop_map(Block::Map),
            prop::collection::vec(inner, 1..4).prop_map(Block::List),
        ]
    })
}

/// Writes a block node as the value after `key:` or `- ` (`inline` says whether it may start on
/// the same line), at `indent`, with the extra decorations `style` picks.
fn write(node: &Block, indent: usize, style: &mut impl Iterator<Item = u8>, out: &mut String) {
    let pad = " ".repeat(indent);
    match node {
        Block::Scalar(s) => {
            out.push(' ');
            out.push_str(s);
            if style.next().unwrap_or(0).is_multiple_of(7) {
                out.push_str(" # note");
            }
            out.push('\n');
        }
        Block::Map(entries) => {
            out.push('\n');
            for (key, value) in entries {
                out.push_str(&pad);
                out.push_str(key);
                out.push(':');
                write(value, indent + 2, style, out);
                if style.next().unwrap_or(0).is_multiple_of(11) {
                    out.push_str(&pad);
                    out.push_str("# between\n\n");
                }
            }
        }
        Block::List(items) => {
            out.push('\n');
            // A list under a key may sit in the key's column.
            let indent = if style.next().unwrap_or(0).is_multiple_of(3) {
                indent.saturating_sub(2)
            } else {
                indent
            };
            let pad = " ".repeat(indent);
            for item in items {
                out.push_str(&pad);
                out.push('-');
                write(item, indent + 2, style, out);
            }
        }
    }
}

/// A file of records: a list of mappings, possibly in several documents.
fn file() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::collection::vec(("[a-z_]{1,6}", block()), 1..5), 1..5),
        prop::collection::vec(any::<u8>(), 64),
        any::<bool>(),
    )
        .prop_map(|(records, style, documents)| {
            let mut style = style.into_iter().cycle();
            let mut out = String::new();
            for (i, record) in records.iter().enumerate() {
                if documents && i > 0 && i % 2 == 0 {
                    out.push_str("---\n");
                }
                for (j, (key, value)) in record.iter().enumerate() {
                    out.push_str(if j == 0 { "- " } else { "  " });
                    out.push_str(key);
                    out.push(':');
                    write(value, 4, &mut style, &mut out);
                }
            }
            out
        })
}

proptest! {
    // `CAVEAT_YAML_CASES=N` runs more.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("CAVEAT_YAML_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(400)
    ))]

    /// Generated record files: the readers agree.
    #[test]
    fn the_readers_agree_on_generated_files(text in file()) {
        if let Err(e) = agree(&text) {
            prop_assert!(false, "{}", e);
        }
    }

    /// Generated files with a byte changed, removed or inserted (most of them invalid or read
    /// differently): the readers agree, errors included.
    #[test]
    fn the_readers_agree_on_mutated_files(
        text in file(),
        at in any::<prop::sample::Index>(),
        edit in 0u8..3,
        byte in prop::sample::select(b" -:#'\"[]{},\n\t&*!|>?ab1.\\".to_vec()),
    ) {
        let mut bytes = text.into_bytes();
        let i = at.index(bytes.len().max(1)).min(bytes.len());
        match edit {
            0 if i < bytes.len() => bytes[i] = byte,
            1 if i < bytes.len() => { bytes.remove(i); }
            _ => bytes.insert(i, byte),
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Err(e) = agree(&text) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// Spans cover what was written, on either reader: a quoted scalar or a flow collection ends at
/// its closing quote or bracket (not after the comment that follows), and a list written in its
/// key's column starts at its first `-` (saphyr-parser's own positions differ on all three).
#[test]
fn spans_cover_what_was_written() {
    let text = "- a: 'x' # c\n  b: \"y\"  \n  c: [1, 2] # d\n  d:\n  - 1\n  - {e: f} # g\n  h:\n  -\n  - 2\n";
    for general_only in [false, true] {
        let source = SourceFile::new("data.yaml", text);
        let options = LoadOptions {
            yaml_general_only: general_only,
            ..LoadOptions::default()
        };
        let records: Vec<Record> = read_records(&source, Format::Yaml, &options)
            .map(|r| r.unwrap())
            .collect();
        let caveat::value::Value::Map(map) = &records[0].root.value else {
            panic!("a mapping")
        };
        let slice = |key: &str| source.slice(map.get(key).unwrap().span).to_string();
        assert_eq!(slice("a"), "'x'", "general only: {general_only}");
        assert_eq!(slice("b"), "\"y\"");
        assert_eq!(slice("c"), "[1, 2]");
        assert_eq!(slice("d"), "- 1\n  - {e: f}");
        assert_eq!(slice("h"), "-\n  - 2");
    }
}

/// What no rule reads, the scanner checks and skips (its key stays, with null): a check finds
/// the same on the example purchases whether the reader builds every value or only those the
/// shipped policies read.
#[test]
fn skipping_unread_values_changes_no_finding() {
    let root = root();
    let policies = root.join("policies");
    let inputs: Vec<caveat::PolicyInput> =
        ["dod-uas.policy", "telecom-889.policy", "us-rules.policy"]
            .into_iter()
            .map(|name| caveat::PolicyInput {
                path: policies.join(name),
                root: policies.clone(),
            })
            .collect();
    let program = caveat::check(&inputs).unwrap_or_else(|e| panic!("{:?}", e[0].message));
    let id = [caveat::compile::Segment::Key("id".into())];
    let projection = program.projection(&[&id]).map(std::sync::Arc::new);
    assert!(projection.is_some(), "the policies read some fields only");
    let mut skipped = 0;
    for file in ["examples/purchases.yaml", "examples/split-purchases.yaml"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let source = SourceFile::new(file, text.as_str());
        assert!(fast(&text), "{file} is read by the scanner");
        let findings = |projection| {
            let options = LoadOptions {
                projection,
                ..LoadOptions::default()
            };
            let mut evaluator = caveat::Evaluator::new(&program);
            let mut all = Vec::new();
            let mut skipped = 0;
            for record in read_records(&source, Format::Yaml, &options) {
                let record = record.unwrap();
                if let caveat::value::Value::Map(map) = &record.root.value {
                    skipped += map
                        .entries
                        .iter()
                        .filter(|e| e.value.value == caveat::value::Value::Null)
                        .count();
                }
                let mut found = Vec::new();
                evaluator.evaluate(&record, &mut found);
                all.extend(found.into_iter().map(|f| format!("{} {f:?}", record.index)));
            }
            (all, skipped)
        };
        let (whole, nulls_whole) = findings(None);
        let (projected, nulls_projected) = findings(projection.clone());
        assert!(!whole.is_empty(), "{file} has findings");
        assert_eq!(whole, projected, "{file}");
        skipped += nulls_projected - nulls_whole;
    }
    assert!(skipped > 0, "unread values are skipped");
}
