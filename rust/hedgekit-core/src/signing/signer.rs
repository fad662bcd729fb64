//! secp256k1 signing as Ethereum does it: RFC 6979 deterministic nonces, low `s`, `v` = 27 | 28,
//! and recovery of the signer's address from a signature.
//!
//! The private key lives only inside [`EthSigner`] (k256's `SigningKey`, zeroized on drop); the
//! signer's `Debug` shows its address, and no error message ever contains the key.

use std::fmt;

use k256::ecdsa::{RecoveryId, Signature as K256Signature, SigningKey, VerifyingKey};

use super::eip712::{keccak256, to_hex, Address};
use crate::error::{CoreError, CoreResult};

/// A recoverable signature, as the venues take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature {
    /// `r`, big-endian.
    pub r: [u8; 32],
    /// `s`, big-endian (≤ n/2 for the signatures we make).
    pub s: [u8; 32],
    /// 27 or 28.
    pub v: u8,
}

impl Signature {
    /// Reads `r` and `s` as integers in hex (the `0x` optional, leading zeros optional: the
    /// Hyperliquid SDK does not zero-pad them, ccxt does) and `v` as 27 | 28 (0 | 1 accepted).
    ///
    /// # Errors
    /// [`CoreError::InvalidArgument`] for bad hex, a value over 256 bits or a bad `v`.
    pub fn parse(r: &str, s: &str, v: u64) -> CoreResult<Self> {
        let v = match v {
            27 | 28 => v as u8,
            0 | 1 => v as u8 + 27,
            _ => {
                return Err(CoreError::InvalidArgument(format!(
                    "signature v must be 27 or 28 (or 0 or 1), got {v}"
                )))
            }
        };
        Ok(Signature {
            r: parse_word("r", r)?,
            s: parse_word("s", s)?,
            v,
        })
    }

    /// `r` as `0x` and 64 lowercase hex digits.
    pub fn r_hex(&self) -> String {
        to_hex(&self.r)
    }

    /// `s` as `0x` and 64 lowercase hex digits.
    pub fn s_hex(&self) -> String {
        to_hex(&self.s)
    }
}

/// A hex integer of at most 256 bits as a big-endian word.
fn parse_word(what: &str, text: &str) -> CoreResult<[u8; 32]> {
    let bad = || {
        let shown: String = text.chars().take(80).collect();
        CoreError::InvalidArgument(format!(
            "signature {what} {shown:?} is not a hex integer of at most 64 digits"
        ))
    };
    let digits = super::eip712::strip_0x(text).as_bytes();
    let significant = digits
        .iter()
        .position(|&c| c != b'0')
        .map_or(&digits[digits.len()..], |i| &digits[i..]);
    if digits.is_empty() || significant.len() > 64 {
        return Err(bad());
    }
    let mut w = [0u8; 32];
    for (i, &c) in significant.iter().rev().enumerate() {
        let d = char::from(c).to_digit(16).ok_or_else(bad)? as u8;
        w[31 - i / 2] |= if i % 2 == 0 { d } else { d << 4 };
    }
    Ok(w)
}

/// The Ethereum address of a public key: the last 20 bytes of Keccak-256 of its uncompressed
/// coordinates.
fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_sec1_point(false);
    let hash = keccak256(&point.as_bytes()[1..]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&hash[12..]);
    a
}

/// Recovers the address that signed the 32-byte digest `hash`.
///
/// # Errors
/// [`CoreError::InvalidArgument`] when `r` or `s` is zero or not below the curve order, or no
/// public key matches the signature.
pub fn recover(hash: &[u8; 32], sig: &Signature) -> CoreResult<Address> {
    let bad =
        |why: &str| CoreError::InvalidArgument(format!("signature cannot be recovered: {why}"));
    let k_sig = K256Signature::from_scalars(sig.r, sig.s)
        .map_err(|_| bad("r or s is zero or not below the curve order"))?;
    let id = RecoveryId::new(sig.v == 28, false);
    let key = VerifyingKey::recover_from_prehash(hash, &k_sig, id)
        .map_err(|_| bad("no public key matches it"))?;
    Ok(address_of(&key))
}

/// An Ethereum-style secp256k1 signer.
///
/// Holds the private key (zeroized on drop) and its address. It is `Send + Sync` and signing
/// takes `&self`, so one signer serves many threads.
pub struct EthSigner {
    key: SigningKey,
    address: Address,
}

impl EthSigner {
    /// A signer from a 32-byte private key.
    ///
    /// # Errors
    /// [`CoreError::InvalidArgument`] when the key is not 32 bytes or not a valid secp256k1
    /// scalar (zero, or not below the curve order). The message never contains the key.
    pub fn new(private_key: &[u8]) -> CoreResult<Self> {
        if private_key.len() != 32 {
            return Err(CoreError::InvalidArgument(format!(
                "a private key is 32 bytes, got {}",
                private_key.len()
            )));
        }
        let key = SigningKey::from_slice(private_key).map_err(|_| {
            CoreError::InvalidArgument(
                "invalid private key: zero or not below the secp256k1 curve order".to_string(),
            )
        })?;
        let address = address_of(key.verifying_key());
        Ok(EthSigner { key, address })
    }

    /// The signer's address.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The address as `0x` and 40 lowercase hex digits.
    pub fn address_hex(&self) -> String {
        to_hex(&self.address)
    }

    /// Signs a 32-byte digest (RFC 6979 nonce, low `s`, `v` = 27 + the recovery id's parity).
    pub fn sign_hash(&self, hash: &[u8; 32]) -> Signature {
        let (sig, id): (K256Signature, RecoveryId) = self.key.sign_prehash_recoverable(hash);
        debug_assert!(
            !id.is_x_reduced(),
            "x-reduced recovery ids are vanishingly rare"
        );
        let (r, s) = sig.split_bytes();
        Signature {
            r: r.into(),
            s: s.into(),
            v: 27 + u8::from(id.is_y_odd()),
        }
    }
}

impl fmt::Debug for EthSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EthSigner(address={})", self.address_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SDK_KEY: &str = "0123456789012345678901234567890123456789012345678901234567890123";

    pub(crate) fn key(hex: &str) -> Vec<u8> {
        let mut k = vec![0u8; hex.len() / 2];
        super::super::eip712::decode_hex_exact(hex, &mut k).unwrap();
        k
    }

    #[test]
    fn address_of_the_sdk_test_key() {
        let s = EthSigner::new(&key(SDK_KEY)).unwrap();
        // eth_account: Account.from_key("0x0123…0123").address, lowercased.
        assert_eq!(
            s.address_hex(),
            "0x14791697260e4c9a71f18484c9f997b308e59325"
        );
        let shown = format!("{s:?}");
        assert_eq!(
            shown,
            "EthSigner(address=0x14791697260e4c9a71f18484c9f997b308e59325)"
        );
        assert!(!shown.contains(SDK_KEY));
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        for k in [
            vec![1u8; 31],
            vec![1u8; 33],
            vec![0u8; 32],
            vec![0xffu8; 32],
        ] {
            let e = EthSigner::new(&k).unwrap_err().to_string();
            assert!(!e.contains("ffff") && !e.contains("0101"), "{e}");
        }
    }

    #[test]
    fn signature_parsing() {
        let sig = Signature::parse("0x1", "00ff", 0).unwrap();
        assert_eq!(sig.r[31], 1);
        assert_eq!(sig.s[31], 0xff);
        assert_eq!(sig.v, 27);
        let long = format!("0x{}", "0".repeat(10) + &"f".repeat(64));
        assert_eq!(Signature::parse(&long, "1", 28).unwrap().r, [0xff; 32]);
        for (r, v) in [
            ("0x", 27),
            ("xyz", 27),
            (&"f".repeat(65)[..], 27),
            ("1", 29),
        ] {
            assert!(Signature::parse(r, "1", v).is_err(), "{r} {v}");
        }
        assert_eq!(
            Signature::parse("0x0", "1", 27).unwrap().r_hex(),
            format!("0x{}", "0".repeat(64))
        );
        let zero = Signature::parse("0", "1", 27).unwrap();
        assert!(recover(&[7; 32], &zero).is_err());
    }

    proptest! {
        #[test]
        fn sign_then_recover_gives_the_address(k in any::<[u8; 32]>(), h in any::<[u8; 32]>()) {
            let Ok(signer) = EthSigner::new(&k) else { return Ok(()) };
            let sig = signer.sign_hash(&h);
            prop_assert!(sig.v == 27 || sig.v == 28);
            // low s: the top bit of s is clear (n/2 < 2**255)
            prop_assert!(sig.s[0] < 0x80);
            prop_assert_eq!(sig, signer.sign_hash(&h), "deterministic");
            prop_assert_eq!(&recover(&h, &sig).unwrap(), signer.address());
            // The text form round-trips.
            let again = Signature::parse(&sig.r_hex(), &sig.s_hex(), u64::from(sig.v)).unwrap();
            prop_assert_eq!(again, sig);
            // Another digest recovers another address.
            let mut other = h;
            other[0] ^= 1;
            prop_assert_ne!(&recover(&other, &sig).unwrap(), signer.address());
        }
    }
}
