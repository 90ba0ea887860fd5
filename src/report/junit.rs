//! JUnit XML (through `quick-junit`): a test suite per data file, a test case per record, failed
//! when it has a `deny` or `error` finding; every finding is listed in the case's failure text (or,
//! for a passing record with `warn` or `note` findings, in its system-out). Data errors are failed
//! cases of their file. The XML is written when the run is over.

use std::io::Write;
use std::sync::Arc;

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use super::text::{xml, xml_attribute};
use super::{Place, Report};
use crate::eval::Outcome;
use crate::report::{CheckedRecord, Reported, RunResult, Sink};

/// A record (or group) being reported: its file, name and findings (one line each).
struct Case {
    file: Arc<str>,
    name: Arc<str>,
    findings: Vec<String>,
    first_failure: Option<String>,
    /// For a data error: its message and code.
    error: Option<(String, &'static str)>,
}

/// Collects test cases, and writes the XML at the end.
pub(crate) struct JunitWriter<W: Write> {
    out: W,
    /// Every case so far, in order.
    cases: super::ByRecord<Case>,
}

impl<W: Write> JunitWriter<W> {
    /// A writer on `out`.
    pub fn new(out: W) -> Self {
        JunitWriter {
            out,
            cases: super::ByRecord::default(),
        }
    }

    /// The suites, one per file in the order the files first came, each with its cases.
    fn suites(&mut self) -> Vec<TestSuite> {
        let mut suites: Vec<TestSuite> = Vec::new();
        let mut by_file: std::collections::HashMap<Arc<str>, usize> =
            std::collections::HashMap::new();
        for case in std::mem::take(&mut self.cases).into_items() {
            let at = *by_file.entry(case.file.clone()).or_insert_with(|| {
                suites.push(TestSuite::new(case.file.as_ref()));
                suites.len() - 1
            });
            if let Some(suite) = suites.get_mut(at) {
                suite.add_test_case(test_case(case));
            }
        }
        suites
    }
}

/// A case as JUnit has it: failed by its first `deny` or `error` finding, every finding listed.
fn test_case(case: Case) -> TestCase {
    let status = match (&case.error, &case.first_failure) {
        (Some((message, code)), _) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(message.as_str()).set_type(*code);
            status
        }
        (None, Some(message)) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(message.as_str())
                .set_type("caveat finding")
                .set_description(case.findings.join("\n"));
            status
        }
        (None, None) => TestCaseStatus::success(),
    };
    let mut test_case = TestCase::new(case.name.as_ref(), status);
    test_case.set_classname(case.file.as_ref());
    if case.first_failure.is_none() && !case.findings.is_empty() {
        test_case.set_system_out(case.findings.join("\n"));
    }
    test_case
}

impl<W: Write> Sink for JunitWriter<W> {
    fn finding(&mut self, f: &Reported) -> std::io::Result<()> {
        let place = Place::of(f);
        let line = format!(
            "{} {}: {} ({}:{}:{}; rule at {}:{}:{})",
            f.outcome.name(),
            xml(&f.rule_id),
            xml(&f.message),
            xml(place.file),
            place.line,
            place.column,
            xml(place.policy_file),
            place.policy_line,
            place.policy_column
        );
        let line = match &f.group {
            Some(group) => format!(
                "{line}\n  the group's records: {}",
                super::group_records(group, usize::MAX).join(", ")
            ),
            None => line,
        };
        // Found once every record was read: a finding about a record joins its case; a
        // group's is a case of its own. Any other finding is the last record's.
        let last = self.cases.len().checked_sub(1);
        let at = match (f.across, self.cases.position_of(f), last) {
            (true, Some(at), _) | (false, _, Some(at)) => at,
            _ => self.cases.push(
                None,
                Case {
                    file: xml_attribute(place.file).into(),
                    name: xml_attribute(&f.record).into(),
                    findings: Vec::new(),
                    first_failure: None,
                    error: None,
                },
            ),
        };
        let Some(case) = self.cases.get_mut(at) else {
            return Ok(());
        };
        if matches!(f.outcome, Outcome::Deny | Outcome::Error) && case.first_failure.is_none() {
            case.first_failure = Some(format!(
                "{} {}: {}",
                f.outcome.name(),
                xml_attribute(&f.rule_id),
                xml_attribute(&f.message)
            ));
        }
        case.findings.push(line);
        Ok(())
    }

    fn wants_records(&self) -> bool {
        true
    }

    fn record(&mut self, record: &CheckedRecord) -> std::io::Result<()> {
        self.cases.push(
            Some((record.file.clone(), record.index)),
            Case {
                file: xml_attribute(&record.file).into(),
                name: xml_attribute(&record.name).into(),
                findings: Vec::new(),
                first_failure: None,
                error: None,
            },
        );
        Ok(())
    }

    fn data_error(&mut self, diag: &crate::diagnostic::Diag) -> std::io::Result<()> {
        let (file, at) = match diag.place() {
            Some((file, line, column)) => (xml_attribute(file), format!(" at {line}:{column}")),
            None => ("caveat".into(), String::new()),
        };
        self.cases.push(
            None,
            Case {
                file: file.as_ref().into(),
                name: format!("could not read{at}").into(),
                findings: Vec::new(),
                first_failure: None,
                error: Some((
                    xml_attribute(&diag.message).into_owned(),
                    diag.code.as_str(),
                )),
            },
        );
        Ok(())
    }
}

impl<W: Write> Report for JunitWriter<W> {
    fn finish(&mut self, _result: &RunResult) -> std::io::Result<()> {
        let suites = self.suites();
        let mut report = JunitReport::new("caveat");
        report.add_test_suites(suites);
        report
            .serialize(&mut self.out)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.out.flush()
    }
}
