//! The `caveat check` and `caveat snapshot` commands that `docs/ci.md` shows, and the README's
//! examples of reports written with `--output`, run verbatim against a copy of the example
//! project: each report must land in the file named right after its `--format`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use std::path::Path;

use common::caveat_in;

/// The commands in the code blocks of a Markdown text: lines that (after a YAML list dash or a
/// `run:` key) start with `caveat check` or `caveat snapshot`, comments cut off.
fn block_commands(markdown: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_block = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if !in_block {
            continue;
        }
        let line = line.split(" #").next().unwrap_or("").trim();
        let line = line.strip_prefix("- ").unwrap_or(line).trim();
        let line = line.strip_prefix("run:").unwrap_or(line).trim();
        if line.starts_with("caveat check") || line.starts_with("caveat snapshot") {
            commands.push(line.to_string());
        }
    }
    commands
}

/// The inline code spans (outside code blocks) of a Markdown text that pair `--format`s with
/// `--output` files, as `caveat check` commands; synopses (with `[`) left out.
fn inline_commands(markdown: &str) -> Vec<String> {
    let mut in_block = false;
    let prose: Vec<&str> = markdown
        .lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                in_block = !in_block;
                return false;
            }
            !in_block
        })
        .collect();
    prose
        .join(" ")
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| {
            span.contains("--format")
                && (span.contains(" -o ") || span.contains("--output "))
                && !span.contains('[')
        })
        .map(|span| {
            let span = span.trim();
            if span.starts_with("caveat ") {
                span.to_string()
            } else {
                format!("caveat check {span}")
            }
        })
        .collect()
}

/// Each `--format` of a command with the file of the `--output` right after it, if any.
fn pairs(words: &[&str]) -> Vec<(String, Option<String>)> {
    let mut pairs: Vec<(String, Option<String>)> = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        match *word {
            "--format" => pairs.push(((*words.next().unwrap()).to_string(), None)),
            "--output" | "-o" => {
                let file = (*words.next().unwrap()).to_string();
                let last = pairs.last_mut().expect("an --output after a --format");
                assert!(last.1.is_none(), "two outputs for one format");
                last.1 = Some(file);
            }
            _ => {}
        }
    }
    pairs
}

/// A copy of the example project: the shipped policies and records.
fn example_project(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("docs_examples/{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for folder in ["policies", "examples"] {
        copy_folder(&root.join(folder), &dir.join(folder));
    }
    dir
}

/// Copies a folder and everything in it.
fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The report `format` writes on stdout alone, in `dir`.
fn report_alone(dir: &Path, command: &str, format: &str) -> String {
    let out = caveat_in(dir, &[command, "--format", format]);
    String::from_utf8(out.stdout).unwrap()
}

fn run_documented(commands: &[String], name: &str) {
    let dir = example_project(name);
    for command in commands {
        let words: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(words[0], "caveat", "{command}");
        let out = caveat_in(&dir, &words[1..]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "`{command}` failed: {stderr}"
        );
        if words[1] == "snapshot" {
            if let Some(at) = words.iter().position(|w| *w == "-o") {
                let written = std::fs::read_to_string(dir.join(words[at + 1])).unwrap();
                let alone = caveat_in(&dir, &["snapshot"]);
                assert_eq!(
                    written,
                    String::from_utf8(alone.stdout).unwrap(),
                    "{command}"
                );
            }
            continue;
        }
        let pairs = pairs(&words);
        assert!(!pairs.is_empty(), "{command}");
        for (format, file) in pairs {
            let expected = report_alone(&dir, "check", &format);
            let got = match &file {
                Some(file) => std::fs::read_to_string(dir.join(file))
                    .unwrap_or_else(|e| panic!("`{command}`: no {format} report in {file}: {e}")),
                None => String::from_utf8(out.stdout.clone()).unwrap(),
            };
            assert_eq!(
                got,
                expected,
                "`{command}`: the {format} report is not in {}",
                file.as_deref().unwrap_or("stdout")
            );
        }
    }
}

#[test]
fn the_ci_recipes_write_each_report_where_they_say() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ci.md")).unwrap();
    let mut commands = block_commands(&text);
    commands.extend(inline_commands(&text));
    let with_output = commands
        .iter()
        .filter(|c| c.contains("--output") || c.contains(" -o "))
        .count();
    assert!(with_output >= 3, "{commands:#?}");
    run_documented(&commands, "ci");
}

#[test]
fn the_readme_examples_of_outputs_write_each_report_where_they_say() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let commands = inline_commands(&text);
    assert!(!commands.is_empty());
    run_documented(&commands, "readme");
}
