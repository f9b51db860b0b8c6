//! Where the parser is in the whole input, kept up to date per chunk without storing the input.

use crate::error::Position;

/// How many bytes before the current chunk are kept for error excerpts.
const KEEP: usize = 64;

/// Running byte/character/line counters plus the last few bytes, for error positions and excerpts.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    /// Position of the first byte of the chunk being parsed.
    start: Position,
    /// Character offset of the first character of the current line.
    line_start_char: usize,
    /// Ring of the last `KEEP` bytes before the chunk being parsed; `start.byte % KEEP` is the oldest.
    recent: [u8; KEEP],
}

fn chars_in(bytes: &[u8]) -> usize {
    // Counting non-continuation bytes vectorises well: ~0.1 ns a byte.
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

impl Tracker {
    pub(crate) fn new() -> Self {
        Tracker {
            start: Position {
                byte: 0,
                char: 0,
                line: 1,
                column: 1,
            },
            line_start_char: 0,
            recent: [0; KEEP],
        }
    }

    /// Position of byte `offset` of `chunk`, the chunk now being parsed.
    pub(crate) fn at(&self, chunk: &[u8], offset: usize) -> Position {
        let head = &chunk[..offset.min(chunk.len())];
        let char = self.start.char + chars_in(head);
        let (line, line_start_char) = match memchr::memrchr(b'\n', head) {
            Some(i) => (
                self.start.line + memchr::memchr_iter(b'\n', head).count(),
                self.start.char + chars_in(&head[..=i]),
            ),
            None => (self.start.line, self.line_start_char),
        };
        Position {
            byte: self.start.byte + offset,
            char,
            line,
            column: char - line_start_char + 1,
        }
    }

    /// A short excerpt of input around byte `offset` of `chunk`.
    pub(crate) fn excerpt(&self, chunk: &[u8], offset: usize) -> String {
        let offset = offset.min(chunk.len());
        let kept = self.start.byte.min(KEEP);
        let mut bytes: Vec<u8> = (0..kept)
            .map(|k| self.recent[(self.start.byte - kept + k) % KEEP])
            .collect();
        // The ring may begin inside a character: drop its continuation bytes.
        let cut = bytes.iter().take_while(|&&b| b & 0xC0 == 0x80).count();
        bytes.drain(..cut);
        bytes.extend_from_slice(&chunk[..offset]);
        let mut end = (offset + 12).min(chunk.len());
        while end < chunk.len() && chunk[end] & 0xC0 == 0x80 {
            end += 1; // never cut a character
        }
        let after = &chunk[offset..end];
        let before = String::from_utf8_lossy(&bytes);
        let skip = before.chars().count().saturating_sub(32);
        let mut out: String = before.chars().skip(skip).collect();
        out.push_str(&String::from_utf8_lossy(after));
        out
    }

    /// Moves past a fully parsed chunk.
    pub(crate) fn advance(&mut self, chunk: &[u8]) {
        let chars = chars_in(chunk);
        // Token-sized chunks are the common case; a plain scan beats memchr's setup there.
        let last_newline = if chunk.len() < 16 {
            chunk.iter().rposition(|&b| b == b'\n')
        } else {
            memchr::memrchr(b'\n', chunk)
        };
        if let Some(i) = last_newline {
            self.start.line += memchr::memchr_iter(b'\n', chunk).count();
            self.line_start_char = self.start.char + chars_in(&chunk[..=i]);
        }
        let tail = &chunk[chunk.len().saturating_sub(KEEP)..];
        let first = self.start.byte + chunk.len() - tail.len();
        for (k, &b) in tail.iter().enumerate() {
            self.recent[(first + k) % KEEP] = b;
        }
        self.start.byte += chunk.len();
        self.start.char += chars;
    }
}
