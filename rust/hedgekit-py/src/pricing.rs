//! Pricing functions and `SpreadGate`: thin wrappers over `hedgekit_core::pricing`.

use hedgekit_core::pricing as core;
use pyo3::prelude::*;

use crate::convert::{side_from_str, to_decimal, Num};
use crate::errors::IntoPyResult;
use crate::instrument::Instrument;

/// Separate spread limits (bps of mid) for entering and exiting.
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
    #[getter]
    fn max_entry_bps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.max_entry_bps)
    }
    #[getter]
    fn max_exit_bps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.max_exit_bps)
    }
    fn allows_entry(&self, bid: Num, ask: Num) -> bool {
        self.inner.allows_entry(bid.0, ask.0)
    }
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

#[pyfunction]
fn spread_within(bid: Num, ask: Num, max_bps: Num) -> bool {
    core::spread_within(bid.0, ask.0, max_bps.0)
}

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

#[pyfunction]
#[pyo3(signature = (instrument, side, bid, ask, cross_bps = Vec::new()))]
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
