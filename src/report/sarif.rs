//! SARIF 2.1.0 (through `serde-sarif`'s types): one run, the policy's rules with their messages and
//! citations, a result per finding located in the data file, with the rule as a related location.
//! Data errors are the invocation's notifications. The log is streamed, as JSON is: the tool
//! and its rules first, each result (one a line) as it is found, the invocation at the end, so
//! that memory does not grow with the number of findings.

use std::io::Write;

use serde_sarif::sarif;

use super::{Place, Report};
use crate::compile::Program;
use crate::eval::Outcome;
use crate::report::{Reported, RunResult, Sink};
use crate::syntax::ast::Effect;

/// Writes the log as results arrive.
pub(crate) struct SarifWriter<W: Write> {
    out: W,
    /// Rule id → its index in the tool's rules.
    rule_index: std::collections::HashMap<String, usize>,
    /// Results written so far.
    written: usize,
}

/// A SARIF level for an effect or outcome.
fn level(outcome: Outcome) -> sarif::ResultLevel {
    match outcome {
        Outcome::Deny | Outcome::Error => sarif::ResultLevel::Error,
        Outcome::Warn => sarif::ResultLevel::Warning,
        Outcome::Note => sarif::ResultLevel::Note,
        Outcome::Waived => sarif::ResultLevel::None,
    }
}

/// A file name as a SARIF URI reference (RFC 3986): forward slashes, relative as given, and
/// every byte but letters, digits, `-._~` and `/` percent-encoded, so that a `%`, a space or a
/// `:` in a name (which would read as a scheme) names the same file to code scanning.
fn uri(file: &str) -> String {
    let mut out = String::with_capacity(file.len());
    for byte in file.replace('\\', "/").bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The base of relative URIs: the working folder of the run, which code scanning takes to be the
/// root of the checkout.
const SRCROOT: &str = "%SRCROOT%";

/// The artifact location of a file: a relative path against [`SRCROOT`], an absolute one as is.
fn artifact(file: &str) -> sarif::ArtifactLocation {
    let uri = uri(file);
    if std::path::Path::new(file).is_absolute() {
        sarif::ArtifactLocation::builder().uri(uri).build()
    } else {
        sarif::ArtifactLocation::builder()
            .uri(uri)
            .uri_base_id(SRCROOT)
            .build()
    }
}

/// `originalUriBaseIds`: what [`SRCROOT`] stands for. Its URI is left out so that the report does
/// not depend on the machine; consumers resolve it against the checkout.
fn base_ids() -> std::collections::BTreeMap<String, sarif::ArtifactLocation> {
    let root = sarif::ArtifactLocation::builder()
        .description(
            sarif::Message::builder()
                .text("the working folder of the run (the repository root in CI)")
                .build(),
        )
        .build();
    std::collections::BTreeMap::from([(SRCROOT.to_string(), root)])
}

/// A location in a file, 1-based.
fn location(file: &str, line: usize, column: usize, message: Option<String>) -> sarif::Location {
    let region = sarif::Region::builder()
        .start_line(i64::try_from(line).unwrap_or(i64::MAX))
        .start_column(i64::try_from(column).unwrap_or(i64::MAX))
        .build();
    let physical = sarif::PhysicalLocation::builder()
        .artifact_location(artifact(file))
        .region(region)
        .build();
    match message {
        Some(text) => sarif::Location::builder()
            .physical_location(physical)
            .message(sarif::Message::builder().text(text).build())
            .build(),
        None => sarif::Location::builder()
            .physical_location(physical)
            .build(),
    }
}

impl<W: Write> SarifWriter<W> {
    /// A writer on `out` for the rules of `program`: writes the log's head, the tool and its
    /// rules and what [`SRCROOT`] stands for, at once.
    pub fn new(mut out: W, program: &Program) -> std::io::Result<Self> {
        let mut rules = Vec::new();
        let mut rule_index = std::collections::HashMap::new();
        for rule in &program.rules {
            let outcome = match rule.effect {
                Effect::Deny => Outcome::Deny,
                Effect::Warn => Outcome::Warn,
                Effect::Note => Outcome::Note,
            };
            let configuration = sarif::ReportingConfiguration::builder()
                .level(serde_json::json!(level(outcome).to_string()))
                .build();
            let (line, column) = rule.source.line_col(rule.span.start);
            let description = format!(
                "{} rule at {}:{line}:{column}",
                outcome.name(),
                rule.source.name()
            );
            let descriptor = sarif::ReportingDescriptor::builder()
                .id(rule.id.to_string())
                .short_description(
                    sarif::MultiformatMessageString::builder()
                        .text(rule.generated_message.to_string())
                        .build(),
                )
                .full_description(
                    sarif::MultiformatMessageString::builder()
                        .text(description)
                        .build(),
                )
                .default_configuration(configuration);
            let descriptor = match &rule.cite {
                Some(cite) => descriptor
                    .help(
                        sarif::MultiformatMessageString::builder()
                            .text(format!("see {cite}"))
                            .build(),
                    )
                    .build(),
                None => descriptor.build(),
            };
            rule_index.insert(rule.id.to_string(), rules.len());
            rules.push(descriptor);
        }
        let driver = sarif::ToolComponent::builder()
            .name("caveat")
            .version(env!("CARGO_PKG_VERSION"))
            .rules(rules)
            .build();
        let tool = sarif::Tool::builder().driver(driver).build();
        write!(
            out,
            "{{\n  \"$schema\": {},\n  \"version\": \"2.1.0\",\n  \"runs\": [\n    {{\n      \"tool\": ",
            serde_json::to_string(sarif::SCHEMA_URL)?
        )?;
        serde_json::to_writer(&mut out, &tool)?;
        // Columns count characters (code points), as every caveat report does; said outright,
        // since a reader may otherwise assume UTF-16 code units.
        out.write_all(b",\n      \"columnKind\": \"unicodeCodePoints\"")?;
        out.write_all(b",\n      \"originalUriBaseIds\": ")?;
        serde_json::to_writer(&mut out, &base_ids())?;
        out.write_all(b",\n      \"results\": [")?;
        Ok(SarifWriter {
            out,
            rule_index,
            written: 0,
        })
    }
}

impl<W: Write> Sink for SarifWriter<W> {
    fn finding(&mut self, f: &Reported) -> std::io::Result<()> {
        let place = Place::of(f);
        let at = location(place.file, place.line, place.column, None);
        let rule = location(
            place.policy_file,
            place.policy_line,
            place.policy_column,
            Some(format!("rule `{}`", f.rule_id)),
        );
        // The rule, then each record of a group.
        let mut related = vec![rule];
        if let Some(group) = &f.group {
            related.extend(group.records.iter().map(|m| {
                location(
                    &m.file,
                    m.line,
                    m.column,
                    Some(format!("record `{}` of the group", m.record)),
                )
            }));
        }
        let message = sarif::Message::builder()
            .text(format!("{}: {}", f.record, f.message))
            .build();
        let index = self
            .rule_index
            .get(&*f.rule_id)
            .and_then(|&i| i64::try_from(i).ok());
        // A waived finding keeps the level of what it waived and carries the waiver as an
        // in-source suppression, which code scanning shows as dismissed.
        let outcome = f.waiver.as_ref().map_or(f.outcome, |w| w.waived);
        let result = sarif::Result::builder()
            .rule_id(f.rule_id.to_string())
            .level(level(outcome))
            .message(message)
            .locations(vec![at])
            .related_locations(related);
        let mut result = match index {
            Some(index) => result.rule_index(index).build(),
            None => result.build(),
        };
        if let Some(waiver) = &f.waiver {
            let (file, line, column) = waiver.at.place();
            let justification = match &waiver.owner {
                Some(owner) => format!("{} (by {owner}, until {})", waiver.reason, waiver.until),
                None => format!("{} (until {})", waiver.reason, waiver.until),
            };
            result.suppressions = Some(vec![
                sarif::Suppression::builder()
                    .kind(serde_json::json!("inSource"))
                    .status(serde_json::json!("accepted"))
                    .justification(justification)
                    .location(location(file, line, column, None))
                    .build(),
            ]);
        }
        self.out.write_all(if self.written == 0 {
            b"\n        "
        } else {
            b",\n        "
        })?;
        serde_json::to_writer(&mut self.out, &result)?;
        self.written += 1;
        Ok(())
    }
}

/// A diagnostic as a tool execution notification, at its severity.
fn notification(diag: &crate::diagnostic::Diag) -> sarif::Notification {
    let level = match diag.severity {
        crate::diagnostic::Severity::Error => "error",
        crate::diagnostic::Severity::Warning => "warning",
        crate::diagnostic::Severity::Advice => "note",
    };
    let message = sarif::Message::builder().text(diag.message.clone()).build();
    let notification = sarif::Notification::builder()
        .message(message)
        .level(serde_json::json!(level))
        .descriptor(
            sarif::ReportingDescriptorReference::builder()
                .id(diag.code.to_string())
                .build(),
        );
    match diag.place() {
        Some((file, line, column)) => notification
            .locations(vec![location(file, line, column, None)])
            .build(),
        None => notification.build(),
    }
}

impl<W: Write> Report for SarifWriter<W> {
    fn finish(&mut self, result: &RunResult) -> std::io::Result<()> {
        let notifications: Vec<sarif::Notification> = result
            .data_errors
            .iter()
            .chain(&result.policy_warnings)
            .map(notification)
            .collect();
        let invocation = sarif::Invocation::builder()
            .execution_successful(result.data_errors.is_empty())
            .tool_execution_notifications(notifications)
            .build();
        let close = if self.written == 0 {
            "],\n"
        } else {
            "\n      ],\n"
        };
        self.out.write_all(close.as_bytes())?;
        self.out.write_all(b"      \"invocations\": [")?;
        serde_json::to_writer(&mut self.out, &invocation)?;
        self.out.write_all(b"]\n    }\n  ]\n}\n")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_percent_encoded_uris() {
        assert_eq!(uri("data/d.yaml"), "data/d.yaml");
        assert_eq!(
            uri("dir, %‹&é/d:a%2C.yaml"),
            "dir%2C%20%25%E2%80%B9%26%C3%A9/d%3Aa%252C.yaml"
        );
        assert_eq!(uri("a\\b c.yaml"), "a/b%20c.yaml");
    }
}
