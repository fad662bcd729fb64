"""The conformance kit as a user meets it: a venue of their own (``tests/testing/kit/userkit.py``)
run against hedgekit's Aster fake with one command line, in a fresh pytest process started in an
empty folder (no hedgekit configuration), or from a test module of their own with a fixture.
A correct venue passes every test, none skipped; a venue with a bug fails the test that catches
it, and the output says what is wrong in words."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hedgekit
from hedgekit.model import StreamStatus
from hedgekit.testing.conformance import Hook, on_fake, run_case, test_live_bugs, test_venue
from hedgekit.testing.conformance.checks import EventLog, wait_until

ROOT = Path(__file__).resolve().parents[2]
KIT = Path(__file__).resolve().parent / "kit"
PACKAGE_ROOT = Path(hedgekit.__file__).resolve().parent.parent
COMMAND = ["-p", "hedgekit.testing.conformance.plugin", "--pyargs", "hedgekit.testing.conformance"]
"""The documented command line, before ``--venue`` and ``--fake``."""


def _suite_size() -> int:
    return sum(
        1
        for module in (test_venue, test_live_bugs)
        for name in vars(module)
        if name.startswith("test_")
    )


def _installed(folder: Path) -> Path:
    """A folder holding what ``pip install hedgekit`` writes for pytest to find: a dist-info
    with the ``pytest11`` entry points of ``pyproject.toml`` (the package itself comes from
    ``PACKAGE_ROOT``)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    points = project["entry-points"]["pytest11"]
    dist = folder / "hedgekit_entry_points-0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: hedgekit-entry-points\nVersion: 0\n", encoding="utf-8"
    )
    lines = [f"{name} = {target}" for name, target in points.items()]
    (dist / "entry_points.txt").write_text("[pytest11]\n" + "\n".join(lines) + "\n")
    return folder


def _pytest(
    cwd: Path, *args: str, installed: bool = False, timeout: float = 100.0
) -> subprocess.CompletedProcess[str]:
    """``python -m pytest ARGS`` in ``cwd`` with the user's venues importable (and hedgekit's
    pytest entry points, if ``installed``), bounded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    paths = [str(PACKAGE_ROOT), str(KIT)]
    if installed:
        paths.append(str(_installed(cwd / "site-packages")))
    env["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [os.environ.get("PYTHONPATH")])])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _summary(out: str) -> dict[str, int]:
    """``{"passed": 20, "failed": 1, …}`` from pytest's last line."""
    last = out.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}


def test_a_correct_venue_of_ones_own_passes_every_test_of_the_suite_on_the_aster_fake(
    tmp_path: Path,
) -> None:
    # the command as a user types it once hedgekit is installed: no -p (the entry point)
    command = ["--pyargs", "hedgekit.testing.conformance", "--venue", "userkit:MyAster"]
    run = _pytest(tmp_path, *command, "--fake", "aster", installed=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert _summary(run.stdout) == {"passed": _suite_size()}  # nothing skipped, nothing failed
    passed = re.findall(r"^PASSED (\S+)", run.stdout, re.M)
    assert len(passed) == _suite_size()
    assert all(p.endswith("[MyAster@aster]") for p in passed)
    assert any("test_3b_a_fill_while_the_stream_is_silent" in p for p in passed)


BROKEN = [
    (
        "DoubleFills",
        "ioc_fill",
        "test_an_ioc_fill_arrives_once_with_exact_price_size_and_fee_and_positions_follow",
        "events() delivered 1 fill(s) more than once",
    ),
    (
        "TimeoutAsRejected",
        "lost_answer",
        "test_a_lost_answer_to_a_place_is_resolved_by_a_status_query_not_assumed_failed",
        "place() raised OrderRejectedError (my-aster: order failed: no answer) when the venue's "
        "answer was lost",
    ),
    (
        "CancelledWhenFilled",
        "test_2_",
        "test_2_a_cancel_that_races_a_fill_is_already_filled_counted_once_and_not_replaced",
        "cancel() answered CANCELLED for an order the venue had already filled",
    ),
]


@pytest.mark.parametrize(("venue", "select", "test", "says"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_venue_fails_the_test_that_catches_it_and_the_output_says_why(
    tmp_path: Path, venue: str, select: str, test: str, says: str
) -> None:
    run = _pytest(
        tmp_path, *COMMAND, "--venue", f"userkit:{venue}", "--fake", "aster", "-k", select
    )
    assert run.returncode == 1, run.stdout[-4000:]
    assert _summary(run.stdout).get("failed") == 1
    assert re.search(rf"^FAILED \S+::{test}\[{venue}@aster\]", run.stdout, re.M), run.stdout
    assert says in run.stdout


def _fixture_module() -> str:
    """The test module ``docs/adapters.md`` shows for the fixture route."""
    text = (ROOT / "docs" / "adapters.md").read_text(encoding="utf-8")
    section = text[text.index("### From a test module of your own, with a fixture") :]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    return block.group(1)


def test_the_fixture_route_of_the_docs_runs_the_suite_from_a_test_module_of_ones_own(
    tmp_path: Path,
) -> None:
    module = _fixture_module()
    assert 'on_fake("aster", MyVenue)' in module
    # the docs' module as written, with the user's venue from its async factory
    mine = module.replace(
        "from mypkg.venue import MyVenue", "from userkit import make_my_aster as MyVenue"
    )
    assert mine != module
    (tmp_path / "test_my_venue_conformance.py").write_text(mine, encoding="utf-8")
    run = _pytest(
        tmp_path, "test_my_venue_conformance.py", "-k", "ioc_fill or test_2_ or lost_answer"
    )
    assert run.returncode == 0, run.stdout[-4000:]
    assert _summary(run.stdout) == {"passed": 3, "deselected": _suite_size() - 3}
    passed = re.findall(r"^PASSED (\S+)", run.stdout, re.M)
    assert len(passed) == 3
    assert all(p.startswith("test_my_venue_conformance.py::test_") for p in passed)


def test_installed_hedgekit_leaves_every_other_pytest_run_alone(tmp_path: Path) -> None:
    (tmp_path / "test_theirs.py").write_text(
        "import pytest\n"
        "\n"
        "@pytest.fixture\n"
        "def harness():\n"
        '    return "their own"\n'
        "\n"
        "def test_their_harness(harness):\n"
        '    assert harness == "their own"\n',
        encoding="utf-8",
    )
    run = _pytest(tmp_path, "test_theirs.py", installed=True)
    assert run.returncode == 0, run.stdout[-2000:]
    assert _summary(run.stdout) == {"passed": 1}
    assert "PASSED test_theirs.py::test_their_harness\n" in run.stdout  # not parametrized
    run = _pytest(tmp_path, "test_theirs.py", "--venue", "x", installed=True)
    assert run.returncode == 4 and "unrecognized arguments: --venue" in run.stderr


def test_a_factory_that_returns_no_venue_is_told_what_the_thing_lacks(tmp_path: Path) -> None:
    run = _pytest(
        tmp_path, *COMMAND, "--venue", "userkit:not_a_venue", "--fake", "aster", "-k", "book_and"
    )
    assert run.returncode == 1
    assert (
        "the venue factory not_a_venue returned Decimal, which is not a hedgekit.venues.Venue"
        in (run.stdout)
    )
    assert re.search(r"it lacks [a-z_, ]*place, cancel", run.stdout)


def test_a_venue_named_without_a_fake_or_a_fake_without_a_venue_is_a_usage_error(
    tmp_path: Path,
) -> None:
    run = _pytest(tmp_path, *COMMAND, "--venue", "userkit:MyAster", "--collect-only")
    assert run.returncode != 0
    assert "--venue MyAster is not a conformance harness factory" in run.stdout
    assert "add --fake NAME (hyperliquid | aster | lighter)" in run.stdout
    run = _pytest(tmp_path, *COMMAND, "--fake", "aster", "--collect-only")
    assert run.returncode == 4  # a usage error, before anything is collected
    assert "--fake NAME runs the venues named by --venue" in run.stderr


def _user_venues() -> Iterator[Any]:
    sys.path.insert(0, str(KIT))
    try:
        import userkit  # noqa: PLC0415 - from the folder a user's project would import it from

        yield userkit
    finally:
        sys.path.remove(str(KIT))


@pytest.fixture
def userkit() -> Iterator[Any]:
    """The user's venues module (``tests/testing/kit/userkit.py``)."""
    yield from _user_venues()


@pytest.mark.parametrize(
    ("fake", "factory"), [("hyperliquid", "my_hyperliquid"), ("lighter", "my_lighter")]
)
def test_a_users_venue_on_the_hyperliquid_and_lighter_fakes_recovers_a_fill_made_while_silent(
    userkit: Any, fake: str, factory: str
) -> None:
    """The silence is ended by the fake's count of opened sockets (the user's venue has no
    socket the harness could ask), and the whole live bug passes."""
    harness = on_fake(fake, getattr(userkit, factory))
    made = harness()
    assert made.name == f"{factory}@{fake}" and made.hooks == frozenset(Hook)
    test_live_bugs.test_3b_a_fill_while_the_stream_is_silent_is_seen_once_after_reconnect(harness)
    test_live_bugs.test_2_a_cancel_that_races_a_fill_is_already_filled_counted_once_and_not_replaced(
        harness
    )


def test_the_silence_of_a_users_venue_ends_once_it_has_dropped_its_silent_sockets(
    userkit: Any,
) -> None:
    harness = on_fake("aster", userkit.MyAster)()
    seen: dict[str, int] = {}

    async def body(h: Any, venue: Any) -> None:
        fake = h.fake
        silenced, before = fake.connections, fake.ws_opened
        assert len(silenced) == 2  # the venue's market and user sockets
        await h.silence_stream()
        await h.restore_stream()
        assert not silenced & fake.connections  # the venue dropped both silent sockets
        assert h.user_venue is venue
        with pytest.raises(RuntimeError, match="a venue of your own"):
            h.venue  # noqa: B018 - hedgekit's adapter is not what runs
        log = EventLog(venue.name, venue.events())
        await log.read_until(
            h,
            lambda: any(isinstance(e, StreamStatus) and e.connected for e in log.events),
            "the stream back",
        )
        await wait_until(h, lambda: fake.ws_connections == 2, "both sockets open again")
        seen.update(before=before, after=fake.ws_opened, open=fake.ws_connections)

    run_case(lambda: harness, body)
    assert seen["after"] - seen["before"] == seen["open"] == 2  # two new sockets, served
