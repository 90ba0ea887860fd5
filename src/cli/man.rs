//! `caveat man [COMMAND]`: the manual page of caveat, or of one of its commands
//! (`caveat man check` is caveat-check(1)), generated from the command definitions. The top
//! page lists a page per command, and each of them can be produced here.

use std::io::Write;

use clap::CommandFactory;

use super::{Cli, Exit, print_errors};
use crate::diagnostic::{Code, Diag};

/// The arguments of `caveat man`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The command whose page to print (`check` gives caveat-check(1)); none: caveat(1).
    pub command: Option<String>,
}

/// The command definitions with every subcommand's page name (`caveat-check`) filled in.
fn built() -> clap::Command {
    let mut command = Cli::command();
    command.build();
    command
}

/// The names of the commands that have a page.
pub fn commands() -> Vec<String> {
    built()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// The roff text of the page of `command` (none: the top page).
pub fn page(command: Option<&str>) -> Result<Vec<u8>, Diag> {
    let top = built();
    let mut roff = Vec::new();
    let written = match command {
        None => clap_mangen::Man::new(top).render(&mut roff),
        Some(name) => {
            let Some(sub) = top.find_subcommand(name).cloned() else {
                let names = commands();
                let help = match crate::suggest::closest(name, names.iter().map(String::as_str)) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("the commands are {}", names.join(", ")),
                };
                return Err(Diag::error(
                    Code::CliUnknownCommand,
                    format!("`{name}` is not a command of caveat"),
                )
                .help(help));
            };
            clap_mangen::Man::new(sub)
                .render(&mut roff)
                .and_then(|()| roff.write_all(b".SH \"SEE ALSO\"\ncaveat(1)\n"))
        }
    };
    written
        .map_err(|e| Diag::error(Code::IoWrite, format!("cannot write the manual page: {e}")))?;
    Ok(roff)
}

/// Runs `caveat man`.
pub fn run(args: &Args) -> Exit {
    match page(args.command.as_deref()) {
        Ok(roff) => super::write_stdout(&roff),
        Err(diag) => {
            print_errors(&[diag]);
            Exit::Trouble
        }
    }
}
