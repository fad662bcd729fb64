"""A key given in config never appears in logs, reprs or the journal — one key, all three."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

from hedgekit.clock import run_virtual
from hedgekit.journal import open_journal
from hedgekit.observability import configure_logging, safe_repr
from hedgekit.secrets import Secret

RAW = "sk-live-4b1d7c9e0f2a6358"


@dataclass(frozen=True)
class VenueCredentials:
    """What a user's config gives an adapter."""

    venue: str
    api_key: Secret


def _config() -> VenueCredentials:
    data = {"venue": "aster", "api_key": RAW}  # as read from the user's TOML
    return VenueCredentials(data["venue"], Secret(data["api_key"]))


def test_a_configured_key_never_reaches_logs_reprs_or_the_journal(tmp_path: Path) -> None:
    creds = _config()
    stream = io.StringIO()
    handler = configure_logging("DEBUG", json=True, stream=stream)
    log = logging.getLogger("hedgekit.adapter")
    try:
        log.info("connecting with %s", creds.api_key)
        log.info(f"signing with {creds.api_key.reveal()}")  # a careless f-string
        log.warning(
            "request failed", extra={"params": {"apiKey": creds.api_key.reveal(), "qty": "1"}}
        )
        try:
            raise RuntimeError(f"401 for key {creds.api_key.reveal()}")
        except RuntimeError:
            log.exception("venue refused")
    finally:
        logging.getLogger("hedgekit").removeHandler(handler)
    logs = stream.getvalue()
    assert RAW not in logs and "***" in logs
    assert RAW not in repr(creds) and RAW not in str(creds) and RAW not in safe_repr(creds)

    async def journal() -> None:
        j = await open_journal(str(tmp_path / "journal.sqlite3"))
        op = await j.start_operation(
            "open",
            [{"venue": "aster"}],
            {"credentials": {"api_key": creds.api_key}, "note": f"key {RAW}"},
        )
        await j.record(op, "note", {"error": f"401 for key {RAW}", RAW: "as a key"})
        await j.finish_operation(op, "opened", {"echo": RAW})
        await j.close()

    run_virtual(journal())
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert stored and RAW.encode() not in stored


def test_an_unwrapped_key_and_a_venue_echo_of_it_never_reach_logs_or_the_journal(
    tmp_path: Path,
) -> None:
    """A key someone forgot to wrap is still masked: by its key in data, by pattern in text."""
    plain = "unwrapped-cfg-secret-77"
    config = {"venue": "aster", "apiSecret": plain}  # never wrapped in a Secret
    echo = f"aster: [-1022] Signature invalid for request apiKey={plain}&timestamp=1"
    stream = io.StringIO()
    handler = configure_logging("DEBUG", json=True, stream=stream)
    log = logging.getLogger("hedgekit.adapter")
    try:
        log.info("config", extra={"config": config})
        log.info("config %s", config)
        log.warning("venue said: %s", echo)
        log.warning(f"venue said: {echo}")
    finally:
        logging.getLogger("hedgekit").removeHandler(handler)
    assert plain not in stream.getvalue()

    async def journal() -> None:
        j = await open_journal(str(tmp_path / "journal.sqlite3"))
        op = await j.start_operation("open", [config], {"config": config})
        await j.record(op, "reject", {"venue": "aster", "message": echo})
        await j.finish_operation(
            op, "not_filled", {"reason": echo, "incidents": [{"detail": echo}]}
        )
        await j.close()

    run_virtual(journal())
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert stored and plain.encode() not in stored
