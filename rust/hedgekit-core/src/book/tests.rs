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
                                 diffs in prop::collection::vec((prop::collection::vec((price(), size()), 0..6), prop::collection::vec((price(), size()), 0..6)), 0..10)) {
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
