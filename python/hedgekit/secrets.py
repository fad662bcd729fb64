"""Secrets that never reach logs, reprs, files or metrics: the one redaction boundary.

Wrap every credential in :class:`Secret` as soon as it is read (from config, the environment, a
file). Its ``repr``/``str`` are masked; only :meth:`Secret.reveal` gives the value, to the code
that signs a request. Every secret ever created is registered.

Everything hedgekit lets out of the process goes through :func:`redact` (text) or
:func:`redact_data` (JSON-like data): log lines (:mod:`hedgekit.observability`), journal payloads
(:mod:`hedgekit.journal.records`), the free text of executor results and incidents (reasons,
incident details: :mod:`hedgekit.execution.results`), Prometheus label values and the text of
:class:`~hedgekit.errors.VenueError`. They mask, with ``***``:

1. **Registered values**: every value ever wrapped in a :class:`Secret`, wherever it appears.
2. **Values under secret-looking keys** (:func:`is_secret_key`: ``api_key``, ``apiSecret``,
   ``auth_token``, ``private_key``, ``password``, ``signature``, ``passphrase``,
   ``Authorization``, ...): in data, the whole value under such a key, at any depth; in text, the
   value written after such a key as ``key=value``, ``key: value``, ``"key": "value"``,
   ``'key': 'value'`` or ``\\"key\\": \\"value\\"`` (JSON inside a JSON string). An HTTP auth
   scheme is kept after an ``Authorization`` key (``Authorization: Bearer ***``; after any other
   key the whole ``scheme token`` is the value); a double-quoted key with a bare value gets a
   quoted mask (``"api_key": 123`` becomes ``"api_key": "***"``, so JSON stays JSON); ``null``,
   ``None``, ``true`` and ``false`` are left alone.
3. **Patterns in free text**: the token after ``Bearer``; the password of a URL with userinfo
   (``scheme://user:***@host``); the body of a PEM private key block; and a long blob (32 or more
   base64/hex characters, which includes ``0x`` + 64 hex digits) written after a secret-looking
   word with at most a few separators between (``private key 0x…``, ``signature: 9f86…``,
   ``api key 'Zm9v…'``).

What is deliberately **not** masked: order ids, client order ids (``hk-…``), trade ids, prices,
sizes, symbols, venue names — and a bare ``0x`` + 64-hex string, which is as likely a transaction
hash as a private key. Such a string is masked only when it follows a secret-looking key or word,
or is a registered secret. Free-text patterns err on the side of masking: a prose ``key: value``
loses its value.

:func:`redact` is total (it never raises; should a pattern ever fail, the whole text is masked)
and idempotent (``redact(redact(x)) == redact(x)``).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "MASK",
    "Secret",
    "is_secret_key",
    "redact",
    "redact_data",
    "registered_count",
]

MASK: Final = "***"
_MIN_LEN = 4  # shorter values would mask ordinary text ("1", "abc")
_lock = threading.Lock()
_values: dict[str, int] = {}  # value -> how many unretired Secret objects hold it
_values_re: re.Pattern[str] | None = None  # every registered value, longest first; None: none


class Secret:
    """A credential. ``str(s)`` and ``repr(s)`` are masked; ``s.reveal()`` is the value.

    Args:
        value: The secret text (at least 4 characters, so masking it cannot mangle normal text).

    Raises:
        ValueError: An empty or too short value.
    """

    __slots__ = ("_retired", "_value")

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or len(value) < _MIN_LEN:
            raise ValueError(f"a secret must be a string of at least {_MIN_LEN} characters")
        self._value = value
        self._retired = False
        _register(value)

    def reveal(self) -> str:
        """The value itself. Pass it only to the code that signs or authenticates."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:  # pickling would write the value to a file
        raise TypeError("a Secret cannot be pickled")

    def retire(self) -> None:
        """Stops masking this value wherever it appears in text (:func:`redact`): for a
        short-lived credential that has expired and is worth nothing any more (an auth token
        past its deadline), so that a bot renewing one every few minutes does not grow the
        registry, and the pattern every log line is matched against, without bound. The
        object itself stays masked in ``str`` and ``repr``; another :class:`Secret` of the same
        value keeps it masked; retiring twice is retiring once. Never retire a long-lived key."""
        if not self._retired:
            self._retired = True
            _unregister(self._value)


def _compile() -> None:
    """Rebuilds the by-value pattern (under ``_lock``)."""
    global _values_re
    ordered = sorted(_values, key=lambda v: (-len(v), v))
    _values_re = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None


def _register(value: str) -> None:
    with _lock:
        held = _values.get(value, 0)
        _values[value] = held + 1
        if not held:
            _compile()


def _unregister(value: str) -> None:
    with _lock:
        held = _values.get(value, 0)
        if held > 1:
            _values[value] = held - 1
        elif held == 1:
            del _values[value]
            _compile()


def registered_count() -> int:
    """How many distinct secret values are registered (for tests and diagnostics)."""
    with _lock:
        return len(_values)


# ------------------------------------------------------------------------------------- keys

_SECRET_WORDS: Final = frozenset(
    {
        "key",
        "secret",
        "password",
        "passwd",
        "passphrase",
        "token",
        "apikey",
        "privatekey",
        "secretkey",
        "accesskey",
        "signature",
        "authorization",
        "credential",
        "credentials",
        "mnemonic",
        "seedphrase",
        "privkey",
    }
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")


def is_secret_key(key: object) -> bool:
    """Whether a mapping key, ``extra=`` field name or ``key=`` in text looks like it holds a
    credential.

    The key is split into words (at ``_``, ``-``, ``.``, spaces and camelCase boundaries) and
    matches when a word, or the whole key with separators removed, is one of ``key``,
    ``secret``, ``password``, ``passwd``, ``passphrase``, ``token``, ``apikey``, ``privatekey``,
    ``secretkey``, ``accesskey``, ``signature``, ``authorization``, ``credential(s)``,
    ``mnemonic``, ``seedphrase`` or ``privkey``, case-insensitively. So ``api_key``, ``apiKey``,
    ``apiSecret``, ``X-MBX-APIKEY``, ``private_key``, ``auth_token``, ``seed_phrase``,
    ``Authorization`` and ``Password`` match; ``monkey``, ``keyboard``, ``tokens`` and ``venue``
    do not.

    Args:
        key: The key (non-strings never match).

    Returns:
        True when values under this key must be masked.
    """
    return isinstance(key, str) and _is_secret_key(key)


@functools.lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    words = [w.lower() for w in _NON_WORD.split(_CAMEL.sub("_", key)) if w]
    if any(w in _SECRET_WORDS for w in words):
        return True
    return "".join(words) in _SECRET_WORDS


# ---------------------------------------------------------------------------------- patterns

# ``key <sep>`` in text. The value is read by ``_VALUE`` only after a secret-looking key (so a
# value that is not masked is still searched for keys of its own: ``"message": "… api_key=…"``,
# and the work stays linear in the text's length).
_KEY: Final = re.compile(
    r"""
    (?<![A-Za-z0-9_.\-])                         # the key starts at a word start
    (?P<key>[A-Za-z_][A-Za-z0-9_.\-]*+)
    (?P<kc>\\?["'])?                             # its closing quote
    [ \t]*[:=][ \t]*
    """,
    re.VERBOSE,
)
_VALUE: Final = re.compile(
    r"""
      (?P<sv>Secret\(\*\*\*\))                   # an already masked repr
    | b?"(?P<dq>(?:[^"\\\n]|\\.)*+)"           # "double-quoted"
    | b?'(?P<sq>(?:[^'\\\n]|\\.)*+)'           # 'single-quoted'
    | \\"(?P<eq>(?:[^"\\\n]|\\[^"\n])*+)\\"    # \"quoted inside a JSON string\"
    | (?:\\?["'])(?P<ut>[^"'\\\n]++)(?=\n|\Z)  # an unterminated quote: to the end of the line
    | (?:(?P<scheme>(?i:bearer|basic|digest|token|apikey|hmac[\w\-]*|aws4-hmac-sha256))[ \t]+)?
      (?P<uq>[^\s,;&'"`\\<>(){}\[\]]++)        # a bare value
    """,
    re.VERBOSE,
)
_LITERALS: Final = frozenset({"null", "None", "true", "false", "True", "False"})
_CLAUSE_END: Final = re.compile(r"[\n,;&'\"`\\<>(){}\[\]]")


@functools.lru_cache(maxsize=1024)
def _is_phrase_key(key: str) -> bool:
    """A key whose value is several words (a seed phrase, a passphrase)."""
    low = key.lower()
    return "mnemonic" in low or "passphrase" in low or "seedphrase" in _NON_WORD.sub("", low)


# A long base64/hex blob (this includes 0x + 64 hex digits) right after a secret-looking word.
_BLOB: Final = re.compile(
    r"""
    (?<![A-Za-z0-9_.\-])
    (?P<key>[A-Za-z_][A-Za-z0-9_.\-]*+)
    [^\w\n*]{1,4}(?:(?:is|was|of|for|as)[^\w\n*]{1,4})?
    (?<!\\)(?P<blob>[A-Za-z0-9+/_\-]{32,}+=*+)  # (not an escape's letter: JSON stays JSON)
    """,
    re.VERBOSE,
)
_LONG_RUN: Final = re.compile(r"[A-Za-z0-9+/_\-]{32}")
_BEARER: Final = re.compile(r"(?i)\bbearer[ \t]+(?P<tok>[A-Za-z0-9\-._~+/]++=*+)")
_URL_PASSWORD: Final = re.compile(
    r"(?P<head>(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*+://[^\s:/@?#'\"]*+:)"
    r"(?P<pw>[^\s/?#'\"]*)@"
)
_PEM: Final = re.compile(
    r"(?P<head>-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(?P<body>(?:[A-Za-z0-9+/=\s*]|\\.)*?)"
    r"(?=-----END [A-Z0-9 ]*PRIVATE KEY-----|[^A-Za-z0-9+/=\s\\*]|\Z)"
)
_MAX_PASSES: Final = 8


def _sub_kv(text: str) -> str:
    out: list[str] = []
    pos = 0
    for k in _KEY.finditer(text):
        if k.start() < pos or not is_secret_key(k["key"]):
            continue  # inside a value already masked, or not a secret
        m = _VALUE.match(text, k.end())
        if m is None:
            continue
        name = next(g for g in ("sv", "dq", "sq", "eq", "ut", "uq") if m[g] is not None)
        start, end = m.span(name)
        value = m[name]
        if name == "sv" or value in ("", MASK) or value in _LITERALS:
            continue  # nothing to mask
        mask = MASK
        if name == "uq" and m["scheme"] is not None and "authoriz" not in k["key"].lower():
            # Only an Authorization header names a scheme before its credential: after any other
            # secret key ("api_key=BEARER x") the word is the value, or part of it.
            start = m.start("scheme")
        if name == "uq" and _is_phrase_key(k["key"]):
            # a mnemonic or passphrase is words: mask to the end of the clause
            stop = _CLAUSE_END.search(text, end)
            end = len(text) if stop is None else stop.start()
        if name == "uq" and m["scheme"] is None and k["kc"] is not None:
            kq = text[max(k.start() - len(k["kc"]), 0) : k.start()]  # the key's opening quote
            if kq == k["kc"] == '"':
                mask = f'"{MASK}"'  # "key": 123 -> "key": "***" (JSON stays JSON)
            elif kq == k["kc"] == '\\"':
                mask = f'\\"{MASK}\\"'
        out.append(text[pos:start])
        out.append(mask)
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _sub_blob(m: re.Match[str]) -> str:
    if not is_secret_key(m["key"]):
        return m[0]
    start = m.start("blob") - m.start()
    return m[0][:start] + MASK


def _sub_pem(m: re.Match[str]) -> str:
    return m["head"] + MASK


def _sub_bearer(m: re.Match[str]) -> str:
    return m[0][: m.start("tok") - m.start()] + MASK


def _sub_url(m: re.Match[str]) -> str:
    return f"{m['head']}{MASK}@" if m["pw"] else m[0]


def _by_value(text: str) -> str:
    pattern = _values_re
    return text if pattern is None else pattern.sub(MASK, text)


def _by_pattern(text: str) -> str:
    if "PRIVATE KEY-----" in text:
        text = _PEM.sub(_sub_pem, text)
    if ":" in text or "=" in text:
        text = _sub_kv(text)
    if "://" in text:
        text = _URL_PASSWORD.sub(_sub_url, text)
    if "bearer" in text.lower():
        text = _BEARER.sub(_sub_bearer, text)
    if _LONG_RUN.search(text) is not None:
        text = _BLOB.sub(_sub_blob, text)
    return text


def redact(text: str) -> str:
    """``text`` with every secret it holds replaced by ``***``.

    Masks registered values, values after secret-looking keys (``api_key=…``, ``"apiSecret":
    "…"``, ``Authorization: Bearer …``), bearer tokens, URL passwords, PEM private keys and long
    blobs after a secret-looking word (see the module documentation for the exact rules, and for
    what is deliberately left alone: ids, prices, sizes, a bare ``0x`` + 64-hex transaction hash).

    Idempotent (``redact(redact(t)) == redact(t)``) and total: it never raises. A non-string is
    converted with ``str()`` first; should anything fail, the result is ``***`` (fail closed).

    Args:
        text: Any text.

    Returns:
        The redacted text (``text`` itself when nothing is masked).
    """
    try:
        if not isinstance(text, str):
            text = str(text)
        out = text
        for _ in range(_MAX_PASSES):
            new = _by_pattern(_by_value(out))
            if new == out:
                return new
            out = new
        return MASK  # no fixed point in sight: fail closed (and stay idempotent)
    except Exception:  # noqa: BLE001 - the boundary must never let text through unredacted
        return MASK


def redact_data(value: Any) -> Any:
    """A copy of JSON-like data (dicts, lists, tuples, sets, strings, numbers) with secrets masked.

    A :class:`Secret` becomes ``***``; the value under a secret-looking key (:func:`is_secret_key`)
    becomes ``***`` whatever it is (a nested dict or list too; ``None`` stays ``None``), at any
    depth; every string, and every key, goes through :func:`redact`. Tuples and sets become lists;
    other values (numbers, booleans, ``None``, objects) are returned as they are — convert objects
    first (``hedgekit.journal.records.jsonable`` does).

    Args:
        value: The data.

    Returns:
        The redacted copy.
    """
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {
            redact(str(k)): (MASK if v is not None and is_secret_key(k) else redact_data(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_data(v) for v in value]
    return value
