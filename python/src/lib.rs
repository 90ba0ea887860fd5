//! `caveat._caveat`: the Python extension of caveat. The Python package `caveat` wraps it
//! (`python/caveat/__init__.py`); users call that, not this.
//!
//! Records come in as Arrow data (through the Arrow PyCapsule interface, without a copy) or as
//! Python objects, are read by the library's record sources ([`caveat::data::arrow`] and
//! [`records`]) and evaluated by its one evaluator ([`caveat::run::records::RecordCheck`]);
//! findings go out as an Arrow record batch ([`findings`]). Evaluation runs without the GIL.

mod findings;
mod records;

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, StructArray};
use caveat::compile::{Program, Segment};
use caveat::data::arrow::{arrow_records, batch_rows};
use caveat::data::{Format, LoadOptions};
use caveat::diagnostic::Diag;
use caveat::run::records::{AcrossStage, RecordCheck};
use caveat::source::SourceFile;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyList;
use pyo3_arrow::PyTable;
use pyo3_arrow::input::{AnyArray, AnyRecordBatch};

pyo3::create_exception!(
    _caveat,
    CompileFailed,
    PyException,
    "The policies did not compile: args are (message, diagnostics)."
);
pyo3::create_exception!(
    _caveat,
    DataFailed,
    PyException,
    "Records could not be read: args are (message, diagnostics, findings or None)."
);

/// A diagnostic as a tuple: (code, severity, message, file, line, column, help, rendered).
type DiagTuple = (
    String,
    String,
    String,
    Option<String>,
    Option<usize>,
    Option<usize>,
    Option<String>,
    String,
);

fn diag_tuple(diag: &Diag) -> DiagTuple {
    // Records from Arrow or Python have no text to show: their diagnostics keep no snippet.
    let bare;
    let diag = if !diag.labels.is_empty()
        && diag
            .labels
            .iter()
            .all(|l| l.location.source.text().is_empty())
    {
        bare = {
            let mut copy = diag.clone();
            copy.labels.clear();
            copy
        };
        &bare
    } else {
        diag
    };
    let place = diag.labels.first().map(|l| l.location.place());
    let severity = match diag.severity {
        caveat::Severity::Error => "error",
        caveat::Severity::Warning => "warning",
        _ => "note",
    };
    let rendered = caveat::report::human::render(
        diag,
        caveat::report::human::Style {
            color: false,
            width: 100,
        },
    );
    (
        diag.code.as_str().to_string(),
        severity.to_string(),
        diag.message.clone(),
        place.map(|(file, _, _)| file.to_string()),
        place.map(|(_, line, _)| line),
        place.map(|(_, _, column)| column),
        diag.help.clone(),
        rendered,
    )
}

/// The exception for `diags`: `kind` with (summary, diagnostics[, extra]).
fn failure<'py>(
    py: Python<'py>,
    kind: &str,
    summary: String,
    diags: &[Diag],
    extra: Option<Bound<'py, PyAny>>,
) -> PyErr {
    let tuples: Vec<DiagTuple> = diags.iter().map(diag_tuple).collect();
    let message = match diags.first() {
        Some(first) if diags.len() == 1 => format!("{summary}: {}", first.message),
        Some(first) => format!(
            "{summary}: {} (and {} more)",
            first.message,
            diags.len() - 1
        ),
        None => summary,
    };
    let build = || -> PyResult<PyErr> {
        let list = PyList::new(py, tuples)?;
        Ok(match kind {
            "compile" => CompileFailed::new_err((message.clone(), list.unbind())),
            _ => DataFailed::new_err((message.clone(), list.unbind(), extra.map(Bound::unbind))),
        })
    };
    build().unwrap_or_else(|e| e)
}

/// A compiled policy set, its waivers applied as of a day.
#[pyclass(frozen, name = "Policy", module = "caveat._caveat")]
struct Policy {
    program: Arc<Program>,
    /// The warnings of applying the waivers as of `today` (expired, expiring).
    warnings: Vec<DiagTuple>,
    /// The day, `YYYY-MM-DD`.
    today: String,
}

impl Policy {
    /// `program` with its waivers applied as of `today` (`YYYY-MM-DD`; the current date, UTC,
    /// as `caveat check` without `--today`).
    fn new(mut program: Program, today: Option<&str>) -> PyResult<Policy> {
        let date = match today {
            Some(text) => text.parse::<jiff::civil::Date>().map_err(|_| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "`{text}` is not a date: give today as YYYY-MM-DD"
                ))
            })?,
            None => caveat::cli::check::current_date(),
        };
        let warnings = program.apply_today(date);
        Ok(Policy {
            program: Arc::new(program),
            warnings: warnings.iter().map(diag_tuple).collect(),
            today: date.to_string(),
        })
    }
}

/// The dotted path of the field that names a record, as segments.
fn id_path(id_field: &str) -> Vec<String> {
    id_field.split('.').map(str::to_string).collect()
}

/// The findings of a check, or the exception for its unreadable records.
fn checked_table<'py>(
    py: Python<'py>,
    program: &Program,
    checked: caveat::run::records::Checked,
    with_place: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let batch = findings::batch(program, &checked.findings, with_place)?;
    let table = PyTable::try_new(vec![batch.clone()], batch.schema())?.into_pyarrow(py)?;
    if checked.errors.is_empty() {
        return Ok(table);
    }
    let summary = match checked.errors.len() {
        1 => "a record could not be read".to_string(),
        n => format!("{n} records could not be read"),
    };
    Err(failure(py, "data", summary, &checked.errors, Some(table)))
}

/// Evaluates `check` on every row of the chunks (struct arrays); `first_row` counts the first chunk's first row.
fn add_chunks(
    check: &mut RecordCheck<'_>,
    chunks: &[StructArray],
    name: &str,
    first_row: usize,
) -> Result<(), Diag> {
    let mut row = first_row;
    for rows in chunks {
        let records = arrow_records(rows, name, row).map_err(caveat::run::data_error)?;
        for record in records {
            check.add(record);
        }
        row += rows.len();
    }
    Ok(())
}

/// The chunks of an Arrow input whose rows are records: a table's or record batch's rows, or an
/// array (or chunked array) of structs, whose null rows stay null (a table made of it would
/// read them as empty records). A chunk of anything else is not records.
fn record_chunks(data: AnyArray) -> PyResult<Result<Vec<StructArray>, Diag>> {
    let reader = data.into_reader()?;
    let mut chunks = Vec::new();
    for chunk in reader {
        let chunk = chunk.map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        match chunk.as_struct_opt() {
            Some(rows) => chunks.push(rows.clone()),
            None => {
                return Ok(Err(Diag::error(
                    caveat::Code::DataNotARecord,
                    format!(
                        "the data's rows are values of type {}, not records",
                        chunk.data_type()
                    ),
                )
                .help(
                    "give a table, a DataFrame or an array of structs: each row a record",
                )));
            }
        }
    }
    Ok(Ok(chunks))
}

/// The batches of an Arrow input, read under the GIL (the data is shared, not copied).
fn batches_of(data: AnyRecordBatch) -> PyResult<Vec<RecordBatch>> {
    let reader = data.into_reader()?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

/// Which stage of a split run a check serves.
fn stage_of(split: bool) -> AcrossStage {
    if split {
        AcrossStage::Split
    } else {
        AcrossStage::Whole
    }
}

#[pymethods]
impl Policy {
    /// Checks Arrow data; with `split`, gives also the groups each record joins (a tuple).
    #[pyo3(signature = (data, name, id_field, first_row = 0, split = false))]
    fn check_arrow<'py>(
        &self,
        py: Python<'py>,
        data: AnyArray,
        name: &str,
        id_field: &str,
        first_row: usize,
        split: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let chunks = record_chunks(data)?;
        let program = &*self.program;
        let id = id_path(id_field);
        let result = py.detach(|| {
            let chunks = chunks?;
            let mut check = RecordCheck::new(program, &id).with_stage(stage_of(split));
            add_chunks(&mut check, &chunks, name, first_row).map(|()| check.finish())
        });
        let checked = match result {
            Ok(checked) => checked,
            Err(diag) => {
                return Err(failure(
                    py,
                    "data",
                    "the table cannot be read".into(),
                    &[diag],
                    None,
                ));
            }
        };
        if !split {
            return checked_table(py, program, checked, false);
        }
        let groups = findings::groups(&checked.groups)?;
        let groups = PyTable::try_new(vec![groups.clone()], groups.schema())?.into_pyarrow(py)?;
        let table = checked_table(py, program, checked, false)?;
        Ok((table, groups).into_pyobject(py)?.into_any())
    }

    /// Checks Python mappings (an iterable of dicts).
    #[pyo3(signature = (items, name, id_field))]
    fn check_objects<'py>(
        &self,
        py: Python<'py>,
        items: &Bound<'py, PyAny>,
        name: &str,
        id_field: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let source = SourceFile::new(name, "");
        let mut read = Vec::new();
        for (index, item) in items.try_iter()?.enumerate() {
            let item = item?;
            if let Some(why) = records::not_a_record(&item, index) {
                let diag = Diag::error(caveat::Code::DataNotARecord, why)
                    .help("give each record as a dict; leave out the items that are none");
                return Err(failure(
                    py,
                    "data",
                    "a record cannot be read".into(),
                    &[diag],
                    None,
                ));
            }
            read.push(records::record(&item, &source, index)?);
        }
        let program = &*self.program;
        let id = id_path(id_field);
        let checked = py.detach(|| {
            let mut check = RecordCheck::new(program, &id);
            for record in read {
                check.add(Ok(record));
            }
            check.finish()
        });
        checked_table(py, program, checked, false)
    }

    /// Checks data files as `caveat check` reads them.
    #[pyo3(signature = (paths, id_field, records = None, jobs = 1))]
    fn check_files<'py>(
        &self,
        py: Python<'py>,
        paths: Vec<PathBuf>,
        id_field: &str,
        records: Option<&str>,
        jobs: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let program = &*self.program;
        let result = py.detach(|| files::check(program, paths, id_path(id_field), records, jobs));
        match result {
            Ok((found, errors)) => checked_table(
                py,
                program,
                caveat::run::records::Checked {
                    findings: found,
                    errors,
                    ..Default::default()
                },
                true,
            ),
            Err(diags) => Err(failure(
                py,
                "data",
                "the data files cannot be read".into(),
                &diags,
                None,
            )),
        }
    }

    /// The values the group `token` of rule `rule` adds to `all.` (JSON text); with no token,
    /// every group the records form.
    #[pyo3(signature = (data, rule, token, id_field))]
    fn group_all_values(
        &self,
        py: Python<'_>,
        data: AnyRecordBatch,
        rule: usize,
        token: Option<&str>,
        id_field: &str,
    ) -> PyResult<String> {
        let batches = batches_of(data)?;
        let program = &*self.program;
        let id = segments(id_field);
        let records = group_records(py, &batches)?;
        py.detach(|| caveat::eval::split::group_all_values(program, records, rule, token, &id))
            .map_err(pyo3::exceptions::PyValueError::new_err)
    }

    /// The findings of rule `rule` on the group `token` (with no token, every group the
    /// records form), given the run's `all.` values.
    #[pyo3(signature = (data, rule, token, id_field, all = None))]
    fn group_findings<'py>(
        &self,
        py: Python<'py>,
        data: AnyRecordBatch,
        rule: usize,
        token: Option<&str>,
        id_field: &str,
        all: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let batches = batches_of(data)?;
        let program = &*self.program;
        let id = segments(id_field);
        let records = group_records(py, &batches)?;
        let found = py
            .detach(|| caveat::eval::split::group_findings(program, records, rule, token, &id, all))
            .map_err(pyo3::exceptions::PyValueError::new_err)?;
        let checked = caveat::run::records::Checked {
            findings: found,
            ..Default::default()
        };
        checked_table(py, program, checked, false)
    }

    /// The warnings of applying the waivers as of the day (expired, expiring).
    fn warnings(&self) -> Vec<DiagTuple> {
        self.warnings.clone()
    }

    /// The top-level fields the rules across records read at any stage, keys, filters and
    /// `where` included (`*`: any).
    fn across_reads(&self) -> Vec<String> {
        match self.program.across_reads().top_level() {
            Some(fields) => fields.into_iter().map(ToString::to_string).collect(),
            None => vec!["*".into()],
        }
    }

    /// The day the waivers are applied as of, `YYYY-MM-DD`.
    fn today(&self) -> String {
        self.today.clone()
    }

    /// The rules: (index, id, effect, key names, whether it is across records, whether it reads
    /// `all.`).
    fn rules(&self) -> Vec<(usize, String, String, Vec<String>, bool, bool)> {
        self.program
            .rules
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let keys = rule
                    .across
                    .as_ref()
                    .map(|a| a.keys.iter().map(|k| k.name.to_string()).collect())
                    .unwrap_or_default();
                let reads_all = rule.across.as_ref().is_some_and(|a| !a.all.is_empty());
                (
                    index,
                    rule.id.to_string(),
                    caveat::Outcome::from(rule.effect).name().to_string(),
                    keys,
                    rule.across.is_some(),
                    reads_all,
                )
            })
            .collect()
    }
}

/// The id field as the evaluator's path.
fn segments(id_field: &str) -> Vec<Segment> {
    id_field
        .split('.')
        .map(|s| Segment::Key(s.into()))
        .collect()
}

/// The records of a group's batches, named by the `__caveat_row` column the Spark helper adds
/// (their position in the whole input); the column itself is left out of the records.
fn group_records(py: Python<'_>, batches: &[RecordBatch]) -> PyResult<Vec<caveat::data::Record>> {
    let mut out = Vec::new();
    for batch in batches {
        let rows = records::row_numbers(batch)?;
        let without = records::without_helper_columns(batch)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        let table = batch_rows(&without);
        let read = arrow_records(&table, "spark", 0).map_err(|e| {
            failure(
                py,
                "data",
                "the group cannot be read".into(),
                &[caveat::run::data_error(e)],
                None,
            )
        })?;
        for (record, row) in read.zip(rows) {
            let mut record = record.map_err(|e| {
                failure(
                    py,
                    "data",
                    "a record cannot be read".into(),
                    &[caveat::run::data_error(e)],
                    None,
                )
            })?;
            record.index = row;
            out.push(record);
        }
    }
    out.sort_by_key(|r| r.index);
    Ok(out)
}

/// Compiles policy files (and what they import), with `caveat check`'s diagnostics.
#[pyfunction]
#[pyo3(signature = (paths, today = None))]
fn compile_paths(py: Python<'_>, paths: Vec<PathBuf>, today: Option<&str>) -> PyResult<Policy> {
    let result = py.detach(|| files::compile(&paths));
    match result {
        Ok(program) => Policy::new(program, today),
        Err(diags) => Err(failure(
            py,
            "compile",
            "the policies do not compile".into(),
            &diags,
            None,
        )),
    }
}

/// Compiles policy text, named `name` in diagnostics.
#[pyfunction]
#[pyo3(signature = (text, name, today = None))]
fn compile_text(py: Python<'_>, text: &str, name: &str, today: Option<&str>) -> PyResult<Policy> {
    let source = SourceFile::new(name, text);
    match caveat::check_sources(&[source]) {
        Ok(program) => Policy::new(program, today),
        Err(diags) => Err(failure(
            py,
            "compile",
            "the policy does not compile".into(),
            &diags,
            None,
        )),
    }
}

/// Joins the `all.` values of each group, in order (JSON texts).
#[pyfunction]
fn combine_all(parts: Vec<String>) -> PyResult<String> {
    caveat::eval::split::combine_all(parts.iter().map(String::as_str))
        .map_err(pyo3::exceptions::PyValueError::new_err)
}

mod files {
    //! Policy and data files, found and read as `caveat check` finds and reads them.

    use std::path::PathBuf;

    use caveat::compile::Program;
    use caveat::diagnostic::Diag;
    use caveat::report::{Reported, Sink};
    use caveat::run::RunOptions;

    use super::{Format, LoadOptions};

    /// The project: the working folder, with reads outside it allowed, as `--allow-outside`
    /// does (a notebook names the files it means).
    fn project() -> caveat::project::Project {
        let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let project = caveat::project::Project::new(&here, true);
        project.clone().make_current();
        project
    }

    /// Compiles the policy files among `paths` (folders walked).
    pub fn compile(paths: &[PathBuf]) -> Result<Program, Vec<Diag>> {
        let inputs = caveat::run::discover(paths, &[], Format::Yaml, &project())?;
        caveat::run::compile(&inputs)
    }

    /// A sink that keeps every finding.
    struct Keep(Vec<Reported>);

    impl Sink for Keep {
        fn finding(&mut self, finding: &Reported) -> std::io::Result<()> {
            self.0.push(finding.clone());
            Ok(())
        }
    }

    /// The findings of the data files among `paths`, and the records that could not be read.
    pub fn check(
        program: &Program,
        paths: Vec<PathBuf>,
        id_field: Vec<String>,
        records: Option<&str>,
        jobs: usize,
    ) -> Result<(Vec<Reported>, Vec<Diag>), Vec<Diag>> {
        let mut inputs = caveat::run::discover(&paths, &[], Format::Yaml, &project())?;
        inputs.policies.clear();
        let options = RunOptions {
            paths,
            load: LoadOptions {
                records_path: records.map(|r| r.split('.').map(str::to_string).collect()),
                ..LoadOptions::default()
            },
            id_field,
            jobs: jobs.max(1),
            ..RunOptions::default()
        };
        let mut keep = Keep(Vec::new());
        let result = caveat::run::evaluate(program, &inputs, &options, &mut keep).map_err(|e| {
            vec![Diag::error(
                caveat::Code::IoNotFound,
                format!("cannot read the data: {e}"),
            )]
        })?;
        Ok((keep.0, result.data_errors))
    }
}

/// `caveat._caveat`.
#[pymodule]
fn _caveat(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Policy>()?;
    m.add_function(wrap_pyfunction!(compile_paths, m)?)?;
    m.add_function(wrap_pyfunction!(compile_text, m)?)?;
    m.add_function(wrap_pyfunction!(combine_all, m)?)?;
    m.add("CompileFailed", m.py().get_type::<CompileFailed>())?;
    m.add("DataFailed", m.py().get_type::<DataFailed>())?;
    Ok(())
}
