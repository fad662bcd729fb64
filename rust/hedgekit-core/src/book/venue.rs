//! Venue message parsers: Hyperliquid `l2Book` and Aster/Binance depth (REST snapshot and
//! `depthUpdate` diffs with the sequence rules of venues.md §2.9).
//!
//! Each message is parsed completely into the book's scratch buffers; only a valid message is
//! applied. A malformed one returns `CoreError::Parse` and leaves the book exactly as it was.

use super::json::{JResult, JsonError, Scanner};
use super::{Level, OrderBook, Side, UpdateStatus};
use crate::error::CoreResult;
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

/// `[{"px":"..","sz":"..","n":..}, ...]` into `out` (size-0 levels dropped).
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
                if size.raw() != 0 {
                    out.push(Level { price, size });
                }
                continue;
            }
            sc.pos = at; // a zero price: let the general path report it with its position
        }
        sc.object()?;
        let (mut px, mut sz) = (None, None);
        let mut k_first = true;
        while let Some(key) = sc.next_key(&mut k_first)? {
            match key {
                b"px" => {
                    sc.peek();
                    let p = sc.pos;
                    px = Some((p, sc.fixed_str("px")?));
                }
                b"sz" => {
                    sc.peek();
                    let p = sc.pos;
                    sz = Some((p, sc.fixed_str("sz")?));
                }
                _ => sc.skip_value()?,
            }
        }
        let l = level(px, sz, at)?;
        if l.size.raw() != 0 {
            out.push(l);
        }
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
    levels: bool,
    time: Option<i64>,
}

/// A Hyperliquid book object, or (when `outer`) an envelope whose `data` is one.
fn hl_object(
    sc: &mut Scanner<'_>,
    outer: bool,
    bids: &mut Vec<Level>,
    asks: &mut Vec<Level>,
    f: &mut HlFields,
) -> JResult<()> {
    sc.peek();
    let start = sc.pos;
    sc.object()?;
    let mut first = true;
    let (mut seen_data, mut seen_time) = (false, false);
    while let Some(key) = sc.next_key(&mut first)? {
        sc.peek();
        let at = sc.pos;
        match key {
            b"levels" => {
                dup(&mut f.levels, "levels", at)?;
                sc.array()?;
                let mut e_first = true;
                if !sc.next_elem(&mut e_first)? {
                    return Scanner::err(at, "levels", "expected [bids, asks]");
                }
                hl_side(sc, bids)?;
                if !sc.next_elem(&mut e_first)? {
                    return Scanner::err(at, "levels", "expected [bids, asks]");
                }
                hl_side(sc, asks)?;
                if sc.next_elem(&mut e_first)? {
                    return Scanner::err(sc.pos, "levels", "expected [bids, asks]");
                }
            }
            b"time" => {
                dup(&mut seen_time, "time", at)?;
                f.time = Some(sc.int("time")?);
            }
            b"data" if outer => {
                dup(&mut seen_data, "data", at)?;
                hl_object(sc, false, bids, asks, f)?;
            }
            b"channel" | b"type" if outer => {
                if sc.string()? != b"l2Book" {
                    return Scanner::err(at, "channel", "not an l2Book message");
                }
            }
            _ => sc.skip_value()?,
        }
    }
    if !f.levels {
        return Scanner::err(start, "levels", "missing field");
    }
    Ok(())
}

/// Fields of a Binance depth message (snapshot or diff), possibly under `{"stream","data"}`.
#[derive(Default)]
struct DepthFields {
    bids: bool,
    asks: bool,
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
        match key {
            b"bids" | b"b" => {
                dup(&mut f.bids, "bids", at)?;
                pair_side(sc, bids)?;
            }
            b"asks" | b"a" => {
                dup(&mut f.asks, "asks", at)?;
                pair_side(sc, asks)?;
            }
            b"lastUpdateId" => int_field(sc, &mut f.last_update_id, "lastUpdateId")?,
            b"U" => int_field(sc, &mut f.first_id, "U")?,
            b"u" => int_field(sc, &mut f.final_id, "u")?,
            b"pu" => int_field(sc, &mut f.prev_final_id, "pu")?,
            b"E" => int_field(sc, &mut f.event_time, "E")?,
            b"T" => int_field(sc, &mut f.tx_time, "T")?,
            b"e" => {
                if sc.string()? != b"depthUpdate" {
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
    /// object. Every message is a full snapshot and replaces the book; `time` (ms) is recorded
    /// as the venue time.
    ///
    /// # Errors
    /// `Parse { position, message }` for anything malformed (JSON syntax, wrong types, missing
    /// fields, a number that is not a finite decimal of at most 9 decimals, a non-positive price,
    /// a negative size, a price listed twice). The book is then unchanged.
    pub fn apply_hyperliquid(&mut self, msg: &[u8], ts_ns: u64) -> CoreResult<UpdateStatus> {
        let f: HlFields = self.parse_whole(msg, hl_object)?;
        self.normalise_parsed()?;
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

    fn normalise_parsed(&mut self) -> Result<(), JsonError> {
        self.normalise_scratch().map_err(|(side, _)| JsonError {
            pos: 0,
            field: if side == Side::Bid { "bids" } else { "asks" },
            msg: "price listed twice",
        })
    }

    /// Applies an Aster/Binance REST depth snapshot
    /// `{"lastUpdateId":N,"E":..,"T":..,"bids":[["px","qty"]],"asks":[..]}`: replaces the book,
    /// records `lastUpdateId` and makes the book synced, awaiting its first diff.
    ///
    /// # Errors
    /// `Parse` as for [`OrderBook::apply_hyperliquid`], and when `lastUpdateId`, `bids` or
    /// `asks` is missing. The book is then unchanged.
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
        self.scratch_bids.retain(|l| l.size.raw() != 0);
        self.scratch_asks.retain(|l| l.size.raw() != 0);
        self.normalise_parsed()?;
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
    /// Quantities are absolute; qty 0 removes the level (absent levels are fine).
    ///
    /// # Errors
    /// `Parse` for a malformed message (including missing `U`, `u`, `pu`, `b` or `a`, or an `e`
    /// other than `depthUpdate`); the book and its sync state are then unchanged.
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
