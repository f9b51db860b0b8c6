//! Unit tests of the core: every input is also fed cut at every byte.

use crate::{parse, ErrorKind, Mode, Options, Parser, TreeBuilder, Value};

fn strict() -> Options {
    Options::default()
}

fn lenient() -> Options {
    Options {
        mode: Mode::Lenient,
        ..Options::default()
    }
}

/// Parses `input` fed whole, byte by byte, and cut in two at every byte; all must agree.
fn parse_all_ways(input: &str, options: Options) -> Result<Value, ErrorKind> {
    let whole = parse(input.as_bytes(), options).map_err(|e| e.kind);
    let bytes = input.as_bytes();
    let mut ways: Vec<Vec<&[u8]>> = vec![bytes.chunks(1).collect()];
    for cut in 0..=bytes.len() {
        ways.push(vec![&bytes[..cut], &bytes[cut..]]);
    }
    for chunks in ways {
        let mut p = Parser::new(options);
        let mut t = TreeBuilder::new();
        let mut r = Ok(());
        for c in &chunks {
            r = p.feed(c, &mut t);
            if r.is_err() {
                break;
            }
        }
        let r = r
            .and_then(|_| p.finish(&mut t))
            .map(|_| t.into_value().unwrap())
            .map_err(|e| e.kind);
        assert_eq!(r, whole, "{input:?} cut as {chunks:?}");
    }
    whole
}

fn obj(members: &[(&str, Value)]) -> Value {
    Value::Object(
        members
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

#[test]
fn scalars() {
    assert_eq!(parse_all_ways("12", strict()), Ok(Value::Int(12)));
    assert_eq!(
        parse_all_ways(" -0.5e+2 ", strict()),
        Ok(Value::Float(-50.0))
    );
    assert_eq!(parse_all_ways("true", strict()), Ok(Value::Bool(true)));
    assert_eq!(parse_all_ways("null", strict()), Ok(Value::Null));
    assert_eq!(
        parse_all_ways("123456789012345678901234567890", strict()),
        Ok(Value::BigInt("123456789012345678901234567890".into()))
    );
}

#[test]
fn strings_and_escapes() {
    assert_eq!(
        parse_all_ways(r#""a\"b\\c\n\u00e9\ud83d\ude00é🚀""#, strict()),
        Ok(Value::String("a\"b\\c\né😀é🚀".into()))
    );
    let lone = parse(br#""\ud83d""#, strict()).unwrap();
    assert_eq!(lone, Value::String("\u{FFFD}".into()));
}

#[test]
fn containers() {
    let v = parse_all_ways(r#"{"a": [1, {"b": "he"}], "a": 2, "c": {}}"#, strict()).unwrap();
    assert_eq!(v, obj(&[("a", Value::Int(2)), ("c", obj(&[]))]));
}

#[test]
fn strict_rejects() {
    for bad in [
        "[1,]",
        r#"{"a":1,}"#,
        "NaN",
        "[1] x",
        "01",
        "1.",
        "-",
        "[1 2]",
        "\"\t\"",
        "tru",
        "{'a':1}",
        "[",
        "",
    ] {
        assert!(parse_all_ways(bad, strict()).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn lenient_accepts_llm_output() {
    let text = "Sure! Here it is:\n```json\n{\"a\": [1, 2,], \"b\": \"x\",}\n```\nHope that helps [really].";
    assert_eq!(
        parse_all_ways(text, lenient()),
        Ok(obj(&[
            ("a", Value::Array(vec![Value::Int(1), Value::Int(2)])),
            ("b", Value::String("x".into()))
        ]))
    );
}

#[test]
fn errors_carry_positions() {
    let mut p = Parser::default();
    let mut t = TreeBuilder::new();
    p.feed(b"{\n  \"a\": ", &mut t).unwrap();
    let e = p.feed(b"x}", &mut t).unwrap_err();
    assert_eq!(
        (
            e.position.byte,
            e.position.char,
            e.position.line,
            e.position.column
        ),
        (9, 9, 2, 8)
    );
    assert!(e.excerpt.contains("\"a\": x"), "{}", e.excerpt);
    // The parser stays failed, with the same error.
    assert_eq!(p.feed(b"1", &mut t).unwrap_err(), e);
}

#[test]
fn invalid_utf8_has_byte_offset() {
    let e = parse(b"[\"\xc3\xa9\xff\"]", strict()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidUtf8);
    assert_eq!((e.position.byte, e.position.char), (4, 3));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = "[".repeat(100_000);
    let e = parse(deep.as_bytes(), strict()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooDeep(1024));
    let ok = format!("{}{}", "[".repeat(1024), "]".repeat(1024));
    assert!(parse(ok.as_bytes(), strict()).is_ok());
}

#[test]
fn open_string_holds_back_partial_escapes() {
    let mut p = Parser::default();
    let mut t = TreeBuilder::new();
    let mut seen = Vec::new();
    for b in br#"{"a": "x\u00e9\ud83d\ude00y"}"#.chunks(1) {
        p.feed(b, &mut t).unwrap();
        if let Some(s) = p.open_string() {
            seen.push(s.as_str().unwrap().to_string());
        }
    }
    assert!(
        seen.iter()
            .all(|s| ["", "x", "xé", "xé😀", "xé😀y"].contains(&s.as_str())),
        "{seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[1].starts_with(&w[0])));
}

#[test]
fn partial_tree_grows() {
    let mut p = Parser::default();
    let mut t = TreeBuilder::new();
    p.feed(br#"{"a": [1, {"b": "he"#, &mut t).unwrap();
    let v = t.partial(p.open_string()).unwrap();
    assert_eq!(
        v,
        obj(&[(
            "a",
            Value::Array(vec![
                Value::Int(1),
                obj(&[("b", Value::String("he".into()))])
            ])
        )])
    );
}
