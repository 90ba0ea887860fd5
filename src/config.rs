//! `caveat.toml`: the project's settings for `caveat check`, found by searching upward from the
//! working directory (or named with `--config`). Paths in it are relative to the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::ValueEnum as _;
use serde::Deserialize;

use crate::diagnostic::{Code, Diag};
use crate::report::{FailOn, Format};
use crate::source::{Source, SourceFile, Span};

/// The file name searched for.
pub(crate) const FILE_NAME: &str = "caveat.toml";

/// The keys a config may have, for "did you mean" on the others.
const KEYS: &[&str] = &[
    "policies", "data", "exclude", "fail-on", "id-field", "format", "output", "today",
];

/// The key that once lifted the project root's confinement. A pull request's author controls
/// `caveat.toml`, so only `--allow-outside` on the command line may lift it.
const ALLOW_OUTSIDE: &str = "allow-outside";

/// The settings of a `caveat.toml`, paths resolved against its folder.
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// Policy files and folders.
    pub policies: Vec<PathBuf>,
    /// Data files, folders and globs (a glob is expanded when the run starts).
    pub data: Vec<String>,
    /// Globs of files and folders to leave out when walking folders.
    pub exclude: Vec<String>,
    /// The lowest effect that fails the check.
    pub fail_on: Option<FailOn>,
    /// The dotted path of the field that names a record.
    pub id_field: Option<String>,
    /// The report on stdout.
    pub format: Option<Format>,
    /// Reports written to files: format → file.
    pub output: Vec<(Format, PathBuf)>,
    /// The date to treat as today (`--today` wins).
    pub today: Option<jiff::civil::Date>,
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Raw {
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    data: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    fail_on: Option<FailOn>,
    id_field: Option<String>,
    format: Option<String>,
    #[serde(default)]
    output: BTreeMap<String, String>,
    today: Option<toml::Value>,
}

/// The nearest `caveat.toml` in `start` or a folder above it, up to the root of the git work
/// tree that holds `start`: a config above the repository is not the repository's.
pub(crate) fn find(start: &Path) -> Option<PathBuf> {
    let top = crate::project::git_root(start);
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    for folder in start.ancestors() {
        let candidate = folder.join(FILE_NAME);
        if std::fs::symlink_metadata(&candidate).is_ok() {
            return Some(candidate);
        }
        if top.as_deref() == Some(folder) {
            break;
        }
    }
    None
}

/// Reads and checks the config at `path`.
pub fn load(path: &Path) -> Result<Config, Diag> {
    // The config decides the project root (its folder), so it must lie inside that folder
    // itself: a link to a file elsewhere would show that file's bytes in a syntax error.
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let project = crate::project::Project::new(folder, false);
    project.check_file(path)?;
    let bytes = crate::project::read_regular(path, crate::project::MAX_POLICY_BYTES, None)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Diag::error(
            Code::ConfigRead,
            format!("cannot read `{}`: it is not UTF-8 text", path.display()),
        )
    })?;
    let source = SourceFile::new(crate::workdir::relative(path).display().to_string(), text);
    parse(&source, path)
}

/// Checks the text of a config read from `path`.
pub fn parse(source: &Source, path: &Path) -> Result<Config, Diag> {
    let text = source.text();
    let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(source, &e))?;
    for key in table.keys() {
        if key == ALLOW_OUTSIDE {
            return Err(Diag::error(
                Code::ConfigUnknownKey,
                format!("`{ALLOW_OUTSIDE}` cannot be set in `caveat.toml`"),
            )
            .label(source, key_span(source, key), "not allowed here")
            .help(
                "give `--allow-outside` on the command line instead: whoever writes a pull \
                 request controls `caveat.toml`, so it cannot lift the project root's confinement",
            ));
        }
        if !KEYS.contains(&key.as_str()) {
            return Err(unknown_key(source, key, KEYS, "a setting"));
        }
    }
    let raw: Raw = toml::from_str(text).map_err(|e| toml_error(source, &e))?;
    let base = path.parent().unwrap_or(Path::new(""));
    // Relative to the working folder, as reports show paths given on the command line.
    let resolve = |p: &str| -> PathBuf { crate::workdir::relative(&base.join(p)) };
    let format_of = |name: &str| -> Result<Format, Diag> {
        Format::from_str(name, false).map_err(|_| {
            let names: Vec<String> = Format::value_variants()
                .iter()
                .filter_map(|f| f.to_possible_value().map(|v| v.get_name().to_string()))
                .collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            unknown_key(source, name, &names, "an output format")
        })
    };
    let mut output = Vec::new();
    for (name, file) in &raw.output {
        output.push((format_of(name)?, resolve(file)));
    }
    Ok(Config {
        path: path.to_path_buf(),
        policies: raw.policies.iter().map(|p| resolve(p)).collect(),
        data: raw
            .data
            .iter()
            .map(|p| resolve(p).to_string_lossy().into_owned())
            .collect(),
        exclude: raw.exclude.clone(),
        fail_on: raw.fail_on,
        id_field: raw.id_field,
        format: raw.format.as_deref().map(format_of).transpose()?,
        output,
        today: raw
            .today
            .as_ref()
            .map(|v| today_of(source, v))
            .transpose()?,
    })
}

/// The `today` setting: a `YYYY-MM-DD` string or a TOML date.
fn today_of(source: &Source, value: &toml::Value) -> Result<jiff::civil::Date, Diag> {
    let text = match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Datetime(date) => date.to_string(),
        other => other.to_string(),
    };
    crate::value::parse_date_literal(&text).map_err(|why| {
        let at = source.text().find("today").unwrap_or(0);
        Diag::error(
            Code::ConfigInvalid,
            format!("invalid config: `today` is not a date: {why}"),
        )
        .label(source, Span::new(at, at + "today".len()), "here")
        .help("write `today = \"YYYY-MM-DD\"`")
    })
}

/// A TOML syntax or type error, at its place in the file.
fn toml_error(source: &Source, error: &toml::de::Error) -> Diag {
    let span = error.span().map_or(Span::new(0, 0), |r| {
        Span::new(r.start, r.end.max(r.start + 1))
    });
    Diag::error(
        Code::ConfigInvalid,
        format!("invalid config: {}", error.message().trim_end()),
    )
    .label(source, span, "here")
    .help("see `caveat init` for a commented example of every setting")
}

/// A key (or output format) that is not one of `known`, at its first place in the file.
fn unknown_key(source: &Source, key: &str, known: &[&str], what: &str) -> Diag {
    let suggestion = crate::suggest::closest(key, known.iter().copied());
    Diag::error(
        Code::ConfigUnknownKey,
        format!("`{key}` is not {what} caveat knows"),
    )
    .label(source, key_span(source, key), "unknown")
    .help(match suggestion {
        Some(known) => format!("did you mean `{known}`?"),
        None => format!("the choices are {}", known.join(", ")),
    })
}

/// The first place in the file where `key` begins a line (its start when there is none).
fn key_span(source: &Source, key: &str) -> Span {
    let text = source.text();
    let at = text
        .match_indices(key)
        .map(|(i, _)| i)
        .find(|&i| {
            let before = text.get(..i).unwrap_or("");
            let line_start = before.rfind('\n').map_or(0, |n| n + 1);
            before
                .get(line_start..)
                .is_some_and(|b| b.trim().is_empty())
        })
        .unwrap_or(0);
    Span::new(at, at + key.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Config, Diag> {
        parse(
            &SourceFile::new("proj/caveat.toml", text),
            Path::new("proj/caveat.toml"),
        )
    }

    #[test]
    fn settings_are_read_with_paths_relative_to_the_file() {
        let config = read(
            "policies = [\"policies\"]\ndata = [\"data/*.yaml\"]\nexclude = [\"old/**\"]\nfail-on = \"warn\"\nid-field = \"award.piid\"\nformat = \"json\"\ntoday = \"2026-12-05\"\n[output]\nsarif = \"out/caveat.sarif\"\n",
        )
        .unwrap();
        assert_eq!(config.policies, [PathBuf::from("proj/policies")]);
        assert_eq!(config.data, ["proj/data/*.yaml"]);
        assert_eq!(config.exclude, ["old/**"]);
        assert_eq!(config.fail_on, Some(FailOn::Warn));
        assert_eq!(config.id_field.as_deref(), Some("award.piid"));
        assert_eq!(config.format, Some(Format::Json));
        assert_eq!(config.today, Some(jiff::civil::date(2026, 12, 5)));
        assert_eq!(
            config.output,
            [(Format::Sarif, PathBuf::from("proj/out/caveat.sarif"))]
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_a_suggestion() {
        let error = read("polices = [\"p\"]\n").unwrap_err();
        assert_eq!(error.code, Code::ConfigUnknownKey);
        assert_eq!(error.help.as_deref(), Some("did you mean `policies`?"));
        assert_eq!(error.location().unwrap().line_col(), (1, 1));
        let error = read("[output]\nsaif = \"x\"\n").unwrap_err();
        assert_eq!(error.help.as_deref(), Some("did you mean `sarif`?"));
        assert_eq!(error.location().unwrap().line_col(), (2, 1));
    }

    #[test]
    fn allow_outside_is_refused_at_its_line_with_the_flag_in_the_help() {
        let error = read("policies = [\"p\"]\nallow-outside = true\n").unwrap_err();
        assert_eq!(error.code, Code::ConfigUnknownKey);
        assert_eq!(error.location().unwrap().line_col(), (2, 1));
        assert!(error.help.unwrap().contains("--allow-outside"));
    }

    #[test]
    fn wrong_values_point_into_the_file() {
        let error = read("fail-on = \"sometimes\"\n").unwrap_err();
        assert_eq!(error.code, Code::ConfigInvalid);
        assert_eq!(error.location().unwrap().line_col(), (1, 11));
        let error = read("today = \"soon\"\n").unwrap_err();
        assert_eq!(error.code, Code::ConfigInvalid);
        assert_eq!(error.location().unwrap().line_col(), (1, 1));
        let error = read("policies = \"p\"\n").unwrap_err();
        assert_eq!(error.code, Code::ConfigInvalid);
    }

    #[test]
    fn the_nearest_config_above_is_found() {
        let root = std::env::temp_dir().join(format!("caveat-config-{}", std::process::id()));
        let deep = root.join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(root.join(FILE_NAME), "").unwrap();
        assert_eq!(find(&deep), Some(root.join(FILE_NAME)));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
