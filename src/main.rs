//! The `caveat` command.

use std::process::ExitCode;

/// The stack of the thread that does the work: deeply nested (but legal) policies and data need
/// more than the platform's default.
const STACK_SIZE: usize = 64 << 20;

fn main() -> ExitCode {
    // A reader that closes stdout early (`caveat man | head`) ends the command quietly; one that
    // closes stderr (`caveat lint 2>&1 | head`) too, but the command has not finished.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(code) = caveat::cli::closed_pipe_exit(info) {
            std::process::exit(code);
        }
        default_hook(info);
    }));
    let cli = caveat::cli::parse_from(std::env::args_os());
    let worker = std::thread::Builder::new()
        .stack_size(STACK_SIZE)
        .spawn(move || caveat::cli::run(cli));
    match worker.map(std::thread::JoinHandle::join) {
        Ok(Ok(exit)) => ExitCode::from(exit.code()),
        _ => {
            eprintln!("caveat: internal error: the worker thread failed; please report this");
            ExitCode::from(2)
        }
    }
}
