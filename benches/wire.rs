//! Criterion bench: reading the OpenAI streaming wire, the bodies `unspool.testing.ReplayServer`
//! sends, fed 16 KB at a time (a network read).
//!
//! `cargo bench --bench wire`. The document is ~1.3 MB of JSON text (sentences with non-ASCII words,
//! CJK, emoji, `\"`, `\n`), cut into 1–6 character deltas as the server cuts it, one event each, in
//! the Chat and the Responses wire formats. Benches, each over the Chat body unless named:
//! - `wire_reader_{chat,responses}`: `WireReader::feed` per 16 KB into items (merged per read);
//! - `sse_framing_only`: the event framing alone (`SseDecoder`), the floor under any reader;
//! - `own_parser_no_sink`: framing, then each event's JSON through the crate's own resumable parser
//!   with a sink that keeps nothing: the least any reader built on it would cost;
//! - `serde_json_value`: framing, then each event's JSON into a `serde_json::Value` tree.
//!
//! After criterion, `interleaved` times the reader and the own-parser floor in turns and prints their
//! ratio (see benches/parse.rs for why in turns).

use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use unspool::wire::sse::{InvalidUtf8, SseDecoder};
use unspool::{Api, JsonStr, Options, Parser, Sink, WireItem, WireReader};

const READ: usize = 16 * 1024;

/// SplitMix64, for a document that is the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

const WORDS: &[&str] = &[
    "fast",
    "light",
    "sturdy",
    "elegant",
    "compact",
    "durable",
    "quiet",
    "smart",
    "warm",
    "café",
    "naïve",
    "über",
    "déjà-vu",
    "jalapeño",
    "smörgåsbord",
    "日本",
    "東京",
    "카페",
    "привет",
    "γειά",
    "🚀",
    "✨",
    "📦",
    "\"quoted\"",
    "line\nbreak",
    "C:\\path",
];

/// A JSON document of about `bytes` bytes: a list of objects with sentences, numbers and booleans.
fn document(bytes: usize) -> String {
    let mut rng = Rng(42);
    let mut out = String::from("{\"store\":\"Ünspool Outfitters 🧵\",\"products\":[");
    let mut i = 0;
    while out.len() < bytes {
        if i > 0 {
            out.push(',');
        }
        let words: Vec<&str> = (0..40)
            .map(|_| WORDS[rng.next() as usize % WORDS.len()])
            .collect();
        let text = serde_json::to_string(&words.join(" ")).unwrap();
        let price = (rng.next() % 200_000) as f64 / 100.0;
        let stock = rng.next().is_multiple_of(2);
        out += &format!(
            "{{\"sku\":\"SKU-{i:06}\",\"description\":{text},\"price\":{price},\"in_stock\":{stock}}}"
        );
        i += 1;
    }
    out.push_str("]}");
    out
}

/// `text` in deltas of 1–6 characters.
fn deltas(text: &str) -> Vec<&str> {
    let mut rng = Rng(7);
    let (mut out, mut rest) = (Vec::new(), text);
    while !rest.is_empty() {
        let n = 1 + rng.next() as usize % 6;
        let end = rest.char_indices().nth(n).map_or(rest.len(), |(i, _)| i);
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// The Chat body ReplayServer sends for `doc` (with usage).
fn chat_body(doc: &str) -> Vec<u8> {
    let head = r#"{"id":"chatcmpl-6f1d0c2b9a8e7d6c5b4a3921","object":"chat.completion.chunk","created":1765000000,"model":"m","choices":"#;
    let chunk = |delta: &str, finish: &str| {
        format!("data: {head}[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}],\"usage\":null}}\n\n")
    };
    let mut out = chunk(r#"{"role":"assistant","content":""}"#, "null");
    for d in deltas(doc) {
        out += &chunk(&format!("{{\"content\":{}}}", js(d)), "null");
    }
    out += &chunk("{}", "\"stop\"");
    out += &format!("data: {head}[],\"usage\":{{\"prompt_tokens\":9,\"completion_tokens\":9,\"total_tokens\":18}}}}\n\n");
    out += "data: [DONE]\n\n";
    out.into_bytes()
}

/// The Responses body ReplayServer sends for `doc` (the `.done` events and the final response
/// repeat the whole text, as the API's do).
fn responses_body(doc: &str) -> Vec<u8> {
    let mut seq = 0;
    let mut out = String::new();
    let mut event = |kind: &str, rest: &str| {
        out += &format!(
            "event: {kind}\ndata: {{\"type\":\"{kind}\",\"sequence_number\":{seq},{rest}}}\n\n"
        );
        seq += 1;
    };
    let response = |status: &str, text: &str, usage: &str| {
        let output = match text {
            "" => "[]".to_owned(),
            t => format!("[{{\"id\":\"msg_1\",\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{{\"type\":\"output_text\",\"text\":{},\"annotations\":[],\"logprobs\":[]}}]}}]", js(t)),
        };
        format!("\"response\":{{\"id\":\"resp_6f1d0c2b9a8e7d6c5b4a3921\",\"object\":\"response\",\"created_at\":1765000000,\"status\":\"{status}\",\"error\":null,\"incomplete_details\":null,\"model\":\"m\",\"output\":{output},\"parallel_tool_calls\":true,\"text\":{{\"format\":{{\"type\":\"text\"}}}},\"tool_choice\":\"auto\",\"tools\":[],\"usage\":{usage}}}")
    };
    event("response.created", &response("in_progress", "", "null"));
    event("response.in_progress", &response("in_progress", "", "null"));
    event(
        "response.output_item.added",
        r#""output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}"#,
    );
    let at = r#""item_id":"msg_1","output_index":0,"content_index":0"#;
    event(
        "response.content_part.added",
        &format!(
            r#"{at},"part":{{"type":"output_text","text":"","annotations":[],"logprobs":[]}}"#
        ),
    );
    for d in deltas(doc) {
        event(
            "response.output_text.delta",
            &format!(r#"{at},"delta":{},"logprobs":[]"#, js(d)),
        );
    }
    event(
        "response.output_text.done",
        &format!(r#"{at},"text":{},"logprobs":[]"#, js(doc)),
    );
    event(
        "response.completed",
        &response(
            "completed",
            doc,
            r#"{"input_tokens":9,"output_tokens":9,"total_tokens":18}"#,
        ),
    );
    out.into_bytes()
}

/// The text a reader read from `body`, checked against the document.
fn read(api: Api, body: &[u8]) -> usize {
    let mut r = WireReader::new(api);
    let mut items = Vec::new();
    let mut n = 0;
    for chunk in body.chunks(READ) {
        items.clear();
        r.feed(chunk, &mut items).expect("a good stream");
        n += items.len();
    }
    r.finish().expect("a whole stream");
    n
}

fn text_of(api: Api, body: &[u8]) -> String {
    let mut r = WireReader::new(api);
    let mut items = Vec::new();
    for chunk in body.chunks(READ) {
        r.feed(chunk, &mut items).unwrap();
    }
    items
        .into_iter()
        .filter_map(|i| match i {
            WireItem::Text(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// Frames `body` and hands each event's data to `f`; returns how many events.
fn framed(body: &[u8], mut f: impl FnMut(&str)) -> usize {
    let mut d = SseDecoder::new();
    let mut n = 0;
    for chunk in body.chunks(READ) {
        d.feed(chunk, |e| {
            n += 1;
            f(e.data);
            Ok::<(), InvalidUtf8>(())
        })
        .unwrap();
    }
    n
}

/// Keeps nothing.
struct NoSink;

impl Sink for NoSink {
    fn begin_object(&mut self) {}
    fn begin_array(&mut self) {}
    fn end_container(&mut self) {}
    fn key(&mut self, key: JsonStr<'_>) {
        black_box(key.wtf8().len());
    }
    fn begin_string(&mut self) {}
    fn end_string(&mut self, text: JsonStr<'_>) {
        black_box(text.wtf8().len());
    }
    fn number(&mut self, raw: &str, _: bool) {
        black_box(raw);
    }
    fn boolean(&mut self, _: bool) {}
    fn null(&mut self) {}
    fn discard(&mut self) {}
}

fn own_parser(data: &str) {
    if data.starts_with('[') {
        return; // [DONE]
    }
    let mut p = Parser::new(Options::default());
    p.feed(data.as_bytes(), &mut NoSink).unwrap();
    p.finish(&mut NoSink).unwrap();
}

fn bench(c: &mut Criterion) {
    let doc = document(1_300_000);
    let chat = chat_body(&doc);
    let responses = responses_body(&doc);
    assert_eq!(text_of(Api::Chat, &chat), doc);
    assert_eq!(text_of(Api::Responses, &responses), doc);
    let events = framed(&chat, |_| {});
    println!(
        "document {} bytes; chat body {} bytes, {events} events ({} bytes each); responses body {} bytes",
        doc.len(),
        chat.len(),
        chat.len() / events,
        responses.len()
    );

    let mut g = c.benchmark_group("wire");
    g.sample_size(30)
        .measurement_time(std::time::Duration::from_secs(6));
    g.throughput(Throughput::Bytes(chat.len() as u64));
    g.bench_function("wire_reader_chat", |b| {
        b.iter(|| read(Api::Chat, black_box(&chat)))
    });
    g.bench_function("sse_framing_only", |b| {
        b.iter(|| {
            framed(black_box(&chat), |d| {
                black_box(d);
            })
        })
    });
    g.bench_function("own_parser_no_sink", |b| {
        b.iter(|| framed(black_box(&chat), own_parser))
    });
    g.bench_function("serde_json_value", |b| {
        b.iter(|| {
            framed(black_box(&chat), |d| {
                if !d.starts_with('[') {
                    black_box(serde_json::from_str::<serde_json::Value>(d).unwrap());
                }
            })
        })
    });
    g.throughput(Throughput::Bytes(responses.len() as u64));
    g.bench_function("wire_reader_responses", |b| {
        b.iter(|| read(Api::Responses, black_box(&responses)))
    });
    g.finish();
}

/// The reader against the own-parser floor in turns, 100 pairs: the median ratio of their times.
fn interleaved() {
    let chat = chat_body(&document(1_300_000));
    let time = |f: &dyn Fn()| {
        let start = std::time::Instant::now();
        f();
        start.elapsed().as_secs_f64()
    };
    let reader = || {
        black_box(read(Api::Chat, black_box(&chat)));
    };
    let own = || {
        black_box(framed(black_box(&chat), own_parser));
    };
    let (mut fastest, mut ratios) = ((f64::MAX, f64::MAX), Vec::new());
    for round in 0..100 {
        let (a, b) = match round % 2 {
            0 => (time(&reader), time(&own)),
            _ => {
                let b = time(&own);
                (time(&reader), b)
            }
        };
        fastest = (fastest.0.min(a), fastest.1.min(b));
        ratios.push(b / a);
    }
    ratios.sort_by(f64::total_cmp);
    let mb = |t: f64| chat.len() as f64 / t / 1e6;
    println!(
        "in turns, 100 pairs: WireReader (Chat) runs {:.2}x as fast as framing + the own parser with a \
         sink that keeps nothing (median; quartiles {:.2}–{:.2}); fastest: {:.0} vs {:.0} MB/s",
        ratios[ratios.len() / 2],
        ratios[ratios.len() / 4],
        ratios[ratios.len() * 3 / 4],
        mb(fastest.0),
        mb(fastest.1),
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    interleaved();
}
