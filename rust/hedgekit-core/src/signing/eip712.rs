//! Keccak-256 and EIP-712 typed-data hashes of flat structs (no nested struct types).
//!
//! Enough for every struct the venues ask us to sign: Hyperliquid's phantom
//! `Agent(string source,bytes32 connectionId)`, its user-signed `HyperliquidTransaction:<Name>`
//! actions and Aster V3's `Message(string msg)`. Field types: `string`, `bytes32`, `address`,
//! `bool`, `uint64`, `uint256`. The domain is always
//! `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`.

use std::borrow::Cow;

use sha3::{Digest, Keccak256};

use crate::book::json::Scanner;
use crate::error::{CoreError, CoreResult};

/// A 20-byte Ethereum address.
pub type Address = [u8; 20];

/// Keccak-256 (Ethereum's, not SHA3-256) of `data`.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// Keccak-256 of the concatenation of `parts`, without building it.
pub fn keccak256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

const DOMAIN_TYPE: &[u8] =
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";

/// An EIP-712 domain with the four usual fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Domain<'a> {
    /// `name`.
    pub name: &'a str,
    /// `version`.
    pub version: &'a str,
    /// `chainId` (a `uint256`; every chain id in use fits 64 bits).
    pub chain_id: u64,
    /// `verifyingContract`.
    pub verifying_contract: Address,
}

impl Domain<'_> {
    /// The domain separator: `hashStruct(EIP712Domain)`.
    pub fn separator(&self) -> [u8; 32] {
        keccak256_parts(&[
            &keccak256(DOMAIN_TYPE),
            &keccak256(self.name.as_bytes()),
            &keccak256(self.version.as_bytes()),
            &uint_word(self.chain_id),
            &address_word(&self.verifying_contract),
        ])
    }
}

/// The digest that is signed: `keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(message))`.
pub fn signing_hash(domain_separator: &[u8; 32], struct_hash: &[u8; 32]) -> [u8; 32] {
    keccak256_parts(&[b"\x19\x01", domain_separator, struct_hash])
}

/// A 32-byte word holding `v` as a big-endian `uint`.
pub fn uint_word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// A 32-byte word holding an address (left-padded with zeros).
pub fn address_word(a: &Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a);
    w
}

/// The field types a flat struct may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `string`: encoded as the Keccak-256 of its UTF-8 bytes.
    String,
    /// `bytes32`: the 32 bytes as they are.
    Bytes32,
    /// `address`: 20 bytes, left-padded.
    Address,
    /// `bool`: 0 or 1.
    Bool,
    /// `uint64`.
    Uint64,
    /// `uint256`.
    Uint256,
}

impl FieldType {
    /// Reads a Solidity type name.
    ///
    /// # Errors
    /// [`CoreError::InvalidArgument`] for any other type.
    pub fn parse(name: &str) -> CoreResult<Self> {
        Ok(match name {
            "string" => Self::String,
            "bytes32" => Self::Bytes32,
            "address" => Self::Address,
            "bool" => Self::Bool,
            "uint64" => Self::Uint64,
            "uint256" => Self::Uint256,
            _ => {
                return Err(CoreError::InvalidArgument(format!(
                    "unsupported EIP-712 field type {name:?} (supported: string, bytes32, \
                     address, bool, uint64, uint256)"
                )))
            }
        })
    }

    /// The Solidity name, as it appears in the encoded type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Bytes32 => "bytes32",
            Self::Address => "address",
            Self::Bool => "bool",
            Self::Uint64 => "uint64",
            Self::Uint256 => "uint256",
        }
    }
}

/// A flat struct type: its name and its fields in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructType<'a> {
    name: &'a str,
    fields: Vec<(&'a str, FieldType)>,
}

/// A type or field name must not be able to change the encoded type string.
fn check_ident(what: &str, s: &str) -> CoreResult<()> {
    if s.is_empty()
        || s.chars()
            .any(|c| matches!(c, '(' | ')' | ',') || c.is_whitespace())
    {
        return Err(CoreError::InvalidArgument(format!(
            "invalid EIP-712 {what} {s:?}: empty, or holds a space, comma or parenthesis"
        )));
    }
    Ok(())
}

impl<'a> StructType<'a> {
    /// A struct type from its name and `(field name, Solidity type)` pairs.
    ///
    /// # Errors
    /// [`CoreError::InvalidArgument`] for an unsupported type, a name that would change the
    /// encoded type (empty, or with a space, comma or parenthesis) or a field named twice.
    pub fn new(name: &'a str, fields: &[(&'a str, &str)]) -> CoreResult<Self> {
        check_ident("type name", name)?;
        let mut out = Vec::with_capacity(fields.len());
        for (i, &(field, ty)) in fields.iter().enumerate() {
            check_ident("field name", field)?;
            if fields[..i].iter().any(|(f, _)| *f == field) {
                return Err(CoreError::InvalidArgument(format!(
                    "EIP-712 field {field:?} is listed twice"
                )));
            }
            out.push((field, FieldType::parse(ty)?));
        }
        Ok(StructType { name, fields: out })
    }

    /// `encodeType`: `Name(type1 name1,type2 name2,...)`.
    pub fn encode_type(&self) -> String {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(n, t)| format!("{} {n}", t.as_str()))
            .collect();
        format!("{}({})", self.name, fields.join(","))
    }

    /// `hashStruct` of the message held by the JSON object `json`: each field is read from the
    /// member of the same name (other members are ignored, as eth-account ignores them).
    ///
    /// # Errors
    /// [`CoreError::Parse`] when `json` is not a strict JSON object without duplicate keys;
    /// [`CoreError::InvalidArgument`] when a field is missing or its value does not fit its type.
    pub fn hash_json(&self, json: &[u8]) -> CoreResult<[u8; 32]> {
        let members = object_members(json)?;
        let mut h = Keccak256::new();
        h.update(keccak256(self.encode_type().as_bytes()));
        for &(field, ty) in &self.fields {
            let Some(&(_, at)) = members.iter().find(|(k, _)| k.as_ref() == field.as_bytes())
            else {
                return Err(CoreError::InvalidArgument(format!(
                    "the message has no field {field:?} (required by {})",
                    self.name
                )));
            };
            h.update(encode_field(json, at, field, ty)?);
        }
        Ok(h.finalize().into())
    }
}

/// The members of a JSON object: each key (decoded) with the byte position of its value.
pub(crate) fn object_members(json: &[u8]) -> CoreResult<Vec<(Cow<'_, [u8]>, usize)>> {
    let mut s = Scanner::new(json);
    s.object()?;
    let mut members: Vec<(Cow<'_, [u8]>, usize)> = Vec::new();
    let mut first = true;
    while let Some(key) = s.next_key(&mut first)? {
        let at = s.pos;
        if members.iter().any(|(k, _)| *k == key) {
            return Err(CoreError::Parse {
                position: at,
                message: "duplicate key in object".to_string(),
            });
        }
        s.skip_value()?;
        members.push((key, at));
    }
    s.end()?;
    Ok(members)
}

/// Encodes the JSON value at byte `at` of `json` as the 32-byte word of a field of type `ty`.
fn encode_field(json: &[u8], at: usize, field: &str, ty: FieldType) -> CoreResult<[u8; 32]> {
    let mut s = Scanner::new(json);
    s.pos = at;
    let bad = |want: &str| {
        CoreError::InvalidArgument(format!(
            "field {field:?} ({}): expected {want}",
            ty.as_str()
        ))
    };
    match ty {
        FieldType::String => {
            let text = s.string().map_err(|_| bad("a string"))?;
            Ok(keccak256(&text))
        }
        FieldType::Bool => match s.peek() {
            Some(b't') => Ok(uint_word(1)),
            Some(b'f') => Ok(uint_word(0)),
            _ => Err(bad("true or false")),
        },
        FieldType::Address => {
            let text = s.string().map_err(|_| bad("a hex string"))?;
            let text = std::str::from_utf8(&text).map_err(|_| bad("a hex string"))?;
            Ok(address_word(&parse_address(text).map_err(|e| {
                CoreError::InvalidArgument(format!("field {field:?}: {e}"))
            })?))
        }
        FieldType::Bytes32 => {
            let text = s.string().map_err(|_| bad("a hex string"))?;
            let text = std::str::from_utf8(&text).map_err(|_| bad("a hex string"))?;
            let mut w = [0u8; 32];
            decode_hex_exact(text, &mut w).map_err(|()| bad("0x and 64 hex digits"))?;
            Ok(w)
        }
        FieldType::Uint64 | FieldType::Uint256 => {
            if !matches!(s.peek(), Some(b'0'..=b'9')) {
                return Err(bad("a non-negative integer"));
            }
            let tok = s.number().map_err(|_| bad("a non-negative integer"))?;
            if tok.iter().any(|c| !c.is_ascii_digit()) {
                return Err(bad("a non-negative integer"));
            }
            let w = decimal_word(tok).ok_or_else(|| bad("an integer below 2**256"))?;
            if ty == FieldType::Uint64 && w[..24].iter().any(|&b| b != 0) {
                return Err(bad("an integer below 2**64"));
            }
            Ok(w)
        }
    }
}

/// A decimal digit string as a big-endian 256-bit word; `None` past 2**256 − 1.
fn decimal_word(digits: &[u8]) -> Option<[u8; 32]> {
    let mut w = [0u8; 32];
    for &d in digits {
        let mut carry = u32::from(d - b'0');
        for byte in w.iter_mut().rev() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        if carry != 0 {
            return None;
        }
    }
    Some(w)
}

/// `s` without a leading `0x`/`0X`.
pub(crate) fn strip_0x(s: &str) -> &str {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
}

/// Decodes exactly `out.len()` bytes of hex (either case, optional `0x`).
pub(crate) fn decode_hex_exact(s: &str, out: &mut [u8]) -> Result<(), ()> {
    let h = strip_0x(s).as_bytes();
    if h.len() != out.len() * 2 {
        return Err(());
    }
    for (o, pair) in out.iter_mut().zip(h.chunks_exact(2)) {
        let hi = char::from(pair[0]).to_digit(16).ok_or(())?;
        let lo = char::from(pair[1]).to_digit(16).ok_or(())?;
        *o = (hi * 16 + lo) as u8;
    }
    Ok(())
}

/// Reads an address: 40 hex digits of either case, `0x` optional (the checksum case is not
/// checked, as the venues do not check it).
///
/// # Errors
/// [`CoreError::InvalidArgument`] for anything else.
pub fn parse_address(s: &str) -> CoreResult<Address> {
    let mut a = [0u8; 20];
    decode_hex_exact(s, &mut a).map_err(|()| {
        let shown: String = s.chars().take(50).collect();
        CoreError::InvalidArgument(format!(
            "invalid address {shown:?}: expected 0x and 40 hex digits"
        ))
    })?;
    Ok(a)
}

/// `0x` and the lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_of_empty_input_is_the_known_constant() {
        assert_eq!(
            to_hex(&keccak256(b"")),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    /// The EIP-712 reference example (`Mail` without its nested `Person`s is not expressible
    /// here, so the domain separator of the EIP's example is checked instead).
    #[test]
    fn domain_separator_of_the_eip_example() {
        let mut vc = [0u8; 20];
        decode_hex_exact("0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC", &mut vc).unwrap();
        let d = Domain {
            name: "Ether Mail",
            version: "1",
            chain_id: 1,
            verifying_contract: vc,
        };
        assert_eq!(
            to_hex(&d.separator()),
            "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f"
        );
    }

    #[test]
    fn struct_fields_are_read_by_name_and_typed() {
        let t = StructType::new(
            "HyperliquidTransaction:UsdSend",
            &[
                ("hyperliquidChain", "string"),
                ("destination", "string"),
                ("amount", "string"),
                ("time", "uint64"),
            ],
        )
        .unwrap();
        assert_eq!(
            t.encode_type(),
            "HyperliquidTransaction:UsdSend(string hyperliquidChain,string destination,string amount,uint64 time)"
        );
        let a = br#"{"type":"usdSend","hyperliquidChain":"Mainnet","destination":"0x5e9ee1089755c3435139848e47e6635505d5a13a","amount":"1","time":1687816341423}"#;
        let b = br#"{"time":1687816341423,"amount":"1","destination":"0x5e9ee1089755c3435139848e47e6635505d5a13a","hyperliquidChain":"Mainnet"}"#;
        assert_eq!(t.hash_json(a).unwrap(), t.hash_json(b).unwrap());
        for (bad, want) in [
            (&br#"{"hyperliquidChain":"Mainnet"}"#[..], "no field"),
            (br#"{"hyperliquidChain":1,"destination":"","amount":"","time":1}"#, "expected a string"),
            (br#"{"hyperliquidChain":"","destination":"","amount":"","time":-1}"#, "non-negative"),
            (br#"{"hyperliquidChain":"","destination":"","amount":"","time":1.5}"#, "non-negative"),
            (br#"{"hyperliquidChain":"","destination":"","amount":"","time":18446744073709551616}"#, "2**64"),
        ] {
            let e = t.hash_json(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        assert!(matches!(
            t.hash_json(br#"{"time":1,"time":2}"#),
            Err(CoreError::Parse { .. })
        ));
        assert!(StructType::new("X", &[("a", "uint8")]).is_err());
        assert!(StructType::new("X(", &[("a", "bool")]).is_err());
        assert!(StructType::new("X", &[("a b", "bool")]).is_err());
        assert!(StructType::new("X", &[("a", "bool"), ("a", "bool")]).is_err());
    }

    #[test]
    fn uint256_words() {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(decimal_word(max.as_bytes()), Some([0xff; 32]));
        assert_eq!(
            decimal_word(
                b"115792089237316195423570985008687907853269984665640564039457584007913129639936"
            ),
            None
        );
        assert_eq!(
            decimal_word(b"1677777606040").unwrap(),
            uint_word(1_677_777_606_040)
        );
    }

    #[test]
    fn addresses() {
        let a = parse_address("0x5E9EE1089755c3435139848e47e6635505d5a13a").unwrap();
        assert_eq!(to_hex(&a), "0x5e9ee1089755c3435139848e47e6635505d5a13a");
        assert_eq!(
            parse_address("5e9ee1089755c3435139848e47e6635505d5a13a").unwrap(),
            a
        );
        for bad in ["0x5e9e", "0xzz9ee1089755c3435139848e47e6635505d5a13a", ""] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }
}
