//! `caveat snapshot`: every record's outcome, one line each, sorted: a text file to commit, so
//! that a policy change shows its effect on real records in its own diff.
//!
//! A line is `RECORD<TAB>EFFECT<TAB>RULE` for each finding, and `RECORD<TAB>pass` for a record
//! without one; data errors are `FILE:LINE:COLUMN<TAB>unreadable<TAB>CODE`. The lines do not
//! depend on `--jobs` or on the order of the files.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::check::{InputArgs, Prepared, prepare_or_report};
use super::fmt::write_atomically;
use super::{Exit, print_errors};
use crate::diagnostic::{Code, Diag};
use crate::report::{CheckedRecord, Reported, Sink};
use crate::run;

/// The arguments of `caveat snapshot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to read, as for `caveat check`.
    #[command(flatten)]
    pub input: InputArgs,
    /// Write the snapshot to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE", conflicts_with = "check")]
    pub output: Option<PathBuf>,
    /// Compare with the snapshot in FILE: print a diff and exit 1 if the outcomes changed.
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,
}

/// A record: its file and its position among the file's records.
type RecordId = (Arc<str>, usize);

/// Collects the outcome lines.
#[derive(Default)]
struct Outcomes {
    /// Each line: the record's name, the record (none for a group's finding) and the rest.
    lines: Vec<(String, Option<RecordId>, String)>,
    /// The record read last, until a finding or the next record says it did not pass.
    pending: Option<(String, RecordId)>,
    /// Records that passed as they were read.
    passed: Vec<(String, RecordId)>,
    /// Records that a rule across records without `per` flagged once every record was read.
    flagged_late: HashSet<RecordId>,
}

/// A name on one line: tabs and line breaks would break the format, so they are shown as
/// `\u{…}` like every other control character (as spaces, `a\tb` and `a b` were one name).
fn clean(text: &str) -> String {
    crate::report::text::one_line(text).into_owned()
}

impl Outcomes {
    fn close_record(&mut self) {
        if let Some(record) = self.pending.take() {
            self.passed.push(record);
        }
    }

    /// Ends the run: each record that passed as it was read, and was not flagged once every
    /// record was read, passes.
    fn finish(&mut self) {
        self.close_record();
        for (name, id) in std::mem::take(&mut self.passed) {
            if !self.flagged_late.contains(&id) {
                self.lines.push((name, Some(id), "pass".to_string()));
            }
        }
    }

    /// The lines, sorted. A name that several records share (ids that restart in each file)
    /// is told apart by the record's file and position, so that an outcome moving from one such
    /// record to another changes the snapshot.
    fn into_lines(self) -> Vec<String> {
        let mut records: HashMap<&str, HashSet<&RecordId>> = HashMap::new();
        for (name, id, _) in &self.lines {
            if let Some(id) = id {
                records.entry(name).or_default().insert(id);
            }
        }
        let shared: HashSet<&str> = records
            .into_iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|(name, _)| name)
            .collect();
        let mut lines: Vec<String> = self
            .lines
            .iter()
            .map(|(name, id, rest)| match id {
                Some((file, index)) if shared.contains(name.as_str()) => {
                    format!("{name} ({} #{})\t{rest}", clean(file), index + 1)
                }
                _ => format!("{name}\t{rest}"),
            })
            .collect();
        lines.sort();
        lines
    }
}

impl Sink for Outcomes {
    fn finding(&mut self, f: &Reported) -> std::io::Result<()> {
        let record = clean(&f.record);
        let id = (f.group.is_none()).then(|| (Arc::from(f.at.source.name()), f.index));
        if !f.across {
            // A finding of the record read last, as it was read.
            self.pending = None;
        } else if let Some(id) = &id {
            // Found once every record was read, of a record (a rule that reads `all.`); a
            // group rule's finding is its group's, which is no record.
            self.flagged_late.insert(id.clone());
        }
        let outcome = format!("{}\t{}", f.outcome.name(), clean(&f.rule_id));
        // A group's records are in its finding: a line each, so that a record joining or
        // leaving the group changes the snapshot; none of them passes.
        if let Some(group) = &f.group {
            for member in &group.records {
                let id = (member.file.clone(), member.index);
                self.flagged_late.insert(id.clone());
                self.lines.push((
                    clean(&member.record),
                    Some(id),
                    format!("{outcome}\tin {record}"),
                ));
            }
        }
        self.lines.push((record, id, outcome));
        Ok(())
    }

    fn wants_records(&self) -> bool {
        true
    }

    fn record(&mut self, record: &CheckedRecord) -> std::io::Result<()> {
        self.close_record();
        self.pending = Some((clean(&record.name), (record.file.clone(), record.index)));
        Ok(())
    }
}

/// Runs `caveat snapshot`.
pub fn run(args: &Args) -> Exit {
    let Prepared {
        options,
        inputs,
        program,
        warnings,
        ..
    } = match prepare_or_report(&args.input) {
        Some(prepared) => prepared,
        None => return Exit::Trouble,
    };
    let mut outcomes = Outcomes::default();
    let result = match run::evaluate(&program, &inputs, &options, &mut outcomes) {
        Ok(result) => result,
        Err(e) => {
            eprintln!("caveat: {e}");
            return Exit::Trouble;
        }
    };
    outcomes.finish();
    // On stderr, so that the snapshot file does not change with the day it was written.
    eprintln!(
        "caveat: outcomes {}",
        super::check::today_of(&args.input).describe()
    );
    print_errors(&warnings);
    print_errors(&result.policy_warnings);
    for diag in &result.data_errors {
        // A file that cannot be read at all is named too, at 1:1.
        let at = diag
            .place()
            .map_or_else(String::new, |(file, line, column)| {
                format!("{file}:{line}:{column}")
            });
        outcomes
            .lines
            .push((clean(&at), None, format!("unreadable\t{}", diag.code)));
    }
    let mut text = outcomes.into_lines().join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    match (&args.check, &args.output) {
        (Some(path), _) => compare(path, &text),
        (None, Some(path)) if is_input(path, &program, &inputs) => {
            print_errors(&[Diag::error(
                Code::CliOutputIsInput,
                format!(
                    "the snapshot file `{}` is one of the files this run reads",
                    path.display()
                ),
            )
            .help("write the snapshot to another file; caveat never overwrites its inputs")]);
            Exit::Trouble
        }
        (None, Some(path)) => match crate::project::check_writable(path)
            .map_err(|diag| vec![diag])
            .and_then(|()| {
                write_atomically(path, &text)
                    .map_err(|e| vec![Diag::io(Code::IoWrite, "cannot write", path.display(), &e)])
            }) {
            Ok(()) => Exit::Clean,
            Err(diags) => {
                print_errors(&diags);
                Exit::Trouble
            }
        },
        (None, None) => super::write_stdout(text.as_bytes()),
    }
}

/// Compares the outcomes with a committed snapshot.
fn compare(path: &std::path::Path, text: &str) -> Exit {
    // The snapshot is a file of the project like any input: a link out of it is refused, so
    // that its diff cannot show another file's bytes.
    let read = crate::project::Project::current()
        .check_file(path)
        .and_then(|()| {
            let max = crate::data::Limits::default().max_file_bytes;
            crate::project::read_regular(path, max, Some("--max-file-size"))
        })
        .and_then(|bytes| {
            let name = path.display().to_string();
            crate::source::text_from_bytes(name, bytes, 1, crate::source::TextKind::Snapshot)
        });
    let old = match read {
        Ok(old) => old.text().to_string(),
        // The file is there but may not be read (or is no text): its own help says why.
        Err(diag) if diag.code != Code::IoRead => {
            print_errors(&[diag]);
            return Exit::Trouble;
        }
        Err(diag) => {
            print_errors(&[diag.help("write one first: `caveat snapshot -o FILE`")]);
            return Exit::Trouble;
        }
    };
    if old == text {
        return Exit::Clean;
    }
    let name = path.display().to_string();
    let diff = similar::TextDiff::from_lines(old.as_str(), text);
    let shown = diff
        .unified_diff()
        .context_radius(1)
        .header(&name, "now")
        .to_string();
    let (removed, added) = diff.ops().iter().fold((0, 0), |(r, a), op| {
        let (_, old_range, new_range) = op.as_tag_tuple();
        match op.tag() {
            similar::DiffTag::Equal => (r, a),
            _ => (r + old_range.len(), a + new_range.len()),
        }
    });
    if super::write_stdout(shown.as_bytes()) != Exit::Clean {
        return Exit::Trouble;
    }
    eprintln!(
        "caveat: the outcomes changed: {removed} line{} gone, {added} new; if that is intended, \
         write the snapshot again with `{}`",
        if removed == 1 { "" } else { "s" },
        rewrite_command(std::env::args().skip(1))
    );
    Exit::Findings
}

/// The command that wrote this run's check as a snapshot: the same arguments (paths, `--today`,
/// reading options), `--check FILE` turned into `-o FILE`, each quoted for a shell if need be.
fn rewrite_command(args: impl Iterator<Item = String>) -> String {
    let mut words = vec!["caveat".to_string()];
    for arg in args {
        let arg = match arg.strip_prefix("--check=") {
            Some(file) => {
                words.push("-o".into());
                file.to_string()
            }
            None if arg == "--check" => "-o".to_string(),
            None => arg,
        };
        words.push(super::shell_word(&arg));
    }
    words.join(" ")
}

/// Whether `path` is one of the files of `inputs` or a policy file `program` was compiled from,
/// an import too (whatever links lead to it).
fn is_input(
    path: &std::path::Path,
    program: &crate::compile::Program,
    inputs: &run::Inputs,
) -> bool {
    let Some(output) = crate::project::identity(path) else {
        return false;
    };
    inputs
        .policies
        .iter()
        .map(|p| p.path.as_path())
        .chain(program.policy_files.iter().map(PathBuf::as_path))
        .chain(inputs.data.iter().map(|(p, _)| p.as_path()))
        .any(|p| crate::project::identity(p) == Some(output))
}
