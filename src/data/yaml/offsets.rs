//! Byte offsets of the parser's positions, which count characters.

/// Converts the parser's character offsets to byte offsets.
pub(super) enum Offsets {
    /// The text is ASCII after a leading byte-order mark of `bom` bytes (0 if none): every
    /// character after the first is `bom - 1` bytes further than its index.
    Ascii { bom: usize },
    /// A cursor that walks from the last position, so converting offsets that come roughly in
    /// order costs O(file) overall.
    Walk { chars: usize, bytes: usize },
}

impl Offsets {
    pub(super) fn new(text: &str) -> Offsets {
        let (bom, rest) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (3, rest),
            None => (0, text),
        };
        if rest.is_ascii() {
            Offsets::Ascii { bom }
        } else {
            Offsets::Walk { chars: 0, bytes: 0 }
        }
    }

    pub(super) fn byte(&mut self, text: &str, index: usize) -> usize {
        match self {
            Offsets::Ascii { bom: 0 } => index.min(text.len()),
            Offsets::Ascii { bom } => {
                if index == 0 {
                    0
                } else {
                    (index + *bom - 1).min(text.len())
                }
            }
            Offsets::Walk { chars, bytes } => {
                let b = text.as_bytes();
                while *chars < index {
                    let Some(&lead) = b.get(*bytes) else { break };
                    *bytes += utf8_len(lead);
                    *chars += 1;
                }
                while *chars > index && *bytes > 0 {
                    *bytes -= 1;
                    while *bytes > 0 && b.get(*bytes).is_some_and(|&c| c & 0xC0 == 0x80) {
                        *bytes -= 1;
                    }
                    *chars -= 1;
                }
                (*bytes).min(text.len())
            }
        }
    }
}

pub(super) fn utf8_len(lead: u8) -> usize {
    match lead {
        0..0x80 => 1,
        0xF0.. => 4,
        0xE0.. => 3,
        _ => 2,
    }
}
