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
    /// The last `KEEP` bytes before the chunk being parsed, as a ring: input byte `i` is at
    /// `i % KEEP`. (Shifting a flat buffer cost two `memmove` calls a chunk.)
    recent: [u8; KEEP],
}

fn chars_in(bytes: &[u8]) -> usize {
    // Characters = bytes - continuation bytes (0b10xxxxxx), counted 8 at a time with a popcount:
    // per 64-byte chunk this took the position bookkeeping from ~28 to ~10 ns.
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    let mut continuation = 0;
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        continuation += (w & !(w << 1) & HIGH).count_ones() as usize;
    }
    continuation += words
        .remainder()
        .iter()
        .filter(|&&b| b & 0xC0 == 0x80)
        .count();
    bytes.len() - continuation
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
        let mut bytes: Vec<u8> = (self.start.byte - kept..self.start.byte)
            .map(|i| self.recent[i % KEEP])
            .collect();
        // The kept bytes may begin inside a character: drop its continuation bytes.
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
        let at = self.start.byte;
        if chunk.len() < 16 {
            // Token-sized chunks are the common case: one pass does it all.
            let (mut continuation, mut newlines, mut last_newline) = (0, 0, None);
            for (i, &b) in chunk.iter().enumerate() {
                continuation += usize::from(b & 0xC0 == 0x80);
                if b == b'\n' {
                    newlines += 1;
                    last_newline = Some(i);
                }
                self.recent[(at + i) % KEEP] = b;
            }
            if let Some(i) = last_newline {
                self.start.line += newlines;
                self.line_start_char = self.start.char + chars_in(&chunk[..=i]);
            }
            self.start.char += chunk.len() - continuation;
        } else {
            if let Some(i) = memchr::memrchr(b'\n', chunk) {
                self.start.line += memchr::memchr_iter(b'\n', chunk).count();
                self.line_start_char = self.start.char + chars_in(&chunk[..=i]);
            }
            let tail = &chunk[chunk.len().saturating_sub(KEEP)..];
            // At most two copies: up to the ring's end, then from its start.
            let from = (at + chunk.len() - tail.len()) % KEEP;
            let first = (KEEP - from).min(tail.len());
            self.recent[from..from + first].copy_from_slice(&tail[..first]);
            self.recent[..tail.len() - first].copy_from_slice(&tail[first..]);
            self.start.char += chars_in(chunk);
        }
        self.start.byte += chunk.len();
    }
}
