"""One redaction boundary (``hedgekit.secrets``) for every way text leaves the process.

A venue that echoes a credential in its error text (an API key in a query string, a bearer token,
a JSON body with ``apiSecret``, a private key, a signature, a URL password) must not get it into
the executors' results and incidents, the journal's rows, the logs or the metrics exposition — and
none of those secrets is registered with :class:`~hedgekit.secrets.Secret`: they are found by key
and by pattern. A journal payload with an unwrapped value under a secret-looking key is stored
masked. Ordinary trading data (ids, prices, sizes, transaction hashes) goes through unchanged,
byte for byte. ``redact`` is idempotent and total (property tests).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sqlite3
import string
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from hedgekit import FillLedger
from hedgekit.clock import LoopClock, run_virtual
from hedgekit.errors import OrderRejectedError, VenueError
from hedgekit.execution import (
    AtomicConfig,
    AtomicExecutor,
    CloseConfig,
    CloseExecutor,
    CloseLeg,
    EntryPlan,
    LegSpec,
    OpenStatus,
)
from hedgekit.execution.results import (
    AtomicResult,
    CloseResult,
    CloseStatus,
    ExecutionResult,
    Incident,
    LegResult,
)
from hedgekit.journal import open_journal
from hedgekit.journal.records import encode
from hedgekit.model import OrderAck, OrderRequest, Side
from hedgekit.observability import Metrics, configure_logging, is_secret_key, safe_repr
from hedgekit.secrets import MASK, Secret, redact, redact_data
from hedgekit.tracking import VenueSession
from hedgekit.venues.sim import ScriptedEvent, SimVenue, SimVenueConfig

sys.path.insert(0, str(Path(__file__).parent / "venues"))
from simkit import MS, market, venue_config  # noqa: E402

D = Decimal
T = TypeVar("T")
HEX64 = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
PRIVATE_KEY = "0x" + HEX64
TX_HASH = "0x" + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJoZWRnZWtpdCJ9.Zm9vYmFyYmF6cXV4"

# The leak table: what a hostile venue writes in its error text, and the secret it must not leak.
# None of these values is registered: they are found by key and by pattern.
LEAKS: dict[str, tuple[str, str]] = {
    "query api_key": (
        "SEKRET-query-7Hq2xVb9",
        "[-1022] Signature for this request is not valid. "
        "GET /fapi/v1/order?symbol=ETHUSDT&api_key=SEKRET-query-7Hq2xVb9&timestamp=1",
    ),
    "bearer token": (JWT, f"401 Unauthorized (sent Authorization: Bearer {JWT})"),
    "json apiSecret": (
        "sk_live_9a8B7c6D5e4F",
        'bad request body {"apiSecret": "sk_live_9a8B7c6D5e4F", "symbol": "ETH", "qty": "1.5"}',
    ),
    "private key": (HEX64, f"could not sign: invalid private key {PRIVATE_KEY}"),
    "signature": (
        "c0ffee00d15ea5e5deadbeef0123456789abcdef0123456789abcdef01234567",
        "signature=c0ffee00d15ea5e5deadbeef0123456789abcdef0123456789abcdef01234567 expired",
    ),
    "url password": (
        "hunter2-db-pw",
        "upstream postgresql://trader:hunter2-db-pw@10.0.0.5:5432/orders unreachable",
    ),
    "passphrase header": ("correct-horse-battery", "OK-ACCESS-PASSPHRASE: correct-horse-battery"),
}
REGISTERED = Secret("registered-venue-secret-5521")
LEAKS["registered secret"] = (REGISTERED.reveal(), f"key {REGISTERED.reveal()} disabled")


# ------------------------------------------------------------------------------- the fake venue
class RawVenueError(OrderRejectedError):
    """An adapter's error that keeps the venue's text raw in ``message`` and ``str()`` (as a
    careless adapter might): the results must still be clean, whatever the exception says."""

    def __init__(self, venue: str, raw: str) -> None:
        super().__init__(venue, raw, 400, "other")
        self.raw = raw
        self.message = raw

    def __str__(self) -> str:
        return f"{self.venue}: [400] {self.raw}"


class HostileVenue(SimVenue):
    """A simulated venue that, once ``hostile`` is set, refuses every order with ``text``."""

    def __init__(self, config: SimVenueConfig, clock: LoopClock, text: str, raw: bool) -> None:
        super().__init__(config, clock)
        self.text = text
        self.raw = raw
        self.hostile = False
        self.raised: list[VenueError] = []

    async def place(self, request: OrderRequest) -> OrderAck:
        """Refuses with the hostile text after a round trip, or places normally."""
        if not self.hostile:
            return await super().place(request)
        await asyncio.sleep(0.01)
        exc: VenueError = (
            RawVenueError(self.name, self.text)
            if self.raw
            else OrderRejectedError(self.name, self.text, 400, "other")
        )
        self.raised.append(exc)
        raise exc


@dataclass
class Outputs:
    """Everything that left the process in one run."""

    open: AtomicResult
    close: CloseResult
    raised: list[VenueError]
    rows: list[str]
    files: bytes
    logs: str
    metrics: str


LEGS = (LegSpec("hl", "ETH", Side.BUY), LegSpec("aster", "ETH", Side.SELL))
Ctx = tuple[dict[str, HostileVenue], dict[str, VenueSession]]


@pytest.fixture
def hk_logger() -> Iterator[logging.Logger]:
    """The "hedgekit" logger, restored afterwards."""
    logger = logging.getLogger("hedgekit")
    handlers, level = list(logger.handlers), logger.level
    yield logger
    for h in list(logger.handlers):
        if h not in handlers:
            logger.removeHandler(h)
    logger.setLevel(level)


def _run(text: str, *, raw: bool, body: Callable[[Ctx], Awaitable[T]]) -> tuple[T, Ctx]:
    """Runs ``body`` on "hl" (whose resting buy an outside seller fills at 1 s) and a hostile
    "aster", half a virtual second after they connect."""
    hl = market(script=(ScriptedEvent(1000 * MS, "trade", side="sell", size=D("20")),))
    configs = [venue_config("hyperliquid", name="hl", mkt=hl), venue_config("aster", name="aster")]
    box: list[Ctx] = []

    async def main() -> T:
        clock = LoopClock()
        ledger = FillLedger()
        venues = {c.name: HostileVenue(c, clock, text, raw) for c in configs}
        sessions = {n: VenueSession(v, ledger, clock) for n, v in venues.items()}
        for v in venues.values():
            await v.connect()
        for s in sessions.values():
            await s.start()
        try:
            await asyncio.sleep(0.5)
            box.append((venues, sessions))
            return await body(box[0])
        finally:
            for s in sessions.values():
                await s.close()
            for v in venues.values():
                await v.close()

    return run_virtual(main()), box[0]


def _leak_run(tmp_path: Path, text: str, *, raw: bool) -> Outputs:
    """An open whose hedge venue refuses with ``text`` (hl's entry fills, aster refuses the
    entry and every hedge, the fill is rolled back), then a close of a pair opened normally
    whose aster leg is refused with ``text``; journalled to SQLite, logged, counted in metrics."""
    db = tmp_path / "journal.sqlite3"
    stream = io.StringIO()
    handler = configure_logging("DEBUG", json=True, stream=stream)
    metrics = Metrics()
    log = logging.getLogger("hedgekit.test")

    async def body(ctx: Ctx) -> tuple[AtomicResult, CloseResult]:
        venues, sessions = ctx
        journal = await open_journal(str(db))
        try:
            # Both entries rest from 0.5 s; from 0.8 s aster refuses everything.
            asyncio.get_running_loop().call_later(0.3, setattr, venues["aster"], "hostile", True)
            opened = await AtomicExecutor(sessions, journal=journal).open(
                LEGS, D("2"), AtomicConfig(entry_timeout_s=5, deadline_s=2)
            )
            venues["aster"].hostile = False
            await AtomicExecutor(sessions, journal=journal).open(
                LEGS, D("1"), AtomicConfig(plan=EntryPlan.TAKER_BOTH, deadline_s=3)
            )
            venues["aster"].hostile = True
            closed = await CloseExecutor(sessions, journal=journal).close(
                [CloseLeg("hl", "ETH"), CloseLeg("aster", "ETH")],
                CloseConfig(phase1_timeout_s=0.5, deadline_s=2, settle_timeout_s=1),
            )
            venues["aster"].hostile = False
            # What an operator's code does with the outcome: log it, journal a note.
            log.warning("open ended %s: %s", opened.status, opened.reason)
            log.warning("close ended", extra={"result": closed.to_dict()})
            log.error("venue said: %s", text)  # the raw venue text itself
            log.info("response", extra={"response": {"apiKey": "unwrapped-key-xyz", "body": text}})
            for exc in venues["aster"].raised[:3]:
                log.error("venue error %s / %r", exc, exc, exc_info=exc)
                await journal.record(None, "note", {"error": str(exc), "message": exc.message})
            await journal.record(None, "reject", {"venue": "aster", "text": text})
            return opened, closed
        finally:
            await journal.close()

    try:
        (opened, closed), (venues, _) = _run(text, raw=raw, body=body)
    finally:
        logging.getLogger("hedgekit").removeHandler(handler)
    raised = venues["aster"].raised
    metrics.observe_result(opened)
    metrics.observe_result(closed)
    for exc in raised:
        metrics.observe_error(exc)
    metrics.observe_rejection("aster", text)  # a remote adapter's free-text reason
    conn = sqlite3.connect(db)
    try:
        rows = [
            "|".join(str(c) for c in row)
            for table in ("operations", "events")
            for row in conn.execute(f"SELECT * FROM {table}")  # noqa: S608
        ]
    finally:
        conn.close()
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    exposition = metrics.render().decode()
    return Outputs(opened, closed, raised, rows, files, stream.getvalue(), exposition)


@pytest.mark.parametrize("raw", [False, True], ids=["venue-error", "raw-adapter-error"])
@pytest.mark.parametrize("leak", sorted(LEAKS))
def test_a_venue_echoing_a_secret_leaks_it_nowhere(
    tmp_path: Path, hk_logger: logging.Logger, leak: str, raw: bool
) -> None:
    secret, text = LEAKS[leak]
    out = _leak_run(tmp_path, text, raw=raw)
    # The scenario did what it is meant to: the venue's refusal reached every output.
    assert out.raised, "the hostile venue was never asked"
    assert out.open.status is OpenStatus.ROLLED_BACK, out.open.to_dict()
    assert out.close.status is CloseStatus.EXPOSED, out.close.to_dict()
    details = [i.detail for i in out.open.incidents + out.close.incidents]
    reasons = [h.reason for h in out.open.hedges + out.close.orders if h.reason]
    echo = text[: min(12, text.index(secret))]  # the venue's text up to the secret
    assert any(echo in d for d in details), details
    assert any(r.startswith("rejected: ") and echo in r for r in reasons), reasons
    assert any(row.count(MASK) for row in out.rows)
    # ... and the secret is in none of them.
    places: dict[str, str] = {
        "open result": json.dumps(out.open.to_dict()) + repr(out.open),
        "close result": json.dumps(out.close.to_dict()) + repr(out.close),
        "incidents": "\n".join(details),
        "order reasons": "\n".join(reasons),
        "exception messages": "\n".join(e.message for e in out.raised if not raw),
        "journal rows": "\n".join(out.rows),
        "logs": out.logs,
        "metrics": out.metrics,
    }
    for place, stored in places.items():
        assert secret not in stored, f"{leak}: the secret reached the {place}"
    assert secret.encode() not in out.files, f"{leak}: the secret reached the journal's files"
    assert "unwrapped-key-xyz" not in out.logs
    assert MASK in out.logs and MASK in out.metrics


# --------------------------------------------------------------------- results, unit by unit
@pytest.mark.parametrize("leak", sorted(LEAKS))
def test_results_mask_the_text_they_store(leak: str) -> None:
    secret, text = LEAKS[leak]
    incident = Incident(1, "entry_rejected", "aster", f"hk-e-1: aster: [400] {text}")
    assert secret not in incident.detail and incident.detail.startswith("hk-e-1: aster: [400] ")
    order = ExecutionResult(
        "aster", "ETH", Side.SELL, D("1"), D("0"), None, D("0"), D("0"), D("100"), "taker",
        ("hk-h-1",), reason=f"rejected: {text}",
    )  # fmt: skip
    opened = AtomicResult(
        OpenStatus.ROLLED_BACK, f"hedge failed: {text}", D("2"), D("0"), (),
        hedges=(order,), incidents=(incident,),
    )  # fmt: skip
    closed = CloseResult(
        CloseStatus.EXPOSED, text, {"aster": D("-1")}, {"aster": D("-1")}, (), "phase2",
        orders=(order,), incidents=(incident,),
    )  # fmt: skip
    for obj in (incident, order, opened, closed):
        assert secret not in repr(obj)
        assert secret not in json.dumps(obj.to_dict())
        assert secret not in encode(obj)
        assert MASK in repr(obj)


def test_incident_redaction_is_stable_under_copies() -> None:
    import dataclasses

    inc = Incident(1, "hedge_failed", "aster", "rejected: api_key=abc123def&x=1")
    assert inc.detail == "rejected: api_key=***&x=1"
    assert dataclasses.replace(inc) == inc
    assert dataclasses.asdict(inc)["detail"] == inc.detail


# ---------------------------------------------------------------- normal data is left alone
def _normal_results() -> tuple[AtomicResult, CloseResult]:
    from hedgekit.model import Fill, Liquidity

    fills = tuple(
        Fill(
            venue="hl",
            symbol="ETH",
            client_id=f"hk-7f3a-e-{i}",
            venue_order_id=str(9_000 + i),
            trade_id=f"{TX_HASH}:{i}",
            side=Side.BUY,
            price=D("2456.37"),
            size=D("0.125"),
            fee=D("0.000184"),
            liquidity=Liquidity.MAKER,
            ts_ns=1_700_000_000_000_000_000 + i,
        )  # fmt: skip
        for i in range(3)
    )
    leg = LegResult(
        "hl", "ETH", Side.BUY, D("0.375"), D("0.375"), D("0.375"), D("2456.37"), D("0.000552"),
        D("0.375"), D("2456.365"), fills,
    )  # fmt: skip
    order = ExecutionResult(
        "aster", "ETHUSDT", Side.SELL, D("0.375"), D("0.375"), D("2456.12"), D("0.41"), D("0"),
        D("2456.365"), "taker", ("hk-7f3a-h-1", "hk-7f3a-h-2"), reason=None,
    )  # fmt: skip
    incidents = (
        Incident(5, "post_only_reject", "hl", "hk-7f3a-e-1 at 2456.36: Post only order would have "
                 "immediately matched; repricing at once"),
        Incident(6, "hedge", "aster", "0.375 hedged by taker at 2456.12 (slippage 1.0 bps)"),
        Incident(7, "dust", "hl", "0.0004 below the venue minimum: recorded, not traded"),
        Incident(8, "unresolved_order", None, "orders still live or in doubt: hl:hk-7f3a-e-2"),
        Incident(9, "position_unknown", "lighter", f"tx {TX_HASH} pending; order 281474976710657"),
        Incident(10, "exposed", None, "positions left by the operation: {'hl': Decimal('0.375')}"),
        Incident(11, "refused", None, "spread 12.5 bps over max_entry_spread_bps=10 on aster"),
    )  # fmt: skip
    opened = AtomicResult(
        OpenStatus.OPENED, None, D("0.375"), D("0.375"), (leg,), hedges=(order,),
        hedge_latency_ns=12_345_678, exposure_usd_s=0.123, max_exposure_usd=921.13,
        dust={"hl": D("0.0004")}, incidents=incidents, started_ns=1, ended_ns=2,
        unresolved=("hl:hk-7f3a-e-2",),
    )  # fmt: skip
    closed = CloseResult(
        CloseStatus.CLOSED, None, {"hl": D("0.375"), "aster": D("-0.375")},
        {"hl": D("0"), "aster": D("0")}, (leg,), "passive", orders=(order,),
        imbalance=D("0"), incidents=incidents,
    )  # fmt: skip
    return opened, closed


def test_ordinary_results_are_byte_identical_after_redaction(tmp_path: Path) -> None:
    opened, closed = _normal_results()
    for result in (opened, closed):
        data = result.to_dict()
        text = json.dumps(data, sort_keys=True)
        assert redact(text) == text
        assert redact(repr(result)) == repr(result)
        assert redact_data(data) == data
        assert json.loads(encode(result)) == data
    assert [i.detail for i in opened.incidents][4].startswith(f"tx {TX_HASH}")

    async def main() -> list[dict[str, Any]]:
        async with await open_journal(str(tmp_path / "j.sqlite3")) as j:
            op = await j.start_operation("open", [{"venue": "hl"}], {"size": "0.375"})
            await j.finish_operation(op, "opened", opened.to_dict())
            return [r.result for r in await j.operations() if r.result is not None]

    assert asyncio.run(main()) == [opened.to_dict()]


def test_simulated_runs_are_left_alone() -> None:
    """Whole simulation reports (results, incidents, venue records) pass through unchanged."""
    from hedgekit.simulate import simulate

    scenarios = Path(__file__).parent / "scenarios"
    for name in ("cancel_fill_race.toml", "hedge_venue_refuses.toml", "imbalanced_close.toml"):
        report = simulate(scenarios / name)
        text = json.dumps(report, sort_keys=True, default=str)
        assert redact(text) == text, name
        assert redact_data(json.loads(text)) == json.loads(text), name


# --------------------------------------------------------------------------- journal by key
def test_unwrapped_values_under_secret_keys_are_journalled_masked(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite3"
    plain = "plain-unwrapped-value"

    async def main() -> list[dict[str, Any]]:
        async with await open_journal(str(db)) as j:
            op = await j.start_operation(
                "open",
                [{"venue": "aster", "apiSecret": plain}],
                {"auth_token": plain, "nested": {"deeper": [{"private_key": plain}]}},
            )
            await j.record(op, "note", {"auth_token": plain})
            await j.record(op, "note", {"list": [{"password": plain}, [{"Authorization": plain}]]})
            await j.record(op, "note", {"headers": {"X-MBX-APIKEY": plain, "accept": "json"}})
            await j.record(op, "note", {"signature": {"r": plain, "s": plain}, "passphrase": 1234})
            await j.record(op, "note", {"text": f'echo {{"api_key": "{plain}"}}'})
            await j.finish_operation(op, "opened", {"credentials": [plain], "apiKey": None})
            return [e.data for e in await j.events(op)]

    events = asyncio.run(main())
    conn = sqlite3.connect(db)
    try:
        raw = [
            str(r)
            for t in ("operations", "events")
            for r in conn.execute(f"SELECT * FROM {t}")  # noqa: S608
        ]
    finally:
        conn.close()
    assert raw and all(plain not in r for r in raw)
    assert plain.encode() not in b"".join(p.read_bytes() for p in tmp_path.iterdir())
    by_kind = [e for e in events if e.get("auth_token") or e.get("list") or e.get("headers")]
    assert {"auth_token": MASK} in by_kind
    assert {"list": [{"password": MASK}, [{"Authorization": MASK}]]} in by_kind
    assert {"headers": {"X-MBX-APIKEY": MASK, "accept": "json"}} in by_kind
    assert {"signature": MASK, "passphrase": MASK} in events
    assert {"text": f'echo {{"api_key": "{MASK}"}}'} in events


def test_redact_data_masks_by_key_at_any_depth() -> None:
    plain = "plain-unwrapped-value"
    data: dict[str, Any] = {
        "auth_token": plain,
        "legs": [{"venue": "hl", "apiKey": plain}, ({"password": plain},)],
        "deep": {"a": {"b": {"c": [{"Authorization": f"Bearer {plain}"}]}}},
        "token": None,
        "size": "1.5",
        "client_id": "hk-1",
        "tx": TX_HASH,
    }
    out = redact_data(data)
    assert plain not in json.dumps(out)
    assert out["auth_token"] == MASK
    assert out["legs"] == [{"venue": "hl", "apiKey": MASK}, [{"password": MASK}]]
    assert out["deep"] == {"a": {"b": {"c": [{"Authorization": MASK}]}}}
    assert out["token"] is None
    assert (out["size"], out["client_id"], out["tx"]) == ("1.5", "hk-1", TX_HASH)


# ------------------------------------------------------------------------------ text rules
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api_key=abc123&symbol=ETH", "api_key=***&symbol=ETH"),
        ("apiKey: abc123, venue: hl", "apiKey: ***, venue: hl"),
        ('{"apiSecret": "s3cr3t", "qty": "1.5"}', '{"apiSecret": "***", "qty": "1.5"}'),
        ("{'private_key': '0xabc', 'venue': 'hl'}", "{'private_key': '***', 'venue': 'hl'}"),
        ('{"api_key": 12345, "token": null}', '{"api_key": "***", "token": null}'),
        ('msg "{\\"password\\": \\"pw\\"}"', 'msg "{\\"password\\": \\"***\\"}"'),
        ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer ***"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
        ("sent Bearer abcdefgh12345678 to the venue", "sent Bearer *** to the venue"),
        ("postgresql://u:pw@db:5432/x", "postgresql://u:***@db:5432/x"),
        ("https://host.example/path?x=1", "https://host.example/path?x=1"),
        (f"invalid private key {PRIVATE_KEY}", "invalid private key ***"),
        (f"signature {HEX64} rejected", "signature *** rejected"),
        (f"tx hash {TX_HASH} confirmed", f"tx hash {TX_HASH} confirmed"),
        (f"order {TX_HASH}", f"order {TX_HASH}"),
        ("mnemonic=abandon ability able about, venue=hl", "mnemonic=***, venue=hl"),
        (
            "-----BEGIN PRIVATE KEY-----\nMIIEv\nQ==\n-----END PRIVATE KEY-----",
            "-----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----",
        ),  # fmt: skip
        ("creds=Cfg(api_key=Secret(***))", "creds=Cfg(api_key=Secret(***))"),
        ("monkey=1 keyboard: 2 tokens=3", "monkey=1 keyboard: 2 tokens=3"),
        (
            "hk-e-1 at 100.01: rejected: [-2019] Margin is insufficient.",
            "hk-e-1 at 100.01: rejected: [-2019] Margin is insufficient.",
        ),  # fmt: skip
    ],
)
def test_text_rules(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(expected) == expected


@pytest.mark.parametrize(
    ("key", "secret"),
    [("apiSecret", True), ("seed_phrase", True), ("OK-ACCESS-PASSPHRASE", True),
     ("Proxy-Authorization", True), ("client_id", False), ("trade_id", False),
     ("tx_hash", False), ("symbol", False)],
)  # fmt: skip
def test_is_secret_key_has_one_definition(key: str, secret: bool) -> None:
    from hedgekit import observability, secrets

    assert observability.is_secret_key is secrets.is_secret_key
    assert is_secret_key(key) is secret


def test_metrics_label_values_are_redacted() -> None:
    metrics = Metrics()
    metrics.observe_rejection("aster", "bad signature=deadbeefcafe1234")
    metrics.observe_error(OrderRejectedError("aster", "x", None, reason="api_key=abc-123-def"))
    text = metrics.render().decode()
    assert "deadbeefcafe1234" not in text and "abc-123-def" not in text
    assert 'reason="bad signature=***"' in text


def test_safe_repr_masks_patterns() -> None:
    @dataclass
    class Req:
        url: str
        headers: dict[str, str]

    r = Req("wss://u:pw-123@ws.venue/x", {"X-API-KEY": "abc-unregistered"})
    text = safe_repr(r)
    assert "pw-123" not in text and "abc-unregistered" not in text


# ---------------------------------------------------------------------------- properties
_POOL = (
    Secret("S3kr!t-(x)+[y]*?$"),
    Secret("pass word with spaces"),
    Secret("ünï©ødé-sëcret"),
    Secret("tok\\en\"quote's"),
)
_FRAGMENTS = [
    "api_key", "apiSecret", "token", "password", "key", "Authorization", "Bearer", "bearer",
    "mnemonic", "signature", "private key", "venue", "hk-e-1", "=", ":", ": ", "'", '"', "\\\"",
    "\\", " ", "\n", ",", ";", "&", "{", "}", "[", "]", "(", ")", "://", "@", "u:p@", "https://",
    "0x", HEX64, MASK, "*", "null", "Secret(***)", "-----BEGIN PRIVATE KEY-----",
    "-----END PRIVATE KEY-----", "1.5", "=" * 2, "is ", "AAAA" * 9,
]  # fmt: skip
_TEXT = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=8)), max_size=20).map(
    "".join
)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
@example('"api_key": *')
@example("token=Bearer x")
@example("mnemonic=a\\")
def test_redact_is_idempotent_and_total(text: str) -> None:
    once = redact(text)
    assert isinstance(once, str)
    assert redact(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text())
def test_redact_is_total_on_any_text(a: str, b: str) -> None:
    once = redact(a + b)
    assert redact(once) == once


@settings(max_examples=300, deadline=None)
@given(_TEXT, st.sampled_from(_POOL), _TEXT)
def test_no_registered_secret_survives(before: str, secret: Secret, after: str) -> None:
    out = redact(before + secret.reveal() + after)
    for s in _POOL:
        assert s.reveal() not in out


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["api_key", "apiSecret", "auth_token", "password", "X-API-KEY", "signature"]),
    st.sampled_from(["=", ": ", "=", '": "', "':'"]),
    st.text(alphabet=string.ascii_letters + string.digits + "-_./+", min_size=6),
    _TEXT,
)
@example("api_key", "=", "BEARER", "x")  # found by hypothesis: a value that spells a scheme
@example("signature", ": ", "Basic", "abcdef")
def test_a_value_after_a_secret_key_never_survives(
    key: str, sep: str, value: str, tail: str
) -> None:
    # A tail that itself spells the value (hypothesis found "=000000") is ordinary text, no
    # secret: the check is about the value that follows the key.
    assume(f"{sep}{value}" not in tail)
    quote = sep[-1] if sep[-1] in "\"'" else ""
    text = f"error: {key}{sep}{value}{quote} {tail}"
    out = redact(text)
    assert f"{sep}{value}" not in out


@settings(max_examples=300, deadline=None)
@given(
    _TEXT,
    st.dictionaries(
        _TEXT.filter(lambda k: k.isidentifier()) | st.sampled_from(["api_key", "token", "body"]),
        st.one_of(_TEXT, st.integers(), st.none(), st.lists(_TEXT, max_size=3)),
        max_size=4,
    ),
    st.sampled_from(_POOL),
    st.booleans(),
)
def test_json_log_lines_stay_json_and_hold_no_secret(
    message: str, extras: dict[str, Any], secret: Secret, filtered: bool
) -> None:
    from hedgekit.observability import JsonFormatter, RedactingFilter

    record = logging.makeLogRecord(
        {"name": "hedgekit.x", "msg": f"{message} {secret.reveal()}", "levelno": 20}
    )
    for key, value in extras.items():
        if not hasattr(record, key):
            setattr(record, key, value)
    if filtered:
        RedactingFilter().filter(record)
    line = JsonFormatter().format(record)
    parsed = json.loads(line)
    assert "\n" not in line and isinstance(parsed, dict)
    for s in _POOL:
        assert s.reveal() not in line


@pytest.mark.parametrize(
    "text",
    [
        "a=" * 100_000,
        "a:" * 100_000,
        "api_key=" * 50_000,
        "x://" * 50_000,
        "a-" * 100_000 + "://",
        "key " + "A" * 200_000,
        'api_key: "' * 50_000,
        "Bearer " * 50_000,
        "-----BEGIN PRIVATE KEY-----" * 10_000,
        "k +" + "a+" * 100_000,
    ],
    ids=lambda t: repr(t[:12]),
)
def test_hostile_text_is_redacted_in_linear_time(text: str) -> None:
    import time

    start = time.perf_counter()
    once = redact(text)
    assert redact(once) == once
    assert time.perf_counter() - start < 2.0  # quadratic scanning takes minutes here


def test_retiring_a_secret_unmasks_its_value_only_when_no_other_holder_is_left() -> None:
    import uuid

    from hedgekit.secrets import registered_count

    value = "tok-" + uuid.uuid4().hex
    before = registered_count()
    first, second = Secret(value), Secret(value)
    assert registered_count() == before + 1
    assert value not in redact(f"a {value} b")
    first.retire()
    first.retire()  # twice is once
    assert value not in redact(f"a {value} b")  # the second holder keeps it masked
    second.retire()
    assert redact(f"a {value} b") == f"a {value} b"
    assert registered_count() == before
    assert repr(first) == "Secret(***)" and first.reveal() == value
