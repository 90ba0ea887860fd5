//! Policy tests (docs/language.md §9): each `test` block's record is evaluated against the whole
//! policy set, and its findings, notes aside unless listed, must be exactly those it expects.
//! Running them also measures coverage: which rules the tests saw fire and not fire, and which
//! clauses ever decided an outcome.

use std::collections::BTreeSet;
use std::path::Path;

use crate::compile::{CompiledTest, Program};
use crate::data::{Format, LoadOptions, Record};
use crate::diagnostic::{Code, Diag};
use crate::eval::explain::{Explanation, explain_with, render};
use crate::eval::{Evaluator, Finding, Outcome};
use crate::source::{Source, SourceFile, Span};
use crate::syntax::ast::Given;

/// How one test went.
#[derive(Debug)]
pub struct TestOutcome {
    /// The test's index in [`Program::tests`].
    pub test: usize,
    /// `None` when it passed; else why it failed, as a diagnostic.
    pub failure: Option<Diag>,
}

/// What the tests saw of one rule.
#[derive(Debug, Clone, Default)]
pub struct RuleCoverage {
    /// Some test's record made it fire.
    pub fired: bool,
    /// Some test's record did not make it fire.
    pub not_fired: bool,
    /// For each clause ([`crate::compile::CompiledRule::all_clauses`]): whether it ever
    /// decided an outcome.
    pub decisive: Vec<bool>,
}

impl RuleCoverage {
    /// Items covered and items in all: fired, not fired, and each clause decisive.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let covered = usize::from(self.fired)
            + usize::from(self.not_fired)
            + self.decisive.iter().filter(|d| **d).count();
        (covered, 2 + self.decisive.len())
    }
}

/// Coverage of a policy set by its tests.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// One entry per rule, in [`Program::rules`] order.
    pub rules: Vec<RuleCoverage>,
}

impl Coverage {
    /// The share of items covered, in percent (100 when there is nothing to cover).
    pub fn percent(&self) -> f64 {
        let (covered, total) = self
            .rules
            .iter()
            .map(RuleCoverage::counts)
            .fold((0, 0), |(c, t), (c2, t2)| (c + c2, t + t2));
        if total == 0 {
            100.0
        } else {
            // Counts far below 2^52 convert exactly.
            #[allow(clippy::cast_precision_loss, reason = "counts are small")]
            let share = covered as f64 * 100.0 / total as f64;
            share
        }
    }
}

/// Runs every test of `program` (its waivers applied as of the day it was given).
pub fn run_tests(program: &Program) -> (Vec<TestOutcome>, Coverage) {
    let mut coverage = Coverage {
        rules: program
            .rules
            .iter()
            .map(|rule| RuleCoverage {
                decisive: vec![false; rule.all_clauses().count()],
                ..RuleCoverage::default()
            })
            .collect(),
    };
    let mut evaluator = Evaluator::new(program);
    let outcomes = program
        .tests
        .iter()
        .enumerate()
        .map(|(index, test)| {
            let records = match given_records(test).and_then(|records| {
                records
                    .into_iter()
                    .map(|r| conforming(program, test, r))
                    .collect::<Result<Vec<_>, _>>()
            }) {
                Ok(records) => records,
                Err(diag) => {
                    return TestOutcome {
                        test: index,
                        failure: Some(diag),
                    };
                }
            };
            let mut findings = Vec::new();
            // Each record's explanations, with the record's position in `records`.
            let mut explanations: Vec<(Explanation, usize)> = Vec::new();
            let mut across = crate::eval::across::AcrossRecords::default();
            for (position, record) in records.iter().enumerate() {
                let first = findings.len();
                evaluator.evaluate(record, &mut findings);
                let own = findings.get(first..).unwrap_or(&[]);
                explanations.extend(
                    (0..program.rules.len())
                        .filter_map(|rule| explain_with(program, record, rule, own))
                        .map(|e| (e, position)),
                );
                if crate::eval::across::any(program) {
                    let mut collected = Vec::new();
                    let name = crate::eval::record_label(
                        record,
                        &[crate::compile::Segment::Key("id".into())],
                    );
                    crate::eval::across::collect(
                        program,
                        &evaluator.per_member,
                        record,
                        &name,
                        &mut collected,
                    );
                    across.add(program, collected, |i| {
                        format!("{}#{i}", record.source.name())
                    });
                }
            }
            let mut used = vec![false; program.waivers.len()];
            let grouped = crate::eval::across::finish(program, &across, &mut used, false);
            for (rule_index, rule) in program.rules.iter().enumerate() {
                if rule.across.is_some()
                    && let Some(c) = coverage.rules.get_mut(rule_index)
                {
                    cover_across(program, (rule_index, rule), (&records, &across), c);
                }
            }
            findings.extend(grouped.into_iter().map(|f| f.finding));
            for (explanation, _) in &explanations {
                cover(&mut coverage, explanation);
            }
            TestOutcome {
                test: index,
                failure: check_expectations(
                    program,
                    test,
                    &findings,
                    (&explanations, &records, &across),
                ),
            }
        })
        .collect();
    (outcomes, coverage)
}

/// Marks what one explanation shows: the rule fired or not, and which clauses decided it.
fn cover(coverage: &mut Coverage, explanation: &Explanation) {
    if let Some(rule) = coverage.rules.get_mut(explanation.rule) {
        cover_steps(rule, explanation, 0);
    }
}

/// [`cover`] for one rule, its explanation's clauses counted from `first` among the rule's.
fn cover_steps(rule: &mut RuleCoverage, explanation: &Explanation, first: usize) {
    let decisive: Vec<usize> = match explanation.outcome {
        Some(Outcome::Error) => return,
        Some(_) => {
            rule.fired = true;
            explanation.steps.iter().map(|s| s.clause).collect()
        }
        None => {
            rule.not_fired = true;
            explanation
                .steps
                .last()
                .map(|s| s.clause)
                .into_iter()
                .collect()
        }
    };
    for clause in decisive {
        if let Some(flag) = rule.decisive.get_mut(first + clause) {
            *flag = true;
        }
    }
}

/// What one test shows of a rule across records: a filter or the `where` is decisive when it
/// leaves one of the test's records out, and each group (or record of the run) is explained as
/// the check decides it: the clauses of a group that fires, or the one that stopped it. A test in
/// which no group fires shows the rule not firing; a group that fires shows every clause
/// decisive, the filters and `where` its records passed among them.
fn cover_across(
    program: &Program,
    (index, rule): (usize, &crate::compile::CompiledRule),
    (records, across): (&[Record], &crate::eval::across::AcrossRecords),
    coverage: &mut RuleCoverage,
) {
    let record_clauses = rule.record_clauses().count();
    for record in records {
        let steps = crate::eval::explain::record_steps(program, record, rule);
        if let Some(last) = steps.last().filter(|s| !s.for_finding())
            && let Some(flag) = coverage.decisive.get_mut(last.clause)
        {
            *flag = true;
        }
    }
    let mut fired = false;
    for (_, explanation) in crate::eval::across::explain_groups(program, across, index, |_| true) {
        if matches!(explanation.outcome, Some(o) if o != Outcome::Error) {
            fired = true;
            coverage.decisive.iter_mut().for_each(|d| *d = true);
        }
        cover_steps(coverage, &explanation, record_clauses);
    }
    if !fired {
        coverage.not_fired = true;
    }
}

/// Why each rule across records among `rules` did what it did on each of its groups (or
/// records), each with the words that name it.
fn group_explanations(
    program: &Program,
    across: &crate::eval::across::AcrossRecords,
    rules: &BTreeSet<usize>,
) -> Vec<(Explanation, String)> {
    let mut out = Vec::new();
    for &index in rules {
        let Some(rule_across) = program.rules.get(index).and_then(|r| r.across.as_ref()) else {
            continue;
        };
        let what = if rule_across.keys.is_empty() {
            "the record"
        } else {
            "the group"
        };
        for (name, e) in crate::eval::across::explain_groups(program, across, index, |_| true) {
            out.push((e, format!("{what} `{name}`")));
        }
    }
    out
}

/// `None` when the findings are exactly those expected (notes aside unless listed); else a
/// diagnostic that shows expected against actual, with the clauses that decided each rule that
/// differs: on the test's record, and on each group (or record) of a rule across records,
/// named.
fn check_expectations(
    program: &Program,
    test: &CompiledTest,
    findings: &[Finding],
    (explanations, records, across): (
        &[(Explanation, usize)],
        &[Record],
        &crate::eval::across::AcrossRecords,
    ),
) -> Option<Diag> {
    let expected: BTreeSet<(Outcome, usize)> = test.expect.iter().copied().collect();
    // Notes are aside unless listed, waived ones too.
    let is_note = |f: &Finding| {
        f.outcome == Outcome::Note || f.waived.is_some_and(|(_, was)| was == Outcome::Note)
    };
    let actual: BTreeSet<(Outcome, usize)> = findings
        .iter()
        .filter(|f| !is_note(f) || expected.contains(&(f.outcome, f.rule)))
        .map(|f| (f.outcome, f.rule))
        .collect();
    if expected == actual {
        return None;
    }
    let list = |set: &BTreeSet<(Outcome, usize)>| {
        if set.is_empty() {
            return "pass".to_string();
        }
        set.iter()
            .map(|(outcome, rule)| {
                let id = program.rules.get(*rule).map_or("", |r| &*r.id);
                format!("{} {id}", outcome.name())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let differing: BTreeSet<usize> = expected
        .symmetric_difference(&actual)
        .map(|(_, rule)| *rule)
        .collect();
    // Explained only now that the test failed, and only the rules that differ; a record of a
    // list is named by its position (and id).
    let names: Vec<String> = records
        .iter()
        .enumerate()
        .map(|(position, record)| {
            if records.len() == 1 {
                return format!("the record of `{}`", test.name);
            }
            let id = crate::eval::record_id(record, &[crate::compile::Segment::Key("id".into())])
                .map_or_else(String::new, |id| format!(" (`{id}`)"));
            format!("record {} of `{}`{id}", position + 1, test.name)
        })
        .collect();
    let groups = group_explanations(program, across, &differing);
    let why: Vec<String> = explanations
        .iter()
        .map(|(e, position)| (e, names.get(*position).map_or("", String::as_str)))
        .chain(groups.iter().map(|(e, name)| (e, name.as_str())))
        .filter(|(e, _)| differing.contains(&e.rule))
        .map(|(e, name)| render(program, e, name))
        .collect();
    let diag = Diag::error(
        Code::TestFailed,
        format!(
            "test `{}` failed: expected {}, actual {}",
            test.name,
            list(&expected),
            list(&actual)
        ),
    )
    .label(&test.source, test.expect_span, "expected this");
    let diag = match &test.given {
        Given::Inline(span) => diag.label(&test.source, *span, "for this record"),
        Given::Records(span) => diag.label(&test.source, *span, "for these records"),
        Given::File(path) => diag.label(&test.source, path.span, "for this record"),
    };
    let expired = expired_waivers(program, &differing);
    let help = format!("{expired}{}", why.join("")).trim_end().to_string();
    Some(if help.is_empty() {
        diag
    } else {
        diag.help(help)
    })
}

/// A line for each waiver of a rule in `rules` that is out of force because it expired: a test
/// that relied on it fails from that day on, and should say why.
fn expired_waivers(program: &Program, rules: &BTreeSet<usize>) -> String {
    let Some(today) = program.today else {
        return String::new();
    };
    program
        .waivers
        .iter()
        .filter(|waiver| waiver.until < today && rules.contains(&waiver.rule))
        .filter_map(|waiver| {
            let rule = program.rules.get(waiver.rule)?;
            Some(format!(
                "the waiver of `{}` expired on {}, as of {today}\n",
                rule.id, waiver.until
            ))
        })
        .collect()
}

/// The records a test evaluates: its inline mapping or flow sequence of mappings, read in place
/// so that positions are those of the policy file, or the one record of its file.
pub(crate) fn given_records(test: &CompiledTest) -> Result<Vec<Record>, Diag> {
    let (source, format) = match &test.given {
        Given::Inline(span) | Given::Records(span) => {
            (inline_source(&test.source, *span), Format::Yaml)
        }
        Given::File(path) => {
            let folder = Path::new(test.source.name())
                .parent()
                .unwrap_or(Path::new(""));
            let file = folder.join(&path.node);
            let Some(format) = Format::from_path(&file) else {
                return Err(Diag::error(
                    Code::TestGivenFile,
                    format!("`{}` is not a data file", path.node),
                )
                .label(&test.source, path.span, "named here")
                .help(
                    "a test's record file ends in `.yaml`, `.yml`, `.json`, `.jsonl` or `.csv`",
                ));
            };
            let source = crate::source::read_text(&file)
                .map_err(|diag| diag.label(&test.source, path.span, "named here"))?;
            (source, format)
        }
    };
    // An inline record is read from a copy of the policy file with everything else blanked: its
    // positions are the policy file's, so diagnostics show the policy file itself.
    let shown = match &test.given {
        Given::Inline(_) | Given::Records(_) => test.source.clone(),
        Given::File(_) => source.clone(),
    };
    let reads: Vec<_> =
        crate::data::read_records(&source, format, &LoadOptions::default()).collect();
    // At the data's end (where an inline given's copy ends, or the file's end), the reader has
    // run out of data: something is not closed. That is the error to show, before anything
    // the reader said of the records it read on the way (`given [1, 2` is unclosed before its
    // items are not mappings). Inline, what is not closed was opened at the given's start.
    let inline = match &test.given {
        Given::Inline(span) | Given::Records(span) => Some(*span),
        Given::File(_) => None,
    };
    let data_end = inline.map_or(source.text().len(), |span| span.end);
    let unclosed = |error: &crate::data::DataError| error.span.start >= data_end;
    let first_error = reads
        .iter()
        .filter_map(|read| read.as_ref().err())
        .find(|error| unclosed(error))
        .or_else(|| reads.iter().find_map(|read| read.as_ref().err()));
    if let Some(error) = first_error {
        let mut error = error.clone();
        error.file = shown.clone();
        if let Some(span) = inline
            && unclosed(&error)
        {
            error.span = Span::new(span.start, span.start + 1);
            error.label = "opened here, not closed".to_string();
        }
        return Err(crate::run::data_error(error));
    }
    // No error: every read is a record.
    let records: Vec<Record> = reads
        .into_iter()
        .flatten()
        .map(|record| Record {
            source: shown.clone(),
            ..record
        })
        .collect();
    let many = matches!(test.given, Given::Records(_));
    match records.len() {
        0 => Err(one_record_error(test, "holds no record")),
        1 => Ok(records),
        _ if many => Ok(records),
        _ => Err(one_record_error(test, "holds more than one record")),
    }
}

/// The record typed by the schema, when the policies declare one; a record that does not
/// conform fails its test, at the first value at fault. Required fields may be left out.
fn conforming(program: &Program, test: &CompiledTest, mut record: Record) -> Result<Record, Diag> {
    let Some(schema) = &program.schema else {
        return Ok(record);
    };
    // A test gives only the fields its rules need: a required field it leaves out is no error.
    let violations = crate::schema::conform(schema, &mut record);
    let Some(first) = violations
        .into_iter()
        .find(|v| v.code != Code::SchemaMissingField)
    else {
        return Ok(record);
    };
    Err(Diag::error(
        first.code,
        format!(
            "the record of test `{}` does not conform to the schema: {}",
            test.name, first.message
        ),
    )
    .label(&record.source, first.span, "here")
    .label(&first.schema_source, first.schema_span, "declared here")
    .maybe_help(first.help))
}

fn one_record_error(test: &CompiledTest, what: &str) -> Diag {
    let span = match &test.given {
        Given::Inline(span) | Given::Records(span) => *span,
        Given::File(path) => path.span,
    };
    Diag::error(
        Code::TestGiven,
        match test.given {
            Given::Records(_) => format!("the records of test `{}`: the list {what}", test.name),
            _ => format!("the record of test `{}` {what}", test.name),
        },
    )
    .label(&test.source, span, "given here")
    .help(match test.given {
        Given::Records(_) => "`given [ … ]` is a list of records, each a mapping of its fields",
        _ => "a test's `given` is one record: a mapping of its fields",
    })
}

/// The policy file up to the end of `span`, everything before it blanked (line breaks kept), so
/// that the YAML reader sees only the data, at its own line and column, and its end where the
/// data ends.
fn inline_source(policy: &Source, span: Span) -> Source {
    let data = policy.text().get(..span.end).unwrap_or_default();
    let mut text = String::with_capacity(data.len());
    for (i, c) in data.char_indices() {
        if i >= span.start || c == '\n' || c == '\r' {
            text.push(c);
        } else {
            text.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    SourceFile::new(policy.name().to_string(), text)
}
