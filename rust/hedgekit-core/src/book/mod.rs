//! The L2 order book: snapshots, deltas and batches, crossed-book and sequence-gap detection,
//! venue message parsers ([`venue`]) and the depth walk ([`walk`]).
//!
//! Prices and sizes are [`Fixed`] (exact `i64` counts of 10⁻⁹). Every mutation either applies
//! completely or not at all: inputs are validated (and venue messages parsed) into reusable
//! scratch buffers first, so an error leaves the book exactly as it was. After every applied
//! mutation the book is checked for crossing (best bid ≥ best ask); a crossed book is reported in
//! the returned [`UpdateStatus`] and stays flagged ([`OrderBook::is_crossed`]) until an update
//! uncrosses it.

pub(crate) mod json;
mod ladder;
mod venue;
mod walk;

#[cfg(test)]
mod tests;

use crate::error::{CoreError, CoreResult};
use crate::fixed::Fixed;
use ladder::Ladder;

pub use walk::{DepthWalk, TakerSide};

/// One side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy orders resting in the book.
    Bid,
    /// Sell orders resting in the book.
    Ask,
}

/// One price level: the total size resting at a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Level {
    /// The level's price (positive).
    pub price: Fixed,
    /// The total size at that price (positive while the level is in the book).
    pub size: Fixed,
}

/// What happened to an update. Expected outcomes are values, not errors.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpdateStatus {
    /// Applied; the book is not crossed.
    Ok = 0,
    /// Applied; the book is now crossed (best bid ≥ best ask) and flagged as such.
    Crossed = 1,
    /// A depth diff older than the book (`u` below the snapshot's or the last applied id):
    /// dropped, as the Binance sync procedure says. The book is unchanged.
    Ignored = 2,
    /// A sequence gap (or a diff before any depth snapshot): the diff was **not** applied and the
    /// book is marked not synced until the next snapshot.
    Gap = 3,
}

/// An L2 order book.
///
/// Invariants (checked with `debug_assert!` after every mutation): each side is strictly
/// ordered with the best level last, holds no duplicate price and no level of size zero;
/// `crossed == (best bid ≥ best ask)`.
#[derive(Debug, Clone)]
pub struct OrderBook {
    bids: Ladder,
    asks: Ladder,
    crossed: bool,
    synced: bool,
    last_update_ns: u64,
    venue_time_ms: Option<i64>,
    /// Binance `lastUpdateId` of the snapshot, then the `u` of the last applied diff.
    last_update_id: Option<i64>,
    /// True between a depth snapshot and the first diff applied after it (the bracketing rule).
    awaiting_first_diff: bool,
    scratch_bids: Vec<Level>,
    scratch_asks: Vec<Level>,
    scratch_deltas: Vec<(Side, Level)>,
}

impl Default for OrderBook {
    fn default() -> Self {
        Self::new()
    }
}

fn validate(price: Fixed, size: Fixed) -> CoreResult<Level> {
    if price.raw() <= 0 {
        return Err(CoreError::InvalidArgument(format!(
            "book price must be positive, got {price}"
        )));
    }
    if size.raw() < 0 {
        return Err(CoreError::InvalidArgument(format!(
            "book size must not be negative, got {size}"
        )));
    }
    Ok(Level { price, size })
}

impl OrderBook {
    /// An empty, not yet synced book.
    pub fn new() -> Self {
        OrderBook {
            bids: Ladder::new(Side::Bid),
            asks: Ladder::new(Side::Ask),
            crossed: false,
            synced: false,
            last_update_ns: 0,
            venue_time_ms: None,
            last_update_id: None,
            awaiting_first_diff: false,
            scratch_bids: Vec::new(),
            scratch_asks: Vec::new(),
            scratch_deltas: Vec::new(),
        }
    }

    /// Recomputes the crossed flag and checks the invariants; the status of an applied update.
    #[inline]
    fn finish(&mut self, ts_ns: u64) -> UpdateStatus {
        self.last_update_ns = ts_ns;
        self.crossed = match (self.bids.best(), self.asks.best()) {
            (Some(b), Some(a)) => b.price >= a.price,
            _ => false,
        };
        debug_assert!(
            self.bids.check() && self.asks.check(),
            "book invariant broken"
        );
        if self.crossed {
            UpdateStatus::Crossed
        } else {
            UpdateStatus::Ok
        }
    }

    /// Replaces both sides with the validated, normalised scratch buffers (no allocation: the
    /// old level vectors become the next scratch buffers).
    fn commit_snapshot(&mut self) {
        std::mem::swap(&mut self.bids.levels, &mut self.scratch_bids);
        std::mem::swap(&mut self.asks.levels, &mut self.scratch_asks);
        self.synced = true;
        self.awaiting_first_diff = false;
        self.last_update_id = None;
    }

    /// Puts the scratch sides (sizes ≥ 0) in ladder order; a price listed twice on one side
    /// (whatever its sizes) is reported as `(side, raw price)`.
    fn normalise_scratch(&mut self) -> Result<(), (Side, i64)> {
        Ladder::normalise(Side::Bid, &mut self.scratch_bids).map_err(|p| (Side::Bid, p))?;
        Ladder::normalise(Side::Ask, &mut self.scratch_asks).map_err(|p| (Side::Ask, p))
    }

    /// Drops the size-0 levels of normalised scratch sides (the order is kept).
    fn drop_empty_scratch_levels(&mut self) {
        for v in [&mut self.scratch_bids, &mut self.scratch_asks] {
            // A snapshot rarely holds one: a read-only scan first.
            if v.iter().any(|l| l.size.raw() == 0) {
                v.retain(|l| l.size.raw() != 0);
            }
        }
    }

    /// Replaces the whole book with `bids` and `asks` (any order; levels of size 0 are skipped).
    /// The book becomes synced and forgets any Binance update id.
    ///
    /// A price listed twice on one side is refused, whatever its sizes (a size-0 entry
    /// included): one book state has one size per price, so such a snapshot is corrupted. The
    /// venue message parsers ([`OrderBook::apply_hyperliquid`],
    /// [`OrderBook::apply_depth_snapshot`], [`OrderBook::apply_depth_update`]) follow the same
    /// rule.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-positive price, a negative size or a price listed twice on one
    /// side; the book is then unchanged.
    pub fn apply_snapshot<B, A>(&mut self, bids: B, asks: A, ts_ns: u64) -> CoreResult<UpdateStatus>
    where
        B: IntoIterator<Item = (Fixed, Fixed)>,
        A: IntoIterator<Item = (Fixed, Fixed)>,
    {
        self.scratch_bids.clear();
        self.scratch_asks.clear();
        for (p, s) in bids {
            let l = validate(p, s)?;
            self.scratch_bids.push(l);
        }
        for (p, s) in asks {
            let l = validate(p, s)?;
            self.scratch_asks.push(l);
        }
        self.normalise_scratch().map_err(|(side, p)| {
            CoreError::InvalidArgument(format!(
                "{side:?} price {} listed twice in a snapshot",
                Fixed::from_raw(p)
            ))
        })?;
        self.drop_empty_scratch_levels();
        self.commit_snapshot();
        Ok(self.finish(ts_ns))
    }

    /// [`OrderBook::apply_snapshot`] from raw price and size slices.
    ///
    /// # Errors
    /// As [`OrderBook::apply_snapshot`], plus `InvalidArgument` when a price slice and its size
    /// slice differ in length.
    pub fn apply_snapshot_raw(
        &mut self,
        bid_prices: &[i64],
        bid_sizes: &[i64],
        ask_prices: &[i64],
        ask_sizes: &[i64],
        ts_ns: u64,
    ) -> CoreResult<UpdateStatus> {
        if bid_prices.len() != bid_sizes.len() || ask_prices.len() != ask_sizes.len() {
            return Err(CoreError::InvalidArgument(
                "price and size arrays differ in length".into(),
            ));
        }
        self.apply_snapshot(
            bid_prices
                .iter()
                .zip(bid_sizes)
                .map(|(&p, &s)| (Fixed::from_raw(p), Fixed::from_raw(s))),
            ask_prices
                .iter()
                .zip(ask_sizes)
                .map(|(&p, &s)| (Fixed::from_raw(p), Fixed::from_raw(s))),
            ts_ns,
        )
    }

    /// Sets the size at one price (size 0 removes the level; removing an absent level is normal).
    ///
    /// # Errors
    /// `InvalidArgument` for a non-positive price or a negative size; the book is unchanged.
    #[inline]
    pub fn apply_delta(
        &mut self,
        side: Side,
        price: Fixed,
        size: Fixed,
        ts_ns: u64,
    ) -> CoreResult<UpdateStatus> {
        let level = validate(price, size)?;
        self.ladder_mut(side).set(level);
        Ok(self.finish(ts_ns))
    }

    /// Applies a batch of deltas as one atomic update: all are validated before any is applied,
    /// and the crossed check is made once, at the end (a book crossed half-way through a batch
    /// that represents one venue update is not reported).
    ///
    /// A batch is the caller's own sequence of updates, applied in order: a price may appear
    /// more than once and its last delta wins. (A venue *message* that lists a price twice is
    /// refused instead; see [`OrderBook::apply_depth_update`]. A caller that turns a venue
    /// message into a batch checks that first.)
    ///
    /// # Errors
    /// `InvalidArgument` for any non-positive price or negative size; nothing is applied then.
    pub fn apply_deltas<I>(&mut self, deltas: I, ts_ns: u64) -> CoreResult<UpdateStatus>
    where
        I: IntoIterator<Item = (Side, Fixed, Fixed)>,
    {
        self.scratch_deltas.clear();
        for (side, p, s) in deltas {
            let l = validate(p, s)?;
            self.scratch_deltas.push((side, l));
        }
        for i in 0..self.scratch_deltas.len() {
            let (side, l) = self.scratch_deltas[i];
            self.ladder_mut(side).set(l);
        }
        Ok(self.finish(ts_ns))
    }

    /// [`OrderBook::apply_deltas`] from raw slices (`is_bid[i]` non-zero → bid).
    ///
    /// # Errors
    /// As [`OrderBook::apply_deltas`], plus `InvalidArgument` when the slices differ in length.
    pub fn apply_deltas_raw(
        &mut self,
        is_bid: &[u8],
        prices: &[i64],
        sizes: &[i64],
        ts_ns: u64,
    ) -> CoreResult<UpdateStatus> {
        if is_bid.len() != prices.len() || prices.len() != sizes.len() {
            return Err(CoreError::InvalidArgument(
                "side, price and size arrays differ in length".into(),
            ));
        }
        self.apply_deltas(
            is_bid.iter().zip(prices).zip(sizes).map(|((&b, &p), &s)| {
                (
                    if b != 0 { Side::Bid } else { Side::Ask },
                    Fixed::from_raw(p),
                    Fixed::from_raw(s),
                )
            }),
            ts_ns,
        )
    }

    #[inline]
    fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    #[inline]
    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    /// Empties the book and marks it not synced (e.g. on a disconnect).
    pub fn clear(&mut self) {
        self.bids.levels.clear();
        self.asks.levels.clear();
        self.crossed = false;
        self.synced = false;
        self.awaiting_first_diff = false;
        self.last_update_id = None;
    }

    /// The best bid level.
    #[inline]
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.best()
    }

    /// The best ask level.
    #[inline]
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.best()
    }

    /// Best bid and best ask in one call.
    #[inline]
    pub fn bbo(&self) -> (Option<Level>, Option<Level>) {
        (self.bids.best(), self.asks.best())
    }

    /// The last update's timestamp with the best bid and ask, when a quote can be read from
    /// the book at all: synced, not crossed, updated at least once, both sides present. Two
    /// equal stamps mean the touch a quote shows has not changed between them (one call for
    /// a caller that keeps a price ready and must know it still holds).
    pub fn touch_stamp(&self) -> Option<(u64, Level, Level)> {
        if !self.synced || self.crossed || self.last_update_ns == 0 {
            return None;
        }
        Some((self.last_update_ns, self.bids.best()?, self.asks.best()?))
    }

    /// `(best bid + best ask) / 2`, rounded down to 10⁻⁹ (exact whenever both prices have at most
    /// 8 decimals). `None` unless both sides have a level. Also given for a crossed book.
    pub fn mid(&self) -> Option<Fixed> {
        let (b, a) = self.bbo();
        let sum = i128::from(b?.price.raw()) + i128::from(a?.price.raw());
        Some(Fixed::from_raw(sum.div_euclid(2) as i64))
    }

    /// `(ask − bid) / mid · 10⁴` (statistics, `f64`); negative for a crossed book.
    pub fn spread_bps(&self) -> Option<f64> {
        let (b, a) = self.bbo();
        let (b, a) = (b?.price.raw() as f64, a?.price.raw() as f64);
        Some((a - b) / f64::midpoint(a, b) * 1e4)
    }

    /// Levels of one side, best first.
    pub fn levels(&self, side: Side) -> impl Iterator<Item = Level> + '_ {
        self.ladder(side).iter().copied()
    }

    /// Number of levels on one side.
    pub fn len(&self, side: Side) -> usize {
        self.ladder(side).levels.len()
    }

    /// True when both sides are empty.
    pub fn is_empty(&self) -> bool {
        self.bids.levels.is_empty() && self.asks.levels.is_empty()
    }

    /// True while the best bid is at or above the best ask.
    #[inline]
    pub fn is_crossed(&self) -> bool {
        self.crossed
    }

    /// True after a snapshot and until a sequence gap (or [`OrderBook::clear`]).
    #[inline]
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// The caller's timestamp of the last applied update (ns; 0 before any).
    #[inline]
    pub fn last_update_ns(&self) -> u64 {
        self.last_update_ns
    }

    /// The venue's own time of the last applied message that had one (ms).
    #[inline]
    pub fn venue_time_ms(&self) -> Option<i64> {
        self.venue_time_ms
    }

    /// Binance/Aster: the snapshot's `lastUpdateId`, then the `u` of the last applied diff.
    #[inline]
    pub fn last_update_id(&self) -> Option<i64> {
        self.last_update_id
    }
}
