//! One side of the book: a sorted `Vec` of levels with the best level at the end.
//!
//! Keeping the best level last means that inserting or removing near the top of the book — where
//! almost every update lands — shifts only the few elements above it, never the whole vector.

use super::{Level, Side};

/// One side's levels. Bids are stored by ascending price, asks by descending price, so
/// `levels.last()` is always the best level.
///
/// Invariant: prices strictly increase in ladder order (strictly monotone, no duplicates), every
/// price and size is positive.
#[derive(Debug, Clone)]
pub(crate) struct Ladder {
    pub(crate) levels: Vec<Level>,
    side: Side,
}

impl Ladder {
    pub(crate) fn new(side: Side) -> Self {
        Ladder {
            levels: Vec::new(),
            side,
        }
    }

    /// `Less` when `a` is further from the top than `b` (ladder order).
    #[inline]
    fn order(side: Side, a: i64, b: i64) -> std::cmp::Ordering {
        match side {
            Side::Bid => a.cmp(&b),
            Side::Ask => b.cmp(&a),
        }
    }

    /// Finds `price` in ladder order. The top is checked first: most updates land there.
    #[inline]
    fn search(&self, price: i64) -> Result<usize, usize> {
        let side = self.side;
        if let Some(top) = self.levels.last() {
            match Self::order(side, top.price.raw(), price) {
                std::cmp::Ordering::Equal => return Ok(self.levels.len() - 1),
                std::cmp::Ordering::Less => return Err(self.levels.len()),
                std::cmp::Ordering::Greater => {}
            }
        }
        self.levels
            .binary_search_by(|l| Self::order(side, l.price.raw(), price))
    }

    /// Sets the size at `level.price` (0 removes; removing an absent level is a no-op).
    /// The caller has validated `price > 0` and `size >= 0`.
    #[inline]
    pub(crate) fn set(&mut self, level: Level) {
        match self.search(level.price.raw()) {
            Ok(i) => {
                if level.size.raw() == 0 {
                    self.levels.remove(i);
                } else {
                    self.levels[i].size = level.size;
                }
            }
            Err(i) => {
                if level.size.raw() != 0 {
                    self.levels.insert(i, level);
                }
            }
        }
    }

    #[inline]
    pub(crate) fn best(&self) -> Option<Level> {
        self.levels.last().copied()
    }

    /// Levels from the best outward.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Level> {
        self.levels.iter().rev()
    }

    /// Puts `v` (validated levels with sizes ≥ 0, in any order) in ladder order.
    ///
    /// # Errors
    /// The price of a duplicated level (whatever the sizes).
    pub(crate) fn normalise(side: Side, v: &mut [Level]) -> Result<(), i64> {
        let strictly = |v: &[Level]| {
            v.windows(2)
                .all(|w| Self::order(side, w[0].price.raw(), w[1].price.raw()).is_lt())
        };
        if strictly(v) {
            return Ok(());
        }
        // Wire order is usually best first: one reverse and we are done.
        v.reverse();
        if strictly(v) {
            return Ok(());
        }
        v.sort_unstable_by(|a, b| Self::order(side, a.price.raw(), b.price.raw()));
        match v.windows(2).find(|w| w[0].price == w[1].price) {
            Some(w) => Err(w[0].price.raw()),
            None => Ok(()),
        }
    }

    /// Checks the invariant (debug builds only call this).
    pub(crate) fn check(&self) -> bool {
        self.levels
            .iter()
            .all(|l| l.price.raw() > 0 && l.size.raw() > 0)
            && self
                .levels
                .windows(2)
                .all(|w| Self::order(self.side, w[0].price.raw(), w[1].price.raw()).is_lt())
    }
}
