//! Shared test strategies: values at the edges of the `i64` range, where overflow lives.

use proptest::prelude::*;

use crate::fixed::POW10;

/// Any `i64`, weighted toward the edges: `i64::MIN`, `i64::MAX`, their neighbourhoods, zero,
/// small values and powers of ten with small offsets.
pub(crate) fn edge_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => any::<i64>(),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        2 => (0i64..1_000_000).prop_map(|d| i64::MIN + d),
        2 => (0i64..1_000_000).prop_map(|d| i64::MAX - d),
        1 => -1_000i64..1_000,
        2 => (0usize..19, -3i64..=3, any::<bool>()).prop_map(|(e, d, neg)| {
            let v = POW10[e].saturating_add(d);
            if neg { -v } else { v }
        }),
        1 => (1i64..=9_223, 0i64..1_000).prop_map(|(m, d)| m * 1_000_000_000_000_000 - d),
    ]
}

/// A positive `i64`, weighted toward the edges (1, `i64::MAX` and powers of ten).
pub(crate) fn edge_positive() -> impl Strategy<Value = i64> {
    edge_i64().prop_map(|v| if v > 0 { v } else { v.saturating_neg().max(1) })
}

/// A positive grid spacing from 10⁻⁹ (raw 1) up to the largest value: powers of ten, small
/// multiples of them, and arbitrary sizes.
pub(crate) fn edge_grid() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => (0usize..19).prop_map(|e| POW10[e]),
        2 => (0usize..19, 1i64..10).prop_map(|(e, m)| POW10[e].saturating_mul(m)),
        1 => edge_positive(),
    ]
}
