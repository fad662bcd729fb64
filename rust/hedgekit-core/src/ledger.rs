//! The fill ledger: the single source of truth for fills — deduplication by
//! (venue, order id, trade id) in a bounded FIFO window, and exact per-order accumulation.
//!
//! Every fill, whether it arrived by WebSocket, by REST poll or from an order-status query, goes
//! through [`FillLedger::apply`] once. The outcome is a value ([`FillStatus`]), never an error,
//! for everything a venue can legitimately do to us (send a fill twice, send a fill before the
//! order's acknowledgement, overfill an order); errors are reserved for values that cannot be a
//! fill at all (non-positive price or size, arithmetic overflow), and they change nothing.
//!
//! # Keys: a fill, not a trade
//! A fill is identified by its venue, the order it filled and the venue's trade id. The trade
//! id alone is not enough: one trade can fill several of our orders, and a venue that reports
//! the trade rather than the fill gives every one of those fills the same id, so deduplicating
//! on the trade id would drop all but the first (the order never completes and the position
//! disagrees with the venue). Per venue:
//!
//! - Hyperliquid `tid` is a 50-bit hash of the (buyer `oid`, seller `oid`) pair: it names the
//!   match, not our side of it, and being a hash it is unique only per (time, coin);
//! - Aster `t` is the id of the trade (Binance style: both sides of a match carry it), and the
//!   rule for its fills is to deduplicate on (`i`, `t`): order id and trade id;
//! - Lighter `trade_id` names a trade object that carries both sides (`ask_id`, `bid_id`).
//!
//! The order id in the key is the id the order was registered under
//! ([`FillLedger::register_order`]; the client order id). Every copy of one fill must name the
//! same order id, whichever channel brought it: a caller that learns only the venue's order id
//! from a message resolves it to the registered id before applying the fill.
//!
//! A trade id is an integer (Hyperliquid `tid`, Aster `t`, Lighter `trade_id`) or a string; the
//! integer `5` and the string `"5"` are **distinct** keys. A venue sends one form consistently,
//! and treating the two as equal could only ever merge two different fills into one (a lost
//! fill), while treating them as distinct at worst counts a fill twice if a caller mixes forms
//! for the same venue — which is a caller bug that the tests of each adapter catch. The full key
//! is stored (never a hash of it), so a hash collision costs a comparison, never a fill.
//!
//! # The window
//! Seen keys are held in a FIFO window of `capacity` keys (default 10 000). When it is full, the
//! oldest key is evicted. Consequence: a duplicate that arrives after more than `capacity` newer
//! distinct fills have been applied is no longer recognised and is counted again. Size the
//! window to cover the longest replay a venue can send (a REST poll of recent fills, a
//! WebSocket snapshot on reconnect). Forgetting an order does not forget its fill keys.
//!
//! # Lookups
//! Venue names are interned to a small integer when an order is registered; a lookup by
//! `&str` (venue, order id or string trade id) never allocates, and the key of a fill with an
//! integer trade id allocates nothing of its own (it shares the registered order's id). The hash tables use a fast keyed multiply-fold hash: keys come from
//! venues, not from an adversary, and equality is always checked on the full key.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use crate::error::{CoreError, CoreResult};
use crate::fixed::{Fixed, SCALE};

pub use crate::instrument::Side;

/// A borrowed trade id, as a venue sends it. `Int(5)` and `Str("5")` are different keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeId<'a> {
    /// An integer id; `i128` holds every `i64` and every `u64`.
    Int(i128),
    /// A string id.
    Str(&'a str),
}

impl fmt::Display for TradeId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TradeId::Int(v) => write!(f, "{v}"),
            TradeId::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// One fill as reported by a venue (borrowed; nothing is allocated to apply it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill<'a> {
    /// The venue's name, as used in [`FillLedger::register_order`].
    pub venue: &'a str,
    /// The venue's trade id.
    pub trade_id: TradeId<'a>,
    /// The order the fill belongs to: the id it was registered under (the client order id).
    /// Part of the dedup key, so every copy of one fill must name the same order id.
    pub order_id: &'a str,
    /// Execution price; must be positive.
    pub price: Fixed,
    /// Executed size; must be positive.
    pub size: Fixed,
    /// Fee paid, signed: positive is a cost, negative a rebate.
    pub fee: Fixed,
    /// True when the fill was a maker (resting) fill.
    pub is_maker: bool,
    /// Execution time in nanoseconds since the epoch; `0` means unknown and is ignored.
    pub ts_ns: i64,
}

/// What [`FillLedger::apply`] did with a fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillStatus {
    /// The fill was new and has been recorded.
    Applied,
    /// The (venue, order id, trade id) key was already applied; nothing changed.
    Duplicate,
    /// The fill was new and **has been recorded** (the venue says it happened), but the order's
    /// filled size now exceeds its size by `excess` (the total excess, not this fill's share).
    Overfill {
        /// `filled − size` after this fill.
        excess: Fixed,
    },
    /// No such order is registered: the fill was neither applied nor marked seen, so it can be
    /// buffered and applied again once the order is registered.
    UnknownOrder,
}

/// An exact notional `Σ price · size`, as an `i128` count of 10⁻¹⁸ units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Notional(pub i128);

impl Notional {
    /// Decimal places of the raw value (18: the product of two [`Fixed`]).
    pub const SCALE: u32 = 2 * SCALE;
}

impl fmt::Display for Notional {
    /// Normalised decimal text, no exponent, no trailing zeros (`"3118.25"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNIT: u128 = 1_000_000_000_000_000_000;
        let v = self.0.unsigned_abs();
        if self.0 < 0 {
            f.write_str("-")?;
        }
        write!(f, "{}", v / UNIT)?;
        let mut frac = v % UNIT;
        if frac != 0 {
            let mut width = Notional::SCALE as usize;
            while frac % 10 == 0 {
                frac /= 10;
                width -= 1;
            }
            write!(f, ".{frac:0width$}")?;
        }
        Ok(())
    }
}

/// Everything the ledger knows about one order's fills.
///
/// Invariants: `filled == maker_size + taker_size`; `fill_count == 0` ⇔ `filled == 0`;
/// `notional` is the exact `Σ price · size` of the applied fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFills {
    /// The order's side.
    pub side: Side,
    /// The order's size (positive; updated by [`FillLedger::set_order_size`]).
    pub size: Fixed,
    /// Σ size of the applied fills.
    pub filled: Fixed,
    /// Σ price · size of the applied fills, exact.
    pub notional: Notional,
    /// Σ fee, signed (negative: net rebate).
    pub fees: Fixed,
    /// Σ size of the maker fills.
    pub maker_size: Fixed,
    /// Σ size of the taker fills.
    pub taker_size: Fixed,
    /// Number of distinct fills applied.
    pub fill_count: u64,
    /// Smallest known fill timestamp (fills may arrive out of order), if any was given.
    pub first_fill_ns: Option<i64>,
    /// Largest known fill timestamp, if any was given.
    pub last_fill_ns: Option<i64>,
}

impl OrderFills {
    fn new(side: Side, size: Fixed) -> Self {
        OrderFills {
            side,
            size,
            filled: Fixed::ZERO,
            notional: Notional(0),
            fees: Fixed::ZERO,
            maker_size: Fixed::ZERO,
            taker_size: Fixed::ZERO,
            fill_count: 0,
            first_fill_ns: None,
            last_fill_ns: None,
        }
    }

    /// `size − filled`, or zero once the order is complete (never negative; see
    /// [`OrderFills::overfill`]).
    pub fn remaining(&self) -> Fixed {
        if self.filled >= self.size {
            Fixed::ZERO
        } else {
            // Both are non-negative, so the difference is exact (it never saturates).
            self.size.saturating_sub(self.filled)
        }
    }

    /// `filled − size` when the order is overfilled, else zero.
    pub fn overfill(&self) -> Fixed {
        if self.filled > self.size {
            // Both are non-negative, so the difference is exact (it never saturates).
            self.filled.saturating_sub(self.size)
        } else {
            Fixed::ZERO
        }
    }

    /// True once `filled ≥ size`.
    pub fn is_complete(&self) -> bool {
        self.filled >= self.size
    }

    /// The average fill price `notional / filled`, rounded to the nearest 10⁻⁹ with ties away
    /// from zero; `None` before the first fill. The exact value is `notional / filled`.
    pub fn avg_price(&self) -> Option<Fixed> {
        let f = i128::from(self.filled.raw());
        if f <= 0 {
            return None;
        }
        let n = self.notional.0;
        // Prices and sizes are positive, so n > 0: plain half-up rounding is ties-away-from-zero.
        // 0 ≤ r < f < 2⁶³, so 2r cannot overflow; the average lies between the smallest and the
        // largest fill price, and rounding it to the nearest integer unit cannot pass the largest
        // (an integer), so it always fits an i64.
        let (q, r) = (n / f, n % f);
        let q = if 2 * r >= f { q + 1 } else { q };
        debug_assert!(i64::try_from(q).is_ok(), "an average price is a price");
        i64::try_from(q).ok().map(Fixed::from_raw)
    }
}

/// An owned trade id, as held in the window.
#[derive(Debug, Clone)]
enum OwnedTradeId {
    Int(i128),
    Str(Arc<str>),
}

/// A borrowed dedup key: one fill of one order on one venue (the venue is implied by the
/// [`VenueState`] that holds the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct KeyRef<'a> {
    order: &'a str,
    trade: TradeId<'a>,
}

/// An owned dedup key, as held in a venue's set and in the window. The order id is the
/// registered order's own `Arc`, so remembering a fill with an integer trade id allocates
/// nothing.
#[derive(Debug, Clone)]
struct SeenKey {
    order: Arc<str>,
    trade: OwnedTradeId,
}

/// Views both key forms as a [`KeyRef`], so the set of owned keys can be probed with a
/// borrowed one (no allocation per lookup). Hash and equality of both forms go through
/// [`KeyRef`], which keeps them consistent.
trait AsKeyRef {
    fn key_ref(&self) -> KeyRef<'_>;
}

impl AsKeyRef for KeyRef<'_> {
    #[inline]
    fn key_ref(&self) -> KeyRef<'_> {
        *self
    }
}

impl AsKeyRef for SeenKey {
    #[inline]
    fn key_ref(&self) -> KeyRef<'_> {
        KeyRef {
            order: &self.order,
            trade: match &self.trade {
                OwnedTradeId::Int(i) => TradeId::Int(*i),
                OwnedTradeId::Str(s) => TradeId::Str(s),
            },
        }
    }
}

impl<'a> Borrow<dyn AsKeyRef + 'a> for SeenKey {
    #[inline]
    fn borrow(&self) -> &(dyn AsKeyRef + 'a) {
        self
    }
}

impl Hash for dyn AsKeyRef + '_ {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key_ref().hash(state);
    }
}

impl PartialEq for dyn AsKeyRef + '_ {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.key_ref() == other.key_ref()
    }
}

impl Eq for dyn AsKeyRef + '_ {}

impl Hash for SeenKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key_ref().hash(state);
    }
}

impl PartialEq for SeenKey {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.key_ref() == other.key_ref()
    }
}

impl Eq for SeenKey {}

/// A registered order: its id (shared with the dedup keys of its fills) and its fills.
struct OrderEntry {
    id: Arc<str>,
    fills: OrderFills,
}

/// A fast keyed multiply-fold hasher (the folded-multiply step of foldhash/ahash's fallback).
#[derive(Clone, Copy)]
struct FoldHasher(u64);

const FOLD_K: u64 = 0x5851_f42d_4c95_7f2d;

impl FoldHasher {
    #[inline]
    fn mix(&mut self, x: u64) {
        let m = u128::from(self.0 ^ x) * u128::from(FOLD_K);
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
}

impl Hasher for FoldHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.mix(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i) | 0x100);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.mix(i as u64);
        self.mix((i >> 64) as u64);
    }
    #[inline]
    fn write_i128(&mut self, i: i128) {
        self.write_u128(i as u128);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // One more round so the low bits (the bucket index) depend on every input bit.
        let m = u128::from(self.0) * u128::from(FOLD_K ^ 0x9e37_79b9_7f4a_7c15);
        (m as u64) ^ ((m >> 64) as u64)
    }
}

/// Builds [`FoldHasher`]s from a per-ledger seed.
#[derive(Clone, Copy)]
struct FoldState(u64);

impl FoldState {
    fn new() -> Self {
        // A per-process seed from std's random state, so bucket layouts are not predictable.
        FoldState(
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
                | 1,
        )
    }
}

impl BuildHasher for FoldState {
    type Hasher = FoldHasher;
    #[inline]
    fn build_hasher(&self) -> FoldHasher {
        FoldHasher(self.0)
    }
}

/// Everything keyed by one venue.
struct VenueState {
    name: Box<str>,
    seen: HashSet<SeenKey, FoldState>,
    orders: HashMap<Arc<str>, OrderEntry, FoldState>,
}

impl VenueState {
    fn new(name: &str, hs: FoldState) -> Self {
        VenueState {
            name: name.into(),
            seen: HashSet::with_hasher(hs),
            orders: HashMap::with_hasher(hs),
        }
    }

    #[inline]
    fn seen(&self, order: &str, trade: TradeId<'_>) -> bool {
        self.seen
            .contains(&KeyRef { order, trade } as &dyn AsKeyRef)
    }
}

/// Up to this many venues are found by a linear scan (faster than hashing the name).
const LINEAR_VENUES: usize = 8;

/// Deduplicates fills by (venue, order id, trade id) and accumulates them per order. See the
/// module documentation for the semantics of keys, the window and each [`FillStatus`].
pub struct FillLedger {
    capacity: usize,
    venues: Vec<VenueState>,
    venue_index: HashMap<Box<str>, u32, FoldState>,
    /// Applied keys, oldest first: (venue index, key).
    window: VecDeque<(u32, SeenKey)>,
}

impl fmt::Debug for FillLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FillLedger")
            .field("len", &self.window.len())
            .field("capacity", &self.capacity)
            .field(
                "venues",
                &self.venues.iter().map(|v| &*v.name).collect::<Vec<_>>(),
            )
            .field("orders", &self.order_count())
            .finish_non_exhaustive()
    }
}

impl Default for FillLedger {
    fn default() -> Self {
        Self::new(Self::DEFAULT_WINDOW).expect("the default window is valid")
    }
}

impl FillLedger {
    /// The default number of fill keys remembered.
    pub const DEFAULT_WINDOW: usize = 10_000;

    /// An empty ledger remembering the last `window` applied fill keys.
    ///
    /// # Errors
    /// `InvalidArgument` when `window` is zero.
    pub fn new(window: usize) -> CoreResult<Self> {
        if window == 0 {
            return Err(CoreError::InvalidArgument(
                "the dedup window must hold at least 1 key".into(),
            ));
        }
        let hs = FoldState::new();
        Ok(FillLedger {
            capacity: window,
            venues: Vec::new(),
            venue_index: HashMap::with_hasher(hs),
            // Grow lazily: a ledger with a large window that sees few fills stays small.
            window: VecDeque::with_capacity(window.min(1024)),
        })
    }

    /// The maximum number of fill keys remembered.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The number of fill keys currently remembered (≤ [`FillLedger::capacity`]).
    pub fn len(&self) -> usize {
        self.window.len()
    }

    /// True when no fill key is remembered.
    pub fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    /// The number of registered orders.
    pub fn order_count(&self) -> usize {
        self.venues.iter().map(|v| v.orders.len()).sum()
    }

    #[inline]
    fn venue_idx(&self, venue: &str) -> Option<usize> {
        if self.venues.len() <= LINEAR_VENUES {
            self.venues.iter().position(|v| &*v.name == venue)
        } else {
            self.venue_index.get(venue).map(|&i| i as usize)
        }
    }

    fn intern(&mut self, venue: &str) -> usize {
        if let Some(i) = self.venue_idx(venue) {
            return i;
        }
        let i = self.venues.len();
        let hs = *self.venue_index.hasher();
        self.venues.push(VenueState::new(venue, hs));
        self.venue_index.insert(venue.into(), i as u32);
        i
    }

    /// Registers an order so that its fills can be applied. Registering the same order again
    /// with the same side and size does nothing (acknowledgements may arrive twice).
    ///
    /// # Errors
    /// `InvalidArgument` when `size` is not positive, or when the order is already registered
    /// with a different side or size (use [`FillLedger::set_order_size`] for a modify).
    pub fn register_order(
        &mut self,
        venue: &str,
        order_id: &str,
        side: Side,
        size: Fixed,
    ) -> CoreResult<()> {
        if !size.is_positive() {
            return Err(CoreError::InvalidArgument(format!(
                "order size must be positive, got {size}"
            )));
        }
        if let Some(existing) = self.order(venue, order_id) {
            if existing.side == side && existing.size == size {
                return Ok(());
            }
            return Err(CoreError::InvalidArgument(format!(
                "order {order_id:?} on {venue:?} is already registered as {} {} (not {} {size})",
                existing.side.as_str(),
                existing.size,
                side.as_str()
            )));
        }
        let v = self.intern(venue);
        let id: Arc<str> = Arc::from(order_id);
        let entry = OrderEntry {
            id: Arc::clone(&id),
            fills: OrderFills::new(side, size),
        };
        self.venues[v].orders.insert(id, entry);
        Ok(())
    }

    /// Changes a registered order's size (after a modify). A size below what has already been
    /// filled makes the order overfilled; the next fill reports it.
    ///
    /// Returns `false` (and changes nothing) when no such order is registered.
    ///
    /// # Errors
    /// `InvalidArgument` when `size` is not positive.
    pub fn set_order_size(&mut self, venue: &str, order_id: &str, size: Fixed) -> CoreResult<bool> {
        if !size.is_positive() {
            return Err(CoreError::InvalidArgument(format!(
                "order size must be positive, got {size}"
            )));
        }
        let Some(v) = self.venue_idx(venue) else {
            return Ok(false);
        };
        Ok(match self.venues[v].orders.get_mut(order_id) {
            Some(o) => {
                o.fills.size = size;
                true
            }
            None => false,
        })
    }

    /// Forgets an order and returns its final record. Its fill keys stay in the window, so a
    /// late copy of one of its fills is still a [`FillStatus::Duplicate`].
    pub fn forget_order(&mut self, venue: &str, order_id: &str) -> Option<OrderFills> {
        let v = self.venue_idx(venue)?;
        self.venues[v].orders.remove(order_id).map(|e| e.fills)
    }

    /// [`apply`](Self::apply), and the order's fills as they stand right after it when the fill
    /// was recorded ([`FillStatus::Applied`] or [`FillStatus::Overfill`]; `None` for a
    /// duplicate or an unknown order): what a tracker reads after every fill, in one call.
    ///
    /// # Errors
    /// As [`apply`](Self::apply); nothing changes then.
    pub fn apply_and_read(
        &mut self,
        fill: &Fill<'_>,
    ) -> CoreResult<(FillStatus, Option<&OrderFills>)> {
        let status = self.apply(fill)?;
        let fills = match status {
            FillStatus::Applied | FillStatus::Overfill { .. } => {
                self.order(fill.venue, fill.order_id)
            }
            FillStatus::Duplicate | FillStatus::UnknownOrder => None,
        };
        debug_assert!(
            fills.is_some() == matches!(status, FillStatus::Applied | FillStatus::Overfill { .. })
        );
        Ok((status, fills))
    }

    /// The fills of a registered order.
    pub fn order(&self, venue: &str, order_id: &str) -> Option<&OrderFills> {
        self.venues[self.venue_idx(venue)?]
            .orders
            .get(order_id)
            .map(|e| &e.fills)
    }

    /// True when the fill key (venue, order id, trade id) is in the window: that fill of that
    /// order was applied, and its key is not yet evicted. The same trade id on another order is
    /// another fill. Allocation-free.
    #[inline]
    pub fn seen(&self, venue: &str, trade_id: TradeId<'_>, order_id: &str) -> bool {
        self.venue_idx(venue)
            .is_some_and(|v| self.venues[v].seen(order_id, trade_id))
    }

    /// Applies a fill once. See [`FillStatus`] for the outcomes; only `Applied` and `Overfill`
    /// change anything (and mark the key seen).
    ///
    /// # Errors
    /// `InvalidArgument` for a non-positive price or size or a negative timestamp, `Overflow`
    /// when an accumulated total would leave its range. On error nothing changes and the key is
    /// not marked seen.
    pub fn apply(&mut self, fill: &Fill<'_>) -> CoreResult<FillStatus> {
        if !fill.price.is_positive() {
            return Err(CoreError::InvalidArgument(format!(
                "fill {} price must be positive, got {}",
                fill.trade_id, fill.price
            )));
        }
        if !fill.size.is_positive() {
            return Err(CoreError::InvalidArgument(format!(
                "fill {} size must be positive, got {}",
                fill.trade_id, fill.size
            )));
        }
        if fill.ts_ns < 0 {
            return Err(CoreError::InvalidArgument(format!(
                "fill {} timestamp must not be negative, got {}",
                fill.trade_id, fill.ts_ns
            )));
        }
        let Some(v) = self.venue_idx(fill.venue) else {
            return Ok(FillStatus::UnknownOrder);
        };
        let venue = &mut self.venues[v];
        if venue.seen(fill.order_id, fill.trade_id) {
            return Ok(FillStatus::Duplicate);
        }
        let Some(entry) = venue.orders.get_mut(fill.order_id) else {
            return Ok(FillStatus::UnknownOrder);
        };
        let order = &mut entry.fills;

        // Compute every new total before touching anything, so an overflow changes nothing.
        let overflow = |what: &str| {
            CoreError::Overflow(format!(
                "order {:?} {what} after fill {}",
                fill.order_id, fill.trade_id
            ))
        };
        let filled = order
            .filled
            .checked_add(fill.size)
            .ok_or_else(|| overflow("filled size"))?;
        let notional = order
            .notional
            .0
            .checked_add(fill.price.mul_wide(fill.size))
            .ok_or_else(|| overflow("notional"))?;
        let fees = order
            .fees
            .checked_add(fill.fee)
            .ok_or_else(|| overflow("fees"))?;
        // maker + taker == filled, which fits (checked above), so neither overflows or
        // saturates.
        if fill.is_maker {
            order.maker_size = order.maker_size.saturating_add(fill.size);
        } else {
            order.taker_size = order.taker_size.saturating_add(fill.size);
        }
        order.filled = filled;
        order.notional = Notional(notional);
        order.fees = fees;
        order.fill_count = order.fill_count.saturating_add(1);
        if fill.ts_ns != 0 {
            order.first_fill_ns = Some(
                order
                    .first_fill_ns
                    .map_or(fill.ts_ns, |t| t.min(fill.ts_ns)),
            );
            order.last_fill_ns = Some(order.last_fill_ns.map_or(fill.ts_ns, |t| t.max(fill.ts_ns)));
        }
        debug_assert_eq!(
            order.maker_size.raw() + order.taker_size.raw(),
            order.filled.raw()
        );
        let status = if order.filled > order.size {
            FillStatus::Overfill {
                excess: order.overfill(),
            }
        } else {
            FillStatus::Applied
        };
        let key = SeenKey {
            order: Arc::clone(&entry.id),
            trade: match fill.trade_id {
                TradeId::Int(i) => OwnedTradeId::Int(i),
                TradeId::Str(s) => OwnedTradeId::Str(Arc::from(s)),
            },
        };
        self.remember(v, key);
        Ok(status)
    }

    /// Marks a key seen, evicting the oldest key when the window is full.
    fn remember(&mut self, v: usize, key: SeenKey) {
        if self.window.len() == self.capacity {
            if let Some((ov, old)) = self.window.pop_front() {
                let removed = self.venues[ov as usize].seen.remove(&old);
                debug_assert!(removed, "a key in the window is in its venue's set");
            }
        }
        let inserted = self.venues[v].seen.insert(key.clone());
        debug_assert!(inserted, "only an unseen key is remembered");
        self.window.push_back((v as u32, key));
        debug_assert!(self.window.len() <= self.capacity);
        debug_assert_eq!(
            self.window.len(),
            self.venues.iter().map(|v| v.seen.len()).sum::<usize>()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::edge_i64;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn p(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn fill<'a>(
        venue: &'a str,
        id: TradeId<'a>,
        order: &'a str,
        price: &str,
        size: &str,
    ) -> Fill<'a> {
        Fill {
            venue,
            trade_id: id,
            order_id: order,
            price: p(price),
            size: p(size),
            fee: Fixed::ZERO,
            is_maker: false,
            ts_ns: 0,
        }
    }

    #[test]
    fn apply_and_read_returns_the_totals_only_when_the_fill_counts() {
        let mut l = FillLedger::default();
        l.register_order("hl", "o1", Side::Buy, p("2")).unwrap();
        let f = fill("hl", TradeId::Int(1), "o1", "100", "1.5");
        let (status, fills) = l.apply_and_read(&f).unwrap();
        assert_eq!(status, FillStatus::Applied);
        let fills = fills.unwrap();
        assert_eq!((fills.filled, fills.is_complete()), (p("1.5"), false));
        let (status, fills) = l.apply_and_read(&f).unwrap();
        assert_eq!((status, fills.is_none()), (FillStatus::Duplicate, true));
        let g = fill("hl", TradeId::Int(2), "o1", "100", "1");
        let (status, fills) = l.apply_and_read(&g).unwrap();
        assert_eq!(status, FillStatus::Overfill { excess: p("0.5") });
        let fills = fills.unwrap();
        assert_eq!((fills.filled, fills.is_complete()), (p("2.5"), true));
        let h = fill("hl", TradeId::Int(3), "nope", "100", "1");
        assert_eq!(l.apply_and_read(&h).unwrap().0, FillStatus::UnknownOrder);
    }

    #[test]
    fn applies_once_and_accumulates_exactly() {
        let mut l = FillLedger::default();
        l.register_order("hl", "o1", Side::Buy, p("3")).unwrap();
        let mut f = fill("hl", TradeId::Int(1), "o1", "100.1", "1");
        f.fee = p("0.05");
        f.is_maker = true;
        f.ts_ns = 20;
        assert_eq!(l.apply(&f), Ok(FillStatus::Applied));
        assert_eq!(l.apply(&f), Ok(FillStatus::Duplicate));
        let mut g = fill("hl", TradeId::Int(2), "o1", "100.2", "2");
        g.fee = p("-0.01");
        g.ts_ns = 10;
        assert_eq!(l.apply(&g), Ok(FillStatus::Applied));
        let o = l.order("hl", "o1").unwrap();
        assert_eq!(o.filled, p("3"));
        assert_eq!(o.notional.to_string(), "300.5");
        assert_eq!(o.fees, p("0.04"));
        assert_eq!((o.maker_size, o.taker_size), (p("1"), p("2")));
        assert_eq!(o.fill_count, 2);
        assert_eq!((o.first_fill_ns, o.last_fill_ns), (Some(10), Some(20)));
        // 300.5 / 3 = 100.1666…67
        assert_eq!(o.avg_price(), Some(p("100.166666667")));
        assert!(o.is_complete());
        assert_eq!(o.remaining(), Fixed::ZERO);
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn int_and_str_ids_are_distinct() {
        let mut l = FillLedger::default();
        l.register_order("lt", "o", Side::Sell, p("10")).unwrap();
        assert_eq!(
            l.apply(&fill("lt", TradeId::Int(5), "o", "1", "1")),
            Ok(FillStatus::Applied)
        );
        assert!(!l.seen("lt", TradeId::Str("5"), "o"));
        assert_eq!(
            l.apply(&fill("lt", TradeId::Str("5"), "o", "1", "1")),
            Ok(FillStatus::Applied)
        );
        assert!(l.seen("lt", TradeId::Str("5"), "o") && l.seen("lt", TradeId::Int(5), "o"));
        // Same id on another venue is another fill.
        assert!(!l.seen("hl", TradeId::Int(5), "o"));
    }

    #[test]
    fn unknown_order_is_retryable() {
        let mut l = FillLedger::default();
        let f = fill("hl", TradeId::Int(7), "late", "2", "1");
        assert_eq!(l.apply(&f), Ok(FillStatus::UnknownOrder));
        l.register_order("hl", "other", Side::Buy, p("1")).unwrap();
        assert_eq!(l.apply(&f), Ok(FillStatus::UnknownOrder));
        assert!(!l.seen("hl", TradeId::Int(7), "late"));
        l.register_order("hl", "late", Side::Buy, p("1")).unwrap();
        assert_eq!(l.apply(&f), Ok(FillStatus::Applied));
    }

    #[test]
    fn overfill_is_recorded_and_reported() {
        let mut l = FillLedger::default();
        l.register_order("hl", "o", Side::Buy, p("1")).unwrap();
        assert_eq!(
            l.apply(&fill("hl", TradeId::Int(1), "o", "2", "0.7")),
            Ok(FillStatus::Applied)
        );
        assert_eq!(
            l.apply(&fill("hl", TradeId::Int(2), "o", "2", "0.5")),
            Ok(FillStatus::Overfill { excess: p("0.2") })
        );
        let o = l.order("hl", "o").unwrap();
        assert_eq!(
            (o.filled, o.overfill(), o.remaining()),
            (p("1.2"), p("0.2"), Fixed::ZERO)
        );
        // A modify up clears the overfill; down below filled reports it on the next fill.
        assert_eq!(l.set_order_size("hl", "o", p("2")), Ok(true));
        assert_eq!(
            l.apply(&fill("hl", TradeId::Int(3), "o", "2", "0.8")),
            Ok(FillStatus::Applied)
        );
        assert_eq!(l.set_order_size("hl", "nope", p("2")), Ok(false));
    }

    #[test]
    fn invalid_fills_change_nothing() {
        let mut l = FillLedger::default();
        l.register_order("hl", "o", Side::Buy, p("1")).unwrap();
        for (px, sz) in [("0", "1"), ("-1", "1"), ("1", "0"), ("1", "-1")] {
            let r = l.apply(&fill("hl", TradeId::Int(1), "o", px, sz));
            assert!(matches!(r, Err(CoreError::InvalidArgument(_))), "{px} {sz}");
        }
        let mut f = fill("hl", TradeId::Int(1), "o", "1", "1");
        f.ts_ns = -1;
        assert!(l.apply(&f).is_err());
        assert_eq!(l.order("hl", "o").unwrap().fill_count, 0);
        assert!(l.is_empty());
        // Overflow of the accumulated size: nothing changes either.
        l.register_order("hl", "big", Side::Buy, Fixed::MAX)
            .unwrap();
        let huge = Fill {
            size: Fixed::from_raw(i64::MAX - 1),
            price: Fixed::from_raw(1),
            ..fill("hl", TradeId::Int(8), "big", "1", "1")
        };
        assert_eq!(l.apply(&huge), Ok(FillStatus::Applied));
        let more = Fill {
            trade_id: TradeId::Int(9),
            ..huge
        };
        assert!(matches!(l.apply(&more), Err(CoreError::Overflow(_))));
        assert_eq!(l.order("hl", "big").unwrap().fill_count, 1);
        assert!(!l.seen("hl", TradeId::Int(9), "big"));
        assert_eq!(
            l.apply(&fill("hl", TradeId::Int(1), "o", "1", "1")),
            Ok(FillStatus::Applied)
        );
    }

    #[test]
    fn registration_rules() {
        let mut l = FillLedger::default();
        assert!(FillLedger::new(0).is_err());
        assert!(l.register_order("hl", "o", Side::Buy, Fixed::ZERO).is_err());
        l.register_order("hl", "o", Side::Buy, p("1")).unwrap();
        l.register_order("hl", "o", Side::Buy, p("1")).unwrap();
        assert!(l.register_order("hl", "o", Side::Sell, p("1")).is_err());
        assert!(l.register_order("hl", "o", Side::Buy, p("2")).is_err());
        assert!(l.set_order_size("hl", "o", p("-1")).is_err());
        assert_eq!(Side::parse("sell"), Ok(Side::Sell));
        assert!(Side::parse("SELL").is_err());
    }

    #[test]
    fn forgetting_keeps_fill_keys() {
        let mut l = FillLedger::default();
        l.register_order("hl", "o", Side::Buy, p("1")).unwrap();
        let f = fill("hl", TradeId::Str("t1"), "o", "1", "1");
        l.apply(&f).unwrap();
        let last = l.forget_order("hl", "o").unwrap();
        assert_eq!(last.filled, p("1"));
        assert!(l.order("hl", "o").is_none());
        assert_eq!(l.apply(&f), Ok(FillStatus::Duplicate));
        assert!(l.forget_order("hl", "o").is_none());
    }

    #[test]
    fn one_trade_filling_two_orders_counts_twice() {
        // An outside taker fills two of our resting orders; the venue reports the trade, so
        // both fills carry its id.
        let mut l = FillLedger::default();
        l.register_order("lt", "a", Side::Sell, p("1")).unwrap();
        l.register_order("lt", "b", Side::Sell, p("2")).unwrap();
        let fa = fill("lt", TradeId::Int(42), "a", "100", "1");
        let fb = fill("lt", TradeId::Int(42), "b", "100", "2");
        assert_eq!(l.apply(&fa), Ok(FillStatus::Applied));
        assert!(l.seen("lt", TradeId::Int(42), "a"));
        assert!(!l.seen("lt", TradeId::Int(42), "b"));
        assert_eq!(l.apply(&fb), Ok(FillStatus::Applied));
        // Copies by REST and by status query, in any order: dropped.
        assert_eq!(l.apply(&fb), Ok(FillStatus::Duplicate));
        assert_eq!(l.apply(&fa), Ok(FillStatus::Duplicate));
        assert!(l.order("lt", "a").unwrap().is_complete());
        assert!(l.order("lt", "b").unwrap().is_complete());
        assert_eq!(l.len(), 2);
        // String ids too.
        let fa = fill("lt", TradeId::Str("t-9"), "a", "100", "0.5");
        let fb = fill("lt", TradeId::Str("t-9"), "b", "100", "0.5");
        assert!(matches!(l.apply(&fa), Ok(FillStatus::Overfill { .. })));
        assert!(matches!(l.apply(&fb), Ok(FillStatus::Overfill { .. })));
        assert_eq!(l.apply(&fb), Ok(FillStatus::Duplicate));
    }

    #[test]
    fn a_shared_trade_for_an_unregistered_order_stays_retryable() {
        let mut l = FillLedger::default();
        l.register_order("hl", "a", Side::Buy, p("2")).unwrap();
        assert_eq!(
            l.apply(&fill("hl", TradeId::Int(5), "a", "1", "1")),
            Ok(FillStatus::Applied)
        );
        // Same trade, an order not acknowledged yet: not a duplicate, and not marked seen.
        let late = fill("hl", TradeId::Int(5), "late", "1", "1");
        assert_eq!(l.apply(&late), Ok(FillStatus::UnknownOrder));
        assert!(!l.seen("hl", TradeId::Int(5), "late"));
        l.register_order("hl", "late", Side::Buy, p("1")).unwrap();
        assert_eq!(l.apply(&late), Ok(FillStatus::Applied));
        // Forgetting an order keeps its keys, and only its keys.
        l.forget_order("hl", "late").unwrap();
        assert_eq!(l.apply(&late), Ok(FillStatus::Duplicate));
        assert_eq!(
            l.apply(&fill("hl", TradeId::Int(5), "a", "1", "1")),
            Ok(FillStatus::Duplicate)
        );
        assert_eq!(
            l.apply(&fill("hl", TradeId::Int(6), "late", "1", "1")),
            Ok(FillStatus::UnknownOrder)
        );
    }

    #[test]
    fn window_evicts_oldest_first() {
        let mut l = FillLedger::new(2).unwrap();
        l.register_order("hl", "o", Side::Buy, p("100")).unwrap();
        for i in 0..3 {
            l.apply(&fill("hl", TradeId::Int(i), "o", "1", "1"))
                .unwrap();
        }
        assert_eq!((l.len(), l.capacity()), (2, 2));
        assert!(!l.seen("hl", TradeId::Int(0), "o"));
        // The documented consequence: a duplicate older than the window is counted again.
        assert_eq!(
            l.apply(&fill("hl", TradeId::Int(0), "o", "1", "1")),
            Ok(FillStatus::Applied)
        );
        assert_eq!(l.order("hl", "o").unwrap().fill_count, 4);
    }

    #[test]
    fn many_venues_use_the_index() {
        let mut l = FillLedger::default();
        let names: Vec<String> = (0..20).map(|i| format!("v{i}")).collect();
        for n in &names {
            l.register_order(n, "o", Side::Buy, p("1")).unwrap();
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(
                l.apply(&fill(n, TradeId::Int(i as i128), "o", "1", "1")),
                Ok(FillStatus::Applied)
            );
            assert!(l.seen(n, TradeId::Int(i as i128), "o"));
        }
        assert!(!l.seen("v19", TradeId::Int(0), "o"));
        assert_eq!(l.order_count(), 20);
    }

    #[test]
    fn notional_display() {
        assert_eq!(Notional(0).to_string(), "0");
        assert_eq!(Notional(1).to_string(), "0.000000000000000001");
        assert_eq!(Notional(-2_500_000_000_000_000_000).to_string(), "-2.5");
    }

    // ---- properties ----

    #[derive(Debug, Clone)]
    struct T {
        venue: usize,
        id: (bool, i64), // (is string, value): the same value in both forms is two trades
        order: usize,
        price: i64,
        size: i64,
        fee: i64,
        maker: bool,
        ts: i64,
    }

    /// Model totals: filled, notional, fees, maker size, count, first and last timestamps.
    type Totals = (i64, i128, i64, i64, u64, Option<i64>, Option<i64>);

    const VENUES: [&str; 3] = ["hyperliquid", "aster", "lighter"];

    fn trades() -> impl Strategy<Value = Vec<T>> {
        prop::collection::vec(
            (
                0..3usize,
                any::<bool>(),
                0..40i64,
                0..4usize,
                1..5_000_000_000_000i64,
                1..50_000_000_000i64,
                -1_000_000i64..1_000_000,
                any::<bool>(),
                0..1_000i64,
            ),
            1..60,
        )
        .prop_map(|v| {
            // Distinct fills: (venue, id form, id, order). The same trade id on two orders
            // is two fills, and the small id space makes that common.
            let mut seen = std::collections::HashSet::new();
            v.into_iter()
                .filter(|t| seen.insert((t.0, t.1, t.2, t.3)))
                .map(|(venue, s, id, order, price, size, fee, maker, ts)| T {
                    venue,
                    id: (s, id),
                    order,
                    price,
                    size,
                    fee,
                    maker,
                    ts,
                })
                .collect()
        })
    }

    fn to_fill<'a>(t: &T, s: &'a str) -> Fill<'a> {
        Fill {
            venue: VENUES[t.venue],
            trade_id: if t.id.0 {
                TradeId::Str(s)
            } else {
                TradeId::Int(i128::from(t.id.1))
            },
            order_id: ["o0", "o1", "o2", "o3"][t.order],
            price: Fixed::from_raw(t.price),
            size: Fixed::from_raw(t.size),
            fee: Fixed::from_raw(t.fee),
            is_maker: t.maker,
            ts_ns: t.ts,
        }
    }

    proptest! {
        /// Fills at the edges of the range, against an i128 model: every total is exact, or the
        /// fill is refused with `Overflow` and changes nothing (never a wrapped or saturated
        /// total); the average price is the exactly rounded `notional / filled`.
        #[test]
        fn totals_at_the_edges_are_exact_or_refused(
            fills in prop::collection::vec((edge_i64(), edge_i64(), edge_i64(), any::<bool>(), 0i64..3), 1..12),
            size in edge_i64(),
        ) {
            let size = size.max(1);
            let mut l = FillLedger::default();
            l.register_order("v", "o", Side::Buy, Fixed::from_raw(size)).unwrap();
            let (mut filled, mut notional, mut fees, mut maker, mut count) = (0i128, 0i128, 0i128, 0i128, 0u64);
            for (k, &(px, sz, fee, is_maker, ts)) in fills.iter().enumerate() {
                let f = Fill { venue: "v", trade_id: TradeId::Int(k as i128), order_id: "o", price: Fixed::from_raw(px), size: Fixed::from_raw(sz), fee: Fixed::from_raw(fee), is_maker, ts_ns: ts };
                let before = l.order("v", "o").unwrap().clone();
                let r = l.apply(&f);
                if px <= 0 || sz <= 0 {
                    prop_assert!(matches!(r, Err(CoreError::InvalidArgument(_))), "{:?}", r);
                    prop_assert_eq!(l.order("v", "o").unwrap(), &before);
                    continue;
                }
                let (nf, nn, nfee) = (filled + i128::from(sz), notional + i128::from(px) * i128::from(sz), fees + i128::from(fee));
                let fits = |v: i128| i64::try_from(v).is_ok();
                if !fits(nf) || !fits(nfee) {
                    prop_assert!(matches!(r, Err(CoreError::Overflow(_))), "{:?}", r);
                    prop_assert_eq!(l.order("v", "o").unwrap(), &before);
                    prop_assert!(!l.seen("v", TradeId::Int(k as i128), "o"));
                    continue;
                }
                let st = r.unwrap();
                (filled, notional, fees, count) = (nf, nn, nfee, count + 1);
                if is_maker { maker += i128::from(sz); }
                prop_assert_eq!(st == FillStatus::Applied, filled <= i128::from(size), "{:?}", st);
                let o = l.order("v", "o").unwrap();
                prop_assert_eq!(i128::from(o.filled.raw()), filled);
                prop_assert_eq!(o.notional.0, notional);
                prop_assert_eq!(i128::from(o.fees.raw()), fees);
                prop_assert_eq!(i128::from(o.maker_size.raw()), maker);
                prop_assert_eq!(i128::from(o.taker_size.raw()), filled - maker);
                prop_assert_eq!(o.fill_count, count);
                prop_assert_eq!(i128::from(o.remaining().raw()), (i128::from(size) - filled).max(0));
                prop_assert_eq!(i128::from(o.overfill().raw()), (filled - i128::from(size)).max(0));
                let avg = i128::from(o.avg_price().unwrap().raw());
                // nearest, ties up: |avg·filled − notional| ≤ filled/2, and a tie rounds up
                prop_assert!(-filled < 2 * (avg * filled - notional) && 2 * (avg * filled - notional) <= filled);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Shuffled, duplicated fills with orders registered late: each distinct
        /// (venue, order, trade) key counts exactly once and every total equals the naive model.
        #[test]
        fn counts_each_fill_once(
            ts in trades(),
            order_seed in any::<u64>(),
            dups in prop::collection::vec(0usize..1000, 0..60),
            late in prop::collection::vec(any::<bool>(), 12),
        ) {
            // Event stream: every trade once plus duplicates, shuffled deterministically.
            let mut events: Vec<usize> = (0..ts.len()).collect();
            events.extend(dups.iter().map(|d| d % ts.len()));
            let mut rng = order_seed;
            for i in (1..events.len()).rev() {
                rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                events.swap(i, (rng >> 33) as usize % (i + 1));
            }
            let strs: Vec<String> = ts.iter().map(|t| t.id.1.to_string()).collect();
            let mut l = FillLedger::default();
            let size = Fixed::from_raw(60 * 50_000_000_000);
            // Some orders are registered up front, the others halfway through.
            for v in 0..3 {
                for o in 0..4 {
                    if !late[v * 4 + o] {
                        l.register_order(VENUES[v], ["o0", "o1", "o2", "o3"][o], Side::Buy, size).unwrap();
                    }
                }
            }
            let mut pending: Vec<usize> = Vec::new();
            let mut applied = 0usize;
            for (k, &e) in events.iter().enumerate() {
                if k == events.len() / 2 {
                    for v in 0..3 {
                        for o in 0..4 {
                            if late[v * 4 + o] {
                                l.register_order(VENUES[v], ["o0", "o1", "o2", "o3"][o], Side::Buy, size).unwrap();
                            }
                        }
                    }
                    for &p in &std::mem::take(&mut pending) {
                        let st = l.apply(&to_fill(&ts[p], strs[p].as_str())).unwrap();
                        prop_assert!(st != FillStatus::UnknownOrder);
                        applied += usize::from(st == FillStatus::Applied);
                    }
                }
                match l.apply(&to_fill(&ts[e], strs[e].as_str())).unwrap() {
                    FillStatus::UnknownOrder => pending.push(e),
                    FillStatus::Applied => applied += 1,
                    FillStatus::Duplicate => {}
                    FillStatus::Overfill { .. } => prop_assert!(false, "sizes are large enough"),
                }
            }
            for &p in &pending {
                applied += usize::from(l.apply(&to_fill(&ts[p], strs[p].as_str())).unwrap() == FillStatus::Applied);
            }
            prop_assert_eq!(applied, ts.len());
            prop_assert_eq!(l.len(), ts.len());

            // Naive model.
            let mut model: BTreeMap<(usize, usize), Totals> = BTreeMap::new();
            for t in &ts {
                let m = model.entry((t.venue, t.order)).or_default();
                m.0 += t.size;
                m.1 += i128::from(t.price) * i128::from(t.size);
                m.2 += t.fee;
                if t.maker { m.3 += t.size; }
                m.4 += 1;
                if t.ts != 0 {
                    m.5 = Some(m.5.map_or(t.ts, |x| x.min(t.ts)));
                    m.6 = Some(m.6.map_or(t.ts, |x| x.max(t.ts)));
                }
            }
            for (v, venue) in VENUES.iter().enumerate() {
                for (o, order) in ["o0", "o1", "o2", "o3"].iter().enumerate() {
                    let got = l.order(venue, order).unwrap();
                    let m = model.get(&(v, o)).copied().unwrap_or_default();
                    prop_assert_eq!(got.filled.raw(), m.0);
                    prop_assert_eq!(got.notional.0, m.1);
                    prop_assert_eq!(got.fees.raw(), m.2);
                    prop_assert_eq!(got.maker_size.raw(), m.3);
                    prop_assert_eq!(got.taker_size.raw(), m.0 - m.3);
                    prop_assert_eq!(got.fill_count, m.4);
                    prop_assert_eq!((got.first_fill_ns, got.last_fill_ns), (m.5, m.6));
                    match got.avg_price() {
                        None => prop_assert_eq!(m.0, 0),
                        Some(avg) => {
                            // Exact: |avg·filled − notional| ≤ filled/2 (in units of 10⁻¹⁸),
                            // and ties round up.
                            let f = i128::from(m.0);
                            let diff = i128::from(avg.raw()) * f - m.1;
                            prop_assert!(-f <= 2 * diff && 2 * diff < f, "avg {} off by {}", avg, diff);
                        }
                    }
                }
            }
        }

        /// The window evicts exactly the oldest keys: after n distinct trades, the last
        /// min(n, capacity) are seen and the others are not.
        #[test]
        fn window_is_fifo(cap in 1usize..20, ids in prop::collection::vec((any::<bool>(), 0..30i64), 0..80)) {
            let mut uniq = Vec::new();
            let mut set = std::collections::HashSet::new();
            for id in ids {
                if set.insert(id) { uniq.push(id); }
            }
            let strs: Vec<String> = uniq.iter().map(|i| i.1.to_string()).collect();
            let tid = |k: usize| if uniq[k].0 { TradeId::Str(&strs[k]) } else { TradeId::Int(i128::from(uniq[k].1)) };
            let mut l = FillLedger::new(cap).unwrap();
            l.register_order("v", "o", Side::Sell, Fixed::MAX).unwrap();
            for k in 0..uniq.len() {
                let st = l.apply(&Fill { venue: "v", trade_id: tid(k), order_id: "o", price: Fixed::ONE, size: Fixed::ONE, fee: Fixed::ZERO, is_maker: false, ts_ns: 0 }).unwrap();
                prop_assert_eq!(st, FillStatus::Applied);
                prop_assert_eq!(l.len(), (k + 1).min(cap));
            }
            let n = uniq.len();
            for k in 0..n {
                prop_assert_eq!(l.seen("v", tid(k), "o"), k + cap >= n, "key {} of {}", k, n);
            }
        }

        /// One trade id on several orders: every distinct (order, trade) key is applied once,
        /// whatever the order of arrival and however many copies arrive; a key is seen only
        /// for the order it was applied to.
        #[test]
        fn shared_trade_ids_count_per_order(
            keys in prop::collection::vec((0..3usize, 0..6i64, any::<bool>()), 1..40),
            copies in prop::collection::vec(0..3usize, 40),
        ) {
            const ORDERS: [&str; 3] = ["a", "b", "c"];
            let strs: Vec<String> = keys.iter().map(|k| format!("t{}", k.1)).collect();
            let tid = |i: usize| if keys[i].2 { TradeId::Str(&strs[i]) } else { TradeId::Int(i128::from(keys[i].1)) };
            let mut l = FillLedger::default();
            for o in ORDERS {
                l.register_order("lt", o, Side::Buy, Fixed::MAX).unwrap();
            }
            let mut distinct = std::collections::HashSet::new();
            let mut per_order = [0u64; 3];
            for (i, k) in keys.iter().enumerate() {
                let f = Fill { venue: "lt", trade_id: tid(i), order_id: ORDERS[k.0], price: Fixed::ONE,
                               size: Fixed::ONE, fee: Fixed::ZERO, is_maker: true, ts_ns: 0 };
                let mut new = distinct.insert((k.0, k.1, k.2));
                for _ in 0..=copies[i] {
                    let st = l.apply(&f).unwrap();
                    if new {
                        prop_assert_eq!(st, FillStatus::Applied);
                        per_order[k.0] += 1;
                    } else {
                        prop_assert_eq!(st, FillStatus::Duplicate);
                    }
                    new = false;
                }
            }
            prop_assert_eq!(l.len(), distinct.len());
            for (o, name) in ORDERS.iter().enumerate() {
                prop_assert_eq!(l.order("lt", name).unwrap().fill_count, per_order[o]);
            }
            for (i, k) in keys.iter().enumerate() {
                for (o, name) in ORDERS.iter().enumerate() {
                    prop_assert_eq!(l.seen("lt", tid(i), name), distinct.contains(&(o, k.1, k.2)));
                }
            }
        }
    }
}
