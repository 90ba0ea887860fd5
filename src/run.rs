//! A whole `check` run: find the policy and data files, check the policies, read every record and
//! evaluate it. The result is what the reports render.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::check::{self, PolicyInput};
use crate::compile::{Program, Segment};
use rayon::prelude::*;

use crate::data::chunk::Chunks;
use crate::data::{self, Format, LoadOptions, Record};
use crate::diagnostic::Diag;
use crate::eval::{self, Finding, Outcome};
use crate::source::{Location, Source, SourceFile, Span};

/// What to check and how.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Policy files, data files and folders, in the order given.
    pub paths: Vec<PathBuf>,
    /// How to find records in data files.
    pub load: LoadOptions,
    /// The dotted path of the field that names a record (`id` by default).
    pub id_field: Vec<String>,
    /// How many threads read and evaluate chunks of a file (1: all on this thread).
    pub jobs: usize,
    /// The size chunks grow to before they are cut (0: the default, 1 MiB).
    pub chunk_bytes: usize,
    /// Explain each finding: the clauses that decided it, with the values they read.
    pub explain: bool,
    /// For a program that pairs two policy sets (`caveat diff`): the index of the second set's
    /// first rule. Only findings that differ between the sets are then reported.
    pub paired: Option<usize>,
}

/// The files a run reads, sorted into policies and data.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Policy files with their roots.
    pub policies: Vec<PolicyInput>,
    /// Data files with their formats.
    pub data: Vec<(PathBuf, Format)>,
}

/// A finding ready to report: the finding and everything needed to show it.
#[derive(Debug, Clone)]
pub struct Reported {
    /// The rule's index in [`Program::rules`]; `None` for a record that does not conform to the
    /// schema.
    pub rule: Option<usize>,
    /// The rule's id.
    pub rule_id: Arc<str>,
    /// What it says.
    pub outcome: Outcome,
    /// The record's name.
    pub record: Arc<str>,
    /// The record's position among its file's records, from 0.
    pub index: usize,
    /// The value in the record that decided it.
    pub at: Location,
    /// The field path of that value, when it is a field (`vendor`, `buyer.branch`).
    pub field: Option<String>,
    /// The message.
    pub message: Arc<str>,
    /// The rule, or for an error the expression that failed, in the policy file.
    pub policy: Location,
    /// The rule's `cite`, if any.
    pub cite: Option<Arc<str>>,
    /// For a waived finding: the waiver that covers it.
    pub waiver: Option<WaiverNote>,
    /// With `--explain`: the clauses that decided the finding.
    pub explanation: Option<Arc<[crate::eval::explain::Step]>>,
}

/// What a report says of the waiver that covers a finding.
#[derive(Debug, Clone)]
pub struct WaiverNote {
    /// The outcome the finding would have had.
    pub waived: Outcome,
    /// `because "…"`.
    pub reason: Arc<str>,
    /// `by "…"`.
    pub owner: Option<Arc<str>>,
    /// The last day the waiver applies.
    pub until: jiff::civil::Date,
    /// The waiver statement.
    pub at: Location,
}

impl Reported {
    /// Whether this is a record's conformance error (its rule id is a `caveat::schema::` code).
    pub fn is_conformance(&self) -> bool {
        self.rule_id.starts_with(crate::schema::CODE_PREFIX)
    }
}

/// Counts of a run: records read and findings by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Records read (including records that could not be read).
    pub records: usize,
    /// `deny` findings.
    pub deny: usize,
    /// `warn` findings.
    pub warn: usize,
    /// `note` findings.
    pub note: usize,
    /// `error` findings.
    pub error: usize,
    /// Findings covered by a waiver (left out of JSON when there are none).
    #[serde(skip_serializing_if = "is_zero")]
    pub waived: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    /// Counts one finding.
    pub fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Deny => self.deny += 1,
            Outcome::Warn => self.warn += 1,
            Outcome::Note => self.note += 1,
            Outcome::Error => self.error += 1,
            Outcome::Waived => self.waived += 1,
        }
    }
}

/// Receives a run's findings as they are produced, in output order, so that a report never has
/// to hold them all.
pub trait Sink {
    /// One finding.
    fn finding(&mut self, finding: &Reported) -> std::io::Result<()>;

    /// A renderer the worker threads may use to turn findings into this sink's bytes, if the sink
    /// has one; then the sink gets those bytes through [`Sink::rendered`].
    fn renderer(&self) -> Option<Box<dyn Render + Send + Sync>> {
        None
    }

    /// Writes one finding rendered by [`Sink::renderer`].
    fn rendered(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let _ = bytes;
        Ok(())
    }

    /// Whether the sink wants to hear of every record read ([`Sink::record`]), not only of
    /// findings.
    fn wants_records(&self) -> bool {
        false
    }

    /// A record that was read and evaluated; its findings, if any, follow. Only called when
    /// [`Sink::wants_records`].
    fn record(&mut self, record: &CheckedRecord) -> std::io::Result<()> {
        let _ = record;
        Ok(())
    }

    /// `bytes` more of the data have been read, evaluated and reported (for a progress bar).
    fn progress(&mut self, bytes: usize) {
        let _ = bytes;
    }
}

/// A record that was read and evaluated, for sinks that report every record.
#[derive(Debug, Clone)]
pub struct CheckedRecord {
    /// The data file, as given.
    pub file: Arc<str>,
    /// The record's name.
    pub name: Arc<str>,
    /// Its position among its file's records, from 0.
    pub index: usize,
    /// Where the record is.
    pub at: Location,
    /// Its `vendor` field, when that is a string.
    pub vendor: Option<Arc<str>>,
}

/// Turns a finding into the bytes of an output format.
pub trait Render {
    /// Appends the finding's bytes to `out`.
    fn render(&self, finding: &Reported, out: &mut Vec<u8>);
}

/// Collects findings in memory: for tests and small runs.
impl Sink for Vec<Reported> {
    fn finding(&mut self, finding: &Reported) -> std::io::Result<()> {
        self.push(finding.clone());
        Ok(())
    }
}

/// What a run leaves once its findings have gone to the sink.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Counts.
    pub summary: Summary,
    /// Data files or records that could not be read.
    pub data_errors: Vec<Diag>,
    /// Warnings and notes about the policies: waivers expired, expiring or stale.
    pub policy_warnings: Vec<Diag>,
    /// Which of the program's waivers waived a finding.
    pub used_waivers: Vec<bool>,
    /// Which of the field paths the rules read some record had ([`crate::unseen`]).
    pub fields_seen: Option<crate::unseen::Seen>,
}

/// Sorts the given paths into policy and data files, walking folders in sorted order. Walks
/// skip hidden entries, what `.gitignore` files ignore, and paths matching an `exclude` glob
/// (gitignore syntax, relative to the folder walked); a file named directly is always read.
/// `-` stands for standard input, read as `stdin_format`.
pub fn discover(
    paths: &[PathBuf],
    exclude: &[String],
    stdin_format: Format,
) -> Result<Inputs, Vec<Diag>> {
    let mut inputs = Inputs::default();
    let mut errors = Vec::new();
    for path in paths {
        if path == Path::new(crate::data::chunk::STDIN) {
            inputs.data.push((path.clone(), stdin_format));
        } else if path.is_dir() {
            let mut files = Vec::new();
            walk(path, exclude, &mut files, &mut errors);
            for file in files {
                classify(&file, path, &mut inputs, false, &mut errors);
            }
        } else if path.exists() {
            let root = path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            let root = if root.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                root
            };
            classify(path, &root, &mut inputs, true, &mut errors);
        } else {
            errors.push(Diag::error(
                "caveat::io::not_found",
                format!("cannot read `{}`: no such file or folder", path.display()),
            ));
        }
    }
    // A file named twice (or inside a folder also named) is read once.
    let mut seen = std::collections::HashSet::new();
    inputs.data.retain(|(path, _)| {
        seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()))
    });
    if errors.is_empty() {
        Ok(inputs)
    } else {
        Err(errors)
    }
}

fn walk(folder: &Path, exclude: &[String], files: &mut Vec<PathBuf>, errors: &mut Vec<Diag>) {
    let mut overrides = ignore::overrides::OverrideBuilder::new(folder);
    for glob in exclude {
        if let Err(e) = overrides.add(&format!("!{glob}")) {
            errors.push(
                Diag::error(
                    "caveat::io::bad_glob",
                    format!("`{glob}` is not a valid exclude glob: {e}"),
                )
                .help("globs use gitignore syntax: `archive/`, `*.bak.yaml`, `old/**`"),
            );
            return;
        }
    }
    let overrides = match overrides.build() {
        Ok(overrides) => overrides,
        Err(e) => {
            errors.push(Diag::error(
                "caveat::io::bad_glob",
                format!("the exclude globs are not valid: {e}"),
            ));
            return;
        }
    };
    let walker = ignore::WalkBuilder::new(folder)
        .hidden(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .ignore(false)
        .parents(true)
        .overrides(overrides)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        match entry {
            Ok(entry) if entry.file_type().is_some_and(|t| !t.is_dir()) => {
                files.push(entry.into_path());
            }
            Ok(_) => {}
            Err(e) => errors.push(Diag::io(
                "caveat::io::read",
                "cannot read in the folder",
                folder.display(),
                &e,
            )),
        }
    }
}

fn classify(path: &Path, root: &Path, inputs: &mut Inputs, explicit: bool, errors: &mut Vec<Diag>) {
    if path.extension().is_some_and(|e| e == "policy") {
        inputs.policies.push(PolicyInput {
            path: path.to_path_buf(),
            root: root.to_path_buf(),
        });
    } else if let Some(format) = Format::from_path(path) {
        inputs.data.push((path.to_path_buf(), format));
    } else if explicit {
        errors.push(
            Diag::error(
                "caveat::io::unknown_kind",
                format!("`{}` is neither a policy nor a data file", path.display()),
            )
            .help("policies end in `.policy`; data files in `.yaml`, `.yml`, `.json`, `.jsonl` or `.csv`"),
        );
    }
}

/// Checks and compiles the policies of a run. Lint errors are errors; lint warnings are not
/// computed (see [`compile_linted`]).
pub fn compile(inputs: &Inputs) -> Result<Program, Vec<Diag>> {
    some_policies(inputs)?;
    check::check(&inputs.policies)
}

/// Checks, compiles and lints the policies of a run.
pub fn compile_linted(inputs: &Inputs) -> Result<check::Checked, Vec<Diag>> {
    some_policies(inputs)?;
    check::check_linted(&inputs.policies)
}

/// An error when a run has no policy files.
fn some_policies(inputs: &Inputs) -> Result<(), Vec<Diag>> {
    if inputs.policies.is_empty() {
        return Err(vec![
            Diag::error(
                "caveat::io::no_policies",
                "no policy files to check against",
            )
            .help("give a `.policy` file or a folder that holds some"),
        ]);
    }
    Ok(())
}

/// Reads every data file and evaluates every record against the program, passing each finding to
/// `sink` in output order. Large files are cut into chunks of whole records, read and evaluated
/// on `options.jobs` threads a window of chunks at a time (so memory stays flat), and merged in
/// input order: the output does not depend on the number of jobs. Stops early only if the sink
/// fails to write.
pub fn evaluate(
    program: &Program,
    inputs: &Inputs,
    options: &RunOptions,
    sink: &mut dyn Sink,
) -> std::io::Result<RunResult> {
    let mut result = RunResult {
        used_waivers: vec![false; program.waivers.len()],
        ..RunResult::default()
    };
    let id_field: Vec<Segment> = options
        .id_field
        .iter()
        .map(|s| Segment::Key(s.as_str().into()))
        .collect();
    let jobs = options.jobs.max(1);
    let pool = if jobs > 1 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .stack_size(WORKER_STACK)
            .build()
            .ok()
    } else {
        None
    };
    // `--records` needs each document whole, so such files are not cut.
    let split = options.load.records_path.is_none();
    let renderer = sink.renderer();
    let every_record = sink.wants_records();
    let read_paths = crate::unseen::read_paths(program);
    let mut file_start = None;
    for (path, format) in &inputs.data {
        crate::vacuous::check_file_read(file_start.take(), &mut result);
        file_start = Some(crate::vacuous::FileStart {
            path,
            records: result.summary.records,
            errors: result.data_errors.len(),
        });
        let opened = Chunks::open(path, *format, split)
            .map(|c| c.with_limit(options.load.limits.max_file_bytes));
        let mut chunks = match opened {
            Ok(chunks) if options.chunk_bytes > 0 => chunks.with_target(options.chunk_bytes),
            Ok(chunks) => chunks,
            Err(diag) => {
                result.data_errors.push(diag);
                continue;
            }
        };
        let name = path.display().to_string();
        let mut first_index = 0;
        let mut merge = |outcomes: Vec<ChunkOutcome>, result: &mut RunResult| {
            merge_outcomes(outcomes, &name, &mut first_index, result, &mut *sink)
        };
        let work = |chunk: Result<Source, Diag>| {
            read_chunk(
                program,
                chunk,
                *format,
                options,
                &id_field,
                renderer.as_deref(),
                (every_record, &read_paths),
            )
        };
        let window_size = jobs * 2;
        let Some(pool) = &pool else {
            loop {
                let window: Vec<_> = chunks.by_ref().take(window_size).collect();
                if window.is_empty() {
                    break;
                }
                merge(window.into_iter().map(work).collect(), &mut result)?;
            }
            continue;
        };
        // A pipeline: the pool evaluates one window of chunks while this thread reads the next
        // and merges the one before, in order.
        let mut failure = None;
        pool.in_place_scope(|scope| {
            let mut in_flight = std::collections::VecDeque::new();
            loop {
                let window: Vec<_> = chunks.by_ref().take(window_size).collect();
                let done = window.is_empty();
                if !done {
                    let (send, receive) = std::sync::mpsc::channel();
                    scope.spawn(move |_| {
                        let outcomes: Vec<ChunkOutcome> =
                            window.into_par_iter().map(work).collect();
                        let _ = send.send(outcomes);
                    });
                    in_flight.push_back(receive);
                }
                while in_flight.len() > usize::from(!done) {
                    let Some(receive) = in_flight.pop_front() else {
                        break;
                    };
                    let outcomes = receive.recv().unwrap_or_default();
                    if let Err(e) = merge(outcomes, &mut result) {
                        failure = Some(e);
                        return;
                    }
                }
                if done {
                    return;
                }
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
    }
    crate::vacuous::check_file_read(file_start, &mut result);
    if result.summary.records > 0
        && let Some(seen) = &result.fields_seen
    {
        let unseen = crate::unseen::warnings(program, &read_paths, seen);
        result.policy_warnings.extend(unseen);
    }
    if result.data_errors.is_empty()
        && let Some(warning) = crate::vacuous::no_records(
            result.summary.records,
            inputs.data.len(),
            &result.policy_warnings,
        )
    {
        result.policy_warnings.push(warning);
    }
    result
        .policy_warnings
        .extend(program.stale_waivers(&result.used_waivers));
    Ok(result)
}

/// Hands a window's findings to the sink in order, naming records by their position in the file
/// where they have no id.
fn merge_outcomes(
    outcomes: Vec<ChunkOutcome>,
    name: &str,
    first_index: &mut usize,
    result: &mut RunResult,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    for outcome in outcomes {
        result.summary.records += outcome.summary.records;
        result.data_errors.extend(outcome.errors);
        for (flag, used) in result.used_waivers.iter_mut().zip(&outcome.used_waivers) {
            *flag |= used;
        }
        if let Some(seen) = outcome.fields_seen {
            match &mut result.fields_seen {
                Some(all) => all.merge(seen),
                None => result.fields_seen = Some(seen),
            }
        }
        for item in outcome.findings {
            match item {
                Item::Rendered(outcome_of, range) => {
                    result.summary.count(outcome_of);
                    sink.rendered(outcome.rendered.get(range).unwrap_or(&[]))?;
                }
                Item::Pending(mut finding) => {
                    finding.index += *first_index;
                    if finding.record.is_empty() {
                        finding.record = format!("{name}#{}", finding.index).into();
                    }
                    result.summary.count(finding.outcome);
                    sink.finding(&finding)?;
                }
                Item::Record(mut record) => {
                    record.index += *first_index;
                    if record.name.is_empty() {
                        record.name = format!("{name}#{}", record.index).into();
                    }
                    sink.record(&record)?;
                }
            }
        }
        *first_index += outcome.indexes;
        sink.progress(outcome.bytes);
    }
    Ok(())
}

/// The stack of worker threads: as for the main work thread, nested data needs room.
const WORKER_STACK: usize = 16 << 20;

/// What reading and evaluating one chunk gave.
#[derive(Default)]
struct ChunkOutcome {
    /// Records read, including those that could not be (the findings are counted at the merge).
    summary: Summary,
    /// Record positions the chunk used up.
    indexes: usize,
    /// The size of the chunk's text.
    bytes: usize,
    /// Findings in order.
    findings: Vec<Item>,
    /// The bytes of the findings rendered in the worker.
    rendered: Vec<u8>,
    /// Records that could not be read.
    errors: Vec<Diag>,
    /// Which waivers waived a finding in the chunk.
    used_waivers: Vec<bool>,
    /// Which read field paths the chunk's records had.
    fields_seen: Option<crate::unseen::Seen>,
}

/// A finding of a chunk: rendered already, or left for the merge.
enum Item {
    /// Rendered by the sink's renderer: its outcome and its bytes in the chunk's buffer.
    Rendered(Outcome, std::ops::Range<usize>),
    /// Not rendered: the sink has no renderer, or the record is named by its position in the
    /// file, which is only known at the merge (its name is empty until then).
    Pending(Reported),
    /// A record read, for sinks that want every record (its name is empty, as above, when it
    /// has no id).
    Record(CheckedRecord),
}

fn read_chunk(
    program: &Program,
    chunk: Result<Source, Diag>,
    format: Format,
    options: &RunOptions,
    id_field: &[Segment],
    renderer: Option<&(dyn Render + Send + Sync)>,
    // Whether the sink wants every record, and the field paths to look for in each.
    (every_record, read_paths): (bool, &[crate::unseen::ReadPath]),
) -> ChunkOutcome {
    let mut outcome = ChunkOutcome::default();
    let mut seen = (!read_paths.is_empty()).then(|| crate::unseen::Seen::new(read_paths));
    let source = match chunk {
        Ok(source) => source,
        Err(diag) => {
            outcome.errors.push(diag);
            return outcome;
        }
    };
    let mut evaluator = eval::Evaluator::new(program);
    let mut findings = Vec::new();
    let mut next_index = 0;
    for record in data::read_records(&source, format, &options.load) {
        outcome.summary.records += 1;
        let mut record = match record {
            Ok(record) => record,
            Err(error) => {
                // A record that could not be read still takes its place in the count.
                next_index += 1;
                outcome.errors.push(data_error(error));
                continue;
            }
        };
        next_index = next_index.max(record.index + 1);
        if let Some(seen) = &mut seen {
            seen.record(read_paths, &record.root);
        }
        let mut violations = match &program.schema {
            Some(schema) => crate::schema::conform(schema, &mut record),
            None => Vec::new(),
        };
        findings.clear();
        evaluator.evaluate(&record, &mut findings);
        if !violations.is_empty() {
            // The record's conformance errors fail it already; errors of rules that met its bad
            // values would only repeat them.
            findings.retain(|f| f.outcome != Outcome::Error);
        }
        if let Some(split) = options.paired {
            // Both policy sets see the same record: its conformance errors are no difference.
            drop_twins(program, split, &mut findings);
            violations.clear();
        }
        if findings.is_empty() && violations.is_empty() && !every_record {
            continue;
        }
        let name: Arc<str> = eval::record_id(&record, id_field)
            .unwrap_or_default()
            .into();
        if every_record {
            outcome.findings.push(Item::Record(CheckedRecord {
                file: source.name().into(),
                name: name.clone(),
                index: record.index,
                at: Location {
                    source: record.source.clone(),
                    span: record.root.span,
                },
                vendor: match &record.root.value {
                    crate::value::Value::Map(map) => match map.get("vendor").map(|n| &n.value) {
                        Some(crate::value::Value::String(v)) => Some(v.as_ref().into()),
                        _ => None,
                    },
                    _ => None,
                },
            }));
        }
        let explanations: Vec<Option<Arc<[crate::eval::explain::Step]>>> = findings
            .iter()
            .map(|f| {
                options
                    .explain
                    .then(|| {
                        crate::eval::explain::explain_with(program, &record, f.rule, &findings)
                    })
                    .flatten()
                    .map(|e| e.steps.into())
            })
            .collect();
        let conformance = violations
            .into_iter()
            .map(|v| nonconforming(&record, &name, v));
        let evaluated = findings
            .drain(..)
            .zip(explanations)
            .map(|(finding, explanation)| Reported {
                explanation,
                ..reported(program, &record, &name, finding)
            });
        for reported in conformance.chain(evaluated) {
            let item = match renderer {
                Some(renderer) if !name.is_empty() => {
                    let start = outcome.rendered.len();
                    renderer.render(&reported, &mut outcome.rendered);
                    Item::Rendered(reported.outcome, start..outcome.rendered.len())
                }
                _ => Item::Pending(reported),
            };
            outcome.findings.push(item);
        }
    }
    outcome.indexes = next_index;
    outcome.bytes = source.text().len();
    outcome.used_waivers = evaluator.used_waivers;
    outcome.fields_seen = seen;
    outcome
}

/// Drops the findings of a paired program that both sets give alike: the same rule id, outcome
/// and message (a message generated from the rule's text counts as alike). Findings come in rule
/// order, so the first set's precede the second's.
fn drop_twins(program: &Program, split: usize, findings: &mut Vec<Finding>) {
    let first = findings.partition_point(|f| f.rule < split);
    let (base, head) = findings.split_at(first);
    let alike = |b: &Finding, h: &Finding| {
        let (Some(br), Some(hr)) = (program.rules.get(b.rule), program.rules.get(h.rule)) else {
            return false;
        };
        br.id == hr.id
            && b.outcome == h.outcome
            && !message_changed(program, (b.rule, &b.message), (h.rule, &h.message))
    };
    let mut twins = vec![false; findings.len()];
    for (i, b) in base.iter().enumerate() {
        if let Some(j) = head.iter().position(|h| alike(b, h)) {
            for at in [i, first + j] {
                if let Some(twin) = twins.get_mut(at) {
                    *twin = true;
                }
            }
        }
    }
    let mut index = 0;
    findings.retain(|_| {
        let keep = !twins.get(index).copied().unwrap_or(false);
        index += 1;
        keep
    });
}

/// Whether a rule's message changed between two findings of a paired program, each given as
/// (rule index, message). A message generated from a rule's text (no `message`) changes whenever
/// the rule is edited, so it never counts as a change.
pub fn message_changed(program: &Program, base: (usize, &str), head: (usize, &str)) -> bool {
    let generated = |rule: usize| program.rules.get(rule).is_some_and(|r| r.message.is_none());
    base.1 != head.1 && !generated(base.0) && !generated(head.0)
}

/// Reads a data file as UTF-8 text (a BOM is dropped by the readers).
pub fn read_text(path: &Path) -> Result<Source, Diag> {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(SourceFile::new(name, text)),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let source = SourceFile::new(name, lossy);
                let (line, column) = source.line_col(at);
                let place = format!("line {line}, column {column}");
                Err(Diag::error(
                    "caveat::io::not_utf8",
                    format!(
                        "data files must be UTF-8 text: `{}` is not, from {place}",
                        source.name()
                    ),
                )
                .label(&source, Span::new(at, at + 1), "not UTF-8 here")
                .help("convert the file to UTF-8"))
            }
        },
        Err(e) => Err(Diag::io("caveat::io::read", "cannot read", &name, &e)),
    }
}

/// A data error as a diagnostic.
pub fn data_error(error: data::DataError) -> Diag {
    let mut diag =
        Diag::error(error.code, error.message).label(&error.file, error.span, error.label);
    if let Some(related) = error.related {
        diag = diag.label(&error.file, related, error.related_label);
    }
    diag.maybe_help(error.help)
}

/// A finding of `record` ready to report, the record named by its `id` or its position (for
/// callers outside a run: tests, fuzzing, tools).
pub fn reported_finding(program: &Program, record: &Record, finding: Finding) -> Reported {
    let id = [Segment::Key("id".into())];
    let name: Arc<str> = eval::record_id(record, &id)
        .unwrap_or_else(|| format!("{}#{}", record.source.name(), record.index))
        .into();
    reported(program, record, &name, finding)
}

fn reported(program: &Program, record: &Record, name: &Arc<str>, finding: Finding) -> Reported {
    let rule = program.rules.get(finding.rule);
    let span = finding.span.unwrap_or(record.root.span);
    let field = field_path_of(&record.root, span);
    Reported {
        rule: Some(finding.rule),
        rule_id: rule.map_or_else(|| "".into(), |r| r.id.clone()),
        outcome: finding.outcome,
        record: name.clone(),
        index: record.index,
        at: Location {
            source: record.source.clone(),
            span,
        },
        field,
        message: finding.message,
        policy: Location {
            source: rule.map_or_else(|| record.source.clone(), |r| r.source.clone()),
            span: finding
                .policy_span
                .or(rule.map(|r| r.span))
                .unwrap_or_default(),
        },
        cite: rule.and_then(|r| r.cite.clone()),
        waiver: finding.waived.and_then(|(index, waived)| {
            let waiver = program.waivers.get(index)?;
            Some(WaiverNote {
                waived,
                reason: waiver.reason.clone(),
                owner: waiver.owner.clone(),
                until: waiver.until,
                at: Location {
                    source: waiver.source.clone(),
                    span: waiver.span,
                },
            })
        }),
        explanation: None,
    }
}

/// A conformance error of `record` as an `error` finding: its rule id is the violation's code,
/// its policy location the schema declaration the record breaks.
fn nonconforming(
    record: &Record,
    name: &Arc<str>,
    violation: crate::schema::Violation,
) -> Reported {
    let mut message = violation.message;
    if let Some(help) = violation.help {
        message = format!("{message} ({help})");
    }
    Reported {
        rule: None,
        rule_id: violation.code.into(),
        outcome: Outcome::Error,
        record: name.clone(),
        index: record.index,
        at: Location {
            source: record.source.clone(),
            span: violation.span,
        },
        field: field_path_of(&record.root, violation.span),
        message: message.into(),
        policy: Location {
            source: violation.schema_source,
            span: violation.schema_span,
        },
        cite: None,
        waiver: None,
        explanation: None,
    }
}

/// The dotted path of the value at `span` inside `root`, if a value starts there.
fn field_path_of(root: &crate::value::Node, span: Span) -> Option<String> {
    use crate::value::Value;
    use std::fmt::Write as _;
    let mut path = String::new();
    let mut node = root;
    let contains = |outer: Span| outer.start <= span.start && span.end <= outer.end;
    'descend: loop {
        if node.span == span {
            return (!path.is_empty()).then_some(path);
        }
        if !path.is_empty() {
            path.push('.');
        }
        match &node.value {
            Value::Map(map) => {
                if let Some(entry) = map.entries.iter().find(|e| contains(e.value.span)) {
                    path.push_str(&entry.key);
                    node = &entry.value;
                    continue 'descend;
                }
                return None;
            }
            Value::List(items) => {
                if let Some((i, item)) = items.iter().enumerate().find(|(_, i)| contains(i.span)) {
                    let _ = write!(path, "{i}");
                    node = item;
                    continue 'descend;
                }
                return None;
            }
            _ => return None,
        }
    }
}
