//! Pricing functions and `SpreadGate`: thin wrappers over `hedgekit_core::pricing`.

use hedgekit_core::pricing as core;
use pyo3::prelude::*;

use crate::convert::{side_from_str, to_decimal, Num};
use crate::errors::IntoPyResult;
use crate::instrument::Instrument;

/// Separate spread limits, in bps of the mid, for entering and for exiting a position.
///
/// A crossed or locked book never passes.
#[pyclass(module = "hedgekit._core", frozen)]
pub struct SpreadGate {
    inner: core::SpreadGate,
}

#[pymethods]
impl SpreadGate {
    #[new]
    fn new(max_entry_bps: Num, max_exit_bps: Num) -> PyResult<Self> {
        Ok(SpreadGate {
            inner: core::SpreadGate::new(max_entry_bps.0, max_exit_bps.0).py()?,
        })
    }
    /// The widest spread at which a position may be opened.
    #[getter]
    fn max_entry_bps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.max_entry_bps)
    }
    /// The widest spread at which a position may be closed passively.
    #[getter]
    fn max_exit_bps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.max_exit_bps)
    }
    /// True if ``(ask - bid) / mid * 1e4 <= max_entry_bps``, exactly.
    fn allows_entry(&self, bid: Num, ask: Num) -> bool {
        self.inner.allows_entry(bid.0, ask.0)
    }
    /// True if ``(ask - bid) / mid * 1e4 <= max_exit_bps``, exactly.
    fn allows_exit(&self, bid: Num, ask: Num) -> bool {
        self.inner.allows_exit(bid.0, ask.0)
    }
    fn __repr__(&self) -> String {
        format!(
            "SpreadGate(max_entry_bps={}, max_exit_bps={})",
            self.inner.max_entry_bps, self.inner.max_exit_bps
        )
    }
}

/// True if the spread in bps of the mid is at most ``max_bps`` (exact; crossed -> False).
#[pyfunction]
fn spread_within(bid: Num, ask: Num, max_bps: Num) -> bool {
    core::spread_within(bid.0, ask.0, max_bps.0)
}

/// A limit price ``offset_bps`` from the touch, on the grid.
///
/// A non-negative offset is passive, from the own touch (buy ``bid*(1-o)``, sell
/// ``ask*(1+o)``); a negative offset crosses, beyond the opposite touch (buy ``ask*(1+|o|)``,
/// sell ``bid*(1-|o|)``). A buy rounds down and a sell up.
///
/// Raises:
///     BookIntegrityError: ``crossed`` when ``bid >= ask``.
///     InvalidArgumentError: A non-positive bid or ask, or an offset of 10 000 bps or more on
///         the side where it would make the price non-positive.
///     InvalidOrderError: ``non_positive_price`` when the price rounds down to zero.
///     hedgekit.errors.NumberRangeError: The price (or its rounding up onto the grid) is
///         beyond the largest value.
#[pyfunction]
fn limit_price<'py>(
    py: Python<'py>,
    instrument: PyRef<'py, Instrument>,
    side: &str,
    bid: Num,
    ask: Num,
    offset_bps: Num,
) -> PyResult<Bound<'py, PyAny>> {
    to_decimal(
        py,
        core::limit_price(
            &instrument.inner,
            side_from_str(side)?,
            bid.0,
            ask.0,
            offset_bps.0,
        )
        .py()?,
    )
}

/// A post-only price that never crosses: the own touch, or one grid step inside the spread
/// with ``improve`` when there is room. A buy is always below the ask, a sell above the bid.
///
/// Raises:
///     BookIntegrityError: ``crossed`` when ``bid >= ask``.
///     InvalidArgumentError: A non-positive bid or ask.
///     InvalidOrderError: ``non_positive_price`` when no positive grid price fits.
///     hedgekit.errors.NumberRangeError: The grid price it needs is beyond the largest value.
#[pyfunction]
#[pyo3(signature = (instrument, side, bid, ask, improve = false))]
fn maker_price<'py>(
    py: Python<'py>,
    instrument: PyRef<'py, Instrument>,
    side: &str,
    bid: Num,
    ask: Num,
    improve: bool,
) -> PyResult<Bound<'py, PyAny>> {
    to_decimal(
        py,
        core::maker_price(
            &instrument.inner,
            side_from_str(side)?,
            bid.0,
            ask.0,
            improve,
        )
        .py()?,
    )
}

/// The price at which a hedge leg offsets the reference leg's fill after both fees.
///
/// Hedge sells: ``ref*(1+ref_fee)/(1-hedge_fee)`` rounded up; hedge buys:
/// ``ref*(1-ref_fee)/(1+hedge_fee)`` rounded down. Fee rates are fractions (0.00045 = 4.5
/// bps); negative rates are rebates.
///
/// Raises:
///     InvalidArgumentError: A non-positive price, or fee rates that leave a non-positive
///         factor (a hedge fee of 100% or more, a rebate of 100% or more).
///     InvalidOrderError: ``non_positive_price`` when the price rounds down to zero.
///     hedgekit.errors.NumberRangeError: The price is beyond the largest value.
#[pyfunction]
fn break_even_price<'py>(
    py: Python<'py>,
    instrument: PyRef<'py, Instrument>,
    hedge_side: &str,
    ref_price: Num,
    ref_fee_rate: Num,
    hedge_fee_rate: Num,
) -> PyResult<Bound<'py, PyAny>> {
    let p = core::break_even_price(
        &instrument.inner,
        side_from_str(hedge_side)?,
        ref_price.0,
        ref_fee_rate.0,
        hedge_fee_rate.0,
    )
    .py()?;
    to_decimal(py, p)
}

/// The adaptive ladder, least to most aggressive: inside the spread (if a grid price fits),
/// the opposite touch, then beyond it by each of ``cross_bps``. Strictly monotone; on the grid.
///
/// Raises:
///     As :func:`limit_price` for each step, and ``InvalidArgumentError`` for a negative step.
#[pyfunction]
#[pyo3(signature = (instrument, side, bid, ask, cross_bps = Vec::new()), text_signature = "(instrument, side, bid, ask, cross_bps=())")]
fn ladder<'py>(
    py: Python<'py>,
    instrument: PyRef<'py, Instrument>,
    side: &str,
    bid: Num,
    ask: Num,
    cross_bps: Vec<Num>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let steps: Vec<_> = cross_bps.into_iter().map(|n| n.0).collect();
    let prices = core::ladder(
        &instrument.inner,
        side_from_str(side)?,
        bid.0,
        ask.0,
        &steps,
    )
    .py()?;
    prices.into_iter().map(|p| to_decimal(py, p)).collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SpreadGate>()?;
    m.add_function(wrap_pyfunction!(spread_within, m)?)?;
    m.add_function(wrap_pyfunction!(limit_price, m)?)?;
    m.add_function(wrap_pyfunction!(maker_price, m)?)?;
    m.add_function(wrap_pyfunction!(break_even_price, m)?)?;
    m.add_function(wrap_pyfunction!(ladder, m)?)?;
    Ok(())
}
