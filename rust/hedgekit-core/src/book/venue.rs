//! Venue message parsers: Hyperliquid `l2Book` and Aster/Binance depth (REST snapshot and
//! `depthUpdate` diffs with the sequence rules of venues.md §2.9).
//!
//! Each message is parsed completely into the book's scratch buffers; only a valid message is
//! applied. A malformed one returns `CoreError::Parse` and leaves the book exactly as it was.
//!
//! Rules common to every message kind (snapshot or diff, every venue):
//!
//! - The text is strict JSON (see [`super::json`]); a key is recognised by its decoded text.
//! - A key the parser reads may appear once: twice in one object, or once in an envelope and
//!   again in its `data`, is refused (a JSON parser would keep the last one silently). Keys it
//!   does not read are skipped, repeated or not.
//! - **A price listed twice on one side of one message is refused**, whatever its sizes (a
//!   size-0 entry included). A venue never sends the same price twice in one message, so such a
//!   message is corrupted; applying it last-wins (or first-wins) would hide that behind a guess.
//!   The same price on both sides is not a duplicate (it is a crossed book, reported as such).

use super::json::{JResult, JsonError, Scanner};
use super::{Level, OrderBook, Side, UpdateStatus};
use crate::error::{CoreError, CoreResult};
use crate::fixed::Fixed;

/// Reads one level's price and size, validated (price > 0, size ≥ 0).
fn level(price: Option<(usize, Fixed)>, size: Option<(usize, Fixed)>, at: usize) -> JResult<Level> {
    let Some((ppos, price)) = price else {
        return Scanner::err(at, "px", "missing price");
    };
    let Some((spos, size)) = size else {
        return Scanner::err(at, "sz", "missing size");
    };
    if price.raw() <= 0 {
        return Scanner::err(ppos, "px", "price must be positive");
    }
    if size.raw() < 0 {
        return Scanner::err(spos, "sz", "size must not be negative");
    }
    Ok(Level { price, size })
}

/// Reads a decimal field once; a second occurrence of the key is refused.
fn once(
    sc: &mut Scanner<'_>,
    slot: &mut Option<(usize, Fixed)>,
    field: &'static str,
) -> JResult<()> {
    sc.peek();
    let p = sc.pos;
    if slot.is_some() {
        return Scanner::err(p, field, "duplicate key");
    }
    *slot = Some((p, sc.fixed_str(field)?));
    Ok(())
}

/// `[{"px":"..","sz":"..","n":..}, ...]` into `out` (size-0 levels kept: the caller checks for
/// duplicated prices before dropping them).
fn hl_side(sc: &mut Scanner<'_>, out: &mut Vec<Level>) -> JResult<()> {
    sc.array()?;
    let mut first = true;
    while sc.next_elem(&mut first)? {
        let at = {
            sc.peek();
            sc.pos
        };
        if let Some((price, size)) = sc.hl_level_fast() {
            if price.raw() > 0 {
                out.push(Level { price, size });
                continue;
            }
            sc.pos = at; // a zero price: let the general path report it with its position
        }
        sc.object()?;
        let (mut px, mut sz) = (None, None);
        let mut k_first = true;
        while let Some(key) = sc.next_key(&mut k_first)? {
            match &*key {
                b"px" => once(sc, &mut px, "px")?,
                b"sz" => once(sc, &mut sz, "sz")?,
                _ => sc.skip_value()?,
            }
        }
        out.push(level(px, sz, at)?);
    }
    Ok(())
}

/// `[[price, qty], ...]` (decimal strings; extra elements skipped) into `out`, zeros kept.
fn pair_side(sc: &mut Scanner<'_>, out: &mut Vec<Level>) -> JResult<()> {
    sc.array()?;
    let mut first = true;
    while sc.next_elem(&mut first)? {
        let at = {
            sc.peek();
            sc.pos
        };
        sc.array()?;
        let mut e_first = true;
        let (mut px, mut sz) = (None, None);
        let mut i = 0;
        while sc.next_elem(&mut e_first)? {
            sc.peek();
            let p = sc.pos;
            match i {
                0 => px = Some((p, sc.fixed_str("price")?)),
                1 => sz = Some((p, sc.fixed_str("qty")?)),
                _ => sc.skip_value()?,
            }
            i += 1;
        }
        out.push(level(px, sz, at)?);
    }
    Ok(())
}

fn dup(seen: &mut bool, field: &'static str, at: usize) -> JResult<()> {
    if std::mem::replace(seen, true) {
        return Scanner::err(at, field, "duplicate key");
    }
    Ok(())
}

/// A message-object parser: `(scanner, outer, bids, asks, other fields)`.
type ObjectParser<T> =
    fn(&mut Scanner<'_>, bool, &mut Vec<Level>, &mut Vec<Level>, &mut T) -> JResult<()>;

/// What a Hyperliquid message held besides its levels.
#[derive(Default)]
struct HlFields {
    /// Where the message starts (for a missing field).
    start: usize,
    levels: bool,
    /// Where the bid and the ask arrays start (for a duplicated price).
    bids_at: usize,
    asks_at: usize,
    seen_time: bool,
    time: Option<i64>,
}

/// A Hyperliquid book object, or (when `outer`) an envelope whose `data` is one. `levels` and
/// `time` may each appear once in the whole message (envelope or `data`).
fn hl_object(
    sc: &mut Scanner<'_>,
    outer: bool,
    bids: &mut Vec<Level>,
    asks: &mut Vec<Level>,
    f: &mut HlFields,
) -> JResult<()> {
    sc.peek();
    if outer {
        f.start = sc.pos;
    }
    sc.object()?;
    let mut first = true;
    let (mut seen_data, mut seen_channel, mut seen_type) = (false, false, false);
    while let Some(key) = sc.next_key(&mut first)? {
        sc.peek();
        let at = sc.pos;
        match &*key {
            b"levels" => {
                dup(&mut f.levels, "levels", at)?;
                sc.array()?;
                let mut e_first = true;
                if !sc.next_elem(&mut e_first)? {
                    return Scanner::err(at, "levels", "expected [bids, asks]");
                }
                sc.peek();
                f.bids_at = sc.pos;
                hl_side(sc, bids)?;
                if !sc.next_elem(&mut e_first)? {
                    return Scanner::err(at, "levels", "expected [bids, asks]");
                }
                sc.peek();
                f.asks_at = sc.pos;
                hl_side(sc, asks)?;
                if sc.next_elem(&mut e_first)? {
                    return Scanner::err(sc.pos, "levels", "expected [bids, asks]");
                }
            }
            b"time" => {
                dup(&mut f.seen_time, "time", at)?;
                f.time = Some(sc.int("time")?);
            }
            b"data" if outer => {
                dup(&mut seen_data, "data", at)?;
                hl_object(sc, false, bids, asks, f)?;
            }
            name @ (b"channel" | b"type") if outer => {
                let (seen, field) = if name == b"channel" {
                    (&mut seen_channel, "channel")
                } else {
                    (&mut seen_type, "type")
                };
                dup(seen, field, at)?;
                if *sc.string()? != *b"l2Book" {
                    return Scanner::err(at, field, "not an l2Book message");
                }
            }
            _ => sc.skip_value()?,
        }
    }
    Ok(())
}

/// Fields of a Binance depth message (snapshot or diff), possibly under `{"stream","data"}`.
/// Each may appear once in the whole message (envelope or `data`); `bids`/`b` and `asks`/`a`
/// are one field each.
#[derive(Default)]
struct DepthFields {
    bids: bool,
    asks: bool,
    /// Where the bid and the ask arrays start (for a duplicated price).
    bids_at: usize,
    asks_at: usize,
    event: bool,
    last_update_id: Option<i64>,
    first_id: Option<i64>,
    final_id: Option<i64>,
    prev_final_id: Option<i64>,
    event_time: Option<i64>,
    tx_time: Option<i64>,
}

fn depth_object(
    sc: &mut Scanner<'_>,
    outer: bool,
    bids: &mut Vec<Level>,
    asks: &mut Vec<Level>,
    f: &mut DepthFields,
) -> JResult<()> {
    sc.object()?;
    let mut first = true;
    let mut seen_data = false;
    while let Some(key) = sc.next_key(&mut first)? {
        sc.peek();
        let at = sc.pos;
        let int_field =
            |sc: &mut Scanner<'_>, slot: &mut Option<i64>, name: &'static str| -> JResult<()> {
                if slot.is_some() {
                    return Scanner::err(at, name, "duplicate key");
                }
                *slot = Some(sc.int(name)?);
                Ok(())
            };
        match &*key {
            b"bids" | b"b" => {
                dup(&mut f.bids, "bids", at)?;
                f.bids_at = at;
                pair_side(sc, bids)?;
            }
            b"asks" | b"a" => {
                dup(&mut f.asks, "asks", at)?;
                f.asks_at = at;
                pair_side(sc, asks)?;
            }
            b"lastUpdateId" => int_field(sc, &mut f.last_update_id, "lastUpdateId")?,
            b"U" => int_field(sc, &mut f.first_id, "U")?,
            b"u" => int_field(sc, &mut f.final_id, "u")?,
            b"pu" => int_field(sc, &mut f.prev_final_id, "pu")?,
            b"E" => int_field(sc, &mut f.event_time, "E")?,
            b"T" => int_field(sc, &mut f.tx_time, "T")?,
            b"e" => {
                dup(&mut f.event, "e", at)?;
                if *sc.string()? != *b"depthUpdate" {
                    return Scanner::err(at, "e", "not a depthUpdate event");
                }
            }
            b"data" if outer => {
                dup(&mut seen_data, "data", at)?;
                depth_object(sc, false, bids, asks, f)?;
            }
            _ => sc.skip_value()?,
        }
    }
    Ok(())
}

fn need(v: Option<i64>, field: &'static str) -> JResult<i64> {
    v.map_or_else(|| Scanner::err(0, field, "missing field"), Ok)
}

impl OrderBook {
    /// Applies a Hyperliquid `l2Book` message — the WS envelope
    /// `{"channel":"l2Book","data":{"coin","time","levels":[bids, asks]}}` or the bare data
    /// object. Every message is a full snapshot and replaces the book (levels of size 0 are
    /// skipped); `time` (ms) is recorded as the venue time.
    ///
    /// # Errors
    /// `Parse { position, message }` for anything malformed: JSON syntax, wrong types, a missing
    /// field (`levels`, a level's `px` or `sz`), a key read twice, a number that is not a finite
    /// decimal of at most 9 decimals, a non-positive price, a negative size, or a price listed
    /// twice on one side (even with size 0). The book is then unchanged.
    pub fn apply_hyperliquid(&mut self, msg: &[u8], ts_ns: u64) -> CoreResult<UpdateStatus> {
        let f: HlFields = self.parse_whole(msg, hl_object)?;
        if !f.levels {
            return Err(JsonError {
                pos: f.start,
                field: "levels",
                msg: "missing field",
            }
            .into());
        }
        self.normalise_parsed(f.bids_at, f.asks_at)?;
        self.drop_empty_scratch_levels();
        self.commit_snapshot();
        if f.time.is_some() {
            self.venue_time_ms = f.time;
        }
        Ok(self.finish(ts_ns))
    }

    /// Parses a whole message (envelope or bare object, nothing after it) with `object` into
    /// the cleared scratch sides, returning the other fields it read.
    fn parse_whole<T: Default>(&mut self, msg: &[u8], object: ObjectParser<T>) -> JResult<T> {
        self.scratch_bids.clear();
        self.scratch_asks.clear();
        let mut fields = T::default();
        let mut sc = Scanner::new(msg);
        object(
            &mut sc,
            true,
            &mut self.scratch_bids,
            &mut self.scratch_asks,
            &mut fields,
        )?;
        sc.end()?;
        Ok(fields)
    }

    /// Puts the parsed scratch sides in ladder order, refusing a price listed twice on one side
    /// (reported at the start of that side's array).
    fn normalise_parsed(&mut self, bids_at: usize, asks_at: usize) -> CoreResult<()> {
        self.normalise_scratch().map_err(|(side, p)| {
            let (position, name) = match side {
                Side::Bid => (bids_at, "bids"),
                Side::Ask => (asks_at, "asks"),
            };
            CoreError::Parse {
                position,
                message: format!("{name}: price {} listed twice", Fixed::from_raw(p)),
            }
        })
    }

    /// Applies an Aster/Binance REST depth snapshot
    /// `{"lastUpdateId":N,"E":..,"T":..,"bids":[["px","qty"]],"asks":[..]}`: replaces the book
    /// (levels of qty 0 are skipped), records `lastUpdateId` and makes the book synced, awaiting
    /// its first diff.
    ///
    /// # Errors
    /// `Parse` as for [`OrderBook::apply_hyperliquid`] (a price listed twice on one side
    /// included), and when `lastUpdateId`, `bids` or `asks` is missing. The book is then
    /// unchanged.
    pub fn apply_depth_snapshot(&mut self, msg: &[u8], ts_ns: u64) -> CoreResult<UpdateStatus> {
        let f: DepthFields = self.parse_whole(msg, depth_object)?;
        let lid = need(f.last_update_id, "lastUpdateId")?;
        if !f.bids || !f.asks {
            return Err(JsonError {
                pos: 0,
                field: if f.bids { "asks" } else { "bids" },
                msg: "missing field",
            }
            .into());
        }
        self.normalise_parsed(f.bids_at, f.asks_at)?;
        self.drop_empty_scratch_levels();
        self.commit_snapshot();
        self.last_update_id = Some(lid);
        self.awaiting_first_diff = true;
        if let Some(t) = f.tx_time.or(f.event_time) {
            self.venue_time_ms = Some(t);
        }
        Ok(self.finish(ts_ns))
    }

    /// Applies an Aster/Binance `depthUpdate` diff (bare or under `{"stream","data"}`), with the
    /// sync rules of the venue:
    ///
    /// - `u` below the book's id (the snapshot's `lastUpdateId`, or after the first diff the last
    ///   applied `u`; after the first diff also `u` equal to it): old → [`UpdateStatus::Ignored`],
    ///   book unchanged.
    /// - The first diff after a snapshot must have `U ≤ lastUpdateId ≤ u`; every later one must
    ///   have `pu` equal to the previous diff's `u`. Otherwise → [`UpdateStatus::Gap`]: the diff is
    ///   **not** applied and the book is marked not synced until the next snapshot.
    /// - A diff on a book without a depth snapshot (none yet, a gap since, or a snapshot of
    ///   another kind) is also a [`UpdateStatus::Gap`].
    ///
    /// Quantities are absolute; qty 0 removes the level (absent levels are fine). A price listed
    /// twice on one side of a diff is refused (as in a snapshot), not applied last-wins: the
    /// message is corrupted, and refusing it (the book and its sync state unchanged) makes the
    /// next diff a gap, which resynchronises the book from a snapshot.
    ///
    /// # Errors
    /// `Parse` for a malformed message (including missing `U`, `u`, `pu`, `b` or `a`, an `e`
    /// other than `depthUpdate`, or a price listed twice on one side); the book and its sync
    /// state are then unchanged. A malformed message is refused whatever its update ids.
    pub fn apply_depth_update(&mut self, msg: &[u8], ts_ns: u64) -> CoreResult<UpdateStatus> {
        let f: DepthFields = self.parse_whole(msg, depth_object)?;
        let first_id = need(f.first_id, "U")?;
        let final_id = need(f.final_id, "u")?;
        let prev_final = need(f.prev_final_id, "pu")?;
        if !f.bids || !f.asks {
            return Err(JsonError {
                pos: 0,
                field: if f.bids { "a" } else { "b" },
                msg: "missing field",
            }
            .into());
        }
        // Sorting the diff's levels is harmless (no price repeats on a side, so the order in
        // which they are set does not matter) and finds a repeated price.
        self.normalise_parsed(f.bids_at, f.asks_at)?;
        let Some(lid) = self.last_update_id.filter(|_| self.synced) else {
            self.synced = false;
            return Ok(UpdateStatus::Gap);
        };
        if self.awaiting_first_diff {
            if final_id < lid {
                return Ok(UpdateStatus::Ignored);
            }
            if first_id > lid {
                self.synced = false;
                return Ok(UpdateStatus::Gap);
            }
        } else {
            if final_id <= lid {
                return Ok(UpdateStatus::Ignored);
            }
            if prev_final != lid {
                self.synced = false;
                return Ok(UpdateStatus::Gap);
            }
        }
        for l in &self.scratch_bids {
            self.bids.set(*l);
        }
        for l in &self.scratch_asks {
            self.asks.set(*l);
        }
        self.awaiting_first_diff = false;
        self.last_update_id = Some(final_id);
        if let Some(t) = f.tx_time.or(f.event_time) {
            self.venue_time_ms = Some(t);
        }
        Ok(self.finish(ts_ns))
    }
}
