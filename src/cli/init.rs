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
        .filter(|path| path.exists())
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
    for (name, text) in FILES {
        let path = args.folder.join(name);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        if let Err(e) = written {
            print_errors(&[Diag::io(Code::IoWrite, "cannot write", path.display(), &e)]);
            return Exit::Trouble;
        }
        println!("wrote {}", path.display());
    }
    println!("next: `caveat check` in {}", args.folder.display());
    Exit::Clean
}
