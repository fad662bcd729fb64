//! `Instrument` and `common_size`: a venue's order rules, grid rounding and placeability checks.

use hedgekit_core::instrument::{Instrument as CoreInstrument, RuleKind};
use hedgekit_core::rounding::{common_size as core_common_size, Aggression, Direction};
use hedgekit_core::Fixed;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::convert::{fixed_from_float, side_from_str, to_decimal, Num};
use crate::errors::IntoPyResult;

fn aggression(aggressive: bool) -> Aggression {
    if aggressive {
        Aggression::Aggressive
    } else {
        Aggression::Passive
    }
}

fn parse_direction(s: &str) -> PyResult<Direction> {
    match s {
        "up" => Ok(Direction::Up),
        "down" => Ok(Direction::Down),
        other => Err(PyValueError::new_err(format!(
            "direction must be \"up\" or \"down\", got {other:?}"
        ))),
    }
}

/// One market's order rules on one venue: price grid, size step, minimums, rule kind.
///
/// Build one with :meth:`plain` (Binance/Aster filters), :meth:`hyperliquid` or :meth:`lighter`.
/// Rounding is to multiples of the grid and side-aware: a passive buy rounds down and a passive
/// sell rounds up, so a rounded price never improves on its input.
#[pyclass(module = "hedgekit._core", frozen, eq)]
#[derive(PartialEq)]
pub struct Instrument {
    pub(crate) inner: CoreInstrument,
}

#[pymethods]
impl Instrument {
    /// Binance/Aster-style filters (``PRICE_FILTER.tickSize``, ``LOT_SIZE.stepSize`` and
    /// ``minQty``, ``MIN_NOTIONAL.notional``).
    ///
    /// Args:
    ///     tick_size: Price grid spacing (> 0).
    ///     step_size: Size grid spacing (> 0).
    ///     min_qty: Minimum order size (default 0).
    ///     min_notional: Minimum price x size (default 0).
    ///     max_decimals: Most decimals a price may have (default: the tick's).
    ///     reduce_only_exempt: Reduce-only orders skip the minimum notional (Aster: yes).
    ///
    /// Raises:
    ///     ValueError: A non-positive tick or step, or a negative minimum.
    #[staticmethod]
    #[pyo3(signature = (tick_size, step_size, min_qty = Num(Fixed::ZERO), min_notional = Num(Fixed::ZERO), max_decimals = None, reduce_only_exempt = true), text_signature = "(tick_size, step_size, min_qty=0, min_notional=0, max_decimals=None, reduce_only_exempt=True)")]
    fn plain(
        tick_size: Num,
        step_size: Num,
        min_qty: Num,
        min_notional: Num,
        max_decimals: Option<u32>,
        reduce_only_exempt: bool,
    ) -> PyResult<Self> {
        let inner = CoreInstrument::plain(
            tick_size.0,
            step_size.0,
            min_qty.0,
            min_notional.0,
            max_decimals,
            reduce_only_exempt,
        )
        .py()?;
        Ok(Instrument { inner })
    }

    /// Hyperliquid rules: prices with at most 5 significant figures and at most
    /// ``6 - sz_decimals`` decimals (``8 - sz_decimals`` for spot), integer prices always valid;
    /// sizes to ``sz_decimals`` decimals; minimum order value ``min_notional`` (default $10).
    /// Whether reduce-only orders are exempt is unconfirmed, hence the switch.
    #[staticmethod]
    #[pyo3(signature = (sz_decimals, spot = false, min_notional = Num(Fixed::from_raw(10 * hedgekit_core::fixed::ONE)), reduce_only_exempt = false), text_signature = "(sz_decimals, spot=False, min_notional=10, reduce_only_exempt=False)")]
    fn hyperliquid(
        sz_decimals: u32,
        spot: bool,
        min_notional: Num,
        reduce_only_exempt: bool,
    ) -> PyResult<Self> {
        let inner =
            CoreInstrument::hyperliquid(sz_decimals, spot, min_notional.0, reduce_only_exempt)
                .py()?;
        Ok(Instrument { inner })
    }

    /// Lighter rules: integer price (uint32) at ``price_decimals`` and base amount
    /// (at most 2**48 - 1) at ``size_decimals``; minimums in human units (error 21706).
    #[staticmethod]
    #[pyo3(signature = (price_decimals, size_decimals, min_base_amount, min_quote_amount, reduce_only_exempt = false))]
    fn lighter(
        price_decimals: u32,
        size_decimals: u32,
        min_base_amount: Num,
        min_quote_amount: Num,
        reduce_only_exempt: bool,
    ) -> PyResult<Self> {
        let inner = CoreInstrument::lighter(
            price_decimals,
            size_decimals,
            min_base_amount.0,
            min_quote_amount.0,
            reduce_only_exempt,
        )
        .py()?;
        Ok(Instrument { inner })
    }

    /// ``"plain"``, ``"hyperliquid"`` or ``"lighter"``.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner.kind() {
            RuleKind::Plain => "plain",
            RuleKind::Hyperliquid { .. } => "hyperliquid",
            RuleKind::Lighter { .. } => "lighter",
        }
    }
    /// The price tick (Hyperliquid: the finest tick, valid only for small prices).
    #[getter]
    fn tick_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.tick_size())
    }
    /// The size step (lot).
    #[getter]
    fn step_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.step_size())
    }
    /// The minimum order size.
    #[getter]
    fn min_qty<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.min_qty())
    }
    /// The minimum order notional (price x size).
    #[getter]
    fn min_notional<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.min_notional())
    }
    /// The most decimals a price may have.
    #[getter]
    fn max_decimals(&self) -> u32 {
        self.inner.max_decimals()
    }
    /// Whether reduce-only orders are exempt from the minimum notional.
    #[getter]
    fn reduce_only_exempt(&self) -> bool {
        self.inner.reduce_only_exempt()
    }

    /// Rounds a positive price onto the grid for ``side`` (``"buy"``/``"sell"``).
    ///
    /// Passive (default): a buy rounds down, a sell up. Aggressive: the reverse.
    ///
    /// Raises:
    ///     InvalidOrderError: ``non_positive_price`` for a price <= 0 or one rounding to 0.
    ///     hedgekit.errors.NumberRangeError: Rounding up would pass the largest value.
    #[pyo3(signature = (price, side, aggressive = false))]
    fn round_price<'py>(
        &self,
        py: Python<'py>,
        price: Num,
        side: &str,
        aggressive: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = self
            .inner
            .round_price(price.0, side_from_str(side)?, aggression(aggressive))
            .py()?;
        to_decimal(py, p)
    }

    /// :meth:`round_price` on raw fixed-point integers (``value * 10**SCALE``); the hot path.
    #[pyo3(signature = (price_raw, is_buy, aggressive = false))]
    fn round_price_raw(&self, price_raw: i64, is_buy: bool, aggressive: bool) -> PyResult<i64> {
        let side = if is_buy {
            hedgekit_core::instrument::Side::Buy
        } else {
            hedgekit_core::instrument::Side::Sell
        };
        Ok(self
            .inner
            .round_price(Fixed::from_raw(price_raw), side, aggression(aggressive))
            .py()?
            .raw())
    }

    /// :meth:`round_price` for a float the caller chose to use (read to 9 decimals first).
    #[pyo3(signature = (price, side, aggressive = false))]
    fn round_price_float<'py>(
        &self,
        py: Python<'py>,
        price: f64,
        side: &str,
        aggressive: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = self
            .inner
            .round_price(
                fixed_from_float(price)?,
                side_from_str(side)?,
                aggression(aggressive),
            )
            .py()?;
        to_decimal(py, p)
    }

    /// The next grid price strictly above (``"up"``) or below (``"down"``) ``price``.
    ///
    /// Raises:
    ///     InvalidOrderError: ``non_positive_price`` for a price <= 0, or when no positive
    ///         grid price lies below.
    ///     hedgekit.errors.NumberRangeError: No grid price above fits the range (stepping up
    ///         from the largest one).
    fn step_price<'py>(
        &self,
        py: Python<'py>,
        price: Num,
        direction: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(
            py,
            self.inner
                .step_price(price.0, parse_direction(direction)?)
                .py()?,
        )
    }

    /// True if ``price`` is positive and on the grid.
    fn is_price_valid(&self, price: Num) -> bool {
        self.inner.is_price_on_grid(price.0)
    }

    /// Floors a non-negative size to the step (may return 0).
    ///
    /// Raises:
    ///     InvalidOrderError: ``non_positive_size`` for a negative size.
    fn floor_size<'py>(&self, py: Python<'py>, size: Num) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.floor_size(size.0).py()?)
    }

    /// :meth:`floor_size` on a raw fixed-point integer.
    fn floor_size_raw(&self, size_raw: i64) -> PyResult<i64> {
        Ok(self.inner.floor_size(Fixed::from_raw(size_raw)).py()?.raw())
    }

    /// True if ``size``, floored to the step, is zero or below the minimum size: a remainder
    /// to record, not to trade.
    fn is_dust(&self, size: Num) -> bool {
        self.inner.is_dust(size.0)
    }

    /// Raises if the order is not placeable; checks run in the venues' order: sign,
    /// decimals, price grid, size grid, wire range, minimum size, minimum notional.
    ///
    /// Raises:
    ///     InvalidOrderError: With ``reason`` naming the first failing rule.
    #[pyo3(signature = (price, size, reduce_only = false))]
    fn check(&self, price: Num, size: Num, reduce_only: bool) -> PyResult<()> {
        self.inner.check(price.0, size.0, reduce_only).py()
    }

    /// The reason :meth:`check` would raise (``"below_min_notional"``, ...), or None.
    #[pyo3(signature = (price, size, reduce_only = false))]
    fn rejection(&self, price: Num, size: Num, reduce_only: bool) -> Option<&'static str> {
        match self.inner.check(price.0, size.0, reduce_only) {
            Err(hedgekit_core::CoreError::InvalidOrder { reason, .. }) => Some(reason.as_str()),
            _ => None,
        }
    }

    fn __repr__(&self) -> String {
        let i = &self.inner;
        let rule = match i.kind() {
            RuleKind::Plain => format!("plain tick={}", i.tick_size()),
            RuleKind::Hyperliquid {
                sz_decimals,
                max_price_decimals,
            } => {
                format!(
                    "hyperliquid sz_decimals={sz_decimals} price_decimals<={}",
                    max_price_decimals - sz_decimals
                )
            }
            RuleKind::Lighter {
                price_decimals,
                size_decimals,
            } => {
                format!("lighter price_decimals={price_decimals} size_decimals={size_decimals}")
            }
        };
        format!(
            "Instrument({rule} step={} min_qty={} min_notional={} reduce_only_exempt={})",
            i.step_size(),
            i.min_qty(),
            i.min_notional(),
            if i.reduce_only_exempt() {
                "True"
            } else {
                "False"
            }
        )
    }
}

/// The largest size <= ``target`` that is a valid order size on every instrument, so the
/// legs of a pair start equal. With ``prices`` (one per instrument) the minimum notional is
/// checked too.
///
/// Raises:
///     InvalidOrderError: ``below_min_size``/``below_min_notional`` naming the instrument index.
///     ValueError: No instruments, a prices list of the wrong length, or a negative target.
///     hedgekit.errors.NumberRangeError: The common step of the instruments does not fit the
///         range.
#[pyfunction]
#[pyo3(signature = (instruments, target, prices = None))]
fn common_size<'py>(
    py: Python<'py>,
    instruments: Vec<PyRef<'py, Instrument>>,
    target: Num,
    prices: Option<Vec<Num>>,
) -> PyResult<Bound<'py, PyAny>> {
    let refs: Vec<&CoreInstrument> = instruments.iter().map(|i| &i.inner).collect();
    let prices: Option<Vec<Fixed>> = prices.map(|p| p.into_iter().map(|n| n.0).collect());
    to_decimal(
        py,
        core_common_size(&refs, target.0, prices.as_deref()).py()?,
    )
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Instrument>()?;
    m.add_function(wrap_pyfunction!(common_size, m)?)?;
    Ok(())
}
