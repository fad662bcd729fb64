//! A small, strict JSON scanner for venue messages.
//!
//! It accepts exactly what a strict JSON parser (RFC 8259 as implemented by `orjson`) accepts:
//! no comments, no trailing commas, no `NaN`, no leading zeros, no `+` sign, only the four
//! whitespace characters, nothing after the message, strings of valid UTF-8 without raw control
//! characters, escapes from the RFC's list only, and `\u` surrogates only in valid pairs. Two
//! limits are stricter than the grammar, as a parser's may be: a number that would round to
//! infinity as a double (`1e400`) is refused (as `orjson` refuses it), and values nested more than
//! 64 levels deep are refused. Keys come in any order; unknown keys and their values are
//! skipped (validated, not kept).
//!
//! Strings are read in place; one that holds an escape is decoded (the only allocation, which
//! no venue message needs), so a key or a decimal written with escapes (`"\u0070x"`) reads as
//! the same key or number a JSON parser sees. Every error carries the byte position where the
//! input went wrong.

use std::borrow::Cow;

use crate::error::CoreError;
use crate::fixed::Fixed;

/// Nesting deeper than this is refused (no venue message comes close; it bounds the recursion).
const MAX_DEPTH: u32 = 64;

/// The bytes a string holds as they are: printable ASCII other than `"` and `\`.
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0x20;
    while c < 0x80 {
        t[c] = c != b'"' as usize && c != b'\\' as usize;
        c += 1;
    }
    t
};

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

    /// Reads a string, decoded: the bytes between the quotes when it holds no escape (no
    /// copy), else its UTF-8 text with the escapes resolved.
    pub(crate) fn string(&mut self) -> JResult<Cow<'a, [u8]>> {
        let (raw, escaped) = self.string_raw()?;
        Ok(if escaped {
            Cow::Owned(unescape(raw))
        } else {
            Cow::Borrowed(raw)
        })
    }

    /// Reads and validates a string; returns the raw bytes between the quotes and whether they
    /// hold an escape.
    pub(crate) fn string_raw(&mut self) -> JResult<(&'a [u8], bool)> {
        self.expect(b'"', "expected a string")?;
        let start = self.pos;
        let mut escaped = false;
        loop {
            // Plain printable ASCII, in a tight loop; anything else is looked at below.
            while self.b.get(self.pos).is_some_and(|&c| PLAIN[usize::from(c)]) {
                self.pos += 1;
            }
            match self.b.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok((&self.b[start..self.pos - 1], escaped));
                }
                None => return self.fail("unterminated string"),
                Some(_) => escaped |= self.string_special()?,
            }
        }
    }

    /// One escape, control character or UTF-8 sequence inside a string (at `self.pos`);
    /// true for an escape.
    #[cold]
    fn string_special(&mut self) -> JResult<bool> {
        let c = self.b[self.pos];
        match c {
            b'\\' => {
                let at = self.pos;
                self.pos += 1;
                match self.b.get(self.pos) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                        self.pos += 1;
                    }
                    Some(b'u') => {
                        self.pos += 1;
                        let unit = self.hex4()?;
                        if (0xD800..0xDC00).contains(&unit) {
                            // A high surrogate must be followed by an escaped low one.
                            if self.b.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                return Self::err(at, "", "unpaired surrogate in \\u escape");
                            }
                            self.pos += 2;
                            if !(0xDC00..0xE000).contains(&self.hex4()?) {
                                return Self::err(at, "", "unpaired surrogate in \\u escape");
                            }
                        } else if (0xDC00..0xE000).contains(&unit) {
                            return Self::err(at, "", "unpaired surrogate in \\u escape");
                        }
                    }
                    _ => return self.fail("bad escape in string"),
                }
                Ok(true)
            }
            0..=0x1f => self.fail("control character in string"),
            _ => {
                // One UTF-8 sequence, checked by the standard library (no overlong forms, no
                // surrogates, nothing above U+10FFFF).
                let len = match c {
                    0xC2..=0xDF => 2,
                    0xE0..=0xEF => 3,
                    0xF0..=0xF4 => 4,
                    _ => return self.fail("invalid UTF-8 in string"),
                };
                match self.b.get(self.pos..self.pos + len) {
                    Some(seq) if std::str::from_utf8(seq).is_ok() => {
                        self.pos += len;
                        Ok(false)
                    }
                    Some(_) => self.fail("invalid UTF-8 in string"),
                    None => {
                        self.pos = self.b.len();
                        self.fail("unterminated string")
                    }
                }
            }
        }
    }

    /// Four hex digits of a `\u` escape, as a UTF-16 code unit.
    fn hex4(&mut self) -> JResult<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            match self
                .b
                .get(self.pos)
                .and_then(|&h| char::from(h).to_digit(16))
            {
                Some(d) => {
                    v = v * 16 + d;
                    self.pos += 1;
                }
                None => return self.fail("bad \\u escape"),
            }
        }
        Ok(v)
    }

    /// Fast path for the exact compact shape Hyperliquid sends for a level,
    /// `{"px":"<decimal>","sz":"<decimal>","n":<digits>}`, scanning and parsing each number in one
    /// pass. Returns `None` (consuming nothing) on any deviation — whitespace, another key
    /// order, an escape, an unusual number — so the general, error-reporting path takes over.
    #[inline]
    pub(crate) fn hl_level_fast(&mut self) -> Option<(Fixed, Fixed)> {
        #[cfg(test)]
        if tests::GENERAL_ONLY.with(std::cell::Cell::get) {
            return None;
        }
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
        // A JSON integer: `0` or no leading zero (`09` is not JSON; the general path reports it).
        if i == n_start
            || i - n_start > 18
            || (b[n_start] == b'0' && i - n_start > 1)
            || b.get(i) != Some(&b'}')
        {
            return None;
        }
        self.pos = i + 1;
        Some((px, sz))
    }

    /// Reads a JSON number token (validated syntax) and returns its bytes. A number that
    /// rounds to infinity as a double is refused, as strict parsers refuse it.
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
        let mut exponent = false;
        if matches!(self.b.get(self.pos), Some(b'e' | b'E')) {
            exponent = true;
            self.pos += 1;
            if matches!(self.b.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return self.fail("expected exponent digits");
            }
        }
        let tok = &self.b[start..self.pos];
        // Without an exponent, fewer than 309 integer digits is always below f64::MAX.
        if (exponent || n >= 309)
            && !std::str::from_utf8(tok)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(f64::is_finite)
        {
            return Self::err(start, "", "number out of range");
        }
        Ok(tok)
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
        // The magnitude in a u64, then the sign: i64::MIN is read, and nothing overflows.
        let mut mag: u64 = 0;
        for &d in digits {
            if !d.is_ascii_digit() {
                return Self::err(start, field, "expected an integer");
            }
            mag = match mag
                .checked_mul(10)
                .and_then(|m| m.checked_add(u64::from(d - b'0')))
            {
                Some(m) => m,
                None => return Self::err(start, field, "integer out of range"),
            };
        }
        let v = if neg {
            0i64.checked_sub_unsigned(mag)
        } else {
            i64::try_from(mag).ok()
        };
        v.map_or_else(|| Self::err(start, field, "integer out of range"), Ok)
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
        let (raw, escaped) = self.string_raw()?;
        if escaped {
            return Fixed::parse_bytes(&unescape(raw))
                .or_else(|e| Self::err(start, field, e.message()));
        }
        if let Some(v) = fast_decimal(raw) {
            return Ok(v);
        }
        Fixed::parse_bytes(raw).or_else(|e| Self::err(start, field, e.message()))
    }

    /// Starts an object: consumes `{`.
    pub(crate) fn object(&mut self) -> JResult<()> {
        self.expect(b'{', "expected an object")
    }

    /// The next key of an object, decoded (consuming the `:`), or `None` at its `}`.
    /// `first` must start `true` for each object.
    pub(crate) fn next_key(&mut self, first: &mut bool) -> JResult<Option<Cow<'a, [u8]>>> {
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
            Some(b'"') => self.string_raw().map(|_| ()),
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => self.fail("expected a value"),
        }
    }

    /// Consumes the literal `word` (`true`, `false`, `null`) at the cursor or fails.
    pub(crate) fn literal(&mut self, word: &'static [u8]) -> JResult<()> {
        for &c in word {
            if self.b.get(self.pos) != Some(&c) {
                return self.fail("invalid literal");
            }
            self.pos += 1;
        }
        Ok(())
    }
}

/// The text of a validated string body with its escapes resolved, as UTF-8.
#[cold]
fn unescape(raw: &[u8]) -> Vec<u8> {
    let hex4 = |at: usize| {
        raw[at..at + 4].iter().fold(0u32, |v, &h| {
            v * 16 + char::from(h).to_digit(16).unwrap_or(0)
        })
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let simple = match raw[i + 1] {
            b'b' => Some(0x08),
            b'f' => Some(0x0C),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'u' => None,
            c => Some(c), // '"', '\\' and '/'
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        let mut cp = hex4(i + 2);
        i += 6;
        if (0xD800..0xDC00).contains(&cp) {
            // validated: an escaped low surrogate follows
            cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(i + 2) - 0xDC00);
            i += 6;
        }
        let ch = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
        out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
    }
    out
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
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    thread_local! {
        /// Set by tests to turn the Hyperliquid fast path off (differential tests).
        pub(crate) static GENERAL_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Runs `f` with the fast path off.
    pub(crate) fn general_only<T>(f: impl FnOnce() -> T) -> T {
        GENERAL_ONLY.with(|g| g.set(true));
        let r = f();
        GENERAL_ONLY.with(|g| g.set(false));
        r
    }

    /// An independent strict JSON validator, written from the RFC 8259 grammar over `char`s,
    /// with the two limits of the scanner (and of `orjson`): numbers finite as doubles, values
    /// nested at most 64 deep. The oracle of the differential tests.
    pub(crate) mod reference {
        pub(crate) fn valid(b: &[u8]) -> bool {
            let Ok(s) = std::str::from_utf8(b) else {
                return false;
            };
            let c: Vec<char> = s.chars().collect();
            let mut i = 0;
            ws(&c, &mut i);
            if !value(&c, &mut i, 0) {
                return false;
            }
            ws(&c, &mut i);
            i == c.len()
        }

        fn ws(c: &[char], i: &mut usize) {
            while matches!(c.get(*i), Some(' ' | '\t' | '\n' | '\r')) {
                *i += 1;
            }
        }

        fn value(c: &[char], i: &mut usize, depth: u32) -> bool {
            if depth > 64 {
                return false;
            }
            match c.get(*i) {
                Some('{') => {
                    *i += 1;
                    ws(c, i);
                    if c.get(*i) == Some(&'}') {
                        *i += 1;
                        return true;
                    }
                    loop {
                        ws(c, i);
                        if !string(c, i) {
                            return false;
                        }
                        ws(c, i);
                        if c.get(*i) != Some(&':') {
                            return false;
                        }
                        *i += 1;
                        ws(c, i);
                        if !value(c, i, depth + 1) {
                            return false;
                        }
                        ws(c, i);
                        match c.get(*i) {
                            Some(',') => *i += 1,
                            Some('}') => {
                                *i += 1;
                                return true;
                            }
                            _ => return false,
                        }
                    }
                }
                Some('[') => {
                    *i += 1;
                    ws(c, i);
                    if c.get(*i) == Some(&']') {
                        *i += 1;
                        return true;
                    }
                    loop {
                        ws(c, i);
                        if !value(c, i, depth + 1) {
                            return false;
                        }
                        ws(c, i);
                        match c.get(*i) {
                            Some(',') => *i += 1,
                            Some(']') => {
                                *i += 1;
                                return true;
                            }
                            _ => return false,
                        }
                    }
                }
                Some('"') => string(c, i),
                Some('t') => word(c, i, "true"),
                Some('f') => word(c, i, "false"),
                Some('n') => word(c, i, "null"),
                Some('-' | '0'..='9') => number(c, i),
                _ => false,
            }
        }

        fn word(c: &[char], i: &mut usize, w: &str) -> bool {
            for ch in w.chars() {
                if c.get(*i) != Some(&ch) {
                    return false;
                }
                *i += 1;
            }
            true
        }

        fn digits(c: &[char], i: &mut usize) -> usize {
            let s = *i;
            while c.get(*i).is_some_and(char::is_ascii_digit) {
                *i += 1;
            }
            *i - s
        }

        fn number(c: &[char], i: &mut usize) -> bool {
            let start = *i;
            if c.get(*i) == Some(&'-') {
                *i += 1;
            }
            match c.get(*i) {
                Some('0') => *i += 1,
                Some('1'..='9') => {
                    digits(c, i);
                }
                _ => return false,
            }
            if c.get(*i) == Some(&'.') {
                *i += 1;
                if digits(c, i) == 0 {
                    return false;
                }
            }
            if matches!(c.get(*i), Some('e' | 'E')) {
                *i += 1;
                if matches!(c.get(*i), Some('+' | '-')) {
                    *i += 1;
                }
                if digits(c, i) == 0 {
                    return false;
                }
            }
            let tok: String = c[start..*i].iter().collect();
            tok.parse::<f64>().is_ok_and(f64::is_finite)
        }

        fn hex4(c: &[char], i: &mut usize) -> Option<u32> {
            let mut v = 0;
            for _ in 0..4 {
                v = v * 16 + c.get(*i)?.to_digit(16)?;
                *i += 1;
            }
            Some(v)
        }

        fn string(c: &[char], i: &mut usize) -> bool {
            if c.get(*i) != Some(&'"') {
                return false;
            }
            *i += 1;
            loop {
                match c.get(*i) {
                    None => return false,
                    Some('"') => {
                        *i += 1;
                        return true;
                    }
                    Some('\\') => {
                        *i += 1;
                        match c.get(*i) {
                            Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => *i += 1,
                            Some('u') => {
                                *i += 1;
                                let Some(u) = hex4(c, i) else { return false };
                                if (0xD800..0xDC00).contains(&u) {
                                    if c.get(*i) != Some(&'\\') || c.get(*i + 1) != Some(&'u') {
                                        return false;
                                    }
                                    *i += 2;
                                    match hex4(c, i) {
                                        Some(lo) if (0xDC00..0xE000).contains(&lo) => {}
                                        _ => return false,
                                    }
                                } else if (0xDC00..0xE000).contains(&u) {
                                    return false;
                                }
                            }
                            _ => return false,
                        }
                    }
                    Some(&ch) if (ch as u32) < 0x20 => return false,
                    Some(_) => *i += 1,
                }
            }
        }
    }

    /// A mutation of a message: what fuzzers do to bytes, plus the JSON corner cases.
    pub(crate) fn mutate(msg: &[u8], ops: &[(u8, usize, u8)]) -> Vec<u8> {
        const SNIPPETS: [&[u8]; 24] = [
            b"0",
            b"09",
            b"-0",
            b"-",
            b"1e400",
            b"e5",
            b"E+",
            b".",
            b"00",
            b" ",
            b"\t",
            b"\n",
            b"\r",
            b"\x0c",
            b"\\u0041",
            b"\\ud800",
            b"\\udc00",
            b"\\ud83d\\ude00",
            b"\\",
            b"\xc3\xa9",
            b"\xff",
            b"\xed\xa0\x80",
            b",",
            b"123456789012345678901234567890",
        ];
        const BYTES: &[u8] = b"0123456789-+.eE\"\\{}[]:, \t\nutfal\x00\x1f\x7f\x80\xc3";
        let mut m = msg.to_vec();
        for &(kind, at, x) in ops {
            let at = if m.is_empty() { 0 } else { at % (m.len() + 1) };
            match kind % 5 {
                0 if at < m.len() => m[at] = BYTES[usize::from(x) % BYTES.len()],
                1 => m.insert(at, BYTES[usize::from(x) % BYTES.len()]),
                2 if at < m.len() => {
                    m.remove(at);
                }
                3 => {
                    let snip = SNIPPETS[usize::from(x) % SNIPPETS.len()];
                    m.splice(at..at, snip.iter().copied());
                }
                _ if at < m.len() => m[at] ^= 1 << (x % 8),
                _ => {}
            }
        }
        m
    }

    fn skip_all(s: &str) -> JResult<()> {
        skip_bytes(s.as_bytes())
    }

    fn skip_bytes(s: &[u8]) -> JResult<()> {
        let mut sc = Scanner::new(s);
        sc.skip_value()?;
        sc.end()
    }

    #[test]
    fn accepts_valid_json() {
        for s in [
            r"{}",
            r"[]",
            r#" {"a" : [1, -2.5e+3, 0, 0.1E-2, true, false, null, "x\"\\\/\u00e9\n"], "b": {"c": {}}} "#,
            r#"["\ud83d\ude00", "\uD83D\uDE00", "é😀", -0, -0.0e-0, 1e308, 123456789012345678901234567890]"#,
            "[1]\t\r\n ",
        ] {
            assert_eq!(skip_all(s), Ok(()), "{s}");
            assert!(reference::valid(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn rejects_invalid_json_with_position() {
        for (s, pos) in [
            (r#"{"a":1,}"#, 7),
            (r"[1,]", 3),
            (r#"{"a" 1}"#, 5),
            (r"[01]", 1),
            (r"[-01]", 2),
            (r"[NaN]", 1),
            (r#"["a\x"]"#, 4),
            (r#"{"a":1} x"#, 8),
            (r"[tru]", 4),
            ("[1", 2),
            ("\"abc", 4),
            (r"[1e400]", 1),
            (r"[-1e400]", 1),
            (r#"["\ud800"]"#, 2),
            (r#"["\ud800\u0041"]"#, 2),
            (r#"["\udc00"]"#, 2),
            (r#"["\u00g0"]"#, 6),
            ("[\"\u{1}\"]", 2),
            ("[1]\u{c}", 3),
            ("\u{feff}[1]", 0),
            ("[+1]", 1),
            ("[.5]", 1),
            ("[5.]", 3),
        ] {
            let e = skip_all(s).unwrap_err();
            assert_eq!(e.pos, pos, "{s}: {e:?}");
            assert!(!reference::valid(s.as_bytes()), "{s}");
        }
        for bad in [
            &b"[\"\xff\"]"[..],
            b"[\"\xc0\x80\"]",
            b"[\"\xed\xa0\x80\"]",
            b"[\"\xf4\x90\x80\x80\"]",
            b"[\"\xc3\"]",
            b"[\"\xc3",
        ] {
            assert!(skip_bytes(bad).is_err(), "{bad:?}");
            assert!(!reference::valid(bad), "{bad:?}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(skip_all(&deep).is_err());
    }

    #[test]
    fn strings_decode_their_escapes() {
        let mut sc = Scanner::new(br#""p\u0078\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#);
        assert_eq!(
            &*sc.string().unwrap(),
            "px\"\\/\u{8}\u{c}\n\r\té😀".as_bytes()
        );
        let mut sc = Scanner::new(br#""plain""#);
        assert!(matches!(sc.string(), Ok(Cow::Borrowed(b"plain"))));
        assert_eq!(
            Scanner::new(br#""\u0031.5""#).fixed_str("px"),
            Ok(Fixed::parse("1.5").unwrap())
        );
        assert!(Scanner::new(br#""\u00311.5""#).fixed_str("px").is_ok());
        assert!(
            Scanner::new(br#""\u0661""#).fixed_str("px").is_err(),
            "an Arabic-Indic digit is not a digit"
        );
    }

    #[test]
    fn hyperliquid_level_fast_path_takes_only_json_integers() {
        for (n, fast) in [
            ("0", true),
            ("9", true),
            ("10", true),
            ("09", false),
            ("00", false),
            ("-1", false),
            ("1.0", false),
            ("1e2", false),
        ] {
            let msg = format!(r#"{{"px":"1","sz":"2","n":{n}}}"#);
            let mut sc = Scanner::new(msg.as_bytes());
            assert_eq!(sc.hl_level_fast().is_some(), fast, "{msg}");
            assert_eq!(sc.pos, if fast { msg.len() } else { 0 });
        }
    }

    proptest! {
        /// The scanner accepts exactly what the independent validator accepts, on mutations of
        /// venue-shaped JSON (byte flips, insertions, deletions and the JSON corner cases).
        #[test]
        fn scanner_agrees_with_the_reference(seed in 0usize..4, ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..4)) {
            let seeds: [&[u8]; 4] = [
                br#"{"channel":"l2Book","data":{"coin":"ETH","time":1760000000000,"levels":[[{"px":"3119.9","sz":"1.5","n":3}],[{"px":"3120.1","sz":"0.5","n":12}]]}}"#,
                br#"{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#,
                br#"{"lastUpdateId":1027024,"E":1589436922972,"T":1589436922959,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}"#,
                br#" { "a" : [ 1 , -2.5e+3 , 0 , true , null , "x\u00e9\n" ] , "b" : { } } "#,
            ];
            let m = mutate(seeds[seed], &ops);
            let want = reference::valid(&m);
            prop_assert_eq!(skip_bytes(&m).is_ok(), want, "{:?}", String::from_utf8_lossy(&m));
        }

        #[test]
        fn int_reads_every_i64(v in crate::testutil::edge_i64()) {
            prop_assert_eq!(Scanner::new(v.to_string().as_bytes()).int("t"), Ok(v));
        }

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
