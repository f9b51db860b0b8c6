//! Unit tests of the wire: every input is also fed byte by byte and cut in two at every byte, and must
//! come out the same (the items merged as one `feed` of the whole would merge them).

use super::sse::{InvalidUtf8, SseDecoder};
use super::{Api, WireError, WireItem, WireReader};

// ------------------------------------------------------------------------------------------ helpers

/// `(event type, data, last event id)` of each event, and the end: whether an event was cut, or the
/// invalid byte.
type Framed = (Vec<(String, String, String)>, Result<bool, usize>);

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

/// The chunkings every test input is fed in: whole, byte by byte, and cut in two at every byte.
fn chunkings(input: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut ways: Vec<Vec<&[u8]>> = vec![vec![input], input.chunks(1).collect()];
    for cut in 0..=input.len() {
        ways.push(vec![&input[..cut], &input[cut..]]);
    }
    ways
}

/// Frames `input` every way; all must agree. Returns the framing of the whole.
fn frame_all_ways(input: &[u8]) -> Framed {
    let whole = frame(&[input]);
    for chunks in chunkings(input) {
        assert_eq!(frame(&chunks), whole, "{input:?} cut as {chunks:?}");
    }
    whole
}

fn ev(event: &str, data: &str, id: &str) -> (String, String, String) {
    (event.to_owned(), data.to_owned(), id.to_owned())
}

/// What a stream read to: its items, then the error or whether an event was cut at the end.
type Read = (Vec<WireItem>, Result<bool, WireError>);

/// Reads `chunks`; the items of each `feed` must already be merged, as `merged` would.
fn read(api: Api, chunks: &[&[u8]]) -> Read {
    let mut r = WireReader::new(api);
    let mut items = Vec::new();
    for c in chunks {
        let mut one = Vec::new();
        let fed = r.feed(c, &mut one);
        assert_eq!(one, merged(one.clone()), "one feed's items are merged");
        items.append(&mut one);
        if let Err(e) = fed {
            // The reader stays failed, with the same error.
            assert_eq!(r.feed(b"data: [DONE]\n\n", &mut one), Err(e.clone()));
            assert_eq!(r.finish(), Err(e.clone()));
            return (items, Err(e));
        }
    }
    let end = r.finish().map(|()| r.cut());
    assert_eq!(
        r.bytes_read(),
        chunks.iter().map(|c| c.len()).sum::<usize>()
    );
    (items, end)
}

/// Consecutive `Text`s (`Refusal`s, `Args` of one key) merged into one.
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

/// Reads `input` every way; all must agree once merged. Returns the reading of the whole.
fn read_all_ways(api: Api, input: &[u8]) -> Read {
    let whole = read(api, &[input]);
    for chunks in chunkings(input) {
        let (items, end) = read(api, &chunks);
        assert_eq!(
            (merged(items), end),
            whole,
            "{api:?} {:?} cut as {chunks:?}",
            String::from_utf8_lossy(input)
        );
    }
    whole
}

fn text(s: &str) -> WireItem {
    WireItem::Text(s.to_owned())
}

fn args(key: u32, s: &str) -> WireItem {
    WireItem::Args {
        key,
        text: s.to_owned(),
    }
}

fn id(s: &str) -> WireItem {
    WireItem::Id(s.to_owned())
}

fn finish(s: &str) -> WireItem {
    WireItem::Finish(s.to_owned())
}

fn usage(s: &str) -> WireItem {
    WireItem::Usage(s.to_owned())
}

fn bad(event: &str, byte: usize, detail: &str) -> WireError {
    WireError::BadEvent {
        event: event.to_owned(),
        byte,
        detail: detail.to_owned(),
    }
}

/// A JSON string.
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

// ------------------------------------------------------------------------------------------- framing

#[test]
fn line_ends_lf_crlf_cr_and_mixed() {
    for eol in ["\n", "\r\n", "\r"] {
        let input = format!("data: a{eol}{eol}data: b{eol}data: c{eol}{eol}");
        let (events, end) = frame_all_ways(input.as_bytes());
        assert_eq!(
            events,
            [ev("message", "a", ""), ev("message", "b\nc", "")],
            "{eol:?}"
        );
        assert_eq!(end, Ok(false));
    }
    // A CR then an LF is one line end; an LF then a CR is two.
    let (events, _) = frame_all_ways(b"data: a\r\n\rdata: b\n\rdata: c\r\r\ndata: d\n\r");
    let want = [
        ev("message", "a", ""),
        ev("message", "b", ""),
        ev("message", "c", ""),
        ev("message", "d", ""),
    ];
    assert_eq!(events, want);
    let (events, end) = frame_all_ways(b"data: a\r\r\r\ndata: b\n\r\n");
    assert_eq!(events, [ev("message", "a", ""), ev("message", "b", "")]);
    assert_eq!(end, Ok(false));
}

#[test]
fn one_space_after_the_colon_is_dropped() {
    let (events, _) = frame_all_ways(b"data:a\n\ndata: a\n\ndata:  a\n\ndata:\ta\n\ndata: \n\n");
    let datas: Vec<_> = events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(datas, ["a", "a", " a", "\ta", ""]);
}

#[test]
fn data_lines_join_with_newlines() {
    let (events, _) = frame_all_ways(b"data: {\"a\":\ndata:\ndata: 1}\n\ndata\ndata\n\n");
    assert_eq!(
        events,
        [ev("message", "{\"a\":\n\n1}", ""), ev("message", "\n", "")]
    );
}

#[test]
fn event_field_and_its_reset() {
    let input = b"event: response.created\ndata: 1\n\nevent: x\n\ndata: 2\n\nevent:\ndata: 3\n\nevent: a\nevent: b\ndata: 4\n\n";
    let (events, _) = frame_all_ways(input);
    assert_eq!(
        events,
        [
            ev("response.created", "1", ""),
            // `event: x` had no data: not dispatched, and its type does not carry over.
            ev("message", "2", ""),
            ev("message", "3", ""),
            ev("b", "4", ""),
        ]
    );
}

#[test]
fn ids_persist_and_ids_with_nul_are_ignored() {
    let input =
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\0x\ndata: c\n\nid\ndata: d\n\nid: 3\n\ndata: e\n\n";
    let (events, _) = frame_all_ways(input);
    assert_eq!(
        events,
        [
            ev("message", "a", "1"),
            ev("message", "b", "1"),
            ev("message", "c", "1"),
            ev("message", "d", ""),
            // An id with no data sets the last event id all the same.
            ev("message", "e", "3"),
        ]
    );
}

#[test]
fn comments_retry_and_unknown_fields_are_ignored() {
    let input = b": keep-alive\n:\nretry: 3000\nretry: x\nfoo: bar\nDATA: no\ndata : no\n data: no\ndata: yes\n\n";
    let (events, end) = frame_all_ways(input);
    assert_eq!(events, [ev("message", "yes", "")]);
    assert_eq!(end, Ok(false));
}

#[test]
fn a_field_without_a_colon_has_an_empty_value() {
    let (events, _) = frame_all_ways(b"data\n\nevent\ndata: x\n\n");
    assert_eq!(events, [ev("message", "", ""), ev("message", "x", "")]);
}

#[test]
fn blank_lines_without_data_dispatch_nothing() {
    let (events, end) = frame_all_ways(b"\n\n\r\n\r\revent: a\nid: 1\n\n: c\n\n");
    assert_eq!(events, []);
    assert_eq!(end, Ok(false));
}

#[test]
fn a_bom_is_skipped_at_the_very_start_only() {
    let (events, _) = frame_all_ways(b"\xEF\xBB\xBFdata: a\n\n\xEF\xBB\xBFdata: b\n\ndata: c\n\n");
    // The second BOM is part of a field name (`\u{FEFF}data`), not `data`.
    assert_eq!(events, [ev("message", "a", ""), ev("message", "c", "")]);
    let (events, _) = frame_all_ways(b"\xEF\xBB\xBF\ndata: a\n\n");
    assert_eq!(events, [ev("message", "a", "")]);
    let (events, _) = frame_all_ways(b"\n\xEF\xBB\xBFdata: a\n\n");
    assert_eq!(events, []);
    assert_eq!(frame_all_ways(b"\xEF\xBB\xBF"), (vec![], Ok(false)));
    // Half a BOM is not UTF-8.
    assert_eq!(frame_all_ways(b"\xEF\xBBdata: a\n\n"), (vec![], Err(0)));
}

#[test]
fn utf8_cut_anywhere_and_invalid_utf8_with_its_byte() {
    let (events, _) = frame_all_ways("data: é日🚀\u{2028}\n\nevent: ü\ndata: ß\n\n".as_bytes());
    assert_eq!(
        events,
        [ev("message", "é日🚀\u{2028}", ""), ev("ü", "ß", "")]
    );
    // The events before the bad byte's line are read; the error is the first bad byte's offset.
    let (events, end) = frame_all_ways(b"data: a\n\ndata: \xC3\xA9\xFF\n\ndata: b\n\n");
    assert_eq!(events, [ev("message", "a", "")]);
    assert_eq!(end, Err(17));
    // Invalid bytes in a comment, in an ignored field, in a truncated last line: all errors.
    assert_eq!(frame_all_ways(b": \x80\n").1, Err(2));
    assert_eq!(frame_all_ways(b"retry: \xC0\xAF\n").1, Err(7));
    assert_eq!(frame_all_ways(b"data: a\n\ndata: \xF0\x9F\x9A").1, Err(15));
    // An overlong encoding, a surrogate, past U+10FFFF.
    for bad in [
        &b"data: \xC1\xBF\n"[..],
        b"data: \xED\xA0\x80\n",
        b"data: \xF4\x90\x80\x80\n",
    ] {
        assert_eq!(frame_all_ways(bad).1, Err(6), "{bad:?}");
    }
}

#[test]
fn an_event_cut_at_the_end_is_dropped_and_reported() {
    assert_eq!(
        frame_all_ways(b"data: a\n\ndata: b\n"),
        (vec![ev("message", "a", "")], Ok(true))
    );
    assert_eq!(
        frame_all_ways(b"data: a\n\ndata: b"),
        (vec![ev("message", "a", "")], Ok(true))
    );
    assert_eq!(
        frame_all_ways(b"data: a\n\ndata"),
        (vec![ev("message", "a", "")], Ok(true))
    );
    // Nothing of an event: a comment, an event type, an id.
    for tail in [&b": ping"[..], b"event: x\n", b"id: 1", b"event: x", b"dat"] {
        let mut input = b"data: a\n\n".to_vec();
        input.extend_from_slice(tail);
        assert_eq!(
            frame_all_ways(&input),
            (vec![ev("message", "a", "")], Ok(false)),
            "{tail:?}"
        );
    }
}

#[test]
fn a_huge_event_is_read_and_its_buffers_dropped() {
    let big = "x".repeat(200_000);
    let input = format!("data: {big}\n\ndata: a\n\n");
    let mut d = SseDecoder::new();
    let mut events = Vec::new();
    for c in input.as_bytes().chunks(16 * 1024) {
        d.feed(c, |e| {
            events.push(e.data.len());
            Ok::<(), InvalidUtf8>(())
        })
        .unwrap();
    }
    assert_eq!(events, [200_000, 1]);
    assert!(d.capacity() <= 2 * super::sse::KEEP_CAPACITY);
}

#[test]
fn stream_bytes_of_data_offsets() {
    let input = b"\xEF\xBB\xBFid: 1\r\ndata: ab\r\ndata:cd\r\n\r\n";
    let mut d = SseDecoder::new();
    let mut places = Vec::new();
    d.feed(input, |e| {
        places = (0..=e.data.len()).map(|i| e.stream_byte(i)).collect();
        Ok::<(), InvalidUtf8>(())
    })
    .unwrap();
    // `ab` at 16 and 17, the joining `\n` where the line ended (18), `cd` at 25 and 26, the end 27.
    assert_eq!(places, [16, 17, 18, 25, 26, 27]);
}

// ---------------------------------------------------------------------------------------------- Chat

/// A `data:` event.
fn data(json: &str) -> String {
    format!("data: {json}\n\n")
}

/// A `chat.completion.chunk` as the API sends it (with `stream_options.include_usage`).
fn chunk(id: &str, delta: &str, finish: Option<&str>) -> String {
    let finish = finish.map_or("null".to_owned(), js);
    format!(
        r#"{{"id":"{id}","object":"chat.completion.chunk","created":1719000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_abc123","choices":[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}],"usage":null}}"#
    )
}

const CHAT_USAGE: &str = r#"{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#;

fn usage_chunk(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","object":"chat.completion.chunk","created":1719000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_abc123","choices":[],"usage":{CHAT_USAGE}}}"#
    )
}

#[test]
fn chat_text_stream() {
    let id_ = "chatcmpl-9x1";
    let mut input = data(&chunk(
        id_,
        r#"{"role":"assistant","content":"","refusal":null}"#,
        None,
    ));
    for piece in ["{\"ti", "tle\": \"Caf", "é \\\"🚀\\\"", "\\n\"}"] {
        input += &data(&chunk(id_, &format!("{{\"content\":{}}}", js(piece)), None));
    }
    input += &data(&chunk(id_, "{}", Some("stop")));
    input += &data(&usage_chunk(id_));
    input += "data: [DONE]\n\n";
    let (items, end) = read_all_ways(Api::Chat, input.as_bytes());
    assert_eq!(
        items,
        [
            id(id_),
            text("{\"title\": \"Café \\\"🚀\\\"\\n\"}"),
            finish("stop"),
            usage(CHAT_USAGE),
            WireItem::Done
        ]
    );
    assert_eq!(end, Ok(false));
}

#[test]
fn chat_crlf_keepalives_and_no_space_after_colon() {
    let input = format!(
        ": OPENROUTER PROCESSING\r\n\r\ndata:{}\r\n\r\n: ping\r\ndata: {}\r\n\r\ndata:[DONE]\r\n\r\n",
        chunk("a", r#"{"content":"x"}"#, None),
        chunk("a", r#"{"content":"y"}"#, Some("length")),
    );
    let (items, end) = read_all_ways(Api::Chat, input.as_bytes());
    assert_eq!(
        items,
        [id("a"), text("xy"), finish("length"), WireItem::Done]
    );
    assert_eq!(end, Ok(false));
}

#[test]
fn chat_escapes_and_lone_surrogates() {
    // Escapes decode; a lone surrogate escape (which text cannot hold) becomes U+FFFD.
    let input = data(&chunk(
        "a",
        r#"{"content":"\u00e9\ud83d\ude80\t\/\ud83d|\ude80|"}"#,
        None,
    ));
    let (items, _) = read_all_ways(Api::Chat, input.as_bytes());
    assert_eq!(items, [id("a"), text("é🚀\t/\u{FFFD}|\u{FFFD}|")]);
}

#[test]
fn chat_tool_calls() {
    let first = r#"{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"Catalog","arguments":""}}],"refusal":null}"#;
    let mut input = data(&chunk("c", first, None));
    for piece in ["{\"", "store", "\":", "\"x\"}"] {
        let delta = format!(
            r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":{}}}}}]}}"#,
            js(piece)
        );
        input += &data(&chunk("c", &delta, None));
    }
    input += &data(&chunk("c", "{}", Some("tool_calls")));
    input += &data(&usage_chunk("c"));
    input += "data: [DONE]\n\n";
    let (items, _) = read_all_ways(Api::Chat, input.as_bytes());
    assert_eq!(
        items,
        [
            id("c"),
            args(0, "{\"store\":\"x\"}"),
            finish("tool_calls"),
            usage(CHAT_USAGE),
            WireItem::Done
        ]
    );
}

#[test]
fn chat_parallel_tool_calls_are_keyed_and_registered_empty() {
    let call = |i: u32, args: Option<&str>| {
        let function = match args {
            Some(a) => format!(r#"{{"arguments":{}}}"#, js(a)),
            None => r#"{"name":"Item"}"#.to_owned(),
        };
        data(&chunk(
            "p",
            &format!(r#"{{"tool_calls":[{{"index":{i},"function":{function}}}]}}"#),
            None,
        ))
    };
    let mut input = call(0, None)
        + &call(0, Some("[1"))
        + &call(1, None)
        + &call(1, Some(""))
        + &call(1, Some("2"));
    input += &call(0, Some("]"));
    // A call without an index is call 0; one delta may carry two calls.
    input += &data(&chunk(
        "p",
        r#"{"tool_calls":[{"function":{"arguments":"!"}},{"index":2}]}"#,
        None,
    ));
    input += &data(&chunk("p", r#"{"tool_calls":[]}"#, Some("tool_calls")));
    let (items, end) = read_all_ways(Api::Chat, input.as_bytes());
    assert_eq!(
        items,
        [
            id("p"),
            args(0, "[1"),
            args(1, "2"),
            args(0, "]!"),
            args(2, ""),
            finish("tool_calls")
        ]
    );
    assert_eq!(end, Ok(false));
}

#[test]
fn chat_refusal() {
    let mut input = data(&chunk(
        "r",
        r#"{"role":"assistant","content":null,"refusal":""}"#,
        None,
    ));
    for piece in ["I'm sorry, ", "I can't ", "help with that."] {
        input += &data(&chunk(
            "r",
            &format!(r#"{{"refusal":{}}}"#, js(piece)),
            None,
        ));
    }
    input += &data(&chunk("r", "{}", Some("stop")));
    input += "data: [DONE]\n\n";
    let (items, _) = read_all_ways(Api::Chat, input.as_bytes());
    assert_eq!(
        items,
        [
            id("r"),
            WireItem::Refusal("I'm sorry, I can't help with that.".into()),
            finish("stop"),
            WireItem::Done
        ]
    );
}

#[test]
fn chat_reads_choice_zero_only() {
    // With `n=2`, choices come in any order; only index 0 is the answer.
    let two = r#"{"id":"n","choices":[{"index":1,"delta":{"content":"B"},"finish_reason":"length"},{"index":0,"delta":{"content":"A"},"finish_reason":null}]}"#;
    let other =
        r#"{"id":"n","choices":[{"index":1,"delta":{"content":"B"},"finish_reason":null}]}"#;
    let input = data(two) + &data(other) + &data(two);
    let (items, _) = read_all_ways(Api::Chat, input.as_bytes());
    assert_eq!(items, [id("n"), text("AA")]);
}

#[test]
fn chat_ids_go_out_when_they_change() {
    let input = data(&chunk("a", r#"{"content":"1"}"#, None))
        + &data(&chunk("a", r#"{"content":"2"}"#, None))
        + &data(&chunk("b", r#"{"content":"3"}"#, None))
        + &data(r#"{"choices":[{"index":0,"delta":{"content":"4"}}]}"#);
    let (items, _) = read_all_ways(Api::Chat, input.as_bytes());
    assert_eq!(items, [id("a"), text("12"), id("b"), text("34")]);
}

#[test]
fn chat_error_in_the_stream() {
    // What the API (and the replay server) sends when it fails mid-stream; nothing after it is read,
    // however bad.
    let err = r#"{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":"server_error"}"#;
    let input = data(&chunk("e", r#"{"content":"{\"a\""}"#, None))
        + &data(&format!(r#"{{"error":{err}}}"#));
    let input = [input.as_bytes(), b"data: \xFF\n\n"].concat();
    let (items, end) = read_all_ways(Api::Chat, &input);
    let error = WireItem::Error {
        message: "The server had an error while processing your request.".into(),
        body: err.into(),
    };
    assert_eq!(items, [id("e"), text("{\"a\""), error]);
    assert_eq!(end, Ok(false));
    // The SDK's message where the error has none; a falsy `error` is no error.
    let input = data(r#"{"error":{"code":1}}"#);
    let (items, _) = read_all_ways(Api::Chat, input.as_bytes());
    let error = WireItem::Error {
        message: "An error occurred during streaming".into(),
        body: r#"{"code":1}"#.into(),
    };
    assert_eq!(items, [error]);
    for falsy in ["null", "{}", "[]", "\"\"", "0", "0.0", "false", "{ }"] {
        let input = data(&format!(r#"{{"id":"f","error":{falsy},"choices":[]}}"#));
        assert_eq!(
            read_all_ways(Api::Chat, input.as_bytes()).0,
            [id("f")],
            "{falsy}"
        );
    }
}

#[test]
fn chat_done_ends_the_stream() {
    let input =
        data(&chunk("d", r#"{"content":"x"}"#, None)) + "data: [DONE]\n\ndata: {not json\n\n";
    let input = [input.as_bytes(), b"\xFF"].concat();
    assert_eq!(
        read_all_ways(Api::Chat, &input),
        (vec![id("d"), text("x"), WireItem::Done], Ok(false))
    );
}

#[test]
fn chat_bad_json_names_the_event_and_its_byte() {
    let good = data(&chunk("g", r#"{"content":"ok"}"#, None));
    let input = good.clone()
        + "data: {\"id\":\"g\",\"choices\":[{\"index\":0,\"delta\":{\"content\":x}}]}\n\n";
    let at =
        good.len() + "data: {\"id\":\"g\",\"choices\":[{\"index\":0,\"delta\":{\"content\":".len();
    let (items, end) = read_all_ways(Api::Chat, input.as_bytes());
    assert_eq!(items, [id("g"), text("ok")]);
    assert_eq!(end, Err(bad("chat.completion.chunk", at, "expected value")));
    let shown = end.unwrap_err().to_string();
    assert_eq!(
        shown,
        format!("bad chat.completion.chunk event at byte {at} of the stream: expected value")
    );
    // Cut short: the error is at the end of its data. Data over two lines: placed on the second.
    let input = good.clone() + "data: {\"id\":\"g\",\"choices\":[\n\n";
    assert_eq!(
        read_all_ways(Api::Chat, input.as_bytes()).1,
        Err(bad(
            "chat.completion.chunk",
            input.len() - 2,
            "EOF while parsing a list"
        ))
    );
    let input = good.clone() + "data: {\"id\":\ndata: 5}\n\n";
    let at = good.len() + "data: {\"id\":\ndata: ".len();
    assert_eq!(
        read_all_ways(Api::Chat, input.as_bytes()).1,
        Err(bad(
            "chat.completion.chunk",
            at,
            "invalid type: integer `5`, expected a string"
        ))
    );
    // Not an object; an index past u32.
    assert!(matches!(
        read_all_ways(Api::Chat, b"data: 42\n\n").1,
        Err(WireError::BadEvent { byte: 7, .. })
    ));
    let input = data(r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":4294967296}]}}]}"#);
    assert!(matches!(
        read_all_ways(Api::Chat, input.as_bytes()).1,
        Err(WireError::BadEvent { .. })
    ));
}

#[test]
fn chat_invalid_utf8_keeps_what_came_before() {
    let good = data(&chunk("u", r#"{"content":"é"}"#, None));
    let input = [good.as_bytes(), b"data: {\"content\":\"\xC3\"}\n\n"].concat();
    let (items, end) = read_all_ways(Api::Chat, &input);
    assert_eq!(items, [id("u"), text("é")]);
    assert_eq!(
        end,
        Err(WireError::InvalidUtf8 {
            byte: good.len() + 18
        })
    );
    assert_eq!(
        end.unwrap_err().to_string(),
        format!(
            "the event stream is not UTF-8: invalid byte at byte {}",
            good.len() + 18
        )
    );
}

#[test]
fn chat_cut_mid_event() {
    let good = data(&chunk("x", r#"{"content":"a"}"#, None));
    let input =
        good + "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}";
    assert_eq!(
        read_all_ways(Api::Chat, input.as_bytes()),
        (vec![id("x"), text("a")], Ok(true))
    );
}

// ----------------------------------------------------------------------------------------- Responses

/// An event as the API sends it: `event:` then `data:` with `type` first.
fn event(kind: &str, rest: &str) -> String {
    format!("event: {kind}\ndata: {{\"type\":\"{kind}\",{rest}}}\n\n")
}

fn response(id: &str, status: &str, usage: &str, extra: &str) -> String {
    format!(
        r#""response":{{"id":"{id}","object":"response","created_at":1741476542,"status":"{status}","error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4.1-2025-04-14","output":[],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{{"effort":null,"summary":null}},"store":true,"temperature":1.0,"text":{{"format":{{"type":"text"}}}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":{usage},"user":null,"metadata":{{}}{extra}}}"#
    )
}

const RESPONSES_USAGE: &str = r#"{"input_tokens":37,"input_tokens_details":{"cached_tokens":0},"output_tokens":11,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":48}"#;

fn text_delta(seq: u32, delta: &str) -> String {
    event(
        "response.output_text.delta",
        &format!(
            r#""sequence_number":{seq},"item_id":"msg_67c","output_index":0,"content_index":0,"delta":{},"logprobs":[]"#,
            js(delta)
        ),
    )
}

/// A message's text stream: created ... completed, the deltas of `pieces`.
fn responses_text(pieces: &[&str], end: &str) -> String {
    let mut s = event(
        "response.created",
        &format!(
            r#""sequence_number":0,{}"#,
            response("resp_67c", "in_progress", "null", "")
        ),
    );
    s += &event(
        "response.in_progress",
        &format!(
            r#""sequence_number":1,{}"#,
            response("resp_67c", "in_progress", "null", "")
        ),
    );
    s += &event(
        "response.output_item.added",
        r#""sequence_number":2,"output_index":0,"item":{"id":"msg_67c","type":"message","status":"in_progress","content":[],"role":"assistant"}"#,
    );
    s += &event(
        "response.content_part.added",
        r#""sequence_number":3,"item_id":"msg_67c","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}"#,
    );
    for (i, p) in pieces.iter().enumerate() {
        s += &text_delta(4 + i as u32, p);
    }
    let all: String = pieces.concat();
    s += &event(
        "response.output_text.done",
        &format!(
            r#""sequence_number":90,"item_id":"msg_67c","output_index":0,"content_index":0,"text":{},"logprobs":[]"#,
            js(&all)
        ),
    );
    s += &event(
        "response.output_item.done",
        &format!(
            r#""sequence_number":91,"output_index":0,"item":{{"id":"msg_67c","type":"message","status":"completed","content":[{{"type":"output_text","annotations":[],"logprobs":[],"text":{}}}],"role":"assistant"}}"#,
            js(&all)
        ),
    );
    s + end
}

fn completed() -> String {
    event(
        "response.completed",
        &format!(
            r#""sequence_number":92,{}"#,
            response("resp_67c", "completed", RESPONSES_USAGE, "")
        ),
    )
}

#[test]
fn responses_text_stream() {
    let input = responses_text(&["{\"ti", "tle\": \"Caf", "é 🚀\\n\"}"], &completed());
    let (items, end) = read_all_ways(Api::Responses, input.as_bytes());
    assert_eq!(
        items,
        [
            id("resp_67c"),
            WireItem::Item {
                key: 0,
                is_call: false
            },
            text("{\"title\": \"Café 🚀\\n\"}"),
            usage(RESPONSES_USAGE),
            finish("stop"),
            WireItem::Done
        ]
    );
    assert_eq!(end, Ok(false));
}

#[test]
fn responses_without_event_lines_and_with_type_later() {
    // Without `event:` lines the type comes from the data: first (read without parsing) or not.
    let input = responses_text(&["[1", ",2]"], &completed());
    let bare: String = input
        .lines()
        .filter(|l| !l.starts_with("event:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let later = bare.replace(
        r#"{"type":"response.output_text.delta","#,
        r#"{"sequence_number":5,"type":"response.output_text.delta","#,
    );
    let want = [
        id("resp_67c"),
        WireItem::Item {
            key: 0,
            is_call: false,
        },
        text("[1,2]"),
        usage(RESPONSES_USAGE),
        finish("stop"),
        WireItem::Done,
    ];
    assert_eq!(read_all_ways(Api::Responses, bare.as_bytes()).0, want);
    assert_eq!(read_all_ways(Api::Responses, later.as_bytes()).0, want);
    // An escaped type is parsed for.
    let escaped = "data: {\"type\":\"response.output_text\\u002edelta\",\"output_index\":0,\"delta\":\"x\"}\n\n";
    assert_eq!(
        read_all_ways(Api::Responses, escaped.as_bytes()).0,
        [text("x")]
    );
}

#[test]
fn responses_function_calls() {
    let item = |i: u32, status: &str, arguments: &str| {
        format!(
            r#"{{"id":"fc_{i}","type":"function_call","status":"{status}","arguments":{},"call_id":"call_{i}","name":"Item"}}"#,
            js(arguments)
        )
    };
    let mut input = event(
        "response.created",
        &format!(
            r#""sequence_number":0,{}"#,
            response("resp_f", "in_progress", "null", "")
        ),
    );
    input += &event(
        "response.output_item.added",
        &format!(
            r#""sequence_number":1,"output_index":0,"item":{}"#,
            item(0, "in_progress", "")
        ),
    );
    for piece in ["{\"a\"", ":1}"] {
        input += &event(
            "response.function_call_arguments.delta",
            &format!(
                r#""sequence_number":2,"item_id":"fc_0","output_index":0,"delta":{}"#,
                js(piece)
            ),
        );
    }
    input += &event(
        "response.function_call_arguments.done",
        r#""sequence_number":4,"item_id":"fc_0","output_index":0,"arguments":"{\"a\":1}""#,
    );
    input += &event(
        "response.output_item.done",
        &format!(
            r#""sequence_number":5,"output_index":0,"item":{}"#,
            item(0, "completed", "{\"a\":1}")
        ),
    );
    input += &event(
        "response.output_item.added",
        &format!(
            r#""sequence_number":6,"output_index":1,"item":{}"#,
            item(1, "in_progress", "")
        ),
    );
    input += &event(
        "response.function_call_arguments.delta",
        r#""sequence_number":7,"item_id":"fc_1","output_index":1,"delta":"{}""#,
    );
    input += &event(
        "response.completed",
        &format!(
            r#""sequence_number":8,{}"#,
            response("resp_f", "completed", RESPONSES_USAGE, "")
        ),
    );
    let (items, _) = read_all_ways(Api::Responses, input.as_bytes());
    assert_eq!(
        items,
        [
            id("resp_f"),
            WireItem::Item {
                key: 0,
                is_call: true
            },
            args(0, "{\"a\":1}"),
            WireItem::Item {
                key: 1,
                is_call: true
            },
            args(1, "{}"),
            usage(RESPONSES_USAGE),
            finish("stop"),
            WireItem::Done
        ]
    );
}

#[test]
fn responses_refusal() {
    let mut input = event(
        "response.created",
        &format!(
            r#""sequence_number":0,{}"#,
            response("resp_r", "in_progress", "null", "")
        ),
    );
    for piece in ["I'm sorry, ", "I can't help."] {
        input += &event(
            "response.refusal.delta",
            &format!(
                r#""sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":{}"#,
                js(piece)
            ),
        );
    }
    input += &event(
        "response.refusal.done",
        r#""sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"refusal":"I'm sorry, I can't help.""#,
    );
    let (items, end) = read_all_ways(Api::Responses, input.as_bytes());
    assert_eq!(
        items,
        [
            id("resp_r"),
            WireItem::Refusal("I'm sorry, I can't help.".into())
        ]
    );
    assert_eq!(end, Ok(false));
}

#[test]
fn responses_incomplete_reasons() {
    for (details, reason) in [
        (r#"{"reason":"max_output_tokens"}"#, "length"),
        (r#"{"reason":"content_filter"}"#, "content_filter"),
        (r#"{"reason":"something_new"}"#, "something_new"),
        (r#"{"reason":null}"#, "incomplete"),
        ("null", "incomplete"),
    ] {
        let body = response("resp_i", "incomplete", RESPONSES_USAGE, "").replace(
            r#""incomplete_details":null"#,
            &format!(r#""incomplete_details":{details}"#),
        );
        let input = responses_text(
            &["{\"a\":"],
            &event(
                "response.incomplete",
                &format!(r#""sequence_number":9,{body}"#),
            ),
        );
        let (items, _) = read_all_ways(Api::Responses, input.as_bytes());
        assert_eq!(
            items[items.len() - 3..],
            [usage(RESPONSES_USAGE), finish(reason), WireItem::Done],
            "{details}"
        );
        assert_eq!(items[0], id("resp_67c"));
    }
}

#[test]
fn responses_failed_and_error_events() {
    let err = r#"{"code":"server_error","message":"The model failed to generate a response."}"#;
    let failed = response("resp_x", "failed", "null", "")
        .replace(r#""error":null"#, &format!(r#""error":{err}"#));
    let input = responses_text(
        &["{"],
        &event(
            "response.failed",
            &format!(r#""sequence_number":9,{failed}"#),
        ),
    );
    let input = [input.as_bytes(), b"garbage\xFF"].concat();
    let (items, end) = read_all_ways(Api::Responses, &input);
    let error = WireItem::Error {
        message: "The model failed to generate a response.".into(),
        body: err.into(),
    };
    assert_eq!(items[items.len() - 3..], [text("{"), error, WireItem::Done]);
    assert_eq!(end, Ok(false));
    // No error object: the message says so, the body is null.
    let failed = response("resp_x", "failed", "null", "");
    let input = event(
        "response.failed",
        &format!(r#""sequence_number":9,{failed}"#),
    );
    let error = WireItem::Error {
        message: "the response failed".into(),
        body: "null".into(),
    };
    assert_eq!(
        read_all_ways(Api::Responses, input.as_bytes()).0,
        [error, WireItem::Done]
    );
    // The `error` event: its message, the whole event as the body; nothing after it is read.
    let data = r#"{"type":"error","code":"server_error","message":"The server had an error.","param":null,"sequence_number":5}"#;
    let input = responses_text(&["{"], &format!("event: error\ndata: {data}\n\n")) + &completed();
    let (items, _) = read_all_ways(Api::Responses, input.as_bytes());
    let error = WireItem::Error {
        message: "The server had an error.".into(),
        body: data.into(),
    };
    assert_eq!(items[items.len() - 2..], [text("{"), error]);
    let input = "event: error\ndata: {\"type\":\"error\",\"code\":null,\"message\":null,\"param\":null}\n\n";
    let (items, _) = read_all_ways(Api::Responses, input.as_bytes());
    assert!(
        matches!(&items[..], [WireItem::Error { message, .. }] if message == "an error occurred during streaming")
    );
}

#[test]
fn responses_skip_unneeded_events_unparsed() {
    // Event types not needed are skipped by name, their JSON unread (malformed here).
    let input = "event: response.in_progress\ndata: {oops\n\nevent: response.reasoning_summary_text.delta\ndata: {\"delta\":5}\n\n".to_owned()
        + &text_delta(3, "ok");
    assert_eq!(
        read_all_ways(Api::Responses, input.as_bytes()),
        (vec![text("ok")], Ok(false))
    );
}

#[test]
fn responses_bad_events_name_their_type_and_byte() {
    let good = text_delta(3, "ok");
    let input = good.clone() + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":7}\n\n";
    let at = input.len() - 4;
    let (items, end) = read_all_ways(Api::Responses, input.as_bytes());
    assert_eq!(items, [text("ok")]);
    assert_eq!(
        end,
        Err(bad(
            "response.output_text.delta",
            at,
            "invalid type: integer `7`, expected a string"
        ))
    );
    let input =
        good.clone() + "event: response.function_call_arguments.delta\ndata: {\"delta\":\"x\"}\n\n";
    let at = good.len() + "event: response.function_call_arguments.delta\ndata: ".len();
    assert_eq!(
        read_all_ways(Api::Responses, input.as_bytes()).1,
        Err(bad(
            "response.function_call_arguments.delta",
            at,
            "missing field `output_index`"
        ))
    );
    let input = good.clone() + "data: {\"sequence_number\":1,\n\n";
    assert_eq!(
        read_all_ways(Api::Responses, input.as_bytes()).1,
        Err(bad(
            "Responses",
            input.len() - 2,
            "EOF while parsing a value"
        ))
    );
    let input = good + "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n";
    assert!(matches!(
        read_all_ways(Api::Responses, input.as_bytes()).1,
        Err(WireError::BadEvent { event, detail, .. }) if event == "response.completed" && detail == "missing field `response`"
    ));
}

#[test]
fn responses_a_top_level_error_is_an_api_error() {
    let input = "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}\n\n";
    let (items, _) = read_all_ways(Api::Responses, input.as_bytes());
    let error = WireItem::Error {
        message: "Rate limit reached".into(),
        body: "{\"message\":\"Rate limit reached\",\"type\":\"requests\"}".into(),
    };
    assert_eq!(items, [error]);
}
