//! The OpenAI streaming wire: an event stream of Chat Completions chunks or Responses events, read
//! into the few items a structured-output stream needs ([`WireItem`]), in order.
//!
//! [`sse`] frames the bytes into events; `chat` and `responses` read each event's JSON. They read it
//! with serde into borrowed structs that name only the fields they need: serde_json skips the rest
//! without building anything, a string without escapes is borrowed from the event, and the `usage`
//! and error objects come out as their raw JSON text (`RawValue`) for Python to build the SDK's types
//! from. Measured on the Chat body of a 1.3 MB document in 1–6 character deltas (68 MB, ~217 bytes
//! an event; `cargo bench --bench wire`), fed 16 KB at a time: this reader, ~390 MB/s (0.55 µs an
//! event); framing, then the crate's own parser with a sink that keeps nothing at all, ~325 MB/s
//! (1.16x the reader's time, timed in turns): it decodes every string, wanted or not, and has no raw
//! text to give for `usage`; framing, then a `serde_json::Value` tree, ~265 MB/s. Responses events
//! that are not needed are skipped by their type before any of their JSON is parsed (`responses`):
//! that body reads at ~600 MB/s.
//!
//! Bad input is an error that says what and where: [`WireError`] (invalid UTF-8 at byte N of the
//! stream; a needed event whose JSON is not what the API sends, with the event's type and the byte).

mod chat;
mod responses;
pub mod sse;

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Visitor};
use serde_json::value::RawValue;

use sse::{InvalidUtf8, SseDecoder, SseEvent};

/// Which OpenAI API the stream comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Chat Completions: `data:`-only events of `chat.completion.chunk` objects, then `data: [DONE]`.
    Chat,
    /// Responses: typed events (`response.output_text.delta`, ...), ended by `response.completed`,
    /// `response.incomplete` or `response.failed`.
    Responses,
}

/// What a structured-output stream needs from the wire, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireItem {
    /// Output text. Chat: choice 0's `delta.content`; Responses: `response.output_text.delta`.
    Text(String),
    /// A piece of a function call's arguments. Chat: choice 0's `delta.tool_calls[j]`, keyed by its
    /// `index`, and sent with empty text the first time an index appears; Responses:
    /// `response.function_call_arguments.delta`, keyed by `output_index`.
    Args { key: u32, text: String },
    /// Responses `response.output_item.added`: its `output_index`, and whether it is a function call.
    Item { key: u32, is_call: bool },
    /// Refusal text. Chat: choice 0's `delta.refusal`; Responses: `response.refusal.delta`.
    Refusal(String),
    /// Why the output ended, in Chat's words. Chat: choice 0's `finish_reason` (`"tool_calls"` for a
    /// forced function); Responses: `"stop"` when completed, and for `response.incomplete` its reason
    /// (`"length"` for `max_output_tokens`, `"content_filter"`, else the reason as sent, or
    /// `"incomplete"` without one).
    Finish(String),
    /// The response's id. Chat: a chunk's `id` when it differs from the last one; Responses:
    /// `response.created`, `.completed` and `.incomplete`.
    Id(String),
    /// The raw JSON text of a `usage` object (Chat: a chunk's; Responses: the finished response's).
    Usage(String),
    /// An error the API reported in the stream (the SDK raises `APIError` for it): its message and
    /// the JSON text of the body. Nothing after it is read.
    Error { message: String, body: String },
    /// The end. Chat: `data: [DONE]`; Responses: after `response.completed`, `.incomplete` or
    /// `.failed`. Nothing after it is read.
    Done,
}

/// Bad input: what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The stream is not UTF-8: the offset of the first byte that is not.
    InvalidUtf8 { byte: usize },
    /// A needed event's data is not the JSON the API sends: the event's type, the stream offset of
    /// the byte where reading it failed, and what was wrong.
    BadEvent {
        event: String,
        byte: usize,
        detail: String,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::InvalidUtf8 { byte } => {
                write!(
                    f,
                    "the event stream is not UTF-8: invalid byte at byte {byte}"
                )
            }
            WireError::BadEvent {
                event,
                byte,
                detail,
            } => write!(
                f,
                "bad {event} event at byte {byte} of the stream: {detail}"
            ),
        }
    }
}

impl std::error::Error for WireError {}

/// Why reading stopped inside a feed: the stream ended (`Done`, `Error`), or bad input.
enum Halt {
    End,
    Failed(WireError),
}

impl From<InvalidUtf8> for Halt {
    fn from(e: InvalidUtf8) -> Self {
        Halt::Failed(WireError::InvalidUtf8 { byte: e.byte })
    }
}

/// Reads an OpenAI event stream fed in chunks cut at any byte into [`WireItem`]s.
#[derive(Debug)]
pub struct WireReader {
    api: Api,
    sse: SseDecoder,
    state: State,
    /// `Done` or `Error` was read: the rest of the stream is not.
    ended: bool,
    failed: Option<WireError>,
    /// `finish` was called: what is fed after it is not read.
    finished: bool,
    /// `finish` dropped an event its blank line never ended.
    cut: bool,
}

impl WireReader {
    pub fn new(api: Api) -> Self {
        WireReader {
            api,
            sse: SseDecoder::new(),
            state: State::default(),
            ended: false,
            failed: None,
            finished: false,
            cut: false,
        }
    }

    pub fn api(&self) -> Api {
        self.api
    }

    /// How many bytes were fed (those after the end too).
    pub fn bytes_read(&self) -> usize {
        self.sse.bytes_fed()
    }

    /// `Done` or `Error` was read: what follows is not.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// `finish` found the stream cut inside an event (data lines, or a `data` line, without the
    /// blank line that ends the event): it was dropped, as the SDK drops it.
    pub fn cut(&self) -> bool {
        self.cut
    }

    /// Reads `bytes`, appending the items of the events they complete to `out`.
    ///
    /// Within one call, consecutive `Text` items are merged into one, and so are consecutive
    /// `Refusal`s and consecutive `Args` of one key (only items this call appended). On bad input the
    /// items read before it stay in `out`, and this and every later call return the error.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<WireItem>) -> Result<(), WireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.ended || self.finished {
            self.sse.skip(bytes.len());
            return Ok(());
        }
        let mut out = Out {
            start: out.len(),
            items: out,
        };
        let (api, state) = (self.api, &mut self.state);
        let r = self.sse.feed(bytes, |event| match api {
            Api::Chat => chat::read(event, state, &mut out),
            Api::Responses => responses::read(event, state, &mut out),
        });
        match r {
            Ok(()) => Ok(()),
            Err(Halt::End) => {
                self.ended = true;
                Ok(())
            }
            Err(Halt::Failed(e)) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The end of the body. An event cut short (no blank line after it) is dropped, as the SDK
    /// drops it; [`WireReader::cut`] tells whether one was. Invalid UTF-8 in the unfinished last
    /// line is an error; bad input fed before is returned again. Bytes fed after it are not read.
    pub fn finish(&mut self) -> Result<(), WireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.ended || std::mem::replace(&mut self.finished, true) {
            return Ok(());
        }
        match self.sse.finish() {
            Ok(cut) => {
                self.cut = cut;
                Ok(())
            }
            Err(e) => {
                let e = WireError::InvalidUtf8 { byte: e.byte };
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }
}

/// What the events so far carried that later ones are read against.
#[derive(Debug, Default)]
struct State {
    /// The last id sent: an `Id` goes out only when it changes.
    id: String,
    /// Chat: the tool call indices seen (a handful at most).
    calls: Vec<u32>,
}

impl State {
    fn id(&mut self, id: &str, out: &mut Out<'_>) {
        if id != self.id {
            self.id.clear();
            self.id.push_str(id);
            out.push(WireItem::Id(self.id.clone()));
        }
    }
}

/// The items of one `feed` call, merged as they go in (see [`WireReader::feed`]).
struct Out<'v> {
    items: &'v mut Vec<WireItem>,
    /// The first item of this call: those before it are not merged into.
    start: usize,
}

impl Out<'_> {
    fn push(&mut self, item: WireItem) {
        self.items.push(item);
    }

    fn last(&mut self) -> Option<&mut WireItem> {
        match self.items.len() > self.start {
            true => self.items.last_mut(),
            false => None,
        }
    }

    fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.last() {
            Some(WireItem::Text(t)) => t.push_str(text),
            _ => self.push(WireItem::Text(text.to_owned())),
        }
    }

    fn refusal(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.last() {
            Some(WireItem::Refusal(t)) => t.push_str(text),
            _ => self.push(WireItem::Refusal(text.to_owned())),
        }
    }

    /// A piece of call `key`'s arguments; empty text is kept (it registers the call).
    fn args(&mut self, key: u32, text: &str) {
        match self.last() {
            Some(WireItem::Args { key: k, text: t }) if *k == key => t.push_str(text),
            _ => self.push(WireItem::Args {
                key,
                text: text.to_owned(),
            }),
        }
    }

    /// An error the API reported: the last item read.
    fn error(&mut self, message: String, body: String) -> Halt {
        self.push(WireItem::Error { message, body });
        Halt::End
    }
}

/// A truthy top-level `error` member, which the SDK raises `APIError` for (its message, the error
/// object as the body): an `Error` item, and the end.
fn api_error(error: Option<&RawValue>, out: &mut Out<'_>) -> Result<(), Halt> {
    match error.filter(|e| truthy(e.get())) {
        Some(error) => {
            let message = message_of(error.get());
            let message =
                message.unwrap_or_else(|| "An error occurred during streaming".to_owned());
            Err(out.error(message, error.get().to_owned()))
        }
        None => Ok(()),
    }
}

/// Reads an event's data as `T`; an error names the event as `what` and places it in the stream.
fn parse<'a, T: Deserialize<'a>>(event: &SseEvent<'a>, what: &str) -> Result<T, Halt> {
    serde_json::from_str(event.data).map_err(|e| bad_event(event, what, &e))
}

fn bad_event(event: &SseEvent<'_>, what: &str, e: &serde_json::Error) -> Halt {
    // serde_json counts lines from 1 and columns (bytes) from 1, the column of an error at the end
    // being the last byte's; the error is placed at the end there.
    let offset = if e.classify() == serde_json::error::Category::Eof {
        event.data.len()
    } else {
        let line_start = event
            .data
            .split_inclusive('\n')
            .take(e.line().saturating_sub(1))
            .map(str::len)
            .sum::<usize>();
        line_start + e.column().saturating_sub(1)
    };
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let detail = message.strip_suffix(&suffix).unwrap_or(&message);
    Halt::Failed(WireError::BadEvent {
        event: what.to_owned(),
        byte: event.stream_byte(offset),
        detail: detail.to_owned(),
    })
}

/// A JSON string read as text: borrowed from the event if it has no escapes. A lone surrogate escape
/// (`"\ud83d"`, which Python's `json` keeps as is) becomes U+FFFD, as text cannot hold it.
#[derive(Debug, Default)]
struct Text<'a>(Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // As bytes, serde_json keeps a lone surrogate (in its 3-byte form) where a `str` is an error.
        d.deserialize_bytes(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(s.to_owned())))
    }

    fn visit_borrowed_bytes<E>(self, b: &'de [u8]) -> Result<Self::Value, E> {
        Ok(Text(match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => Cow::Owned(lossy(b)),
        }))
    }

    fn visit_bytes<E>(self, b: &[u8]) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(match std::str::from_utf8(b) {
            Ok(s) => s.to_owned(),
            Err(_) => lossy(b),
        })))
    }
}

/// UTF-8 with lone surrogates in their 3-byte form (WTF-8), as text: one U+FFFD for each surrogate.
fn lossy(mut b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    loop {
        match std::str::from_utf8(b) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (good, bad) = b.split_at(e.valid_up_to());
                // SAFETY: `from_utf8` just said these bytes are UTF-8.
                out.push_str(unsafe { std::str::from_utf8_unchecked(good) });
                out.push('\u{FFFD}');
                let surrogate = bad.len() >= 3 && bad[0] == 0xED && bad[1] & 0xE0 == 0xA0;
                let skip = if surrogate {
                    3
                } else {
                    e.error_len().unwrap_or(bad.len())
                };
                b = &bad[skip..];
            }
        }
    }
}

/// Whether a JSON value is truthy as Python reads it (the SDK raises for an `error` key only then).
fn truthy(raw: &str) -> bool {
    let raw = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let inner = |open: char, close: char| {
        raw.strip_prefix(open)
            .and_then(|r| r.strip_suffix(close))
            .map(|r| {
                !r.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
                    .is_empty()
            })
    };
    match raw.as_bytes().first() {
        Some(b'{') => inner('{', '}').unwrap_or(true),
        Some(b'[') => inner('[', ']').unwrap_or(true),
        Some(b'"') => raw != "\"\"",
        Some(b'n') | Some(b'f') => false,
        Some(b't') => true,
        // A number: zero in any spelling is falsy.
        _ => raw.parse::<f64>() != Ok(0.0),
    }
}

/// An error object's `message` if it is a non-empty string (anything else in it may be anything).
fn message_of(raw: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Message<'a> {
        #[serde(borrow)]
        message: Option<Text<'a>>,
    }
    match serde_json::from_str::<Message<'_>>(raw) {
        Ok(Message { message: Some(m) }) if !m.is_empty() => Some(m.0.into_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;
