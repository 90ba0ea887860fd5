//! The one diagnostic type of every stage: a message with a stable code, labels that may point
//! into several files (a finding labels both the record and the rule), and a help text.

pub mod codes;

use std::fmt;

pub use codes::{Code, Level};

use miette::{LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::source::{Location, Source, Span};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Fails the run.
    Error,
    /// Worth a look.
    Warning,
    /// Information.
    Advice,
}

/// A label: a place in a file and what to say about it.
#[derive(Debug, Clone)]
pub struct Label {
    /// The place.
    pub location: Location,
    /// The text shown under it.
    pub text: String,
}

/// A diagnostic: what went wrong (or what was found), where, and how to fix it.
#[derive(Debug, Clone)]
pub struct Diag {
    /// A stable code such as `caveat::parse::expected`.
    pub code: Code,
    /// How serious it is.
    pub severity: Severity,
    /// The message: lowercase, no final period, user text in backticks.
    pub message: String,
    /// The labels; the first is the primary one.
    pub labels: Vec<Label>,
    /// How to fix it, when that can be said.
    pub help: Option<String>,
    /// For a finding: the id of the rule that fired, shown instead of the code.
    pub rule: Option<std::sync::Arc<str>>,
    /// The file a diagnostic without a label is about (a data file that cannot be read), which
    /// the formats with a place for a file give it, at 1:1.
    file: Option<std::sync::Arc<str>>,
    files: Files,
}

impl Diag {
    /// An error with a code and a message, and no label yet.
    pub fn error(code: Code, message: impl Into<String>) -> Diag {
        Diag::new(code, Severity::Error, message)
    }

    /// A warning with a code and a message, and no label yet.
    pub fn warning(code: Code, message: impl Into<String>) -> Diag {
        Diag::new(code, Severity::Warning, message)
    }

    /// A note (information) with a code and a message, and no label yet.
    pub(crate) fn advice(code: Code, message: impl Into<String>) -> Diag {
        Diag::new(code, Severity::Advice, message)
    }

    /// A finding of the rule `rule` (a [`Code::FindingRule`]), shown under the rule's id.
    pub fn finding(
        rule: std::sync::Arc<str>,
        severity: Severity,
        message: impl Into<String>,
    ) -> Diag {
        Diag {
            rule: Some(rule),
            ..Diag::new(Code::FindingRule, severity, message)
        }
    }

    fn new(code: Code, severity: Severity, message: impl Into<String>) -> Diag {
        Diag {
            code,
            rule: None,
            severity,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            file: None,
            files: Files::default(),
        }
    }

    /// An error about reading or writing a file: "{what} `{path}`: {the system's reason}".
    pub fn io(code: Code, what: &str, path: impl fmt::Display, error: &impl fmt::Display) -> Diag {
        let reason = error.to_string().to_lowercase();
        Diag::error(code, format!("{what} `{path}`: {reason}"))
    }

    /// Adds a label at `span` of `source`.
    pub(crate) fn label(mut self, source: &Source, span: Span, text: impl Into<String>) -> Diag {
        let span = source.clamp(span);
        self.files.add(source);
        self.labels.push(Label {
            location: Location {
                source: source.clone(),
                span,
            },
            text: text.into(),
        });
        self
    }

    /// Adds a help text.
    pub fn help(mut self, help: impl Into<String>) -> Diag {
        self.help = Some(help.into());
        self
    }

    /// Adds a help text if there is one.
    pub(crate) fn maybe_help(mut self, help: Option<String>) -> Diag {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// The primary location, if the diagnostic has a label.
    pub fn location(&self) -> Option<&Location> {
        self.labels.first().map(|l| &l.location)
    }

    /// Says that the diagnostic is about the file `name`, for one without a label (a file that
    /// cannot be read): see [`Diag::place`].
    pub(crate) fn in_file(mut self, name: &str) -> Diag {
        if self.labels.is_empty() && self.file.is_none() {
            self.file = Some(name.into());
        }
        self
    }

    /// Where the diagnostic is, as file, line and column: its primary label's place, or 1:1 of
    /// the file it is about.
    pub fn place(&self) -> Option<(&str, usize, usize)> {
        match self.location() {
            Some(at) => Some(at.place()),
            None => self.file.as_deref().map(|file| (file, 1, 1)),
        }
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diag {}

impl miette::Diagnostic for Diag {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match &self.rule {
            Some(rule) => Some(Box::new(rule)),
            None => Some(Box::new(self.code)),
        }
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Advice => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        if self.files.sources.is_empty() {
            None
        } else {
            Some(&self.files)
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().enumerate().map(
            |(i, label)| {
                let source = &label.location.source;
                let base = self.files.base_of(source);
                // Offsets in the text as shown, control characters escaped.
                let span = label.location.span;
                let (start, end) = (
                    source.shown_offset(span.start),
                    source.shown_offset(span.end),
                );
                // On a long line, a label shows an excerpt of it.
                let (excerpt, cut) = source
                    .shown()
                    .excerpt_span(crate::source::Span::new(start, end));
                let (start, end) = (excerpt.start, excerpt.end);
                let text = match (label.text.is_empty(), cut) {
                    (true, false) => None,
                    (true, true) => Some("(an excerpt of a long line)".to_string()),
                    (false, false) => Some(label.text.clone()),
                    (false, true) => Some(format!("{} (an excerpt of a long line)", label.text)),
                };
                let at = SourceSpan::new((base + start).into(), end - start);
                if i == 0 {
                    LabeledSpan::new_primary_with_span(text, at)
                } else {
                    LabeledSpan::new_with_span(text, at)
                }
            },
        )))
    }
}

/// The files a diagnostic's labels point into, laid end to end in one offset space so that a
/// single miette diagnostic can show snippets of several files. A span that would cross from one
/// file into the next cannot be read, so miette never merges snippets of two files. Each file is
/// held as it is shown ([`crate::source::SourceFile::shown`]): control characters escaped.
#[derive(Debug, Clone, Default)]
struct Files {
    /// The base offset, the file as given, and the file as shown.
    sources: Vec<(usize, Source, Source)>,
}

impl Files {
    fn add(&mut self, source: &Source) {
        if self
            .sources
            .iter()
            .any(|(_, s, _)| std::sync::Arc::ptr_eq(s, source))
        {
            return;
        }
        let base = self
            .sources
            .last()
            .map_or(0, |(base, _, shown)| base + shown.text().len() + 1);
        self.sources.push((base, source.clone(), source.shown()));
    }

    fn base_of(&self, source: &Source) -> usize {
        self.sources
            .iter()
            .find(|(_, s, _)| std::sync::Arc::ptr_eq(s, source))
            .map_or(0, |(base, _, _)| *base)
    }
}

impl SourceCode for Files {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = span.offset();
        let end = start + span.len();
        let (base, given, source) = self
            .sources
            .iter()
            .rev()
            .find(|(base, _, _)| *base <= start)
            .ok_or(MietteError::OutOfBounds)?;
        if end > base + source.text().len() {
            return Err(MietteError::OutOfBounds);
        }
        let local = SourceSpan::new((start - base).into(), span.len());
        let inner = source.read_span(&local, context_lines_before, context_lines_after)?;
        let moved = SourceSpan::new((inner.span().offset() + base).into(), inner.span().len());
        // The column of a place (what the header shows) is the file's, not the escaped text's.
        let column = if context_lines_before == 0 && !std::sync::Arc::ptr_eq(given, source) {
            given.line_col(given.given_offset(start - base)).1 - 1
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            inner.name().unwrap_or_default().to_string(),
            inner.data(),
            moved,
            inner.line(),
            column,
            inner.line_count(),
        )))
    }
}
