//! `caveat diff --base OLD --head NEW DATA...`: the records whose outcomes a policy change
//! changes. Both policy sets are compiled into one program, so every record is read and
//! evaluated once for both; findings of the base's rules and of the head's are then compared
//! record by record, by rule id.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde::Serialize;

use super::check::{InputArgs, prepare_inputs, today_of};
use super::{Exit, print_errors};
use crate::check::PolicyInput;
use crate::compile::Program;
use crate::diagnostic::{Code, Diag};
use crate::report::{Reported, Sink};

/// The arguments of `caveat diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policies before the change: a file or folder, or a git revision (`main`, `HEAD~1`) of
    /// the `--head` policies, read through `git` without touching the work tree.
    #[arg(long, value_name = "OLD")]
    pub base: String,
    /// The policies after the change (default: the config's `policies`, or `policies/`).
    #[arg(long, value_name = "NEW")]
    pub head: Option<PathBuf>,
    /// How to print the changes.
    #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
    pub format: DiffFormat,
    /// Exit 1 when some outcome changes (as `git diff --exit-code`).
    #[arg(long)]
    pub exit_code: bool,
    /// The data, and how to read it, as for `caveat check`.
    #[command(flatten)]
    pub input: InputArgs,
}

/// The output formats of `caveat diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Changes grouped by rule, with counts.
    Human,
    /// One JSON object: the changes and their counts.
    Json,
}

/// How one rule's outcome on one record changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ChangeKind {
    /// A finding the base did not give.
    New,
    /// A finding the head no longer gives.
    Resolved,
    /// A finding of both, with another effect or message.
    Changed,
}

/// What one side says of a record under one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Side {
    /// `deny`, `warn`, `note`, `error` or `waived`.
    pub effect: &'static str,
    /// The message.
    pub message: Arc<str>,
}

/// One changed outcome.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Change {
    /// The rule id.
    pub rule: Arc<str>,
    /// The record's name.
    pub record: Arc<str>,
    /// What changed.
    pub change: ChangeKind,
    /// The data file.
    pub file: String,
    /// 1-based line of the deciding value (of the head's finding, else the base's).
    pub line: usize,
    /// Its column.
    pub column: usize,
    /// The base's finding, if any.
    pub base: Option<Side>,
    /// The head's finding, if any.
    pub head: Option<Side>,
    /// Both give a finding and its message changed (a generated message changing with the rule's
    /// text aside).
    #[serde(skip)]
    pub message_changed: bool,
    /// For a group finding of both: the records the head's group has and the base's has not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub joined: Vec<Arc<str>>,
    /// For a group finding of both: the records the base's group has and the head's has not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left: Vec<Arc<str>>,
}

/// A record of a group: its file, its position in the file and its name.
type MemberId = (Arc<str>, usize, Arc<str>);

/// The records of a group finding (none for a finding of one record).
fn members(finding: &Reported) -> Vec<MemberId> {
    finding.group.as_ref().map_or_else(Vec::new, |group| {
        group
            .records
            .iter()
            .map(|m| (m.file.clone(), m.index, m.record.clone()))
            .collect()
    })
}

/// Counts of a diff.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct DiffSummary {
    /// Records read.
    pub records: usize,
    /// Records with at least one change.
    pub records_changed: usize,
    /// Groups (of the rules across records) with at least one change.
    #[serde(skip_serializing_if = "is_zero")]
    pub groups_changed: usize,
    /// New findings.
    pub new: usize,
    /// Resolved findings.
    pub resolved: usize,
    /// Findings whose effect or message changed.
    pub changed: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What a finding of a rule across records is about: a record (its file and index) or a group
/// (`None`: a group is known by its name, whichever record it starts at), and the name.
type About = (Option<(Arc<str>, usize)>, Arc<str>);

/// Collects the changes record by record as the run reports them. The run reports only the
/// findings that differ between the two sets, in record order; the findings of rules across
/// records come once every record is read, and are compared by the record or group they name.
struct DiffSink<'p> {
    /// The program of both policy sets.
    program: &'p Program,
    /// The index of the head's first rule in the combined program.
    split: usize,
    /// The findings of the record being read.
    current: Vec<Reported>,
    /// The findings found once every record was read (groups, and records of rules reading
    /// `all.`), by what they are about, in the order they came.
    across: Vec<(About, Vec<Reported>)>,
    /// The records (file and index) counted as changed while they were read.
    changed_records: std::collections::HashSet<(Arc<str>, usize)>,
    /// The ids of rules found on one side as the records are read and on the other once every
    /// record is read (one side reads `all.`): their findings of a record wait to be paired.
    mixed: std::collections::HashSet<Arc<str>>,
    changes: Vec<Change>,
    summary: DiffSummary,
}

impl DiffSink<'_> {
    /// Compares the findings kept of the rules across records, each group (or record) alone. A
    /// group that changed changes its records' outcomes: all of them when the group's finding
    /// came, went or changed its effect, those that joined or left it otherwise.
    fn finish(&mut self) {
        self.close_record();
        for ((record, _), findings) in std::mem::take(&mut self.across) {
            self.current = findings;
            let Some(affected) = self.compare() else {
                continue;
            };
            match record {
                None => {
                    self.summary.groups_changed += 1;
                    for (file, index, _) in affected {
                        if self.changed_records.insert((file, index)) {
                            self.summary.records_changed += 1;
                        }
                    }
                }
                Some(record) => {
                    if self.changed_records.insert(record) {
                        self.summary.records_changed += 1;
                    }
                }
            }
        }
    }

    /// Compares the base's and the head's findings of the record just read.
    fn close_record(&mut self) {
        let record = self
            .current
            .first()
            .map(|f| (Arc::from(f.at.source.name()), f.index));
        if self.compare().is_some()
            && let Some(record) = record
            && self.changed_records.insert(record)
        {
            self.summary.records_changed += 1;
        }
    }

    /// Compares the base's and the head's findings in `current`, rule by rule, and empties it:
    /// `None` when nothing changed, else the records of the groups whose outcome changed (see
    /// [`DiffSink::finish`]).
    fn compare(&mut self) -> Option<Vec<MemberId>> {
        if self.current.is_empty() {
            return None;
        }
        let mut affected = Vec::new();
        let mut by_rule: BTreeMap<Arc<str>, (Option<&Reported>, Option<&Reported>)> =
            BTreeMap::new();
        for finding in &self.current {
            let entry = by_rule.entry(finding.rule_id.clone()).or_default();
            if finding.rule.is_some_and(|rule| rule < self.split) {
                entry.0 = Some(finding);
            } else {
                entry.1 = Some(finding);
            }
        }
        let side = |f: &Reported| Side {
            effect: f.outcome.name(),
            message: f.message.clone(),
        };
        let before = self.changes.len();
        for (rule, (base, head)) in by_rule {
            let message_changed = match (base, head) {
                (Some(b), Some(h)) => match (b.rule, h.rule) {
                    (Some(br), Some(hr)) => crate::run::message_changed(
                        self.program,
                        (br, &b.message),
                        (hr, &h.message),
                    ),
                    _ => false,
                },
                _ => false,
            };
            let (before, after) = (
                base.map(members).unwrap_or_default(),
                head.map(members).unwrap_or_default(),
            );
            let (was, is): (HashSet<&MemberId>, HashSet<&MemberId>) =
                (before.iter().collect(), after.iter().collect());
            let joined: Vec<&MemberId> = after.iter().filter(|m| !was.contains(m)).collect();
            let left: Vec<&MemberId> = before.iter().filter(|m| !is.contains(m)).collect();
            let change = match (base, head) {
                (None, Some(_)) => {
                    affected.extend(after.iter().cloned());
                    ChangeKind::New
                }
                (Some(_), None) => {
                    affected.extend(before.iter().cloned());
                    ChangeKind::Resolved
                }
                (Some(b), Some(h)) if b.outcome != h.outcome => {
                    affected.extend(before.iter().chain(&after).cloned());
                    ChangeKind::Changed
                }
                (Some(_), Some(_)) if message_changed || !joined.is_empty() || !left.is_empty() => {
                    affected.extend(joined.iter().chain(&left).map(|m| (*m).clone()));
                    ChangeKind::Changed
                }
                _ => continue,
            };
            let names = |ms: &[&MemberId]| {
                if matches!(change, ChangeKind::Changed) {
                    ms.iter().map(|(_, _, name)| name.clone()).collect()
                } else {
                    Vec::new()
                }
            };
            let (joined, left) = (names(&joined), names(&left));
            let Some(at) = head.or(base) else { continue };
            let (file, line, column) = at.at.place();
            match change {
                ChangeKind::New => self.summary.new += 1,
                ChangeKind::Resolved => self.summary.resolved += 1,
                ChangeKind::Changed => self.summary.changed += 1,
            }
            self.changes.push(Change {
                rule,
                record: at.record.clone(),
                change,
                file: file.to_string(),
                line,
                column,
                base: base.map(side),
                head: head.map(side),
                message_changed,
                joined,
                left,
            });
        }
        self.current.clear();
        (self.changes.len() > before).then_some(affected)
    }
}

impl Sink for DiffSink<'_> {
    fn finding(&mut self, finding: &Reported) -> std::io::Result<()> {
        if finding.across || self.mixed.contains(&finding.rule_id) {
            let record = (Arc::from(finding.at.source.name()), finding.index);
            let about: About = (
                finding.group.is_none().then_some(record),
                finding.record.clone(),
            );
            match self.across.iter_mut().find(|(a, _)| *a == about) {
                Some((_, findings)) => findings.push(finding.clone()),
                None => self.across.push((about, vec![finding.clone()])),
            }
            return Ok(());
        }
        let same_record = self.current.first().is_some_and(|f| {
            f.index == finding.index && f.at.source.name() == finding.at.source.name()
        });
        if !same_record {
            self.close_record();
        }
        self.current.push(finding.clone());
        Ok(())
    }
}

/// The ids of the rules that are across records (read `all.` or group) on one side of the
/// combined program and not on the other.
fn mixed_rules(program: &Program, split: usize) -> std::collections::HashSet<Arc<str>> {
    let sides = |base: bool| -> std::collections::HashMap<&str, bool> {
        program
            .rules
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i < split) == base)
            .map(|(_, r)| (&*r.id, r.across.is_some()))
            .collect()
    };
    let (base, head) = (sides(true), sides(false));
    base.iter()
        .filter(|(id, across)| head.get(*id).is_some_and(|h| h != *across))
        .map(|(id, _)| Arc::from(*id))
        .collect()
}

/// Runs `caveat diff`.
pub fn run(args: &Args) -> Exit {
    let (config, options, inputs) = match prepare_inputs(&args.input) {
        Ok(prepared) => prepared,
        Err(errors) => {
            print_errors(&errors);
            return Exit::Trouble;
        }
    };
    // The policies are walked as the data are: `--exclude`, else the config's (the one
    // `--config` names).
    let (head_paths, _) = match super::policy_paths(args.head.as_slice()) {
        Ok(found) => found,
        Err(diag) => {
            print_errors(&[diag]);
            return Exit::Trouble;
        }
    };
    let exclude = super::check::exclude(&args.input, &config);
    let base = match base_policies(&args.base, &head_paths) {
        Ok(base) => base,
        Err(diag) => {
            print_errors(&[diag]);
            return Exit::Trouble;
        }
    };
    let exit = diff(args, &options, &inputs, &base, (&head_paths, &exclude));
    if let Some((folder, _)) = base.temporary {
        let _ = std::fs::remove_dir_all(folder);
    }
    exit
}

fn diff(
    args: &Args,
    options: &crate::run::RunOptions,
    inputs: &crate::run::Inputs,
    base: &BasePolicies,
    (head, exclude): (&[PathBuf], &[String]),
) -> Exit {
    let project = super::project(args.input.config.as_deref());
    let policies = |paths: &[PathBuf],
                    project: &crate::project::Project|
     -> Result<Vec<PolicyInput>, Vec<Diag>> {
        let found = crate::run::discover(paths, exclude, crate::data::Format::Yaml, project)?;
        if found.policies.is_empty() {
            return Err(vec![
                Diag::error(
                    Code::IoNoPolicies,
                    format!(
                        "no policy files in `{}`",
                        paths
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join("`, `")
                    ),
                )
                .help("give `--base` and `--head` policy files or folders"),
            ]);
        }
        Ok(found.policies)
    };
    // A git revision may predate the policies: then the base has none, and every finding is new.
    let base_inputs = if base.paths.is_empty() && base.temporary.is_some() {
        Ok(Vec::new())
    } else if let Some((folder, _)) = &base.temporary {
        // The base read from git lies in caveat's own private folder.
        policies(&base.paths, &crate::project::Project::new(folder, false))
    } else {
        policies(&base.paths, &project)
    };
    let compiled = base_inputs.and_then(|base_inputs| {
        let head = policies(head, &project)?;
        crate::check::check_pair(&base_inputs, &head, base.temporary.clone())
    });
    let (mut program, split) = match compiled {
        Ok(compiled) => compiled,
        Err(errors) => {
            print_errors(&errors);
            return Exit::Trouble;
        }
    };
    let today = today_of(&args.input);
    let _ = program.apply_today(today.date);
    let mut sink = DiffSink {
        program: &program,
        split,
        current: Vec::new(),
        across: Vec::new(),
        changed_records: std::collections::HashSet::new(),
        mixed: mixed_rules(&program, split),
        changes: Vec::new(),
        summary: DiffSummary::default(),
    };
    let options = crate::run::RunOptions {
        paired: Some(split),
        ..options.clone()
    };
    let result = match crate::run::evaluate(&program, inputs, &options, &mut sink) {
        Ok(result) => result,
        Err(e) => {
            eprintln!("caveat: {e}");
            return Exit::Trouble;
        }
    };
    sink.finish();
    sink.summary.records = result.summary.records;
    let mut changes = sink.changes;
    changes.sort_by(|a, b| (&a.rule, a.change).cmp(&(&b.rule, b.change)));
    let text = match args.format {
        DiffFormat::Human => format!(
            "outcomes {}\n\n{}",
            today.describe(),
            human(&changes, &sink.summary)
        ),
        DiffFormat::Json => json(&changes, &sink.summary, &result.data_errors, today.date),
    };
    if super::write_stdout(text.as_bytes()) != Exit::Clean {
        return Exit::Trouble;
    }
    print_errors(&result.data_errors);
    if !result.data_errors.is_empty() {
        Exit::Trouble
    } else if args.exit_code && !changes.is_empty() {
        Exit::Findings
    } else {
        Exit::Clean
    }
}

/// The changes grouped by rule, each group with its counts, then the totals.
fn human(changes: &[Change], summary: &DiffSummary) -> String {
    let mut text = String::new();
    for group in changes.chunk_by(|a, b| a.rule == b.rule) {
        let Some(first) = group.first() else { continue };
        let count = |kind| group.iter().filter(|c| c.change == kind).count();
        let counts: Vec<String> = [
            (ChangeKind::New, "new"),
            (ChangeKind::Resolved, "resolved"),
            (ChangeKind::Changed, "changed"),
        ]
        .iter()
        .filter(|(kind, _)| count(*kind) > 0)
        .map(|(kind, word)| format!("{} {word}", count(*kind)))
        .collect();
        text.push_str(&format!(
            "{}: {}\n",
            crate::report::text::one_line(&first.rule),
            counts.join(", ")
        ));
        for change in group {
            let place = format!("({}:{}:{})", change.file, change.line, change.column);
            let line = match (&change.base, &change.head) {
                (None, Some(h)) => {
                    format!(
                        "  + {:<6} {}: {} {place}",
                        h.effect, change.record, h.message
                    )
                }
                (Some(b), None) => {
                    format!(
                        "  - {:<6} {}: {} {place}",
                        b.effect, change.record, b.message
                    )
                }
                (Some(b), Some(h)) => {
                    let effect = if b.effect == h.effect {
                        format!("{:<6}", h.effect)
                    } else {
                        format!("{} → {}", b.effect, h.effect)
                    };
                    let message = if change.message_changed {
                        format!("{} → {}", b.message, h.message)
                    } else {
                        h.message.to_string()
                    };
                    let mut line = format!("  ~ {effect} {}: {message} {place}", change.record);
                    // The records that joined or left the group.
                    for (sign, names) in [("+", &change.joined), ("-", &change.left)] {
                        if !names.is_empty() {
                            let shown: Vec<&str> = names.iter().take(10).map(|n| &**n).collect();
                            let more = names.len().saturating_sub(10);
                            line.push_str(&format!(
                                "; {sign}{} record{} {}{}",
                                names.len(),
                                if names.len() == 1 { "" } else { "s" },
                                shown.join(", "),
                                if more > 0 {
                                    format!(" and {more} more")
                                } else {
                                    String::new()
                                }
                            ));
                        }
                    }
                    line
                }
                (None, None) => continue,
            };
            // Record names and messages come from the data: control characters are shown.
            text.push_str(&crate::report::text::one_line(&line));
            text.push('\n');
        }
        text.push('\n');
    }
    let groups = match summary.groups_changed {
        0 => String::new(),
        1 => " and 1 group".to_string(),
        n => format!(" and {n} groups"),
    };
    text.push_str(&format!(
        "{} of {} record{}{groups} change: {} new, {} resolved, {} changed\n",
        summary.records_changed,
        summary.records,
        if summary.records == 1 { "" } else { "s" },
        summary.new,
        summary.resolved,
        summary.changed
    ));
    text
}

/// The changes, the data files or records that could not be read (as in `check`'s JSON), and the
/// counts.
fn json(
    changes: &[Change],
    summary: &DiffSummary,
    errors: &[Diag],
    today: jiff::civil::Date,
) -> String {
    #[derive(Serialize)]
    struct Report<'a> {
        /// The date the waivers were applied as of.
        today: String,
        changes: &'a [Change],
        errors: Vec<crate::report::json::JsonError>,
        summary: &'a DiffSummary,
    }
    let errors = errors.iter().map(crate::report::json::error).collect();
    let report = Report {
        today: today.to_string(),
        changes,
        errors,
        summary,
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}

/// The base's policy paths and, when they were read from git, the temporary folder that holds
/// them (removed afterwards) with the `REV:` its files are shown under.
struct BasePolicies {
    paths: Vec<PathBuf>,
    temporary: Option<(PathBuf, String)>,
}

/// `--base` as paths: an existing file or folder as is; anything else is a git revision, whose
/// version of the head's policy files is written to a temporary folder.
fn base_policies(base: &str, head: &[PathBuf]) -> Result<BasePolicies, Diag> {
    if Path::new(base).exists() {
        return Ok(BasePolicies {
            paths: vec![PathBuf::from(base)],
            temporary: None,
        });
    }
    let folder = private_folder()?;
    let mut paths = Vec::new();
    for path in head {
        match export_revision(base, path, &folder) {
            Ok(Some(exported)) => paths.push(exported),
            // Not in the revision: the base has no such policies.
            Ok(None) => {}
            Err(diag) => {
                let _ = std::fs::remove_dir_all(&folder);
                return Err(diag);
            }
        }
    }
    Ok(BasePolicies {
        paths,
        temporary: Some((folder, format!("{base}:"))),
    })
}

/// A private folder with an unpredictable name, created atomically (mode 0700, by the
/// `tempfile` crate), so that no other user can plant files or links in it; the caller removes
/// it after the run.
fn private_folder() -> Result<PathBuf, Diag> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("caveat-diff-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder.tempdir().map(tempfile::TempDir::keep).map_err(|e| {
        Diag::io(
            Code::DiffGit,
            "cannot create a temporary folder in",
            std::env::temp_dir().display(),
            &e,
        )
    })
}

/// Writes the files under `path` as they are at `revision` into `into`, and returns where
/// `path` now is there; `None` when the revision has no such file or folder.
fn export_revision(revision: &str, path: &Path, into: &Path) -> Result<Option<PathBuf>, Diag> {
    let git_error = |why: String| {
        Diag::error(
            Code::DiffGit,
            format!("cannot read `{}` at `{revision}`: {why}", path.display()),
        )
        .help("`--base` takes a policy file or folder, or a git revision of the `--head` policies")
    };
    let absolute = std::fs::canonicalize(path).map_err(|e| git_error(e.to_string()))?;
    let folder = if absolute.is_dir() {
        absolute.clone()
    } else {
        absolute.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let git = |args: &[&str]| -> Result<Vec<u8>, Diag> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&folder)
            .args(args)
            .output()
            .map_err(|e| git_error(format!("cannot run git: {e}")))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(git_error(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ))
        }
    };
    let top = String::from_utf8_lossy(&git(&["rev-parse", "--show-toplevel"])?)
        .trim()
        .to_string();
    let top = std::fs::canonicalize(&top).map_err(|e| git_error(e.to_string()))?;
    let relative = absolute
        .strip_prefix(&top)
        .map_err(|_| git_error("it is outside the repository".into()))?
        .to_path_buf();
    let spec = format!("{revision}^{{commit}}");
    git(&["rev-parse", "--verify", "--quiet", &spec])
        .map_err(|_| git_error(format!("`{revision}` is neither a path nor a git revision")))?;
    let pathspec = if relative.as_os_str().is_empty() {
        ".".to_string()
    } else {
        relative.display().to_string()
    };
    let listing = git(&[
        "-C",
        &top.display().to_string(),
        "ls-tree",
        "-r",
        "-z",
        "--name-only",
        revision,
        "--",
        &pathspec,
    ])?;
    for name in listing.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name).into_owned();
        let blob = git(&[
            "-C",
            &top.display().to_string(),
            "show",
            &format!("{revision}:{name}"),
        ])?;
        let target = into.join(&name);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| git_error(e.to_string()))?;
        }
        // Exclusive creation: never through a link, never over a file already there.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .and_then(|mut file| std::io::Write::write_all(&mut file, &blob))
            .map_err(|e| git_error(e.to_string()))?;
    }
    if listing.is_empty() {
        return Ok(None);
    }
    Ok(Some(into.join(relative)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used, reason = "a test fails by panicking")]
    fn diff_base_folder_is_private_and_unpredictable() {
        let (a, b) = (private_folder().unwrap(), private_folder().unwrap());
        assert_ne!(a, b);
        let pid_name = format!("caveat-diff-{}", std::process::id());
        assert_ne!(a.file_name().unwrap().to_string_lossy(), pid_name);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&a).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        for folder in [a, b] {
            std::fs::remove_dir_all(folder).unwrap();
        }
    }
}
