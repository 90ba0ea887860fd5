//! What a run reports: findings ready to render, the counts, and the [`Sink`] that receives them
//! in output order.

use std::sync::Arc;

use crate::compile::{Program, Segment};
use crate::data::Record;
use crate::diagnostic::Diag;
use crate::eval::{self, Finding, Outcome};
use crate::source::Location;

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
    /// For a finding of a group rule: the group's keys and records.
    pub group: Option<Arc<crate::eval::across::GroupNote>>,
    /// Whether it was found once every record was read (by a rule across records).
    pub across: bool,
    /// An error whose bad value another record or group holds, which `all.` brought to this one
    /// (the message names where it comes from).
    pub elsewhere: bool,
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
    pub(crate) fn is_conformance(&self) -> bool {
        crate::diagnostic::Code::from_name(&self.rule_id).is_some_and(|c| c.stage() == "schema")
    }

    /// The vendor of a finding across records, which belongs to no one record: its group's
    /// `vendor` key, if it has one.
    pub(crate) fn group_vendor(&self) -> Option<Arc<str>> {
        let group = self.group.as_ref()?;
        let (_, value) = group.keys.get(group.vendor?)?;
        Some(value.as_str().into())
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
    /// Files and folders the walks left out (hidden, ignored, excluded, neither policies nor
    /// data); left out of JSON when there are none.
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    /// Counts one finding.
    pub fn count(&mut self, outcome: Outcome) {
        self.count_many(outcome, 1);
    }

    /// Counts `n` findings of one outcome.
    pub fn count_many(&mut self, outcome: Outcome, n: usize) {
        match outcome {
            Outcome::Deny => self.deny += n,
            Outcome::Warn => self.warn += n,
            Outcome::Note => self.note += n,
            Outcome::Error => self.error += n,
            Outcome::Waived => self.waived += n,
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

    /// Writes the bytes of one or more findings rendered by [`Sink::renderer`], one after the
    /// other (the renderer's bytes must be such that findings can be written in one piece).
    fn rendered(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let _ = bytes;
        Ok(())
    }

    /// A data file, or a part of one, that could not be read: told in input order, after the
    /// findings of the records read before it in its file. It also stays in
    /// [`RunResult::data_errors`].
    fn data_error(&mut self, diag: &Diag) -> std::io::Result<()> {
        let _ = diag;
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

/// The vendor of each finding, for the reports that table findings by vendor: a record's own
/// finding has the record's, a group's finding its `vendor` key's, and the finding of a rule
/// across records without `per` the vendor of its one record, which came long before (the
/// findings across records come once every record is read).
#[derive(Debug, Default)]
pub(crate) struct Vendors {
    /// The vendor of the record whose findings arrive now.
    current: Option<Arc<str>>,
    /// Each file's records' vendors by position: 1 + an index into `names`, 0 for none.
    by_file: std::collections::HashMap<Arc<str>, Vec<u32>>,
    /// The vendors seen, each once.
    names: Vec<Arc<str>>,
    /// Where each is in `names`.
    numbers: std::collections::HashMap<Arc<str>, u32>,
}

impl Vendors {
    /// Notes the record whose findings come next.
    pub(crate) fn record(&mut self, record: &CheckedRecord) {
        self.current = record.vendor.clone();
        let number = match &record.vendor {
            None => 0,
            Some(vendor) => match self.numbers.get(vendor) {
                Some(&n) => n,
                None => {
                    self.names.push(vendor.clone());
                    let n = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
                    self.numbers.insert(vendor.clone(), n);
                    n
                }
            },
        };
        let file = self.by_file.entry(record.file.clone()).or_default();
        if file.len() <= record.index {
            file.resize(record.index + 1, 0);
        }
        if let Some(slot) = file.get_mut(record.index) {
            *slot = number;
        }
    }

    /// The vendor `f` is counted under; `None` for none.
    pub(crate) fn of(&self, f: &Reported) -> Option<Arc<str>> {
        if !f.across {
            return self.current.clone();
        }
        if f.group.is_some() {
            return f.group_vendor();
        }
        let number = *self.by_file.get(f.at.source.name())?.get(f.index)?;
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        self.names.get(index).cloned()
    }
}

/// Turns a finding into the bytes of an output format.
pub trait Render {
    /// Appends the finding's bytes to `out`.
    fn render(&self, finding: &Reported, out: &mut Vec<u8>);

    /// Appends the bytes of `finding` of `record` (named `name`) straight from the evaluation,
    /// when the format can without a [`Reported`] (which costs more than the bytes); `false`
    /// (the default) leaves it to [`Render::render`].
    fn render_finding(
        &self,
        _program: &Program,
        _record: &Record,
        _name: &str,
        _finding: &Finding,
        _out: &mut Vec<u8>,
    ) -> bool {
        false
    }
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
    /// What the rules across records keep of the records, until the run's end.
    pub(crate) across: crate::eval::across::AcrossRecords,
    /// Which of the field paths the rules read some record had (`crate::unseen`).
    pub fields_seen: Option<crate::unseen::Seen>,
}

/// A finding of `record` ready to report, the record named by its `id` or its position (for
/// callers outside a run: tests, fuzzing, tools).
pub fn reported_finding(program: &Program, record: &Record, finding: Finding) -> Reported {
    let id = [Segment::Key("id".into())];
    let name = eval::record_label(record, &id);
    reported(program, record, &name, finding)
}

pub(crate) fn reported(
    program: &Program,
    record: &Record,
    name: &Arc<str>,
    finding: Finding,
) -> Reported {
    let rule = program.rules.get(finding.rule);
    let span = finding.span.unwrap_or(record.root.span);
    let field = record.root.field_path(span);
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
        waiver: waiver_note(program, finding.waived),
        explanation: None,
        group: None,
        across: false,
        elsewhere: false,
    }
}

/// A conformance error of `record` as an `error` finding: its rule id is the violation's code,
/// its policy location the schema declaration the record breaks.
pub(crate) fn nonconforming(
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
        rule_id: violation.code.as_str().into(),
        outcome: Outcome::Error,
        record: name.clone(),
        index: record.index,
        at: Location {
            source: record.source.clone(),
            span: violation.span,
        },
        field: record.root.field_path(violation.span),
        message: message.into(),
        policy: Location {
            source: violation.schema_source,
            span: violation.schema_span,
        },
        cite: None,
        waiver: None,
        explanation: None,
        group: None,
        across: false,
        elsewhere: false,
    }
}

/// A finding of a rule across records, ready to report.
pub(crate) fn across_finding(
    program: &Program,
    found: crate::eval::across::AcrossFinding,
) -> Reported {
    let rule = program.rules.get(found.finding.rule);
    let policy_source = rule.map_or_else(|| found.at.source.clone(), |r| r.source.clone());
    // A group's finding points at the first key's value in the group's first record: named by
    // the field path as written when the key is one (`vendor`, whatever its `as` name, since
    // the record's text is shown), and by nothing when the key computes its value
    // (`lower(vendor)` is not the text it points at). A rule without `per` names the value of
    // the let it points at.
    let field = found.field.as_deref().map(str::to_string).or_else(|| {
        found
            .group
            .as_ref()
            .and(rule)
            .and_then(|r| r.across.as_ref())
            .and_then(|a| a.keys.first())
            .filter(|key| {
                matches!(
                    key.expr.kind,
                    crate::compile::ExprKind::Field(_) | crate::compile::ExprKind::RootField(..)
                )
            })
            .map(|key| {
                key.text
                    .strip_prefix("record.")
                    .unwrap_or(&key.text)
                    .to_string()
            })
    });
    Reported {
        rule: Some(found.finding.rule),
        rule_id: rule.map_or_else(|| "".into(), |r| r.id.clone()),
        outcome: found.finding.outcome,
        record: found.name,
        index: found.index,
        at: found.at,
        field,
        message: found.finding.message,
        policy: Location {
            source: policy_source,
            span: found
                .finding
                .policy_span
                .or(rule.map(|r| r.span))
                .unwrap_or_default(),
        },
        cite: rule.and_then(|r| r.cite.clone()),
        waiver: waiver_note(program, found.finding.waived),
        explanation: found.explanation.map(Into::into),
        group: found.group,
        across: true,
        elsewhere: found.elsewhere,
    }
}

/// What a report says of the waiver that covers a finding (the waiver's index, the outcome it
/// would have had).
fn waiver_note(program: &Program, waived: Option<(usize, Outcome)>) -> Option<WaiverNote> {
    let (index, waived) = waived?;
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
}
