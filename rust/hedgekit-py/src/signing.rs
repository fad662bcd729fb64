//! `EthSigner`, `NonceAllocator` and the Hyperliquid / EIP-712 hash and recover functions: thin
//! wrappers over `hedgekit_core::signing`. Signing and recovery run with the GIL released.

use hedgekit_core::signing::hyperliquid as hl;
use hedgekit_core::signing::{self as core, parse_address, to_hex, Address, Signature};
use hedgekit_core::CoreError;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt};

use crate::errors::IntoPyResult;

/// Reads a Python `int` in `0 ..= 2**64-1`; `ValueError` (`InvalidArgumentError`) outside it.
fn u64_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<u64> {
    if !obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int, got {}",
            obj.get_type().name()?
        )));
    }
    obj.extract::<u64>().or_else(|_| {
        Err(CoreError::InvalidArgument(format!(
            "{name} must be an integer in 0..2**64-1, got {}",
            obj.str()?
        )))
        .py()
    })
}

fn opt_u64_arg(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<u64>> {
    obj.filter(|o| !o.is_none())
        .map(|o| u64_arg(o, name))
        .transpose()
}

/// The arguments every L1 call shares: `(nonce, vault, expires_after)`.
fn l1_args(
    nonce: &Bound<'_, PyAny>,
    vault_address: Option<&str>,
    expires_after: Option<&Bound<'_, PyAny>>,
) -> PyResult<(u64, Option<Address>, Option<u64>)> {
    Ok((
        u64_arg(nonce, "nonce")?,
        vault_address.map(parse_address).transpose().py()?,
        opt_u64_arg(expires_after, "expires_after")?,
    ))
}

fn sig_tuple(sig: &Signature) -> (String, String, u8) {
    (sig.r_hex(), sig.s_hex(), sig.v)
}

fn fields_ref(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect()
}

/// An Ethereum-style secp256k1 signer holding one private key.
///
/// Signatures are deterministic (RFC 6979) with a low ``s`` and ``v`` of 27 or 28, as
/// ``eth_account`` makes them; ``r`` and ``s`` come back as ``"0x"`` and 64 lowercase hex
/// digits. Signing runs with the GIL released, and one signer may be shared by threads.
/// The key is never shown: the repr holds the address only, no error message contains the
/// key, the object cannot be pickled, and the key's memory is zeroed when the signer is freed.
#[pyclass(module = "hedgekit._core", frozen)]
pub struct EthSigner {
    inner: core::EthSigner,
}

#[pymethods]
impl EthSigner {
    #[new]
    fn new(private_key: &[u8]) -> PyResult<Self> {
        Ok(EthSigner {
            inner: core::EthSigner::new(private_key).py()?,
        })
    }

    /// The signer's address: ``"0x"`` and 40 lowercase hex digits.
    #[getter]
    fn address(&self) -> String {
        self.inner.address_hex()
    }

    /// Signs a Hyperliquid L1 action (order, cancel, modify, ...) as the SDK's
    /// ``sign_l1_action`` does: ``(r, s, v)``.
    ///
    /// Args:
    ///     action: The action's JSON, keys in the order they are sent (``orjson.dumps`` of the
    ///         dict that goes into the request body); it is hashed as msgpack of that JSON.
    ///     nonce: The request's nonce (ms), ``0 .. 2**64-1``.
    ///     vault_address: The vault or sub-account acted for (``0x`` + 40 hex), or ``None``.
    ///     expires_after: The request's ``expiresAfter`` (ms), or ``None``.
    ///     is_mainnet: Source ``"a"`` (mainnet) or ``"b"`` (testnet) in the phantom agent.
    ///
    /// Raises:
    ///     ParseError: ``action`` is not strict JSON msgpack can hold (or has a duplicate key).
    ///     InvalidArgumentError: A bad address, or a nonce out of range.
    #[pyo3(signature = (action, nonce, vault_address, expires_after, is_mainnet))]
    fn sign_hl_l1_action(
        &self,
        py: Python<'_>,
        action: &[u8],
        nonce: &Bound<'_, PyAny>,
        vault_address: Option<&str>,
        expires_after: Option<&Bound<'_, PyAny>>,
        is_mainnet: bool,
    ) -> PyResult<(String, String, u8)> {
        let (nonce, vault, expires_after) = l1_args(nonce, vault_address, expires_after)?;
        let sig = py
            .detach(|| {
                self.inner.sign_hl_l1_action(
                    action,
                    nonce,
                    vault.as_ref(),
                    expires_after,
                    is_mainnet,
                )
            })
            .py()?;
        Ok(sig_tuple(&sig))
    }

    /// Signs a Hyperliquid user-signed action (usdSend, withdraw3, approveAgent, ...) as
    /// the SDK's ``sign_user_signed_action`` does: ``(r, s, v)``.
    ///
    /// Args:
    ///     action: The action's JSON, with ``signatureChainId`` (hex, the EIP-712 domain's
    ///         chain id) and ``hyperliquidChain`` already set.
    ///     primary_type: For example ``"HyperliquidTransaction:UsdSend"``.
    ///     fields: ``(name, solidity type)`` pairs in order, as the SDK's payload types; types
    ///         ``string``, ``bytes32``, ``address``, ``bool``, ``uint64``, ``uint256``.
    ///
    /// Raises:
    ///     ParseError: ``action`` is not a strict JSON object.
    ///     InvalidArgumentError: A missing field, a value that does not fit its type, an
    ///         unsupported type, or no valid ``signatureChainId``.
    fn sign_hl_user_action(
        &self,
        py: Python<'_>,
        action: &[u8],
        primary_type: &str,
        fields: Vec<(String, String)>,
    ) -> PyResult<(String, String, u8)> {
        let fields = fields_ref(&fields);
        let sig = py
            .detach(|| {
                self.inner
                    .sign_hl_user_action(action, primary_type, &fields)
            })
            .py()?;
        Ok(sig_tuple(&sig))
    }

    /// Signs the EIP-712 struct ``Message(string msg)`` in the domain
    /// ``(domain_name, domain_version, chain_id, 0x0…0)``: ``(r, s, v)``. Aster V3 signs its
    /// url-encoded parameter string this way, in ``("AsterSignTransaction", "1", 1666)``.
    ///
    /// Raises:
    ///     InvalidArgumentError: ``msg`` is not UTF-8, or ``chain_id`` is out of range.
    fn sign_eip712_message(
        &self,
        py: Python<'_>,
        domain_name: &str,
        domain_version: &str,
        chain_id: &Bound<'_, PyAny>,
        msg: &[u8],
    ) -> PyResult<(String, String, u8)> {
        let chain_id = u64_arg(chain_id, "chain_id")?;
        let sig = py
            .detach(|| {
                self.inner
                    .sign_eip712_message(domain_name, domain_version, chain_id, msg)
            })
            .py()?;
        Ok(sig_tuple(&sig))
    }

    fn __repr__(&self) -> String {
        format!("EthSigner(address={})", self.inner.address_hex())
    }
}

/// The 32-byte Hyperliquid L1 action hash (the phantom agent's ``connectionId``):
/// ``keccak(msgpack(action) ‖ nonce ‖ 00 | 01‖vault ‖ [00‖expires_after])``.
///
/// Raises:
///     As :meth:`EthSigner.sign_hl_l1_action`.
#[pyfunction]
#[pyo3(signature = (action, nonce, vault_address, expires_after))]
fn hl_action_hash<'py>(
    py: Python<'py>,
    action: &[u8],
    nonce: &Bound<'_, PyAny>,
    vault_address: Option<&str>,
    expires_after: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let (nonce, vault, expires_after) = l1_args(nonce, vault_address, expires_after)?;
    let h = hl::action_hash(action, nonce, vault.as_ref(), expires_after).py()?;
    Ok(PyBytes::new(py, &h))
}

/// The address (lowercase) that signed an L1 action, as the SDK's
/// ``recover_agent_or_user_from_l1_action``. ``r`` and ``s`` are hex integers (``0x``
/// optional, zero-padded or not); ``v`` is 27 or 28 (0 or 1 accepted). A signature made over
/// anything else recovers another address: compare the result with the expected signer.
///
/// Raises:
///     As :meth:`EthSigner.sign_hl_l1_action`, and ``InvalidArgumentError`` for a malformed
///     or unrecoverable signature.
#[pyfunction]
#[pyo3(signature = (action, nonce, vault_address, expires_after, is_mainnet, r, s, v))]
#[allow(clippy::too_many_arguments)]
fn hl_recover_l1_action(
    py: Python<'_>,
    action: &[u8],
    nonce: &Bound<'_, PyAny>,
    vault_address: Option<&str>,
    expires_after: Option<&Bound<'_, PyAny>>,
    is_mainnet: bool,
    r: &str,
    s: &str,
    v: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let (nonce, vault, expires_after) = l1_args(nonce, vault_address, expires_after)?;
    let sig = Signature::parse(r, s, u64_arg(v, "v")?).py()?;
    let who = py
        .detach(|| {
            hl::recover_l1_action(
                action,
                nonce,
                vault.as_ref(),
                expires_after,
                is_mainnet,
                &sig,
            )
        })
        .py()?;
    Ok(to_hex(&who))
}

/// The address (lowercase) that signed a user-signed action (see
/// :meth:`EthSigner.sign_hl_user_action` and :func:`hl_recover_l1_action`).
#[pyfunction]
fn hl_recover_user_action(
    py: Python<'_>,
    action: &[u8],
    primary_type: &str,
    fields: Vec<(String, String)>,
    r: &str,
    s: &str,
    v: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let sig = Signature::parse(r, s, u64_arg(v, "v")?).py()?;
    let fields = fields_ref(&fields);
    let who = py
        .detach(|| hl::recover_user_action(action, primary_type, &fields, &sig))
        .py()?;
    Ok(to_hex(&who))
}

/// The address (lowercase) that signed ``Message(string msg)`` in the given domain (see
/// :meth:`EthSigner.sign_eip712_message` and :func:`hl_recover_l1_action`).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn recover_eip712_message(
    py: Python<'_>,
    domain_name: &str,
    domain_version: &str,
    chain_id: &Bound<'_, PyAny>,
    msg: &[u8],
    r: &str,
    s: &str,
    v: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let chain_id = u64_arg(chain_id, "chain_id")?;
    let sig = Signature::parse(r, s, u64_arg(v, "v")?).py()?;
    let who = py
        .detach(|| hl::recover_message(domain_name, domain_version, chain_id, msg, &sig))
        .py()?;
    Ok(to_hex(&who))
}

/// msgpack of a JSON document, byte for byte as ``msgpack.packb(json.loads(data))``: keys
/// in document order, the smallest integer encodings, floats as float64.
///
/// Raises:
///     ParseError: Not strict JSON, a duplicate key, an integer outside ``-2**63 .. 2**64-1``,
///         or nesting deeper than 512.
#[pyfunction]
fn msgpack_from_json<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let out = core::msgpack::msgpack_from_json(data).py()?;
    Ok(PyBytes::new(py, &out))
}

/// Strictly increasing nonces for one signer, safe across threads and tasks: each call
/// returns ``max(last + 1, now_ms)``, so two requests in the same millisecond never share a
/// nonce and a clock stepping back never repeats one. Use one allocator per signer.
#[pyclass(module = "hedgekit._core", frozen)]
pub struct NonceAllocator {
    inner: core::NonceAllocator,
}

#[pymethods]
impl NonceAllocator {
    #[new]
    fn new() -> Self {
        NonceAllocator {
            inner: core::NonceAllocator::new(),
        }
    }

    /// The next nonce, above every nonce this allocator handed out before.
    ///
    /// Raises:
    ///     InvalidArgumentError: ``now_ms`` is outside ``0 .. 2**64-1``, or the last nonce was
    ///         ``2**64-1``.
    fn next(&self, now_ms: &Bound<'_, PyAny>) -> PyResult<u64> {
        self.inner.next(u64_arg(now_ms, "now_ms")?).py()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EthSigner>()?;
    m.add_class::<NonceAllocator>()?;
    m.add_function(wrap_pyfunction!(hl_action_hash, m)?)?;
    m.add_function(wrap_pyfunction!(hl_recover_l1_action, m)?)?;
    m.add_function(wrap_pyfunction!(hl_recover_user_action, m)?)?;
    m.add_function(wrap_pyfunction!(recover_eip712_message, m)?)?;
    m.add_function(wrap_pyfunction!(msgpack_from_json, m)?)?;
    Ok(())
}
