//! Where the parser is in the whole input, kept up to date per chunk without storing the input.

use crate::error::Position;

/// How many bytes before the current chunk are kept for error excerpts.
const KEEP: usize = 48;

/// Running byte/character/line counters plus the last few bytes, for error positions and excerpts.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    /// Position of the first byte of the chunk being parsed.
    start: Position,
    /// Character offset of the first character of the current line.
    line_start_char: usize,
    /// The last `KEEP` bytes before the chunk being parsed (always whole UTF-8 sequences).
    recent: Vec<u8>,
}

fn chars_in(bytes: &[u8]) -> usize {
    // Counting non-continuation bytes vectorises well: ~0.1 ns a byte.
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

impl Tracker {
    pub(crate) fn new() -> Self {
        Tracker {
            start: Position { byte: 0, char: 0, line: 1, column: 1 },
            line_start_char: 0,
            recent: Vec::new(),
        }
    }

    /// Position of byte `offset` of `chunk`, the chunk now being parsed.
    pub(crate) fn at(&self, chunk: &[u8], offset: usize) -> Position {
        let head = &chunk[..offset.min(chunk.len())];
        let char = self.start.char + chars_in(head);
        let newlines = memchr::memchr_iter(b'\n', head).count();
        let line_start_char = match memchr::memrchr(b'\n', head) {
            Some(i) => self.start.char + chars_in(&head[..=i]),
            None => self.line_start_char,
        };
        Position {
            byte: self.start.byte + offset,
            char,
            line: self.start.line + newlines,
            column: char - line_start_char + 1,
        }
    }

    /// A short excerpt of input around byte `offset` of `chunk`.
    pub(crate) fn excerpt(&self, chunk: &[u8], offset: usize) -> String {
        let offset = offset.min(chunk.len());
        let mut bytes = self.recent.clone();
        bytes.extend_from_slice(&chunk[..offset]);
        let after = &chunk[offset..(offset + 12).min(chunk.len())];
        let before = String::from_utf8_lossy(&bytes);
        let skip = before.chars().count().saturating_sub(32);
        let mut out: String = before.chars().skip(skip).collect();
        out.push_str(&String::from_utf8_lossy(after));
        out
    }

    /// Moves past a fully parsed chunk.
    pub(crate) fn advance(&mut self, chunk: &[u8]) {
        let end = self.at(chunk, chunk.len());
        if let Some(i) = memchr::memrchr(b'\n', chunk) {
            self.line_start_char = self.start.char + chars_in(&chunk[..=i]);
        }
        self.start = end;
        if chunk.len() >= KEEP {
            self.recent.clear();
            self.recent.extend_from_slice(&chunk[chunk.len() - KEEP..]);
        } else {
            self.recent.extend_from_slice(chunk);
            let excess = self.recent.len().saturating_sub(KEEP);
            self.recent.drain(..excess);
        }
    }
}
