//! The parallel chunked pipeline: every data file cut into chunks of whole records, read and
//! evaluated on worker threads a window at a time, and merged back in input order.

use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

use super::Inputs;
use crate::compile::{Program, Segment};
use crate::data::chunk::Chunks;
use crate::data::{self, Format, LoadOptions};
use crate::diagnostic::{Code, Diag};
use crate::eval::{self, Finding, Outcome};
use crate::report::finding::{nonconforming, reported};
use crate::report::{CheckedRecord, Render, Reported, RunResult, Sink, Summary};
use crate::source::{Location, Source};

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
    /// The process ends right after the run (a command, not the language server): what the
    /// rules across records kept of every record is left for the operating system to take back
    /// at exit instead of being freed value by value.
    pub ends_process: bool,
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
    // Readers build only what the rules read, the record's name, and its vendor for a report
    // that tables findings by vendor.
    let vendor = [Segment::Key("vendor".into())];
    let kept: &[&[Segment]] = if sink.wants_records() {
        &[&id_field, &vendor]
    } else {
        &[&id_field]
    };
    let options = &RunOptions {
        load: LoadOptions {
            projection: program.projection(kept).map(std::sync::Arc::new),
            ..options.load.clone()
        },
        ..options.clone()
    };
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
        // The file's name as reports give it (standard input is `<stdin>`).
        let name = if crate::data::chunk::is_stdin(path) {
            crate::data::chunk::STDIN_NAME.to_string()
        } else {
            path.display().to_string()
        };
        let opened = Chunks::open(path, *format, split)
            .map(|c| c.with_limit(options.load.limits.max_file_bytes));
        let mut chunks = match opened {
            Ok(chunks) if options.chunk_bytes > 0 => chunks.with_target(options.chunk_bytes),
            Ok(chunks) => chunks,
            Err(diag) => {
                let diag = diag.in_file(&name);
                sink.data_error(&diag)?;
                result.data_errors.push(diag);
                continue;
            }
        };
        let mut first_index = 0;
        let mut merge = |outcomes: Vec<ChunkOutcome>, result: &mut RunResult| {
            merge_outcomes(
                program,
                outcomes,
                &name,
                &mut first_index,
                result,
                &mut *sink,
            )
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
    // Rules across records, once every record is read: their findings follow the others.
    let across = std::mem::take(&mut result.across);
    let mut found =
        crate::eval::across::finish(program, &across, &mut result.used_waivers, options.explain);
    if options.ends_process {
        // Freeing a value per record kept would cost a few per cent of the whole run.
        std::mem::forget(across);
    }
    if let Some(split) = options.paired {
        // A group is the same only with the same records.
        let records = |f: &crate::eval::across::AcrossFinding| {
            f.group.as_ref().map(|g| {
                g.records
                    .iter()
                    .map(|m| (m.file.clone(), m.index))
                    .collect::<Vec<_>>()
            })
        };
        drop_twins(
            program,
            split,
            &mut found,
            |f| (&f.finding, &*f.name),
            |b, h| records(b) == records(h),
        );
    }
    for found in found {
        let reported = crate::report::finding::across_finding(program, found);
        result.summary.count(reported.outcome);
        sink.finding(&reported)?;
    }
    crate::vacuous::check_file_read(file_start, &mut result);
    // Fields no record has: not said of a part of the data (`--changed`), where the files left
    // out may have them.
    if result.summary.records > 0
        && !inputs.partial
        && let Some(seen) = &result.fields_seen
    {
        let unseen = crate::unseen::warnings(program, &read_paths, seen);
        result.policy_warnings.extend(unseen);
    }
    if result.data_errors.is_empty()
        && let Some(warning) = crate::vacuous::no_records(
            result.summary.records,
            inputs.data.len(),
            result.policy_warnings.iter().chain(&inputs.warnings),
        )
    {
        result.policy_warnings.push(warning);
    }
    if inputs.partial {
        // The files left out may hold what a waiver matches, and the other records of a group.
        if crate::eval::across::any(program) {
            result.policy_warnings.push(
                Diag::advice(
                    Code::RunPartial,
                    "only the changed data files were read: rules across records (`per`, `all.`) \
                 saw only their records",
                )
                .help("run `caveat check` without `--changed` for the whole data set"),
            );
        }
    } else {
        result
            .policy_warnings
            .extend(program.stale_waivers(&result.used_waivers));
    }
    Ok(result)
}

/// Hands a window's findings to the sink in order, naming records by their position in the file
/// where they have no id.
fn merge_outcomes(
    program: &Program,
    outcomes: Vec<ChunkOutcome>,
    name: &str,
    first_index: &mut usize,
    result: &mut RunResult,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    for outcome in outcomes {
        result.summary.records += outcome.summary.records;
        for (flag, used) in result.used_waivers.iter_mut().zip(&outcome.used_waivers) {
            *flag |= used;
        }
        if let Some(seen) = outcome.fields_seen {
            match &mut result.fields_seen {
                Some(all) => all.merge(seen),
                None => result.fields_seen = Some(seen),
            }
        }
        let rendered = outcome.rendered;
        // Findings rendered one after the other go to the sink in one piece.
        let mut run: Option<std::ops::Range<usize>> = None;
        for item in outcome.findings {
            if let Item::Rendered {
                outcome: outcome_of,
                count,
                bytes: range,
            } = item
            {
                result.summary.count_many(outcome_of, count);
                run = match run {
                    Some(before) if before.end == range.start => Some(before.start..range.end),
                    Some(before) => {
                        sink.rendered(rendered.get(before).unwrap_or(&[]))?;
                        Some(range)
                    }
                    None => Some(range),
                };
                continue;
            }
            if let Some(before) = run.take() {
                sink.rendered(rendered.get(before).unwrap_or(&[]))?;
            }
            match item {
                Item::Rendered { .. } => {}
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
                Item::Unreadable(diag) => {
                    let diag = diag.in_file(name);
                    sink.data_error(&diag)?;
                    result.data_errors.push(diag);
                }
            }
        }
        if let Some(before) = run.take() {
            sink.rendered(rendered.get(before).unwrap_or(&[]))?;
        }
        for diag in outcome.errors {
            let diag = diag.in_file(name);
            sink.data_error(&diag)?;
            result.data_errors.push(diag);
        }
        let mut collected = outcome.collected;
        for c in &mut collected {
            c.index += *first_index;
            c.member.index = c.index;
        }
        result
            .across
            .add(program, collected, |index| format!("{name}#{index}"));
        *first_index += outcome.indexes;
        sink.progress(outcome.bytes);
        RENDER_BUFFERS.give_back(rendered);
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
    /// What the chunk's records gave the rules across records, in input order.
    collected: Vec<crate::eval::across::Collected>,
    /// Which read field paths the chunk's records had.
    fields_seen: Option<crate::unseen::Seen>,
}

/// Findings of a chunk: rendered already, or left for the merge.
enum Item {
    /// Findings of one outcome rendered one after the other by the sink's renderer: how many,
    /// and their bytes in the chunk's buffer.
    Rendered {
        /// Their outcome.
        outcome: Outcome,
        /// How many findings.
        count: usize,
        /// Their bytes.
        bytes: std::ops::Range<usize>,
    },
    /// Not rendered: the sink has no renderer, or the record is named by its position in the
    /// file, which is only known at the merge (its name is empty until then).
    Pending(Box<Reported>),
    /// A record read, for sinks that want every record (its name is empty, as above, when it
    /// has no id).
    Record(Box<CheckedRecord>),
    /// A record that could not be read, in its place, for sinks that want every record.
    Unreadable(Box<Diag>),
}

/// Adds a rendered finding to `items`: to the last item when that holds the findings rendered
/// just before it, of the same outcome.
fn push_rendered(items: &mut Vec<Item>, outcome: Outcome, bytes: std::ops::Range<usize>) {
    if let Some(Item::Rendered {
        outcome: last,
        count,
        bytes: before,
    }) = items.last_mut()
        && *last == outcome
        && before.end == bytes.start
    {
        *count += 1;
        before.end = bytes.end;
        return;
    }
    items.push(Item::Rendered {
        outcome,
        count: 1,
        bytes,
    });
}

/// Adds a finding to `items`: rendered into `out` by `renderer`, or left for the merge without
/// one.
fn push_rendered_or_pending(
    renderer: Option<&(dyn Render + Send + Sync)>,
    reported: Reported,
    out: &mut Vec<u8>,
    items: &mut Vec<Item>,
) {
    match renderer {
        Some(renderer) => {
            let start = out.len();
            renderer.render(&reported, out);
            push_rendered(items, reported.outcome, start..out.len());
        }
        None => items.push(Item::Pending(Box::new(reported))),
    }
}

/// Render buffers written out already, for the next chunks: a check with many findings then
/// writes them into memory it has touched before, instead of growing a new buffer each chunk
/// (a buffer that grew beyond 64 MiB is let go).
static RENDER_BUFFERS: crate::data::chunk::BufferPool =
    crate::data::chunk::BufferPool::new(16, 1..=64 << 20);

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
    let mut outcome = ChunkOutcome {
        rendered: RENDER_BUFFERS.take(),
        ..ChunkOutcome::default()
    };
    let mut seen = (!read_paths.is_empty()).then(|| crate::unseen::Seen::new(read_paths));
    let source = match chunk {
        Ok(source) => source,
        Err(diag) => {
            outcome.errors.push(diag);
            return outcome;
        }
    };
    let mut evaluator = eval::Evaluator::new(program);
    let across = crate::eval::across::any(program);
    let mut findings = Vec::new();
    let mut next_index = 0;
    let mut records = data::read_records(&source, format, &options.load);
    while let Some(record) = records.next() {
        outcome.summary.records += 1;
        let mut record = match record {
            Ok(record) => record,
            Err(error) => {
                // A record that could not be read still takes its place in the count, and for
                // a report of every record its place among them.
                next_index += 1;
                let diag = data_error(error);
                if every_record {
                    outcome.findings.push(Item::Unreadable(Box::new(diag)));
                } else {
                    outcome.errors.push(diag);
                }
                continue;
            }
        };
        next_index = next_index.max(record.index + 1);
        if let Some(seen) = &mut seen {
            seen.record(read_paths, &record.root);
        }
        let mut violations = super::records::conform(program, &mut record);
        let mut shared =
            super::records::evaluate_conformed(&mut evaluator, &record, &violations, &mut findings);
        if let Some(split) = options.paired {
            // Both policy sets see the same record: its conformance errors are no difference.
            drop_twins(program, split, &mut findings, |f| (f, ""), |_, _| true);
            violations.clear();
        }
        if findings.is_empty() && violations.is_empty() && !every_record && !across {
            // Done with: the reader may read the next record into it.
            records.give_back(record.root);
            continue;
        }
        let label = eval::record_id(&record, id_field).unwrap_or_default();
        // The name as the findings that outlive the record share it, made only when one does.
        let shared_name = std::cell::OnceCell::<Arc<str>>::new();
        let name = || -> Arc<str> { shared_name.get_or_init(|| Arc::from(&*label)).clone() };
        if across {
            crate::eval::across::collect_sharing(
                program,
                evaluator.plan_and_slots(),
                (&record, &name()),
                &mut outcome.collected,
                &mut shared,
            );
        }
        if every_record {
            outcome.findings.push(Item::Record(Box::new(CheckedRecord {
                file: source.name().into(),
                name: name(),
                index: record.index,
                at: Location {
                    source: record.source.clone(),
                    span: record.root.span,
                },
                vendor: vendor_of(&record.root.value),
            })));
        }
        // With `--explain` only: each finding's explanation.
        let explanations: Vec<Option<Arc<[crate::eval::explain::Step]>>> = if options.explain {
            findings
                .iter()
                .map(|f| {
                    crate::eval::explain::explain_with(program, &record, f.rule, &findings)
                        .map(|e| e.steps.into())
                })
                .collect()
        } else {
            Vec::new()
        };
        let conformance = violations
            .into_iter()
            .map(|v| nonconforming(&record, &name(), v));
        let mut explanations = explanations.into_iter();
        let direct = renderer.filter(|_| !label.is_empty());
        for reported in conformance {
            push_rendered_or_pending(
                direct,
                reported,
                &mut outcome.rendered,
                &mut outcome.findings,
            );
        }
        for finding in findings.drain(..) {
            let explanation = explanations.next().flatten();
            if let (Some(renderer), None) = (direct, &explanation) {
                // Straight from the evaluation into the output, when the format can.
                let start = outcome.rendered.len();
                if renderer.render_finding(
                    program,
                    &record,
                    &label,
                    &finding,
                    &mut outcome.rendered,
                ) {
                    let range = start..outcome.rendered.len();
                    push_rendered(&mut outcome.findings, finding.outcome, range);
                    continue;
                }
            }
            let reported = Reported {
                explanation,
                ..reported(program, &record, &name(), finding)
            };
            push_rendered_or_pending(
                direct,
                reported,
                &mut outcome.rendered,
                &mut outcome.findings,
            );
        }
        records.give_back(record.root);
    }
    outcome.indexes = next_index;
    outcome.bytes = source.text().len();
    outcome.used_waivers = evaluator.used_waivers;
    outcome.fields_seen = seen;
    outcome
}

/// What twins share: the rule id, the record (or group) name and the outcome.
type TwinKey<'a> = (Option<Arc<str>>, &'a str, Outcome);

/// Drops the findings of a paired program that both sets give alike: the same rule id, record
/// (or group) name, outcome and message (a message generated from the rule's text counts as
/// alike), and what `alike` compares besides (a group's records). The first set's rules come
/// before `split`.
fn drop_twins<T>(
    program: &Program,
    split: usize,
    items: &mut Vec<T>,
    of: impl Fn(&T) -> (&Finding, &str),
    // Whether a base's item and a head's are alike beyond their findings (a group's records).
    alike: impl Fn(&T, &T) -> bool,
) {
    let id = |f: &Finding| program.rules.get(f.rule).map(|r| r.id.clone());
    // The head's findings by rule id, name and outcome, each usable once.
    let mut heads: std::collections::HashMap<TwinKey<'_>, Vec<usize>> =
        std::collections::HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let (f, name) = of(item);
        if f.rule >= split {
            heads
                .entry((id(f), name, f.outcome))
                .or_default()
                .push(index);
        }
    }
    let mut twins = vec![false; items.len()];
    for (index, item) in items.iter().enumerate() {
        let (b, name) = of(item);
        if b.rule >= split {
            continue;
        }
        let Some(candidates) = heads.get_mut(&(id(b), name, b.outcome)) else {
            continue;
        };
        let found = candidates.iter().position(|&h| {
            let twin = twins.get(h).copied().unwrap_or(true);
            items.get(h).is_some_and(|head| {
                let (hf, _) = of(head);
                !twin
                    && !message_changed(program, (b.rule, &b.message), (hf.rule, &hf.message))
                    && alike(item, head)
            })
        });
        if let Some(position) = found {
            let h = candidates.swap_remove(position);
            for at in [index, h] {
                if let Some(flag) = twins.get_mut(at) {
                    *flag = true;
                }
            }
        }
    }
    let mut index = 0;
    items.retain(|_| {
        let keep = !twins.get(index).copied().unwrap_or(false);
        index += 1;
        keep
    });
}

/// Whether a rule's message changed between two findings of a paired program, each given as
/// (rule index, message). A message generated from a rule's text (no `message`) changes whenever
/// the rule is edited, so it never counts as a change.
pub(crate) fn message_changed(program: &Program, base: (usize, &str), head: (usize, &str)) -> bool {
    let generated = |rule: usize| program.rules.get(rule).is_some_and(|r| r.message.is_none());
    base.1 != head.1 && !generated(base.0) && !generated(head.0)
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

/// A record's `vendor` as the summary tables name it: its text, or the texts of a list of
/// vendors joined with `, `; `None` when it has none or it is not text.
fn vendor_of(root: &crate::value::Value) -> Option<Arc<str>> {
    use crate::value::Value;
    let Value::Map(map) = root else { return None };
    match &map.get("vendor")?.value {
        Value::String(v) => Some(v.as_str().into()),
        Value::List(items) => {
            let names: Option<Vec<&str>> = items
                .iter()
                .map(|item| match &item.value {
                    Value::String(v) => Some(v.as_str()),
                    _ => None,
                })
                .collect();
            names.filter(|n| !n.is_empty()).map(|n| n.join(", ").into())
        }
        _ => None,
    }
}
