//! `OrderBook` and `DepthWalk`: the Python face of `hedgekit_core::book`.

use hedgekit_core::book::{DepthWalk, Level, OrderBook, Side, TakerSide, UpdateStatus};
use hedgekit_core::Fixed;
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyMemoryView, PySequence, PyString, PyTuple};

use crate::convert::{fixed_from_py, opt_to_decimal, to_decimal, Num};
use crate::errors::IntoPyResult;

fn book_side(side: &str) -> PyResult<Side> {
    match side {
        "bid" => Ok(Side::Bid),
        "ask" => Ok(Side::Ask),
        _ => Err(PyValueError::new_err(format!(
            "book side must be 'bid' or 'ask', got {side:?}"
        ))),
    }
}

fn taker_side(side: &str) -> PyResult<TakerSide> {
    match side {
        "buy" => Ok(TakerSide::Buy),
        "sell" => Ok(TakerSide::Sell),
        _ => Err(PyValueError::new_err(format!(
            "taker side must be 'buy' or 'sell', got {side:?}"
        ))),
    }
}

/// A band in bps: exact numbers as everywhere, and a float too (a band is a statistic, not a price).
fn bps_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Fixed> {
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Fixed::from_f64(f.value()).py();
    }
    fixed_from_py(obj)
}

/// Copies an int64 buffer into a reused vector (one memcpy; no Python object per element).
fn read_i64(py: Python<'_>, obj: &Bound<'_, PyAny>, into: &mut Vec<i64>) -> PyResult<()> {
    let raw = PyUntypedBuffer::get(obj)?;
    // An empty buffer may carry a dangling, unaligned pointer: nothing to read anyway.
    if raw.len_bytes() == 0 {
        into.clear();
        raw.release(py);
        return Ok(());
    }
    let typed = raw.as_typed::<i64>().map_err(|e| {
        PyTypeError::new_err(format!(
            "expected an aligned int64 buffer (numpy int64, array('q')): {e}"
        ))
    });
    let r = typed.and_then(|buf| {
        into.clear();
        into.resize(buf.item_count(), 0);
        buf.copy_to_slice(py, into)
    });
    raw.release(py);
    r
}

/// Copies a uint8/bool buffer (numpy bool arrays go through a `'B'` memoryview cast).
fn read_u8(py: Python<'_>, obj: &Bound<'_, PyAny>, into: &mut Vec<u8>) -> PyResult<()> {
    let mut raw = PyUntypedBuffer::get(obj)?;
    if raw.format().to_bytes() == b"?" {
        let view = PyMemoryView::from(obj)?;
        raw.release(py);
        raw = PyUntypedBuffer::get(&view.call_method1("cast", ("B",))?)?;
    }
    if raw.len_bytes() == 0 {
        into.clear();
        raw.release(py);
        return Ok(());
    }
    let typed = raw
        .as_typed::<u8>()
        .map_err(|e| PyTypeError::new_err(format!("expected a uint8 or bool buffer: {e}")));
    let r = typed.and_then(|buf| {
        into.clear();
        into.resize(buf.item_count(), 0);
        buf.copy_to_slice(py, into)
    });
    raw.release(py);
    r
}

/// A `(price, size)` pair given as a tuple, a list or any other sequence of two exact numbers.
struct Pair(Fixed, Fixed);

impl<'a, 'py> FromPyObject<'a, 'py> for Pair {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(t) = obj.cast::<PyTuple>() {
            if t.len() == 2 {
                return Ok(Pair(
                    fixed_from_py(&t.get_item(0)?)?,
                    fixed_from_py(&t.get_item(1)?)?,
                ));
            }
        } else if let Ok(seq) = obj.cast::<PySequence>() {
            if !obj.is_instance_of::<PyString>() && seq.len()? == 2 {
                return Ok(Pair(
                    fixed_from_py(&seq.get_item(0)?)?,
                    fixed_from_py(&seq.get_item(1)?)?,
                ));
            }
        }
        Err(PyTypeError::new_err(
            "a book level must be a (price, size) pair",
        ))
    }
}

fn level_tuple<'py>(py: Python<'py>, l: Level) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, [to_decimal(py, l.price)?, to_decimal(py, l.size)?])
}

/// An L2 order book (see `_core.pyi` for the Python documentation).
#[pyclass(module = "hedgekit._core", name = "OrderBook")]
pub struct PyOrderBook {
    book: OrderBook,
    venue: String,
    symbol: String,
    buf: [Vec<i64>; 4],
    sides: Vec<u8>,
}

#[pymethods]
impl PyOrderBook {
    #[new]
    #[pyo3(signature = (venue = String::new(), symbol = String::new()))]
    fn new(venue: String, symbol: String) -> Self {
        PyOrderBook {
            book: OrderBook::new(),
            venue,
            symbol,
            buf: Default::default(),
            sides: Vec::new(),
        }
    }

    fn __repr__(&self) -> String {
        let l = |l: Option<Level>| {
            l.map_or_else(
                || "None".to_string(),
                |l| format!("{} x {}", l.price, l.size),
            )
        };
        format!(
            "OrderBook(venue='{}', symbol='{}', bid={}, ask={}, crossed={}, synced={})",
            self.venue,
            self.symbol,
            l(self.book.best_bid()),
            l(self.book.best_ask()),
            if self.book.is_crossed() {
                "True"
            } else {
                "False"
            },
            if self.book.is_synced() {
                "True"
            } else {
                "False"
            },
        )
    }

    #[pyo3(signature = (bids, asks, ts_ns = 0))]
    fn apply_snapshot(&mut self, bids: Vec<Pair>, asks: Vec<Pair>, ts_ns: u64) -> PyResult<u8> {
        let st = self.book.apply_snapshot(
            bids.into_iter().map(|Pair(p, s)| (p, s)),
            asks.into_iter().map(|Pair(p, s)| (p, s)),
            ts_ns,
        );
        st.map(|s| s as u8).py()
    }

    #[pyo3(signature = (bid_prices, bid_sizes, ask_prices, ask_sizes, ts_ns = 0))]
    fn apply_snapshot_raw(
        &mut self,
        py: Python<'_>,
        bid_prices: &Bound<'_, PyAny>,
        bid_sizes: &Bound<'_, PyAny>,
        ask_prices: &Bound<'_, PyAny>,
        ask_sizes: &Bound<'_, PyAny>,
        ts_ns: u64,
    ) -> PyResult<u8> {
        let [bp, bs, ap, asz] = &mut self.buf;
        read_i64(py, bid_prices, bp)?;
        read_i64(py, bid_sizes, bs)?;
        read_i64(py, ask_prices, ap)?;
        read_i64(py, ask_sizes, asz)?;
        self.book
            .apply_snapshot_raw(bp, bs, ap, asz, ts_ns)
            .map(|s| s as u8)
            .py()
    }

    #[pyo3(signature = (side, price, size, ts_ns = 0))]
    fn apply_delta(&mut self, side: &str, price: Num, size: Num, ts_ns: u64) -> PyResult<u8> {
        self.book
            .apply_delta(book_side(side)?, price.0, size.0, ts_ns)
            .map(|s| s as u8)
            .py()
    }

    #[pyo3(signature = (is_bid, price_raw, size_raw, ts_ns = 0))]
    fn apply_delta_raw(
        &mut self,
        is_bid: bool,
        price_raw: i64,
        size_raw: i64,
        ts_ns: u64,
    ) -> PyResult<u8> {
        let side = if is_bid { Side::Bid } else { Side::Ask };
        let st = self.book.apply_delta(
            side,
            Fixed::from_raw(price_raw),
            Fixed::from_raw(size_raw),
            ts_ns,
        );
        st.map(|s| s as u8).py()
    }

    #[pyo3(signature = (is_bid, prices, sizes, ts_ns = 0))]
    fn apply_deltas_raw(
        &mut self,
        py: Python<'_>,
        is_bid: &Bound<'_, PyAny>,
        prices: &Bound<'_, PyAny>,
        sizes: &Bound<'_, PyAny>,
        ts_ns: u64,
    ) -> PyResult<u8> {
        let [ps, ss, _, _] = &mut self.buf;
        read_u8(py, is_bid, &mut self.sides)?;
        read_i64(py, prices, ps)?;
        read_i64(py, sizes, ss)?;
        self.book
            .apply_deltas_raw(&self.sides, ps, ss, ts_ns)
            .map(|s| s as u8)
            .py()
    }

    #[pyo3(signature = (data, ts_ns = 0))]
    fn apply_hyperliquid(&mut self, data: &[u8], ts_ns: u64) -> PyResult<u8> {
        self.book
            .apply_hyperliquid(data, ts_ns)
            .map(|s| s as u8)
            .py()
    }

    #[pyo3(signature = (data, ts_ns = 0))]
    fn apply_depth_snapshot(&mut self, data: &[u8], ts_ns: u64) -> PyResult<u8> {
        self.book
            .apply_depth_snapshot(data, ts_ns)
            .map(|s| s as u8)
            .py()
    }

    #[pyo3(signature = (data, ts_ns = 0))]
    fn apply_depth_update(&mut self, data: &[u8], ts_ns: u64) -> PyResult<u8> {
        self.book
            .apply_depth_update(data, ts_ns)
            .map(|s| s as u8)
            .py()
    }

    fn clear(&mut self) {
        self.book.clear();
    }

    fn best_bid_raw(&self) -> Option<i64> {
        self.book.best_bid().map(|l| l.price.raw())
    }

    fn best_ask_raw(&self) -> Option<i64> {
        self.book.best_ask().map(|l| l.price.raw())
    }

    fn bbo_raw(&self) -> (Option<i64>, Option<i64>, Option<i64>, Option<i64>) {
        let (b, a) = self.book.bbo();
        (
            b.map(|l| l.price.raw()),
            b.map(|l| l.size.raw()),
            a.map(|l| l.price.raw()),
            a.map(|l| l.size.raw()),
        )
    }

    fn best_bid<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.book.best_bid().map(|l| level_tuple(py, l)).transpose()
    }

    fn best_ask<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.book.best_ask().map(|l| level_tuple(py, l)).transpose()
    }

    fn mid<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_to_decimal(py, self.book.mid())
    }

    fn spread_bps(&self) -> Option<f64> {
        self.book.spread_bps()
    }

    #[pyo3(signature = (side, depth = 20))]
    fn levels<'py>(
        &self,
        py: Python<'py>,
        side: &str,
        depth: usize,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.book
            .levels(book_side(side)?)
            .take(depth)
            .map(|l| level_tuple(py, l))
            .collect()
    }

    fn walk(&self, side: &str, size: Num) -> PyResult<PyDepthWalk> {
        let w = self.book.walk(taker_side(side)?, size.0).py()?;
        Ok(PyDepthWalk {
            walk: w,
            mid: self.book.mid(),
        })
    }

    fn vwap<'py>(
        &self,
        py: Python<'py>,
        side: &str,
        size: Num,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let w = self.book.walk(taker_side(side)?, size.0).py()?;
        w.vwap
            .map(|v| PyTuple::new(py, [to_decimal(py, v)?, to_decimal(py, w.filled)?]))
            .transpose()
    }

    fn size_within_bps<'py>(
        &self,
        py: Python<'py>,
        side: &str,
        bps: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = self
            .book
            .size_within_bps(taker_side(side)?, bps_from_py(bps)?)
            .py()?;
        to_decimal(py, v)
    }

    fn worst_price<'py>(
        &self,
        py: Python<'py>,
        side: &str,
        size: Num,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_to_decimal(py, self.book.worst_price(taker_side(side)?, size.0).py()?)
    }

    fn liquidity_score(&self, side: &str, size: Num, band_bps: &Bound<'_, PyAny>) -> PyResult<f64> {
        self.book
            .liquidity_score(taker_side(side)?, size.0, bps_from_py(band_bps)?)
            .py()
    }

    #[getter]
    fn is_crossed(&self) -> bool {
        self.book.is_crossed()
    }

    #[getter]
    fn is_synced(&self) -> bool {
        self.book.is_synced()
    }

    #[getter]
    fn last_update_ns(&self) -> u64 {
        self.book.last_update_ns()
    }

    #[getter]
    fn venue_time_ms(&self) -> Option<i64> {
        self.book.venue_time_ms()
    }

    #[getter]
    fn last_update_id(&self) -> Option<i64> {
        self.book.last_update_id()
    }

    #[getter]
    fn venue(&self) -> &str {
        &self.venue
    }

    #[getter]
    fn symbol(&self) -> &str {
        &self.symbol
    }
}

/// The result of a depth walk (frozen).
#[pyclass(module = "hedgekit._core", name = "DepthWalk", frozen)]
pub struct PyDepthWalk {
    walk: DepthWalk,
    mid: Option<Fixed>,
}

#[pymethods]
impl PyDepthWalk {
    #[getter]
    fn side(&self) -> &'static str {
        match self.walk.side {
            TakerSide::Buy => "buy",
            TakerSide::Sell => "sell",
        }
    }

    #[getter]
    fn wanted<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.walk.wanted)
    }

    #[getter]
    fn filled<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.walk.filled)
    }

    #[getter]
    fn vwap<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_to_decimal(py, self.walk.vwap)
    }

    #[getter]
    fn best_price<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_to_decimal(py, self.walk.best_price)
    }

    #[getter]
    fn worst_price<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_to_decimal(py, self.walk.worst_price)
    }

    #[getter]
    fn complete(&self) -> bool {
        self.walk.complete
    }

    #[getter]
    fn slippage_bps(&self) -> Option<f64> {
        self.walk.slippage_bps()
    }

    #[getter]
    fn slippage_vs_mid_bps(&self) -> Option<f64> {
        self.walk.slippage_vs_bps(self.mid?)
    }

    fn __repr__(&self) -> String {
        let o = |v: Option<Fixed>| v.map_or_else(|| "None".to_string(), |v| v.to_string());
        format!(
            "DepthWalk(side='{}', wanted={}, filled={}, vwap={}, worst_price={}, complete={})",
            self.side(),
            self.walk.wanted,
            self.walk.filled,
            o(self.walk.vwap),
            o(self.walk.worst_price),
            if self.walk.complete { "True" } else { "False" },
        )
    }
}

/// Adds `OrderBook`, `DepthWalk` and the `BOOK_*` status constants to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyOrderBook>()?;
    m.add_class::<PyDepthWalk>()?;
    m.add("BOOK_OK", UpdateStatus::Ok as u8)?;
    m.add("BOOK_CROSSED", UpdateStatus::Crossed as u8)?;
    m.add("BOOK_IGNORED", UpdateStatus::Ignored as u8)?;
    m.add("BOOK_GAP", UpdateStatus::Gap as u8)?;
    Ok(())
}
