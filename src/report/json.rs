//! The JSON report: one object with every finding, the data errors and a summary.

use serde::Serialize;

use super::Summary;
use crate::diagnostic::Diag;
use crate::run::Reported;

/// The whole JSON report.
#[derive(Debug, Serialize)]
pub struct JsonReport {
    /// Every finding, in output order.
    pub findings: Vec<JsonFinding>,
    /// Data files or records that could not be read.
    pub errors: Vec<JsonError>,
    /// Counts.
    pub summary: Summary,
}

/// One finding.
#[derive(Debug, Serialize)]
pub struct JsonFinding {
    /// The rule id.
    pub rule: String,
    /// `deny`, `warn`, `note` or `error`.
    pub effect: &'static str,
    /// The record's name.
    pub record: String,
    /// The data file, as given.
    pub file: String,
    /// 1-based line of the deciding value.
    pub line: usize,
    /// 1-based column of the deciding value.
    pub column: usize,
    /// The message.
    pub message: String,
    /// Where the rule is.
    pub policy: JsonPlace,
}

/// A place in a file.
#[derive(Debug, Serialize)]
pub struct JsonPlace {
    /// The file, as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A data error.
#[derive(Debug, Serialize)]
pub struct JsonError {
    /// A stable code.
    pub code: String,
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

/// Builds the report.
pub fn report(findings: &[Reported], errors: &[Diag], summary: Summary) -> JsonReport {
    JsonReport {
        findings: findings.iter().map(finding).collect(),
        errors: errors.iter().map(error).collect(),
        summary,
    }
}

fn finding(f: &Reported) -> JsonFinding {
    let (line, column) = f.at.line_col();
    let (policy_line, policy_column) = f.policy.line_col();
    JsonFinding {
        rule: f.rule_id.clone(),
        effect: f.outcome.name(),
        record: f.record.clone(),
        file: f.at.source.name().to_string(),
        line,
        column,
        message: f.message.clone(),
        policy: JsonPlace {
            file: f.policy.source.name().to_string(),
            line: policy_line,
            column: policy_column,
        },
    }
}

/// A diagnostic as a JSON error entry.
pub fn error(d: &Diag) -> JsonError {
    let location = d.location();
    let (line, column) = location.map(|l| l.line_col()).unzip();
    JsonError {
        code: d.code.clone(),
        message: d.message.clone(),
        file: location.map(|l| l.source.name().to_string()),
        line,
        column,
    }
}
