//! Tests of the JSON-RPC layer: parsing, limits, classification of
//! failures and the wire form of every message.

use super::*;

fn parse(s: &str) -> Result<Message, ParseFailure> {
    Message::parse(s.as_bytes(), &Limits::default())
}

#[test]
fn classifies_messages() {
    assert!(matches!(
        parse(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
        Ok(Message::Request(Request {
            id: RequestId::Number(1),
            ..
        }))
    ));
    assert!(matches!(
        parse(r#"{"jsonrpc":"2.0","id":"a","method":"x","params":{}}"#),
        Ok(Message::Request(Request {
            id: RequestId::String(_),
            ..
        }))
    ));
    assert!(matches!(
        parse(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
        Ok(Message::Notification(_))
    ));
    assert!(matches!(
        parse(r#"{"jsonrpc":"2.0","id":7,"result":{}}"#),
        Ok(Message::Response(Response { outcome: Ok(_), .. }))
    ));
    assert!(matches!(
        parse(r#"{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"x"}}"#),
        Ok(Message::Response(Response {
            outcome: Err(_),
            ..
        }))
    ));
}

#[test]
fn integer_ids_span_i64_and_u64() {
    for (raw, want) in [
        ("18446744073709551615", RequestId::Number(u64::MAX.into())),
        ("-9223372036854775808", RequestId::from(i64::MIN)),
        ("0", RequestId::from(0i64)),
    ] {
        let line = format!(r#"{{"jsonrpc":"2.0","id":{raw},"method":"ping"}}"#);
        let Ok(Message::Request(req)) = parse(&line) else {
            panic!("id {raw} refused");
        };
        assert_eq!(req.id, want);
        let raw_value: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(
            serde_json::from_value::<RequestId>(raw_value).unwrap(),
            want
        );
        let back = Response::ok(req.id, Value::Null).to_json();
        assert!(back.contains(&format!(r#""id":{raw}"#)), "{back}");
    }
    for bad in ["18446744073709551616", "1.5", "true", "[1]"] {
        let line = format!(r#"{{"jsonrpc":"2.0","id":{bad},"method":"ping"}}"#);
        let err = parse(&line).unwrap_err();
        assert_eq!(err.error.code, code::INVALID_REQUEST, "{bad}");
    }
}

#[test]
fn error_codes_for_bad_input() {
    let cases: &[(&str, i64, Option<RequestId>)] = &[
        ("{not json", code::PARSE_ERROR, None),
        ("", code::PARSE_ERROR, None),
        ("[]", code::INVALID_REQUEST, None),
        ("42", code::INVALID_REQUEST, None),
        (
            r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#,
            code::INVALID_REQUEST,
            None,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#,
            code::INVALID_REQUEST,
            None,
        ),
        (
            r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#,
            code::INVALID_REQUEST,
            None,
        ),
        (
            r#"{"jsonrpc":"1.0","id":3,"method":"x"}"#,
            code::INVALID_REQUEST,
            Some(3.into()),
        ),
        (
            r#"{"id":3,"method":"x"}"#,
            code::INVALID_REQUEST,
            Some(3.into()),
        ),
        (
            r#"{"jsonrpc":"2.0","id":3,"method":5}"#,
            code::INVALID_REQUEST,
            Some(3.into()),
        ),
        (
            r#"{"jsonrpc":"2.0","id":3,"method":"x","params":[1]}"#,
            code::INVALID_PARAMS,
            Some(3.into()),
        ),
        (
            r#"{"jsonrpc":"2.0","id":3}"#,
            code::INVALID_REQUEST,
            Some(3.into()),
        ),
    ];
    for (input, code, id) in cases {
        let err = parse(input).expect_err(input);
        assert_eq!(err.error.code, *code, "{input}");
        assert_eq!(&err.id, id, "{input}");
    }
}

#[test]
fn invalid_utf8_is_a_parse_error() {
    let err = Message::parse(
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}",
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.error.code, code::PARSE_ERROR);
}

#[test]
fn limits_are_enforced() {
    let limits = Limits {
        max_message_bytes: 100,
        max_depth: 4,
    };
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"{}"}}"#,
        "x".repeat(200)
    );
    let err = Message::parse(big.as_bytes(), &limits).unwrap_err();
    assert_eq!(err.error.code, code::INVALID_REQUEST);
    assert!(err.error.message.contains("limit"));
    let deep = format!("{}{}", "[".repeat(10), "]".repeat(10));
    let err = Message::parse(deep.as_bytes(), &limits).unwrap_err();
    assert!(err.error.message.contains("nests"));
    // Brackets inside strings do not count.
    let s = r#"{"jsonrpc":"2.0","id":1,"method":"[[[[[[[[[[\"[["}"#;
    assert!(Message::parse(s.as_bytes(), &limits).is_ok());
}

#[test]
fn deep_nesting_default_does_not_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(Message::parse(deep.as_bytes(), &Limits::default()).is_err());
}

#[test]
fn round_trips() {
    for s in [
        r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{}}"#,
        r#"{"jsonrpc":"2.0","method":"n","params":{"a":1}}"#,
        r#"{"jsonrpc":"2.0","id":"x","result":{"a":[1,2]}}"#,
        r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"bad"}}"#,
    ] {
        let m = parse(s)
            .or_else(|f| Ok::<_, ()>(Message::Response(f.into_response())))
            .unwrap();
        let v: Value = serde_json::from_str(s).unwrap();
        assert_eq!(m.to_value(), v, "{s}");
    }
}
