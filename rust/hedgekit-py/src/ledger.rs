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

/// What :meth:`FillLedger.apply` did with a fill.
///
/// Expected outcomes are values, never exceptions. The four members are singletons, so
/// ``ledger.apply(...) is FillStatus.APPLIED`` holds; they compare equal to their ``int`` value
/// and are hashable.
///
/// Attributes:
///     APPLIED: The fill was new and has been recorded.
///     DUPLICATE: The (venue, order id, trade id) key was already applied; nothing changed.
///     OVERFILL: The fill was new and **has been recorded** (the venue says it happened), but
///         the order's filled size now exceeds its size; the excess is
///         ``ledger.order(venue, order_id).overfill``. Nothing is clamped.
///     UNKNOWN_ORDER: No such order is registered. The fill was neither applied nor marked
///         seen: buffer it and apply it again once the order is registered (a fill can arrive
///         before its order's acknowledgement).
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

/// The fills of one order: a snapshot returned by :meth:`FillLedger.order`.
///
/// Every exact value is a ``Decimal``. Invariants: ``filled == maker_size + taker_size``;
/// ``remaining == max(size - filled, 0)``; ``overfill == max(filled - size, 0)``.
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
    /// The venue the order was registered on.
    #[getter]
    fn venue(&self) -> &str {
        &self.venue
    }
    /// The order id (client order id) it was registered under.
    #[getter]
    fn order_id(&self) -> &str {
        &self.order_id
    }
    /// ``"buy"`` or ``"sell"``.
    #[getter]
    fn side(&self) -> &'static str {
        self.inner.side.as_str()
    }
    /// The order's size (as registered, or as last set by :meth:`FillLedger.set_order_size`).
    #[getter]
    fn size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.size)
    }
    /// The sum of the applied fills' sizes.
    #[getter]
    fn filled<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.filled)
    }
    /// ``size - filled``, or ``0`` once the order is complete (never negative).
    #[getter]
    fn remaining<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.remaining())
    }
    /// ``notional / filled`` rounded to the nearest 1e-9 (ties away from zero); ``None``
    /// before the first fill. ``notional / filled`` is the exact value.
    #[getter]
    fn avg_price<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_to_decimal(py, self.inner.avg_price())
    }
    /// The exact sum of ``price * size`` over the applied fills (up to 18 decimals).
    #[getter]
    fn notional<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        decimal_type(py)?.call1((self.inner.notional.to_string(),))
    }
    /// The sum of the fills' fees, signed: negative is a net rebate.
    #[getter]
    fn fees<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.fees)
    }
    /// The filled size of the maker fills.
    #[getter]
    fn maker_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.maker_size)
    }
    /// The filled size of the taker fills.
    #[getter]
    fn taker_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.taker_size)
    }
    /// The number of distinct fills applied.
    #[getter]
    fn fill_count(&self) -> u64 {
        self.inner.fill_count
    }
    /// ``filled - size`` when the order is overfilled, else ``0``.
    #[getter]
    fn overfill<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.inner.overfill())
    }
    /// True once ``filled >= size``.
    #[getter]
    fn is_complete(&self) -> bool {
        self.inner.is_complete()
    }
    /// The smallest fill timestamp given (fills may arrive out of order), or ``None``.
    #[getter]
    fn first_fill_ns(&self) -> Option<i64> {
        self.inner.first_fill_ns
    }
    /// The largest fill timestamp given, or ``None``.
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

/// The single source of truth for fills: deduplication and per-order accumulation.
///
/// Every fill, whether it came by WebSocket, by REST poll or from an order-status query, goes
/// through :meth:`apply` once. A fill is identified by ``(venue, order_id, trade_id)``, not by
/// the trade id alone: one trade can fill several of our orders, and venues that report the
/// trade rather than the fill give each of those fills the same trade id. Every copy of a fill
/// must therefore name the same ``order_id`` (the id the order was registered under), whichever
/// channel brought it. The ``int`` ``5`` and the ``str`` ``"5"`` are **different** trade ids
/// (merging them could only lose a fill).
///
/// Applied keys are remembered in a FIFO window of ``capacity`` keys. When it is full the
/// oldest key is evicted, so a duplicate that arrives after more than ``capacity`` newer
/// distinct fills is counted again: size the window to cover the longest replay a venue can
/// send. Forgetting an order does not forget its fill keys.
///
/// Args:
///     window: How many fill keys to remember (at least 1; default 10 000).
///
/// Raises:
///     ValueError: ``window`` is below 1.
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

    /// Registers an order so that its fills can be applied.
    ///
    /// Registering the same order again with the same side and size does nothing (an
    /// acknowledgement may arrive twice).
    ///
    /// Args:
    ///     venue: The venue's name (short; interned).
    ///     order_id: The id its fills are applied under (the client order id; fills that
    ///         name only the venue's order id are resolved to it by the caller).
    ///     side: ``"buy"`` or ``"sell"``.
    ///     size: The order's size (> 0).
    ///
    /// Raises:
    ///     ValueError: A non-positive size, an unknown side, or the order is already
    ///         registered with a different side or size (use :meth:`set_order_size`).
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

    /// Changes a registered order's size (after a modify).
    ///
    /// A size below what has already filled makes the order overfilled; the next fill
    /// returns :attr:`FillStatus.OVERFILL`.
    ///
    /// Raises:
    ///     KeyError: No such order is registered.
    ///     ValueError: A non-positive size.
    fn set_order_size(&mut self, venue: &str, order_id: &str, size: Num) -> PyResult<()> {
        if self.inner.set_order_size(venue, order_id, size.0).py()? {
            Ok(())
        } else {
            Err(PyKeyError::new_err((venue.to_owned(), order_id.to_owned())))
        }
    }

    /// Forgets an order and returns its final fills (``None`` if it was not registered).
    ///
    /// Its fill keys stay in the window: a late copy of one of its fills is still a
    /// :attr:`FillStatus.DUPLICATE` (a fill for it that was never applied becomes
    /// :attr:`FillStatus.UNKNOWN_ORDER`).
    fn forget_order(&mut self, venue: &str, order_id: &str) -> Option<OrderFills> {
        self.inner
            .forget_order(venue, order_id)
            .map(|o| OrderFills::new(venue, order_id, o))
    }

    /// Applies a fill once.
    ///
    /// Args:
    ///     venue: The venue's name.
    ///     trade_id: The venue's trade id (``int`` or ``str``; a ``bool`` is refused).
    ///     order_id: The order it belongs to, as registered; part of the dedup key, so the
    ///         same trade id on two orders is two fills.
    ///     price: Execution price (> 0), exact.
    ///     size: Executed size (> 0), exact.
    ///     fee: Fee, signed: positive is a cost, negative a rebate (default 0).
    ///     is_maker: True for a maker fill.
    ///     ts_ns: Execution time in nanoseconds since the epoch; 0 means unknown.
    ///
    /// Returns:
    ///     ``APPLIED``, ``DUPLICATE``, ``OVERFILL`` (recorded) or ``UNKNOWN_ORDER`` (not
    ///     recorded, retry after registering the order). See :class:`FillStatus`.
    ///
    /// Raises:
    ///     TypeError: A ``float`` number or a trade id that is neither ``int`` nor ``str``.
    ///     hedgekit.errors.ConversionError: A number that is not a finite decimal with at most
    ///         9 decimals.
    ///     hedgekit.errors.NumberRangeError: A number outside the range, or an order total
    ///         (filled size, fees) that this fill would take outside it.
    ///     ValueError: A non-positive price or size, or a negative timestamp.
    ///     OverflowError: An integer trade id outside the 128-bit range.
    ///
    /// On any error nothing changes and the trade stays retryable.
    #[pyo3(signature = (venue, trade_id, order_id, price, size, fee = Num(Fixed::ZERO), is_maker = false, ts_ns = 0), text_signature = "($self, venue, trade_id, order_id, price, size, fee=0, is_maker=False, ts_ns=0)")]
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

    /// :meth:`apply` for the hot path: price, size and fee as raw integers
    /// (``raw == value * 10**SCALE``).
    ///
    /// Raises:
    ///     ValueError: A non-positive price or size, or a negative timestamp.
    ///     OverflowError: A raw value outside the 64-bit range.
    ///     hedgekit.errors.NumberRangeError: An order total this fill would take outside the
    ///         range.
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

    /// :meth:`apply`, and the order's fills right after it when the fill was recorded, in
    /// one call (the tracker's hot path): ``(status, fills)`` with ``fills`` an
    /// :class:`OrderFills` for ``APPLIED`` and ``OVERFILL``, ``None`` for ``DUPLICATE`` and
    /// ``UNKNOWN_ORDER``.
    ///
    /// Raises:
    ///     As :meth:`apply` (nothing changes then).
    #[pyo3(signature = (venue, trade_id, order_id, price, size, fee = Num(Fixed::ZERO), is_maker = false, ts_ns = 0), text_signature = "($self, venue, trade_id, order_id, price, size, fee=0, is_maker=False, ts_ns=0)")]
    #[allow(clippy::too_many_arguments)]
    fn apply_fill(
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
    ) -> PyResult<(Py<FillStatus>, Option<OrderFills>)> {
        let fill = Fill {
            venue,
            trade_id: self::trade_id(trade_id)?,
            order_id,
            price: price.0,
            size: size.0,
            fee: fee.0,
            is_maker,
            ts_ns,
        };
        let (s, fills) = self.inner.apply_and_read(&fill).py()?;
        let fills = fills.map(|o| OrderFills::new(venue, order_id, o.clone()));
        Ok((status(py, s)?, fills))
    }

    /// True when this fill (``trade_id`` on ``order_id``) was applied and its key is still
    /// in the window (allocation-free). The same trade id on another order is another fill.
    ///
    /// Raises:
    ///     TypeError: A trade id that is neither ``int`` nor ``str``.
    fn seen(&self, venue: &str, trade_id: &Bound<'_, PyAny>, order_id: &str) -> PyResult<bool> {
        Ok(self.inner.seen(venue, self::trade_id(trade_id)?, order_id))
    }

    /// A snapshot of a registered order's fills, or ``None``.
    fn order(&self, venue: &str, order_id: &str) -> Option<OrderFills> {
        self.inner
            .order(venue, order_id)
            .map(|o| OrderFills::new(venue, order_id, o.clone()))
    }

    /// The most fill keys remembered (the ``window``).
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
