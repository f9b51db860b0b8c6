//! Responses: each event's data is an object whose `type` (also the SSE `event:` field) says what it
//! is. Only nine types matter here; the others (`response.in_progress`, the `.done` events that
//! repeat the whole text, reasoning, ...) are skipped by their type without parsing their JSON.

use memchr::memchr2;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::sse::SseEvent;
use super::{api_error, message_of, parse, Halt, Out, State, Text, WireItem};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Created,
    Completed,
    Incomplete,
    Failed,
    Error,
    ItemAdded,
    TextDelta,
    ArgsDelta,
    RefusalDelta,
}

const KINDS: [(&str, Kind); 9] = [
    ("response.output_text.delta", Kind::TextDelta),
    ("response.function_call_arguments.delta", Kind::ArgsDelta),
    ("response.refusal.delta", Kind::RefusalDelta),
    ("response.output_item.added", Kind::ItemAdded),
    ("response.created", Kind::Created),
    ("response.completed", Kind::Completed),
    ("response.incomplete", Kind::Incomplete),
    ("response.failed", Kind::Failed),
    ("error", Kind::Error),
];

fn kind(name: &str) -> Option<(&'static str, Kind)> {
    KINDS.iter().find(|(n, _)| *n == name).copied()
}

/// The data's `type` when it is the first member, unescaped (`{"type":"response.created",...`, as the
/// API writes every event).
fn leading_type(data: &str) -> Option<&str> {
    let rest = data.strip_prefix("{\"type\":\"")?;
    let end = memchr2(b'"', b'\\', rest.as_bytes())?;
    (rest.as_bytes()[end] == b'"').then(|| &rest[..end])
}

/// An event whose type is known from neither its name nor its first member.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow)]
    delta: Text<'a>,
    output_index: Option<u32>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ItemAdded<'a> {
    output_index: u32,
    #[serde(borrow)]
    item: Item<'a>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Text<'a>>,
}

/// `response.created`, `.completed`, `.incomplete`, `.failed`: the response object, in part.
#[derive(Deserialize)]
struct Lifecycle<'a> {
    #[serde(borrow)]
    response: Response<'a>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Response<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    usage: Option<&'a RawValue>,
    #[serde(borrow)]
    incomplete_details: Option<IncompleteDetails<'a>>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct IncompleteDetails<'a> {
    #[serde(borrow)]
    reason: Option<Text<'a>>,
}

/// The `error` event: checked to be JSON; its message is read loosely (it is the body too).
#[derive(Deserialize)]
struct ErrorEvent<'a> {
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// One event of a Responses stream.
pub(super) fn read(event: &SseEvent<'_>, state: &mut State, out: &mut Out<'_>) -> Result<(), Halt> {
    if event.data.starts_with("[DONE]") {
        out.push(WireItem::Done);
        return Err(Halt::End);
    }
    // The type without parsing, where the event says it (the API always does, twice).
    let named = match event.event {
        "message" => leading_type(event.data),
        name => Some(name),
    };
    let (what, kind) = match named {
        Some(name) => match kind(name) {
            Some(known) => known,
            None => return Ok(()),
        },
        None => {
            let head: Head<'_> = parse(event, "Responses")?;
            api_error(head.error, out)?;
            match head.kind.as_deref().and_then(kind) {
                Some(known) => known,
                None => return Ok(()),
            }
        }
    };
    match kind {
        Kind::TextDelta | Kind::RefusalDelta | Kind::ArgsDelta => {
            let d: Delta<'_> = parse(event, what)?;
            api_error(d.error, out)?;
            match (kind, d.output_index) {
                (Kind::TextDelta, _) => out.text(&d.delta),
                (Kind::RefusalDelta, _) => out.refusal(&d.delta),
                (_, Some(key)) => out.args(key, &d.delta),
                (_, None) => return Err(missing(event, what, "output_index")),
            }
        }
        Kind::ItemAdded => {
            let a: ItemAdded<'_> = parse(event, what)?;
            api_error(a.error, out)?;
            let is_call = a.item.kind.as_deref() == Some("function_call");
            out.push(WireItem::Item {
                key: a.output_index,
                is_call,
            });
        }
        Kind::Error => {
            let e: ErrorEvent<'_> = parse(event, what)?;
            api_error(e.error, out)?;
            let message = message_of(event.data);
            let message =
                message.unwrap_or_else(|| "an error occurred during streaming".to_owned());
            return Err(out.error(message, event.data.to_owned()));
        }
        Kind::Created | Kind::Completed | Kind::Incomplete | Kind::Failed => {
            let l: Lifecycle<'_> = parse(event, what)?;
            api_error(l.error, out)?;
            let r = l.response;
            if kind == Kind::Failed {
                let body = r.error.map_or("null", RawValue::get);
                let message = message_of(body).unwrap_or_else(|| "the response failed".to_owned());
                out.push(WireItem::Error {
                    message,
                    body: body.to_owned(),
                });
                out.push(WireItem::Done);
                return Err(Halt::End);
            }
            if let Some(id) = r.id {
                state.id(&id, out);
            }
            if kind == Kind::Created {
                return Ok(());
            }
            if let Some(usage) = r.usage {
                out.push(WireItem::Usage(usage.get().to_owned()));
            }
            let reason = match kind {
                Kind::Completed => "stop".to_owned(),
                _ => match r.incomplete_details.and_then(|d| d.reason) {
                    Some(reason) => match &*reason {
                        "max_output_tokens" => "length".to_owned(),
                        "" => "incomplete".to_owned(),
                        _ => reason.0.into_owned(),
                    },
                    None => "incomplete".to_owned(),
                },
            };
            out.push(WireItem::Finish(reason));
            out.push(WireItem::Done);
            return Err(Halt::End);
        }
    }
    Ok(())
}

/// A needed member the event lacks.
fn missing(event: &SseEvent<'_>, what: &str, field: &str) -> Halt {
    Halt::Failed(super::WireError::BadEvent {
        event: what.to_owned(),
        byte: event.stream_byte(0),
        detail: format!("missing field `{field}`"),
    })
}
