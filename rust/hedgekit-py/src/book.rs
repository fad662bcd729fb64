//! `OrderBook` and `DepthWalk`: the Python face of `hedgekit_core::book`.

use hedgekit_core::book::{DepthWalk, Level, OrderBook, Side, TakerSide, UpdateStatus};
use hedgekit_core::Fixed;
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyMemoryView, PySequence, PyString, PyTuple};

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

/// The bytes of a venue message: `bytes` and `str` are read in place (no copy); any other
/// contiguous byte buffer (`memoryview`, `bytearray`: a WebSocket frame handed on without a
/// copy on the Python side) is copied once into `scratch`, a buffer the book reuses.
fn message_bytes<'a>(
    py: Python<'_>,
    obj: &'a Bound<'_, PyAny>,
    scratch: &'a mut Vec<u8>,
) -> PyResult<&'a [u8]> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes());
    }
    let raw = PyUntypedBuffer::get(obj).map_err(|_| {
        PyTypeError::new_err(format!(
            "expected bytes, str or a byte buffer (memoryview, bytearray), got {}",
            obj.get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |n| n.to_string())
        ))
    })?;
    scratch.clear();
    if raw.len_bytes() == 0 {
        raw.release(py);
        return Ok(scratch);
    }
    let r = raw
        .as_typed::<u8>()
        .map_err(|e| PyTypeError::new_err(format!("expected a byte buffer: {e}")))
        .and_then(|buf| {
            scratch.resize(buf.item_count(), 0);
            buf.copy_to_slice(py, scratch)
        });
    raw.release(py);
    r.map(|()| scratch.as_slice())
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

/// An L2 order book with exact prices and sizes, kept in Rust.
///
/// Every update returns a status (``BOOK_OK``, ``BOOK_CROSSED``, ``BOOK_IGNORED``,
/// ``BOOK_GAP``) and either applies completely or not at all: an invalid argument or a malformed
/// message raises and leaves the book exactly as it was. A crossed book is reported by the
/// status of the update that crossed it and stays flagged (``is_crossed``) until an update
/// uncrosses it.
///
/// One rule for a price listed twice on one side of one snapshot or venue message (every venue,
/// snapshot and diff alike, whatever the sizes, a size-0 entry included): it is **refused**, the
/// book unchanged. A venue never sends the same price twice in one message, so such a message is
/// corrupted, and applying it last-wins would hide that behind a guess. (The same price on both
/// sides is a crossed book, not a duplicate. A batch of the caller's own deltas,
/// :meth:`apply_deltas_raw`, is a sequence and may repeat a price.)
///
/// Venue messages are read as strict JSON — exactly what a strict parser such as ``orjson``
/// accepts (no leading zeros, no trailing commas or characters, valid UTF-8 and escapes, numbers
/// finite as doubles), with values nested at most 64 deep. Keys and strings are read decoded (an
/// escaped key is the same key). A key the parser reads may appear once per message (envelope
/// and ``data`` together); unknown keys are skipped.
///
/// Raw values (``*_raw``) are fixed-point integers: ``raw == value * 10**SCALE``.
///
/// Args:
///     venue: A label for the venue (shown in ``repr``).
///     symbol: A label for the instrument (shown in ``repr``).
#[pyclass(module = "hedgekit._core", name = "OrderBook")]
pub struct PyOrderBook {
    book: OrderBook,
    venue: String,
    symbol: String,
    buf: [Vec<i64>; 4],
    sides: Vec<u8>,
    msg: Vec<u8>,
}

#[pymethods]
impl PyOrderBook {
    #[new]
    #[pyo3(signature = (venue = String::new(), symbol = String::new()), text_signature = "(venue='', symbol='')")]
    fn new(venue: String, symbol: String) -> Self {
        PyOrderBook {
            book: OrderBook::new(),
            venue,
            symbol,
            buf: Default::default(),
            sides: Vec::new(),
            msg: Vec::new(),
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

    /// Replaces the whole book (levels in any order; size 0 levels are skipped).
    ///
    /// The book becomes synced and forgets any Binance update id. A price listed twice on one
    /// side is refused (even with size 0): see the class documentation.
    ///
    /// Args:
    ///     bids: ``(price, size)`` pairs (tuples or lists), exact (``Decimal``, ``str`` or ``int``; floats are
    ///         refused with ``TypeError``).
    ///     asks: ``(price, size)`` pairs.
    ///     ts_ns: Your receive timestamp, recorded as ``last_update_ns``.
    ///
    /// Returns:
    ///     ``BOOK_OK`` or ``BOOK_CROSSED``.
    ///
    /// Raises:
    ///     ValueError: A non-positive price, a negative size or a price listed twice on one
    ///         side.
    ///     hedgekit.errors.ConversionError: A value that is not an exact decimal (its subclass
    ///         ``NumberRangeError`` for one outside the range).
    #[pyo3(signature = (bids, asks, ts_ns = 0))]
    fn apply_snapshot(&mut self, bids: Vec<Pair>, asks: Vec<Pair>, ts_ns: u64) -> PyResult<u8> {
        let st = self.book.apply_snapshot(
            bids.into_iter().map(|Pair(p, s)| (p, s)),
            asks.into_iter().map(|Pair(p, s)| (p, s)),
            ts_ns,
        );
        st.map(|s| s as u8).py()
    }

    /// ``apply_snapshot`` from int64 buffers of raw values (numpy ``int64`` arrays,
    /// ``array.array('q')``, ``memoryview``), without a Python object per level.
    ///
    /// Raises:
    ///     ValueError: Lengths differ, a non-positive price, a negative size or a duplicate.
    ///     TypeError: A buffer that is not of 64-bit integers.
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

    /// Sets the size at one price; size 0 removes the level (removing an absent level is fine).
    ///
    /// Args:
    ///     side: ``"bid"`` or ``"ask"``.
    ///     price: The level's price (positive).
    ///     size: The new total size at that price (0 removes).
    ///     ts_ns: Your receive timestamp, recorded as ``last_update_ns``.
    ///
    /// Returns:
    ///     ``BOOK_OK`` or ``BOOK_CROSSED``.
    ///
    /// Raises:
    ///     ValueError: An unknown side, a non-positive price or a negative size.
    #[pyo3(signature = (side, price, size, ts_ns = 0))]
    fn apply_delta(&mut self, side: &str, price: Num, size: Num, ts_ns: u64) -> PyResult<u8> {
        self.book
            .apply_delta(book_side(side)?, price.0, size.0, ts_ns)
            .map(|s| s as u8)
            .py()
    }

    /// The fast form of ``apply_delta`` with raw integers.
    ///
    /// Raises:
    ///     ValueError: A non-positive price or a negative size.
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

    /// Applies a batch of raw deltas as one atomic update.
    ///
    /// All deltas are validated before any is applied. The crossed check is made once, at the
    /// end: a book crossed only half-way through the batch (one venue update) is not reported.
    /// A batch is the caller's own sequence of updates, applied in order: a price may appear
    /// more than once and its last delta wins (check a venue message for repeated prices
    /// before turning it into a batch; the venue parsers refuse them).
    ///
    /// Args:
    ///     is_bid: A ``uint8``/``bool`` buffer (non-zero = bid) or ``bytes``.
    ///     prices: An int64 buffer of raw prices.
    ///     sizes: An int64 buffer of raw sizes (0 removes).
    ///     ts_ns: Your receive timestamp.
    ///
    /// Returns:
    ///     The status after the whole batch: ``BOOK_OK`` or ``BOOK_CROSSED``.
    ///
    /// Raises:
    ///     ValueError: Lengths differ, a non-positive price or a negative size (nothing applied).
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

    /// Applies a Hyperliquid ``l2Book`` message (WS envelope or bare data).
    ///
    /// ``data`` is ``bytes`` or ``str`` (read in place) or any contiguous byte buffer
    /// (``memoryview``, ``bytearray``: a WebSocket frame's payload, copied once into a buffer
    /// the book reuses). The same holds for :meth:`apply_depth_snapshot` and
    /// :meth:`apply_depth_update`. Anything else raises ``TypeError``.
    ///
    /// Each message is a full snapshot and replaces the book (size 0 levels are skipped); its
    /// ``time`` (ms) becomes ``venue_time_ms``. ``levels`` and ``time`` may each appear once,
    /// in the envelope or in ``data``; a level's ``px`` and ``sz`` once each.
    ///
    /// Returns:
    ///     ``BOOK_OK`` or ``BOOK_CROSSED``.
    ///
    /// Raises:
    ///     hedgekit.errors.ParseError: A malformed message (``.position`` is the byte offset):
    ///         not strict JSON, a missing or repeated field, a wrong type, a number that is not
    ///         a finite decimal of at most 9 decimals within the range, a non-positive price, a
    ///         negative size, or a price listed twice on one side (even with size 0). The book
    ///         is unchanged.
    #[pyo3(signature = (data, ts_ns = 0))]
    fn apply_hyperliquid(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        ts_ns: u64,
    ) -> PyResult<u8> {
        let data = message_bytes(py, data, &mut self.msg)?;
        self.book
            .apply_hyperliquid(data, ts_ns)
            .map(|s| s as u8)
            .py()
    }

    /// Applies an Aster/Binance REST ``/fapi/v1/depth`` body: replaces the book (qty 0
    /// levels are skipped), records ``lastUpdateId`` and makes the book synced, awaiting its
    /// first diff.
    ///
    /// Raises:
    ///     hedgekit.errors.ParseError: A malformed message, as for :meth:`apply_hyperliquid`
    ///         (a price listed twice on one side included), or a missing ``lastUpdateId``,
    ///         ``bids`` or ``asks``; the book is unchanged.
    #[pyo3(signature = (data, ts_ns = 0))]
    fn apply_depth_snapshot(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        ts_ns: u64,
    ) -> PyResult<u8> {
        let data = message_bytes(py, data, &mut self.msg)?;
        self.book
            .apply_depth_snapshot(data, ts_ns)
            .map(|s| s as u8)
            .py()
    }

    /// Applies an Aster/Binance ``depthUpdate`` diff (bare or as ``{"stream","data"}``).
    ///
    /// Sequence rules: a diff older than the book (``u`` below the snapshot's
    /// ``lastUpdateId``, or not newer than the last applied ``u``) returns ``BOOK_IGNORED``. The
    /// first diff after a snapshot must have ``U <= lastUpdateId <= u``, every later one must
    /// have ``pu`` equal to the previous ``u``; otherwise ``BOOK_GAP`` is returned, the diff is
    /// not applied and ``is_synced`` stays false until the next snapshot. A diff before any
    /// depth snapshot is a ``BOOK_GAP`` too.
    ///
    /// A price listed twice on one side of a diff is refused (not applied last-wins), whatever
    /// its update ids: the book and its sync state stay as they were, so the venue's next diff
    /// does not chain and becomes a ``BOOK_GAP`` that resynchronises the book.
    ///
    /// Returns:
    ///     ``BOOK_OK``, ``BOOK_CROSSED``, ``BOOK_IGNORED`` or ``BOOK_GAP``.
    ///
    /// Raises:
    ///     hedgekit.errors.ParseError: A malformed message (as for :meth:`apply_hyperliquid`,
    ///         a price listed twice on one side included; a missing ``U``, ``u``, ``pu``,
    ///         ``b`` or ``a``; an ``e`` other than ``depthUpdate``); the book and its sync
    ///         state are unchanged.
    #[pyo3(signature = (data, ts_ns = 0))]
    fn apply_depth_update(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        ts_ns: u64,
    ) -> PyResult<u8> {
        let data = message_bytes(py, data, &mut self.msg)?;
        self.book
            .apply_depth_update(data, ts_ns)
            .map(|s| s as u8)
            .py()
    }

    /// Empties the book and marks it not synced (e.g. after a disconnect).
    fn clear(&mut self) {
        self.book.clear();
    }

    /// The best bid price, raw, or ``None`` for an empty side.
    fn best_bid_raw(&self) -> Option<i64> {
        self.book.best_bid().map(|l| l.price.raw())
    }

    /// The best ask price, raw, or ``None`` for an empty side.
    fn best_ask_raw(&self) -> Option<i64> {
        self.book.best_ask().map(|l| l.price.raw())
    }

    /// ``(last update ns, bid price, bid size, ask price, ask size)``, raw, when a quote can be
    /// read from the book (synced, not crossed, updated at least once, both sides present);
    /// else ``None``. Two equal stamps: the touch has not changed between them.
    fn touch_stamp(&self) -> Option<(u64, i64, i64, i64, i64)> {
        self.book
            .touch_stamp()
            .map(|(ts, b, a)| (ts, b.price.raw(), b.size.raw(), a.price.raw(), a.size.raw()))
    }

    /// ``(bid price, bid size, ask price, ask size)``, raw, in one call.
    fn bbo_raw(&self) -> (Option<i64>, Option<i64>, Option<i64>, Option<i64>) {
        let (b, a) = self.book.bbo();
        (
            b.map(|l| l.price.raw()),
            b.map(|l| l.size.raw()),
            a.map(|l| l.price.raw()),
            a.map(|l| l.size.raw()),
        )
    }

    /// The best bid as ``(price, size)``, or ``None``.
    fn best_bid<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.book.best_bid().map(|l| level_tuple(py, l)).transpose()
    }

    /// The best ask as ``(price, size)``, or ``None``.
    fn best_ask<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.book.best_ask().map(|l| level_tuple(py, l)).transpose()
    }

    /// ``(best bid + best ask) / 2``, rounded down to 1e-9 (exact for prices of at most 8
    /// decimals); ``None`` unless both sides have a level. Also given for a crossed book.
    fn mid<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_to_decimal(py, self.book.mid())
    }

    /// ``(ask - bid) / mid * 1e4`` as a float (negative when crossed), or ``None``.
    fn spread_bps(&self) -> Option<f64> {
        self.book.spread_bps()
    }

    /// The top ``depth`` levels of ``side`` (``"bid"`` or ``"ask"``), best first.
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

    /// Walks the book for a taker: ``side`` ``"buy"`` walks the asks, ``"sell"`` the bids.
    ///
    /// Raises:
    ///     ValueError: An unknown side or a non-positive size.
    fn walk(&self, side: &str, size: Num) -> PyResult<PyDepthWalk> {
        let w = self.book.walk(taker_side(side)?, size.0).py()?;
        Ok(PyDepthWalk {
            walk: w,
            mid: self.book.mid(),
        })
    }

    /// ``(vwap, filled)`` for a taker of ``size`` (see ``walk``); ``None`` if nothing fills.
    ///
    /// The VWAP is rounded toward the worse price for the taker (up for a buy, down for a
    /// sell); ``filled < size`` when the book is too thin.
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

    /// The size a taker (``"buy"``/``"sell"``) gets within ``bps`` of the best price,
    /// inclusive and exact (a buy takes asks with ``price <= best * (1 + bps / 1e4)``).
    ///
    /// A total beyond the largest value is returned as that value (9223372036.854775807): a
    /// lower bound, so ``depth >= size`` stays answered correctly for every size.
    ///
    /// Raises:
    ///     ValueError: An unknown side or a negative ``bps``.
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

    /// The worst price a taker of ``size`` touches (the last level if the book is too
    /// thin); ``None`` for an empty side.
    fn worst_price<'py>(
        &self,
        py: Python<'py>,
        side: &str,
        size: Num,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_to_decimal(py, self.book.worst_price(taker_side(side)?, size.0).py()?)
    }

    /// A score in ``[0, 1]``:
    /// ``min(1, size_within_bps(band_bps) / size) * band_bps / (band_bps + spread_bps)``.
    ///
    /// More depth never lowers it, a wider spread never raises it; the spread factor is left
    /// out when the other side is empty; a crossed book scores 0.
    ///
    /// Raises:
    ///     ValueError: An unknown side, or a non-positive ``size`` or ``band_bps``.
    fn liquidity_score(&self, side: &str, size: Num, band_bps: &Bound<'_, PyAny>) -> PyResult<f64> {
        self.book
            .liquidity_score(taker_side(side)?, size.0, bps_from_py(band_bps)?)
            .py()
    }

    /// True while the best bid is at or above the best ask.
    #[getter]
    fn is_crossed(&self) -> bool {
        self.book.is_crossed()
    }

    /// True after a snapshot and until a sequence gap (or ``clear``).
    #[getter]
    fn is_synced(&self) -> bool {
        self.book.is_synced()
    }

    /// The ``ts_ns`` of the last applied update (0 before any).
    #[getter]
    fn last_update_ns(&self) -> u64 {
        self.book.last_update_ns()
    }

    /// The venue's own time (ms) of the last applied message that carried one.
    #[getter]
    fn venue_time_ms(&self) -> Option<i64> {
        self.book.venue_time_ms()
    }

    /// Binance/Aster: the snapshot's ``lastUpdateId``, then the ``u`` of the last applied diff.
    #[getter]
    fn last_update_id(&self) -> Option<i64> {
        self.book.last_update_id()
    }

    /// The venue label given at construction.
    #[getter]
    fn venue(&self) -> &str {
        &self.venue
    }

    /// The symbol label given at construction.
    #[getter]
    fn symbol(&self) -> &str {
        &self.symbol
    }
}

/// The result of ``OrderBook.walk`` (immutable).
#[pyclass(module = "hedgekit._core", name = "DepthWalk", frozen)]
pub struct PyDepthWalk {
    walk: DepthWalk,
    mid: Option<Fixed>,
}

#[pymethods]
impl PyDepthWalk {
    /// The taker's side, ``"buy"`` or ``"sell"``.
    #[getter]
    fn side(&self) -> &'static str {
        match self.walk.side {
            TakerSide::Buy => "buy",
            TakerSide::Sell => "sell",
        }
    }

    /// The size asked for.
    #[getter]
    fn wanted<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.walk.wanted)
    }

    /// The size the book could fill (at most ``wanted``).
    #[getter]
    fn filled<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_decimal(py, self.walk.filled)
    }

    /// The average fill price, rounded toward the worse price for the taker.
    #[getter]
    fn vwap<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_to_decimal(py, self.walk.vwap)
    }

    /// The best price of the walked side.
    #[getter]
    fn best_price<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_to_decimal(py, self.walk.best_price)
    }

    /// The last (worst) price the fill touched.
    #[getter]
    fn worst_price<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_to_decimal(py, self.walk.worst_price)
    }

    /// True when the book held the whole size.
    #[getter]
    fn complete(&self) -> bool {
        self.walk.complete
    }

    /// Slippage of the VWAP against the best price, in bps (positive = worse for the taker).
    #[getter]
    fn slippage_bps(&self) -> Option<f64> {
        self.walk.slippage_bps()
    }

    /// Slippage of the VWAP against the mid at the time of the walk, in bps.
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
