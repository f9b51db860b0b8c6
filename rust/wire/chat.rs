//! Chat Completions: each event's data is a `chat.completion.chunk` object (or `[DONE]`).

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::sse::SseEvent;
use super::{api_error, parse, Halt, Out, State, Text, WireItem};

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    choices: Option<FirstChoice<'a>>,
    #[serde(borrow)]
    usage: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    index: Option<u32>,
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    #[serde(borrow)]
    finish_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow)]
    content: Option<Text<'a>>,
    #[serde(borrow)]
    refusal: Option<Text<'a>>,
    #[serde(borrow)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    index: Option<u32>,
    #[serde(borrow)]
    function: Option<Function<'a>>,
}

#[derive(Deserialize)]
struct Function<'a> {
    #[serde(borrow)]
    arguments: Option<Text<'a>>,
}

/// The first choice with `index` 0 (a choice without one counts as 0): with `n > 1` the others are
/// other answers. Read element by element, so no list is built.
struct FirstChoice<'a>(Option<Choice<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstChoice<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Choices;
        impl<'de> Visitor<'de> for Choices {
            type Value = FirstChoice<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of choices")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut first = None;
                while let Some(choice) = seq.next_element::<Choice<'de>>()? {
                    if first.is_none() && choice.index.unwrap_or(0) == 0 {
                        first = Some(choice);
                    }
                }
                Ok(FirstChoice(first))
            }
        }
        d.deserialize_seq(Choices)
    }
}

/// One event of a Chat Completions stream.
pub(super) fn read(event: &SseEvent<'_>, state: &mut State, out: &mut Out<'_>) -> Result<(), Halt> {
    // (`startswith`, as the SDK tests it)
    if event.data.starts_with("[DONE]") {
        out.push(WireItem::Done);
        return Err(Halt::End);
    }
    let chunk: Chunk<'_> = parse(event, "chat.completion.chunk")?;
    api_error(chunk.error, out)?;
    if let Some(id) = chunk.id {
        state.id(&id, out);
    }
    if let Some(choice) = chunk.choices.and_then(|c| c.0) {
        if let Some(delta) = choice.delta {
            if let Some(text) = delta.content {
                out.text(&text);
            }
            if let Some(text) = delta.refusal {
                out.refusal(&text);
            }
            for call in delta.tool_calls.into_iter().flatten() {
                let key = call.index.unwrap_or(0);
                let text = call.function.and_then(|f| f.arguments).unwrap_or_default();
                // A call's first delta goes out even without arguments: the consumer learns of it.
                let new = !state.calls.contains(&key);
                if new {
                    state.calls.push(key);
                }
                if new || !text.is_empty() {
                    out.args(key, &text);
                }
            }
        }
        if let Some(reason) = choice.finish_reason {
            out.push(WireItem::Finish(reason.0.into_owned()));
        }
    }
    if let Some(usage) = chunk.usage {
        out.push(WireItem::Usage(usage.get().to_owned()));
    }
    Ok(())
}
