//! Where the parser is in the whole input, kept up to date per chunk without storing the input.

use crate::error::Position;
use crate::word;

/// The ring's size: input byte `i` is kept at `i % RING` and again `RING` further on (see `recent`).
const RING: usize = 64;
/// How many bytes before the current chunk an excerpt can show: a small chunk is written eight bytes
/// at a time, and the bytes past its end zero the oldest few of the ring.
const KEEP: usize = RING - 8;

/// Running byte/character/line counters plus the last few bytes, for error positions and excerpts.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    /// Position of the first byte of the chunk being parsed.
    start: Position,
    /// Character offset of the first character of the current line.
    line_start_char: usize,
    /// The last bytes before the chunk being parsed, held twice: input byte `i` at `i % RING` and at
    /// `i % RING + RING`, so the last `RING` bytes are always in one piece, `recent[s..s + RING]` for
    /// `s = bytes % RING`, and a small chunk goes in with two unaligned 8-byte stores (the byte loop
    /// they replace, with its unpredictable end, was ~70 instructions of a token-sized chunk).
    recent: [u8; 2 * RING + 8],
}

/// The characters in `bytes` (bytes less UTF-8 continuation bytes) and the lanes of any newlines
/// (see `word`), in one pass eight bytes at a time.
fn scan(bytes: &[u8]) -> (usize, u64) {
    let (mut continuation, mut newlines) = (0, 0);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        continuation += word::count(word::continuation(w));
        newlines |= word::equal(w, b'\n');
    }
    // (`bytes` has more than 8 bytes wherever a count is long enough to need this to be quick)
    let w = word::last(bytes, words.remainder().len());
    continuation += word::count(word::continuation(w));
    newlines |= word::equal(w, b'\n');
    (bytes.len() - continuation, newlines)
}

fn chars_in(bytes: &[u8]) -> usize {
    scan(bytes).0
}

/// A place in the input, with what a position past it needs: the character offset where its line
/// starts. Lenient mode keeps one for the first byte of the bytes it may read again (see
/// `Parser::run_lenient`), so an error found in them has the position it has when read first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) position: Position,
    line_start_char: usize,
}

impl Mark {
    /// The mark of byte `offset` of `bytes`, which begin at this mark (whole UTF-8 characters).
    pub(crate) fn advanced(&self, bytes: &[u8], offset: usize) -> Mark {
        let head = &bytes[..offset.min(bytes.len())];
        let start = self.position;
        let char = start.char + chars_in(head);
        let (line, line_start_char) = match memchr::memrchr(b'\n', head) {
            Some(i) => (
                start.line + memchr::memchr_iter(b'\n', head).count(),
                start.char + chars_in(&head[..=i]),
            ),
            None => (start.line, self.line_start_char),
        };
        Mark {
            position: Position {
                byte: start.byte + head.len(),
                char,
                line,
                column: char - line_start_char + 1,
            },
            line_start_char,
        }
    }
}

/// An excerpt of `before` (its last ~32 characters) and `after` (up to 12 bytes, whole characters).
fn excerpt_of(mut before: Vec<u8>, after: &[u8]) -> String {
    // `before` may begin inside a character: drop its continuation bytes.
    let cut = before.iter().take_while(|&&b| b & 0xC0 == 0x80).count();
    before.drain(..cut);
    let mut end = 12.min(after.len());
    while end < after.len() && after[end] & 0xC0 == 0x80 {
        end += 1; // never cut a character
    }
    let before = String::from_utf8_lossy(&before);
    let skip = before.chars().count().saturating_sub(32);
    let mut out: String = before.chars().skip(skip).collect();
    out.push_str(&String::from_utf8_lossy(&after[..end]));
    out
}

/// An excerpt around byte `offset` of `bytes`, from them alone (for bytes read again, see `Mark`).
pub(crate) fn excerpt_in(bytes: &[u8], offset: usize) -> String {
    let offset = offset.min(bytes.len());
    excerpt_of(bytes[..offset].to_vec(), &bytes[offset..])
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
            recent: [0; 2 * RING + 8],
        }
    }

    /// Position of byte `offset` of `chunk`, the chunk now being parsed.
    pub(crate) fn at(&self, chunk: &[u8], offset: usize) -> Position {
        self.mark_at(chunk, offset).position
    }

    /// Where byte `offset` of `chunk`, the chunk now being parsed, is (see [`Mark`]).
    pub(crate) fn mark_at(&self, chunk: &[u8], offset: usize) -> Mark {
        Mark {
            position: self.start,
            line_start_char: self.line_start_char,
        }
        .advanced(chunk, offset)
    }

    /// The byte offset of the chunk being parsed.
    pub(crate) fn byte(&self) -> usize {
        self.start.byte
    }

    /// The last bytes before the chunk being parsed (`KEEP` of them, fewer at the start).
    fn kept(&self) -> &[u8] {
        let end = self.start.byte % RING + RING;
        &self.recent[end - self.start.byte.min(KEEP)..end]
    }

    /// A short excerpt of input around byte `offset` of `chunk`.
    pub(crate) fn excerpt(&self, chunk: &[u8], offset: usize) -> String {
        let offset = offset.min(chunk.len());
        let mut bytes = self.kept().to_vec();
        bytes.extend_from_slice(&chunk[..offset]);
        excerpt_of(bytes, &chunk[offset..])
    }

    /// Moves past a fully parsed chunk: the last `n` bytes of `padded` (see `Parser::feed_padded`).
    #[inline(always)]
    pub(crate) fn advance(&mut self, padded: &[u8], n: usize) {
        let chunk = &padded[padded.len() - n..];
        if n > 8 {
            // (apart, so that the small path's callers do not pay for the long one's registers)
            return self.advance_long(chunk);
        }
        // Token-sized chunks are the common case: one word holds the chunk, no loop.
        self.advance_small(chunk, word::last(padded, n));
    }

    /// `advance` for a chunk of at most 8 bytes that the caller already holds as a word (`w`, as
    /// `word::small` loads it).
    #[inline(always)]
    pub(crate) fn advance_small(&mut self, chunk: &[u8], w: u64) {
        let p = self.start.byte % RING;
        self.recent[p..p + 8].copy_from_slice(&w.to_le_bytes());
        self.recent[p + RING..p + RING + 8].copy_from_slice(&w.to_le_bytes());
        // (A newline is rare, and where it falls needs a second count.)
        let newlines = word::equal(w, b'\n');
        if newlines != 0 {
            self.start.line += word::count(newlines);
            self.line_start_char = self.start.char + chars_in(&chunk[..=word::highest(newlines)]);
        }
        self.start.char += chunk.len() - word::count(word::continuation(w));
        self.start.byte += chunk.len();
    }

    #[inline(never)]
    fn advance_long(&mut self, chunk: &[u8]) {
        // Most chunks hold no newline: one pass counts the characters and sees that there is none,
        // where a `memrchr` call looked for the last one in every chunk.
        let (chars, newlines) = scan(chunk);
        if newlines != 0 {
            let last = memchr::memrchr(b'\n', chunk).expect("a newline");
            self.start.line += memchr::memchr_iter(b'\n', chunk).count();
            self.line_start_char = self.start.char + chars_in(&chunk[..=last]);
        }
        // The chunk's last bytes (a whole ring at most) go in at their places in both copies: in one
        // piece from `p`, which runs into the second copy where the first ends, then the rest of each.
        let tail = &chunk[chunk.len().saturating_sub(RING)..];
        let p = (self.start.byte + chunk.len() - tail.len()) % RING;
        let first = tail.len().min(RING - p);
        self.recent[p..p + tail.len()].copy_from_slice(tail);
        self.recent[p + RING..p + RING + first].copy_from_slice(&tail[..first]);
        self.recent[..tail.len() - first].copy_from_slice(&tail[first..]);
        self.start.char += chars;
        self.start.byte += chunk.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the chunking, the kept bytes are the last `KEEP` of the input, and the counts
        /// match a count of the whole input.
        #[test]
        fn keeps_the_last_bytes_and_counts(
            text in "[a\u{e9}\u{4e2d}\u{1f600}\n\"]{0,600}",
            // Token-sized chunks, longer ones, and ones longer than the ring.
            cuts in proptest::collection::vec(prop_oneof![1usize..12, 12usize..80, 80usize..300], 1..200),
        ) {
            let bytes = text.as_bytes();
            let mut t = Tracker::new();
            let (mut at, mut cut) = (0, cuts.iter().cycle());
            while at < bytes.len() {
                let end = (at + cut.next().expect("cycle")).min(bytes.len());
                t.advance(&bytes[..end], end - at);
                at = end;
                prop_assert_eq!(t.kept(), &bytes[at.saturating_sub(KEEP)..at]);
            }
            let p = t.at(&[], 0);
            let lines = text.matches('\n').count();
            let last_line = text.rsplit('\n').next().unwrap_or("");
            prop_assert_eq!(
                (p.byte, p.char, p.line, p.column),
                (bytes.len(), text.chars().count(), lines + 1, last_line.chars().count() + 1)
            );
        }
    }
}
