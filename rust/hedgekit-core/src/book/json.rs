//! A small, strict, allocation-free JSON scanner for venue messages.
//!
//! It reads exactly the grammar of RFC 8259 (no comments, no trailing commas, no `NaN`), in any
//! key order, skipping unknown keys and their nested values. Strings are returned as their raw
//! bytes between the quotes (escapes are validated, not decoded: the keys and numbers we read
//! never contain any). Every error carries the byte position where the input went wrong.

use crate::error::CoreError;
use crate::fixed::Fixed;

/// Nesting deeper than this is refused (no venue message comes close; it bounds the recursion).
const MAX_DEPTH: u32 = 64;

/// A parse failure: byte position, the field being read (may be empty) and what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JsonError {
    pub(crate) pos: usize,
    pub(crate) field: &'static str,
    pub(crate) msg: &'static str,
}

impl From<JsonError> for CoreError {
    fn from(e: JsonError) -> Self {
        let message = if e.field.is_empty() {
            e.msg.to_string()
        } else {
            format!("{}: {}", e.field, e.msg)
        };
        CoreError::Parse {
            position: e.pos,
            message,
        }
    }
}

pub(crate) type JResult<T> = Result<T, JsonError>;

/// A cursor over the message bytes.
pub(crate) struct Scanner<'a> {
    b: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Scanner { b, pos: 0 }
    }

    pub(crate) fn err<T>(pos: usize, field: &'static str, msg: &'static str) -> JResult<T> {
        Err(JsonError { pos, field, msg })
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The next non-whitespace byte, not consumed.
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.pos).copied()
    }

    /// Consumes `c` (after whitespace) or fails.
    #[inline]
    pub(crate) fn expect(&mut self, c: u8, msg: &'static str) -> JResult<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(msg)
        }
    }

    /// An error at the current position ("unexpected end of input" past the end).
    pub(crate) fn fail<T>(&self, msg: &'static str) -> JResult<T> {
        if self.pos >= self.b.len() {
            Self::err(self.pos, "", "unexpected end of input")
        } else {
            Self::err(self.pos, "", msg)
        }
    }

    /// Fails unless only whitespace is left.
    pub(crate) fn end(&mut self) -> JResult<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.fail("trailing characters after the message"),
        }
    }

    /// Reads a string; returns the raw bytes between the quotes.
    pub(crate) fn string(&mut self) -> JResult<&'a [u8]> {
        self.expect(b'"', "expected a string")?;
        let start = self.pos;
        loop {
            let Some(&c) = self.b.get(self.pos) else {
                return self.fail("unterminated string");
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(&self.b[start..self.pos - 1]);
                }
                b'\\' => {
                    self.pos += 1;
                    match self.b.get(self.pos) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1;
                        }
                        Some(b'u') => {
                            self.pos += 1;
                            for _ in 0..4 {
                                match self.b.get(self.pos) {
                                    Some(h) if h.is_ascii_hexdigit() => self.pos += 1,
                                    _ => return self.fail("bad \\u escape"),
                                }
                            }
                        }
                        _ => return self.fail("bad escape in string"),
                    }
                }
                0..=0x1f => return self.fail("control character in string"),
                _ => self.pos += 1,
            }
        }
    }

    /// Fast path for the exact compact shape Hyperliquid sends for a level,
    /// `{"px":"<decimal>","sz":"<decimal>","n":<digits>}`, scanning and parsing each number in one
    /// pass. Returns `None` (consuming nothing) on any deviation — whitespace, another key
    /// order, an escape, an unusual number — so the general, error-reporting path takes over.
    #[inline]
    pub(crate) fn hl_level_fast(&mut self) -> Option<(Fixed, Fixed)> {
        let b = self.b;
        let mut i = self.pos;
        let px = b
            .get(i..i + 7)
            .filter(|h| *h == b"{\"px\":\"")
            .map(|_| i += 7)
            .and_then(|()| quoted_decimal(b, &mut i))?;
        b.get(i..i + 7)
            .filter(|h| *h == b",\"sz\":\"")
            .map(|_| i += 7)?;
        let sz = quoted_decimal(b, &mut i)?;
        b.get(i..i + 5)
            .filter(|h| *h == b",\"n\":")
            .map(|_| i += 5)?;
        let n_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == n_start || i - n_start > 18 || b.get(i) != Some(&b'}') {
            return None;
        }
        self.pos = i + 1;
        Some((px, sz))
    }

    /// Reads a JSON number token (validated syntax) and returns its bytes.
    pub(crate) fn number(&mut self) -> JResult<&'a [u8]> {
        self.ws();
        let start = self.pos;
        let digits = |s: &mut Self| {
            let from = s.pos;
            while s.b.get(s.pos).is_some_and(u8::is_ascii_digit) {
                s.pos += 1;
            }
            s.pos - from
        };
        if self.b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let n = digits(self);
        if n == 0 {
            return self.fail("expected a number");
        }
        if n > 1 && self.b[int_start] == b'0' {
            return Self::err(int_start, "", "leading zero in number");
        }
        if self.b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return self.fail("expected digits after '.'");
            }
        }
        if matches!(self.b.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.b.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return self.fail("expected exponent digits");
            }
        }
        Ok(&self.b[start..self.pos])
    }

    /// Reads an integer number that fits an `i64` (no fraction, no exponent).
    pub(crate) fn int(&mut self, field: &'static str) -> JResult<i64> {
        self.ws();
        let start = self.pos;
        if !matches!(self.b.get(self.pos), Some(b'-' | b'0'..=b'9')) {
            return Self::err(
                start,
                field,
                if self.pos >= self.b.len() {
                    "unexpected end of input"
                } else {
                    "expected an integer"
                },
            );
        }
        let tok = self.number()?;
        let (neg, digits) = match tok.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, tok),
        };
        let mut v: i64 = 0;
        for &d in digits {
            if !d.is_ascii_digit() {
                return Self::err(start, field, "expected an integer");
            }
            v = match v
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(d - b'0')))
            {
                Some(v) => v,
                None => return Self::err(start, field, "integer out of range"),
            };
        }
        Ok(if neg { -v } else { v })
    }

    /// Reads a decimal held in a JSON string (venues quote their prices and sizes).
    pub(crate) fn fixed_str(&mut self, field: &'static str) -> JResult<Fixed> {
        self.ws();
        let start = self.pos;
        if self.b.get(start) != Some(&b'"') {
            return Self::err(
                start,
                field,
                if start >= self.b.len() {
                    "unexpected end of input"
                } else {
                    "expected a decimal string"
                },
            );
        }
        let s = self.string()?;
        if let Some(v) = fast_decimal(s) {
            return Ok(v);
        }
        Fixed::parse_bytes(s).or_else(|e| Self::err(start, field, e.message()))
    }

    /// Starts an object: consumes `{`.
    pub(crate) fn object(&mut self) -> JResult<()> {
        self.expect(b'{', "expected an object")
    }

    /// The next key of an object (consuming the `:`), or `None` at its `}`.
    /// `first` must start `true` for each object.
    pub(crate) fn next_key(&mut self, first: &mut bool) -> JResult<Option<&'a [u8]>> {
        if *first {
            *first = false;
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(None);
            }
        } else {
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(None);
                }
                _ => return self.fail("expected ',' or '}'"),
            }
        }
        let key = self.string()?;
        self.expect(b':', "expected ':'")?;
        Ok(Some(key))
    }

    /// Starts an array: consumes `[`.
    pub(crate) fn array(&mut self) -> JResult<()> {
        self.expect(b'[', "expected an array")
    }

    /// True when another element follows (consuming the `,`), false at the array's `]`.
    pub(crate) fn next_elem(&mut self, first: &mut bool) -> JResult<bool> {
        if *first {
            *first = false;
            if self.peek() == Some(b']') {
                self.pos += 1;
                return Ok(false);
            }
            return Ok(true);
        }
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b']') => {
                self.pos += 1;
                Ok(false)
            }
            _ => self.fail("expected ',' or ']'"),
        }
    }

    /// Skips any value, nested ones included.
    pub(crate) fn skip_value(&mut self) -> JResult<()> {
        self.skip_at(0)
    }

    fn skip_at(&mut self, depth: u32) -> JResult<()> {
        if depth > MAX_DEPTH {
            return self.fail("nesting too deep");
        }
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let mut first = true;
                while self.next_key(&mut first)?.is_some() {
                    self.skip_at(depth + 1)?;
                }
                Ok(())
            }
            Some(b'[') => {
                self.pos += 1;
                let mut first = true;
                while self.next_elem(&mut first)? {
                    self.skip_at(depth + 1)?;
                }
                Ok(())
            }
            Some(b'"') => self.string().map(|_| ()),
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => self.fail("expected a value"),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> JResult<()> {
        for &c in word {
            if self.b.get(self.pos) != Some(&c) {
                return self.fail("invalid literal");
            }
            self.pos += 1;
        }
        Ok(())
    }
}

/// Reads `<decimal>"` at `b[*i..]` (the opening quote already consumed) in one pass: plain
/// digits with at most one `.`, at most 18 digits and 9 decimals. Advances `*i` past the quote.
#[inline]
fn quoted_decimal(b: &[u8], i: &mut usize) -> Option<Fixed> {
    let mut v: i64 = 0;
    let mut digits = 0u32;
    let mut dot: Option<u32> = None;
    let mut j = *i;
    loop {
        let c = *b.get(j)?;
        j += 1;
        match c {
            b'0'..=b'9' if digits < 18 => {
                v = v * 10 + i64::from(c - b'0');
                digits += 1;
            }
            b'.' if dot.is_none() && digits > 0 => dot = Some(digits),
            b'"' => break,
            _ => return None,
        }
    }
    let decimals = digits - dot.unwrap_or(digits);
    if digits == 0 || decimals > crate::fixed::SCALE || dot == Some(digits) {
        return None;
    }
    *i = j;
    v.checked_mul(crate::fixed::POW10[(crate::fixed::SCALE - decimals) as usize])
        .map(Fixed::from_raw)
}

/// The common wire form `digits[.digits]` (at most 18 digits, at most 9 decimals) read with
/// plain `i64` arithmetic; `None` sends anything else (signs, exponents, long or odd input) to
/// [`Fixed::parse_bytes`], which gives the same value or the error.
#[inline]
fn fast_decimal(s: &[u8]) -> Option<Fixed> {
    let mut v: i64 = 0;
    let mut digits = 0u32;
    let mut decimals: Option<u32> = None;
    for &c in s {
        if c.is_ascii_digit() {
            if digits == 18 {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
            digits += 1;
            if let Some(d) = decimals.as_mut() {
                *d += 1;
            }
        } else if c == b'.' && decimals.is_none() {
            decimals = Some(0);
        } else {
            return None;
        }
    }
    let decimals = decimals.unwrap_or(0);
    if digits == 0 || decimals > crate::fixed::SCALE {
        return None;
    }
    v.checked_mul(crate::fixed::POW10[(crate::fixed::SCALE - decimals) as usize])
        .map(Fixed::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip_all(s: &str) -> JResult<()> {
        let mut sc = Scanner::new(s.as_bytes());
        sc.skip_value()?;
        sc.end()
    }

    #[test]
    fn accepts_valid_json() {
        for s in [
            r"{}",
            r"[]",
            r#" {"a" : [1, -2.5e+3, 0, 0.1E-2, true, false, null, "x\"\\\/\u00e9\n"], "b": {"c": {}}} "#,
        ] {
            assert_eq!(skip_all(s), Ok(()), "{s}");
        }
    }

    #[test]
    fn rejects_invalid_json_with_position() {
        for (s, pos) in [
            (r#"{"a":1,}"#, 7),
            (r"[1,]", 3),
            (r#"{"a" 1}"#, 5),
            (r"[01]", 1),
            (r"[NaN]", 1),
            (r#"["a\x"]"#, 4),
            (r#"{"a":1} x"#, 8),
            (r"[tru]", 4),
            ("[1", 2),
            ("\"abc", 4),
        ] {
            let e = skip_all(s).unwrap_err();
            assert_eq!(e.pos, pos, "{s}: {e:?}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(skip_all(&deep).is_err());
    }

    proptest::proptest! {
        #[test]
        fn fast_decimal_agrees_with_fixed_parse(s in "[0-9.+eE-]{0,24}") {
            if let Some(v) = fast_decimal(s.as_bytes()) {
                proptest::prop_assert_eq!(Ok(v), Fixed::parse_bytes(s.as_bytes()));
            }
        }

        #[test]
        fn fast_decimal_takes_the_usual_wire_numbers(int in 0u64..1_000_000_000, frac in 0u32..100_000_000) {
            let s = format!("{int}.{frac:08}");
            proptest::prop_assert_eq!(fast_decimal(s.as_bytes()), Fixed::parse_bytes(s.as_bytes()).ok());
            proptest::prop_assert!(fast_decimal(s.as_bytes()).is_some());
        }
    }

    #[test]
    fn reads_integers_strictly() {
        assert_eq!(
            Scanner::new(b"1760000000000").int("t"),
            Ok(1_760_000_000_000)
        );
        assert_eq!(Scanner::new(b"-1").int("t"), Ok(-1));
        assert!(Scanner::new(b"1.5").int("t").is_err());
        assert!(Scanner::new(b"99999999999999999999").int("t").is_err());
        assert!(Scanner::new(b"\"1\"").int("t").is_err());
    }
}
