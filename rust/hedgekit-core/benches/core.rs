//! Rust-side benchmarks of the hot path, without Python: the floor under the Python figures.
//!
//! A plain harness (no extra dependency): each case runs in batches; the median ns per
//! operation over the batches is printed. Run with `cargo bench -p hedgekit-core`.

use std::hint::black_box;
use std::time::Instant;

use hedgekit_core::book::{OrderBook, Side as BookSide};
use hedgekit_core::instrument::{Instrument, Side};
use hedgekit_core::ledger::{Fill, FillLedger, TradeId};
use hedgekit_core::rounding::Aggression;
use hedgekit_core::signing::hyperliquid::{action_hash, recover_l1_action};
use hedgekit_core::signing::msgpack::msgpack_from_json;
use hedgekit_core::signing::{EthSigner, NonceAllocator};
use hedgekit_core::Fixed;

fn bench(name: &str, per_batch: u64, mut f: impl FnMut(u64)) {
    let batches = 31;
    let mut samples = Vec::with_capacity(batches);
    f(0); // warm up
    for b in 0..batches {
        let start = Instant::now();
        for i in 0..per_batch {
            f(b as u64 * per_batch + i);
        }
        samples.push(start.elapsed().as_nanos() as f64 / per_batch as f64);
    }
    samples.sort_by(f64::total_cmp);
    let per = if name.contains("per level") {
        1000.0
    } else {
        1.0
    };
    println!(
        "{name:<44} median {:>9.1} ns/op",
        samples[batches / 2] / per
    );
}

fn hl_message(levels: usize) -> Vec<u8> {
    let side = |base: f64, dir: f64| {
        (0..levels)
            .map(|i| {
                format!(
                    r#"{{"px":"{:.1}","sz":"{:.4}","n":{}}}"#,
                    base + dir * i as f64 * 0.1,
                    1.0 + i as f64 * 0.25,
                    i + 1
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        r#"{{"channel":"l2Book","data":{{"coin":"ETH","time":1760000000000,"levels":[[{}],[{}]]}}}}"#,
        side(3119.9, -1.0),
        side(3120.0, 1.0)
    )
    .into_bytes()
}

fn main() {
    let f = |s: &str| Fixed::parse(s).unwrap();
    let inst = Instrument::plain(f("0.01"), f("0.001"), f("0.001"), f("5"), None, true).unwrap();
    let hl = Instrument::hyperliquid(4, false, f("10"), false).unwrap();
    bench("round_price plain (passive buy)", 1_000_000, |i| {
        black_box(
            inst.round_price(
                Fixed::from_raw(3_119_953_700_000 + (i as i64 & 0xff)),
                Side::Buy,
                Aggression::Passive,
            )
            .unwrap(),
        );
    });
    bench("round_price hyperliquid (passive sell)", 1_000_000, |i| {
        black_box(
            hl.round_price(
                Fixed::from_raw(3_119_953_700_000 + (i as i64 & 0xff)),
                Side::Sell,
                Aggression::Passive,
            )
            .unwrap(),
        );
    });
    bench("Fixed::parse \"3119.95\"", 1_000_000, |_| {
        black_box(Fixed::parse(black_box("3119.95")).unwrap());
    });

    let mut book = OrderBook::new();
    let msg = hl_message(20);
    book.apply_hyperliquid(&msg, 1).unwrap();
    bench("book apply_delta (top level)", 1_000_000, |i| {
        let p = Fixed::from_raw(3_119_900_000_000 - (i as i64 % 5) * 100_000_000);
        black_box(
            book.apply_delta(
                BookSide::Bid,
                p,
                Fixed::from_raw(1_000_000_000 + (i as i64 & 1)),
                i,
            )
            .unwrap(),
        );
    });
    let n = 1000usize;
    let sides: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
    let prices: Vec<i64> = (0..n)
        .map(|i| {
            if i % 2 == 1 {
                3_119_900_000_000 - (i as i64 % 20) * 100_000_000
            } else {
                3_120_000_000_000 + (i as i64 % 20) * 100_000_000
            }
        })
        .collect();
    let sizes: Vec<i64> = (0..n).map(|i| 1_000_000_000 + i as i64).collect();
    bench("book apply_deltas_raw 1000 (per level)", 1_000, |i| {
        black_box(book.apply_deltas_raw(&sides, &prices, &sizes, i).unwrap());
    });
    bench("book bbo", 1_000_000, |_| {
        black_box(black_box(&book).bbo());
    });
    bench("book apply_hyperliquid 20+20 from bytes", 100_000, |i| {
        black_box(book.apply_hyperliquid(black_box(&msg), i).unwrap());
    });

    let mut ledger = FillLedger::new(10_000).unwrap();
    ledger
        .register_order("hl", "o1", Side::Buy, f("1000000"))
        .unwrap();
    for t in 0..10_000i128 {
        let fill = Fill {
            venue: "hl",
            trade_id: TradeId::Int(t),
            order_id: "o1",
            price: f("100"),
            size: f("0.001"),
            fee: Fixed::ZERO,
            is_maker: true,
            ts_ns: 0,
        };
        ledger.apply(&fill).unwrap();
    }
    bench("ledger seen (hit)", 1_000_000, |i| {
        black_box(ledger.seen("hl", TradeId::Int(i128::from((i % 10_000) as u32)), "o1"));
    });
    bench("ledger seen (miss)", 1_000_000, |i| {
        black_box(ledger.seen("hl", TradeId::Int(1_000_000 + i128::from(i as u32)), "o1"));
    });

    signing();
}

/// A Hyperliquid order action of `n` orders, as `orjson.dumps` writes it.
fn hl_order_action(n: usize) -> Vec<u8> {
    let orders: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"a":4,"b":true,"p":"{}.5","s":"0.0147","r":false,"t":{{"limit":{{"tif":"Alo"}}}},"c":"0x{:032x}"}}"#,
                3100 + i,
                i + 1
            )
        })
        .collect();
    format!(
        r#"{{"type":"order","orders":[{}],"grouping":"na"}}"#,
        orders.join(",")
    )
    .into_bytes()
}

/// Signing: the msgpack encoder (and, for the choice of JSON reader, `serde_json` with
/// `preserve_order` only parsing the same action into a tree), the action hash, a whole L1
/// signature, its recovery, and the nonce allocator.
fn signing() {
    let one = hl_order_action(1);
    let ten = hl_order_action(10);
    bench("msgpack_from_json order x1 (own scanner)", 200_000, |_| {
        black_box(msgpack_from_json(black_box(&one)).unwrap());
    });
    bench(
        "serde_json parse only, order x1 (preserve_order)",
        200_000,
        |_| {
            black_box(serde_json::from_slice::<serde_json::Value>(black_box(&one)).unwrap());
        },
    );
    bench("msgpack_from_json order x10 (own scanner)", 50_000, |_| {
        black_box(msgpack_from_json(black_box(&ten)).unwrap());
    });
    bench(
        "serde_json parse only, order x10 (preserve_order)",
        50_000,
        |_| {
            black_box(serde_json::from_slice::<serde_json::Value>(black_box(&ten)).unwrap());
        },
    );
    bench("hl action_hash order x1", 200_000, |i| {
        black_box(action_hash(black_box(&one), i, None, None).unwrap());
    });
    let signer = EthSigner::new(&[0x42; 32]).unwrap();
    bench("hl sign_l1_action order x1", 2_000, |i| {
        black_box(signer.sign_hl_l1_action(&one, i, None, None, true).unwrap());
    });
    let sig = signer.sign_hl_l1_action(&one, 7, None, None, true).unwrap();
    bench("hl recover_l1_action order x1", 2_000, |_| {
        black_box(recover_l1_action(&one, 7, None, None, true, black_box(&sig)).unwrap());
    });
    let nonces = NonceAllocator::new();
    bench("nonce next", 1_000_000, |i| {
        black_box(nonces.next(i / 4).unwrap());
    });
}
