//! A progress bar on stderr for long runs on a terminal: shown once a run has taken a second,
//! never in CI (`CI` set), with `--quiet`, or when stdout is the terminal too (the findings show
//! the progress there).

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::{CheckedRecord, Render, Reported, RunResult, Sink};
use crate::report::{Report, Reports};

/// How long a run goes before the bar appears.
const DELAY: Duration = Duration::from_secs(1);

/// The reports of a run, with a bar that counts the bytes of data done.
pub(crate) struct WithProgress {
    inner: Reports,
    bar: ProgressBar,
    started: Instant,
    shown: bool,
}

impl WithProgress {
    /// Wraps `inner`; `total` is the size of the data in bytes, when known.
    pub fn new(inner: Reports, total: Option<u64>) -> WithProgress {
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden()),
            None => ProgressBar::hidden(),
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} checking {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left) {wide_bar}",
        ) {
            bar.set_style(style);
        }
        WithProgress {
            inner,
            bar,
            started: Instant::now(),
            shown: false,
        }
    }

    /// Whether a bar may be drawn at all in this run.
    pub(crate) fn wanted(quiet: bool, stdout_used: bool) -> bool {
        use std::io::IsTerminal;
        !quiet
            && std::io::stderr().is_terminal()
            && !(stdout_used && std::io::stdout().is_terminal())
            && std::env::var_os("CI").is_none()
    }
}

impl Sink for WithProgress {
    fn finding(&mut self, finding: &Reported) -> std::io::Result<()> {
        self.inner.finding(finding)
    }

    fn renderer(&self) -> Option<Box<dyn Render + Send + Sync>> {
        self.inner.renderer()
    }

    fn rendered(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.inner.rendered(bytes)
    }

    fn wants_records(&self) -> bool {
        self.inner.wants_records()
    }

    fn record(&mut self, record: &CheckedRecord) -> std::io::Result<()> {
        self.inner.record(record)
    }

    fn data_error(&mut self, diag: &crate::diagnostic::Diag) -> std::io::Result<()> {
        self.inner.data_error(diag)
    }

    fn progress(&mut self, bytes: usize) {
        self.bar.inc(u64::try_from(bytes).unwrap_or(u64::MAX));
        if !self.shown && self.started.elapsed() >= DELAY {
            self.shown = true;
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
}

impl Report for WithProgress {
    fn finish(&mut self, result: &RunResult) -> std::io::Result<()> {
        self.bar.finish_and_clear();
        self.inner.finish(result)
    }
}
