//! Hyperliquid's two signing schemes (venues.md §1.11), byte for byte as its Python SDK does them.
//!
//! - **L1 actions** (order, cancel, modify, …): `connectionId = keccak(msgpack(action) ‖ nonce
//!   u64 BE ‖ 00 | 01‖vault ‖ [00‖expiresAfter u64 BE])`, signed as the EIP-712 phantom agent
//!   `Agent(string source,bytes32 connectionId)` (source `"a"` on mainnet, `"b"` on testnet) in
//!   the domain `Exchange/1/1337/0x0`.
//! - **User-signed actions** (usdSend, withdraw3, approveAgent, …): the action itself is the
//!   EIP-712 message of type `HyperliquidTransaction:<Name>` with the caller's field list, in the
//!   domain `HyperliquidSignTransaction/1/<signatureChainId>/0x0`.
//!
//! Plus the generic one-string struct `Message(string msg)` that Aster V3 signs.

use std::sync::LazyLock;

use super::eip712::{keccak256, keccak256_parts, signing_hash, Address, Domain, StructType};
use super::msgpack::encode_json_into;
use super::signer::{recover, EthSigner, Signature};
use crate::book::json::Scanner;
use crate::error::{CoreError, CoreResult};

const ZERO_ADDRESS: Address = [0; 20];

static L1_DOMAIN: LazyLock<[u8; 32]> = LazyLock::new(|| {
    Domain {
        name: "Exchange",
        version: "1",
        chain_id: 1337,
        verifying_contract: ZERO_ADDRESS,
    }
    .separator()
});

static AGENT_TYPE: LazyLock<[u8; 32]> =
    LazyLock::new(|| keccak256(b"Agent(string source,bytes32 connectionId)"));

/// The L1 action hash (the phantom agent's `connectionId`).
///
/// # Errors
/// [`CoreError::Parse`] when `action` is not strict JSON msgpack can hold (see
/// [`super::msgpack`]).
pub fn action_hash(
    action: &[u8],
    nonce: u64,
    vault: Option<&Address>,
    expires_after: Option<u64>,
) -> CoreResult<[u8; 32]> {
    let mut data = Vec::with_capacity(action.len() + 40);
    encode_json_into(action, &mut data)?;
    data.extend_from_slice(&nonce.to_be_bytes());
    match vault {
        None => data.push(0),
        Some(v) => {
            data.push(1);
            data.extend_from_slice(v);
        }
    }
    if let Some(t) = expires_after {
        data.push(0);
        data.extend_from_slice(&t.to_be_bytes());
    }
    Ok(keccak256(&data))
}

/// The digest signed for an L1 action whose hash is `connection_id`.
pub fn l1_signing_hash(connection_id: &[u8; 32], is_mainnet: bool) -> [u8; 32] {
    let source: &[u8] = if is_mainnet { b"a" } else { b"b" };
    let agent = keccak256_parts(&[&*AGENT_TYPE, &keccak256(source), connection_id]);
    signing_hash(&L1_DOMAIN, &agent)
}

/// The digest signed for a user-signed action: `action` is its JSON (with `signatureChainId`
/// and `hyperliquidChain`), `fields` its `(name, Solidity type)` list as in the SDK.
///
/// # Errors
/// [`CoreError::Parse`] for bad JSON; [`CoreError::InvalidArgument`] for a missing or
/// malformed `signatureChainId`, a missing field, a value that does not fit its type, or an
/// unsupported type.
pub fn user_action_signing_hash(
    action: &[u8],
    primary_type: &str,
    fields: &[(&str, &str)],
) -> CoreResult<[u8; 32]> {
    let ty = StructType::new(primary_type, fields)?;
    let message = ty.hash_json(action)?;
    let chain_id = signature_chain_id(action)?;
    let domain = Domain {
        name: "HyperliquidSignTransaction",
        version: "1",
        chain_id,
        verifying_contract: ZERO_ADDRESS,
    };
    Ok(signing_hash(&domain.separator(), &message))
}

/// `int(action["signatureChainId"], 16)`.
fn signature_chain_id(action: &[u8]) -> CoreResult<u64> {
    let members = super::eip712::object_members(action)?;
    let bad = || {
        CoreError::InvalidArgument(
            "the action needs \"signatureChainId\": a hex string such as \"0x66eee\"".to_string(),
        )
    };
    let &(_, at) = members
        .iter()
        .find(|(k, _)| k.as_ref() == b"signatureChainId")
        .ok_or_else(bad)?;
    let mut s = Scanner::new(action);
    s.pos = at;
    let text = s.string().map_err(|_| bad())?;
    let hex = std::str::from_utf8(&text).map_err(|_| bad())?;
    let digits = super::eip712::strip_0x(hex);
    if digits.is_empty() || digits.starts_with('+') {
        return Err(bad());
    }
    u64::from_str_radix(digits, 16).map_err(|_| bad())
}

/// The digest signed for `Message(string msg)` (Aster V3) in the domain
/// `domain_name/domain_version/chain_id/0x0`.
///
/// # Errors
/// [`CoreError::InvalidArgument`] when `msg` is not UTF-8 (the field is a `string`).
pub fn message_signing_hash(
    domain_name: &str,
    domain_version: &str,
    chain_id: u64,
    msg: &[u8],
) -> CoreResult<[u8; 32]> {
    static MESSAGE_TYPE: LazyLock<[u8; 32]> = LazyLock::new(|| keccak256(b"Message(string msg)"));
    if std::str::from_utf8(msg).is_err() {
        return Err(CoreError::InvalidArgument(
            "msg must be UTF-8 text (it is an EIP-712 string)".to_string(),
        ));
    }
    let domain = Domain {
        name: domain_name,
        version: domain_version,
        chain_id,
        verifying_contract: ZERO_ADDRESS,
    };
    let message = keccak256_parts(&[&*MESSAGE_TYPE, &keccak256(msg)]);
    Ok(signing_hash(&domain.separator(), &message))
}

impl EthSigner {
    /// Signs a Hyperliquid L1 action (its JSON bytes, keys in the order sent).
    ///
    /// # Errors
    /// As [`action_hash`].
    pub fn sign_hl_l1_action(
        &self,
        action: &[u8],
        nonce: u64,
        vault: Option<&Address>,
        expires_after: Option<u64>,
        is_mainnet: bool,
    ) -> CoreResult<Signature> {
        let hash = action_hash(action, nonce, vault, expires_after)?;
        Ok(self.sign_hash(&l1_signing_hash(&hash, is_mainnet)))
    }

    /// Signs a Hyperliquid user-signed action.
    ///
    /// # Errors
    /// As [`user_action_signing_hash`].
    pub fn sign_hl_user_action(
        &self,
        action: &[u8],
        primary_type: &str,
        fields: &[(&str, &str)],
    ) -> CoreResult<Signature> {
        Ok(self.sign_hash(&user_action_signing_hash(action, primary_type, fields)?))
    }

    /// Signs `Message(string msg)` in the given domain (Aster V3: `AsterSignTransaction`, `1`,
    /// 1666).
    ///
    /// # Errors
    /// As [`message_signing_hash`].
    pub fn sign_eip712_message(
        &self,
        domain_name: &str,
        domain_version: &str,
        chain_id: u64,
        msg: &[u8],
    ) -> CoreResult<Signature> {
        Ok(self.sign_hash(&message_signing_hash(
            domain_name,
            domain_version,
            chain_id,
            msg,
        )?))
    }
}

/// The address that signed an L1 action (as the SDK's `recover_agent_or_user_from_l1_action`).
///
/// # Errors
/// As [`action_hash`] and [`recover`].
pub fn recover_l1_action(
    action: &[u8],
    nonce: u64,
    vault: Option<&Address>,
    expires_after: Option<u64>,
    is_mainnet: bool,
    sig: &Signature,
) -> CoreResult<Address> {
    let hash = action_hash(action, nonce, vault, expires_after)?;
    recover(&l1_signing_hash(&hash, is_mainnet), sig)
}

/// The address that signed a user-signed action.
///
/// # Errors
/// As [`user_action_signing_hash`] and [`recover`].
pub fn recover_user_action(
    action: &[u8],
    primary_type: &str,
    fields: &[(&str, &str)],
    sig: &Signature,
) -> CoreResult<Address> {
    recover(
        &user_action_signing_hash(action, primary_type, fields)?,
        sig,
    )
}

/// The address that signed `Message(string msg)` in the given domain.
///
/// # Errors
/// As [`message_signing_hash`] and [`recover`].
pub fn recover_message(
    domain_name: &str,
    domain_version: &str,
    chain_id: u64,
    msg: &[u8],
    sig: &Signature,
) -> CoreResult<Address> {
    recover(
        &message_signing_hash(domain_name, domain_version, chain_id, msg)?,
        sig,
    )
}

#[cfg(test)]
mod tests {
    use super::super::eip712::to_hex;
    use super::*;
    use proptest::prelude::*;

    /// The key of the SDK's `tests/signing_test.py`.
    fn sdk_signer() -> EthSigner {
        let mut k = [0u8; 32];
        super::super::eip712::decode_hex_exact(
            "0x0123456789012345678901234567890123456789012345678901234567890123",
            &mut k,
        )
        .unwrap();
        EthSigner::new(&k).unwrap()
    }

    /// `order_wires_to_order_action` of the SDK test's orders, as `orjson.dumps` writes them.
    fn order(asset: u32, px: &str, sz: &str, tif: &str) -> String {
        format!(
            r#"{{"type":"order","orders":[{{"a":{asset},"b":true,"p":"{px}","s":"{sz}","r":false,"t":{{"limit":{{"tif":"{tif}"}}}}}}],"grouping":"na"}}"#
        )
    }

    #[test]
    fn sdk_vector_connection_id_of_the_eth_ioc_order() {
        let action = order(4, "1670.1", "0.0147", "Ioc");
        let h = action_hash(action.as_bytes(), 1_677_777_606_040, None, None).unwrap();
        assert_eq!(
            to_hex(&h),
            "0x0fcbeda5ae3c4950a548021552a4fea2226858c4453571bf3f24ba017eac2908"
        );
    }

    #[test]
    fn sdk_vectors_l1_signatures_mainnet_and_testnet() {
        let signer = sdk_signer();
        let action = order(1, "100", "100", "Gtc");
        let main = signer
            .sign_hl_l1_action(action.as_bytes(), 0, None, None, true)
            .unwrap();
        assert_eq!(
            main.r_hex(),
            "0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e"
        );
        assert_eq!(
            main.s_hex(),
            "0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e"
        );
        assert_eq!(main.v, 28);
        let test = signer
            .sign_hl_l1_action(action.as_bytes(), 0, None, None, false)
            .unwrap();
        assert_eq!(
            test.r_hex(),
            "0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54"
        );
        assert_eq!(
            test.s_hex(),
            "0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5"
        );
        assert_eq!(test.v, 27);
        for (sig, mainnet) in [(main, true), (test, false)] {
            let who = recover_l1_action(action.as_bytes(), 0, None, None, mainnet, &sig).unwrap();
            assert_eq!(&who, signer.address());
            let other =
                recover_l1_action(action.as_bytes(), 0, None, None, !mainnet, &sig).unwrap();
            assert_ne!(
                &other,
                signer.address(),
                "the source is part of what is signed"
            );
        }
    }

    #[test]
    fn vault_and_expiry_change_the_hash_as_the_sdk_lays_them_out() {
        let action = br#"{"type":"noop"}"#;
        let vault = [0x11u8; 20];
        let mut data = vec![0x81, 0xa4];
        data.extend_from_slice(b"type");
        data.push(0xa4);
        data.extend_from_slice(b"noop");
        data.extend_from_slice(&7u64.to_be_bytes());
        let mut with = data.clone();
        with.push(1);
        with.extend_from_slice(&vault);
        with.push(0);
        with.extend_from_slice(&9u64.to_be_bytes());
        assert_eq!(
            action_hash(action, 7, Some(&vault), Some(9)).unwrap(),
            keccak256(&with)
        );
        let mut plain = data;
        plain.push(0);
        assert_eq!(
            action_hash(action, 7, None, None).unwrap(),
            keccak256(&plain)
        );
    }

    #[test]
    fn user_action_needs_its_chain_id() {
        let f = [("hyperliquidChain", "string"), ("time", "uint64")];
        for bad in [
            &br#"{"hyperliquidChain":"Mainnet","time":1}"#[..],
            br#"{"signatureChainId":"zz","hyperliquidChain":"Mainnet","time":1}"#,
            br#"{"signatureChainId":421614,"hyperliquidChain":"Mainnet","time":1}"#,
        ] {
            let e = user_action_signing_hash(bad, "HyperliquidTransaction:X", &f).unwrap_err();
            assert!(e.to_string().contains("signatureChainId"), "{e}");
        }
        let ok = br#"{"signatureChainId":"0x66eee","hyperliquidChain":"Mainnet","time":1}"#;
        assert!(user_action_signing_hash(ok, "HyperliquidTransaction:X", &f).is_ok());
    }

    /// Aster V3's documented example (venue-adapters.md §2.1): the API wallet key published in
    /// Aster's docs and SDK tests, signing an order's url-encoded parameters.
    #[test]
    fn aster_message_vector() {
        let mut k = [0u8; 32];
        super::super::eip712::decode_hex_exact(
            "4fd0a42218f3eae43a6ce26d22544e986139a01e5b34a62db53757ffca81bae1",
            &mut k,
        )
        .unwrap();
        let signer = EthSigner::new(&k).unwrap();
        assert_eq!(
            signer.address_hex(),
            "0x21cf8ae13bb72632562c6fff438652ba1a151bb0"
        );
        let msg = "symbol=ASTERUSDT&type=LIMIT&side=BUY&timeInForce=GTC&quantity=20&price=0.5\
                   &nonce=1748310859508867&user=0x63DD5aCC6b1aa0f563956C0e534DD30B6dcF7C4e\
                   &signer=0x21cF8Ae13Bb72632562c6Fff438652Ba1a151bb0";
        let sig = signer
            .sign_eip712_message("AsterSignTransaction", "1", 1666, msg.as_bytes())
            .unwrap();
        assert_eq!(
            format!("{}{}{:02x}", &sig.r_hex()[2..], &sig.s_hex()[2..], sig.v),
            "0a56c5923ebf3524475c5f631940ec4c0e41dbd300ad28198d1915d8f3ca49ce\
             26fd1aeb8b0c3079133595da0de38322ae7e860e0c76d032c4a491d27c1430b01c"
        );
    }

    proptest! {
        #[test]
        fn every_scheme_recovers_its_signer(
            k in any::<[u8; 32]>(),
            nonce in any::<u64>(),
            vault in proptest::option::of(any::<[u8; 20]>()),
            expires in proptest::option::of(any::<u64>()),
            mainnet in any::<bool>(),
            px in "[1-9][0-9]{0,5}(\\.[0-9]{1,4})?",
            msg in "[ -~]{0,200}",
        ) {
            let Ok(signer) = EthSigner::new(&k) else { return Ok(()) };
            let action = order(3, &px, "0.5", "Alo");
            let sig = signer
                .sign_hl_l1_action(action.as_bytes(), nonce, vault.as_ref(), expires, mainnet)
                .unwrap();
            let who = recover_l1_action(action.as_bytes(), nonce, vault.as_ref(), expires, mainnet, &sig).unwrap();
            prop_assert_eq!(&who, signer.address());

            let user = format!(
                r#"{{"type":"usdSend","signatureChainId":"0x66eee","hyperliquidChain":"Testnet","destination":"0x{}","amount":"{px}","time":{nonce}}}"#,
                "ab".repeat(20)
            );
            let fields = [("hyperliquidChain", "string"), ("destination", "string"), ("amount", "string"), ("time", "uint64")];
            let sig = signer.sign_hl_user_action(user.as_bytes(), "HyperliquidTransaction:UsdSend", &fields).unwrap();
            let who = recover_user_action(user.as_bytes(), "HyperliquidTransaction:UsdSend", &fields, &sig).unwrap();
            prop_assert_eq!(&who, signer.address());

            let sig = signer.sign_eip712_message("AsterSignTransaction", "1", 1666, msg.as_bytes()).unwrap();
            let who = recover_message("AsterSignTransaction", "1", 1666, msg.as_bytes(), &sig).unwrap();
            prop_assert_eq!(&who, signer.address());
            let elsewhere = recover_message("AsterSignTransaction", "1", 714, msg.as_bytes(), &sig).unwrap();
            prop_assert_ne!(&elsewhere, signer.address());
        }
    }
}
