//! `caveat lsp`: the language server, for editors (see `editors/` and the README).

use super::Exit;

/// The arguments of `caveat lsp`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Speak over standard input and output (the only transport; editors pass it).
    #[arg(long)]
    pub stdio: bool,
}

/// Runs the language server until the editor exits it: exit 0 after `shutdown` then `exit`, 1
/// when the editor goes away without them.
pub fn run(_args: &Args) -> Exit {
    match crate::lsp::serve() {
        Ok(()) => Exit::Clean,
        Err(why) => {
            eprintln!("caveat lsp: {why}");
            Exit::Findings
        }
    }
}
