//! Property tests of the wire (see rust/fuzz_tests.rs for the case counts and `PROPTEST_CASES`):
//! - any bytes cut anywhere: the decoder frames exactly the events of a plain whole-input decoder
//!   written here from the standard's steps, and ends the same way (the first invalid byte, or whether
//!   an event was cut);
//! - any bytes cut anywhere into a `WireReader` (either API): no panic, and the same items and end as
//!   the whole fed at once;
//! - generated Chat and Responses streams (text, tool calls, refusals, several framings: CRLF, CR,
//!   comments, data over several lines) cut anywhere: the items that were sent, and the text joined
//!   is the text that was cut into deltas.

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use super::sse::{InvalidUtf8, SseDecoder};
use super::{Api, WireError, WireItem, WireReader};

fn config(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    c.failure_persistence = None;
    c
}

/// Cuts `input` into chunks whose sizes cycle through `sizes` (0 = an empty chunk, a few at most).
fn cut<'a>(input: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let (mut rest, mut k, mut empties) = (input, 0, 0);
    while !rest.is_empty() {
        let n = sizes[k % sizes.len()].min(rest.len());
        k += 1;
        if n == 0 && empties < 4 {
            empties += 1;
            out.push(&rest[..0]);
            continue;
        }
        let n = n.max(1);
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    out
}

/// `(event type, data, last event id)` of each event, and the end: whether an event was cut, or the
/// first invalid byte.
type Framed = (Vec<(String, String, String)>, Result<bool, usize>);

/// The standard's steps over the whole input, as plainly as they read: decode, split into lines, read
/// each line. The events are those whose lines lie before the first invalid byte, if there is one.
fn reference(input: &[u8]) -> Framed {
    let (text, bad) = match std::str::from_utf8(input) {
        Ok(s) => (s, None),
        Err(e) => (
            std::str::from_utf8(&input[..e.valid_up_to()]).unwrap(),
            Some(e.valid_up_to()),
        ),
    };
    let mut rest = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut lines = Vec::new();
    while let Some(i) = rest.find(['\r', '\n']) {
        lines.push(&rest[..i]);
        rest = &rest[i + if rest[i..].starts_with("\r\n") { 2 } else { 1 }..];
    }
    let (mut events, mut data, mut event, mut id) = (Vec::new(), Vec::<&str>::new(), "", "");
    for line in lines {
        if line.is_empty() {
            if !data.is_empty() {
                let kind = if event.is_empty() { "message" } else { event };
                events.push((kind.to_owned(), data.join("\n"), id.to_owned()));
            }
            data.clear();
            event = "";
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => data.push(value),
            "event" => event = value,
            "id" if !value.contains('\0') => id = value,
            _ => {}
        }
    }
    let end = match bad {
        Some(byte) => Err(byte),
        None => Ok(!data.is_empty() || rest.split(':').next() == Some("data")),
    };
    (events, end)
}

fn frame(chunks: &[&[u8]]) -> Framed {
    let mut d = SseDecoder::new();
    let mut events = Vec::new();
    for c in chunks {
        let r = d.feed(c, |e| {
            events.push((e.event.to_owned(), e.data.to_owned(), e.id.to_owned()));
            Ok::<(), InvalidUtf8>(())
        });
        if let Err(e) = r {
            return (events, Err(e.byte));
        }
    }
    (events, d.finish().map_err(|e| e.byte))
}

/// Bytes rich in what the framing turns on: field names, colons, spaces, line ends, a BOM, NUL,
/// non-ASCII, and bytes that are not UTF-8 (rarer, so that most inputs get far).
fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        8 => prop::sample::select(vec![
            &b"data"[..], b"data:", b"data: ", b"event: ", b"event", b"id: ", b"id", b"retry: 10",
            b":", b": ", b" ", b"x", b"{}", b"\n", b"\r", b"\r\n", b"\n\n", b"\0", b"\xEF\xBB\xBF",
            "é".as_bytes(), "日".as_bytes(), "🚀".as_bytes(), b"[DONE]",
        ]).prop_map(|b| b.to_vec()),
        1 => prop::collection::vec(any::<u8>(), 1..3),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

fn sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![0usize..3, 1usize..8, 8usize..64], 1..16)
}

/// What a stream read to (items merged across feeds), as in tests.rs.
type Read = (Vec<WireItem>, Result<bool, WireError>);

fn read(api: Api, chunks: &[&[u8]]) -> Read {
    let mut r = WireReader::new(api);
    let mut items = Vec::new();
    for c in chunks {
        if let Err(e) = r.feed(c, &mut items) {
            return (merged(items), Err(e));
        }
    }
    let end = r.finish().map(|()| r.cut());
    (merged(items), end)
}

fn merged(items: Vec<WireItem>) -> Vec<WireItem> {
    let mut out: Vec<WireItem> = Vec::new();
    for item in items {
        match (out.last_mut(), item) {
            (Some(WireItem::Text(a)), WireItem::Text(b)) => a.push_str(&b),
            (Some(WireItem::Refusal(a)), WireItem::Refusal(b)) => a.push_str(&b),
            (Some(WireItem::Args { key: k, text: a }), WireItem::Args { key, text: b })
                if *k == key =>
            {
                a.push_str(&b)
            }
            (_, item) => out.push(item),
        }
    }
    out
}

// ------------------------------------------------------------------------------ generated streams

/// Text rich in what JSON escapes and UTF-8 cuts: quotes, backslashes, control characters, non-ASCII.
fn piece() -> impl Strategy<Value = String> {
    let c = prop::sample::select(vec![
        'a', ' ', '{', '"', '\\', '\n', '\r', '\u{1}', 'é', '日', '🚀', '\u{2028}',
    ]);
    prop::collection::vec(c, 0..6).prop_map(|v| v.into_iter().collect())
}

/// What a generated stream sends: text, refusal text, or a piece of call `k`'s arguments.
#[derive(Debug, Clone)]
enum Sent {
    Text(String),
    Refusal(String),
    Args(u32, String),
}

fn sent() -> impl Strategy<Value = Sent> {
    prop_oneof![
        4 => piece().prop_map(Sent::Text),
        1 => piece().prop_map(Sent::Refusal),
        2 => (0u32..3, piece()).prop_map(|(k, p)| Sent::Args(k, p)),
    ]
}

/// How events are written: the line end, a space after the colon, comments between events, `event:`
/// lines (Responses), and data members over several `data:` lines.
#[derive(Debug, Clone, Copy)]
struct Framing {
    eol: &'static str,
    space: bool,
    comments: bool,
    names: bool,
    split: bool,
}

fn framing() -> impl Strategy<Value = Framing> {
    (
        prop::sample::select(vec!["\n", "\r\n", "\r"]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(eol, space, comments, names, split)| Framing {
            eol,
            space,
            comments,
            names,
            split,
        })
}

impl Framing {
    /// One event of JSON `members` (written `{m1,m2,...}`).
    fn event(&self, out: &mut String, name: Option<&str>, members: &[String]) {
        let eol = self.eol;
        if self.comments {
            out.push_str(&format!(": keep-alive{eol}{eol}"));
        }
        if let (Some(name), true) = (name, self.names) {
            out.push_str(&format!("event: {name}{eol}"));
        }
        let colon = if self.space { "data: " } else { "data:" };
        // A line end between members is JSON whitespace: the data lines join with `\n`.
        let sep = if self.split {
            format!(",{eol}{colon}")
        } else {
            ",".to_owned()
        };
        out.push_str(&format!("{colon}{{{}}}{eol}{eol}", members.join(&sep)));
    }
}

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A Chat stream of `sent` and the items it must read to.
fn chat_stream(sent: &[Sent], f: Framing) -> (String, Vec<WireItem>) {
    let (mut out, mut want, mut seen) = (
        String::new(),
        vec![WireItem::Id("chatcmpl-1".into())],
        Vec::new(),
    );
    let head = [
        "\"id\":\"chatcmpl-1\"".to_owned(),
        "\"object\":\"chat.completion.chunk\"".to_owned(),
    ];
    let choice = |delta: String, finish: &str| {
        format!("\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]")
    };
    f.event(
        &mut out,
        None,
        &[
            head[0].clone(),
            head[1].clone(),
            choice("{\"role\":\"assistant\",\"content\":\"\"}".into(), "null"),
        ],
    );
    for s in sent {
        let delta = match s {
            Sent::Text(t) => {
                want.push(WireItem::Text(t.clone()));
                format!("{{\"content\":{}}}", js(t))
            }
            Sent::Refusal(t) => {
                want.push(WireItem::Refusal(t.clone()));
                format!("{{\"refusal\":{}}}", js(t))
            }
            Sent::Args(k, t) => {
                if !seen.contains(k) || !t.is_empty() {
                    seen.push(*k);
                    want.push(WireItem::Args {
                        key: *k,
                        text: t.clone(),
                    });
                }
                format!(
                    "{{\"tool_calls\":[{{\"index\":{k},\"function\":{{\"arguments\":{}}}}}]}}",
                    js(t)
                )
            }
        };
        f.event(
            &mut out,
            None,
            &[
                head[0].clone(),
                choice(delta, "null"),
                "\"usage\":null".into(),
            ],
        );
    }
    f.event(
        &mut out,
        None,
        &[head[0].clone(), choice("{}".into(), "\"stop\"")],
    );
    f.event(
        &mut out,
        None,
        &[
            head[0].clone(),
            "\"choices\":[]".into(),
            "\"usage\":{\"total_tokens\":3}".into(),
        ],
    );
    out.push_str(&format!("data: [DONE]{}{}", f.eol, f.eol));
    want.extend([
        WireItem::Finish("stop".into()),
        WireItem::Usage("{\"total_tokens\":3}".into()),
        WireItem::Done,
    ]);
    (
        out,
        merged(
            want.into_iter()
                .filter(|i| !matches!(i, WireItem::Text(t) | WireItem::Refusal(t) if t.is_empty()))
                .collect(),
        ),
    )
}

/// A Responses stream of `sent` (call `k` is output item `k + 1`, announced before its first piece)
/// and the items it must read to.
fn responses_stream(sent: &[Sent], f: Framing) -> (String, Vec<WireItem>) {
    let (mut out, mut want, mut seen) = (String::new(), Vec::new(), Vec::new());
    let ev = |out: &mut String, kind: &str, rest: &[String]| {
        let mut members = vec![format!("\"type\":\"{kind}\"")];
        members.extend_from_slice(rest);
        f.event(out, Some(kind), &members);
    };
    let response = |status: &str, usage: &str| {
        format!("\"response\":{{\"id\":\"resp_1\",\"status\":\"{status}\",\"output\":[],\"usage\":{usage}}}")
    };
    ev(
        &mut out,
        "response.created",
        &[response("in_progress", "null")],
    );
    ev(
        &mut out,
        "response.in_progress",
        &[response("in_progress", "null")],
    );
    want.push(WireItem::Id("resp_1".into()));
    ev(
        &mut out,
        "response.output_item.added",
        &[
            "\"output_index\":0".into(),
            "\"item\":{\"type\":\"message\",\"content\":[]}".into(),
        ],
    );
    want.push(WireItem::Item {
        key: 0,
        is_call: false,
    });
    for s in sent {
        match s {
            Sent::Text(t) => {
                ev(
                    &mut out,
                    "response.output_text.delta",
                    &["\"output_index\":0".into(), format!("\"delta\":{}", js(t))],
                );
                want.push(WireItem::Text(t.clone()));
            }
            Sent::Refusal(t) => {
                ev(
                    &mut out,
                    "response.refusal.delta",
                    &["\"output_index\":0".into(), format!("\"delta\":{}", js(t))],
                );
                want.push(WireItem::Refusal(t.clone()));
            }
            Sent::Args(k, t) => {
                if !seen.contains(k) {
                    seen.push(*k);
                    let item =
                        "\"item\":{\"type\":\"function_call\",\"arguments\":\"\"}".to_owned();
                    ev(
                        &mut out,
                        "response.output_item.added",
                        &[format!("\"output_index\":{}", k + 1), item],
                    );
                    want.push(WireItem::Item {
                        key: k + 1,
                        is_call: true,
                    });
                }
                let rest = [
                    format!("\"output_index\":{}", k + 1),
                    format!("\"delta\":{}", js(t)),
                ];
                ev(&mut out, "response.function_call_arguments.delta", &rest);
                want.push(WireItem::Args {
                    key: k + 1,
                    text: t.clone(),
                });
            }
        }
    }
    ev(
        &mut out,
        "response.output_text.done",
        &["\"output_index\":0".into(), "\"text\":\"...\"".into()],
    );
    ev(
        &mut out,
        "response.completed",
        &[response("completed", "{\"total_tokens\":3}")],
    );
    want.extend([
        WireItem::Usage("{\"total_tokens\":3}".into()),
        WireItem::Finish("stop".into()),
        WireItem::Done,
    ]);
    (
        out,
        merged(
            want.into_iter()
                .filter(|i| !matches!(i, WireItem::Text(t) | WireItem::Refusal(t) if t.is_empty()))
                .collect(),
        ),
    )
}

proptest! {
    #![proptest_config(config(512))]

    /// The decoder frames what the plain whole-input decoder frames, however the bytes are cut.
    #[test]
    fn framing_matches_the_reference(input in sse_bytes(), sizes in sizes()) {
        prop_assert_eq!(frame(&cut(&input, &sizes)), reference(&input));
    }

    /// The same for any bytes at all.
    #[test]
    fn framing_of_any_bytes_matches_the_reference(input in prop::collection::vec(any::<u8>(), 0..200), sizes in sizes()) {
        prop_assert_eq!(frame(&cut(&input, &sizes)), reference(&input));
    }

    /// Any bytes into either reader: no panic, and what the whole reads to.
    #[test]
    fn readers_cut_anywhere_read_as_the_whole(input in sse_bytes(), sizes in sizes(), chat in any::<bool>()) {
        let api = if chat { Api::Chat } else { Api::Responses };
        prop_assert_eq!(read(api, &cut(&input, &sizes)), read(api, &[&input]));
    }

    /// Generated streams of both APIs, cut anywhere: the items sent.
    #[test]
    fn generated_streams_read_to_what_was_sent(
        sent in prop::collection::vec(sent(), 0..24),
        framing in framing(),
        sizes in sizes(),
    ) {
        for (api, (stream, want)) in [(Api::Chat, chat_stream(&sent, framing)), (Api::Responses, responses_stream(&sent, framing))] {
            let (items, end) = read(api, &cut(stream.as_bytes(), &sizes));
            prop_assert_eq!(end, Ok(false));
            prop_assert_eq!(&items, &want, "{:?} {:?}", api, stream);
            let text: String = items.iter().filter_map(|i| match i { WireItem::Text(t) => Some(t.as_str()), _ => None }).collect();
            let sent_text: String = sent.iter().filter_map(|s| match s { Sent::Text(t) => Some(t.as_str()), _ => None }).collect();
            prop_assert_eq!(text, sent_text);
        }
    }
}
