//! Book tests: unit tests of each rule and property tests against a naive `BTreeMap` model.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::error::CoreError;

fn f(s: &str) -> Fixed {
    Fixed::parse(s).unwrap()
}

fn lv(p: &str, s: &str) -> (Fixed, Fixed) {
    (f(p), f(s))
}

/// The naive model: one map per side, price → size.
#[derive(Default, Clone, Debug)]
struct Model {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

impl Model {
    fn side(&mut self, side: Side) -> &mut BTreeMap<i64, i64> {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }
    fn set(&mut self, side: Side, p: i64, s: i64) {
        if s == 0 {
            self.side(side).remove(&p);
        } else {
            self.side(side).insert(p, s);
        }
    }
    fn bids(&self) -> Vec<(i64, i64)> {
        self.bids.iter().rev().map(|(&p, &s)| (p, s)).collect()
    }
    fn asks(&self) -> Vec<(i64, i64)> {
        self.asks.iter().map(|(&p, &s)| (p, s)).collect()
    }
    fn crossed(&self) -> bool {
        matches!((self.bids.keys().next_back(), self.asks.keys().next()), (Some(b), Some(a)) if b >= a)
    }
}

fn raw_levels(book: &OrderBook, side: Side) -> Vec<(i64, i64)> {
    book.levels(side)
        .map(|l| (l.price.raw(), l.size.raw()))
        .collect()
}

fn assert_matches(book: &OrderBook, m: &Model) {
    assert_eq!(raw_levels(book, Side::Bid), m.bids());
    assert_eq!(raw_levels(book, Side::Ask), m.asks());
    assert_eq!(book.is_crossed(), m.crossed());
    assert_eq!(
        book.best_bid().map(|l| l.price.raw()),
        m.bids().first().map(|x| x.0)
    );
    assert_eq!(
        book.best_ask().map(|l| l.price.raw()),
        m.asks().first().map(|x| x.0)
    );
}

fn hl_msg(bids: &[(i64, i64)], asks: &[(i64, i64)], time: i64, envelope: bool) -> String {
    let side = |v: &[(i64, i64)]| {
        v.iter()
            .map(|&(p, s)| {
                format!(
                    r#"{{"px":"{}","sz":"{}","n":1}}"#,
                    Fixed::from_raw(p),
                    Fixed::from_raw(s)
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let data = format!(
        r#"{{"coin":"ETH","time":{time},"levels":[[{}],[{}]]}}"#,
        side(bids),
        side(asks)
    );
    if envelope {
        format!(r#"{{"channel":"l2Book","data":{data}}}"#)
    } else {
        data
    }
}

fn pairs(v: &[(i64, i64)]) -> String {
    v.iter()
        .map(|&(p, s)| format!(r#"["{}","{}"]"#, Fixed::from_raw(p), Fixed::from_raw(s)))
        .collect::<Vec<_>>()
        .join(",")
}

fn depth_snapshot(lid: i64, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> String {
    format!(
        r#"{{"lastUpdateId":{lid},"E":1,"T":2,"bids":[{}],"asks":[{}]}}"#,
        pairs(bids),
        pairs(asks)
    )
}

fn depth_update(
    first: i64,
    last: i64,
    prev: i64,
    bids: &[(i64, i64)],
    asks: &[(i64, i64)],
) -> String {
    format!(
        r#"{{"e":"depthUpdate","E":5,"T":4,"s":"BTCUSDT","U":{first},"u":{last},"pu":{prev},"b":[{}],"a":[{}]}}"#,
        pairs(bids),
        pairs(asks)
    )
}

const HL: &str = r#"{"channel":"l2Book","data":{"coin":"ETH","time":1760000000000,"levels":[[{"px":"3119.9","sz":"1.5","n":3},{"px":"3119.8","sz":"2","n":1}],[{"px":"3120.1","sz":"0.5","n":2}]]}}"#;

#[test]
fn snapshot_delta_and_queries() {
    let mut b = OrderBook::new();
    assert!(!b.is_synced());
    let st = b
        .apply_snapshot(
            [lv("99", "1"), lv("100", "2")],
            [lv("101", "3"), lv("102", "4")],
            7,
        )
        .unwrap();
    assert_eq!(st, UpdateStatus::Ok);
    assert!(b.is_synced());
    assert_eq!(
        b.best_bid(),
        Some(Level {
            price: f("100"),
            size: f("2")
        })
    );
    assert_eq!(b.best_ask().unwrap().price, f("101"));
    assert_eq!(b.mid(), Some(f("100.5")));
    let sp = b.spread_bps().unwrap();
    assert!((sp - 1.0 / 100.5 * 1e4).abs() < 1e-9);
    assert_eq!(b.last_update_ns(), 7);
    // remove absent level: fine
    assert_eq!(
        b.apply_delta(Side::Bid, f("50"), Fixed::ZERO, 8).unwrap(),
        UpdateStatus::Ok
    );
    // cross, then uncross
    assert_eq!(
        b.apply_delta(Side::Bid, f("101"), f("1"), 9).unwrap(),
        UpdateStatus::Crossed
    );
    assert!(b.is_crossed());
    assert_eq!(
        b.apply_delta(Side::Ask, f("102"), f("1"), 9).unwrap(),
        UpdateStatus::Crossed
    );
    assert!(b.is_crossed());
    assert_eq!(
        b.apply_delta(Side::Bid, f("101"), Fixed::ZERO, 10).unwrap(),
        UpdateStatus::Ok
    );
    assert!(!b.is_crossed());
    // invalid
    let before = raw_levels(&b, Side::Bid);
    assert!(b.apply_delta(Side::Bid, f("0"), f("1"), 0).is_err());
    assert!(b.apply_delta(Side::Bid, f("1"), f("-1"), 0).is_err());
    assert!(b
        .apply_deltas(
            [(Side::Bid, f("1"), f("1")), (Side::Ask, f("-1"), f("1"))],
            0
        )
        .is_err());
    assert_eq!(raw_levels(&b, Side::Bid), before);
    assert!(b
        .apply_snapshot([lv("1", "1"), lv("1", "2")], [], 0)
        .is_err());
    assert_eq!(raw_levels(&b, Side::Bid), before);
}

#[test]
fn batch_reports_only_the_final_state() {
    let mut b = OrderBook::new();
    b.apply_snapshot([lv("100", "1")], [lv("101", "1")], 0)
        .unwrap();
    // crosses half-way, uncrossed at the end
    let st = b
        .apply_deltas(
            [
                (Side::Bid, f("102"), f("1")),
                (Side::Bid, f("102"), Fixed::ZERO),
            ],
            1,
        )
        .unwrap();
    assert_eq!(st, UpdateStatus::Ok);
    let st = b
        .apply_deltas_raw(&[1], &[f("101").raw()], &[ONE_RAW], 2)
        .unwrap();
    assert_eq!(st, UpdateStatus::Crossed);
    assert!(b.apply_deltas_raw(&[1, 0], &[1], &[1], 2).is_err());
}

const ONE_RAW: i64 = crate::fixed::ONE;

#[test]
fn hyperliquid_envelope_and_bare() {
    let mut b = OrderBook::new();
    assert_eq!(
        b.apply_hyperliquid(HL.as_bytes(), 1).unwrap(),
        UpdateStatus::Ok
    );
    assert_eq!(b.best_bid().unwrap().price, f("3119.9"));
    assert_eq!(b.best_ask().unwrap().size, f("0.5"));
    assert_eq!(b.len(Side::Bid), 2);
    assert_eq!(b.venue_time_ms(), Some(1_760_000_000_000));
    let bare = r#" { "levels" : [ [ ] , [ {"n":1, "sz":"3", "px":"5", "extra":{"a":[1,"]"]}} ] ], "time": 3 } "#;
    b.apply_hyperliquid(bare.as_bytes(), 2).unwrap();
    assert_eq!(b.best_bid(), None);
    assert_eq!(
        b.best_ask(),
        Some(Level {
            price: f("5"),
            size: f("3")
        })
    );
    assert_eq!(b.venue_time_ms(), Some(3));
    let wrong = r#"{"channel":"trades","data":{"levels":[[],[]]}}"#;
    assert!(matches!(
        b.apply_hyperliquid(wrong.as_bytes(), 0),
        Err(CoreError::Parse { .. })
    ));
}

#[test]
fn malformed_messages_leave_the_book_unchanged() {
    let mut b = OrderBook::new();
    b.apply_hyperliquid(HL.as_bytes(), 1).unwrap();
    let snap = (
        raw_levels(&b, Side::Bid),
        raw_levels(&b, Side::Ask),
        b.venue_time_ms(),
        b.last_update_ns(),
    );
    let bad = [
        HL.replace("\"1.5\"", "\"NaN\""),
        HL.replace("\"1.5\"", "\"-1\""),
        HL.replace("\"1.5\"", "\"1e400\""),
        HL.replace("\"1.5\"", "1.5"),
        HL.replace("\"3119.9\"", "\"0\""),
        HL.replace("\"3119.9\"", "\"3119.8\""),
        HL.replace("1760000000000", "\"t\""),
        HL.replace("\"levels\"", "\"levelz\""),
        HL.replace("]]}}", "],[]]}}"),
        format!("{HL}x"),
        "\u{0}\u{1}garbage".to_string(),
        String::new(),
    ];
    for m in &bad {
        let e = b.apply_hyperliquid(m.as_bytes(), 99);
        assert!(matches!(e, Err(CoreError::Parse { .. })), "{m}: {e:?}");
        assert_eq!(
            (
                raw_levels(&b, Side::Bid),
                raw_levels(&b, Side::Ask),
                b.venue_time_ms(),
                b.last_update_ns()
            ),
            snap
        );
    }
    for cut in 0..HL.len() {
        let e = b.apply_hyperliquid(&HL.as_bytes()[..cut], 99);
        match e {
            Err(CoreError::Parse { position, .. }) => {
                assert!(position <= cut, "cut {cut}: pos {position}");
            }
            other => panic!("cut {cut}: {other:?}"),
        }
        assert_eq!(raw_levels(&b, Side::Bid), snap.0);
    }
}

#[test]
fn binance_sequence_rules() {
    let mut b = OrderBook::new();
    // diff before any snapshot → gap, not synced
    let u = depth_update(1, 2, 0, &[(ONE_RAW, ONE_RAW)], &[]);
    assert_eq!(
        b.apply_depth_update(u.as_bytes(), 0).unwrap(),
        UpdateStatus::Gap
    );
    assert!(!b.is_synced());
    assert!(b.is_empty());
    let s = depth_snapshot(100, &[(10 * ONE_RAW, ONE_RAW)], &[(11 * ONE_RAW, ONE_RAW)]);
    assert_eq!(
        b.apply_depth_snapshot(s.as_bytes(), 1).unwrap(),
        UpdateStatus::Ok
    );
    assert!(b.is_synced());
    assert_eq!(b.last_update_id(), Some(100));
    assert_eq!(b.venue_time_ms(), Some(2));
    // old diff dropped
    let old = depth_update(90, 99, 89, &[(9 * ONE_RAW, ONE_RAW)], &[]);
    assert_eq!(
        b.apply_depth_update(old.as_bytes(), 2).unwrap(),
        UpdateStatus::Ignored
    );
    assert_eq!(b.len(Side::Bid), 1);
    // first diff brackets lastUpdateId
    let first = depth_update(
        95,
        105,
        94,
        &[(9 * ONE_RAW, 2 * ONE_RAW)],
        &[(11 * ONE_RAW, 0)],
    );
    assert_eq!(
        b.apply_depth_update(first.as_bytes(), 3).unwrap(),
        UpdateStatus::Ok
    );
    assert_eq!(b.last_update_id(), Some(105));
    assert_eq!(b.best_ask(), None);
    assert_eq!(b.venue_time_ms(), Some(4));
    // chained by pu
    let next = depth_update(106, 110, 105, &[], &[(12 * ONE_RAW, ONE_RAW)]);
    assert_eq!(
        b.apply_depth_update(next.as_bytes(), 4).unwrap(),
        UpdateStatus::Ok
    );
    // duplicate → ignored
    assert_eq!(
        b.apply_depth_update(next.as_bytes(), 4).unwrap(),
        UpdateStatus::Ignored
    );
    // gap: pu does not match
    let gap = depth_update(115, 120, 114, &[(8 * ONE_RAW, ONE_RAW)], &[]);
    let before = raw_levels(&b, Side::Bid);
    assert_eq!(
        b.apply_depth_update(gap.as_bytes(), 5).unwrap(),
        UpdateStatus::Gap
    );
    assert!(!b.is_synced());
    assert_eq!(raw_levels(&b, Side::Bid), before);
    // stays unusable until a snapshot, even for a diff that would chain
    let chained = depth_update(111, 112, 110, &[], &[]);
    assert_eq!(
        b.apply_depth_update(chained.as_bytes(), 6).unwrap(),
        UpdateStatus::Gap
    );
    b.apply_depth_snapshot(depth_snapshot(200, &[], &[]).as_bytes(), 7)
        .unwrap();
    assert!(b.is_synced());
    // first diff after snapshot that does not bracket → gap
    let late = depth_update(201, 205, 200, &[], &[]);
    assert_eq!(
        b.apply_depth_update(late.as_bytes(), 8).unwrap(),
        UpdateStatus::Gap
    );
    // wrapped form
    b.apply_depth_snapshot(depth_snapshot(300, &[], &[]).as_bytes(), 9)
        .unwrap();
    let wrapped = format!(
        r#"{{"stream":"btcusdt@depth","data":{}}}"#,
        depth_update(299, 301, 298, &[(ONE_RAW, ONE_RAW)], &[])
    );
    assert_eq!(
        b.apply_depth_update(wrapped.as_bytes(), 10).unwrap(),
        UpdateStatus::Ok
    );
    // malformed diff: state unchanged
    let bad = depth_update(302, 303, 301, &[(ONE_RAW, -ONE_RAW)], &[]);
    assert!(b.apply_depth_update(bad.as_bytes(), 11).is_err());
    assert!(b.is_synced());
    assert_eq!(b.last_update_id(), Some(301));
    let missing = r#"{"e":"depthUpdate","U":302,"u":303,"b":[],"a":[]}"#;
    assert!(b.apply_depth_update(missing.as_bytes(), 11).is_err());
    let not_depth = r#"{"e":"trade","U":302,"u":303,"pu":301,"b":[],"a":[]}"#;
    assert!(b.apply_depth_update(not_depth.as_bytes(), 11).is_err());
}

#[test]
fn depth_walk() {
    let mut b = OrderBook::new();
    b.apply_snapshot(
        [lv("99", "1"), lv("100", "1")],
        [lv("101", "1"), lv("102", "2"), lv("110", "5")],
        0,
    )
    .unwrap();
    let w = b.walk(TakerSide::Buy, f("2")).unwrap();
    assert_eq!(w.vwap, Some(f("101.5")));
    assert_eq!(w.filled, f("2"));
    assert!(w.complete);
    assert_eq!(w.worst_price, Some(f("102")));
    assert!((w.slippage_bps().unwrap() - 0.5 / 101.0 * 1e4).abs() < 1e-9);
    assert!((w.slippage_vs_bps(b.mid().unwrap()).unwrap() - 1.0 / 100.5 * 1e4).abs() < 1e-9);
    // rounding toward the worse price: 3 units at 101,102,102 → 305/3 = 101.666…
    let w = b.walk(TakerSide::Buy, f("3")).unwrap();
    assert_eq!(w.vwap, Some(Fixed::from_raw(101_666_666_667)));
    let w = b.walk(TakerSide::Sell, f("3")).unwrap();
    assert!(!w.complete);
    assert_eq!(w.filled, f("2"));
    assert_eq!(w.vwap, Some(f("99.5")));
    assert_eq!(
        b.size_within_bps(TakerSide::Buy, f("99.0099")).unwrap(),
        f("1")
    );
    // 102 is exactly 99.00990099.. bps above 101: the exact boundary
    assert_eq!(b.size_within_bps(TakerSide::Buy, f("100")).unwrap(), f("3"));
    assert_eq!(
        b.size_within_bps(TakerSide::Sell, f("100")).unwrap(),
        f("2")
    );
    assert_eq!(
        b.worst_price(TakerSide::Buy, f("100")).unwrap(),
        Some(f("110"))
    );
    assert!(b.walk(TakerSide::Buy, Fixed::ZERO).is_err());
    let s1 = b.liquidity_score(TakerSide::Buy, f("3"), f("50")).unwrap();
    let s2 = b.liquidity_score(TakerSide::Buy, f("3"), f("100")).unwrap();
    assert!(s1 > 0.0 && s1 < s2 && s2 <= 1.0, "{s1} {s2}");
    b.apply_delta(Side::Ask, f("101"), f("10"), 0).unwrap();
    assert!(b.liquidity_score(TakerSide::Buy, f("3"), f("50")).unwrap() > s1);
    b.apply_delta(Side::Bid, f("105"), f("1"), 0).unwrap();
    assert!(
        b.liquidity_score(TakerSide::Buy, f("3"), f("50"))
            .unwrap()
            .abs()
            < f64::EPSILON
    );
}

#[derive(Debug, Clone)]
enum Op {
    Snapshot(Vec<(i64, i64)>, Vec<(i64, i64)>),
    Delta(bool, i64, i64),
    Batch(Vec<(bool, i64, i64)>),
    Hl(Vec<(i64, i64)>, Vec<(i64, i64)>),
}

fn price() -> impl Strategy<Value = i64> {
    (1i64..60).prop_map(|p| p * 250_000_000)
}
fn size() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), 1i64..5_000_000_000]
}
fn unique_levels() -> impl Strategy<Value = Vec<(i64, i64)>> {
    prop::collection::btree_map(price(), 1i64..5_000_000_000, 0..12)
        .prop_map(|m| m.into_iter().collect())
}

/// One side of a diff: distinct prices (a venue never repeats one in a message), sizes 0
/// included, in a shuffled order.
fn diff_levels() -> impl Strategy<Value = Vec<(i64, i64)>> {
    prop::collection::btree_map(price(), size(), 0..6)
        .prop_map(|m| m.into_iter().collect::<Vec<_>>())
        .prop_shuffle()
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (unique_levels(), unique_levels()).prop_map(|(b, a)| Op::Snapshot(b, a)),
        6 => (any::<bool>(), price(), size()).prop_map(|(s, p, q)| Op::Delta(s, p, q)),
        2 => prop::collection::vec((any::<bool>(), price(), size()), 0..20).prop_map(Op::Batch),
        1 => (unique_levels(), unique_levels()).prop_map(|(b, a)| Op::Hl(b, a)),
    ]
}

fn side_of(b: bool) -> Side {
    if b {
        Side::Bid
    } else {
        Side::Ask
    }
}

proptest! {
    #[test]
    fn book_agrees_with_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut b = OrderBook::new();
        let mut m = Model::default();
        for op in ops {
            let st = match op {
                Op::Snapshot(bids, asks) => {
                    m = Model::default();
                    for &(p, s) in &bids { m.set(Side::Bid, p, s); }
                    for &(p, s) in &asks { m.set(Side::Ask, p, s); }
                    // shuffled order on purpose: asks given best-last, bids ascending
                    let ask_rev: Vec<_> = asks.iter().rev().copied().collect();
                    b.apply_snapshot_raw(
                        &bids.iter().map(|x| x.0).collect::<Vec<_>>(), &bids.iter().map(|x| x.1).collect::<Vec<_>>(),
                        &ask_rev.iter().map(|x| x.0).collect::<Vec<_>>(), &ask_rev.iter().map(|x| x.1).collect::<Vec<_>>(), 1).unwrap()
                }
                Op::Delta(s, p, q) => {
                    m.set(side_of(s), p, q);
                    b.apply_delta(side_of(s), Fixed::from_raw(p), Fixed::from_raw(q), 1).unwrap()
                }
                Op::Batch(v) => {
                    for &(s, p, q) in &v { m.set(side_of(s), p, q); }
                    let sides: Vec<u8> = v.iter().map(|x| u8::from(x.0)).collect();
                    let ps: Vec<i64> = v.iter().map(|x| x.1).collect();
                    let qs: Vec<i64> = v.iter().map(|x| x.2).collect();
                    b.apply_deltas_raw(&sides, &ps, &qs, 1).unwrap()
                }
                Op::Hl(bids, asks) => {
                    m = Model::default();
                    for &(p, s) in &bids { m.set(Side::Bid, p, s); }
                    for &(p, s) in &asks { m.set(Side::Ask, p, s); }
                    let bids_best_first: Vec<_> = bids.iter().rev().copied().collect();
                    b.apply_hyperliquid(hl_msg(&bids_best_first, &asks, 5, true).as_bytes(), 1).unwrap()
                }
            };
            assert_matches(&b, &m);
            prop_assert_eq!(st == UpdateStatus::Crossed, m.crossed());
        }
    }

    #[test]
    fn depth_messages_round_trip(bids in unique_levels(), asks in unique_levels(),
                                 diffs in prop::collection::vec((diff_levels(), diff_levels()), 0..10)) {
        let mut b = OrderBook::new();
        let mut m = Model::default();
        for &(p, s) in &bids { m.set(Side::Bid, p, s); }
        for &(p, s) in &asks { m.set(Side::Ask, p, s); }
        b.apply_depth_snapshot(depth_snapshot(1000, &bids, &asks).as_bytes(), 0).unwrap();
        assert_matches(&b, &m);
        let mut last = 1000;
        for (i, (db, da)) in diffs.iter().enumerate() {
            let (first, fin) = if i == 0 { (last - 3, last + 2) } else { (last + 1, last + 4) };
            for &(p, s) in db { m.set(Side::Bid, p, s); }
            for &(p, s) in da { m.set(Side::Ask, p, s); }
            let st = b.apply_depth_update(depth_update(first, fin, last, db, da).as_bytes(), 0).unwrap();
            prop_assert_ne!(st, UpdateStatus::Gap);
            prop_assert_ne!(st, UpdateStatus::Ignored);
            last = fin;
            assert_matches(&b, &m);
        }
    }

    #[test]
    fn truncated_or_corrupted_messages_are_errors(bids in unique_levels(), asks in unique_levels(), cut in any::<prop::sample::Index>(), junk in any::<u8>()) {
        let mut b = OrderBook::new();
        b.apply_hyperliquid(HL.as_bytes(), 1).unwrap();
        let before = (raw_levels(&b, Side::Bid), raw_levels(&b, Side::Ask));
        let msg = hl_msg(&bids, &asks, 9, true);
        let k = cut.index(msg.len());
        prop_assert!(b.apply_hyperliquid(&msg.as_bytes()[..k], 2).is_err());
        let mut corrupted = msg.clone().into_bytes();
        corrupted[k] = junk;
        let _ = b.apply_hyperliquid(&corrupted, 2); // may or may not parse; must not panic
        let mut b2 = OrderBook::new();
        b2.apply_hyperliquid(HL.as_bytes(), 1).unwrap();
        let d = depth_update(1, 2, 0, &bids, &asks);
        let k = cut.index(d.len());
        prop_assert!(b2.apply_depth_update(&d.as_bytes()[..k], 2).is_err());
        prop_assert_eq!((raw_levels(&b2, Side::Bid), raw_levels(&b2, Side::Ask)), before);
    }

    #[test]
    fn walk_matches_naive(asks in unique_levels(), want in 1i64..20_000_000_000) {
        let mut b = OrderBook::new();
        b.apply_snapshot([], asks.iter().map(|&(p, s)| (Fixed::from_raw(p), Fixed::from_raw(s))), 0).unwrap();
        let w = b.walk(TakerSide::Buy, Fixed::from_raw(want)).unwrap();
        let (mut left, mut cost) = (want, 0i128);
        for &(p, s) in &asks {
            let t = left.min(s);
            cost += i128::from(p) * i128::from(t);
            left -= t;
        }
        prop_assert_eq!(w.cost, cost);
        prop_assert_eq!(w.complete, left == 0);
        if let Some(v) = w.vwap {
            let filled = i128::from(w.filled.raw());
            // rounded up: v·filled ≥ cost > (v−1)·filled
            prop_assert!(i128::from(v.raw()) * filled >= cost && i128::from(v.raw() - 1) * filled < cost);
        }
    }
}

#[test]
fn hyperliquid_fast_and_general_paths_agree() {
    let compact = br#"{"coin":"ETH","time":1,"levels":[[{"px":"3119.9","sz":"1.5","n":3},{"px":"3119.8","sz":"0","n":0}],[{"px":"3120","sz":"2.25","n":1}]]}"#;
    let spaced = br#"{"coin":"ETH","time":1,"levels":[[{ "px": "3119.9", "sz": "1.5", "n": 3 },{"sz":"0","px":"3119.8","n":0}],[{"n":1,"px":"3120","sz":"2.25"}]]}"#;
    let (mut a, mut b) = (OrderBook::new(), OrderBook::new());
    a.apply_hyperliquid(compact, 1).unwrap();
    b.apply_hyperliquid(spaced, 1).unwrap();
    assert_eq!(
        a.levels(Side::Bid).collect::<Vec<_>>(),
        b.levels(Side::Bid).collect::<Vec<_>>()
    );
    assert_eq!(
        a.levels(Side::Ask).collect::<Vec<_>>(),
        b.levels(Side::Ask).collect::<Vec<_>>()
    );
    assert_eq!(
        a.len(Side::Bid),
        1,
        "a size-0 level is dropped on both paths"
    );
    // a zero price in the compact shape is still reported, at the level's position
    let zero = br#"{"levels":[[{"px":"0","sz":"1","n":1}],[]]}"#;
    match a.apply_hyperliquid(zero, 2) {
        Err(crate::CoreError::Parse { position, .. }) => {
            assert!(position > 0 && position < zero.len());
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert_eq!(
        a.len(Side::Bid),
        1,
        "the failed message left the book unchanged"
    );
    // unusual numbers fall back to the general reader, which accepts exponents
    let exp = br#"{"levels":[[{"px":"3.1199e3","sz":"1","n":1}],[]]}"#;
    a.apply_hyperliquid(exp, 3).unwrap();
    assert_eq!(a.best_bid().unwrap().price, Fixed::parse("3119.9").unwrap());
}

// ---- the edges of the range ----

proptest! {
    /// Walks, VWAPs, depth and mid on books with prices and sizes anywhere in the range: the
    /// cost and every price exact against an i128 model; the depth exact below the largest
    /// value and reported as that value (a lower bound) above it.
    #[test]
    fn walk_at_the_edges_is_exact(
        asks in prop::collection::btree_map(crate::testutil::edge_positive(), crate::testutil::edge_positive(), 1..6),
        bid in crate::testutil::edge_positive(),
        want in crate::testutil::edge_positive(),
        bps in crate::testutil::edge_i64(),
    ) {
        let mut b = OrderBook::new();
        b.apply_snapshot_raw(&[bid], &[1], &asks.keys().copied().collect::<Vec<_>>(), &asks.values().copied().collect::<Vec<_>>(), 0).unwrap();
        let w = b.walk(TakerSide::Buy, Fixed::from_raw(want)).unwrap();
        let (mut left, mut cost, mut worst) = (i128::from(want), 0i128, None);
        for (&p, &s) in &asks {
            if left == 0 { break; }
            let t = left.min(i128::from(s));
            cost += i128::from(p) * t;
            left -= t;
            worst = Some(p);
        }
        let filled = i128::from(want) - left;
        prop_assert_eq!(w.cost, cost);
        prop_assert_eq!(i128::from(w.filled.raw()), filled);
        prop_assert_eq!(w.worst_price.map(Fixed::raw), worst);
        let vwap = (cost + filled - 1) / filled; // filled > 0: every size is positive
        prop_assert_eq!(w.vwap.map(|v| i128::from(v.raw())), Some(vwap));
        let sell = b.walk(TakerSide::Sell, Fixed::from_raw(want)).unwrap();
        prop_assert_eq!(sell.vwap, Some(Fixed::from_raw(bid)));
        // mid: ⌊(bid + best ask) / 2⌋
        let best = *asks.keys().next().unwrap();
        prop_assert_eq!(b.mid().map(|m| i128::from(m.raw())), Some((i128::from(bid) + i128::from(best)).div_euclid(2)));
        match b.size_within_bps(TakerSide::Buy, Fixed::from_raw(bps)) {
            Ok(d) => {
                prop_assert!(bps >= 0);
                let limit = i128::from(best) * (10_000 * i128::from(ONE_RAW) + i128::from(bps));
                let total: i128 = asks.iter().filter(|(&p, _)| i128::from(p) * 10_000 * i128::from(ONE_RAW) <= limit).map(|(_, &s)| i128::from(s)).sum();
                prop_assert_eq!(i128::from(d.raw()), total.min(i128::from(i64::MAX)));
            }
            Err(CoreError::InvalidArgument(_)) => prop_assert!(bps < 0),
            Err(e) => prop_assert!(false, "undocumented error {}", e),
        }
        let _ = b.liquidity_score(TakerSide::Buy, Fixed::from_raw(want), Fixed::from_raw(bps.max(1)));
    }
}

// ---- strict JSON, duplicated keys and duplicated prices ----

/// Everything a message may change: both sides, flags, times and the update id.
type State = (
    Vec<(i64, i64)>,
    Vec<(i64, i64)>,
    bool,
    bool,
    Option<i64>,
    u64,
    Option<i64>,
);

fn state(b: &OrderBook) -> State {
    (
        raw_levels(b, Side::Bid),
        raw_levels(b, Side::Ask),
        b.is_crossed(),
        b.is_synced(),
        b.venue_time_ms(),
        b.last_update_ns(),
        b.last_update_id(),
    )
}

#[test]
fn hyperliquid_level_counts_are_json_integers() {
    // The reported bug: the fast path took `"n":09` (not JSON) while `"n":09 }` was refused.
    let mut b = OrderBook::new();
    b.apply_hyperliquid(HL.as_bytes(), 1).unwrap();
    let before = state(&b);
    for bad in [
        HL.replace(r#""n":3}"#, r#""n":03}"#),
        HL.replace(r#""n":3}"#, r#""n":03 }"#),
        HL.replace(r#""n":3}"#, r#""n":-03}"#),
        HL.replace(r#""n":3}"#, r#""n":1e400}"#),
        HL.replace(r#""n":3}"#, r#""n":3.}"#),
        HL.replace(r#""n":3}"#, r#""n":+3}"#),
    ] {
        let e = b.apply_hyperliquid(bad.as_bytes(), 2);
        assert!(matches!(e, Err(CoreError::Parse { .. })), "{bad}: {e:?}");
        assert_eq!(state(&b), before);
    }
    for good in [
        HL.replace(r#""n":3}"#, r#""n":0}"#),
        HL.replace(r#""n":3}"#, r#""n":-0}"#),
        HL.replace(r#""n":3}"#, r#""n":3e2}"#),
        HL.replace(r#""n":3}"#, r#""n":123456789012345678901234567890}"#),
        HL.replace(r#""n":3}"#, r#""n":null}"#),
    ] {
        b.apply_hyperliquid(good.as_bytes(), 2).unwrap();
        assert_eq!(b.best_bid().unwrap().price, f("3119.9"), "{good}");
    }
}

#[test]
fn keys_and_strings_are_read_decoded() {
    let mut b = OrderBook::new();
    let escaped = r#"{"\u0063hannel":"\u006c2Book","data":{"\u006cevels":[[{"\u0070x":"\u0031\u0030","s\u007a":"2","n":1}],[]],"time":7}}"#;
    b.apply_hyperliquid(escaped.as_bytes(), 1).unwrap();
    assert_eq!(raw_levels(&b, Side::Bid), vec![(10 * ONE_RAW, 2 * ONE_RAW)]);
    assert_eq!(b.venue_time_ms(), Some(7));
    // an escaped key is the same key: read twice is refused
    let twice = r#"{"levels":[[{"px":"1","\u0070x":"2","sz":"1"}],[]]}"#;
    assert!(b.apply_hyperliquid(twice.as_bytes(), 2).is_err());
    assert!(b
        .apply_hyperliquid(br#"{"channel":"\u006c2Boo","levels":[[],[]]}"#, 2)
        .is_err());
    let upd = r#"{"\u0065":"depth\u0055pdate","U":1,"u":2,"pu":0,"\u0062":[],"a":[]}"#;
    b.apply_depth_snapshot(depth_snapshot(1, &[], &[]).as_bytes(), 3)
        .unwrap();
    assert_eq!(
        b.apply_depth_update(upd.as_bytes(), 4).unwrap(),
        UpdateStatus::Ok
    );
}

#[test]
fn a_key_read_twice_is_refused() {
    let hl = [
        r#"{"levels":[[{"px":"1","px":"1","sz":"1"}],[]]}"#,
        r#"{"levels":[[{"px":"1","sz":"1","sz":"2"}],[]]}"#,
        r#"{"levels":[[],[]],"levels":[[],[]]}"#,
        r#"{"levels":[[],[]],"data":{"levels":[[],[]]}}"#,
        r#"{"data":{"levels":[[],[]]},"levels":[[],[]]}"#,
        r#"{"time":1,"data":{"levels":[[],[]],"time":2}}"#,
        r#"{"data":{"levels":[[],[]],"time":1,"time":1}}"#,
        r#"{"channel":"l2Book","channel":"l2Book","data":{"levels":[[],[]]}}"#,
        r#"{"type":"l2Book","type":"l2Book","levels":[[],[]]}"#,
        r#"{"data":{"levels":[[],[]]},"data":{"levels":[[],[]]}}"#,
    ];
    let mut b = OrderBook::new();
    b.apply_hyperliquid(HL.as_bytes(), 1).unwrap();
    let before = state(&b);
    for m in hl {
        let e = b.apply_hyperliquid(m.as_bytes(), 2);
        assert!(matches!(e, Err(CoreError::Parse { .. })), "{m}: {e:?}");
        assert_eq!(state(&b), before, "{m}");
    }
    // unknown keys may repeat; `levels` in the envelope or in `data`, in any order
    for m in [
        r#"{"levels":[[{"px":"1","sz":"1","n":1,"n":2}],[]],"x":1,"x":2}"#,
        r#"{"data":{"coin":"A"},"levels":[[{"px":"1","sz":"1"}],[]]}"#,
        r#"{"levels":[[{"px":"1","sz":"1"}],[]],"data":{"coin":"A"}}"#,
    ] {
        b.apply_hyperliquid(m.as_bytes(), 2).unwrap();
        assert_eq!(raw_levels(&b, Side::Bid), vec![(ONE_RAW, ONE_RAW)], "{m}");
    }
    let depth = [
        r#"{"lastUpdateId":5,"lastUpdateId":5,"bids":[],"asks":[]}"#,
        r#"{"lastUpdateId":5,"bids":[],"b":[],"asks":[]}"#,
        r#"{"lastUpdateId":5,"bids":[],"asks":[],"data":{"asks":[]}}"#,
        r#"{"lastUpdateId":5,"bids":[],"asks":[],"e":"depthUpdate","e":"depthUpdate"}"#,
    ];
    b.apply_depth_snapshot(depth_snapshot(10, &[(ONE_RAW, ONE_RAW)], &[]).as_bytes(), 3)
        .unwrap();
    let before = state(&b);
    for m in depth {
        assert!(b.apply_depth_snapshot(m.as_bytes(), 4).is_err(), "{m}");
        assert_eq!(state(&b), before, "{m}");
    }
    for m in [
        r#"{"e":"depthUpdate","U":9,"u":11,"u":11,"pu":8,"b":[],"a":[]}"#,
        r#"{"e":"depthUpdate","U":9,"u":11,"pu":8,"b":[],"a":[],"asks":[]}"#,
        r#"{"stream":"x","data":{"e":"depthUpdate","U":9,"u":11,"pu":8,"b":[],"a":[]},"u":11}"#,
    ] {
        assert!(b.apply_depth_update(m.as_bytes(), 4).is_err(), "{m}");
        assert_eq!(state(&b), before, "{m}");
    }
}

/// A price listed twice on one side: refused by every parser and message kind, and by the
/// generic snapshot, whatever the sizes; the book (and its sync state) unchanged.
#[test]
fn a_price_listed_twice_is_refused_everywhere() {
    let p = 100 * ONE_RAW;
    let (other_bid, other_ask) = (50 * ONE_RAW, 200 * ONE_RAW);
    for sizes in [
        (ONE_RAW, 2 * ONE_RAW),
        (0, ONE_RAW),
        (ONE_RAW, 0),
        (0, 0),
        (ONE_RAW, ONE_RAW),
    ] {
        for bid_side in [true, false] {
            let dup = vec![(p, sizes.0), (p + ONE_RAW, 1), (p, sizes.1)];
            let (bids, asks) = if bid_side {
                (dup.clone(), vec![(other_ask, 1)])
            } else {
                (vec![(other_bid, 1)], dup.clone())
            };
            let name = if bid_side { "bids" } else { "asks" };
            let mut b = OrderBook::new();
            b.apply_depth_snapshot(
                depth_snapshot(100, &[(10 * ONE_RAW, ONE_RAW)], &[(300 * ONE_RAW, ONE_RAW)])
                    .as_bytes(),
                1,
            )
            .unwrap();
            let before = state(&b);
            let check = |r: CoreResult<UpdateStatus>, msg: &str, b: &OrderBook| {
                match r {
                    Err(CoreError::Parse { position, message }) => {
                        assert!(message.contains("listed twice"), "{message}");
                        assert!(message.starts_with(name), "{message}");
                        assert!(msg[position..].starts_with('['), "{msg} at {position}");
                    }
                    other => panic!("{msg}: {other:?}"),
                }
                assert_eq!(state(b), before, "{msg}");
            };
            let hl = hl_msg(&bids, &asks, 9, true);
            check(b.apply_hyperliquid(hl.as_bytes(), 2), &hl, &b);
            let spaced = hl.replace("{\"px\"", "{ \"px\""); // the general path
            check(b.apply_hyperliquid(spaced.as_bytes(), 2), &spaced, &b);
            let snap = depth_snapshot(200, &bids, &asks);
            check(b.apply_depth_snapshot(snap.as_bytes(), 2), &snap, &b);
            // a diff that would apply (bracketing, then chained) and an old one alike
            for (first, last, prev) in [(95, 105, 94), (90, 99, 89), (101, 105, 100)] {
                let upd = depth_update(first, last, prev, &bids, &asks);
                check(b.apply_depth_update(upd.as_bytes(), 2), &upd, &b);
            }
            let wrapped = format!(
                r#"{{"stream":"s","data":{}}}"#,
                depth_update(95, 105, 94, &bids, &asks)
            );
            check(b.apply_depth_update(wrapped.as_bytes(), 2), &wrapped, &b);
            let e = b.apply_snapshot(
                bids.iter()
                    .map(|&(p, s)| (Fixed::from_raw(p), Fixed::from_raw(s))),
                asks.iter()
                    .map(|&(p, s)| (Fixed::from_raw(p), Fixed::from_raw(s))),
                2,
            );
            assert!(
                matches!(e, Err(CoreError::InvalidArgument(ref m)) if m.contains("listed twice")),
                "{e:?}"
            );
            let col = |v: &[(i64, i64)], k: usize| {
                v.iter()
                    .map(|x| if k == 0 { x.0 } else { x.1 })
                    .collect::<Vec<_>>()
            };
            assert!(b
                .apply_snapshot_raw(
                    &col(&bids, 0),
                    &col(&bids, 1),
                    &col(&asks, 0),
                    &col(&asks, 1),
                    2
                )
                .is_err());
            assert_eq!(state(&b), before);
            // the same diff without the repeat applies
            let upd = depth_update(95, 105, 94, &dup[1..], &[]);
            assert_eq!(
                b.apply_depth_update(upd.as_bytes(), 3).unwrap(),
                UpdateStatus::Ok
            );
        }
    }
    // one price on both sides is a crossed book, not a duplicate
    let mut b = OrderBook::new();
    let m = hl_msg(&[(p, 1)], &[(p, 1)], 1, false);
    assert_eq!(
        b.apply_hyperliquid(m.as_bytes(), 1).unwrap(),
        UpdateStatus::Crossed
    );
}

fn seeds() -> [String; 3] {
    [
        HL.to_string(),
        depth_snapshot(
            100,
            &[(4 * ONE_RAW, 431 * ONE_RAW), (3 * ONE_RAW, 1)],
            &[(5 * ONE_RAW, 12 * ONE_RAW)],
        ),
        depth_update(
            95,
            105,
            94,
            &[(4 * ONE_RAW, 0), (39 * ONE_RAW / 10, 5 * ONE_RAW)],
            &[(5 * ONE_RAW, 1)],
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Mutated venue messages: whatever the independent JSON validator refuses, every parser
    /// refuses (the book and its sync state unchanged); and the Hyperliquid fast path gives
    /// exactly what the general path gives.
    #[test]
    fn parsers_refuse_what_json_refuses(seed in 0usize..3, ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4)) {
        let m = super::json::tests::mutate(seeds()[seed].as_bytes(), &ops);
        let json_ok = super::json::tests::reference::valid(&m);
        let mut b = OrderBook::new();
        b.apply_depth_snapshot(seeds()[1].as_bytes(), 1).unwrap();
        let before = state(&b);
        let mut outcomes = Vec::new();
        for kind in 0..3 {
            let mut c = b.clone();
            let r = match kind {
                0 => c.apply_hyperliquid(&m, 2),
                1 => c.apply_depth_snapshot(&m, 2),
                _ => c.apply_depth_update(&m, 2),
            };
            if !json_ok {
                prop_assert!(matches!(r, Err(CoreError::Parse { .. })), "kind {} took invalid JSON {:?}: {:?}", kind, String::from_utf8_lossy(&m), r);
            }
            if r.is_err() {
                prop_assert_eq!(state(&c), before.clone());
            }
            outcomes.push((r, state(&c)));
        }
        let mut general = b.clone();
        let r = super::json::tests::general_only(|| general.apply_hyperliquid(&m, 2));
        prop_assert_eq!(r.is_ok(), outcomes[0].0.is_ok(), "{:?}", String::from_utf8_lossy(&m));
        prop_assert_eq!(state(&general), outcomes[0].1.clone());
    }

    /// Valid Hyperliquid messages of any levels: the fast path and the general path agree.
    #[test]
    fn fast_and_general_paths_agree(bids in unique_levels(), asks in unique_levels(), n in prop::collection::vec(0u64..1_000, 24)) {
        let mut msg = hl_msg(&bids, &asks, 3, true);
        for (k, n) in n.iter().enumerate() {
            msg = msg.replacen("\"n\":1}", &format!("\"n\":{}{}}}", if k % 7 == 3 { "0" } else { "" }, n), 1);
        }
        let (mut a, mut g) = (OrderBook::new(), OrderBook::new());
        let ra = a.apply_hyperliquid(msg.as_bytes(), 1);
        let rg = super::json::tests::general_only(|| g.apply_hyperliquid(msg.as_bytes(), 1));
        prop_assert_eq!(ra.is_ok(), rg.is_ok(), "{}", msg);
        prop_assert_eq!(ra.is_ok(), super::json::tests::reference::valid(msg.as_bytes()), "{}", msg);
        prop_assert_eq!(state(&a), state(&g));
    }
}

#[test]
fn touch_stamp_only_for_a_usable_book_and_moves_with_the_touch() {
    let mut b = OrderBook::new();
    assert_eq!(b.touch_stamp(), None); // never updated
    b.apply_snapshot([lv("100", "1")], [], 5).unwrap();
    assert_eq!(b.touch_stamp(), None); // an empty side
    b.apply_snapshot([lv("100", "1")], [lv("101", "2")], 5)
        .unwrap();
    let (ts, bid, ask) = b.touch_stamp().unwrap();
    assert_eq!(
        (ts, bid.price, bid.size, ask.price, ask.size),
        (5, f("100"), f("1"), f("101"), f("2"))
    );
    let before = b.touch_stamp();
    b.apply_deltas([(Side::Ask, f("103"), f("1"))], 5).unwrap(); // below the touch
    assert_eq!(b.touch_stamp(), before);
    b.apply_deltas([(Side::Bid, f("100"), f("3"))], 5).unwrap(); // the touch's size, same time
    assert_ne!(b.touch_stamp(), before);
    b.apply_deltas([(Side::Bid, f("102"), f("1"))], 6).unwrap(); // crossed
    assert!(b.is_crossed());
    assert_eq!(b.touch_stamp(), None);
}
