//! The resumable JSON state machine: fed bytes at any boundary, it reports what it read to a [`Sink`].
//!
//! Depth lives in an explicit stack (never recursion), so `[[[[…` 100,000 deep is an error value, not a
//! stack overflow. A token cut by a chunk end (string escape, number, literal, UTF-8 sequence) keeps its
//! state here and resumes with the next chunk; no byte is ever read twice (but in lenient mode, the
//! bytes of a false start: see [`Mode::Lenient`]).

use crate::error::{ErrorKind, ParseError};
use crate::position::{excerpt_in, Mark, Tracker};
use crate::{utf8, word};

/// How strictly the input is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// RFC 8259 exactly: one value, nothing but whitespace around it.
    #[default]
    Strict,
    /// LLM output: text before the first `{`/`[` that starts a JSON value and after the first
    /// complete value is skipped, trailing commas and raw control characters in strings are accepted.
    ///
    /// A `{` or `[` opens a *candidate*. If the candidate turns out not to be JSON (prose such as
    /// `see [section 2]` or `{Note: ...}`), it is a false start: the parser tells its sink to
    /// [`Sink::discard`] it, counts it in [`Parser::restarts`], and searches on from the byte after
    /// the candidate's opening bracket (so a bracket inside the false start can still be the real
    /// one), reading again the candidate's bytes it had already read. That needs those bytes: while a
    /// candidate is open, the parser keeps a copy of its text (from its opening bracket on), however
    /// long it grows, and drops it when the value completes or is discarded. A typical false start
    /// (`see [2]`) costs its own length read once more. Each bracket starts at most one candidate (the
    /// search only ever moves on), and a candidate reads at most to the end of the input, so the worst
    /// case is O(input × brackets), quadratic: `[[[[…[x` has each `[` read as a candidate up to the
    /// `x` (up to `max_depth` of them; deeper is an error). Only syntax errors discard a candidate:
    /// nesting deeper than `max_depth` and invalid UTF-8 are still errors, and so is input that ends
    /// inside a candidate (at [`Parser::finish`]; if every candidate was a false start, `finish`
    /// reports the error of the longest one). A false start that happens to be a complete JSON value
    /// (`see [1]`) is the value.
    Lenient,
}

/// Parser settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    /// Containers nested deeper than this are an error (in lenient mode too: it discards no candidate).
    pub max_depth: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Strict,
            max_depth: 1024,
        }
    }
}

/// Decoded string text. It is UTF-8 unless `\uXXXX` escapes left lone surrogates, which are kept
/// as WTF-8 (the 3-byte form of U+D800..U+DFFF) so that Python gets them back exactly as `json` does.
#[derive(Debug, Clone, Copy)]
pub struct JsonStr<'a> {
    /// The text, after `PAD` bytes that are not part of it (see `JsonStr::padded`).
    padded: &'a [u8],
    lone_surrogates: bool,
}

/// How many bytes come before a token's text in the parser's buffer, and so in a [`JsonStr`].
const PAD: usize = 8;

impl<'a> JsonStr<'a> {
    /// The text, or `None` if it holds a lone surrogate (see [`JsonStr::wtf8`]).
    pub fn as_str(&self) -> Option<&'a str> {
        if self.lone_surrogates {
            None
        } else {
            // SAFETY: the input was validated as UTF-8 and escapes only ever append whole UTF-8
            // characters; only lone surrogates (flagged above) break that.
            Some(unsafe { std::str::from_utf8_unchecked(self.wtf8()) })
        }
    }

    /// The text with any lone surrogate replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        let mut out = String::with_capacity(self.wtf8().len());
        let mut rest = self.wtf8();
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    return out;
                }
                Err(e) => {
                    // The only non-UTF-8 sequences here are 3-byte lone surrogates.
                    let valid = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&rest[..valid]).unwrap_or_default());
                    out.push('\u{FFFD}');
                    rest = &rest[(valid + 3).min(rest.len())..];
                }
            }
        }
    }

    /// The raw WTF-8 bytes (plain UTF-8 when [`JsonStr::has_lone_surrogates`] is false).
    pub fn wtf8(&self) -> &'a [u8] {
        &self.padded[PAD..]
    }

    /// The WTF-8 bytes as the end of a slice that has 8 bytes (not text) before them, so that a word
    /// of its last few bytes is one load of the slice's last 8 (as the parser reads a chunk's).
    pub fn padded(&self) -> &'a [u8] {
        self.padded
    }

    /// True if the text holds a lone surrogate from a `\uD8xx`-style escape.
    pub fn has_lone_surrogates(&self) -> bool {
        self.lone_surrogates
    }
}

/// Receives what the parser reads, in document order.
///
/// A container's members arrive between its `begin_*` and `end_container`; an object's member is a
/// `key` followed by one value. Strings are announced when their opening quote is read (`begin_string`)
/// and delivered whole at the closing quote; meanwhile [`Parser::open_string`] shows the text so far.
pub trait Sink {
    fn begin_object(&mut self);
    fn begin_array(&mut self);
    fn end_container(&mut self);
    fn key(&mut self, key: JsonStr<'_>);
    fn begin_string(&mut self);
    fn end_string(&mut self, text: JsonStr<'_>);
    /// A whole number token as written, e.g. `-12`, `3.5e-2`; `is_float` when it has `.` or an exponent.
    fn number(&mut self, raw: &str, is_float: bool);
    fn boolean(&mut self, value: bool);
    fn null(&mut self);
    /// Lenient mode only: the value begun since the parser last had none open was a false start (see
    /// [`Mode::Lenient`]). Forget everything received since its first `begin_object`/`begin_array`;
    /// the parser searches on, and a later `begin_*` starts the value afresh.
    fn discard(&mut self);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

impl Num {
    fn is_terminal(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::ExpDigits)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Lenient only: skipping text before the first `{` or `[`.
    Preamble,
    /// A value must come: at the top level or after `:`.
    Value,
    /// After `[`: a value or `]`.
    ArrayFirst,
    /// After `,` in an array: a value (or `]` when lenient).
    ArrayNext,
    /// After `{`: a key or `}`.
    ObjectFirst,
    /// After `,` in an object: a key (or `}` when lenient).
    ObjectNext,
    Colon,
    /// Inside a container after a value: `,` or the closer.
    AfterValue,
    Str,
    Escape,
    Unicode {
        digits: u8,
        code: u16,
    },
    Number(Num),
    Literal {
        word: &'static [u8],
        matched: u8,
    },
    /// One whole top-level value has been read.
    Done,
}

/// A resumable JSON parser. Feed it chunks with [`Parser::feed`], end with [`Parser::finish`].
#[derive(Debug, Clone)]
pub struct Parser {
    options: Options,
    stack: Vec<Container>,
    state: State,
    /// True while the open string is an object key.
    in_key: bool,
    /// Decoded text of the open string or key, or the digits of the open number, after `PAD` zero
    /// bytes (see `JsonStr::padded`).
    scratch: Vec<u8>,
    lone_surrogates: bool,
    /// A high surrogate escape waiting to see whether a low one follows.
    pending_high: Option<u16>,
    /// Bytes of a UTF-8 sequence cut by the end of the last chunk.
    carry: [u8; 4],
    carry_len: u8,
    tracker: Tracker,
    error: Option<ParseError>,
    /// Lenient mode: the text of the open candidate read in earlier chunks, from its opening bracket
    /// on, to read again if it is discarded (see `run_lenient`); empty when no candidate is open.
    held: Vec<u8>,
    /// Where `held`'s first byte is in the input (for the positions of errors found reading it again).
    held_mark: Mark,
    /// Lenient mode: where `step_all` opened a candidate in the bytes it read (`usize::MAX`: none).
    opened_at: usize,
    /// Lenient mode: how many candidates were discarded.
    restarts: u64,
    /// Lenient mode: the error of the longest candidate discarded (the earliest of equals): what
    /// `finish` reports if no value is found. Filled in when the chunk it failed in has been read.
    longest: Option<ParseError>,
    /// How many bytes that candidate read, from its opening bracket to where it failed.
    longest_len: usize,
}

/// Where the open candidate began (lenient mode, see `Parser::run_lenient`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// No candidate is open.
    None,
    /// In an earlier chunk: its text so far is `Parser::held`.
    Held,
    /// At this offset of the held text being read again.
    Replay(usize),
    /// At this offset of the chunk.
    Chunk(usize),
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The index of the first byte below 0x20 (a control character), eight bytes at a time.
fn first_control(s: &[u8]) -> Option<usize> {
    let mut words = s.chunks_exact(8);
    let mut base = 0;
    for w in &mut words {
        let lanes = word::below(u64::from_le_bytes(w.try_into().expect("8 bytes")), 0x20);
        if lanes != 0 {
            return Some(base + word::lowest(lanes));
        }
        base += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b < 0x20)
        .map(|k| base + k)
}

/// Where plain string text ends in the first `n` bytes of `w` (see `word`): at a quote, a backslash
/// or (`strict`) a control character; `n` if it does not.
fn text_end(w: u64, n: usize, strict: bool) -> usize {
    let stops = word::zero_low(w ^ word::splat(b'"'))
        | word::zero_low(w ^ word::splat(b'\\'))
        | if strict { word::below(w, 0x20) } else { 0 };
    // 8 if there is none; lanes past `n` may hold anything, and are cut off here.
    word::lowest(stops).min(n)
}

/// Where plain string text ends in `s` (see `text_end`), eight bytes at a time. For the few dozen
/// bytes of text a chunk holds, one pass with no call beats `memchr2` and then a second pass for
/// control characters: it took ~6% off a parse in 64-byte chunks.
fn plain_text_end(s: &[u8], strict: bool) -> usize {
    let mut words = s.chunks_exact(8);
    let mut base = 0;
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        let end = text_end(w, 8, strict);
        if end < 8 {
            return base + end;
        }
        base += 8;
    }
    let rest = words.remainder();
    base + text_end(word::last(s, rest.len()), rest.len(), strict)
}

/// Appends the first `n` bytes of `w` to `out` (which has `PAD` bytes at least) as one unaligned
/// store of the 8 bytes that end where the text now ends, the bytes before it kept: a `memcpy` call's
/// size dispatch mispredicts on token-sized text, and the binding then reads the text's last bytes
/// as that same word (see `word::last`), which a store from where the text began would not forward to.
fn push_word(out: &mut Vec<u8>, w: u64, n: usize) {
    debug_assert!(n <= 8 && out.len() >= PAD);
    out.reserve(8);
    let len = out.len();
    // (two shifts each: one of 64 bits would overflow when `n` is 0 or 8)
    let (keep, take) = (4 * n as u32, 4 * (8 - n) as u32);
    // SAFETY: `len` is `PAD` (8) at least, so the 8 bytes before the end are the buffer's, and
    // `reserve` made room for 8 more; only the first `n` new bytes are counted as initialised.
    unsafe {
        let end = out.as_mut_ptr().add(len);
        let before = end.sub(8).cast::<u64>().read_unaligned();
        let word = before >> keep >> keep | w << take << take;
        end.add(n).sub(8).cast::<u64>().write_unaligned(word);
        out.set_len(len + n);
    }
}

/// Appends the first `n` bytes of `w` (n ≤ 8, as `word::last` loads them) to `out` with one unaligned
/// store: lenient mode holds every token-sized chunk of an open candidate, and with a `memcpy` call
/// for each, feeding a catalog to a lenient `Parser` in tokens (reading `value` after each) took 4.8%
/// more instructions than before it held anything; with this, 2.6% (callgrind).
fn append_word(out: &mut Vec<u8>, w: u64, n: usize) {
    debug_assert!(n <= 8);
    out.reserve(8);
    // SAFETY: `reserve` made room for 8 more bytes; only the first `n` are counted as initialised.
    unsafe {
        let len = out.len();
        out.as_mut_ptr()
            .add(len)
            .cast::<[u8; 8]>()
            .write_unaligned(w.to_le_bytes());
        out.set_len(len + n);
    }
}

fn utf8_width(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

fn push_code_point(out: &mut Vec<u8>, c: u32) {
    let (bytes, n) = utf8::encode(c);
    out.extend_from_slice(&bytes[..n]);
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(Options::default())
    }
}

impl Parser {
    pub fn new(options: Options) -> Self {
        Parser {
            options,
            stack: Vec::new(),
            state: if options.mode == Mode::Lenient {
                State::Preamble
            } else {
                State::Value
            },
            in_key: false,
            scratch: vec![0; PAD],
            lone_surrogates: false,
            pending_high: None,
            carry: [0; 4],
            carry_len: 0,
            tracker: Tracker::new(),
            error: None,
            held: Vec::new(),
            held_mark: Mark::default(),
            opened_at: usize::MAX,
            restarts: 0,
            longest: None,
            longest_len: 0,
        }
    }

    pub fn options(&self) -> Options {
        self.options
    }

    /// True once one whole top-level value has been read.
    pub fn is_complete(&self) -> bool {
        self.state == State::Done
    }

    /// Number of containers now open.
    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    /// How many bytes of an open candidate's text are held (see `run_lenient`), for tests.
    #[cfg(test)]
    pub(crate) fn held_len(&self) -> usize {
        self.held.len()
    }

    /// Lenient mode: how many false starts were discarded (see [`Mode::Lenient`]); always 0 in strict
    /// mode. A consumer that sees it grow knows the partial value it showed was dropped.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// The error that stopped the parser, if any; every later call returns it again.
    pub fn error(&self) -> Option<&ParseError> {
        self.error.as_ref()
    }

    /// The decoded text so far of the open string value (not a key), if one is open.
    ///
    /// Escapes, surrogate pairs and UTF-8 sequences cut by a chunk end are not part of it until whole.
    pub fn open_string(&self) -> Option<JsonStr<'_>> {
        match self.state {
            State::Str | State::Escape | State::Unicode { .. } if !self.in_key => Some(JsonStr {
                padded: &self.scratch,
                lone_surrogates: self.lone_surrogates,
            }),
            _ => None,
        }
    }

    /// Feeds the next chunk of UTF-8 bytes; a multi-byte character may be cut anywhere.
    pub fn feed<S: Sink>(&mut self, input: &[u8], sink: &mut S) -> Result<(), ParseError> {
        self.feed_padded(input, input.len(), sink)
    }

    /// `feed` of the last `n` bytes of `padded`. The bytes before them are never parsed, only read
    /// with them: a word of a chunk's last bytes is then one load (see `word::last`). A caller whose
    /// chunks lie in memory with readable bytes before them (an object header, say) passes those too.
    /// Panics if `n` is more than `padded.len()`.
    pub fn feed_padded<S: Sink>(
        &mut self,
        padded: &[u8],
        n: usize,
        sink: &mut S,
    ) -> Result<(), ParseError> {
        let mut input = &padded[padded.len() - n..];
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.ignores_rest() {
            return Ok(());
        }
        if self.carry_len > 0 {
            let have = self.carry_len as usize;
            let width = utf8_width(self.carry[0]);
            let take = (width - have).min(input.len());
            self.carry[have..have + take].copy_from_slice(&input[..take]);
            self.carry_len += take as u8;
            // (`padded` still ends with `input`: the bytes taken only join those before it)
            input = &input[take..];
            let seq = self.carry;
            let seq = &seq[..self.carry_len as usize];
            match simdutf8::compat::from_utf8(seq) {
                Ok(_) => {
                    self.carry_len = 0;
                    self.run(seq, seq.len(), sink)?;
                }
                Err(e) if e.error_len().is_none() => return Ok(()),
                Err(_) => {
                    self.carry_len = 0;
                    return Err(self.fail(ErrorKind::InvalidUtf8, &[], 0));
                }
            }
        }
        match simdutf8::compat::from_utf8(input) {
            Ok(_) => self.run(padded, input.len(), sink),
            Err(e) => {
                let valid = e.valid_up_to();
                let cut = input.len() - valid;
                self.run(&padded[..padded.len() - cut], valid, sink)?;
                if self.ignores_rest() {
                    return Ok(());
                }
                let rest = &input[valid..];
                match e.error_len() {
                    None => {
                        self.carry[..rest.len()].copy_from_slice(rest);
                        self.carry_len = rest.len() as u8;
                        Ok(())
                    }
                    Some(_) => Err(self.fail(ErrorKind::InvalidUtf8, rest, 0)),
                }
            }
        }
    }

    /// Feeds the next chunk of text (already known to be UTF-8, so not validated again).
    pub fn feed_str<S: Sink>(&mut self, input: &str, sink: &mut S) -> Result<(), ParseError> {
        // SAFETY: a `str` is UTF-8.
        unsafe { self.feed_str_padded(input.as_bytes(), input.len(), sink) }
    }

    /// `feed_str` of the last `n` bytes of `padded`: as in `feed_padded`, the bytes before them are
    /// read with them, never parsed.
    ///
    /// # Safety
    /// The last `n` bytes of `padded` are UTF-8 (they are not validated).
    pub unsafe fn feed_str_padded<S: Sink>(
        &mut self,
        padded: &[u8],
        n: usize,
        sink: &mut S,
    ) -> Result<(), ParseError> {
        if self.take_text(padded, n) {
            return Ok(());
        }
        if self.carry_len > 0 {
            // A `bytes` chunk cut a character; the rest of it cannot come as `str`.
            return self.feed_padded(padded, n, sink);
        }
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.run(padded, n, sink)
    }

    /// Takes in the last `n` bytes of `padded` whole if they are nothing but more of the open string:
    /// token-sized (16 bytes at most) with no quote, backslash or (strict) control character, and
    /// nothing cut or pending before them. Most chunks an LLM streams are that, and this skips the state machine's setup.
    fn take_text(&mut self, padded: &[u8], n: usize) -> bool {
        if self.state != State::Str
            || self.pending_high.is_some()
            || self.carry_len > 0
            || self.error.is_some()
        {
            return false;
        }
        if n > 8 {
            return n <= 16 && self.take_long_text(padded, n);
        }
        let w = word::last(padded, n);
        let strict = self.options.mode == Mode::Strict;
        if text_end(w, n, strict) < n {
            return false;
        }
        push_word(&mut self.scratch, w, n);
        if !strict {
            // (an open string is inside a candidate opened in an earlier chunk: see `run_lenient`)
            append_word(&mut self.held, w, n);
        }
        self.tracker.advance_small(&padded[padded.len() - n..], w);
        true
    }

    /// `take_text` of 9 to 16 bytes, as two words. A token of non-ASCII text is often that long
    /// (~2,000 chunks of a catalog pass, which took the state machine before).
    #[inline(never)]
    fn take_long_text(&mut self, padded: &[u8], n: usize) -> bool {
        let strict = self.options.mode == Mode::Strict;
        let cut = padded.len() - 8;
        let (head, tail) = (word::last(&padded[..cut], n - 8), word::last(padded, 8));
        if text_end(head, n - 8, strict) < n - 8 || text_end(tail, 8, strict) < 8 {
            return false;
        }
        push_word(&mut self.scratch, head, n - 8);
        push_word(&mut self.scratch, tail, 8);
        if !strict {
            append_word(&mut self.held, head, n - 8);
            append_word(&mut self.held, tail, 8);
        }
        self.tracker.advance(padded, n);
        true
    }

    /// Ends the input: completes a top-level number, or reports that the value is unfinished. In
    /// lenient mode with no candidate open, if every candidate was a false start, the error is the
    /// longest one's, where it broke (the earliest of equals): the JSON most likely meant.
    pub fn finish<S: Sink>(&mut self, sink: &mut S) -> Result<(), ParseError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.ignores_rest() {
            return Ok(());
        }
        if self.carry_len > 0 {
            return Err(self.fail(ErrorKind::InvalidUtf8, &[], 0));
        }
        let what = match self.state {
            State::Done => return Ok(()),
            State::Number(n) if self.stack.is_empty() && n.is_terminal() => {
                self.emit_number(sink);
                return Ok(());
            }
            State::Preamble => match &self.longest {
                // Every candidate was a false start: the longest one is most likely the JSON that
                // was meant, and where it broke is the error (as it is for one broken document).
                Some(e) => {
                    self.error = Some(e.clone());
                    return Err(e.clone());
                }
                None => "no '{' or '[' found",
            },
            State::Str | State::Escape | State::Unicode { .. } => "unterminated string",
            State::Number(_) | State::Literal { .. } => "unfinished value",
            _ => match self.stack.last() {
                None => "expecting a value",
                Some(Container::Object) => "unclosed object",
                Some(Container::Array) => "unclosed array",
            },
        };
        Err(self.fail(ErrorKind::UnexpectedEnd(what), &[], 0))
    }

    /// Lenient mode stops at the end of the first value: whatever follows, even invalid UTF-8, is ignored.
    fn ignores_rest(&self) -> bool {
        self.state == State::Done && self.options.mode == Mode::Lenient
    }

    fn fail(&mut self, kind: ErrorKind, chunk: &[u8], offset: usize) -> ParseError {
        let err = ParseError {
            kind,
            position: self.tracker.at(chunk, offset),
            excerpt: self.tracker.excerpt(chunk, offset),
        };
        self.error = Some(err.clone());
        err
    }

    /// `fail` for an error at `mark` in bytes read again (see `run_lenient`).
    fn fail_at(&mut self, kind: ErrorKind, mark: Mark, excerpt: String) -> ParseError {
        let err = ParseError {
            kind,
            position: mark.position,
            excerpt,
        };
        self.error = Some(err.clone());
        err
    }

    fn after_value(&mut self) {
        self.state = if self.stack.is_empty() {
            State::Done
        } else {
            State::AfterValue
        };
    }

    fn flush_pending_high(&mut self) {
        if let Some(high) = self.pending_high.take() {
            push_code_point(&mut self.scratch, high as u32);
            self.lone_surrogates = true;
        }
    }

    fn emit_number<S: Sink>(&mut self, sink: &mut S) {
        let digits = &self.scratch[PAD..];
        let is_float = digits.iter().any(|&b| matches!(b, b'.' | b'e' | b'E'));
        // SAFETY: the number grammar only admits ASCII.
        let raw = unsafe { std::str::from_utf8_unchecked(digits) };
        sink.number(raw, is_float);
        self.scratch.truncate(PAD);
        self.after_value();
    }

    fn close_string<S: Sink>(&mut self, sink: &mut S) {
        self.flush_pending_high();
        let text = JsonStr {
            padded: &self.scratch,
            lone_surrogates: self.lone_surrogates,
        };
        if self.in_key {
            sink.key(text);
            self.state = State::Colon;
        } else {
            sink.end_string(text);
            self.after_value();
        }
        self.scratch.truncate(PAD);
        self.lone_surrogates = false;
    }

    fn open<S: Sink>(&mut self, c: Container, sink: &mut S) -> Result<(), ErrorKind> {
        if self.stack.len() >= self.options.max_depth {
            return Err(ErrorKind::TooDeep(self.options.max_depth));
        }
        self.stack.push(c);
        match c {
            Container::Object => {
                sink.begin_object();
                self.state = State::ObjectFirst;
            }
            Container::Array => {
                sink.begin_array();
                self.state = State::ArrayFirst;
            }
        }
        Ok(())
    }

    fn close<S: Sink>(&mut self, sink: &mut S) {
        self.stack.pop();
        sink.end_container();
        self.after_value();
    }

    /// Starts the value whose first byte is `b`.
    fn begin_value<S: Sink>(&mut self, b: u8, sink: &mut S) -> Result<(), ErrorKind> {
        match b {
            b'{' => self.open(Container::Object, sink)?,
            b'[' => self.open(Container::Array, sink)?,
            b'"' => {
                sink.begin_string();
                self.in_key = false;
                self.state = State::Str;
            }
            b'-' => {
                self.scratch.push(b);
                self.state = State::Number(Num::Minus);
            }
            b'0' => {
                self.scratch.push(b);
                self.state = State::Number(Num::Zero);
            }
            b'1'..=b'9' => {
                self.scratch.push(b);
                self.state = State::Number(Num::Int);
            }
            b't' => {
                self.state = State::Literal {
                    word: b"true",
                    matched: 1,
                }
            }
            b'f' => {
                self.state = State::Literal {
                    word: b"false",
                    matched: 1,
                }
            }
            b'n' => {
                self.state = State::Literal {
                    word: b"null",
                    matched: 1,
                }
            }
            _ => return Err(unexpected(b, "value")),
        }
        Ok(())
    }

    /// Runs the state machine over the last `n` bytes of `padded` (whole UTF-8 characters only; the
    /// bytes before them are only read, see `feed_padded`).
    fn run<S: Sink>(&mut self, padded: &[u8], n: usize, sink: &mut S) -> Result<(), ParseError> {
        if self.options.mode == Mode::Lenient {
            return self.run_lenient(padded, n, sink);
        }
        let chunk = &padded[padded.len() - n..];
        match self.step_all::<S, false>(padded, n, sink) {
            Ok(consumed) if consumed == n => {
                self.tracker.advance(padded, n);
                Ok(())
            }
            Ok(consumed) => {
                self.tracker.advance(&chunk[..consumed], consumed);
                Ok(())
            }
            Err((kind, at)) => Err(self.fail(kind, chunk, at)),
        }
    }

    /// `run` in lenient mode: the same, but a syntax error inside a candidate discards it (see
    /// [`Mode::Lenient`]) and the search resumes at the byte after its opening bracket.
    ///
    /// The input read is, in order, `replay` (held text of a discarded candidate, being read again)
    /// and then the chunk. A candidate that opened in an earlier chunk has its text so far in `held`;
    /// one that opened here is found where it opened, in `replay` or the chunk, so nothing is copied
    /// unless it is still open when the chunk ends (then its text is held, to be read again if needed).
    /// A discard of a held candidate reads its held text again from its second byte and then the chunk
    /// from its start; whatever the chunking, the same bytes are read in the same order, so the result
    /// (and any error's position) is the same.
    ///
    /// (Out of line: inlined into `run`, it crowded out what strict parsing inlines there.)
    #[inline(never)]
    fn run_lenient<S: Sink>(
        &mut self,
        padded: &[u8],
        n: usize,
        sink: &mut S,
    ) -> Result<(), ParseError> {
        let chunk = &padded[padded.len() - n..];
        // A discarded held candidate's text, read again before the chunk from `in_replay` on, and
        // where its first byte is in the input.
        let mut replay: Vec<u8> = Vec::new();
        let mut replay_mark = Mark::default();
        let mut in_replay = 0;
        // Where reading the chunk is.
        let mut at = 0;
        let mut origin = match self.state {
            State::Preamble | State::Done => Origin::None,
            _ => Origin::Held,
        };
        // A discarded candidate longer than `self.longest`'s, found here: its error, whether it is in
        // `replay`, and where (its position is worked out once, when the chunk is read).
        let mut longest: Option<(ErrorKind, bool, usize)> = None;
        loop {
            let replaying = in_replay < replay.len();
            let from = if replaying { in_replay } else { at };
            self.opened_at = usize::MAX;
            // (one call site: `step_all` is inlined here and in `run`)
            let (bytes, len) = match replaying {
                true => (replay.as_slice(), replay.len() - in_replay),
                false => (padded, n - at),
            };
            let r = self.step_all::<S, true>(bytes, len, sink);
            if self.opened_at != usize::MAX {
                let k = from + self.opened_at;
                origin = if replaying {
                    Origin::Replay(k)
                } else {
                    Origin::Chunk(k)
                };
            }
            match r {
                Ok(_) if self.state == State::Done => {
                    // The value is whole: its held text is not needed any more.
                    self.held = Vec::new();
                    self.tracker.advance(padded, n);
                    return Ok(());
                }
                Ok(_) if replaying => in_replay = replay.len(),
                Ok(_) => {
                    if let Some((kind, replayed, k)) = longest {
                        let (position, excerpt) = match replayed {
                            true => (
                                replay_mark.advanced(&replay, k).position,
                                excerpt_in(&replay, k),
                            ),
                            false => (self.tracker.at(chunk, k), self.tracker.excerpt(chunk, k)),
                        };
                        self.longest = Some(ParseError {
                            kind,
                            position,
                            excerpt,
                        });
                    }
                    match origin {
                        Origin::None => {}
                        Origin::Held if n <= 8 => {
                            append_word(&mut self.held, word::last(padded, n), n)
                        }
                        Origin::Held => self.held.extend_from_slice(chunk),
                        Origin::Replay(k) => {
                            self.held_mark = replay_mark.advanced(&replay, k);
                            replay.drain(..k);
                            replay.extend_from_slice(chunk);
                            self.held = replay;
                        }
                        Origin::Chunk(k) => {
                            self.held_mark = self.tracker.mark_at(chunk, k);
                            self.held.clear();
                            self.held.extend_from_slice(&chunk[k..]);
                        }
                    }
                    self.tracker.advance(padded, n);
                    return Ok(());
                }
                // Nesting deeper than `max_depth` is not a false start: the text may well be JSON,
                // only too deep to take (the typed layer relies on seeing that error).
                Err((kind, i))
                    if matches!(kind, ErrorKind::TooDeep(_)) || origin == Origin::None =>
                {
                    let k = from + i;
                    return Err(if replaying {
                        let mark = replay_mark.advanced(&replay, k);
                        self.fail_at(kind, mark, excerpt_in(&replay, k))
                    } else {
                        self.fail(kind, chunk, k)
                    });
                }
                Err((kind, i)) => {
                    // How many bytes the candidate read: from its opening bracket to where it failed.
                    let start = match origin {
                        Origin::Held => self.held_mark.position.byte,
                        Origin::Replay(k) => replay_mark.position.byte + k,
                        Origin::Chunk(k) => self.tracker.byte() + k,
                        Origin::None => unreachable!("handled above"),
                    };
                    let end = match replaying {
                        true => replay_mark.position.byte + from + i,
                        false => self.tracker.byte() + from + i,
                    };
                    if self.restarts == 0 || end - start > self.longest_len {
                        self.longest_len = end - start;
                        longest = Some((kind, replaying, from + i));
                    }
                    self.restart(sink);
                    match origin {
                        Origin::Held => {
                            replay = std::mem::take(&mut self.held);
                            replay_mark = self.held_mark;
                            in_replay = 1;
                            at = 0;
                        }
                        Origin::Replay(k) => {
                            in_replay = k + 1;
                            at = 0;
                        }
                        Origin::Chunk(k) => at = k + 1,
                        Origin::None => unreachable!("handled above"),
                    }
                    origin = Origin::None;
                }
            }
        }
    }

    /// Lenient mode: discards the open candidate (see [`Mode::Lenient`]) and goes back to searching.
    fn restart<S: Sink>(&mut self, sink: &mut S) {
        self.stack.clear();
        self.state = State::Preamble;
        self.in_key = false;
        self.scratch.truncate(PAD);
        self.lone_surrogates = false;
        self.pending_high = None;
        self.restarts += 1;
        sink.discard();
    }

    /// Returns how many bytes were consumed (all of them, unless lenient mode stopped at the end of
    /// the value), or the error and its offset. `LENIENT` is the mode.
    ///
    /// One copy per mode, each with one caller (`run`, `run_lenient`), which it is inlined into. One
    /// copy for both was called out of line from `run`: strict parsing in 4-byte chunks then took
    /// 7.6% more instructions (callgrind, the catalog); inlined into both, 4.7% more in 64-byte ones.
    fn step_all<S: Sink, const LENIENT: bool>(
        &mut self,
        padded: &[u8],
        n: usize,
        sink: &mut S,
    ) -> Result<usize, (ErrorKind, usize)> {
        let lenient = LENIENT;
        let chunk = &padded[padded.len() - n..];
        let mut i = 0;
        while i < n {
            match self.state {
                State::Str => {
                    let rest = &chunk[i..];
                    // Where the plain text ends: a quote, a backslash, or (strict) a control
                    // character.
                    let end = if rest.len() <= 8 {
                        // Token-sized, the common case: one word, no loop; the text goes in as the
                        // whole word, with only the span's length counted. (`rest` ends the chunk.)
                        let w = word::last(padded, rest.len());
                        let end = text_end(w, rest.len(), !lenient);
                        if end > 0 {
                            self.flush_pending_high();
                            push_word(&mut self.scratch, w, end);
                        }
                        end
                    } else {
                        // (memchr pays its setup back on long text only)
                        let end = if rest.len() < 64 {
                            plain_text_end(rest, !lenient)
                        } else {
                            let end = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
                            match lenient {
                                true => end,
                                false => first_control(&rest[..end]).unwrap_or(end),
                            }
                        };
                        if end > 0 {
                            self.flush_pending_high();
                            self.scratch.extend_from_slice(&rest[..end]);
                        }
                        end
                    };
                    // (after the text before it is taken in: what was received is kept)
                    if let Some(&b) = rest.get(end).filter(|&&b| b < 0x20) {
                        return Err((ErrorKind::ControlCharacter(b as char), i + end));
                    }
                    i += end;
                    if i < n {
                        if chunk[i] == b'"' {
                            self.close_string(sink);
                        } else {
                            self.state = State::Escape;
                        }
                        i += 1;
                    }
                    continue;
                }
                State::Escape => {
                    let b = chunk[i];
                    let c = match b {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0C,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            self.state = State::Unicode { digits: 0, code: 0 };
                            i += 1;
                            continue;
                        }
                        _ => return Err((ErrorKind::InvalidEscape(char_at(chunk, i)), i)),
                    };
                    self.flush_pending_high();
                    self.scratch.push(c);
                    self.state = State::Str;
                    i += 1;
                }
                State::Unicode { digits, code } => {
                    let b = chunk[i];
                    let v = match (b as char).to_digit(16) {
                        Some(v) => v as u16,
                        None => return Err((ErrorKind::InvalidUnicodeEscape, i)),
                    };
                    let code = (code << 4) | v;
                    i += 1;
                    if digits < 3 {
                        self.state = State::Unicode {
                            digits: digits + 1,
                            code,
                        };
                        continue;
                    }
                    self.state = State::Str;
                    if let Some(high) = self.pending_high {
                        if (0xDC00..=0xDFFF).contains(&code) {
                            self.pending_high = None;
                            let c =
                                0x10000 + (((high as u32) - 0xD800) << 10) + (code as u32 - 0xDC00);
                            push_code_point(&mut self.scratch, c);
                            continue;
                        }
                        self.flush_pending_high();
                    }
                    if (0xD800..=0xDBFF).contains(&code) {
                        self.pending_high = Some(code);
                    } else {
                        if (0xDC00..=0xDFFF).contains(&code) {
                            self.lone_surrogates = true;
                        }
                        push_code_point(&mut self.scratch, code as u32);
                    }
                }
                State::Number(num) => {
                    let b = chunk[i];
                    let next = match (num, b) {
                        (Num::Minus, b'0') => Num::Zero,
                        (Num::Minus, b'1'..=b'9') => Num::Int,
                        (Num::Int, b'0'..=b'9') => Num::Int,
                        (Num::Zero | Num::Int, b'.') => Num::Dot,
                        (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
                        (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::Exp,
                        (Num::Exp, b'+' | b'-') => Num::ExpSign,
                        (Num::Exp | Num::ExpSign | Num::ExpDigits, b'0'..=b'9') => Num::ExpDigits,
                        _ if num.is_terminal() => {
                            // The byte after a number is read again as what follows the value.
                            self.emit_number(sink);
                            continue;
                        }
                        _ => return Err((ErrorKind::InvalidNumber, i)),
                    };
                    self.scratch.push(b);
                    self.state = State::Number(next);
                    i += 1;
                }
                State::Literal { word, matched } => {
                    if chunk[i] != word[matched as usize] {
                        return Err((ErrorKind::InvalidLiteral, i));
                    }
                    i += 1;
                    if matched as usize + 1 < word.len() {
                        self.state = State::Literal {
                            word,
                            matched: matched + 1,
                        };
                        continue;
                    }
                    match word[0] {
                        b't' => sink.boolean(true),
                        b'f' => sink.boolean(false),
                        _ => sink.null(),
                    }
                    self.after_value();
                }
                state => {
                    let b = chunk[i];
                    if is_ws(b) {
                        i += 1;
                        continue;
                    }
                    let step = match state {
                        State::Preamble => {
                            if b == b'{' || b == b'[' {
                                self.opened_at = i;
                                self.begin_value(b, sink)
                            } else {
                                Ok(())
                            }
                        }
                        State::Value => self.begin_value(b, sink),
                        State::ArrayFirst | State::ArrayNext => {
                            if b == b']' && (state == State::ArrayFirst || lenient) {
                                self.close(sink);
                                Ok(())
                            } else {
                                self.begin_value(b, sink)
                            }
                        }
                        State::ObjectFirst | State::ObjectNext => match b {
                            b'"' => {
                                self.in_key = true;
                                self.state = State::Str;
                                Ok(())
                            }
                            b'}' if state == State::ObjectFirst || lenient => {
                                self.close(sink);
                                Ok(())
                            }
                            _ => Err(unexpected(b, "property name enclosed in double quotes")),
                        },
                        State::Colon => {
                            if b == b':' {
                                self.state = State::Value;
                                Ok(())
                            } else {
                                Err(unexpected(b, "':' delimiter"))
                            }
                        }
                        State::AfterValue => {
                            let top = *self.stack.last().expect("AfterValue inside a container");
                            match (b, top) {
                                (b',', Container::Object) => {
                                    self.state = State::ObjectNext;
                                    Ok(())
                                }
                                (b',', Container::Array) => {
                                    self.state = State::ArrayNext;
                                    Ok(())
                                }
                                (b'}', Container::Object) | (b']', Container::Array) => {
                                    self.close(sink);
                                    Ok(())
                                }
                                (_, Container::Object) => Err(unexpected(b, "',' or '}'")),
                                (_, Container::Array) => Err(unexpected(b, "',' or ']'")),
                            }
                        }
                        State::Done => {
                            if lenient {
                                // The first complete value is the answer; what follows is prose.
                                return Ok(i);
                            }
                            Err(ErrorKind::ExtraData)
                        }
                        _ => unreachable!("token states are handled above"),
                    };
                    step.map_err(|k| match k {
                        ErrorKind::Unexpected { expected, .. } => (
                            ErrorKind::Unexpected {
                                found: char_at(chunk, i),
                                expected,
                            },
                            i,
                        ),
                        k => (k, i),
                    })?;
                    i += 1;
                }
            }
        }
        Ok(n)
    }
}

fn unexpected(b: u8, expected: &'static str) -> ErrorKind {
    ErrorKind::Unexpected {
        found: b as char,
        expected,
    }
}

/// The character starting at byte `i` (the input is whole UTF-8 characters).
fn char_at(chunk: &[u8], i: usize) -> char {
    let end = (i + 4).min(chunk.len());
    String::from_utf8_lossy(&chunk[i..end])
        .chars()
        .next()
        .unwrap_or('\u{FFFD}')
}
