//! `caveat explain RULE RECORD-ID [PATH]...`: why a rule did or did not fire on a record, shown as
//! the clauses that decided it with the values they read.

use super::check::{InputArgs, prepare_or_report};
use super::{Exit, print_errors};
use crate::compile::Segment;
use crate::diagnostic::{Code, Diag};
use crate::eval::explain::{explain, render};

/// The arguments of `caveat explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The rule's id (`dod-2018-memo`, or `FILE-STEM:LINE` for a rule outside a block).
    pub rule: String,
    /// The record's name as reports show it: its id field, or `FILE#INDEX`.
    pub record: String,
    /// What to read, as for `caveat check`.
    #[command(flatten)]
    pub input: InputArgs,
}

/// Runs `caveat explain`.
pub fn run(args: &Args) -> Exit {
    let Some(prepared) = prepare_or_report(&args.input) else {
        return Exit::Trouble;
    };
    let program = &prepared.program;
    let Some(rule) = program.rules.iter().position(|r| *r.id == *args.rule) else {
        let ids = program.rules.iter().map(|r| &*r.id);
        let help = match crate::suggest::closest(&args.rule, ids) {
            Some(id) => format!("did you mean `{id}`?"),
            None => "give a rule block's id, or `FILE-STEM:LINE` for a rule outside a block".into(),
        };
        print_errors(&[Diag::error(
            Code::ExplainUnknownRule,
            format!("no rule has the id `{}`", args.rule),
        )
        .help(help)]);
        return Exit::Trouble;
    };
    let id_field: Vec<Segment> = prepared
        .options
        .id_field
        .iter()
        .map(|s| Segment::Key(s.as_str().into()))
        .collect();
    let across = program.rules.get(rule).is_some_and(|r| r.across.is_some());
    let stdin = StdinText::new();
    if across
        && let Some(exit) =
            explain_across(program, rule, (&prepared, &stdin), &id_field, &args.record)
    {
        return exit;
    }
    let mut names = Vec::new();
    let mut found = 0;
    let mut trouble = Vec::new();
    let mut written = Exit::Clean;
    each_record((&prepared, &stdin), &mut trouble, |record| {
        let name = crate::eval::record_name(&record, &id_field);
        // `FILE#INDEX` names a record whatever its id, as the help says (two records may
        // share an id).
        let position = format!("{}#{}", record.source.name(), record.index);
        if name != args.record && position != args.record {
            if names.len() < 100_000 {
                names.push(name);
            }
            return;
        }
        found += 1;
        let explanation = if across {
            crate::eval::explain::explain_left_out(program, &record, rule)
        } else {
            explain(program, &record, rule)
        };
        if let Some(explanation) = explanation {
            let shown = shown_record(&name, &record);
            let text = render(program, &explanation, &shown);
            let text = crate::report::text::visible(&text);
            if written == Exit::Clean {
                written = super::write_stdout(text.as_bytes());
            }
        }
    });
    print_errors(&trouble);
    if found == 0 {
        let help = match crate::suggest::closest(&args.record, names.iter().map(String::as_str)) {
            Some(name) => format!("did you mean `{name}`?"),
            None => {
                "name a record by its id field (`--id-field` chooses it) or as `FILE#INDEX`".into()
            }
        };
        print_errors(&[Diag::error(
            Code::ExplainUnknownRecord,
            format!("no record is named `{}`", args.record),
        )
        .help(help)]);
        return Exit::Trouble;
    }
    if trouble.is_empty() {
        written
    } else {
        Exit::Trouble
    }
}

/// A record as an explanation's head names it: `NAME (FILE:LINE:COLUMN)`.
fn shown_record(name: &str, record: &crate::data::Record) -> String {
    let (line, column) = record.line_col(record.root.span.start);
    format!("{name} ({}:{line}:{column})", record.source.name())
}

/// `explain` of a rule across records: every record is read and grouped as `check` does, then
/// the group (or record) named `name` is explained. `None` for a rule without `per` that kept
/// no record of that name (its filters or `where` left it out): the record is explained as a
/// per-record rule's is, clause by clause.
fn explain_across(
    program: &crate::compile::Program,
    rule: usize,
    (prepared, stdin): (&super::check::Prepared, &StdinText),
    id_field: &[Segment],
    name: &str,
) -> Option<Exit> {
    let grouped = program
        .rules
        .get(rule)
        .and_then(|r| r.across.as_ref())
        .is_some_and(|a| !a.keys.is_empty());
    let mut kept = crate::eval::across::AcrossRecords::default();
    let plan = crate::eval::across::Plan::new(program);
    let mut trouble = Vec::new();
    // The record of that name as an explanation names it (the first of the name), for a rule
    // without `per`.
    let mut shown = None;
    each_record((prepared, stdin), &mut trouble, |record| {
        let record_name = crate::eval::record_label(&record, id_field);
        if shown.is_none() && *record_name == *name {
            shown = Some(shown_record(name, &record));
        }
        let mut collected = Vec::new();
        crate::eval::across::collect(program, &plan, &record, &record_name, &mut collected);
        kept.add(program, collected, |i| {
            format!("{}#{i}", record.source.name())
        });
    });
    print_errors(&trouble);
    match crate::eval::across::explain_group(program, &kept, rule, name) {
        Some(explanation) => {
            // A record is named as a per-record rule's explanation names it.
            let shown = match shown {
                Some(record) if !grouped => record,
                _ => format!("the group `{name}`"),
            };
            let text = render(program, &explanation, &shown);
            let text = crate::report::text::visible(&text);
            let written = super::write_stdout(text.as_bytes());
            Some(if trouble.is_empty() {
                written
            } else {
                Exit::Trouble
            })
        }
        None if !grouped => None,
        // A record whose keys could not be used joined no group: its error finding is the rule's
        // outcome on it.
        None if let Some(error) = kept.key_error(rule, name) => {
            let (file, line, column) = error.at.place();
            let id = program.rules.get(rule).map_or("", |r| &*r.id);
            let text = format!(
                "rule `{id}` cannot evaluate {name} ({file}:{line}:{column}): {}\n",
                error.finding.message
            );
            let text = crate::report::text::visible(&text);
            let written = super::write_stdout(text.as_bytes());
            Some(if trouble.is_empty() {
                written
            } else {
                Exit::Trouble
            })
        }
        None => {
            let names = kept.names(rule);
            let suggestion = match crate::suggest::closest(name, names.iter().map(String::as_str)) {
                Some(found) => format!("did you mean `{found}`?"),
                None => "a group is named by its key values joined with ` / `, as reports show it"
                    .into(),
            };
            // A record of that name: the groups it joined, or what leaves a record out.
            let joined = kept.groups_of(rule, name);
            let (message, help) = match (&shown, joined.first()) {
                (Some(record), Some(first)) => {
                    let id = program.rules.get(rule).map_or("", |r| &*r.id);
                    let groups: Vec<String> = joined.iter().map(|g| format!("`{g}`")).collect();
                    (
                        format!(
                            "{record} is a record, in the group{} {} of this rule",
                            if joined.len() == 1 { "" } else { "s" },
                            groups.join(", ")
                        ),
                        format!(
                            "explain a group by its name: `caveat explain {id} {}`",
                            crate::report::text::visible(&super::shell_word(first))
                        ),
                    )
                }
                (Some(record), None) => (
                    format!("the record {record} is in no group of this rule"),
                    format!(
                        "the rule's filters and `where` leave records out, and a record whose key \
                         is missing (or an empty list) joins no group; explain a group by its \
                         name: {suggestion}"
                    ),
                ),
                (None, _) => (
                    format!("no group of this rule is named `{name}`"),
                    suggestion,
                ),
            };
            print_errors(&[Diag::error(Code::ExplainUnknownRecord, message).help(help)]);
            Some(Exit::Trouble)
        }
    }
}

/// Standard input's text, once read.
type StdinText = std::cell::OnceCell<Result<crate::source::Source, Diag>>;

/// Reads every record of the run's data files, typed by the schema as `check` types them, and
/// calls `each` with it; what cannot be read goes to `trouble`.
fn each_record(
    (prepared, stdin): (&super::check::Prepared, &StdinText),
    trouble: &mut Vec<Diag>,
    mut each: impl FnMut(crate::data::Record),
) {
    let program = &prepared.program;
    let limit = prepared.options.load.limits.max_file_bytes;
    for (path, format) in &prepared.inputs.data {
        let read = if crate::data::chunk::is_stdin(path) {
            // Read once: `explain` may go over the records twice (for a rule across records,
            // then for a record's name).
            stdin
                .get_or_init(|| crate::data::chunk::read_stdin(*format, limit))
                .clone()
        } else {
            crate::source::read_text(path)
        };
        let source = match read {
            Ok(source) => source,
            Err(diag) => {
                trouble.push(diag);
                continue;
            }
        };
        for record in crate::data::read_records(&source, *format, &prepared.options.load) {
            let mut record = match record {
                Ok(record) => record,
                Err(error) => {
                    trouble.push(crate::run::data_error(error));
                    continue;
                }
            };
            // Typed by the schema as `check` types it; conformance is `check`'s to report.
            if let Some(schema) = &program.schema {
                let _ = crate::schema::conform(schema, &mut record);
            }
            each(record);
        }
    }
}
