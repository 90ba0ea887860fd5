//! `caveat init`: a commented starter config, a sample policy and a sample record file.

use std::path::PathBuf;

use super::{Exit, print_errors};
use crate::diagnostic::{Code, Diag};

/// The arguments of `caveat init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to set up (default: the current one).
    #[arg(default_value = ".")]
    pub folder: PathBuf,
}

/// The files `init` writes: path in the folder, contents.
const FILES: &[(&str, &str)] = &[
    ("caveat.toml", include_str!("init/caveat.toml")),
    (
        "policies/example.policy",
        include_str!("init/example.policy"),
    ),
    ("data/purchases.yaml", include_str!("init/purchases.yaml")),
];

/// Runs `caveat init`: writes nothing if any of its files exists already.
pub fn run(args: &Args) -> Exit {
    let existing: Vec<String> = FILES
        .iter()
        .map(|(name, _)| args.folder.join(name))
        // A dangling link counts: writing to it would create the file it points to.
        .filter(|path| std::fs::symlink_metadata(path).is_ok())
        .map(|path| format!("`{}`", path.display()))
        .collect();
    if !existing.is_empty() {
        print_errors(&[Diag::error(
            Code::InitExists,
            format!("not overwriting {}", existing.join(", ")),
        )
        .help("move those files away, or run `caveat init` in another folder")]);
        return Exit::Trouble;
    }
    // Said once every file is written (or one could not be), so that output that cannot be
    // written does not leave half a project.
    let mut report = String::new();
    let said = |report: &str| super::write_stdout(report.as_bytes());
    for (name, text) in FILES {
        let path = args.folder.join(name);
        if let Err(diag) = no_link_on_the_way(&args.folder, name) {
            said(&report);
            print_errors(&[diag]);
            return Exit::Trouble;
        }
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                // Exclusive creation: never through a link, never over a file.
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)?;
                std::io::Write::write_all(&mut file, text.as_bytes())
            });
        if let Err(e) = written {
            said(&report);
            print_errors(&[Diag::io(Code::IoWrite, "cannot write", path.display(), &e)]);
            return Exit::Trouble;
        }
        report.push_str(&format!("wrote {}\n", path.display()));
    }
    report.push_str(&format!(
        "next: `caveat check` in {}\n",
        args.folder.display()
    ));
    said(&report)
}

/// Refuses a symbolic link among the folders between `folder` and its file `name`
/// (`policies/` as a link would send the sample policy elsewhere).
fn no_link_on_the_way(folder: &std::path::Path, name: &str) -> Result<(), Diag> {
    let mut at = folder.to_path_buf();
    let parents: Vec<&str> = name.split('/').collect();
    for part in parents.iter().take(parents.len().saturating_sub(1)) {
        at.push(part);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Diag::error(
                Code::IoUnsafeOutput,
                format!(
                    "`{}` is a symbolic link; caveat does not write through links",
                    at.display()
                ),
            )
            .help("remove the link, or run `caveat init` in another folder"));
        }
    }
    Ok(())
}
