//! Between caveat's byte spans and diagnostics and the protocol's positions (UTF-16 code units)
//! and diagnostics.

use std::path::{Path, PathBuf};

use lsp_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Position, Range, Uri,
};

use crate::diagnostic::{Diag, Severity};
use crate::source::Span;

/// Where each line after the first starts in `text`: after a LF, a CRLF or a lone CR, each a
/// line end to the protocol.
fn line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().filter_map(move |(i, &b)| match b {
        b'\n' => Some(i + 1),
        b'\r' if bytes.get(i + 1) != Some(&b'\n') => Some(i + 1),
        _ => None,
    })
}

/// The protocol range of a span of `text`.
pub(crate) fn range(text: &str, span: Span) -> Range {
    LineIndex::new(text).range(span)
}

/// Where the lines of one text start, found once for the many positions of one answer
/// (converting every diagnostic or symbol of a long file from its start took seconds).
pub(crate) struct LineIndex<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    /// The line starts of `text`.
    pub(crate) fn new(text: &'t str) -> Self {
        LineIndex {
            text,
            starts: line_starts(text).collect(),
        }
    }

    /// The protocol position of byte `offset`.
    pub(crate) fn position(&self, offset: usize) -> Position {
        let offset = floor_boundary(self.text, offset.min(self.text.len()));
        let line = self.starts.partition_point(|&start| start <= offset);
        let line_start = line
            .checked_sub(1)
            .and_then(|i| self.starts.get(i).copied())
            .unwrap_or(0);
        utf16_position(self.text, line, line_start, offset)
    }

    /// The protocol range of a span.
    pub(crate) fn range(&self, span: Span) -> Range {
        Range::new(self.position(span.start), self.position(span.end))
    }
}

/// The [`LineIndex`] of each text met while one answer is made (diagnostics point into many
/// files). A text is known by its address and length, its own while it is borrowed here.
#[derive(Default)]
pub(crate) struct Lines<'t> {
    texts: std::collections::HashMap<(usize, usize), LineIndex<'t>>,
}

impl<'t> Lines<'t> {
    /// The line index of `text`, made the first time it is asked for.
    pub(crate) fn of(&mut self, text: &'t str) -> &LineIndex<'t> {
        self.texts
            .entry((text.as_ptr() as usize, text.len()))
            .or_insert_with(|| LineIndex::new(text))
    }
}

/// The position of byte `offset` of `text` on line `line`, which starts at `line_start`.
fn utf16_position(text: &str, line: usize, line_start: usize, offset: usize) -> Position {
    let character: usize = text
        .get(line_start..offset)
        .unwrap_or("")
        .chars()
        .map(char::len_utf16)
        .sum();
    Position::new(
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(character).unwrap_or(u32::MAX),
    )
}

/// The byte offset in `text` of a protocol position (clamped to its line and to the text).
pub(crate) fn offset(text: &str, position: Position) -> usize {
    let line_start = match (position.line as usize).checked_sub(1) {
        None => 0,
        Some(n) => match line_starts(text).nth(n) {
            Some(start) => start,
            None => return text.len(),
        },
    };
    let line = text.get(line_start..).unwrap_or("");
    let line = line.split(['\n', '\r']).next().unwrap_or("");
    let mut units = 0;
    for (i, c) in line.char_indices() {
        if units >= position.character as usize {
            return line_start + i;
        }
        units += c.len_utf16();
    }
    line_start + line.len()
}

fn floor_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The path of a `file:` URI; for an unsaved editor tab (`untitled:Untitled-1`), a path of its
/// own in a folder that does not exist (`/.caveat-untitled/untitled:Untitled-1`), so that it is
/// checked like a file whose imports are missing (its policy root is that folder). `None` for
/// other schemes.
pub(crate) fn path_of(uri: &Uri) -> Option<PathBuf> {
    let url = url::Url::parse(uri.as_str()).ok()?;
    match url.scheme() {
        "file" => url.to_file_path().ok(),
        "untitled" => Some(Path::new(UNTITLED).join(url.as_str().replace('/', "%2F"))),
        _ => None,
    }
}

/// The folder, which does not exist, that unsaved editor tabs are placed in.
const UNTITLED: &str = "/.caveat-untitled";

/// The `file:` URI of a path.
pub(crate) fn uri_of(path: &Path) -> Option<Uri> {
    let url = url::Url::from_file_path(path).ok()?;
    url.as_str().parse().ok()
}

/// The replacement a diagnostic's help offers ("did you mean `x`?"), if any.
pub(crate) fn suggestion(diag: &Diag) -> Option<String> {
    let help = diag.help.as_deref()?;
    let rest = help
        .strip_prefix("did you mean the field `")
        .or_else(|| help.strip_prefix("did you mean `"))?;
    let end = rest.find('`')?;
    let suggested = rest.get(..end)?.to_string();
    // An import's label covers the quoted path: keep the quotes and the folders written.
    let label = diag.labels.first()?;
    let written = label.location.source.slice(label.location.span);
    if let Some(inner) = written.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        let folder = inner
            .rfind('/')
            .map_or("", |i| inner.get(..=i).unwrap_or(""));
        return Some(format!("\"{folder}{suggested}\""));
    }
    // A label on the last name of a path (`totl` of `all.totl`) is replaced by the last name
    // of the suggestion: what stands before the label stays.
    let before = label
        .location
        .source
        .text()
        .get(..label.location.span.start)
        .unwrap_or("");
    let kept = suggested
        .match_indices('.')
        .map(|(i, _)| i + 1)
        .filter(|&i| {
            suggested
                .get(..i)
                .is_some_and(|prefix| before.ends_with(prefix))
        })
        .max()
        .unwrap_or(0);
    Some(suggested.get(kept..).unwrap_or(&suggested).to_string())
}

/// A caveat diagnostic as a protocol diagnostic in the file of its first label: the code, the
/// help after the message, the other labels as related information, and the replacement of a
/// did-you-mean in `data` for the quick fix. `None` for a diagnostic without a label.
pub(crate) fn diagnostic<'t>(
    diag: &'t Diag,
    lines: &mut Lines<'t>,
) -> Option<(PathBuf, Diagnostic)> {
    let primary = diag.labels.first()?;
    let text = primary.location.source.text();
    let mut message = diag.message.clone();
    if !primary.text.is_empty() {
        message = format!("{message}: {}", primary.text);
    }
    if let Some(help) = &diag.help {
        message = format!("{message}\nhelp: {help}");
    }
    let related: Vec<DiagnosticRelatedInformation> = diag
        .labels
        .iter()
        .skip(1)
        .filter_map(|label| {
            let source = &label.location.source;
            Some(DiagnosticRelatedInformation {
                location: Location::new(
                    uri_of(&file_of(source.name()))?,
                    lines.of(source.text()).range(label.location.span),
                ),
                message: if label.text.is_empty() {
                    "here".to_string()
                } else {
                    label.text.clone()
                },
            })
        })
        .collect();
    let diagnostic = Diagnostic {
        range: lines.of(text).range(primary.location.span),
        severity: Some(match diag.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Advice => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(diag.code.as_str().to_string())),
        source: Some("caveat".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        data: suggestion(diag).map(|s| serde_json::json!({ "replace": s })),
        ..Diagnostic::default()
    };
    Some((file_of(primary.location.source.name()), diagnostic))
}

/// The file a source's name is: reports name files relative to the working folder.
fn file_of(name: &str) -> PathBuf {
    crate::workdir::absolute(Path::new(name))
}

#[cfg(test)]
mod tests {
    use super::{LineIndex, offset, suggestion};
    use crate::diagnostic::{Code, Diag};
    use crate::source::{SourceFile, Span};
    use lsp_types::Position;

    /// The quick fix replaces what the label covers: the last name of `all.totl`, the whole of
    /// `record.tags.kidn`.
    #[test]
    fn a_suggestion_keeps_what_stands_before_its_label() {
        let text =
            "rule r { let total = 1 note when median(all.totl) > 1 and record.tags.kidn == x }";
        let source = SourceFile::new("p.policy", text);
        let fix = |label: &str, help: &str| {
            let start = text.find(label).unwrap_or(0);
            let diag = Diag::error(Code::CheckUnknownAll, "x".to_string())
                .label(&source, Span::new(start, start + label.len()), "here")
                .help(help);
            suggestion(&diag)
        };
        assert_eq!(
            fix("totl", "did you mean `all.total`?").as_deref(),
            Some("total")
        );
        assert_eq!(
            fix("record.tags.kidn", "did you mean `record.tags.kind`?").as_deref(),
            Some("record.tags.kind")
        );
    }

    #[test]
    fn positions_count_utf16_code_units() {
        let text = "a\né𝄞x\n";
        let x = text.find('x').unwrap_or(0);
        assert_eq!(LineIndex::new(text).position(x), Position::new(1, 3));
        assert_eq!(offset(text, Position::new(1, 3)), x);
        assert_eq!(offset(text, Position::new(9, 0)), text.len());
        assert_eq!(offset(text, Position::new(0, 99)), 1);
    }

    /// One `Lines` gives every offset of a text, and of another text, what a count from the
    /// start gives.
    #[test]
    fn lines_found_once_give_the_positions_counted_from_the_start() {
        let texts = ["a\r\nbé\r𝄞c\n\nd", "x\ny"];
        let mut lines = super::Lines::default();
        for text in texts {
            let index = lines.of(text);
            for offset in 0..=text.len() + 2 {
                let (mut line, mut character) = (0u32, 0u32);
                let mut chars = text.char_indices().peekable();
                while let Some((i, c)) = chars.next() {
                    if i >= offset.min(text.len())
                        || !text.is_char_boundary(offset.min(text.len()))
                            && i + c.len_utf8() > offset
                    {
                        break;
                    }
                    let crlf = c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n');
                    if c == '\n' || (c == '\r' && !crlf) {
                        (line, character) = (line + 1, 0);
                    } else if !crlf {
                        character += u32::try_from(c.len_utf16()).unwrap_or(0);
                    } else {
                        character += 1;
                    }
                }
                assert_eq!(
                    index.position(offset),
                    Position::new(line, character),
                    "{text:?} at {offset}"
                );
            }
        }
    }

    /// A lone CR ends a line as LF and CRLF do, to the protocol.
    #[test]
    fn every_line_end_counts() {
        let text = "let a = 1\rrule x {\r\n  deny when b > c\n}\r";
        let c = text.find('c').unwrap_or(0);
        assert_eq!(LineIndex::new(text).position(c), Position::new(2, 16));
        assert_eq!(offset(text, Position::new(2, 16)), c);
        assert_eq!(offset(text, Position::new(0, 99)), "let a = 1".len());
        assert_eq!(
            LineIndex::new(text).position(text.len()),
            Position::new(4, 0)
        );
    }
}
