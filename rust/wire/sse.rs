//! An incremental decoder of Server-Sent Events: the `text/event-stream` format as the WHATWG HTML
//! standard interprets it ("Server-sent events", "Interpreting an event stream"), fed bytes cut anywhere.
//!
//! Only what is not yet dispatched is kept: the line that has not ended, and the event whose blank
//! line has not come. A line that lies whole in the chunk being fed is read where it is, and so is the
//! data of an event whose one `data:` line and blank line both lie in it (the common case).

use memchr::{memchr, memchr2, memrchr};

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// A buffer that grew past this (one huge event) is dropped once it is dispatched, not kept for good.
pub(crate) const KEEP_CAPACITY: usize = 64 * 1024;

/// The stream is not UTF-8: `byte` is the offset of the first byte that is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8 {
    pub byte: usize,
}

/// One dispatched event; its text lives until the callback returns.
#[derive(Debug, Clone, Copy)]
pub struct SseEvent<'a> {
    /// The event type: its last `event:` field, or `"message"` if it had none (or an empty one).
    pub event: &'a str,
    /// Its `data:` lines' values joined with `\n`.
    pub data: &'a str,
    /// The last event ID so far: an `id:` field holds for the events after it too, per the standard.
    pub id: &'a str,
    /// The stream offset of each data line's value, to place a byte of `data` in the stream.
    data_starts: &'a [usize],
}

impl SseEvent<'_> {
    /// The stream offset of byte `offset` of `data` (the end of `data` for an offset past it).
    pub fn stream_byte(&self, offset: usize) -> usize {
        let head = &self.data.as_bytes()[..offset.min(self.data.len())];
        let line = memchr::memchr_iter(b'\n', head).count();
        let line_start = memrchr(b'\n', head).map_or(0, |i| i + 1);
        self.data_starts[line] + head.len() - line_start
    }
}

/// Decodes an event stream fed in chunks cut at any byte (inside a CRLF or a UTF-8 sequence too).
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// The bytes of a line begun in an earlier chunk that has not ended yet.
    line: Vec<u8>,
    /// The stream offset of `line`'s first byte.
    line_at: usize,
    /// The stream offset of the next byte to be fed.
    offset: usize,
    /// The last chunk ended in CR: an LF that begins the next one is the rest of that line end.
    after_cr: bool,
    /// A line has ended: a BOM is skipped only at the very start of the stream.
    started: bool,
    /// The event's data lines joined, once copied (see `borrowed`).
    data: Vec<u8>,
    /// The stream offset of each data line's value; empty: the event has no data (yet).
    data_starts: Vec<usize>,
    /// While the event's one data line lies in the chunk being fed, where: copied only if the chunk
    /// ends before the event does.
    borrowed: Option<(usize, usize)>,
    event: String,
    id: String,
    failed: Option<InvalidUtf8>,
}

/// Where a line is: in the stream, and in the chunk being fed if it lies whole in it.
#[derive(Clone, Copy)]
struct Place {
    stream: usize,
    chunk: Option<usize>,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many bytes were fed.
    pub fn bytes_fed(&self) -> usize {
        self.offset
    }

    /// The room its buffers hold on to.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.line.capacity() + self.data.capacity()
    }

    /// Counts `n` bytes as fed without reading them (the reader is past the end of its stream).
    pub fn skip(&mut self, n: usize) {
        self.offset += n;
    }

    /// Reads `chunk`, passing each event it completes to `on_event`, in order.
    ///
    /// Stops at the first error, invalid UTF-8 (in a line that ended) or `on_event`'s; after one, the
    /// decoder is not to be fed again (invalid UTF-8 is returned again if it is).
    pub fn feed<E: From<InvalidUtf8>>(
        &mut self,
        chunk: &[u8],
        mut on_event: impl FnMut(&SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(e) = self.failed {
            return Err(e.into());
        }
        let base = self.offset;
        self.offset += chunk.len();
        let mut at = 0;
        if self.after_cr && !chunk.is_empty() {
            self.after_cr = false;
            at = usize::from(chunk[0] == b'\n');
        }
        let r = self.lines(chunk, base, at, &mut on_event);
        // The event's one data line is in this chunk, and its blank line is not: keep a copy.
        if let Some((a, b)) = self.borrowed.take() {
            self.data.extend_from_slice(&chunk[a..b]);
        }
        r
    }

    fn lines<E: From<InvalidUtf8>>(
        &mut self,
        chunk: &[u8],
        base: usize,
        mut at: usize,
        on_event: &mut impl FnMut(&SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        while let Some(i) = memchr2(b'\n', b'\r', &chunk[at..]) {
            let end = at + i;
            if self.line.is_empty() {
                let place = Place {
                    stream: base + at,
                    chunk: Some(at),
                };
                self.line(&chunk[at..end], place, chunk, on_event)?;
            } else {
                self.line.extend_from_slice(&chunk[at..end]);
                let line = std::mem::take(&mut self.line);
                let place = Place {
                    stream: self.line_at,
                    chunk: None,
                };
                let r = self.line(&line, place, chunk, on_event);
                self.line = line;
                self.line.clear();
                if self.line.capacity() > KEEP_CAPACITY {
                    self.line = Vec::new();
                }
                r?;
            }
            at = end + 1;
            if chunk[end] == b'\r' {
                // CRLF is one line end, even when a chunk ends between the two.
                match chunk.get(at) {
                    Some(b'\n') => at += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        if at < chunk.len() {
            if self.line.is_empty() {
                self.line_at = base + at;
            }
            self.line.extend_from_slice(&chunk[at..]);
        }
        Ok(())
    }

    /// One whole line (without its line end).
    fn line<E: From<InvalidUtf8>>(
        &mut self,
        mut line: &[u8],
        mut place: Place,
        chunk: &[u8],
        on_event: &mut impl FnMut(&SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if !self.started {
            self.started = true;
            if let Some(rest) = line.strip_prefix(BOM) {
                line = rest;
                place.stream += BOM.len();
                place.chunk = place.chunk.map(|c| c + BOM.len());
            }
        }
        // Line ends are ASCII, so a stream is UTF-8 exactly when each of its lines is.
        if let Err(e) = simdutf8::compat::from_utf8(line) {
            let e = InvalidUtf8 {
                byte: place.stream + e.valid_up_to(),
            };
            self.failed = Some(e);
            return Err(e.into());
        }
        if line.is_empty() {
            return self.dispatch(chunk, on_event);
        }
        if line[0] == b':' {
            return Ok(()); // a comment (a keep-alive, say)
        }
        let (field, value_at) = match memchr(b':', line) {
            // One space after the colon is not part of the value.
            Some(c) => (
                &line[..c],
                c + 1 + usize::from(line.get(c + 1) == Some(&b' ')),
            ),
            None => (line, line.len()),
        };
        let value = &line[value_at..];
        match field {
            b"data" => self.data_line(
                value,
                place.stream + value_at,
                place.chunk.map(|c| c + value_at),
                chunk,
            ),
            b"event" => {
                self.event.clear();
                self.event.push_str(text(value));
            }
            b"id" if !value.contains(&0) => {
                self.id.clear();
                self.id.push_str(text(value));
            }
            _ => {} // `retry:` (no reconnecting here), an `id:` with a NUL, and unknown fields
        }
        Ok(())
    }

    fn data_line(&mut self, value: &[u8], at: usize, in_chunk: Option<usize>, chunk: &[u8]) {
        if let Some((a, b)) = self.borrowed.take() {
            self.data.extend_from_slice(&chunk[a..b]);
        }
        match in_chunk {
            Some(c) if self.data_starts.is_empty() => self.borrowed = Some((c, c + value.len())),
            _ => {
                if !self.data_starts.is_empty() {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
            }
        }
        self.data_starts.push(at);
    }

    /// A blank line: the event so far goes out if it has data, and a new one begins.
    fn dispatch<E>(
        &mut self,
        chunk: &[u8],
        on_event: &mut impl FnMut(&SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let r = if self.data_starts.is_empty() {
            Ok(())
        } else {
            let data = match self.borrowed {
                Some((a, b)) => &chunk[a..b],
                None => &self.data[..],
            };
            on_event(&SseEvent {
                event: if self.event.is_empty() {
                    "message"
                } else {
                    &self.event
                },
                data: text(data),
                id: &self.id,
                data_starts: &self.data_starts,
            })
        };
        self.data.clear();
        if self.data.capacity() > KEEP_CAPACITY {
            self.data = Vec::new();
        }
        self.data_starts.clear();
        self.borrowed = None;
        self.event.clear();
        r
    }

    /// The end of the stream. An event its blank line never ended is dropped, as the standard says;
    /// returns whether one was (data lines, or an unfinished `data` line). The unfinished last line
    /// must be UTF-8 too.
    pub fn finish(&mut self) -> Result<bool, InvalidUtf8> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let mut line = &self.line[..];
        let mut at = self.line_at;
        if !self.started {
            if let Some(rest) = line.strip_prefix(BOM) {
                line = rest;
                at += BOM.len();
            }
        }
        if let Err(e) = simdutf8::compat::from_utf8(line) {
            let e = InvalidUtf8 {
                byte: at + e.valid_up_to(),
            };
            self.failed = Some(e);
            return Err(e);
        }
        let field = memchr(b':', line).map_or(line, |c| &line[..c]);
        let cut = !self.data_starts.is_empty() || field == b"data";
        let offset = self.offset;
        *self = SseDecoder {
            offset,
            started: true,
            ..SseDecoder::default()
        };
        Ok(cut)
    }
}

/// Bytes already checked to be UTF-8 (a line, or lines joined by `\n`, or a part of one that begins
/// after an ASCII byte).
fn text(bytes: &[u8]) -> &str {
    // SAFETY: every line is checked before any of it is read (`SseDecoder::line`), and values begin
    // after an ASCII `:` or space or at a line start, so they are whole UTF-8 text.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}
