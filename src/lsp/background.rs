//! Work the language server does off its main thread, so that the editor never waits: how many
//! records of the configured data each rule fires on (for code lenses), and a sample of the
//! data's fields and values (for hover and completion). A count is cancelled when the text
//! changes: it stops at its next record and its result is discarded.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::Sender;

use crate::compile::Program;
use crate::data::{Format, LoadOptions};
use crate::report::{Reported, Sink};
use crate::run::{Inputs, RunOptions};
use crate::value::{Node, Value};

/// How many records the data sample reads at most.
const SAMPLE_RECORDS: usize = 20_000;

/// How many distinct values of a field the sample keeps.
const SAMPLE_VALUES: usize = 5;

/// Values longer than this are not kept.
const SAMPLE_VALUE_CHARS: usize = 60;

/// What a background job found.
pub(crate) enum Done {
    /// The findings of each rule (by index in the program) on the configured data, for the
    /// text of generation `generation`.
    Counts {
        /// The text generation counted.
        generation: u64,
        /// The counts.
        counts: RuleCounts,
    },
    /// The data sample.
    Sample(DataSample),
}

/// Per rule: records it fires on (not waived) and findings waived; and the records read.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleCounts {
    /// By rule index: (findings, waived findings).
    pub by_rule: Vec<(usize, usize)>,
    /// Records read.
    pub records: usize,
    /// The rule ids, by index, to match the rules of a later text.
    pub ids: Vec<Arc<str>>,
}

/// The fields seen in the configured data: their keys, and a few values of each.
#[derive(Debug, Clone, Default)]
pub(crate) struct DataSample {
    /// Records read.
    pub records: usize,
    /// Dotted field path → a few distinct values, as written.
    pub values: HashMap<String, BTreeSet<String>>,
    /// Dotted path of a mapping (`""` for the record) → the keys seen under it.
    pub keys: HashMap<String, BTreeSet<String>>,
}

/// Counts the findings of every rule of `program` on the data files on a thread of its own, and
/// sends them unless `current` has moved past `generation` by then.
pub(crate) fn count(
    program: Arc<Program>,
    data: Vec<(PathBuf, Format)>,
    id_field: Vec<String>,
    generation: u64,
    current: Arc<AtomicU64>,
    done: Sender<Done>,
) {
    std::thread::spawn(move || {
        let mut counter = Counter {
            by_rule: vec![(0, 0); program.rules.len()],
            generation,
            current: current.clone(),
        };
        let inputs = Inputs {
            data,
            ..Inputs::default()
        };
        let options = RunOptions {
            paths: Vec::new(),
            load: LoadOptions::default(),
            id_field,
            jobs: 1,
            chunk_bytes: 0,
            explain: false,
            paired: None,
            // The server lives on: everything a run keeps is freed.
            ends_process: false,
        };
        let Ok(result) = crate::run::evaluate(&program, &inputs, &options, &mut counter) else {
            return;
        };
        if current.load(Ordering::SeqCst) != generation {
            return;
        }
        let counts = RuleCounts {
            by_rule: counter.by_rule,
            records: result.summary.records,
            ids: program.rules.iter().map(|r| r.id.clone()).collect(),
        };
        let _ = done.send(Done::Counts { generation, counts });
    });
}

/// Counts findings by rule; fails (which stops the run) once the text has changed.
struct Counter {
    by_rule: Vec<(usize, usize)>,
    generation: u64,
    current: Arc<AtomicU64>,
}

impl Counter {
    /// Fails once the text has changed since the count started.
    fn still_wanted(&self) -> std::io::Result<()> {
        if self.current.load(Ordering::SeqCst) == self.generation {
            Ok(())
        } else {
            Err(std::io::Error::other("the text changed"))
        }
    }
}

impl Sink for Counter {
    fn finding(&mut self, finding: &Reported) -> std::io::Result<()> {
        self.still_wanted()?;
        if let Some(slot) = finding.rule.and_then(|i| self.by_rule.get_mut(i)) {
            if finding.waiver.is_some() {
                slot.1 += 1;
            } else {
                slot.0 += 1;
            }
        }
        Ok(())
    }

    /// Hearing of every record lets a count of an older text stop at the next record.
    fn wants_records(&self) -> bool {
        true
    }

    fn record(&mut self, _record: &crate::report::CheckedRecord) -> std::io::Result<()> {
        self.still_wanted()
    }
}

/// Reads a sample of the data files on a thread of its own and sends it.
pub(crate) fn sample(data: Vec<(PathBuf, Format)>, done: Sender<Done>) {
    std::thread::spawn(move || {
        let mut sample = DataSample::default();
        'files: for (path, format) in data {
            let Ok(source) = crate::source::read_text(&path) else {
                continue;
            };
            for record in crate::data::read_records(&source, format, &LoadOptions::default()) {
                if sample.records >= SAMPLE_RECORDS {
                    break 'files;
                }
                sample.records += 1;
                if let Ok(record) = record {
                    walk(&record.root, &source, String::new(), &mut sample, 0);
                }
            }
        }
        let _ = done.send(Done::Sample(sample));
    });
}

/// Adds the keys and values under `node` (at `path`) to the sample.
fn walk(
    node: &Node,
    source: &crate::source::SourceFile,
    path: String,
    sample: &mut DataSample,
    depth: usize,
) {
    if depth > 6 {
        return;
    }
    match &node.value {
        Value::Map(map) => {
            for entry in &map.entries {
                sample
                    .keys
                    .entry(path.clone())
                    .or_default()
                    .insert(entry.key.to_string());
                let child = if path.is_empty() {
                    entry.key.to_string()
                } else {
                    format!("{path}.{}", entry.key)
                };
                walk(&entry.value, source, child, sample, depth + 1);
            }
        }
        Value::List(items) => {
            for item in items.iter().take(20) {
                walk(item, source, path.clone(), sample, depth + 1);
            }
        }
        Value::Null => {}
        _ => {
            let written = source.slice(node.span).trim();
            let values = sample.values.entry(path).or_default();
            if values.len() < SAMPLE_VALUES
                && !written.is_empty()
                && written.chars().count() <= SAMPLE_VALUE_CHARS
            {
                values.insert(written.to_string());
            }
        }
    }
}
