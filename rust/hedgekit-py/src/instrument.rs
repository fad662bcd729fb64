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

/// One market's order rules on one venue.
#[pyclass(module = "hedgekit._core", frozen, eq)]
#[derive(PartialEq)]
pub struct Instrument {
    pub(crate) inner: CoreInstrument,
}

#[pymethods]
impl Instrument {
    #[staticmethod]
    #[pyo3(signature = (tick_size, step_size, min_qty = Num(Fixed::ZERO), min_notional = Num(Fixed::ZERO), max_decimals = None, reduce_only_exempt = true))]
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

    #[staticmethod]
    #[pyo3(signature = (sz_decimals, spot = false, min_notional = Num(Fixed::from_raw(10 * hedgekit_core::fixed::ONE)), reduce_only_exempt = false))]
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

    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner.kind() {
            RuleKind::Plain => "plain",
            RuleKind::Hyperliquid { .. } => "hyperliquid",
            RuleKind::Lighter { .. } => "lighter",
        }
    }
    #[getter]
    fn tick_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.tick_size())
    }
    #[getter]
    fn step_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.step_size())
    }
    #[getter]
    fn min_qty<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.min_qty())
    }
    #[getter]
    fn min_notional<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.min_notional())
    }
    #[getter]
    fn max_decimals(&self) -> u32 {
        self.inner.max_decimals()
    }
    #[getter]
    fn reduce_only_exempt(&self) -> bool {
        self.inner.reduce_only_exempt()
    }

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

    fn is_price_valid(&self, price: Num) -> bool {
        self.inner.is_price_on_grid(price.0)
    }

    fn floor_size<'py>(&self, py: Python<'py>, size: Num) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.floor_size(size.0).py()?)
    }

    fn floor_size_raw(&self, size_raw: i64) -> PyResult<i64> {
        Ok(self.inner.floor_size(Fixed::from_raw(size_raw)).py()?.raw())
    }

    fn is_dust(&self, size: Num) -> bool {
        self.inner.is_dust(size.0)
    }

    #[pyo3(signature = (price, size, reduce_only = false))]
    fn check(&self, price: Num, size: Num, reduce_only: bool) -> PyResult<()> {
        self.inner.check(price.0, size.0, reduce_only).py()
    }

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
