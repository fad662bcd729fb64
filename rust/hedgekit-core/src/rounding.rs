//! Grid rounding and placeability checks for an [`Instrument`], and the common size of a pair.
//!
//! Rounding works on multiples of the grid (never on a number of decimals), side-aware: a
//! passive buy rounds down and a passive sell up, so a rounded price never improves on its input.

use crate::error::{CoreError, CoreResult, OrderRejection};
use crate::fixed::{Fixed, ONE, POW10};
use crate::instrument::{Instrument, RuleKind, Side, LIGHTER_MAX_BASE, LIGHTER_MAX_PRICE};

/// Which way to round onto the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Toward zero / the lower grid price.
    Down,
    /// Away from zero / the higher grid price.
    Up,
}

/// Rounding intent for a side: passive never pays more (buy down, sell up); aggressive makes
/// the order more marketable (buy up, sell down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggression {
    /// Buy rounds down, sell rounds up.
    Passive,
    /// Buy rounds up, sell rounds down.
    Aggressive,
}

impl Aggression {
    /// The grid direction for `side`.
    pub fn direction(self, side: Side) -> Direction {
        match (self, side) {
            (Aggression::Passive, Side::Buy) | (Aggression::Aggressive, Side::Sell) => {
                Direction::Down
            }
            _ => Direction::Up,
        }
    }
}

fn reject(reason: OrderRejection, detail: String) -> CoreError {
    CoreError::InvalidOrder { reason, detail }
}

/// `floor(v / g) · g` or `ceil(v / g) · g` for `v ≥ 0`, `g > 0`; `None` on overflow.
#[inline]
fn to_grid(v: i64, g: i64, dir: Direction) -> Option<i64> {
    let q = v / g;
    let r = v % g;
    let q = if r != 0 && dir == Direction::Up {
        q.checked_add(1)?
    } else {
        q
    };
    q.checked_mul(g)
}

impl Instrument {
    /// The price grid spacing (raw units) that applies at `price_raw > 0`.
    ///
    /// Plain and Lighter: the tick. Hyperliquid: `max(10^(k−4), 10^−decimals)` for a price in
    /// `[10^k, 10^(k+1))` (five significant figures, capped decimals), and never coarser than 1
    /// because integer prices are always valid.
    #[inline]
    pub fn price_grid_at(&self, price_raw: i64) -> i64 {
        match self.kind() {
            RuleKind::Hyperliquid { .. } => {
                let digits = price_raw.max(1).ilog10(); // price_raw in [10^digits, 10^(digits+1))
                let sig = if digits >= 4 {
                    POW10[(digits - 4) as usize]
                } else {
                    1
                };
                sig.max(self.tick_size().raw()).min(ONE)
            }
            _ => self.tick_size().raw(),
        }
    }

    /// Rounds a positive price onto the grid in `dir`.
    ///
    /// # Errors
    /// `InvalidOrder(non_positive_price)` for a price ≤ 0 or one that rounds down to 0;
    /// `Overflow` when rounding up leaves the range.
    pub fn round_price_dir(&self, price: Fixed, dir: Direction) -> CoreResult<Fixed> {
        let p = price.raw();
        if p <= 0 {
            return Err(reject(
                OrderRejection::NonPositivePrice,
                format!("price {price} is not positive"),
            ));
        }
        let g = self.price_grid_at(p);
        let r = to_grid(p, g, dir).ok_or_else(|| {
            CoreError::Overflow(format!(
                "rounding {price} up to the grid {} leaves the range",
                Fixed::from_raw(g)
            ))
        })?;
        if r <= 0 {
            return Err(reject(
                OrderRejection::NonPositivePrice,
                format!(
                    "price {price} rounds down to zero (grid {})",
                    Fixed::from_raw(g)
                ),
            ));
        }
        debug_assert!(
            self.is_price_on_grid(Fixed::from_raw(r)),
            "rounded price off grid"
        );
        Ok(Fixed::from_raw(r))
    }

    /// Rounds a price for `side`, passively (buy down, sell up) or aggressively.
    ///
    /// # Errors
    /// As [`Instrument::round_price_dir`].
    #[inline]
    pub fn round_price(
        &self,
        price: Fixed,
        side: Side,
        aggression: Aggression,
    ) -> CoreResult<Fixed> {
        self.round_price_dir(price, aggression.direction(side))
    }

    /// The next grid price strictly above (`Up`) or below (`Down`) `price`.
    ///
    /// # Errors
    /// `InvalidOrder(non_positive_price)` for a price ≤ 0 or when there is no positive grid
    /// price below; `Overflow` when there is no representable grid price above.
    pub fn step_price(&self, price: Fixed, dir: Direction) -> CoreResult<Fixed> {
        let on = self.round_price_dir(price, dir);
        match (on, dir) {
            (Ok(p), _) if p != price => Ok(p),
            (Ok(p), Direction::Up) => {
                let next = p.raw().checked_add(1).ok_or_else(|| {
                    CoreError::Overflow(format!("no grid price above {p} fits the range"))
                })?;
                self.round_price_dir(Fixed::from_raw(next), Direction::Up)
            }
            (Ok(p), Direction::Down) => {
                if p.raw() <= 1 {
                    return Err(reject(
                        OrderRejection::NonPositivePrice,
                        format!("no grid price below {p}"),
                    ));
                }
                self.round_price_dir(Fixed::from_raw(p.raw() - 1), Direction::Down)
            }
            (Err(e), _) => Err(e),
        }
    }

    /// True if `price` (> 0) is a valid price on this instrument's grid.
    pub fn is_price_on_grid(&self, price: Fixed) -> bool {
        let p = price.raw();
        p > 0 && p % self.price_grid_at(p) == 0
    }

    /// Floors a non-negative size to the step (the result may be zero).
    ///
    /// # Errors
    /// `InvalidOrder(non_positive_size)` for a negative size.
    pub fn floor_size(&self, size: Fixed) -> CoreResult<Fixed> {
        if size.raw() < 0 {
            return Err(reject(
                OrderRejection::NonPositiveSize,
                format!("size {size} is negative"),
            ));
        }
        let step = self.step_size().raw();
        Ok(Fixed::from_raw(size.raw() - size.raw() % step))
    }

    /// True when `size` cannot be traded here: after flooring to the step it is below the
    /// minimum quantity (or zero). Such a remainder is dust, to be recorded, not traded.
    pub fn is_dust(&self, size: Fixed) -> bool {
        match self.floor_size(size.max(Fixed::ZERO)) {
            Ok(f) => f.raw() == 0 || f < self.min_qty(),
            Err(_) => true,
        }
    }

    /// Says whether a limit order is placeable, and if not which rule fails first (in the
    /// venues' order: sign, decimals, price grid, size grid, wire range, minimum size, minimum
    /// notional). `price` is the limit price (for a market order: the price the venue uses for
    /// its notional check, e.g. the mark). Reduce-only orders skip the minimum notional where
    /// the venue exempts them.
    ///
    /// # Errors
    /// `InvalidOrder` with the failing rule and the values involved.
    pub fn check(&self, price: Fixed, size: Fixed, reduce_only: bool) -> CoreResult<()> {
        if !price.is_positive() {
            return Err(reject(
                OrderRejection::NonPositivePrice,
                format!("price {price} is not positive"),
            ));
        }
        if !size.is_positive() {
            return Err(reject(
                OrderRejection::NonPositiveSize,
                format!("size {size} is not positive"),
            ));
        }
        if matches!(self.kind(), RuleKind::Plain) && price.decimals() > self.max_decimals() {
            return Err(reject(
                OrderRejection::TooManyDecimals,
                format!(
                    "price {price} has more than {} decimals",
                    self.max_decimals()
                ),
            ));
        }
        if !self.is_price_on_grid(price) {
            return Err(reject(
                OrderRejection::OffTick,
                format!(
                    "price {price} is not a multiple of {}",
                    Fixed::from_raw(self.price_grid_at(price.raw()))
                ),
            ));
        }
        if size.raw() % self.step_size().raw() != 0 {
            return Err(reject(
                OrderRejection::OffStep,
                format!("size {size} is not a multiple of {}", self.step_size()),
            ));
        }
        if let RuleKind::Lighter { .. } = self.kind() {
            let p = price.raw() / self.tick_size().raw();
            let s = size.raw() / self.step_size().raw();
            if p > LIGHTER_MAX_PRICE || s > LIGHTER_MAX_BASE {
                return Err(reject(
                    OrderRejection::OutOfRange,
                    format!("price {price} or size {size} exceeds Lighter's integer range"),
                ));
            }
        }
        if size < self.min_qty() {
            return Err(reject(
                OrderRejection::BelowMinSize,
                format!("size {size} is below the minimum {}", self.min_qty()),
            ));
        }
        if !(reduce_only && self.reduce_only_exempt())
            && below_notional(price, size, self.min_notional())
        {
            return Err(reject(
                OrderRejection::BelowMinNotional,
                format!(
                    "notional {} x {} is below the minimum {}",
                    price,
                    size,
                    self.min_notional()
                ),
            ));
        }
        Ok(())
    }
}

/// `price · size < min_notional`, exactly.
#[inline]
pub fn below_notional(price: Fixed, size: Fixed, min_notional: Fixed) -> bool {
    price.mul_wide(size) < i128::from(min_notional.raw()) * i128::from(ONE)
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The largest size ≤ `target` that is a valid order size on every instrument, so that the legs
/// of a pair start equal. With `prices` (one per instrument), the minimum notional is checked
/// too (as a non-reduce-only order).
///
/// # Errors
/// `InvalidArgument` for no instruments, a prices list of the wrong length, or a negative
/// target; `InvalidOrder(below_min_size | below_min_notional)` naming the instrument (by index)
/// when no such size exists; `Overflow` when the common step does not fit.
pub fn common_size(
    instruments: &[&Instrument],
    target: Fixed,
    prices: Option<&[Fixed]>,
) -> CoreResult<Fixed> {
    if instruments.is_empty() {
        return Err(CoreError::InvalidArgument(
            "common_size needs at least one instrument".into(),
        ));
    }
    if target.raw() < 0 {
        return Err(CoreError::InvalidArgument(format!(
            "target size {target} is negative"
        )));
    }
    if let Some(p) = prices {
        if p.len() != instruments.len() {
            return Err(CoreError::InvalidArgument(format!(
                "{} prices given for {} instruments",
                p.len(),
                instruments.len()
            )));
        }
    }
    let mut lcm: i64 = 1;
    for inst in instruments {
        let s = inst.step_size().raw();
        lcm = (lcm / gcd(lcm, s))
            .checked_mul(s)
            .ok_or_else(|| CoreError::Overflow("the common step of the instruments".into()))?;
    }
    let size = Fixed::from_raw(target.raw() - target.raw() % lcm);
    for (i, inst) in instruments.iter().enumerate() {
        if size < inst.min_qty() || size.raw() == 0 {
            return Err(reject(
                OrderRejection::BelowMinSize,
                format!(
                    "instrument #{i}: common size {size} (target {target}, common step {}) is below its minimum {}",
                    Fixed::from_raw(lcm),
                    inst.min_qty()
                ),
            ));
        }
        if let Some(p) = prices {
            if below_notional(p[i], size, inst.min_notional()) {
                return Err(reject(
                    OrderRejection::BelowMinNotional,
                    format!(
                        "instrument #{i}: common size {size} at {} is below its minimum notional {}",
                        p[i],
                        inst.min_notional()
                    ),
                ));
            }
        }
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{edge_grid, edge_i64};
    use proptest::prelude::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn aster() -> Instrument {
        Instrument::plain(f("0.01"), f("0.001"), f("0.001"), f("5"), None, true).unwrap()
    }

    fn hl(sz: u32) -> Instrument {
        Instrument::hyperliquid(sz, false, f("10"), false).unwrap()
    }

    fn lighter() -> Instrument {
        Instrument::lighter(2, 4, f("0.005"), f("10"), false).unwrap()
    }

    fn reason(r: CoreResult<()>) -> Option<OrderRejection> {
        match r {
            Err(CoreError::InvalidOrder { reason, .. }) => Some(reason),
            Ok(()) => None,
            Err(e) => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn plain_rounds_side_aware() {
        let i = aster();
        assert_eq!(
            i.round_price(f("100.005"), Side::Buy, Aggression::Passive)
                .unwrap(),
            f("100")
        );
        assert_eq!(
            i.round_price(f("100.005"), Side::Sell, Aggression::Passive)
                .unwrap(),
            f("100.01")
        );
        assert_eq!(
            i.round_price(f("100.005"), Side::Buy, Aggression::Aggressive)
                .unwrap(),
            f("100.01")
        );
        assert_eq!(
            i.round_price(f("100.01"), Side::Sell, Aggression::Passive)
                .unwrap(),
            f("100.01")
        );
        assert_eq!(i.floor_size(f("2.3329")).unwrap(), f("2.332"));
    }

    #[test]
    fn hyperliquid_examples_from_the_docs() {
        let i = hl(0); // 6 decimals allowed
        for ok in ["1234.5", "0.001234", "123456", "100000", "0.1"] {
            assert!(i.is_price_on_grid(f(ok)), "{ok}");
        }
        for bad in ["1234.56", "0.0012345", "12345.6"] {
            assert!(!i.is_price_on_grid(f(bad)), "{bad}");
        }
        let i1 = hl(1); // 5 decimals
        assert!(i1.is_price_on_grid(f("0.01234")));
        assert!(!i1.is_price_on_grid(f("0.012345")));
        assert_eq!(
            i.round_price_dir(f("123456.7"), Direction::Down).unwrap(),
            f("123456")
        );
        assert_eq!(
            i.round_price_dir(f("1234.56"), Direction::Up).unwrap(),
            f("1234.6")
        );
        assert_eq!(
            i.round_price_dir(f("99999.5"), Direction::Up).unwrap(),
            f("100000")
        );
        assert_eq!(
            i.round_price_dir(f("9.999951"), Direction::Up).unwrap(),
            f("10")
        );
        assert_eq!(i.step_price(f("10"), Direction::Down).unwrap(), f("9.9999"));
        assert_eq!(i.step_price(f("10"), Direction::Up).unwrap(), f("10.001"));
        assert_eq!(
            hl(5)
                .round_price_dir(f("0.0000004"), Direction::Up)
                .unwrap(),
            f("0.1")
        );
        assert_eq!(hl(5).floor_size(f("0.123456")).unwrap(), f("0.12345"));
    }

    #[test]
    fn check_names_the_failing_rule() {
        let a = aster();
        assert_eq!(reason(a.check(f("100.01"), f("0.05"), false)), None);
        assert_eq!(
            reason(a.check(f("100.001"), f("1"), false)),
            Some(OrderRejection::TooManyDecimals)
        );
        let coarse = Instrument::plain(f("0.05"), f("1"), f("1"), f("0"), None, false).unwrap();
        assert_eq!(
            reason(coarse.check(f("100.01"), f("1"), false)),
            Some(OrderRejection::OffTick)
        );
        assert_eq!(
            reason(a.check(f("100"), f("0.0005"), false)),
            Some(OrderRejection::OffStep)
        );
        assert_eq!(
            reason(a.check(f("100"), f("0.001"), false)),
            Some(OrderRejection::BelowMinNotional)
        );
        assert_eq!(
            reason(a.check(f("100"), f("0.001"), true)),
            None,
            "Aster exempts reduce-only"
        );
        assert_eq!(
            reason(a.check(f("0"), f("1"), false)),
            Some(OrderRejection::NonPositivePrice)
        );
        assert_eq!(
            reason(a.check(f("1"), f("-1"), false)),
            Some(OrderRejection::NonPositiveSize)
        );
        let l = lighter();
        assert_eq!(reason(l.check(f("513.71"), f("0.021"), false)), None);
        assert_eq!(
            reason(l.check(f("513.71"), f("0.0021"), false)),
            Some(OrderRejection::BelowMinSize)
        );
        assert_eq!(
            reason(l.check(f("513.71"), f("0.0191"), false)),
            Some(OrderRejection::BelowMinNotional)
        );
        assert_eq!(
            reason(l.check(f("50000000"), f("1"), false)),
            Some(OrderRejection::OutOfRange)
        );
        assert_eq!(
            reason(hl(3).check(f("3000"), f("0.003"), false)),
            Some(OrderRejection::BelowMinNotional)
        );
        assert_eq!(reason(hl(2).check(f("3000.5"), f("1"), false)), None);
        assert_eq!(
            reason(hl(2).check(f("3000.55"), f("1"), false)),
            Some(OrderRejection::OffTick)
        );
    }

    #[test]
    fn common_size_is_valid_on_both_venues() {
        let (a, l) = (aster(), lighter());
        assert_eq!(
            common_size(&[&a, &l], f("2.3329"), None).unwrap(),
            f("2.332")
        );
        let coarse = Instrument::plain(f("0.01"), f("0.3"), f("0.3"), f("0"), None, false).unwrap();
        let fine = Instrument::plain(f("0.01"), f("0.2"), f("0.2"), f("0"), None, false).unwrap();
        assert_eq!(
            common_size(&[&coarse, &fine], f("1.9"), None).unwrap(),
            f("1.8")
        );
        assert!(matches!(
            common_size(&[&a, &l], f("0.004"), None),
            Err(CoreError::InvalidOrder {
                reason: OrderRejection::BelowMinSize,
                ..
            })
        ));
        assert!(matches!(
            common_size(&[&a, &l], f("0.01"), Some(&[f("500"), f("500")])),
            Err(CoreError::InvalidOrder {
                reason: OrderRejection::BelowMinNotional,
                ..
            })
        ));
    }

    fn instruments() -> impl Strategy<Value = Instrument> {
        prop_oneof![
            (1i64..5, 0u32..6, 0u32..6).prop_map(|(m, tdec, sdec)| {
                let tick = Fixed::from_raw(m * POW10[(9 - tdec) as usize]);
                let step = Fixed::from_raw(POW10[(9 - sdec) as usize]);
                Instrument::plain(tick, step, step, Fixed::ZERO, Some(9), false).unwrap()
            }),
            (0u32..6)
                .prop_map(|sz| Instrument::hyperliquid(sz, false, Fixed::ZERO, false).unwrap()),
            (0u32..7, 0u32..7).prop_map(|(p, s)| Instrument::lighter(
                p,
                s,
                Fixed::ZERO,
                Fixed::ZERO,
                false
            )
            .unwrap()),
        ]
    }

    #[test]
    fn stepping_past_the_largest_price_is_an_overflow_not_a_wrap() {
        // The reported bug: 9223372036.854775807 + 1 tick wrapped to −9223372036.854775808.
        let fine = Instrument::plain(
            Fixed::from_raw(1),
            Fixed::ONE,
            Fixed::ZERO,
            Fixed::ZERO,
            None,
            false,
        )
        .unwrap();
        assert!(matches!(
            fine.step_price(Fixed::MAX, Direction::Up),
            Err(CoreError::Overflow(_))
        ));
        assert_eq!(
            fine.step_price(Fixed::MAX, Direction::Down).unwrap().raw(),
            i64::MAX - 1
        );
        assert_eq!(
            fine.round_price_dir(Fixed::MAX, Direction::Up).unwrap(),
            Fixed::MAX
        );
        let coarse = Instrument::plain(f("0.01"), f("1"), f("0"), f("0"), None, false).unwrap();
        assert!(matches!(
            coarse.round_price_dir(Fixed::MAX, Direction::Up),
            Err(CoreError::Overflow(_))
        ));
        assert!(matches!(
            coarse.step_price(f("9223372036.85"), Direction::Up),
            Err(CoreError::Overflow(_))
        ));
        for sz in 0..=6 {
            let i = Instrument::hyperliquid(sz, sz > 5, Fixed::ZERO, false).unwrap();
            let top = i.round_price_dir(Fixed::MAX, Direction::Down).unwrap();
            assert!(matches!(
                i.step_price(top, Direction::Up),
                Err(CoreError::Overflow(_))
            ));
        }
        let step =
            Instrument::plain(f("1"), Fixed::MAX, Fixed::ZERO, Fixed::ZERO, None, false).unwrap();
        let other = Instrument::plain(
            f("1"),
            Fixed::from_raw(i64::MAX - 1),
            Fixed::ZERO,
            Fixed::ZERO,
            None,
            false,
        )
        .unwrap();
        assert!(matches!(
            common_size(&[&step, &other], Fixed::MAX, None),
            Err(CoreError::Overflow(_))
        ));
    }

    /// What an operation must give: an exact value or one of the documented refusals.
    #[derive(Debug, PartialEq, Eq)]
    enum Want {
        Value(i64),
        Overflow,
        NonPositivePrice,
    }

    fn got(r: CoreResult<Fixed>) -> Want {
        match r {
            Ok(v) => Want::Value(v.raw()),
            Err(CoreError::Overflow(_)) => Want::Overflow,
            Err(CoreError::InvalidOrder {
                reason: OrderRejection::NonPositivePrice,
                ..
            }) => Want::NonPositivePrice,
            Err(e) => panic!("undocumented error {e}"),
        }
    }

    fn want(v: i128) -> Want {
        if v > i128::from(i64::MAX) {
            Want::Overflow
        } else if v <= 0 {
            Want::NonPositivePrice
        } else {
            Want::Value(v as i64)
        }
    }

    /// `v` rounded onto multiples of `g` in i128 (no overflow possible).
    fn oracle_grid(v: i64, g: i64, up: bool) -> i128 {
        let (v, g) = (i128::from(v), i128::from(g));
        let q = v.div_euclid(g);
        (if up && v.rem_euclid(g) != 0 { q + 1 } else { q }) * g
    }

    /// Instruments whose grids reach from 10⁻⁹ to the largest value.
    fn edge_instruments() -> impl Strategy<Value = Instrument> {
        prop_oneof![
            3 => (edge_grid(), edge_grid()).prop_map(|(t, s)| {
                Instrument::plain(Fixed::from_raw(t), Fixed::from_raw(s), Fixed::from_raw(s), Fixed::ZERO, Some(9), false).unwrap()
            }),
            1 => (0u32..=6, any::<bool>()).prop_filter_map("sz fits", |(sz, spot)| Instrument::hyperliquid(sz, spot, Fixed::ZERO, false).ok()),
            1 => (0u32..=9, 0u32..=9).prop_map(|(p, s)| Instrument::lighter(p, s, Fixed::ZERO, Fixed::ZERO, false).unwrap()),
        ]
    }

    /// An instrument and a price: anywhere in the range, or on or next to the instrument's
    /// highest grid prices (where stepping up has nowhere to go).
    fn instrument_and_price() -> impl Strategy<Value = (Instrument, i64)> {
        edge_instruments().prop_flat_map(|inst| {
            let g = inst.price_grid_at(i64::MAX);
            let top = i64::MAX / g * g;
            let price = prop_oneof![
                2 => edge_i64(),
                1 => (0i64..3).prop_map(move |k| top.saturating_sub(k.saturating_mul(g))),
                1 => (-2i64..=2).prop_map(move |d| top.saturating_add(d)),
            ];
            (Just(inst), price)
        })
    }

    proptest! {
        /// Rounding at any price and any grid, against an i128 oracle: the exact grid price,
        /// or `Overflow` past the largest value, or `non_positive_price` — never a wrapped value.
        #[test]
        fn rounding_at_the_edges_is_exact_or_refused((inst, raw) in instrument_and_price(), up in any::<bool>()) {
            let dir = if up { Direction::Up } else { Direction::Down };
            let r = got(inst.round_price_dir(Fixed::from_raw(raw), dir));
            if raw <= 0 {
                prop_assert_eq!(r, Want::NonPositivePrice);
            } else {
                prop_assert_eq!(r, want(oracle_grid(raw, inst.price_grid_at(raw), up)));
            }
        }

        /// The next grid price strictly above or below, at any price: exact, `Overflow` when
        /// none fits above, `non_positive_price` when none is left below. On a fixed grid (plain,
        /// Lighter) the oracle is `(⌊p/g⌋ + 1)·g` up and `(⌈p/g⌉ − 1)·g` down.
        #[test]
        fn stepping_at_the_edges_is_exact_or_refused((inst, raw) in instrument_and_price(), up in any::<bool>()) {
            let dir = if up { Direction::Up } else { Direction::Down };
            let r = got(inst.step_price(Fixed::from_raw(raw), dir));
            if raw <= 0 {
                prop_assert_eq!(r, Want::NonPositivePrice);
            } else if matches!(inst.kind(), RuleKind::Hyperliquid { .. }) {
                // A grid that coarsens with the price: the result is on the grid, strictly
                // beyond the price, and refused only when nothing on the grid lies that way.
                match r {
                    Want::Value(v) => {
                        prop_assert!(inst.is_price_on_grid(Fixed::from_raw(v)));
                        prop_assert!(if up { v > raw } else { v < raw }, "{} -> {}", raw, v);
                    }
                    Want::Overflow => {
                        prop_assert!(up);
                        let top = inst.round_price_dir(Fixed::MAX, Direction::Down).unwrap();
                        prop_assert!(raw >= top.raw());
                    }
                    Want::NonPositivePrice => {
                        prop_assert!(!up);
                        let bottom = inst.round_price_dir(Fixed::from_raw(1), Direction::Up).unwrap();
                        prop_assert!(raw <= bottom.raw());
                    }
                }
            } else {
                let g = i128::from(inst.tick_size().raw());
                let p = i128::from(raw);
                let next = if up { (p.div_euclid(g) + 1) * g } else { (-((-p).div_euclid(g)) - 1) * g };
                prop_assert_eq!(r, want(next), "{} step {:?} on {}", raw, dir, g);
            }
        }

        #[test]
        fn floor_size_at_the_edges(inst in edge_instruments(), raw in edge_i64()) {
            match inst.floor_size(Fixed::from_raw(raw)) {
                Ok(s) => {
                    prop_assert!(raw >= 0);
                    prop_assert_eq!(i128::from(s.raw()), oracle_grid(raw, inst.step_size().raw(), false));
                }
                Err(CoreError::InvalidOrder { reason: OrderRejection::NonPositiveSize, .. }) => prop_assert!(raw < 0),
                Err(e) => prop_assert!(false, "undocumented error {}", e),
            }
            let _ = inst.is_dust(Fixed::from_raw(raw));
        }

        /// `check` never panics and, when it passes, every rule holds exactly.
        #[test]
        fn check_at_the_edges(inst in edge_instruments(), p in edge_i64(), s in edge_i64(), mn in edge_i64(), ro in any::<bool>()) {
            let inst = match inst.kind() {
                RuleKind::Plain => Instrument::plain(inst.tick_size(), inst.step_size(), inst.min_qty(), Fixed::from_raw(mn.max(0)), Some(9), false).unwrap(),
                _ => inst,
            };
            match inst.check(Fixed::from_raw(p), Fixed::from_raw(s), ro) {
                Ok(()) => {
                    prop_assert!(p > 0 && s > 0 && inst.is_price_on_grid(Fixed::from_raw(p)));
                    prop_assert_eq!(s % inst.step_size().raw(), 0);
                    prop_assert!(s >= inst.min_qty().raw());
                    prop_assert!(i128::from(p) * i128::from(s) >= i128::from(inst.min_notional().raw()) * i128::from(ONE));
                }
                Err(CoreError::InvalidOrder { .. }) => {}
                Err(e) => prop_assert!(false, "undocumented error {}", e),
            }
        }

        /// The common size against an i128 oracle of the common step: exact or `Overflow`.
        #[test]
        fn common_size_at_the_edges(a in edge_grid(), b in edge_grid(), target in edge_i64()) {
            let ia = Instrument::plain(Fixed::ONE, Fixed::from_raw(a), Fixed::ZERO, Fixed::ZERO, None, false).unwrap();
            let ib = Instrument::plain(Fixed::ONE, Fixed::from_raw(b), Fixed::ZERO, Fixed::ZERO, None, false).unwrap();
            let r = common_size(&[&ia, &ib], Fixed::from_raw(target), None);
            let (wa, wb) = (i128::from(a), i128::from(b));
            let mut g = (wa, wb);
            while g.1 != 0 { g = (g.1, g.0 % g.1); }
            let lcm = wa / g.0 * wb;
            if target < 0 {
                prop_assert!(matches!(r, Err(CoreError::InvalidArgument(_))), "{:?}", r);
            } else if lcm > i128::from(i64::MAX) {
                prop_assert!(matches!(r, Err(CoreError::Overflow(_))), "{:?}", r);
            } else {
                let size = oracle_grid(target, lcm as i64, false);
                if size == 0 {
                    prop_assert!(matches!(r, Err(CoreError::InvalidOrder { reason: OrderRejection::BelowMinSize, .. })), "{:?}", r);
                } else {
                    prop_assert_eq!(i128::from(r.unwrap().raw()), size);
                }
            }
        }

        #[test]
        fn rounding_is_idempotent_on_grid_and_never_improves(inst in instruments(), raw in 1i64..1_000_000_000_000_000, up in any::<bool>()) {
            let dir = if up { Direction::Up } else { Direction::Down };
            let p = Fixed::from_raw(raw);
            if let Ok(r) = inst.round_price_dir(p, dir) {
                prop_assert!(inst.is_price_on_grid(r));
                prop_assert_eq!(inst.round_price_dir(r, Direction::Up).unwrap(), r);
                prop_assert_eq!(inst.round_price_dir(r, Direction::Down).unwrap(), r);
                if up { prop_assert!(r >= p) } else { prop_assert!(r <= p) }
                // nothing on the grid lies strictly between p and r
                if r != p {
                    let other = inst.step_price(r, if up { Direction::Down } else { Direction::Up });
                    if let Ok(o) = other {
                        if up { prop_assert!(o < p) } else { prop_assert!(o > p) }
                    }
                }
            }
        }

        #[test]
        fn rounding_is_monotone(inst in instruments(), a in 1i64..1_000_000_000_000_000, b in 1i64..1_000_000_000_000_000, up in any::<bool>()) {
            let dir = if up { Direction::Up } else { Direction::Down };
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            if let (Ok(x), Ok(y)) = (inst.round_price_dir(Fixed::from_raw(lo), dir), inst.round_price_dir(Fixed::from_raw(hi), dir)) {
                prop_assert!(x <= y);
            }
        }

        #[test]
        fn floor_size_on_step_and_not_above(inst in instruments(), raw in 0i64..1_000_000_000_000_000) {
            let s = inst.floor_size(Fixed::from_raw(raw)).unwrap();
            prop_assert!(s.raw() <= raw && raw - s.raw() < inst.step_size().raw());
            prop_assert_eq!(s.raw() % inst.step_size().raw(), 0);
        }

        #[test]
        fn common_size_is_largest_valid(a in instruments(), b in instruments(), raw in 0i64..100_000_000_000_000) {
            let target = Fixed::from_raw(raw);
            if let Ok(s) = common_size(&[&a, &b], target, None) {
                prop_assert!(s <= target);
                prop_assert_eq!(s.raw() % a.step_size().raw(), 0);
                prop_assert_eq!(s.raw() % b.step_size().raw(), 0);
                // the next common grid size is above the target
                let (sa, sb) = (a.step_size().raw(), b.step_size().raw());
                let lcm = sa / gcd(sa, sb) * sb;
                prop_assert!(s.raw() + lcm > raw);
            }
        }
    }
}
