//! Runs that would pass without checking anything: an empty policy file, policies without a
//! rule, a data file without records, a run without records. Each is a warning (on stderr, in
//! JSON `warnings`, and failing `--fail-on warn`), never a silent pass.

use std::path::Path;

use crate::check::PolicyInput;
use crate::compile::Program;
use crate::diagnostic::{Code, Diag};
use crate::source::{SourceFile, Span};

/// A warning for each policy file that holds nothing but comments and blank lines.
pub fn empty_policy_files(policies: &[PolicyInput]) -> Vec<Diag> {
    policies
        .iter()
        .filter_map(|policy| {
            let text = std::fs::read_to_string(&policy.path).ok()?;
            // Comments end at any line end, a lone CR too (as the parser has it).
            let empty = crate::syntax::tokens::tokens(text.trim_start_matches('\u{feff}'))
                .iter()
                .all(|token| token.kind == crate::syntax::tokens::Kind::Comment);
            empty.then(|| {
                let source = SourceFile::new(policy.path.display().to_string(), text);
                Diag::warning(
                    Code::InputEmptyPolicy,
                    format!("policy file `{}` is empty", policy.path.display()),
                )
                .label(&source, Span::new(0, 0), "no statements in this file")
                .help("write rules in it, or leave it out of the run")
            })
        })
        .collect()
}

/// A warning when the policies of a run hold no rule: every record would pass.
pub fn no_rules(program: &Program, policies: &[PolicyInput]) -> Option<Diag> {
    if !program.rules.is_empty() || policies.is_empty() {
        return None;
    }
    let names: Vec<String> = policies
        .iter()
        .map(|p| format!("`{}`", p.path.display()))
        .collect();
    Some(
        Diag::warning(
            Code::InputNoRules,
            format!(
                "the policies hold no rules, so every record passes: {}",
                names.join(", ")
            ),
        )
        .help("give the policy files or folders that hold the rules (`deny`, `warn`, `note`, `require`)"),
    )
}

/// A warning for a data file that was read without error and held no record (empty, `[]`, or a
/// CSV file with only its header row); `text` is its text when it is short enough to show.
pub fn empty_data_file(path: &Path, text: Option<String>) -> Diag {
    // Named as findings name it: standard input is `<stdin>`.
    let name = if crate::data::chunk::is_stdin(path) {
        crate::data::chunk::STDIN_NAME.to_string()
    } else {
        path.display().to_string()
    };
    let source = SourceFile::new(name.clone(), text.unwrap_or_default());
    let header = source.text().trim_end().len();
    Diag::warning(
        Code::InputEmptyData,
        format!("data file `{name}` holds no records"),
    )
    .label(&source, Span::new(0, header), "no records")
    .help("nothing in it was checked: fill it, or leave it out of the run")
}

/// The largest data file whose text an [`empty_data_file`] warning shows.
pub const SHOWN_BYTES: u64 = 4096;

/// A warning for a run that checked no record at all, when no data file was warned of as empty
/// already (nor could not be read), and no folder given was warned of as holding nothing (that
/// warning says why): there were no data files to read.
pub fn no_records<'a>(
    records: usize,
    data_files: usize,
    warned: impl IntoIterator<Item = &'a Diag>,
) -> Option<Diag> {
    let told = warned
        .into_iter()
        .any(|d| d.code == Code::InputEmptyData || d.code == Code::IoEmptyFolder);
    (records == 0 && !told).then(|| {
        Diag::warning(
            Code::InputNoRecords,
            format!(
                "no records were checked: the run read {data_files} data file{}",
                if data_files == 1 { "" } else { "s" }
            ),
        )
        .help("give data files (`.yaml`, `.yml`, `.json`, `.jsonl`, `.csv`) or folders that hold some, or set `data` in `caveat.toml`")
    })
}

/// Where a data file's records and errors began in a run's counts: to tell, once it is read,
/// whether it held any record.
pub struct FileStart<'a> {
    /// The data file.
    pub path: &'a Path,
    /// Records read before it.
    pub records: usize,
    /// Data errors before it.
    pub errors: usize,
}

/// Adds an [`empty_data_file`] warning to `result` when the file that began at `start` was read
/// without error and held no record.
pub fn check_file_read(start: Option<FileStart<'_>>, result: &mut crate::report::RunResult) {
    let Some(start) = start else { return };
    if result.summary.records > start.records || result.data_errors.len() > start.errors {
        return;
    }
    // Standard input is gone once read: no text to show (and no file named `-` to read instead).
    let stdin = crate::data::chunk::is_stdin(start.path);
    let small = !stdin && std::fs::metadata(start.path).is_ok_and(|m| m.len() <= SHOWN_BYTES);
    let text = small
        .then(|| std::fs::read_to_string(start.path).ok())
        .flatten();
    result
        .policy_warnings
        .push(empty_data_file(start.path, text));
}
