//! The JSON report: one object with every finding, the data errors and a summary, written as the
//! findings arrive.

use std::io::Write;
use std::sync::Arc;

use serde::Serialize;

use crate::compile::Program;
use crate::data::Record;
use crate::diagnostic::Diag;
use crate::eval::{Finding, Outcome};
use crate::report::{Render, Reported, RunResult, Sink};

/// Writes the JSON report as findings arrive: `{"findings": [` first, one finding a line, then
/// the errors and the summary when the run is over. The whole is one JSON object.
pub(crate) struct JsonWriter<W: Write> {
    out: W,
    written: usize,
}

impl<W: Write> JsonWriter<W> {
    /// Starts the report.
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"{\n  \"findings\": [")?;
        Ok(JsonWriter { out, written: 0 })
    }
}

impl<W: Write> super::Report for JsonWriter<W> {
    /// Ends the report with the data errors and the summary.
    fn finish(&mut self, result: &RunResult) -> std::io::Result<()> {
        let close = if self.written == 0 {
            "],\n"
        } else {
            "\n  ],\n"
        };
        self.out.write_all(close.as_bytes())?;
        let errors: Vec<JsonError> = result.data_errors.iter().map(error).collect();
        self.out.write_all(b"  \"errors\": ")?;
        serde_json::to_writer(&mut self.out, &errors)?;
        // Warnings about the policies (waivers expired, expiring or stale), when there are any.
        if !result.policy_warnings.is_empty() {
            let warnings: Vec<JsonError> = result.policy_warnings.iter().map(error).collect();
            self.out.write_all(b",\n  \"warnings\": ")?;
            serde_json::to_writer(&mut self.out, &warnings)?;
        }
        self.out.write_all(b",\n  \"summary\": ")?;
        serde_json::to_writer(&mut self.out, &result.summary)?;
        self.out.write_all(b"\n}\n")?;
        self.out.flush()
    }
}

impl<W: Write> Sink for JsonWriter<W> {
    fn finding(&mut self, f: &Reported) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        FramedJson::item().render(f, &mut bytes);
        self.rendered(&bytes)
    }

    fn renderer(&self) -> Option<Box<dyn Render + Send + Sync>> {
        Some(Box::new(FramedJson::item()))
    }

    /// Each finding comes with the `,` before it, which the first of the report goes without.
    fn rendered(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let bytes = match bytes.split_first() {
            Some((b',', rest)) if self.written == 0 => rest,
            _ => bytes,
        };
        self.out.write_all(bytes)?;
        self.written += 1;
        Ok(())
    }
}

/// Renders a finding as [`JsonRender`] does, with bytes before and after it: an item of the
/// JSON report's `findings` array (`,`, a new line and the indentation before it, so that
/// findings can be written in one piece), or a line of JSON Lines (a new line after it).
#[derive(Default)]
struct FramedJson {
    before: &'static [u8],
    after: &'static [u8],
    json: JsonRender,
}

impl FramedJson {
    /// An item of the JSON report's `findings` array.
    fn item() -> Self {
        FramedJson {
            before: b",\n    ",
            ..FramedJson::default()
        }
    }

    /// A line of JSON Lines.
    fn line() -> Self {
        FramedJson {
            after: b"\n",
            ..FramedJson::default()
        }
    }
}

impl Render for FramedJson {
    fn render(&self, f: &Reported, out: &mut Vec<u8>) {
        out.extend_from_slice(self.before);
        self.json.render(f, out);
        out.extend_from_slice(self.after);
    }

    fn render_finding(
        &self,
        program: &Program,
        record: &Record,
        name: &str,
        finding: &Finding,
        out: &mut Vec<u8>,
    ) -> bool {
        let start = out.len();
        out.extend_from_slice(self.before);
        if !self
            .json
            .render_finding(program, record, name, finding, out)
        {
            out.truncate(start);
            return false;
        }
        out.extend_from_slice(self.after);
        true
    }
}

/// Writes JSON Lines: each finding on its own line as it arrives, then each data error
/// (`{"error": …}`) and the summary (`{"summary": …}`).
pub(crate) struct JsonlWriter<W: Write> {
    /// Where to write.
    pub out: W,
}

impl<W: Write> Sink for JsonlWriter<W> {
    fn finding(&mut self, f: &Reported) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        FramedJson::line().render(f, &mut bytes);
        self.out.write_all(&bytes)
    }

    fn renderer(&self) -> Option<Box<dyn Render + Send + Sync>> {
        Some(Box::new(FramedJson::line()))
    }

    fn rendered(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)
    }
}

impl<W: Write> super::Report for JsonlWriter<W> {
    fn finish(&mut self, result: &RunResult) -> std::io::Result<()> {
        /// A line of its own for a data error, or for the summary.
        #[derive(Serialize)]
        #[serde(rename_all = "lowercase")]
        enum Line<'a> {
            Error(JsonError),
            Warning(JsonError),
            Summary(&'a crate::report::Summary),
        }
        for diag in &result.data_errors {
            serde_json::to_writer(&mut self.out, &Line::Error(error(diag)))?;
            self.out.write_all(b"\n")?;
        }
        for diag in &result.policy_warnings {
            serde_json::to_writer(&mut self.out, &Line::Warning(error(diag)))?;
            self.out.write_all(b"\n")?;
        }
        serde_json::to_writer(&mut self.out, &Line::Summary(&result.summary))?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// Renders a finding as one line of JSON.
#[derive(Default)]
pub(crate) struct JsonRender {
    /// Each rule's JSON that is the same in all its findings, written on the first finding, and
    /// the program (by address) whose rules they are.
    rules: std::sync::OnceLock<(usize, Vec<RuleJson>)>,
}

impl Render for JsonRender {
    fn render(&self, f: &Reported, out: &mut Vec<u8>) {
        if f.waiver.is_none() && f.explanation.is_none() && f.group.is_none() {
            let place = super::Place::of(f);
            write_plain_finding(
                &PlainFinding {
                    rule: &f.rule_id,
                    outcome: f.outcome,
                    record: &f.record,
                    place: (place.file, place.line, place.column),
                    message: &f.message,
                    policy: (place.policy_file, place.policy_line, place.policy_column),
                },
                out,
            );
        } else {
            // Serialising plain data into a vector cannot fail.
            let _ = serde_json::to_writer(out, &finding(f));
        }
    }

    fn render_finding(
        &self,
        program: &Program,
        record: &Record,
        name: &str,
        finding: &Finding,
        out: &mut Vec<u8>,
    ) -> bool {
        let Some(rule) = program.rules.get(finding.rule) else {
            return false;
        };
        if finding.waived.is_some() {
            return false;
        }
        let address = std::ptr::from_ref(program) as usize;
        let (written_for, rules) = self
            .rules
            .get_or_init(|| (address, program.rules.iter().map(RuleJson::of).collect()));
        // A renderer serves one program; another one's rules are written on the spot.
        let pieces_of_another;
        let pieces = match rules.get(finding.rule) {
            Some(pieces) if *written_for == address => pieces,
            _ => {
                pieces_of_another = RuleJson::of(rule);
                &pieces_of_another
            }
        };
        let at = finding.span.unwrap_or(record.root.span);
        let (line, column) = record.line_col(at.start);
        out.extend_from_slice(&pieces.head);
        write_finding_body(
            out,
            finding.outcome,
            name,
            (record.source.name(), line, column),
        );
        match &pieces.generated {
            // The message the rule's text gives, written when the rule was first met.
            (message, json) if Arc::ptr_eq(message, &finding.message) => {
                out.extend_from_slice(json);
            }
            _ => write_str(out, &finding.message),
        }
        match finding.policy_span {
            None => out.extend_from_slice(&pieces.policy),
            Some(span) => {
                let (policy_line, policy_column) = rule.source.line_col(span.start);
                write_policy(out, (rule.source.name(), policy_line, policy_column));
            }
        }
        true
    }
}

/// The JSON of a rule's findings that is the same in each: written once, copied into each.
struct RuleJson {
    /// `{"rule":"ID",`
    head: Box<[u8]>,
    /// `,"policy":{…}}` at the rule itself (a finding that failed elsewhere in the rule points
    /// there instead).
    policy: Box<[u8]>,
    /// The message generated from the rule's text, and its JSON string.
    generated: (Arc<str>, Box<[u8]>),
}

impl RuleJson {
    fn of(rule: &crate::compile::CompiledRule) -> RuleJson {
        let mut head = Vec::new();
        write_head(&mut head, &rule.id);
        let mut policy = Vec::new();
        let (line, column) = rule.source.line_col(rule.span.start);
        write_policy(&mut policy, (rule.source.name(), line, column));
        let mut message = Vec::new();
        write_str(&mut message, &rule.generated_message);
        RuleJson {
            head: head.into(),
            policy: policy.into(),
            generated: (rule.generated_message.clone(), message.into()),
        }
    }
}

/// What the JSON of a finding with no waiver, explanation or group holds.
struct PlainFinding<'a> {
    rule: &'a str,
    outcome: Outcome,
    record: &'a str,
    /// The file, line and column of the value that decided it.
    place: (&'a str, usize, usize),
    message: &'a str,
    /// The file, line and column of the rule.
    policy: (&'a str, usize, usize),
}

/// Writes a finding with no waiver, explanation or group straight into `out`: the same bytes
/// as serialising its [`JsonFinding`], without building one (what most findings are, and what
/// a check with many findings spends its time on).
fn write_plain_finding(f: &PlainFinding, out: &mut Vec<u8>) {
    write_head(out, f.rule);
    write_finding_body(out, f.outcome, f.record, f.place);
    write_str(out, f.message);
    write_policy(out, f.policy);
}

/// `{"rule":"ID",`: how a finding's JSON starts.
fn write_head(out: &mut Vec<u8>, rule: &str) {
    out.extend_from_slice(b"{\"rule\":");
    write_str(out, rule);
    out.push(b',');
}

/// `"effect":…,"record":…,"file":…,"line":…,"column":…,"message":`: the middle of a finding's
/// JSON, up to its message.
fn write_finding_body(
    out: &mut Vec<u8>,
    outcome: Outcome,
    record: &str,
    place: (&str, usize, usize),
) {
    out.extend_from_slice(effect_then_record(outcome));
    write_str(out, record);
    out.push(b',');
    write_place(out, place);
    out.extend_from_slice(b",\"message\":");
}

/// `"effect":"EFFECT","record":`, written whole.
fn effect_then_record(outcome: Outcome) -> &'static [u8] {
    match outcome {
        Outcome::Deny => b"\"effect\":\"deny\",\"record\":",
        Outcome::Warn => b"\"effect\":\"warn\",\"record\":",
        Outcome::Note => b"\"effect\":\"note\",\"record\":",
        Outcome::Error => b"\"effect\":\"error\",\"record\":",
        Outcome::Waived => b"\"effect\":\"waived\",\"record\":",
    }
}

/// `,"policy":{"file":…,"line":…,"column":…}}`: how a finding's JSON ends.
fn write_policy(out: &mut Vec<u8>, place: (&str, usize, usize)) {
    out.extend_from_slice(b",\"policy\":{");
    write_place(out, place);
    out.extend_from_slice(b"}}");
}

/// `"file":…,"line":…,"column":…`, as a [`JsonPlace`] without a record writes them.
fn write_place(out: &mut Vec<u8>, (file, line, column): (&str, usize, usize)) {
    out.extend_from_slice(b"\"file\":");
    write_str(out, file);
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(b",\"line\":");
    out.extend_from_slice(digits.format(line).as_bytes());
    out.extend_from_slice(b",\"column\":");
    out.extend_from_slice(digits.format(column).as_bytes());
}

/// A JSON string: copied as it is when nothing in it needs an escape, else as serde_json
/// escapes it.
fn write_str(out: &mut Vec<u8>, text: &str) {
    if needs_escape(text.as_bytes()) {
        let _ = serde_json::to_writer(out, text);
    } else {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

/// Whether a JSON string of these bytes needs an escape: a control character, `"` or `\`.
fn needs_escape(bytes: &[u8]) -> bool {
    crate::data::first_special(bytes).is_some()
}

/// One finding, borrowed from the [`Reported`] it shows.
#[derive(Debug, Serialize)]
pub(crate) struct JsonFinding<'a> {
    /// The rule id.
    pub rule: &'a str,
    /// `deny`, `warn`, `note`, `error` or `waived`.
    pub effect: &'static str,
    /// The record's name.
    pub record: &'a str,
    /// The data file, as given.
    pub file: &'a str,
    /// 1-based line of the deciding value.
    pub line: usize,
    /// 1-based column of the deciding value.
    pub column: usize,
    /// The message.
    pub message: &'a str,
    /// Where the rule is.
    pub policy: JsonPlace<'a>,
    /// For a waived finding: the waiver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<JsonWaiver<'a>>,
    /// With `--explain`: the clauses that decided the finding, in the rule's order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Vec<JsonStep<'a>>>,
    /// For a finding of a group rule: its keys and every record of the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<JsonGroup<'a>>,
}

/// A group finding's keys and records.
#[derive(Debug, Serialize)]
pub(crate) struct JsonGroup<'a> {
    /// Each key's name and value.
    pub key: KeysInOrder<'a>,
    /// The group's records, in input order.
    pub records: Vec<JsonPlace<'a>>,
}

/// A group's keys as a JSON object, in the order the rule's `per` names them.
#[derive(Debug)]
pub(crate) struct KeysInOrder<'a>(Vec<(&'a str, &'a str)>);

impl Serialize for KeysInOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// A clause that decided a finding.
#[derive(Debug, Serialize)]
pub(crate) struct JsonStep<'a> {
    /// The clause as written; `unless …` and `require …` keep their keyword.
    pub clause: String,
    /// Whether it held (`null` when it could not be evaluated).
    pub holds: Option<bool>,
    /// The record fields it read, in order.
    pub values: Vec<JsonValue<'a>>,
    /// For a clause of `and`s that did not hold, the operand that did not, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub false_at: Option<&'a str>,
}

/// A record field a clause read.
#[derive(Debug, Serialize)]
pub(crate) struct JsonValue<'a> {
    /// Its path (`exemption.kind`).
    pub field: &'a str,
    /// Its value as shown to people: strings quoted, `(missing)` when absent.
    pub value: &'a str,
}

/// The waiver that covers a finding.
#[derive(Debug, Serialize)]
pub(crate) struct JsonWaiver<'a> {
    /// The effect the finding would have had.
    pub effect: &'static str,
    /// `because "…"`.
    pub reason: &'a str,
    /// `by "…"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<&'a str>,
    /// The last day it applies.
    pub until: String,
    /// Where the waiver is.
    pub policy: JsonPlace<'a>,
}

/// A place in a file (with the record there, for the records of a group).
#[derive(Debug, Serialize)]
pub(crate) struct JsonPlace<'a> {
    /// The record's name, for a group's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<&'a str>,
    /// The file, as given.
    pub file: &'a str,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A data error, or a warning about the policies.
#[derive(Debug, Serialize)]
pub struct JsonError {
    /// A stable code.
    pub code: String,
    /// For a warning about the policies: `warning` or `note`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<&'static str>,
    /// The message.
    pub message: String,
    /// Where, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

fn finding(f: &Reported) -> JsonFinding<'_> {
    let place = super::Place::of(f);
    JsonFinding {
        rule: &f.rule_id,
        effect: f.outcome.name(),
        record: &f.record,
        file: place.file,
        line: place.line,
        column: place.column,
        message: &f.message,
        group: f.group.as_ref().map(|g| JsonGroup {
            key: KeysInOrder(g.keys.iter().map(|(k, v)| (&**k, v.as_str())).collect()),
            records: g
                .records
                .iter()
                .map(|m| JsonPlace {
                    record: Some(&m.record),
                    file: &m.file,
                    line: m.line,
                    column: m.column,
                })
                .collect(),
        }),
        policy: JsonPlace {
            record: None,
            file: place.policy_file,
            line: place.policy_line,
            column: place.policy_column,
        },
        explanation: f.explanation.as_ref().map(|steps| {
            steps
                .iter()
                .map(|step| JsonStep {
                    clause: step.written(),
                    holds: step.holds.as_ref().ok().copied(),
                    values: step
                        .values
                        .iter()
                        .map(|(field, value)| JsonValue { field, value })
                        .collect(),
                    false_at: step.false_at.as_deref(),
                })
                .collect()
        }),
        waiver: f.waiver.as_ref().map(|w| {
            let (file, line, column) = w.at.place();
            JsonWaiver {
                effect: w.waived.name(),
                reason: &w.reason,
                by: w.owner.as_deref(),
                until: w.until.to_string(),
                policy: JsonPlace {
                    record: None,
                    file,
                    line,
                    column,
                },
            }
        }),
    }
}

/// A diagnostic as a JSON error entry.
pub fn error(d: &Diag) -> JsonError {
    let place = d.place();
    JsonError {
        code: d.code.to_string(),
        level: match d.severity {
            crate::diagnostic::Severity::Error => None,
            crate::diagnostic::Severity::Warning => Some("warning"),
            crate::diagnostic::Severity::Advice => Some("note"),
        },
        message: d.message.clone(),
        file: place.map(|(file, _, _)| file.to_string()),
        line: place.map(|(_, line, _)| line),
        column: place.map(|(_, _, column)| column),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::effect::Outcome;
    use crate::source::{Location, SourceFile, Span};

    #[test]
    fn each_effect_is_written_by_its_name() {
        for outcome in [
            Outcome::Deny,
            Outcome::Warn,
            Outcome::Note,
            Outcome::Error,
            Outcome::Waived,
        ] {
            let expected = format!("\"effect\":\"{}\",\"record\":", outcome.name());
            assert_eq!(effect_then_record(outcome), expected.as_bytes());
        }
    }

    /// Every byte, at every position of a word and of the tail, is found as escaping needs.
    #[test]
    fn escapes_are_found_in_any_byte_position() {
        for len in 0..20 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    if let Some(b) = bytes.get_mut(at) {
                        *b = byte;
                    }
                    let expected = bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
                    assert_eq!(needs_escape(&bytes), expected, "{byte:#x} at {at} of {len}");
                }
            }
        }
        assert!(!needs_escape("D\u{e9}j\u{e0} vu \u{2713}".as_bytes()));
    }

    /// A finding written straight from the evaluation has the bytes of its report.
    #[test]
    fn findings_from_the_evaluation_are_written_as_their_reports() {
        let policy = SourceFile::new(
            "p.policy",
            "rule r-1 { deny vendor DJI }\n\
             rule big {\n  warn when amount > 5 message \"{vendor} \\\"spent\\\" {amount}\"\n}\n\
             rule bad { note when amount / 0 > 1 }\n",
        );
        let program = match crate::check::check_sources(&[policy]) {
            Ok(program) => program,
            Err(e) => panic!("{e:?}"),
        };
        let data = SourceFile::new("d.yaml", "- id: N-1\n  vendor: DJI\n  amount: 10\n");
        let options = crate::data::LoadOptions::default();
        for record in crate::data::read_records(&data, crate::data::Format::Yaml, &options) {
            let Ok(record) = record else {
                panic!("a record")
            };
            let mut findings = Vec::new();
            crate::eval::evaluate(&program, &record, &mut findings);
            assert_eq!(findings.len(), 3, "{findings:?}");
            for finding in findings {
                let mut direct = Vec::new();
                assert!(JsonRender::default().render_finding(
                    &program,
                    &record,
                    "N-1",
                    &finding,
                    &mut direct
                ));
                let name: Arc<str> = "N-1".into();
                let reported = crate::report::finding::reported(&program, &record, &name, finding);
                let mut via_report = Vec::new();
                FramedJson::line().render(&reported, &mut via_report);
                direct.push(b'\n');
                assert_eq!(
                    String::from_utf8_lossy(&direct),
                    String::from_utf8_lossy(&via_report)
                );
            }
        }
    }

    /// Findings written one at a time and in one piece make one valid report.
    #[test]
    fn findings_in_one_piece_make_a_valid_report() {
        use crate::report::Report as _;
        let data = SourceFile::new("d.yaml", "- id: N-1\n");
        let policy = SourceFile::new("p.policy", "rule r { deny when true }\n");
        let f = Reported {
            rule: Some(0),
            rule_id: "r".into(),
            outcome: Outcome::Deny,
            record: "N-1".into(),
            index: 0,
            at: Location {
                source: data,
                span: Span::new(2, 4),
            },
            field: None,
            message: Arc::from("m"),
            policy: Location {
                source: policy,
                span: Span::new(0, 4),
            },
            cite: None,
            waiver: None,
            explanation: None,
            group: None,
            across: false,
            elsewhere: false,
        };
        let mut out = Vec::new();
        let mut writer = match JsonWriter::new(&mut out) {
            Ok(writer) => writer,
            Err(e) => panic!("{e}"),
        };
        let mut two = Vec::new();
        FramedJson::item().render(&f, &mut two);
        FramedJson::item().render(&f, &mut two);
        for step in [
            writer.finding(&f),
            writer.rendered(&two),
            writer.finding(&f),
        ] {
            assert!(step.is_ok());
        }
        assert!(writer.finish(&crate::report::RunResult::default()).is_ok());
        let report: serde_json::Value = match serde_json::from_slice(&out) {
            Ok(report) => report,
            Err(e) => panic!("{e}: {}", String::from_utf8_lossy(&out)),
        };
        assert_eq!(report["findings"].as_array().map(Vec::len), Some(4));
    }

    /// The direct writer gives serde_json's bytes, escapes, non-ASCII text and large numbers
    /// included.
    #[test]
    fn plain_findings_are_written_as_serde_json_writes_them() {
        let data = SourceFile::new("dir/da\"ta\\.yaml", "x\n".repeat(20_000) + "  vendor: é\n");
        let policy = SourceFile::new("p\tolicy.policy", "rule r { deny when true }\n");
        for (record, message, outcome) in [
            ("N-1", "matched `when amount > 0`", Outcome::Deny),
            (
                "quote \" and \\ and \u{1} and \n",
                "tab\there \u{7f} é ✓ 𝄞",
                Outcome::Error,
            ),
            ("", "", Outcome::Note),
        ] {
            let f = Reported {
                rule: Some(0),
                rule_id: "r-1/é".into(),
                outcome,
                record: record.into(),
                index: 3,
                at: Location {
                    source: data.clone(),
                    span: Span::new(40_002, 40_004),
                },
                field: None,
                message: Arc::from(message),
                policy: Location {
                    source: policy.clone(),
                    span: Span::new(9, 13),
                },
                cite: None,
                waiver: None,
                explanation: None,
                group: None,
                across: false,
                elsewhere: false,
            };
            let mut direct = Vec::new();
            JsonRender::default().render(&f, &mut direct);
            let serde = serde_json::to_vec(&finding(&f)).unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&direct),
                String::from_utf8_lossy(&serde)
            );
        }
    }
}
