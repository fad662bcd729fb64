//! `Fixed`: an exact decimal number stored as an `i64` count of 10⁻⁹ units.
//!
//! Every price and size in the core is a `Fixed`. Nine decimals hold every tick and lot size of
//! the venues we speak to (Hyperliquid ≤ 8, Aster/Binance ≤ 8, Lighter ≤ 6) while a price of
//! 9.2 billion still fits. Products (notional) are formed in `i128` and never rounded silently.

use std::fmt;
use std::str::FromStr;

use crate::error::{CoreError, CoreResult};

/// Number of decimal places held by a [`Fixed`].
pub const SCALE: u32 = 9;
/// The raw value of `1` (10⁹).
pub const ONE: i64 = 1_000_000_000;

/// Powers of ten that fit in an `i64`.
pub const POW10: [i64; 19] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
];

/// An exact decimal with [`SCALE`] decimal places.
///
/// Invariant: the value is `raw / 10^SCALE`, exactly.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fixed(i64);

impl Fixed {
    /// Zero.
    pub const ZERO: Fixed = Fixed(0);
    /// One.
    pub const ONE: Fixed = Fixed(ONE);
    /// The largest representable value.
    pub const MAX: Fixed = Fixed(i64::MAX);

    /// Builds a value from its raw count of 10⁻⁹ units.
    #[inline]
    pub const fn from_raw(raw: i64) -> Self {
        Fixed(raw)
    }

    /// The raw count of 10⁻⁹ units.
    #[inline]
    pub const fn raw(self) -> i64 {
        self.0
    }

    /// An integer value.
    ///
    /// # Errors
    /// `Overflow` when `|v| · 10⁹` does not fit.
    pub fn from_int(v: i64) -> CoreResult<Self> {
        v.checked_mul(ONE)
            .map(Fixed)
            .ok_or_else(|| CoreError::Overflow(format!("{v} does not fit a fixed-point value")))
    }

    /// `mantissa · 10^-decimals`, exactly (used for integer wire formats such as Lighter's).
    ///
    /// # Errors
    /// `Inexact` when `decimals` > 9 and the value has digits beyond the scale; `Overflow` when it
    /// does not fit.
    pub fn from_scaled(mantissa: i64, decimals: u32) -> CoreResult<Self> {
        if decimals <= SCALE {
            mantissa
                .checked_mul(POW10[(SCALE - decimals) as usize])
                .map(Fixed)
                .ok_or_else(|| CoreError::Overflow(format!("{mantissa}e-{decimals}")))
        } else {
            let inexact = || CoreError::Inexact {
                input: format!("{mantissa}e-{decimals}"),
                scale: SCALE,
            };
            // |mantissa| < 10¹⁹: a divisor of 10³⁸ or more leaves only zero exact (and 10ⁿ for
            // n > 38 does not fit an i128).
            if decimals - SCALE > 38 {
                return if mantissa == 0 {
                    Ok(Fixed::ZERO)
                } else {
                    Err(inexact())
                };
            }
            let div = pow10_i128(decimals - SCALE);
            let m = i128::from(mantissa);
            if m % div != 0 {
                return Err(inexact());
            }
            // |m / div| ≤ |m|, which came from an i64.
            i64::try_from(m / div)
                .map(Fixed)
                .map_err(|_| CoreError::Overflow(format!("{mantissa}e-{decimals}")))
        }
    }

    /// The value as a count of `10^-decimals` units, if it is exactly one that fits an `i64`.
    pub fn to_scaled(self, decimals: u32) -> Option<i64> {
        if decimals >= SCALE {
            match POW10.get((decimals - SCALE) as usize) {
                Some(&m) => self.0.checked_mul(m),
                // 10ⁿ beyond an i64: only zero still fits.
                None => (self.0 == 0).then_some(0),
            }
        } else {
            let unit = POW10[(SCALE - decimals) as usize];
            (self.0 % unit == 0).then_some(self.0 / unit)
        }
    }

    /// Reads a decimal string exactly: `[+-]digits[.digits][e[+-]digits]`.
    ///
    /// # Errors
    /// `InvalidNumber` for anything that is not a finite decimal, `Inexact` for a value with
    /// non-zero digits beyond nine decimals, `Overflow` for a value too large.
    pub fn parse(s: &str) -> CoreResult<Self> {
        Self::parse_bytes(s.as_bytes()).map_err(|e| e.with_input(s))
    }

    /// [`Fixed::parse`] on bytes; on error the input is named by the caller.
    ///
    /// Fast path: a plain `[-]digits[.digits]` with at most 18 significant digits and at most 9
    /// decimals (every price and size a venue sends) is read with `u64` arithmetic only.
    #[inline]
    pub(crate) fn parse_bytes(b: &[u8]) -> Result<Self, ParseFail> {
        let (neg, start) = match b.first() {
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            _ => (false, 0),
        };
        let mut mant: u64 = 0;
        let mut i = start;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 18 {
            mant = mant * 10 + u64::from(b[i] - b'0');
            i += 1;
        }
        let int_digits = i - start;
        let mut frac_digits = 0usize;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let fs = i;
            while i < b.len() && b[i].is_ascii_digit() && int_digits + (i - fs) < 18 {
                mant = mant * 10 + u64::from(b[i] - b'0');
                i += 1;
            }
            frac_digits = i - fs;
        }
        if i == b.len() && int_digits + frac_digits > 0 && frac_digits <= SCALE as usize {
            let scaled =
                u128::from(mant) * u128::from(POW10[SCALE as usize - frac_digits].unsigned_abs());
            let raw = if neg {
                -(scaled as i128)
            } else {
                scaled as i128
            };
            return i64::try_from(raw)
                .map(Fixed)
                .map_err(|_| ParseFail::Overflow);
        }
        Self::parse_bytes_slow(b)
    }

    /// The general reader: exponents, long digit strings, trailing zeros beyond the scale.
    #[cold]
    fn parse_bytes_slow(b: &[u8]) -> Result<Self, ParseFail> {
        let mut i = 0;
        let neg = match b.first() {
            Some(b'-') => {
                i = 1;
                true
            }
            Some(b'+') => {
                i = 1;
                false
            }
            _ => false,
        };
        // Accumulate all significant digits into an i128 mantissa, tracking the decimal exponent.
        let mut mant: i128 = 0;
        let mut exp: i32 = 0;
        let mut ndigits = 0u32;
        let mut seen_dot = false;
        let mut big = false; // mantissa grew past what matters; later digits must be zero
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_digit() {
                ndigits = ndigits.saturating_add(1);
                let d = i128::from(c - b'0');
                if big || mant > (i128::MAX - 9) / 10 / 1_000_000 {
                    big = true;
                    if !seen_dot {
                        return Err(ParseFail::Overflow);
                    }
                    if d != 0 {
                        return Err(ParseFail::Inexact);
                    }
                } else {
                    mant = mant * 10 + d;
                    if seen_dot {
                        exp = exp.saturating_sub(1);
                    }
                }
            } else if c == b'.' && !seen_dot {
                seen_dot = true;
            } else {
                break;
            }
            i += 1;
        }
        if ndigits == 0 {
            return Err(ParseFail::Syntax("not a finite decimal number"));
        }
        if i < b.len() {
            if b[i] != b'e' && b[i] != b'E' {
                return Err(ParseFail::Syntax("unexpected character"));
            }
            i += 1;
            let eneg = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            let mut e: i32 = 0;
            while i < b.len() && b[i].is_ascii_digit() {
                e = e.saturating_mul(10).saturating_add(i32::from(b[i] - b'0'));
                i += 1;
            }
            if i == start || i != b.len() {
                return Err(ParseFail::Syntax("bad exponent"));
            }
            exp = exp.saturating_add(if eneg { -e } else { e });
        }
        // value = mant · 10^exp; raw = mant · 10^(exp + SCALE)
        let shift = exp.saturating_add(SCALE as i32);
        let raw: i128 = if mant == 0 {
            0
        } else if shift >= 0 {
            if shift > 38 {
                return Err(ParseFail::Overflow);
            }
            mant.checked_mul(pow10_i128(shift as u32))
                .ok_or(ParseFail::Overflow)?
        } else {
            let div_exp = shift.unsigned_abs();
            if div_exp > 38 {
                return Err(ParseFail::Inexact);
            }
            let div = pow10_i128(div_exp);
            if mant % div != 0 {
                return Err(ParseFail::Inexact);
            }
            mant / div
        };
        let raw = if neg { -raw } else { raw };
        i64::try_from(raw)
            .map(Fixed)
            .map_err(|_| ParseFail::Overflow)
    }

    /// `self + rhs`, or `None` on overflow.
    #[inline]
    pub fn checked_add(self, rhs: Fixed) -> Option<Fixed> {
        self.0.checked_add(rhs.0).map(Fixed)
    }

    /// `self − rhs`, or `None` on overflow.
    #[inline]
    pub fn checked_sub(self, rhs: Fixed) -> Option<Fixed> {
        self.0.checked_sub(rhs.0).map(Fixed)
    }

    /// `self + rhs`, saturating at the range limits.
    #[inline]
    #[must_use]
    pub fn saturating_add(self, rhs: Fixed) -> Fixed {
        Fixed(self.0.saturating_add(rhs.0))
    }

    /// `self − rhs`, saturating at the range limits.
    #[inline]
    #[must_use]
    pub fn saturating_sub(self, rhs: Fixed) -> Fixed {
        Fixed(self.0.saturating_sub(rhs.0))
    }

    /// The exact product as a raw value at scale 18 (`i128`), for notional comparisons.
    #[inline]
    pub fn mul_wide(self, rhs: Fixed) -> i128 {
        i128::from(self.0) * i128::from(rhs.0)
    }

    /// `self · rhs`, rounded toward zero to the scale; `None` on overflow. Used where the
    /// result feeds statistics or a later grid rounding, never as an order price itself.
    pub fn mul_trunc(self, rhs: Fixed) -> Option<Fixed> {
        i64::try_from(self.mul_wide(rhs) / i128::from(ONE))
            .ok()
            .map(Fixed)
    }

    /// True for a value strictly greater than zero.
    #[inline]
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// The value as an `f64` (for statistics only).
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / ONE as f64
    }

    /// The nearest `Fixed` to a finite float, rounded half away from zero (only where the caller
    /// asks for float input explicitly).
    ///
    /// # Errors
    /// `InvalidNumber` for NaN or infinities, `Overflow` when out of range.
    pub fn from_f64(v: f64) -> CoreResult<Self> {
        if !v.is_finite() {
            return Err(CoreError::InvalidNumber {
                input: v.to_string(),
                reason: "not finite",
            });
        }
        let r = (v * ONE as f64).round();
        if r >= i64::MAX as f64 || r <= i64::MIN as f64 {
            return Err(CoreError::Overflow(v.to_string()));
        }
        Ok(Fixed(r as i64))
    }

    /// Number of decimals actually used (0..=9), ignoring trailing zeros.
    pub fn decimals(self) -> u32 {
        if self.0 == 0 {
            return 0;
        }
        let mut d = SCALE;
        let mut v = self.0;
        while d > 0 && v % 10 == 0 {
            v /= 10;
            d -= 1;
        }
        d
    }

    /// The number of significant figures (0 for zero).
    pub fn significant_figures(self) -> u32 {
        let mut v = self.0.unsigned_abs();
        if v == 0 {
            return 0;
        }
        while v % 10 == 0 {
            v /= 10;
        }
        v.ilog10() + 1
    }
}

/// Why raw bytes were not a number (the caller adds the input text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseFail {
    Syntax(&'static str),
    Inexact,
    Overflow,
}

impl ParseFail {
    pub(crate) fn with_input(self, input: &str) -> CoreError {
        let input: String = input.chars().take(64).collect();
        match self {
            ParseFail::Syntax(reason) => CoreError::InvalidNumber { input, reason },
            ParseFail::Inexact => CoreError::Inexact {
                input,
                scale: SCALE,
            },
            ParseFail::Overflow => CoreError::Overflow(input),
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            ParseFail::Syntax(reason) => reason,
            ParseFail::Inexact => "more than 9 decimals",
            ParseFail::Overflow => "number out of range",
        }
    }
}

#[inline]
pub(crate) fn pow10_i128(e: u32) -> i128 {
    10i128.pow(e)
}

impl FromStr for Fixed {
    type Err = CoreError;
    fn from_str(s: &str) -> CoreResult<Self> {
        Fixed::parse(s)
    }
}

impl fmt::Display for Fixed {
    /// Normalised decimal text: no exponent, no trailing zeros (`"1670.1"`, `"5"`, `"-0.001"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let v = self.0.unsigned_abs();
        let int = v / ONE as u64;
        let mut frac = v % ONE as u64;
        if neg {
            f.write_str("-")?;
        }
        write!(f, "{int}")?;
        if frac != 0 {
            let mut width = SCALE as usize;
            while frac % 10 == 0 {
                frac /= 10;
                width -= 1;
            }
            write!(f, ".{frac:0width$}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fixed({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::edge_i64;
    use proptest::prelude::*;

    fn p(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    #[test]
    fn parses_plain_and_exponent_forms() {
        assert_eq!(p("1").raw(), ONE);
        assert_eq!(p("-0.5").raw(), -500_000_000);
        assert_eq!(p("+2.25").raw(), 2_250_000_000);
        assert_eq!(p(".5").raw(), 500_000_000);
        assert_eq!(p("5.").raw(), 5 * ONE);
        assert_eq!(p("1E+3").raw(), 1000 * ONE);
        assert_eq!(p("1.5e-7").raw(), 150);
        assert_eq!(p("0.000000001").raw(), 1);
        assert_eq!(p("0.0000000010000").raw(), 1);
        assert_eq!(p("0E-20").raw(), 0);
        assert_eq!(p("9223372036.854775807").raw(), i64::MAX);
    }

    #[test]
    fn rejects_what_is_not_exact() {
        assert!(matches!(
            Fixed::parse("0.0000000001"),
            Err(CoreError::Inexact { .. })
        ));
        assert!(matches!(
            Fixed::parse("9223372037"),
            Err(CoreError::Overflow(_))
        ));
        assert!(matches!(Fixed::parse("1e400"), Err(CoreError::Overflow(_))));
        for bad in [
            "", "-", ".", "NaN", "inf", "1..2", "1e", "1e+", "1x", " 1", "1 ", "--1", "0x10",
        ] {
            assert!(
                matches!(Fixed::parse(bad), Err(CoreError::InvalidNumber { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn long_inputs_with_trailing_zeros_are_exact() {
        let s = format!("1.{}", "0".repeat(60));
        assert_eq!(p(&s), Fixed::ONE);
        let s = format!("{}1", "0".repeat(60));
        assert_eq!(p(&s), Fixed::ONE);
    }

    #[test]
    fn displays_normalised() {
        assert_eq!(p("1670.10").to_string(), "1670.1");
        assert_eq!(p("5.000").to_string(), "5");
        assert_eq!(p("-0.001").to_string(), "-0.001");
        assert_eq!(
            Fixed::from_raw(i64::MIN).to_string(),
            "-9223372036.854775808"
        );
    }

    #[test]
    fn counts_decimals_and_significant_figures() {
        assert_eq!(p("1234.5").decimals(), 1);
        assert_eq!(p("1234.5").significant_figures(), 5);
        assert_eq!(p("0.001234").significant_figures(), 4);
        assert_eq!(p("123400").significant_figures(), 4);
    }

    #[test]
    fn scaled_round_trip() {
        assert_eq!(Fixed::from_scaled(311_800, 2).unwrap(), p("3118"));
        assert_eq!(p("3118").to_scaled(2), Some(311_800));
        assert_eq!(p("0.001").to_scaled(2), None);
        assert_eq!(
            Fixed::from_scaled(5, 12),
            Err(CoreError::Inexact {
                input: "5e-12".into(),
                scale: 9
            })
        );
        assert_eq!(Fixed::from_scaled(5000, 12).unwrap().raw(), 5);
    }

    #[test]
    fn extreme_scales_never_panic() {
        assert_eq!(Fixed::from_scaled(0, u32::MAX), Ok(Fixed::ZERO));
        assert!(matches!(
            Fixed::from_scaled(1, 48),
            Err(CoreError::Inexact { .. })
        ));
        assert!(matches!(
            Fixed::from_scaled(i64::MIN, u32::MAX),
            Err(CoreError::Inexact { .. })
        ));
        assert_eq!(Fixed::ZERO.to_scaled(60), Some(0));
        assert_eq!(Fixed::ONE.to_scaled(60), None);
        assert_eq!(
            Fixed::from_raw(i64::MIN).to_string(),
            "-9223372036.854775808"
        );
        assert_eq!(p("-9223372036.854775808").raw(), i64::MIN);
        assert!(matches!(
            Fixed::parse("-9223372036.854775809"),
            Err(CoreError::Overflow(_))
        ));
        assert!(matches!(
            Fixed::parse("9223372036.854775808"),
            Err(CoreError::Overflow(_))
        ));
        assert!(matches!(
            Fixed::parse("1e-2147483648"),
            Err(CoreError::Inexact { .. })
        ));
        assert!(matches!(
            Fixed::parse("1e99999999999"),
            Err(CoreError::Overflow(_))
        ));
        assert_eq!(p("0e99999999999"), Fixed::ZERO);
    }

    /// `v` as an i64, if it fits.
    fn fits(v: i128) -> Option<i64> {
        i64::try_from(v).ok()
    }

    proptest! {
        /// Sums, differences and products against an i128 oracle: exact, or refused.
        #[test]
        fn arithmetic_is_exact_or_refused(a in edge_i64(), b in edge_i64()) {
            let (x, y) = (Fixed::from_raw(a), Fixed::from_raw(b));
            let (wa, wb) = (i128::from(a), i128::from(b));
            prop_assert_eq!(x.checked_add(y).map(Fixed::raw), fits(wa + wb));
            prop_assert_eq!(x.checked_sub(y).map(Fixed::raw), fits(wa - wb));
            let clamp = |v: i128| v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
            prop_assert_eq!(x.saturating_add(y).raw(), clamp(wa + wb));
            prop_assert_eq!(x.saturating_sub(y).raw(), clamp(wa - wb));
            prop_assert_eq!(x.mul_wide(y), wa * wb);
            prop_assert_eq!(x.mul_trunc(y).map(Fixed::raw), fits(wa * wb / i128::from(ONE)));
        }

        #[test]
        fn from_int_is_exact_or_overflow(v in edge_i64()) {
            match fits(i128::from(v) * i128::from(ONE)) {
                Some(raw) => prop_assert_eq!(Fixed::from_int(v).unwrap().raw(), raw),
                None => prop_assert!(matches!(Fixed::from_int(v), Err(CoreError::Overflow(_)))),
            }
        }

        /// `m · 10^-d` for any mantissa and any number of decimals: exact, `Inexact` or
        /// `Overflow`, never a panic.
        #[test]
        fn from_scaled_is_exact_or_refused(m in edge_i64(), d in prop_oneof![0u32..60, Just(u32::MAX)]) {
            let got = Fixed::from_scaled(m, d);
            let wm = i128::from(m);
            if d <= SCALE {
                match fits(wm * pow10_i128(SCALE - d)) {
                    Some(raw) => prop_assert_eq!(got.unwrap().raw(), raw),
                    None => prop_assert!(matches!(got, Err(CoreError::Overflow(_)))),
                }
            } else if d - SCALE > 38 || wm % pow10_i128(d - SCALE) != 0 {
                if m == 0 {
                    prop_assert_eq!(got.unwrap(), Fixed::ZERO);
                } else {
                    prop_assert!(matches!(got, Err(CoreError::Inexact { .. })), "{:?}", got);
                }
            } else {
                prop_assert_eq!(i128::from(got.unwrap().raw()), wm / pow10_i128(d - SCALE));
            }
        }

        #[test]
        fn to_scaled_is_exact_or_none(raw in edge_i64(), d in 0u32..60) {
            let w = i128::from(raw);
            let want = if d >= SCALE {
                if d - SCALE > 38 {
                    (raw == 0).then_some(0)
                } else {
                    w.checked_mul(pow10_i128(d - SCALE)).and_then(fits)
                }
            } else {
                let unit = pow10_i128(SCALE - d);
                (w % unit == 0).then(|| (w / unit) as i64)
            };
            prop_assert_eq!(Fixed::from_raw(raw).to_scaled(d), want);
        }

        /// `m e x` read exactly, or refused as inexact or out of range (never a wrong value).
        #[test]
        fn parse_with_exponent_is_exact_or_refused(m in edge_i64(), e in -40i32..40) {
            let s = format!("{m}e{e}");
            let got = Fixed::parse(&s);
            let shift = e + SCALE as i32;
            let wm = i128::from(m);
            if m == 0 {
                prop_assert_eq!(got.unwrap(), Fixed::ZERO);
            } else if shift >= 0 {
                match wm.checked_mul(pow10_i128(shift.unsigned_abs().min(38))).filter(|_| shift <= 38).and_then(fits) {
                    Some(raw) => prop_assert_eq!(got.unwrap().raw(), raw, "{}", s),
                    None => prop_assert!(matches!(got, Err(CoreError::Overflow(_))), "{}: {:?}", s, got),
                }
            } else {
                let div = pow10_i128(shift.unsigned_abs());
                if wm % div == 0 {
                    prop_assert_eq!(got.unwrap().raw(), (wm / div) as i64);
                } else {
                    prop_assert!(matches!(got, Err(CoreError::Inexact { .. })), "{}: {:?}", s, got);
                }
            }
        }

        #[test]
        fn display_parse_round_trip_at_the_edges(raw in edge_i64()) {
            let f = Fixed::from_raw(raw);
            prop_assert_eq!(Fixed::parse(&f.to_string()).unwrap(), f);
            let padded = if raw % ONE == 0 { format!("{f}.000") } else { format!("{f}000") };
            prop_assert_eq!(Fixed::parse(&padded).unwrap(), f);
        }

        #[test]
        fn display_parse_round_trip(raw in any::<i64>()) {
            let f = Fixed::from_raw(raw);
            prop_assert_eq!(Fixed::parse(&f.to_string()).unwrap(), f);
        }

        #[test]
        fn parse_agrees_with_integer_arithmetic(int in -9_000_000_000i64..9_000_000_000, frac in 0u32..1_000_000_000) {
            let s = format!("{int}.{frac:09}");
            let sign = if int < 0 { -1 } else { 1 };
            prop_assert_eq!(Fixed::parse(&s).unwrap().raw(), int * ONE + sign * i64::from(frac));
        }
    }
}
