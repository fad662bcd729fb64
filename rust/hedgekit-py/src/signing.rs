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

fn vault(v: Option<&str>) -> PyResult<Option<Address>> {
    v.map(parse_address).transpose().py()
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

/// An Ethereum-style secp256k1 signer holding one private key (never shown).
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

    /// The signer's address, ``0x`` and 40 lowercase hex digits.
    #[getter]
    fn address(&self) -> String {
        self.inner.address_hex()
    }

    /// Signs a Hyperliquid L1 action; returns ``(r, s, v)``.
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
        let nonce = u64_arg(nonce, "nonce")?;
        let expires_after = opt_u64_arg(expires_after, "expires_after")?;
        let vault = vault(vault_address)?;
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

    /// Signs a Hyperliquid user-signed action; returns ``(r, s, v)``.
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

    /// Signs ``Message(string msg)`` in the given domain; returns ``(r, s, v)``.
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

/// The Hyperliquid L1 action hash (the phantom agent's ``connectionId``), 32 bytes.
#[pyfunction]
#[pyo3(signature = (action, nonce, vault_address, expires_after))]
fn hl_action_hash<'py>(
    py: Python<'py>,
    action: &[u8],
    nonce: &Bound<'_, PyAny>,
    vault_address: Option<&str>,
    expires_after: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let nonce = u64_arg(nonce, "nonce")?;
    let expires_after = opt_u64_arg(expires_after, "expires_after")?;
    let vault = vault(vault_address)?;
    let h = hl::action_hash(action, nonce, vault.as_ref(), expires_after).py()?;
    Ok(PyBytes::new(py, &h))
}

/// The address that signed a Hyperliquid L1 action.
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
    let nonce = u64_arg(nonce, "nonce")?;
    let expires_after = opt_u64_arg(expires_after, "expires_after")?;
    let vault = vault(vault_address)?;
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

/// The address that signed a Hyperliquid user-signed action.
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

/// The address that signed ``Message(string msg)`` in the given domain.
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

/// JSON bytes → msgpack bytes, as ``msgpack.packb(json.loads(data))``.
#[pyfunction]
fn msgpack_from_json<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let out = core::msgpack::msgpack_from_json(data).py()?;
    Ok(PyBytes::new(py, &out))
}

/// Strictly increasing nonces for one signer: ``max(last + 1, now_ms)``.
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
