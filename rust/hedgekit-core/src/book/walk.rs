//! The depth walk: what a taker of a given size would pay, and how much liquidity sits near the
//! top of the book.
//!
//! Costs are exact (`i128` Σ price·qty at scale 10⁻¹⁸); the VWAP is rounded toward the worse
//! price for the taker; slippage and scores are `f64` statistics.

use super::{Level, OrderBook, Side};
use crate::error::{CoreError, CoreResult};
use crate::fixed::{Fixed, ONE};

/// The side of the taker (the order side): a buy walks the asks, a sell walks the bids.
pub use crate::instrument::Side as TakerSide;

impl TakerSide {
    /// The book side this taker consumes.
    pub fn book_side(self) -> Side {
        match self {
            TakerSide::Buy => Side::Ask,
            TakerSide::Sell => Side::Bid,
        }
    }
}

/// The result of walking the book for a size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthWalk {
    /// The taker's side.
    pub side: TakerSide,
    /// The size asked for.
    pub wanted: Fixed,
    /// The size the book could fill (≤ `wanted`).
    pub filled: Fixed,
    /// Σ price·qty of the fill, exact, at scale 10⁻¹⁸.
    pub cost: i128,
    /// `cost / filled`, rounded toward the worse price for the taker (up for a buy, down for a
    /// sell); `None` when nothing could be filled.
    pub vwap: Option<Fixed>,
    /// The best price of the walked side.
    pub best_price: Option<Fixed>,
    /// The last (worst) price the fill touched.
    pub worst_price: Option<Fixed>,
    /// True when the book held the whole size.
    pub complete: bool,
}

impl DepthWalk {
    /// The exact VWAP as `f64`.
    fn vwap_f64(&self) -> Option<f64> {
        (self.filled.raw() > 0).then(|| self.cost as f64 / self.filled.raw() as f64 / ONE as f64)
    }

    /// Slippage of the VWAP against `reference`, in bps, positive when worse for the taker.
    pub fn slippage_vs_bps(&self, reference: Fixed) -> Option<f64> {
        let v = self.vwap_f64()?;
        let r = reference.to_f64();
        if r <= 0.0 {
            return None;
        }
        let d = match self.side {
            TakerSide::Buy => v - r,
            TakerSide::Sell => r - v,
        };
        Some(d / r * 1e4)
    }

    /// Slippage of the VWAP against the best price of the walked side, in bps (≥ 0).
    pub fn slippage_bps(&self) -> Option<f64> {
        self.slippage_vs_bps(self.best_price?)
    }
}

fn positive(v: Fixed, what: &str) -> CoreResult<()> {
    if v.raw() <= 0 {
        return Err(CoreError::InvalidArgument(format!(
            "{what} must be positive, got {v}"
        )));
    }
    Ok(())
}

impl OrderBook {
    fn walk_levels(&self, side: TakerSide) -> impl Iterator<Item = Level> + '_ {
        self.levels(side.book_side())
    }

    /// Walks the book for a taker of `size`.
    ///
    /// Exact at any size: the quantities taken sum to at most `size` (< 2⁶³), so the cost is
    /// below 2⁶³ · 2⁶³ = 2¹²⁶ and fits its `i128`; the VWAP lies between the best and the worst
    /// price touched.
    ///
    /// # Errors
    /// `InvalidArgument` when `size` is not positive.
    pub fn walk(&self, side: TakerSide, size: Fixed) -> CoreResult<DepthWalk> {
        positive(size, "size")?;
        let overflow = || CoreError::Overflow(format!("walking the book for {size}"));
        let mut left = size.raw();
        let mut cost: i128 = 0;
        let mut worst = None;
        for l in self.walk_levels(side) {
            if left == 0 {
                break;
            }
            let take = left.min(l.size.raw());
            cost = cost
                .checked_add(i128::from(l.price.raw()) * i128::from(take))
                .ok_or_else(overflow)?;
            left -= take; // 0 ≤ take ≤ left
            worst = Some(l.price);
        }
        let filled = size.raw() - left; // 0 ≤ left ≤ size
        let vwap = if filled > 0 {
            let f = i128::from(filled);
            let v = match side {
                TakerSide::Buy => cost / f + i128::from(cost % f != 0),
                TakerSide::Sell => cost / f,
            };
            Some(
                i64::try_from(v)
                    .map(Fixed::from_raw)
                    .map_err(|_| overflow())?,
            )
        } else {
            None
        };
        Ok(DepthWalk {
            side,
            wanted: size,
            filled: Fixed::from_raw(filled),
            cost,
            vwap,
            best_price: self.ladder(side.book_side()).best().map(|l| l.price),
            worst_price: worst,
            complete: left == 0,
        })
    }

    /// The total size a taker can get at prices within `bps` of the best price of the walked
    /// side (inclusive, exact: a buy takes asks with `price ≤ best · (1 + bps/10⁴)`).
    ///
    /// The sum is exact (in `i128`); a total beyond the largest `Fixed` is reported as
    /// [`Fixed::MAX`] — a lower bound, so "is there at least this much" stays answered correctly
    /// for every representable size.
    ///
    /// # Errors
    /// `InvalidArgument` when `bps` is negative.
    pub fn size_within_bps(&self, side: TakerSide, bps: Fixed) -> CoreResult<Fixed> {
        if bps.raw() < 0 {
            return Err(CoreError::InvalidArgument(format!(
                "bps must not be negative, got {bps}"
            )));
        }
        let Some(best) = self.ladder(side.book_side()).best() else {
            return Ok(Fixed::ZERO);
        };
        // price·10⁴·ONE compared with best·(10⁴·ONE ± bps): exact in i128.
        let unit = 10_000 * i128::from(ONE);
        let limit = match side {
            TakerSide::Buy => i128::from(best.price.raw()) * (unit + i128::from(bps.raw())),
            TakerSide::Sell => i128::from(best.price.raw()) * (unit - i128::from(bps.raw())),
        };
        let mut total: i128 = 0;
        for l in self.walk_levels(side) {
            let scaled = i128::from(l.price.raw()) * unit;
            let inside = match side {
                TakerSide::Buy => scaled <= limit,
                TakerSide::Sell => scaled >= limit,
            };
            if !inside {
                break;
            }
            total += i128::from(l.size.raw());
        }
        Ok(Fixed::from_raw(i64::try_from(total).unwrap_or(i64::MAX)))
    }

    /// The worst price a taker of `size` would touch (the last level if the book is too thin);
    /// `None` for an empty side.
    ///
    /// # Errors
    /// `InvalidArgument` when `size` is not positive.
    pub fn worst_price(&self, side: TakerSide, size: Fixed) -> CoreResult<Option<Fixed>> {
        Ok(self.walk(side, size)?.worst_price)
    }

    /// A liquidity score in `[0, 1]` for a taker of `size` willing to go `band_bps` from the best
    /// price:
    ///
    /// `score = min(1, size_within_bps(band) / size) · band / (band + spread_bps)`
    ///
    /// The first factor is the share of the size available inside the band; the second shrinks it
    /// as the spread grows relative to the band (1 when the spread is 0; left out when the other
    /// side is empty and the spread is unknown). More depth never lowers the score, a wider
    /// spread never raises it. A crossed book scores 0.
    ///
    /// # Errors
    /// `InvalidArgument` when `size` or `band_bps` is not positive.
    pub fn liquidity_score(
        &self,
        side: TakerSide,
        size: Fixed,
        band_bps: Fixed,
    ) -> CoreResult<f64> {
        positive(size, "size")?;
        positive(band_bps, "band_bps")?;
        if self.crossed {
            return Ok(0.0);
        }
        let avail = self.size_within_bps(side, band_bps)?;
        let depth = (avail.raw() as f64 / size.raw() as f64).min(1.0);
        let band = band_bps.to_f64();
        let spread = self.spread_bps().map_or(0.0, |s| s.max(0.0));
        Ok((depth * band / (band + spread)).clamp(0.0, 1.0))
    }
}
