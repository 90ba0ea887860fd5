//! Checking records that a program holds, rather than files: an Arrow table
//! ([`crate::data::arrow`]), a Python list, a Spark partition. Records are added one at a time, in
//! input order, and evaluated as `caveat check` evaluates the records of a file: the schema's
//! conformance, every per-record rule, and, once every record is in, the rules across records.
//!
//! ```
//! use caveat::check::check_sources;
//! use caveat::data::arrow::arrow_records;
//! use caveat::run::records::RecordCheck;
//! use caveat::source::SourceFile;
//! use arrow_array::{ArrayRef, StringArray, StructArray};
//! use std::sync::Arc;
//!
//! let policy = SourceFile::new("dji.policy", "deny vendor DJI");
//! let program = check_sources(&[policy]).expect("the policy checks");
//! let vendors: ArrayRef = Arc::new(StringArray::from(vec!["Skydio", "DJI"]));
//! let table = StructArray::try_from(vec![("vendor", vendors)]).expect("a table");
//!
//! let mut check = RecordCheck::new(&program, &["id".to_string()]);
//! for record in arrow_records(&table, "purchases", 0).expect("readable columns") {
//!     check.add(record);
//! }
//! let checked = check.finish();
//! assert_eq!(checked.findings.len(), 1);
//! assert_eq!(&*checked.findings[0].record, "purchases#1"); // no id: named by its row
//! assert_eq!(checked.findings[0].index, 1);
//! ```

use crate::compile::{Program, Segment};
use crate::data::{DataError, Record};
use crate::diagnostic::Diag;
use crate::eval::across::{self, AcrossRecords};
use crate::eval::{Evaluator, Finding, Outcome, SharedValues};
use crate::report::Reported;
use crate::report::finding::{nonconforming, reported};

/// How a [`RecordCheck`] treats the rules across records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AcrossStage {
    /// Keep what they read of each record and evaluate them at [`RecordCheck::finish`], as
    /// `caveat check` does.
    #[default]
    Whole,
    /// For a split run ([`crate::eval::split`]): give only the groups each record joins
    /// ([`Checked::groups`]) and the error findings of records whose filters or keys cannot be
    /// evaluated; the groups are evaluated elsewhere.
    Split,
}

/// A group a record joins, in a split run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOf {
    /// The record's position ([`Record::index`]).
    pub index: usize,
    /// The rule across records, by index in [`Program::rules`].
    pub rule: usize,
    /// The group's name among the rule's groups, telling key types apart.
    pub token: String,
}

/// What a [`RecordCheck`] found.
#[derive(Debug, Default)]
pub struct Checked {
    /// The findings, in the order `caveat check` reports them: each record's, in input order,
    /// then the rules' across records. [`Reported::index`] is the record's position (the first
    /// record's, for a group).
    pub findings: Vec<Reported>,
    /// The records that could not be read.
    pub errors: Vec<Diag>,
    /// With [`AcrossStage::Split`]: the groups each record joins.
    pub groups: Vec<GroupOf>,
    /// How many records were added, readable or not.
    pub records: usize,
}

/// Evaluates records added one at a time against a program.
pub struct RecordCheck<'p> {
    program: &'p Program,
    evaluator: Evaluator<'p>,
    id_field: Vec<Segment>,
    stage: AcrossStage,
    has_across: bool,
    across: AcrossRecords,
    checked: Checked,
    scratch: Vec<Finding>,
}

impl<'p> RecordCheck<'p> {
    /// A check of `program`'s rules; `id_field` is the dotted path of the field that names a
    /// record (`["id"]`, as `--id-field`); a record without one is named `SOURCE#INDEX`.
    pub fn new(program: &'p Program, id_field: &[String]) -> Self {
        RecordCheck {
            program,
            evaluator: Evaluator::new(program),
            id_field: id_field
                .iter()
                .map(|s| Segment::Key(s.as_str().into()))
                .collect(),
            stage: AcrossStage::Whole,
            has_across: across::any(program),
            across: AcrossRecords::default(),
            checked: Checked::default(),
            scratch: Vec::new(),
        }
    }

    /// The same check, treating the rules across records as `stage` says.
    pub fn with_stage(mut self, stage: AcrossStage) -> Self {
        self.stage = stage;
        self
    }

    /// Evaluates one record (or counts one that could not be read) and keeps its findings.
    pub fn add(&mut self, record: Result<Record, DataError>) {
        self.checked.records += 1;
        let mut record = match record {
            Ok(record) => record,
            Err(error) => {
                self.checked.errors.push(super::data_error(error));
                return;
            }
        };
        let violations = conform(self.program, &mut record);
        let mut shared =
            evaluate_conformed(&mut self.evaluator, &record, &violations, &mut self.scratch);
        let name = crate::eval::record_label(&record, &self.id_field);
        let conformance = violations
            .into_iter()
            .map(|v| nonconforming(&record, &name, v));
        let evaluated = self
            .scratch
            .drain(..)
            .map(|f| reported(self.program, &record, &name, f));
        self.checked.findings.extend(conformance.chain(evaluated));
        if !self.has_across {
            return;
        }
        let mut collected = Vec::new();
        across::collect_sharing(
            self.program,
            self.evaluator.plan_and_slots(),
            (&record, &name),
            &mut collected,
            &mut shared,
        );
        match self.stage {
            AcrossStage::Whole => self.across.add(self.program, collected, |i| i.to_string()),
            AcrossStage::Split => {
                let (errors, grouped): (Vec<_>, Vec<_>) =
                    collected.into_iter().partition(|c| c.error.is_some());
                for c in grouped {
                    if c.joins.is_empty() {
                        self.checked.groups.push(GroupOf {
                            index: c.index,
                            rule: c.rule,
                            token: crate::eval::split::token(&[], c.index),
                        });
                    }
                    for join in &c.joins {
                        self.checked.groups.push(GroupOf {
                            index: c.index,
                            rule: c.rule,
                            token: crate::eval::split::token(&join.keys, c.index),
                        });
                    }
                }
                self.across.add(self.program, errors, |i| i.to_string());
            }
        }
    }

    /// Evaluates the rules across records (with [`AcrossStage::Whole`]) and gives everything
    /// found.
    pub fn finish(mut self) -> Checked {
        let mut used = self.evaluator.used_waivers;
        let found = across::finish(self.program, &self.across, &mut used, false);
        self.checked.findings.extend(found.into_iter().map(|found| {
            let index = found.index;
            Reported {
                index,
                ..crate::report::finding::across_finding(self.program, found)
            }
        }));
        self.checked
    }
}

/// Checks one record as every run does, first: its conformance to the policies' `record`
/// schema (which types its values), returned; then [`evaluate_conformed`].
pub(crate) fn conform(program: &Program, record: &mut Record) -> Vec<crate::schema::Violation> {
    match &program.schema {
        Some(schema) => crate::schema::conform(schema, record),
        None => Vec::new(),
    }
}

/// Evaluates each rule on a record that [`conform`] checked into `findings` (cleared first),
/// returning the values its rules share (for [`across::collect_sharing`] to read on). An error
/// finding of a rule is dropped when the record does not conform (`violations`): its
/// conformance errors say it already.
pub(crate) fn evaluate_conformed<'p: 'r, 'r>(
    evaluator: &mut Evaluator<'p>,
    record: &'r Record,
    violations: &[crate::schema::Violation],
    findings: &mut Vec<Finding>,
) -> SharedValues<'r> {
    let mut shared = SharedValues::default();
    findings.clear();
    evaluator.evaluate_sharing(record, findings, &mut shared);
    if !violations.is_empty() {
        findings.retain(|f| f.outcome != Outcome::Error);
    }
    shared
}
