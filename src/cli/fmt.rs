//! `caveat fmt`: rewrites policy files in the one layout, or with `--check` shows what would
//! change.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Exit, print_errors};
use crate::diagnostic::{Code, Diag};
use crate::format::{NotFormatted, format_file};
use crate::source::SourceFile;

/// The arguments of `caveat fmt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files and folders (walked for `.policy` files), or `-`: the policy on standard
    /// input, formatted to standard output. Default: the config's `policies`, or `policies/`.
    pub paths: Vec<PathBuf>,
    /// Change nothing: print a diff of each file that is not formatted, and exit 1 if any.
    #[arg(long)]
    pub check: bool,
}

/// Runs `caveat fmt`.
pub fn run(args: &Args) -> Exit {
    if args.paths.iter().any(|p| crate::data::chunk::is_stdin(p)) {
        if let [_] = args.paths.as_slice() {
            return format_stdin(args.check);
        }
        print_errors(&[Diag::error(
            Code::FmtStdinWithFiles,
            "`-` (standard input) cannot be formatted with files: its result goes to standard output",
        )
        .help("run `caveat fmt -` on its own, and the files in another command")]);
        return Exit::Trouble;
    }
    let files = match super::policy_inputs(&args.paths) {
        Ok(inputs) => inputs.policies,
        Err(errors) => {
            print_errors(&errors);
            return Exit::Trouble;
        }
    };
    if files.is_empty() {
        print_errors(&[
            Diag::error(Code::FmtNoPolicies, "no policy files to format")
                .help("give `.policy` files or folders that hold some"),
        ]);
        return Exit::Trouble;
    }
    let mut trouble = false;
    let mut unformatted = 0;
    // Files that needed formatting but were left alone (links, read-only files).
    let mut left = 0;
    for file in &files {
        match format_one(&file.path, args.check, &mut left) {
            Ok(true) => unformatted += 1,
            Ok(false) => {}
            Err(errors) => {
                print_errors(&errors);
                trouble = true;
            }
        }
    }
    if trouble {
        Exit::Trouble
    } else if left > 0 {
        Exit::Findings
    } else if args.check && unformatted > 0 {
        eprintln!(
            "caveat: {unformatted} of {} policy file{} not formatted; run `caveat fmt`",
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        );
        Exit::Findings
    } else {
        Exit::Clean
    }
}

/// `caveat fmt -`: the policy on standard input, formatted to standard output (with `check`,
/// nothing but the diff, and exit 1 when it is not formatted).
fn format_stdin(check: bool) -> Exit {
    let name = "<stdin>";
    let mut bytes = Vec::new();
    if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes) {
        print_errors(&[Diag::io(Code::IoRead, "cannot read", name, &e)]);
        return Exit::Trouble;
    }
    let Ok(text) = String::from_utf8(bytes) else {
        print_errors(&[Diag::error(
            Code::IoNotUtf8,
            format!("`{name}` is not UTF-8 text: a policy must be"),
        )]);
        return Exit::Trouble;
    };
    match formatted_text(name, &text) {
        Err(errors) => {
            print_errors(&errors);
            Exit::Trouble
        }
        Ok(formatted) if check => {
            if formatted == text {
                Exit::Clean
            } else if let Err(errors) = print_diff(name, &text, &formatted) {
                print_errors(&errors);
                Exit::Trouble
            } else {
                Exit::Findings
            }
        }
        Ok(formatted) => super::write_stdout(formatted.as_bytes()),
    }
}

/// Formats one file; `Ok(true)` when it was not formatted (and, unless `check`, now is).
fn format_one(path: &Path, check: bool, left: &mut usize) -> Result<bool, Vec<Diag>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![Diag::io(Code::IoRead, "cannot read", &name, &e)])?;
    let formatted = formatted_text(&name, &text)?;
    if formatted == text {
        return Ok(false);
    }
    if check {
        print_diff(&name, &text, &formatted)?;
    } else if let Some(why) = left_alone(path) {
        print_errors(&[why]);
        *left += 1;
    } else {
        write_atomically(path, &formatted)
            .map_err(|e| vec![Diag::io(Code::IoWrite, "cannot write", &name, &e)])?;
        let line = format!("formatted {}\n", crate::report::text::visible(&name));
        super::stdout_bytes(line.as_bytes()).map_err(|e| vec![super::stdout_unwritten(&e)])?;
    }
    Ok(true)
}

/// The policy `text` (named `name`) formatted, or why it is left as it is.
fn formatted_text(name: &str, text: &str) -> Result<String, Vec<Diag>> {
    match format_file(name, text) {
        Ok(formatted) => Ok(formatted),
        Err(NotFormatted::Invalid(errors)) => Err(errors),
        Err(NotFormatted::MovesUnnamedRule { at, from, to }) => {
            let source = SourceFile::new(name, text);
            let stem = crate::check::unnamed_rule_stem(std::path::Path::new(name));
            Err(vec![
                Diag::error(
                    Code::FmtRenamesRule,
                    format!(
                        "formatting `{name}` would move the rule `{stem}:{from}` to line {to}, and so rename it; it was left as it is"
                    ),
                )
                .label(&source, at, "a rule outside a `rule ID { … }` block is named by its line")
                .help("name the rule, `rule ID { … }`, so that waivers and tests keep finding it wherever it stands"),
            ])
        }
        Err(NotFormatted::Changed(span)) => {
            let source = SourceFile::new(name, text);
            Err(vec![
                Diag::error(
                    Code::FmtInternal,
                    format!("formatting `{name}` would change its meaning; it was left as it is"),
                )
                .label(&source, span, "the formatted text first differs here")
                .help("this is a bug in caveat fmt; please report it with this file"),
            ])
        }
    }
}

/// Why `fmt` must not replace `path`, if it must not: a symbolic link (replacing it would turn
/// it into a copy), a file that is not a regular one, or a read-only file.
fn left_alone(path: &Path) -> Option<Diag> {
    let metadata = std::fs::symlink_metadata(path).ok()?;
    let (code, why) = if metadata.file_type().is_symlink() {
        (
            Code::FmtSymlink,
            "is a symbolic link; format the file it points to",
        )
    } else if !metadata.is_file() {
        (Code::FmtNotAFile, "is not a regular file")
    } else if metadata.permissions().readonly() {
        (
            Code::FmtReadOnly,
            "is read-only; make it writable to format it",
        )
    } else {
        return None;
    };
    Some(
        Diag::warning(code, format!("`{}` {why}: left as it is", path.display()))
            .help("`caveat fmt` replaces only regular, writable files"),
    )
}

/// A unified diff of the change, on stdout.
fn print_diff(name: &str, old: &str, new: &str) -> Result<(), Vec<Diag>> {
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header(name, &format!("{name} (formatted)"))
        .to_string();
    super::stdout_bytes(text.as_bytes()).map_err(|e| vec![super::stdout_unwritten(&e)])
}

/// Gives the new `file` the owner and group of the file it replaces (`metadata`); an error when
/// the user running caveat may not.
#[cfg(unix)]
fn keep_owner(file: &std::fs::File, metadata: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    std::os::unix::fs::fchown(file, Some(metadata.uid()), Some(metadata.gid())).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "its owner ({}:{}) cannot be kept on the formatted copy ({e})",
                metadata.uid(),
                metadata.gid()
            ),
        )
    })
}

/// Replaces `path` with `text` so that an interrupted run leaves the old file or the new one,
/// never half of one: a temporary file in the same folder, synced, with the old file's
/// permissions and owner, renamed over it. A file with other hard links, or whose owner cannot be
/// kept, is refused: replacing it would split the links or hand it to the user running caveat.
pub(crate) fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map_or_else(|| "policy".into(), |n| n.to_string_lossy().into_owned());
    // Never replace a link (it would become a copy) or a device, FIFO or folder.
    if let Ok(metadata) = std::fs::symlink_metadata(path)
        && !metadata.is_file()
    {
        return Err(std::io::Error::other(
            "it is a symbolic link or not a regular file; caveat replaces only regular files",
        ));
    }
    #[cfg(unix)]
    if let Ok(metadata) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt as _;
        if metadata.nlink() > 1 {
            return Err(std::io::Error::other(format!(
                "it has {} hard links, which replacing it would separate; caveat replaces only \
                 files with one link",
                metadata.nlink()
            )));
        }
    }
    let temp = folder.join(format!(".{file_name}.{}.caveat-fmt", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        if let Ok(metadata) = std::fs::metadata(path) {
            std::fs::set_permissions(&temp, metadata.permissions())?;
            #[cfg(unix)]
            keep_owner(&file, &metadata)?;
        }
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
