//! Splitting a data file into chunks of whole records, so that chunks can be read on several cores
//! and a large file never has to be in memory at once.
//!
//! A chunk ends only where a new top-level record starts: after a newline in JSONL, and before a
//! `- ` at column 0 in a YAML file whose document is a block sequence. Anything that could make a
//! split unsafe turns splitting off for the rest of the file, which then forms one chunk: a YAML
//! document that is not a sequence, a document marker (`---`, `...`) or directive after the start,
//! an anchor (an alias in a later chunk could not find it), `--records`, and plain `.json`.

use std::io::Read;
use std::path::Path;

use super::Format;
use crate::diagnostic::{Code, Diag};
use crate::source::{Source, TextKind};

/// The path that means standard input.
pub(crate) const STDIN: &str = "-";

/// The name standard input has in reports.
pub(crate) const STDIN_NAME: &str = "<stdin>";

/// The size a chunk grows to before it is cut at the next safe place.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// Reads a data file as a series of chunks, each a [`SourceFile`] that knows its first line.
pub(crate) struct Chunks {
    name: String,
    file: Option<Box<dyn Read>>,
    format: Format,
    /// Bytes read but not yet handed out.
    buffer: Vec<u8>,
    /// The file's line at which `buffer` starts.
    line: usize,
    /// Whether chunks may still be cut.
    splitting: bool,
    /// Whether the first chunk has been handed out.
    started: bool,
    target: usize,
    /// Bytes read from the file so far, and the most allowed.
    read: u64,
    max_bytes: u64,
    /// The file's size when it was opened (0 for standard input).
    size: u64,
}

impl Chunks {
    /// Chunks of the file at `path` (or of standard input, for `-`); `split` false reads it as
    /// one chunk.
    pub fn open(path: &Path, format: Format, split: bool) -> Result<Chunks, Diag> {
        let mut size_hint = 0;
        let (name, file): (String, Box<dyn Read>) = if path == Path::new(STDIN) {
            (STDIN_NAME.to_string(), Box::new(std::io::stdin()))
        } else {
            let name = path.display().to_string();
            // Only a regular file: a FIFO would block, a device stream forever.
            let (file, size) = crate::project::open_regular(path)?;
            size_hint = size;
            (name, Box::new(file))
        };
        Ok(Chunks {
            name,
            file: Some(file),
            format,
            buffer: Vec::new(),
            line: 1,
            splitting: split && !matches!(format, Format::Json | Format::Csv),
            started: false,
            target: CHUNK_BYTES,
            read: 0,
            max_bytes: u64::MAX,
            size: size_hint,
        })
    }

    /// Refuses the file once more than `bytes` have been read from it.
    pub(crate) fn with_limit(mut self, bytes: u64) -> Chunks {
        self.max_bytes = bytes;
        self
    }

    /// Sets the size chunks grow to (for tests).
    pub(crate) fn with_target(mut self, bytes: usize) -> Chunks {
        self.target = bytes.max(1);
        self
    }

    /// Reads until the buffer holds `want` bytes or the file ends.
    fn fill(&mut self, want: usize) -> Result<(), Diag> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let mut block = vec![0u8; 64 << 10];
        // A file known to be too large is refused before any of it is read.
        let mut known_size = std::mem::take(&mut self.size);
        while self.buffer.len() < want {
            let read = if known_size > self.max_bytes {
                Ok(usize::try_from(known_size).unwrap_or(usize::MAX))
            } else {
                file.read(&mut block)
            };
            known_size = 0;
            match read {
                Ok(0) => {
                    self.file = None;
                    break;
                }
                Ok(n) => {
                    self.read = self.read.saturating_add(n as u64);
                    if self.read > self.max_bytes {
                        self.file = None;
                        self.buffer.clear();
                        return Err(Diag::error(
                            Code::DataFileTooLarge,
                            format!(
                                "`{}` is larger than the limit of {} bytes",
                                self.name, self.max_bytes
                            ),
                        )
                        .help(
                            "raise the limit with `--max-file-size BYTES` if the file is right",
                        ));
                    }
                    self.buffer.extend_from_slice(block.get(..n).unwrap_or(&[]));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.file = None;
                    return Err(Diag::io(Code::IoRead, "cannot read", &self.name, &e));
                }
            }
        }
        Ok(())
    }

    /// Where to cut the buffer: the start of the last record that begins after `target` bytes,
    /// or `None` if there is none yet.
    fn cut(&self) -> Option<usize> {
        let from = self.target.min(self.buffer.len());
        let rest = self.buffer.get(from..)?;
        let mut at = from;
        for line in rest.split_inclusive(|&b| b == b'\n') {
            let start = at;
            at += line.len();
            if start == from && !self.buffer.get(..start).is_some_and(|b| b.ends_with(b"\n")) {
                continue; // not the start of a line
            }
            let record_start = match self.format {
                Format::Jsonl => true,
                Format::Yaml => is_item_start(line),
                Format::Json | Format::Csv => false,
            };
            if record_start && start > 0 {
                return Some(start);
            }
        }
        None
    }

    /// Turns splitting off if the text holds anything that makes cutting it unsafe.
    fn check_safe(&mut self, text: &[u8]) {
        if self.format != Format::Yaml {
            return;
        }
        let mut lines = text.split(|&b| b == b'\n');
        if !self.started {
            // The document must be a block sequence: its first content line an item.
            let first = lines.by_ref().find(|l| {
                let l = strip_bom(l);
                !(l.is_empty()
                    || l.iter().all(u8::is_ascii_whitespace)
                    || l.starts_with(b"#")
                    || l.starts_with(b"%")
                    || is_marker(l, b"---"))
            });
            if !first.is_some_and(is_item_start) {
                self.splitting = false;
                return;
            }
        }
        for line in lines {
            if is_marker(line, b"---") || is_marker(line, b"...") || line.starts_with(b"%") {
                self.splitting = false;
                return;
            }
        }
        if has_anchor(text) {
            self.splitting = false;
        }
    }

    fn make_source(&mut self, bytes: Vec<u8>) -> Result<Source, Diag> {
        let first_line = self.line;
        self.line += count_lines(&bytes);
        crate::source::text_from_bytes(self.name.clone(), bytes, first_line, TextKind::Data)
    }
}

impl Iterator for Chunks {
    type Item = Result<Source, Diag>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.splitting {
                if let Err(e) = self.fill(self.target * 2) {
                    return Some(Err(e));
                }
            } else if let Err(e) = self.fill(usize::MAX) {
                return Some(Err(e));
            }
            if self.buffer.is_empty() && self.file.is_none() {
                if self.started {
                    return None;
                }
                // An empty file is one empty chunk, so that its name is still known.
                self.started = true;
                return Some(self.make_source(Vec::new()));
            }
            let cut = if self.splitting { self.cut() } else { None };
            let end = match cut {
                Some(end) => end,
                None if self.file.is_none() || !self.splitting => self.buffer.len(),
                // No safe place yet: read more before deciding.
                None => {
                    self.target = self.target.saturating_mul(2);
                    continue;
                }
            };
            if self.splitting {
                // Checked in place: the buffer is lent out, not copied.
                let buffer = std::mem::take(&mut self.buffer);
                self.check_safe(buffer.get(..end).unwrap_or(&[]));
                self.buffer = buffer;
                if !self.splitting {
                    continue; // read the rest of the file into this chunk
                }
            }
            let rest = self.buffer.split_off(end);
            let chunk = std::mem::replace(&mut self.buffer, rest);
            self.started = true;
            return Some(self.make_source(chunk));
        }
    }
}

fn strip_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line)
}

/// A line that starts a top-level block sequence item: `-` at column 0, then a space, a tab or
/// the end of the line.
fn is_item_start(line: &[u8]) -> bool {
    let line = strip_bom(line);
    line.first() == Some(&b'-') && matches!(line.get(1), None | Some(b' ' | b'\t' | b'\n' | b'\r'))
}

/// A document marker line: `---` or `...` at column 0, alone or followed by white space.
fn is_marker(line: &[u8], marker: &[u8]) -> bool {
    line.starts_with(marker) && matches!(line.get(3), None | Some(b' ' | b'\t' | b'\n' | b'\r'))
}

/// Whether the text may hold a YAML anchor: `&` right after white space or a flow indicator,
/// followed by a character that can name an anchor. Quoted text can give a false alarm, which
/// only costs speed.
fn has_anchor(text: &[u8]) -> bool {
    let anchor_name = |c: &u8| !c.is_ascii_whitespace();
    text.first() == Some(&b'&')
        || text.windows(3).any(
            |w| matches!(w, [b' ' | b'\t' | b'[' | b'{' | b',' | b'\n', b'&', c] if anchor_name(c)),
        )
}

/// Lines as `SourceFile` counts them: a newline, or a carriage return not followed by one.
fn count_lines(bytes: &[u8]) -> usize {
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&i| bytes.get(i) == Some(&b'\n') || bytes.get(i + 1) != Some(&b'\n'))
        .count()
}
