//! JSON → msgpack, byte for byte as Python's `msgpack.packb(json.loads(text))`.
//!
//! Hyperliquid hashes `msgpack.packb(action)`, and an action reaches us as the JSON `orjson.dumps`
//! made of it, so the encoder reads JSON with the core's strict scanner ([`crate::book::json`])
//! and writes msgpack straight from it, with no tree in between:
//!
//! - objects → maps with their keys in the order they appear (Python dicts keep insertion
//!   order); a key that appears twice is refused (`json.loads` would silently keep the last
//!   value, and a signed action must not be ambiguous);
//! - strings → `str` (fixstr, str8, str16, str32: `use_bin_type` is msgpack's default);
//! - integers (no `.`, no exponent) → the smallest of positive fixint, uint8–uint64, negative
//!   fixint, int8–int64, as msgpack's packer picks it; `-0` is the integer 0; an integer outside
//!   `-2**63 ..= 2**64-1` is refused (msgpack raises `OverflowError` for it);
//! - other numbers → float64 (`0xcb`, Python's default), correctly rounded as `float()` does;
//! - `true`, `false`, `null` → `0xc3`, `0xc2`, `0xc0`; arrays → fixarray, array16, array32.
//!
//! Containers are written with a one-byte header and widened in place when they turn out to
//! hold more than 15 entries, so the common case copies nothing. Nesting deeper than
//! [`MAX_DEPTH`] is refused (Python's `json.loads` gives up near 1,000 levels).

use std::borrow::Cow;

use crate::book::json::{JResult, Scanner};
use crate::error::CoreResult;

/// Containers nested deeper than this are refused; it bounds the encoder's recursion.
pub const MAX_DEPTH: u32 = 512;

/// Encodes the JSON document `json` as msgpack.
///
/// # Errors
/// [`crate::CoreError::Parse`] (with the byte position) for input that is not strict JSON, a
/// duplicate key, an integer outside msgpack's range, or nesting deeper than [`MAX_DEPTH`].
pub fn msgpack_from_json(json: &[u8]) -> CoreResult<Vec<u8>> {
    let mut out = Vec::with_capacity(json.len());
    encode_json_into(json, &mut out)?;
    Ok(out)
}

/// Appends the msgpack encoding of the JSON document `json` to `out`. On error `out` may hold
/// part of the encoding; its earlier content is untouched.
///
/// # Errors
/// As [`msgpack_from_json`].
pub fn encode_json_into(json: &[u8], out: &mut Vec<u8>) -> CoreResult<()> {
    let mut s = Scanner::new(json);
    let mut keys = Vec::new();
    value(&mut s, out, &mut keys, 0)?;
    s.end()?;
    Ok(())
}

/// Encodes one value at the cursor. `keys` is a stack of the keys of the objects being read
/// (one buffer for the whole document, each object using its own top part).
fn value<'a>(
    s: &mut Scanner<'a>,
    out: &mut Vec<u8>,
    keys: &mut Vec<Cow<'a, [u8]>>,
    depth: u32,
) -> JResult<()> {
    match s.peek() {
        Some(b'{') => {
            let start = s.pos;
            if depth >= MAX_DEPTH {
                return Scanner::err(start, "", "nesting too deep");
            }
            s.pos += 1;
            let header = out.len();
            out.push(0x80);
            let base = keys.len();
            let mut first = true;
            while let Some(key) = s.next_key(&mut first)? {
                write_str(out, &key);
                keys.push(key);
                value(s, out, keys, depth + 1)?;
            }
            let dup = has_duplicate(&keys[base..]);
            let n = keys.len() - base;
            keys.truncate(base);
            if dup {
                return Scanner::err(start, "", "duplicate key in object");
            }
            finish(out, header, n, 0x80, 0xde, 0xdf).or_else(|m| Scanner::err(start, "", m))
        }
        Some(b'[') => {
            let start = s.pos;
            if depth >= MAX_DEPTH {
                return Scanner::err(start, "", "nesting too deep");
            }
            s.pos += 1;
            let header = out.len();
            out.push(0x90);
            let mut n = 0usize;
            let mut first = true;
            while s.next_elem(&mut first)? {
                value(s, out, keys, depth + 1)?;
                n += 1;
            }
            finish(out, header, n, 0x90, 0xdc, 0xdd).or_else(|m| Scanner::err(start, "", m))
        }
        Some(b'"') => {
            let text = s.string()?;
            write_str(out, &text);
            Ok(())
        }
        Some(b'-' | b'0'..=b'9') => {
            let start = s.pos;
            let tok = s.number()?;
            if tok.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
                write_float(out, tok);
                Ok(())
            } else {
                write_int(out, tok).or_else(|m| Scanner::err(start, "", m))
            }
        }
        Some(b't') => s.literal(b"true").map(|()| out.push(0xc3)),
        Some(b'f') => s.literal(b"false").map(|()| out.push(0xc2)),
        Some(b'n') => s.literal(b"null").map(|()| out.push(0xc0)),
        _ => s.fail("expected a value"),
    }
}

/// True when two of `keys` are equal (decoded, so `"a"` and `"\u0061"` are the same key).
fn has_duplicate(keys: &[Cow<'_, [u8]>]) -> bool {
    if keys.len() <= 16 {
        return keys
            .iter()
            .enumerate()
            .any(|(i, k)| keys[..i].iter().any(|p| p == k));
    }
    let mut sorted: Vec<&[u8]> = keys.iter().map(AsRef::as_ref).collect();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}

/// Writes the final header of a container of `n` entries whose one-byte placeholder is at
/// `at`: the fix form when `n` ≤ 15, else the 16- or 32-bit form, shifting its content.
fn finish(
    out: &mut Vec<u8>,
    at: usize,
    n: usize,
    fix: u8,
    c16: u8,
    c32: u8,
) -> Result<(), &'static str> {
    if n <= 15 {
        out[at] = fix | n as u8;
    } else if let Ok(n) = u16::try_from(n) {
        out[at] = c16;
        let tail = at + 1;
        out.splice(tail..tail, n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        out[at] = c32;
        let tail = at + 1;
        out.splice(tail..tail, n.to_be_bytes());
    } else {
        return Err("container too large for msgpack");
    }
    Ok(())
}

/// A msgpack `str` (the bytes are UTF-8: the scanner validated them).
fn write_str(out: &mut Vec<u8>, b: &[u8]) {
    let n = b.len();
    if n <= 31 {
        out.push(0xa0 | n as u8);
    } else if let Ok(n) = u8::try_from(n) {
        out.extend_from_slice(&[0xd9, n]);
    } else if let Ok(n) = u16::try_from(n) {
        out.push(0xda);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        // A JSON document is a Python `bytes`, so a string in it is far below 4 GiB.
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(b);
}

/// A float64 from a validated JSON number token (finite: the scanner refuses overflow).
fn write_float(out: &mut Vec<u8>, tok: &[u8]) {
    // The token is ASCII and valid Rust float syntax; parsing is correctly rounded, as Python's.
    let v: f64 = std::str::from_utf8(tok)
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(f64::NAN);
    debug_assert!(v.is_finite(), "scanner let through a non-finite number");
    out.push(0xcb);
    out.extend_from_slice(&v.to_bits().to_be_bytes());
}

/// The smallest msgpack integer holding the validated JSON integer token `tok`.
fn write_int(out: &mut Vec<u8>, tok: &[u8]) -> Result<(), &'static str> {
    const RANGE: &str = "integer out of msgpack range (-2**63 to 2**64-1)";
    let (neg, digits) = match tok.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, tok),
    };
    let mut mag: u64 = 0;
    for &d in digits {
        mag = mag
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(d - b'0')))
            .ok_or(RANGE)?;
    }
    if !neg || mag == 0 {
        write_uint(out, mag);
        return Ok(());
    }
    let v = 0i64.checked_sub_unsigned(mag).ok_or(RANGE)?;
    if v >= -32 {
        out.push(v as u8);
    } else if let Ok(v) = i8::try_from(v) {
        out.extend_from_slice(&[0xd0, v as u8]);
    } else if let Ok(v) = i16::try_from(v) {
        out.push(0xd1);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = i32::try_from(v) {
        out.push(0xd2);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
    Ok(())
}

fn write_uint(out: &mut Vec<u8>, v: u64) {
    if v < 128 {
        out.push(v as u8);
    } else if let Ok(v) = u8::try_from(v) {
        out.extend_from_slice(&[0xcc, v]);
    } else if let Ok(v) = u16::try_from(v) {
        out.push(0xcd);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = u32::try_from(v) {
        out.push(0xce);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CoreError;
    use proptest::prelude::*;

    fn enc(s: &str) -> Vec<u8> {
        msgpack_from_json(s.as_bytes()).unwrap()
    }

    fn hex(b: &[u8]) -> String {
        crate::signing::eip712::to_hex(b)[2..].to_string()
    }

    #[test]
    fn scalars_take_the_smallest_encoding() {
        let cases: &[(&str, &str)] = &[
            ("0", "00"),
            ("-0", "00"),
            ("127", "7f"),
            ("128", "cc80"),
            ("255", "ccff"),
            ("256", "cd0100"),
            ("65535", "cdffff"),
            ("65536", "ce00010000"),
            ("4294967295", "ceffffffff"),
            ("4294967296", "cf0000000100000000"),
            ("18446744073709551615", "cfffffffffffffffff"),
            ("-1", "ff"),
            ("-32", "e0"),
            ("-33", "d0df"),
            ("-128", "d080"),
            ("-129", "d1ff7f"),
            ("-32768", "d18000"),
            ("-32769", "d2ffff7fff"),
            ("-2147483648", "d280000000"),
            ("-2147483649", "d3ffffffff7fffffff"),
            ("-9223372036854775808", "d38000000000000000"),
            ("1.5", "cb3ff8000000000000"),
            ("-0.0", "cb8000000000000000"),
            ("1e2", "cb4059000000000000"),
            ("true", "c3"),
            ("false", "c2"),
            ("null", "c0"),
            ("\"\"", "a0"),
            ("\"a\\u00e9\"", "a361c3a9"),
            ("[]", "90"),
            ("{}", "80"),
        ];
        for (json, want) in cases {
            assert_eq!(hex(&enc(json)), *want, "{json}");
        }
    }

    #[test]
    fn string_and_container_widths() {
        for (n, head) in [
            (31, "bf".to_string()),
            (32, "d920".to_string()),
            (255, "d9ff".to_string()),
            (256, "da0100".to_string()),
            (65535, "daffff".to_string()),
            (65536, "db00010000".to_string()),
        ] {
            let s = format!("\"{}\"", "x".repeat(n));
            let out = enc(&s);
            assert!(hex(&out).starts_with(&head), "str of {n}");
            assert_eq!(out.len(), head.len() / 2 + n);
        }
        for (n, head) in [
            (15, "9f"),
            (16, "dc0010"),
            (65535, "dcffff"),
            (65536, "dd00010000"),
        ] {
            let s = format!("[{}]", vec!["1"; n].join(","));
            let out = enc(&s);
            assert!(hex(&out).starts_with(head), "array of {n}");
            assert_eq!(out.len(), head.len() / 2 + n);
        }
        for (n, head) in [
            (15, "8f"),
            (16, "de0010"),
            (65535, "deffff"),
            (65536, "df00010000"),
        ] {
            let body: Vec<String> = (0..n).map(|i| format!("\"{i}\":0")).collect();
            let out = enc(&format!("{{{}}}", body.join(",")));
            assert!(hex(&out).starts_with(head), "map of {n}");
        }
    }

    #[test]
    fn keys_keep_their_order_and_nested_headers_widen_in_place() {
        let inner: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        let json = format!(r#"{{"b":[{}],"a":{{"z":1,"y":2}}}}"#, inner.join(","));
        let mut want = vec![0x82, 0xa1, b'b', 0xdc, 0x00, 20];
        want.extend(0..20u8);
        want.extend_from_slice(&[0xa1, b'a', 0x82, 0xa1, b'z', 1, 0xa1, b'y', 2]);
        assert_eq!(enc(&json), want);
    }

    #[test]
    fn refuses_what_python_would_not_pack_or_json_would_not_read() {
        for bad in [
            "18446744073709551616",
            "-9223372036854775809",
            r#"{"a":1,"a":2}"#,
            r#"{"a":1,"\u0061":2}"#,
            "[1,]",
            "{\"a\" 1}",
            "NaN",
            "1e400",
            "\"\\ud800\"",
            "[1] x",
            "",
            "01",
        ] {
            let err = msgpack_from_json(bad.as_bytes()).unwrap_err();
            assert!(matches!(err, CoreError::Parse { .. }), "{bad}: {err}");
        }
        let dup17: Vec<String> = (0..17).map(|i| format!("\"{}\":0", i % 16)).collect();
        assert!(msgpack_from_json(format!("{{{}}}", dup17.join(",")).as_bytes()).is_err());
        let deep = MAX_DEPTH as usize;
        assert!(
            msgpack_from_json(format!("{}{}", "[".repeat(deep), "]".repeat(deep)).as_bytes())
                .is_ok()
        );
        let err = msgpack_from_json(
            format!("{}{}", "[".repeat(deep + 1), "]".repeat(deep + 1)).as_bytes(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("nesting too deep"), "{err}");
    }

    /// A second, independent encoder: `serde_json` (insertion order kept) builds a tree, and a
    /// naive writer walks it. The fast encoder must agree with it on every document.
    mod reference {
        use serde_json::Value;

        pub(super) fn encode(v: &Value, out: &mut Vec<u8>) {
            fn len_header(out: &mut Vec<u8>, n: usize, fix: u8, c16: u8, c32: u8) {
                if n < 16 {
                    out.push(fix + n as u8);
                } else if n < 1 << 16 {
                    out.push(c16);
                    out.extend_from_slice(&(n as u16).to_be_bytes());
                } else {
                    out.push(c32);
                    out.extend_from_slice(&(n as u32).to_be_bytes());
                }
            }
            match v {
                Value::Null => out.push(0xc0),
                Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
                Value::Number(n) => {
                    if let Some(u) = n.as_u64() {
                        let bytes = u.to_be_bytes();
                        match u {
                            0..=0x7f => out.push(u as u8),
                            0x80..=0xff => out.extend_from_slice(&[0xcc, u as u8]),
                            0x100..=0xffff => {
                                out.push(0xcd);
                                out.extend_from_slice(&bytes[6..]);
                            }
                            0x1_0000..=0xffff_ffff => {
                                out.push(0xce);
                                out.extend_from_slice(&bytes[4..]);
                            }
                            _ => {
                                out.push(0xcf);
                                out.extend_from_slice(&bytes);
                            }
                        }
                    } else if let Some(i) = n.as_i64() {
                        let bytes = i.to_be_bytes();
                        match i {
                            -32..=-1 => out.push(i as u8),
                            -128..=-33 => out.extend_from_slice(&[0xd0, i as u8]),
                            -32768..=-129 => {
                                out.push(0xd1);
                                out.extend_from_slice(&bytes[6..]);
                            }
                            -2_147_483_648..=-32769 => {
                                out.push(0xd2);
                                out.extend_from_slice(&bytes[4..]);
                            }
                            _ => {
                                out.push(0xd3);
                                out.extend_from_slice(&bytes);
                            }
                        }
                    } else {
                        out.push(0xcb);
                        out.extend_from_slice(&n.as_f64().unwrap().to_bits().to_be_bytes());
                    }
                }
                Value::String(s) => {
                    let n = s.len();
                    if n < 32 {
                        out.push(0xa0 + n as u8);
                    } else if n < 256 {
                        out.extend_from_slice(&[0xd9, n as u8]);
                    } else if n < 1 << 16 {
                        out.push(0xda);
                        out.extend_from_slice(&(n as u16).to_be_bytes());
                    } else {
                        out.push(0xdb);
                        out.extend_from_slice(&(n as u32).to_be_bytes());
                    }
                    out.extend_from_slice(s.as_bytes());
                }
                Value::Array(a) => {
                    len_header(out, a.len(), 0x90, 0xdc, 0xdd);
                    for x in a {
                        encode(x, out);
                    }
                }
                Value::Object(m) => {
                    len_header(out, m.len(), 0x80, 0xde, 0xdf);
                    for (k, x) in m {
                        encode(&Value::String(k.clone()), out);
                        encode(x, out);
                    }
                }
            }
        }
    }

    /// Random JSON-able values: unicode strings, integers across every width, floats, and
    /// objects and arrays nested a few levels, written in both compact and spaced forms.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let int = prop_oneof![
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-40i64..300).prop_map(Value::from),
            prop::sample::select(vec![
                127i64,
                128,
                255,
                256,
                65535,
                65536,
                -32,
                -33,
                -128,
                -129,
                -32768,
                -32769,
                4_294_967_295,
                4_294_967_296,
                -2_147_483_648,
                -2_147_483_649,
                i64::MIN,
                i64::MAX
            ])
            .prop_map(Value::from),
        ];
        let float = any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number));
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            int,
            float,
            ".{0,40}".prop_map(Value::String),
            "[a-z]{30,300}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 96, 20, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..20).prop_map(serde_json::Value::Array),
                prop::collection::vec((".{0,12}", inner), 0..20)
                    .prop_map(|kv| { serde_json::Value::Object(kv.into_iter().collect()) }),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_a_reference_encoder(v in json_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            let mut want = Vec::new();
            reference::encode(&v, &mut want);
            prop_assert_eq!(msgpack_from_json(text.as_bytes()).unwrap(), want, "{}", text);
        }

        #[test]
        fn accepts_exactly_what_strict_json_accepts(
            seed in 0usize..4,
            ops in prop::collection::vec((0u8..4, any::<usize>(), any::<u8>()), 1..4),
        ) {
            let seeds = [
                r#"{"type":"order","orders":[{"a":4,"b":true,"p":"1670.1","s":"0.0147","r":false,"t":{"limit":{"tif":"Ioc"}}}],"grouping":"na"}"#,
                r#"{"type":"cancel","cancels":[{"a":1,"o":123456789012}]}"#,
                r#"[1.5e3,-0,null,"\u00e9\ud83d\ude00",{"k":[[]]}]"#,
                r#"{"type":"scheduleCancel","time":-12}"#,
            ];
            let m = crate::book::json::tests::mutate(seeds[seed].as_bytes(), &ops);
            let valid = crate::book::json::tests::reference::valid(&m);
            match msgpack_from_json(&m) {
                Ok(out) => {
                    prop_assert!(valid, "accepted invalid JSON {:?}", String::from_utf8_lossy(&m));
                    // A valid document that serde_json also reads encodes as the reference does
                    // (serde_json reads `-0` as a float; Python's json reads the integer 0).
                    let minus_zero = m.windows(3).any(|w| w[..2] == *b"-0" && !matches!(w[2], b'.' | b'e' | b'E'))
                        || m.ends_with(b"-0");
                    if let (false, Ok(v)) = (minus_zero, serde_json::from_slice::<serde_json::Value>(&m)) {
                        let mut want = Vec::new();
                        reference::encode(&v, &mut want);
                        prop_assert_eq!(out, want);
                    }
                }
                // Valid JSON is refused only for msgpack's limits or a duplicate key.
                Err(CoreError::Parse { message, .. }) => prop_assert!(
                    !valid || message.contains("range") || message.contains("duplicate"),
                    "refused valid JSON {:?}: {}", String::from_utf8_lossy(&m), message
                ),
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
        }
    }
}
