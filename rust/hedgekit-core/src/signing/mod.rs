//! Signing for the venues, in pure Rust: Hyperliquid's L1 and user-signed actions, EIP-712 typed
//! data (Aster V3's `Message`), secp256k1 with Ethereum's conventions, and nonce allocation.
//!
//! - [`msgpack`]: JSON → msgpack, byte-identical to Python's `msgpack.packb(json.loads(x))`.
//! - [`eip712`]: Keccak-256, domain separators and flat struct hashes.
//! - [`signer`]: [`EthSigner`] (RFC 6979, low `s`, `v` = 27 | 28) and address recovery.
//! - [`hyperliquid`]: the action hash, the phantom agent and the user-signed digests.
//! - [`nonce`]: [`NonceAllocator`], strictly increasing per signer under concurrency.

pub mod eip712;
pub mod hyperliquid;
pub mod msgpack;
pub mod nonce;
pub mod signer;

pub use eip712::{keccak256, parse_address, to_hex, Address};
pub use nonce::NonceAllocator;
pub use signer::{recover, EthSigner, Signature};
