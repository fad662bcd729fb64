//! `FillLedger`, `FillStatus` and `OrderFills`: the fill ledger (deduplication and per-order
//! accumulation) as `hedgekit._core` classes.

use hedgekit_core::ledger::{
    Fill, FillLedger as CoreLedger, FillStatus as CoreStatus, OrderFills as CoreOrderFills, Side,
    TradeId,
};
use hedgekit_core::Fixed;
use pyo3::exceptions::{PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyInt, PyString};

use crate::convert::{decimal_type, opt_to_decimal, to_decimal, Num};
use crate::errors::IntoPyResult;

/// What `FillLedger.apply` did with a fill.
#[pyclass(eq, eq_int, frozen, hash, module = "hedgekit._core")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FillStatus {
    #[pyo3(name = "APPLIED")]
    Applied,
    #[pyo3(name = "DUPLICATE")]
    Duplicate,
    #[pyo3(name = "OVERFILL")]
    Overfill,
    #[pyo3(name = "UNKNOWN_ORDER")]
    UnknownOrder,
}

/// The four variants as the class's own attribute objects, so `apply` allocates nothing and
/// `ledger.apply(...) is FillStatus.APPLIED` holds.
static STATUSES: PyOnceLock<[Py<FillStatus>; 4]> = PyOnceLock::new();

fn status(py: Python<'_>, s: CoreStatus) -> PyResult<Py<FillStatus>> {
    let all = STATUSES.get_or_try_init(py, || -> PyResult<[Py<FillStatus>; 4]> {
        let cls = py.get_type::<FillStatus>();
        let get = |name: &str| -> PyResult<Py<FillStatus>> {
            Ok(cls.getattr(name)?.cast_into::<FillStatus>()?.unbind())
        };
        Ok([
            get("APPLIED")?,
            get("DUPLICATE")?,
            get("OVERFILL")?,
            get("UNKNOWN_ORDER")?,
        ])
    })?;
    let i = match s {
        CoreStatus::Applied => 0,
        CoreStatus::Duplicate => 1,
        CoreStatus::Overfill { .. } => 2,
        CoreStatus::UnknownOrder => 3,
    };
    Ok(all[i].clone_ref(py))
}

fn int_trade_id(obj: &Bound<'_, PyAny>) -> PyResult<TradeId<'static>> {
    match obj.extract::<i64>() {
        Ok(v) => Ok(TradeId::Int(i128::from(v))),
        Err(_) => Ok(TradeId::Int(obj.extract::<i128>()?)),
    }
}

/// Reads a trade id: an `int` (not a `bool`) or a `str`, borrowed without allocating.
fn trade_id<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<TradeId<'a>> {
    if obj.is_exact_instance_of::<PyInt>() {
        return int_trade_id(obj);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(TradeId::Str(s.to_str()?));
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return int_trade_id(obj);
    }
    Err(PyTypeError::new_err(format!(
        "a trade id is an int or a str, got {}",
        obj.get_type().name()?
    )))
}

/// The fills of one order: a snapshot taken by `FillLedger.order`.
#[pyclass(frozen, module = "hedgekit._core")]
pub struct OrderFills {
    venue: String,
    order_id: String,
    inner: CoreOrderFills,
}

impl OrderFills {
    fn new(venue: &str, order_id: &str, inner: CoreOrderFills) -> Self {
        OrderFills {
            venue: venue.to_owned(),
            order_id: order_id.to_owned(),
            inner,
        }
    }
}

#[pymethods]
impl OrderFills {
    #[getter]
    fn venue(&self) -> &str {
        &self.venue
    }
    #[getter]
    fn order_id(&self) -> &str {
        &self.order_id
    }
    #[getter]
    fn side(&self) -> &'static str {
        self.inner.side.as_str()
    }
    #[getter]
    fn size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.size)
    }
    #[getter]
    fn filled<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.filled)
    }
    #[getter]
    fn remaining<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.remaining())
    }
    #[getter]
    fn avg_price<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_to_decimal(py, self.inner.avg_price())
    }
    #[getter]
    fn notional<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        decimal_type(py)?.call1((self.inner.notional.to_string(),))
    }
    #[getter]
    fn fees<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.fees)
    }
    #[getter]
    fn maker_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.maker_size)
    }
    #[getter]
    fn taker_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.taker_size)
    }
    #[getter]
    fn fill_count(&self) -> u64 {
        self.inner.fill_count
    }
    #[getter]
    fn overfill<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.overfill())
    }
    #[getter]
    fn is_complete(&self) -> bool {
        self.inner.is_complete()
    }
    #[getter]
    fn first_fill_ns(&self) -> Option<i64> {
        self.inner.first_fill_ns
    }
    #[getter]
    fn last_fill_ns(&self) -> Option<i64> {
        self.inner.last_fill_ns
    }

    fn __repr__(&self) -> String {
        let o = &self.inner;
        let avg = o
            .avg_price()
            .map_or_else(|| "None".to_owned(), |a| format!("'{a}'"));
        format!(
            "OrderFills(venue='{}', order_id='{}', side='{}', size='{}', filled='{}', avg_price={avg}, \
             fees='{}', fill_count={}, overfill='{}')",
            self.venue,
            self.order_id,
            o.side.as_str(),
            o.size,
            o.filled,
            o.fees,
            o.fill_count,
            o.overfill()
        )
    }
}

/// Deduplicates fills by (venue, order id, trade id) and accumulates them per order.
#[pyclass(module = "hedgekit._core")]
pub struct FillLedger {
    inner: CoreLedger,
}

#[pymethods]
impl FillLedger {
    #[new]
    #[pyo3(signature = (window = 10_000))]
    fn new(window: i64) -> PyResult<Self> {
        // A negative window reaches the core as 0 and is refused there, with its message.
        let window = usize::try_from(window).unwrap_or(0);
        Ok(FillLedger {
            inner: CoreLedger::new(window).py()?,
        })
    }

    fn register_order(
        &mut self,
        venue: &str,
        order_id: &str,
        side: &str,
        size: Num,
    ) -> PyResult<()> {
        let side = Side::parse(side).py()?;
        self.inner
            .register_order(venue, order_id, side, size.0)
            .py()
    }

    fn set_order_size(&mut self, venue: &str, order_id: &str, size: Num) -> PyResult<()> {
        if self.inner.set_order_size(venue, order_id, size.0).py()? {
            Ok(())
        } else {
            Err(PyKeyError::new_err((venue.to_owned(), order_id.to_owned())))
        }
    }

    fn forget_order(&mut self, venue: &str, order_id: &str) -> Option<OrderFills> {
        self.inner
            .forget_order(venue, order_id)
            .map(|o| OrderFills::new(venue, order_id, o))
    }

    #[pyo3(signature = (venue, trade_id, order_id, price, size, fee = Num(Fixed::ZERO), is_maker = false, ts_ns = 0))]
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        py: Python<'_>,
        venue: &str,
        trade_id: &Bound<'_, PyAny>,
        order_id: &str,
        price: Num,
        size: Num,
        fee: Num,
        is_maker: bool,
        ts_ns: i64,
    ) -> PyResult<Py<FillStatus>> {
        let (p, s, f) = (price.0.raw(), size.0.raw(), fee.0.raw());
        self.apply_raw(py, venue, trade_id, order_id, p, s, f, is_maker, ts_ns)
    }

    #[pyo3(signature = (venue, trade_id, order_id, price_raw, size_raw, fee_raw = 0, is_maker = false, ts_ns = 0))]
    #[allow(clippy::too_many_arguments)]
    fn apply_raw(
        &mut self,
        py: Python<'_>,
        venue: &str,
        trade_id: &Bound<'_, PyAny>,
        order_id: &str,
        price_raw: i64,
        size_raw: i64,
        fee_raw: i64,
        is_maker: bool,
        ts_ns: i64,
    ) -> PyResult<Py<FillStatus>> {
        let fill = Fill {
            venue,
            trade_id: self::trade_id(trade_id)?,
            order_id,
            price: Fixed::from_raw(price_raw),
            size: Fixed::from_raw(size_raw),
            fee: Fixed::from_raw(fee_raw),
            is_maker,
            ts_ns,
        };
        status(py, self.inner.apply(&fill).py()?)
    }

    fn seen(&self, venue: &str, trade_id: &Bound<'_, PyAny>, order_id: &str) -> PyResult<bool> {
        Ok(self.inner.seen(venue, self::trade_id(trade_id)?, order_id))
    }

    fn order(&self, venue: &str, order_id: &str) -> Option<OrderFills> {
        self.inner
            .order(venue, order_id)
            .map(|o| OrderFills::new(venue, order_id, o.clone()))
    }

    #[getter]
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "FillLedger(len={}, capacity={}, orders={})",
            self.inner.len(),
            self.inner.capacity(),
            self.inner.order_count()
        )
    }
}

/// Adds `FillStatus`, `OrderFills` and `FillLedger` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FillStatus>()?;
    m.add_class::<OrderFills>()?;
    m.add_class::<FillLedger>()?;
    Ok(())
}
