//! hedgekit-core: the exact, allocation-free hot path of hedgekit, with no Python in it.
//!
//! - [`fixed`]: the exact decimal type every price and size is held in.
//! - [`instrument`]: a venue's order rules; [`rounding`]: grid rounding and placeability checks.
//! - [`book`]: the L2 order book, its venue message parsers and the depth walk.
//! - [`ledger`]: the fill ledger — deduplication and per-order accumulation.
//! - [`pricing`]: spread gate, offsets, maker prices, break-even and the adaptive ladder.
//! - [`signing`]: Hyperliquid and EIP-712 signing, secp256k1 keys and nonce allocation.

pub mod book;
pub mod error;
pub mod fixed;
pub mod instrument;
pub mod ledger;
pub mod pricing;
pub mod rounding;
pub mod signing;

#[cfg(test)]
mod testutil;

pub use error::{BookIntegrity, CoreError, CoreResult, OrderRejection};
pub use fixed::Fixed;
