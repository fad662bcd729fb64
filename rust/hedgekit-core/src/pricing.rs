//! Pricing: the spread gate, limit prices from an offset, passive maker prices, the break-even
//! price of a hedge leg, and the adaptive ladder — all exact and on the instrument's grid.
//!
//! Basis points and fee rates are [`Fixed`] values (`1.5` bps, `0.00045` rate), so every
//! comparison and price is computed in integers.

use crate::error::{BookIntegrity, CoreError, CoreResult};
use crate::fixed::{Fixed, ONE};
use crate::instrument::{Instrument, Side};
use crate::rounding::Direction;

/// 10 000 bps in raw units of a `Fixed` bps value.
const BPS_DENOM: i128 = 10_000 * ONE as i128;

fn require_book(bid: Fixed, ask: Fixed) -> CoreResult<()> {
    if !bid.is_positive() || !ask.is_positive() {
        return Err(CoreError::InvalidArgument(format!(
            "bid {bid} and ask {ask} must be positive"
        )));
    }
    if bid >= ask {
        return Err(CoreError::BookIntegrity {
            kind: BookIntegrity::Crossed,
            detail: format!("bid {bid} is not below ask {ask}"),
        });
    }
    Ok(())
}

/// `v · num / den`, rounded in `dir`, for positive `v`, `num`, `den`.
fn mul_div(v: Fixed, num: i128, den: i128, dir: Direction) -> CoreResult<Fixed> {
    if num <= 0 || den <= 0 {
        return Err(CoreError::InvalidArgument(
            "offset or fee leaves a non-positive factor".into(),
        ));
    }
    let overflow = || CoreError::Overflow(format!("{v} scaled by {num}/{den}"));
    // Callers pass factors below 2⁶⁴, so the product fits an i128; checked all the same.
    let prod = i128::from(v.raw()).checked_mul(num).ok_or_else(overflow)?;
    let q = prod / den;
    let q = if dir == Direction::Up && prod % den != 0 {
        q + 1 // q ≤ prod < i128::MAX
    } else {
        q
    };
    i64::try_from(q)
        .map(Fixed::from_raw)
        .map_err(|_| overflow())
}

/// The spread of a book in bps of the mid, exactly compared: `(ask − bid) / mid · 10⁴ ≤ max_bps`.
///
/// A crossed or locked book (`bid ≥ ask`) or an empty side never passes.
pub fn spread_within(bid: Fixed, ask: Fixed, max_bps: Fixed) -> bool {
    if require_book(bid, ask).is_err() {
        return false;
    }
    // (ask − bid) · 2 · 10⁴ · 10⁹ ≤ max_bps_raw · (ask + bid), in i128: with 0 < bid < ask
    // ≤ 2⁶³ − 1 the left side is below 2⁶³ · 2 · 10¹³ < 2¹⁰⁸ and the right side's magnitude is
    // at most 2⁶³ · (2⁶⁴ − 2) < 2¹²⁷, so neither product can overflow.
    let lhs = (i128::from(ask.raw()) - i128::from(bid.raw())) * 2 * BPS_DENOM;
    let rhs = i128::from(max_bps.raw()) * (i128::from(ask.raw()) + i128::from(bid.raw()));
    lhs <= rhs
}

/// Separate limits on the spread for entering and for exiting a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpreadGate {
    /// The widest spread (bps of mid) at which a position may be opened.
    pub max_entry_bps: Fixed,
    /// The widest spread (bps of mid) at which a position may be closed passively.
    pub max_exit_bps: Fixed,
}

impl SpreadGate {
    /// A gate with both limits.
    ///
    /// # Errors
    /// `InvalidArgument` for a negative limit.
    pub fn new(max_entry_bps: Fixed, max_exit_bps: Fixed) -> CoreResult<Self> {
        if max_entry_bps.raw() < 0 || max_exit_bps.raw() < 0 {
            return Err(CoreError::InvalidArgument(
                "spread limits must not be negative".into(),
            ));
        }
        Ok(SpreadGate {
            max_entry_bps,
            max_exit_bps,
        })
    }

    /// True when the book's spread allows an entry.
    pub fn allows_entry(&self, bid: Fixed, ask: Fixed) -> bool {
        spread_within(bid, ask, self.max_entry_bps)
    }

    /// True when the book's spread allows an exit.
    pub fn allows_exit(&self, bid: Fixed, ask: Fixed) -> bool {
        spread_within(bid, ask, self.max_exit_bps)
    }
}

/// A limit price at `offset_bps` from the touch, on the grid.
///
/// A non-negative offset is passive, measured from the own side's touch (a buy at
/// `bid · (1 − o)`, a sell at `ask · (1 + o)`); a negative offset crosses, measured beyond the
/// opposite touch (a buy at `ask · (1 + |o|)`, a sell at `bid · (1 − |o|)`). A buy rounds down
/// and a sell up, so the price is never worse for us than the offset asks.
///
/// # Errors
/// `InvalidArgument` for a non-positive bid or ask; `BookIntegrity(crossed)` for `bid ≥ ask`;
/// `InvalidArgument` for an offset of ±10 000 bps or more on the side where it would make the
/// price non-positive; `InvalidOrder(non_positive_price)` when the price rounds down to zero;
/// `Overflow` when the price (or its rounding up onto the grid) leaves the representable range.
pub fn limit_price(
    inst: &Instrument,
    side: Side,
    bid: Fixed,
    ask: Fixed,
    offset_bps: Fixed,
) -> CoreResult<Fixed> {
    require_book(bid, ask)?;
    let o = i128::from(offset_bps.raw());
    let (reference, factor) = match (side, o >= 0) {
        (Side::Buy, true) => (bid, BPS_DENOM - o),
        (Side::Buy, false) => (ask, BPS_DENOM - o),
        (Side::Sell, true) => (ask, BPS_DENOM + o),
        (Side::Sell, false) => (bid, BPS_DENOM + o),
    };
    let dir = match side {
        Side::Buy => Direction::Down,
        Side::Sell => Direction::Up,
    };
    let raw = mul_div(reference, factor, BPS_DENOM, dir)?;
    inst.round_price_dir(raw, dir)
}

/// A post-only price that never crosses the opposite touch: the own touch, or one grid step
/// inside the spread when `improve` and there is room. A buy is always `< ask`, a sell `> bid`.
///
/// # Errors
/// `InvalidArgument` for a non-positive bid or ask; `BookIntegrity(crossed)` for `bid ≥ ask`;
/// `InvalidOrder(non_positive_price)` when no positive grid price fits; `Overflow` when the grid
/// price it needs is beyond the representable range.
pub fn maker_price(
    inst: &Instrument,
    side: Side,
    bid: Fixed,
    ask: Fixed,
    improve: bool,
) -> CoreResult<Fixed> {
    require_book(bid, ask)?;
    match side {
        Side::Buy => {
            let base = inst.round_price_dir(bid, Direction::Down)?;
            let mut p = if improve {
                inst.step_price(base, Direction::Up)?
            } else {
                base
            };
            if p >= ask {
                p = inst.step_price(ask, Direction::Down)?;
            }
            Ok(p)
        }
        Side::Sell => {
            let base = inst.round_price_dir(ask, Direction::Up)?;
            let mut p = if improve {
                inst.step_price(base, Direction::Down)?
            } else {
                base
            };
            if p <= bid {
                p = inst.step_price(bid, Direction::Up)?;
            }
            Ok(p)
        }
    }
}

/// The break-even price of a hedge leg: the price at which the hedge, after both legs' fees,
/// exactly offsets the reference leg's fill.
///
/// The other leg bought at `ref_price` (so the hedge sells): `p = ref · (1 + ref_fee) / (1 −
/// hedge_fee)`, rounded up. The other leg sold (the hedge buys): `p = ref · (1 − ref_fee) / (1 +
/// hedge_fee)`, rounded down. Fee rates are fractions (0.00045 = 4.5 bps); negative = rebate.
///
/// # Errors
/// `InvalidArgument` for a non-positive price or a fee rate that leaves a non-positive factor
/// (a hedge fee of 100% or more, or a rebate of 100% or more on the other leg);
/// `InvalidOrder(non_positive_price)` when the price rounds down to zero; `Overflow` when the
/// price leaves the representable range.
pub fn break_even_price(
    inst: &Instrument,
    hedge_side: Side,
    ref_price: Fixed,
    ref_fee_rate: Fixed,
    hedge_fee_rate: Fixed,
) -> CoreResult<Fixed> {
    if !ref_price.is_positive() {
        return Err(CoreError::InvalidArgument(format!(
            "reference price {ref_price} is not positive"
        )));
    }
    let one = i128::from(ONE);
    let (fr, fh) = (
        i128::from(ref_fee_rate.raw()),
        i128::from(hedge_fee_rate.raw()),
    );
    let (num, den, dir) = match hedge_side {
        Side::Sell => (one + fr, one - fh, Direction::Up),
        Side::Buy => (one - fr, one + fh, Direction::Down),
    };
    let raw = mul_div(ref_price, num, den, dir)?;
    inst.round_price_dir(raw, dir)
}

/// The adaptive ladder for an aggressive limit, from least to most aggressive, on the grid:
/// inside the spread (the mid rounded toward our side, if a grid price lies strictly inside),
/// the opposite touch, then beyond it by each of `cross_bps` (a buy at `ask · (1 + n)` rounded
/// down). Prices are strictly increasing for a buy and strictly decreasing for a sell
/// (duplicates from a coarse grid are dropped).
///
/// # Errors
/// `InvalidArgument` for a non-positive bid or ask or a negative step; `BookIntegrity(crossed)`
/// for `bid ≥ ask`; as [`limit_price`] for each step.
pub fn ladder(
    inst: &Instrument,
    side: Side,
    bid: Fixed,
    ask: Fixed,
    cross_bps: &[Fixed],
) -> CoreResult<Vec<Fixed>> {
    require_book(bid, ask)?;
    if cross_bps.iter().any(|b| b.raw() < 0) {
        return Err(CoreError::InvalidArgument(
            "ladder steps must not be negative".into(),
        ));
    }
    // 0 < bid < ask: the difference and the sum below cannot overflow.
    let mid = Fixed::from_raw(bid.raw() + (ask.raw() - bid.raw()) / 2);
    let mut out = Vec::with_capacity(cross_bps.len() + 2);
    let more_aggressive = |a: Fixed, b: Fixed| match side {
        Side::Buy => b > a,
        Side::Sell => b < a,
    };
    let push = |p: Fixed, out: &mut Vec<Fixed>| {
        if out.last().is_none_or(|&last| more_aggressive(last, p)) {
            out.push(p);
        }
    };
    let (touch, inside) = match side {
        Side::Buy => (
            ask,
            inst.round_price_dir(mid, Direction::Down)
                .ok()
                .filter(|&p| p > bid && p < ask),
        ),
        Side::Sell => (
            bid,
            inst.round_price_dir(mid, Direction::Up)
                .ok()
                .filter(|&p| p > bid && p < ask),
        ),
    };
    if let Some(p) = inside {
        push(p, &mut out);
    }
    push(touch, &mut out);
    for &n in cross_bps {
        // n ≥ 0 (checked above), so its negation cannot overflow.
        let p = limit_price(inst, side, bid, ask, Fixed::from_raw(-n.raw()))?;
        push(p, &mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{edge_grid, edge_i64};
    use proptest::prelude::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn tick01() -> Instrument {
        Instrument::plain(f("0.01"), f("0.001"), f("0.001"), f("5"), None, true).unwrap()
    }

    #[test]
    fn spread_gate_is_exact_and_refuses_crossed() {
        // spread 0.02 on mid 100.01 = 1.99980002 bps
        assert!(spread_within(f("100"), f("100.02"), f("2")));
        assert!(!spread_within(f("100"), f("100.02"), f("1.9998")));
        assert!(!spread_within(f("100"), f("100"), f("50")));
        assert!(!spread_within(f("101"), f("100"), f("500")));
        let g = SpreadGate::new(f("5"), f("20")).unwrap();
        assert!(!g.allows_entry(f("100"), f("100.1")));
        assert!(g.allows_exit(f("100"), f("100.1")));
    }

    #[test]
    fn offsets_passive_and_crossing() {
        let i = tick01();
        assert_eq!(
            limit_price(&i, Side::Buy, f("100"), f("100.1"), f("1")).unwrap(),
            f("99.99")
        );
        assert_eq!(
            limit_price(&i, Side::Sell, f("100"), f("100.1"), f("1")).unwrap(),
            f("100.12")
        );
        assert_eq!(
            limit_price(&i, Side::Buy, f("100"), f("100.1"), f("0")).unwrap(),
            f("100")
        );
        // -2 bps crosses 2 bps beyond the opposite touch
        assert_eq!(
            limit_price(&i, Side::Buy, f("100"), f("100.1"), f("-2")).unwrap(),
            f("100.12")
        );
        assert_eq!(
            limit_price(&i, Side::Sell, f("100"), f("100.1"), f("-2")).unwrap(),
            f("99.98")
        );
        assert!(limit_price(&i, Side::Buy, f("100"), f("100.1"), f("10000")).is_err());
    }

    #[test]
    fn maker_price_never_crosses() {
        let i = tick01();
        assert_eq!(
            maker_price(&i, Side::Buy, f("100"), f("100.1"), true).unwrap(),
            f("100.01")
        );
        assert_eq!(
            maker_price(&i, Side::Buy, f("100"), f("100.01"), true).unwrap(),
            f("100")
        );
        assert_eq!(
            maker_price(&i, Side::Sell, f("100"), f("100.01"), true).unwrap(),
            f("100.01")
        );
        assert_eq!(
            maker_price(&i, Side::Sell, f("100"), f("100.1"), false).unwrap(),
            f("100.1")
        );
        assert!(matches!(
            maker_price(&i, Side::Buy, f("100.1"), f("100"), false),
            Err(CoreError::BookIntegrity {
                kind: BookIntegrity::Crossed,
                ..
            })
        ));
    }

    #[test]
    fn break_even_covers_both_fees() {
        let i = Instrument::lighter(3, 3, f("0.001"), f("0"), false).unwrap();
        // bought at 514.000 paying 3.5 bps; hedge sells paying 0: 514·1.00035 = 514.1799 → up
        assert_eq!(
            break_even_price(&i, Side::Sell, f("514"), f("0.00035"), f("0")).unwrap(),
            f("514.18")
        );
        // sold at 514 paying 1 bp; hedge buys paying 4.5 bps: 514·0.9999/1.00045 = 513.717.. → down
        assert_eq!(
            break_even_price(&i, Side::Buy, f("514"), f("0.0001"), f("0.00045")).unwrap(),
            f("513.717")
        );
        assert!(break_even_price(&i, Side::Sell, f("514"), f("0"), f("1")).is_err());
    }

    #[test]
    fn ladder_goes_inside_touch_cross() {
        let i = tick01();
        let l = ladder(
            &i,
            Side::Buy,
            f("100"),
            f("100.1"),
            &[f("2"), f("5"), f("5.1")],
        )
        .unwrap();
        assert_eq!(l, vec![f("100.05"), f("100.1"), f("100.12"), f("100.15")]);
        let l = ladder(&i, Side::Sell, f("100"), f("100.01"), &[f("1")]).unwrap();
        assert_eq!(l, vec![f("100"), f("99.99")]);
    }

    /// A documented outcome, for the oracles below.
    #[derive(Debug, PartialEq, Eq)]
    enum Out {
        Price(i64),
        Overflow,
        NonPositivePrice,
        InvalidArgument,
        Crossed,
    }

    fn out(r: CoreResult<Fixed>) -> Out {
        match r {
            Ok(v) => Out::Price(v.raw()),
            Err(CoreError::Overflow(_)) => Out::Overflow,
            Err(CoreError::InvalidOrder {
                reason: crate::error::OrderRejection::NonPositivePrice,
                ..
            }) => Out::NonPositivePrice,
            Err(CoreError::InvalidArgument(_)) => Out::InvalidArgument,
            Err(CoreError::BookIntegrity {
                kind: BookIntegrity::Crossed,
                ..
            }) => Out::Crossed,
            Err(e) => panic!("undocumented error {e}"),
        }
    }

    /// `v · num / den` rounded in `up`'s direction, then onto the grid — all in i128.
    fn oracle_scaled(inst: &Instrument, v: i64, num: i128, den: i128, up: bool) -> Out {
        if num <= 0 || den <= 0 {
            return Out::InvalidArgument;
        }
        let prod = i128::from(v) * num; // |v| < 2⁶³, |num| < 2⁶⁴: fits
        let q = prod.div_euclid(den) + i128::from(up && prod.rem_euclid(den) != 0);
        let Ok(q) = i64::try_from(q) else {
            return Out::Overflow;
        };
        if q <= 0 {
            return Out::NonPositivePrice;
        }
        let g = i128::from(inst.price_grid_at(q));
        let w = i128::from(q);
        let r = (w.div_euclid(g) + i128::from(up && w.rem_euclid(g) != 0)) * g;
        if r > i128::from(i64::MAX) {
            Out::Overflow
        } else if r <= 0 {
            Out::NonPositivePrice
        } else {
            Out::Price(r as i64)
        }
    }

    fn edge_instrument() -> impl Strategy<Value = Instrument> {
        prop_oneof![
            (edge_grid()).prop_map(|t| Instrument::plain(
                Fixed::from_raw(t),
                Fixed::ONE,
                Fixed::ZERO,
                Fixed::ZERO,
                Some(9),
                false
            )
            .unwrap()),
            (0u32..=6)
                .prop_map(|sz| Instrument::hyperliquid(sz, false, Fixed::ZERO, false).unwrap()),
        ]
    }

    fn sides() -> impl Strategy<Value = Side> {
        prop_oneof![Just(Side::Buy), Just(Side::Sell)]
    }

    #[test]
    fn extreme_books_and_offsets_do_not_wrap() {
        let i = Instrument::plain(
            Fixed::from_raw(1),
            Fixed::ONE,
            Fixed::ZERO,
            Fixed::ZERO,
            None,
            false,
        )
        .unwrap();
        let (bid, ask) = (Fixed::from_raw(i64::MAX - 1), Fixed::MAX);
        assert!(matches!(
            maker_price(&i, Side::Buy, Fixed::from_raw(i64::MAX - 2), Fixed::MAX, true),
            Ok(p) if p.raw() == i64::MAX - 1
        ));
        assert!(matches!(
            limit_price(&i, Side::Buy, bid, ask, f("-1")),
            Err(CoreError::Overflow(_))
        ));
        assert!(matches!(
            limit_price(&i, Side::Sell, bid, ask, Fixed::MAX),
            Err(CoreError::Overflow(_))
        ));
        assert!(matches!(
            limit_price(&i, Side::Buy, bid, ask, Fixed::from_raw(i64::MIN)),
            Err(CoreError::Overflow(_))
        ));
        assert!(matches!(
            ladder(&i, Side::Buy, bid, ask, &[Fixed::MAX]),
            Err(CoreError::Overflow(_))
        ));
        assert!(matches!(
            break_even_price(&i, Side::Sell, Fixed::MAX, f("0.0001"), Fixed::ZERO),
            Err(CoreError::Overflow(_))
        ));
        assert!(spread_within(Fixed::from_raw(1), Fixed::MAX, Fixed::MAX));
        assert!(!spread_within(
            Fixed::from_raw(1),
            Fixed::MAX,
            f("19999.99")
        ));
    }

    proptest! {
        /// A limit price at any offset on any book, against an i128 oracle: exact, or one of the
        /// documented refusals — never a wrapped or saturated price.
        #[test]
        fn limit_price_at_the_edges(inst in edge_instrument(), side in sides(), bid in edge_i64(), ask in edge_i64(), o in edge_i64()) {
            let got = out(limit_price(&inst, side, Fixed::from_raw(bid), Fixed::from_raw(ask), Fixed::from_raw(o)));
            let want = if bid <= 0 || ask <= 0 {
                Out::InvalidArgument
            } else if bid >= ask {
                Out::Crossed
            } else {
                let o = i128::from(o);
                let (reference, num) = match (side, o >= 0) {
                    (Side::Buy, true) => (bid, BPS_DENOM - o),
                    (Side::Buy, false) => (ask, BPS_DENOM - o),
                    (Side::Sell, true) => (ask, BPS_DENOM + o),
                    (Side::Sell, false) => (bid, BPS_DENOM + o),
                };
                oracle_scaled(&inst, reference, num, BPS_DENOM, side == Side::Sell)
            };
            prop_assert_eq!(got, want);
        }

        #[test]
        fn break_even_at_the_edges(inst in edge_instrument(), side in sides(), px in edge_i64(), fr in edge_i64(), fh in edge_i64()) {
            let got = out(break_even_price(&inst, side, Fixed::from_raw(px), Fixed::from_raw(fr), Fixed::from_raw(fh)));
            let one = i128::from(ONE);
            let (fr, fh) = (i128::from(fr), i128::from(fh));
            let want = if px <= 0 {
                Out::InvalidArgument
            } else {
                match side {
                    Side::Sell => oracle_scaled(&inst, px, one + fr, one - fh, true),
                    Side::Buy => oracle_scaled(&inst, px, one - fr, one + fh, false),
                }
            };
            prop_assert_eq!(got, want);
        }

        /// The spread gate at any prices: exactly `(ask − bid) / mid · 10⁴ ≤ max_bps`, checked
        /// in rationals as `(ask − bid) · 2 · 10¹³ ≤ max_bps_raw · (ask + bid)` with u128 halves.
        #[test]
        fn spread_gate_at_the_edges(bid in edge_i64(), ask in edge_i64(), max_bps in edge_i64()) {
            let got = spread_within(Fixed::from_raw(bid), Fixed::from_raw(ask), Fixed::from_raw(max_bps));
            let want = bid > 0 && ask > bid && max_bps >= 0 && {
                let lhs = (ask as u128 - bid as u128) * 2 * 10_000 * ONE as u128;
                let rhs = max_bps as u128 * (ask as u128 + bid as u128);
                lhs <= rhs
            };
            prop_assert_eq!(got, want);
        }

        /// Maker prices and ladders at any book: on the grid, passive (or monotone), or a
        /// documented refusal; never a panic.
        #[test]
        fn maker_price_and_ladder_at_the_edges(inst in edge_instrument(), side in sides(), bid in edge_i64(), ask in edge_i64(), improve in any::<bool>(), steps in prop::collection::vec(edge_i64(), 0..4)) {
            match out(maker_price(&inst, side, Fixed::from_raw(bid), Fixed::from_raw(ask), improve)) {
                Out::Price(p) => {
                    prop_assert!(inst.is_price_on_grid(Fixed::from_raw(p)));
                    match side {
                        Side::Buy => prop_assert!(p < ask, "{} {}", p, ask),
                        Side::Sell => prop_assert!(p > bid, "{} {}", p, bid),
                    }
                }
                Out::InvalidArgument => prop_assert!(bid <= 0 || ask <= 0),
                Out::Crossed => prop_assert!(bid > 0 && bid >= ask),
                Out::Overflow | Out::NonPositivePrice => prop_assert!(bid > 0 && bid < ask),
            }
            let steps: Vec<Fixed> = steps.into_iter().map(Fixed::from_raw).collect();
            match ladder(&inst, side, Fixed::from_raw(bid), Fixed::from_raw(ask), &steps) {
                Ok(l) => {
                    // The touch is taken as it is (a venue's book is on its grid).
                    let touch = if side == Side::Buy { ask } else { bid };
                    prop_assert!(l.iter().all(|&p| p.raw() == touch || inst.is_price_on_grid(p)));
                    for w in l.windows(2) {
                        prop_assert!(if side == Side::Buy { w[1] > w[0] } else { w[1] < w[0] }, "{:?}", l);
                    }
                }
                Err(e) => {
                    let _ = out(Err(e));
                }
            }
        }

        #[test]
        fn maker_price_is_passive_and_on_grid(bid in 1_000i64..1_000_000, spread in 1i64..500, improve in any::<bool>(), buy in any::<bool>()) {
            let i = tick01();
            let (b, a) = (Fixed::from_raw(bid * 10_000_000), Fixed::from_raw((bid + spread) * 10_000_000));
            let side = if buy { Side::Buy } else { Side::Sell };
            let p = maker_price(&i, side, b, a, improve).unwrap();
            prop_assert!(i.is_price_on_grid(p));
            if buy { prop_assert!(p < a && p >= b) } else { prop_assert!(p > b && p <= a) }
        }

        #[test]
        fn ladder_is_monotone(bid in 1_000i64..1_000_000, spread in 1i64..500, steps in proptest::collection::vec(0i64..100_000_000_000, 0..5), buy in any::<bool>()) {
            let i = tick01();
            let (b, a) = (Fixed::from_raw(bid * 10_000_000), Fixed::from_raw((bid + spread) * 10_000_000));
            let side = if buy { Side::Buy } else { Side::Sell };
            let mut steps: Vec<Fixed> = steps.into_iter().map(Fixed::from_raw).collect();
            steps.sort();
            let l = ladder(&i, side, b, a, &steps).unwrap();
            for w in l.windows(2) {
                if buy { prop_assert!(w[1] > w[0]) } else { prop_assert!(w[1] < w[0]) }
            }
            prop_assert!(l.iter().all(|&p| i.is_price_on_grid(p)));
        }
    }
}
