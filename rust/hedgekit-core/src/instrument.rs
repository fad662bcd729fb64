//! `Instrument`: one venue's order rules for one market (grid, minimums, rule kind).

use crate::error::{CoreError, CoreResult};
use crate::fixed::{Fixed, SCALE};

/// The side of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// A bid: rounds down when passive.
    Buy,
    /// An ask: rounds up when passive.
    Sell,
}

impl Side {
    /// `"buy"` or `"sell"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    /// Reads `"buy"` or `"sell"` (exactly, lower case).
    ///
    /// # Errors
    /// `InvalidArgument` for anything else.
    pub fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "buy" => Ok(Side::Buy),
            "sell" => Ok(Side::Sell),
            other => Err(CoreError::InvalidArgument(format!(
                "side must be \"buy\" or \"sell\", got {other:?}"
            ))),
        }
    }

    /// The other side.
    #[must_use]
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// How a venue defines its price and size grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// Binance/Aster filters: price a multiple of `tick_size`, size a multiple of `step_size`.
    Plain,
    /// Hyperliquid: at most 5 significant figures and at most `max_price_decimals − sz_decimals`
    /// decimals (6 for perps, 8 for spot); integer prices are always valid; size to
    /// `sz_decimals` decimals.
    Hyperliquid {
        /// The asset's `szDecimals`.
        sz_decimals: u32,
        /// 6 for perps, 8 for spot.
        max_price_decimals: u32,
    },
    /// Lighter: integer price (`uint32`) and base amount (≤ 2⁴⁸ − 1) at `price_decimals` and
    /// `size_decimals`.
    Lighter {
        /// The market's `price_decimals`.
        price_decimals: u32,
        /// The market's `size_decimals`.
        size_decimals: u32,
    },
}

/// The order rules of one market on one venue.
///
/// Invariants (checked by the constructors): `tick_size` and `step_size` are positive,
/// `min_qty` and `min_notional` are not negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    kind: RuleKind,
    tick_size: Fixed,
    step_size: Fixed,
    min_qty: Fixed,
    min_notional: Fixed,
    max_decimals: u32,
    reduce_only_exempt: bool,
}

/// Lighter's largest price mantissa (`uint32`).
pub const LIGHTER_MAX_PRICE: i64 = u32::MAX as i64;
/// Lighter's largest base amount (2⁴⁸ − 1).
pub const LIGHTER_MAX_BASE: i64 = (1 << 48) - 1;

fn unit(decimals: u32) -> CoreResult<Fixed> {
    if decimals > SCALE {
        return Err(CoreError::InvalidArgument(format!(
            "{decimals} decimals exceed the fixed-point scale of {SCALE}"
        )));
    }
    Ok(Fixed::from_raw(
        crate::fixed::POW10[(SCALE - decimals) as usize],
    ))
}

fn non_negative(name: &str, v: Fixed) -> CoreResult<()> {
    if v.raw() < 0 {
        return Err(CoreError::InvalidArgument(format!(
            "{name} must not be negative, got {v}"
        )));
    }
    Ok(())
}

impl Instrument {
    /// Binance/Aster-style filters (`PRICE_FILTER.tickSize`, `LOT_SIZE.stepSize`/`minQty`,
    /// `MIN_NOTIONAL.notional`). `max_decimals` caps the decimals of a price (defaults to the
    /// tick's); reduce-only orders are exempt from the minimum notional when
    /// `reduce_only_exempt` (Aster: yes, per its `-4164` text).
    ///
    /// # Errors
    /// `InvalidArgument` for a non-positive tick or step, or negative minimums.
    pub fn plain(
        tick_size: Fixed,
        step_size: Fixed,
        min_qty: Fixed,
        min_notional: Fixed,
        max_decimals: Option<u32>,
        reduce_only_exempt: bool,
    ) -> CoreResult<Self> {
        if !tick_size.is_positive() || !step_size.is_positive() {
            return Err(CoreError::InvalidArgument(format!(
                "tick_size and step_size must be positive, got {tick_size} and {step_size}"
            )));
        }
        non_negative("min_qty", min_qty)?;
        non_negative("min_notional", min_notional)?;
        let max_decimals = max_decimals.unwrap_or(tick_size.decimals()).min(SCALE);
        Ok(Instrument {
            kind: RuleKind::Plain,
            tick_size,
            step_size,
            min_qty,
            min_notional,
            max_decimals,
            reduce_only_exempt,
        })
    }

    /// Hyperliquid rules for an asset with `szDecimals = sz_decimals` (perp: prices to
    /// `6 − sz_decimals` decimals; spot: `8 − sz_decimals`). The minimum order value is
    /// `min_notional` ($10 on Hyperliquid). Whether reduce-only orders are exempt is
    /// unconfirmed, hence the switch.
    ///
    /// # Errors
    /// `InvalidArgument` when `sz_decimals` exceeds the price decimals.
    pub fn hyperliquid(
        sz_decimals: u32,
        spot: bool,
        min_notional: Fixed,
        reduce_only_exempt: bool,
    ) -> CoreResult<Self> {
        let max_price_decimals = if spot { 8 } else { 6 };
        if sz_decimals > max_price_decimals {
            return Err(CoreError::InvalidArgument(format!(
                "szDecimals {sz_decimals} exceeds {max_price_decimals}"
            )));
        }
        non_negative("min_notional", min_notional)?;
        let step = unit(sz_decimals)?;
        Ok(Instrument {
            kind: RuleKind::Hyperliquid {
                sz_decimals,
                max_price_decimals,
            },
            tick_size: unit(max_price_decimals - sz_decimals)?,
            step_size: step,
            min_qty: step,
            min_notional,
            max_decimals: max_price_decimals - sz_decimals,
            reduce_only_exempt,
        })
    }

    /// Lighter rules: `price = px·10^price_decimals` (uint32), `base_amount =
    /// sz·10^size_decimals` (≤ 2⁴⁸ − 1), with `min_base_amount` and `min_quote_amount` in
    /// human units (error 21706 below them).
    ///
    /// # Errors
    /// `InvalidArgument` for decimals beyond the fixed-point scale or negative minimums.
    pub fn lighter(
        price_decimals: u32,
        size_decimals: u32,
        min_base_amount: Fixed,
        min_quote_amount: Fixed,
        reduce_only_exempt: bool,
    ) -> CoreResult<Self> {
        non_negative("min_base_amount", min_base_amount)?;
        non_negative("min_quote_amount", min_quote_amount)?;
        Ok(Instrument {
            kind: RuleKind::Lighter {
                price_decimals,
                size_decimals,
            },
            tick_size: unit(price_decimals)?,
            step_size: unit(size_decimals)?,
            min_qty: min_base_amount,
            min_notional: min_quote_amount,
            max_decimals: price_decimals,
            reduce_only_exempt,
        })
    }

    /// The rule kind.
    pub fn kind(&self) -> RuleKind {
        self.kind
    }
    /// The price tick (for Hyperliquid: the finest tick, valid only for small prices).
    pub fn tick_size(&self) -> Fixed {
        self.tick_size
    }
    /// The size step (lot).
    pub fn step_size(&self) -> Fixed {
        self.step_size
    }
    /// The minimum order size.
    pub fn min_qty(&self) -> Fixed {
        self.min_qty
    }
    /// The minimum order notional (price × size).
    pub fn min_notional(&self) -> Fixed {
        self.min_notional
    }
    /// The largest number of decimals a price may have.
    pub fn max_decimals(&self) -> u32 {
        self.max_decimals
    }
    /// Whether reduce-only orders are exempt from the minimum notional.
    pub fn reduce_only_exempt(&self) -> bool {
        self.reduce_only_exempt
    }
}
