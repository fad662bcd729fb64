//! Nonces for one signer: strictly increasing millisecond timestamps, safe under concurrency.
//!
//! Hyperliquid keeps the 100 highest nonces per signer and refuses a repeat (venues.md §1.10),
//! so two orders signed in the same millisecond must not share a nonce. The allocator hands out
//! `max(last + 1, now_ms)` with one compare-and-swap: every caller, on any thread, gets a value
//! above every value handed out before it.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{CoreError, CoreResult};

/// A per-signer nonce allocator. Lock-free; share it by reference across threads.
#[derive(Debug, Default)]
pub struct NonceAllocator {
    last: AtomicU64,
}

impl NonceAllocator {
    /// An allocator that has handed out nothing yet.
    pub const fn new() -> Self {
        NonceAllocator {
            last: AtomicU64::new(0),
        }
    }

    /// The next nonce: `max(last + 1, now_ms)`, above every nonce handed out before.
    ///
    /// # Errors
    /// [`CoreError::InvalidArgument`] when the last nonce was `u64::MAX` (nothing is above it).
    pub fn next(&self, now_ms: u64) -> CoreResult<u64> {
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = last
                .checked_add(1)
                .ok_or_else(|| {
                    CoreError::InvalidArgument(
                        "nonce space exhausted (last nonce is 2**64-1)".into(),
                    )
                })?
                .max(now_ms);
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Ok(next),
                Err(seen) => last = seen,
            }
        }
    }

    /// The last nonce handed out (0 before the first).
    pub fn last(&self) -> u64 {
        self.last.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_clock_and_never_repeats() {
        let n = NonceAllocator::new();
        assert_eq!(n.next(1000).unwrap(), 1000);
        assert_eq!(n.next(1000).unwrap(), 1001);
        assert_eq!(
            n.next(999).unwrap(),
            1002,
            "a clock going back does not go back"
        );
        assert_eq!(n.next(5000).unwrap(), 5000);
        assert_eq!(n.last(), 5000);
        assert_eq!(n.next(u64::MAX).unwrap(), u64::MAX);
        assert!(n.next(0).is_err());
    }

    #[test]
    fn threads_hammering_one_allocator_get_unique_increasing_nonces() {
        const THREADS: usize = 8;
        const EACH: usize = 20_000;
        let alloc = NonceAllocator::new();
        let per_thread: Vec<Vec<u64>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let alloc = &alloc;
                    s.spawn(move || {
                        // A coarse clock that many calls share, as a millisecond clock is.
                        (0..EACH)
                            .map(|i| {
                                alloc
                                    .next(1_700_000_000_000 + (i / 1000 + t) as u64)
                                    .unwrap()
                            })
                            .collect::<Vec<u64>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for seq in &per_thread {
            assert!(
                seq.windows(2).all(|w| w[0] < w[1]),
                "increasing within a thread"
            );
        }
        let mut all: Vec<u64> = per_thread.concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), THREADS * EACH, "no nonce handed out twice");
        assert_eq!(alloc.last(), *all.last().unwrap());
    }
}
