"""``hedgekit frontier --ray``: the same tasks as Ray tasks give the process pool's JSON, byte for
byte.

The test builds (once, then reuses) a virtual environment with Ray and hedgekit's dependencies,
installed with pip from the package registry: ``target/venv-ray`` (``HEDGEKIT_RAY_VENV``
overrides the place; ``make clean`` removes ``target/``). hedgekit itself is the very package
this test session imports — sources and built extension — copied to a temporary directory on
the environment's ``PYTHONPATH``. It then starts a local Ray instance of 2 CPUs in a subprocess
and runs the tiny frontier through ``--ray ADDRESS``, and once more through ``--ray local``.

If pip cannot install Ray the test fails; set ``HEDGEKIT_SKIP_RAY=1`` to skip these tests
instead (a machine without the registry). Ray listens on the loopback address only
(``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` makes it pick ``127.0.0.1``), with token
authentication (``RAY_AUTH_MODE=token``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from hedgekit.cli import EXIT_OK, main

ROOT = Path(__file__).parents[1]
SCENARIO = ROOT / "tests" / "scenarios" / "frontier.toml"
POLICIES = "after_settle-ladder,market-both,limit-wait"
RAY_VENV = Path(os.environ.get("HEDGEKIT_RAY_VENV") or ROOT / "target" / "venv-ray")
STAMP = "hedgekit-requirements.txt"

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        os.environ.get("HEDGEKIT_SKIP_RAY") == "1",
        reason="HEDGEKIT_SKIP_RAY=1: the Ray tests are skipped",
    ),
]


def _requirements() -> list[str]:
    """hedgekit's dependencies and its ``ray`` extra, from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["ray"]]


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


@pytest.fixture(scope="session")
def ray_python() -> Path:
    """The Python of an environment with Ray, built with pip on first use and kept."""
    wanted = (
        "\n".join([f"python {sys.version_info[0]}.{sys.version_info[1]}", *_requirements()]) + "\n"
    )
    py = _venv_python(RAY_VENV)
    stamp = RAY_VENV / STAMP
    if py.exists() and stamp.is_file() and stamp.read_text() == wanted:
        return py
    if RAY_VENV.exists():
        shutil.rmtree(RAY_VENV)
    RAY_VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(RAY_VENV)], check=True, timeout=120)
    proc = subprocess.run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            *_requirements(),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        pytest.fail(
            f"pip could not install Ray into {RAY_VENV} (set HEDGEKIT_SKIP_RAY=1 to skip the Ray "
            f"tests on a machine without the package registry):\n{tail}"
        )
    stamp.write_text(wanted)
    return py


@pytest.fixture(scope="session")
def hedgekit_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding a copy of the hedgekit this session imports, built extension
    included, for the Ray environment's ``PYTHONPATH``."""
    import hedgekit
    import hedgekit._core

    root = tmp_path_factory.mktemp("hedgekit-for-ray")
    pkg = Path(hedgekit.__file__).parent
    shutil.copytree(pkg, root / "hedgekit", ignore=shutil.ignore_patterns("__pycache__"))
    ext = Path(hedgekit._core.__file__)
    if not (root / "hedgekit" / ext.name).exists():
        shutil.copy2(ext, root / "hedgekit" / ext.name)
    return root


def _env(hedgekit_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    env.update(
        PYTHONPATH=str(hedgekit_path),
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",  # bind to 127.0.0.1 only
        RAY_AUTH_MODE="token",
        RAY_USAGE_STATS_ENABLED="0",
    )
    return env


@pytest.fixture(scope="module")
def pool_json(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The tiny frontier on the process pool, in this session's environment."""
    out = tmp_path_factory.mktemp("frontier-pool")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(
            [
                "frontier",
                str(SCENARIO),
                "--seeds",
                "4",
                "--policies",
                POLICIES,
                "--jobs",
                "2",
                "--out",
                str(out),
            ]
        )
    assert code == EXIT_OK
    return (out / "frontier.json").read_bytes()


_HEAD = """
import sys
import ray

ray.init(num_cpus=2, include_dashboard=False)
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # until the test closes our stdin; Ray stops with this process
"""


@pytest.fixture
def ray_head(ray_python: Path, hedgekit_path: Path, tmp_path: Path) -> Iterator[str]:
    """A local Ray instance of 2 CPUs, started in a subprocess; yields its address."""
    log = tmp_path / "ray-head.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [str(ray_python), "-c", _HEAD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            env=_env(hedgekit_path),
            text=True,
        )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        address = proc.stdout.readline().strip() if ready else ""
        if not address:
            pytest.fail(f"the Ray head did not start:\n{log.read_text()[-3000:]}")
        assert address.startswith("127.0.0.1:"), address
        yield address
    finally:
        proc.stdin.close()  # the head stops Ray and exits
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        proc.stdout.close()


def _run_ray(
    ray_python: Path, hedgekit_path: Path, address: str, out: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(ray_python), "-m", "hedgekit", "frontier", str(SCENARIO), "--seeds", "4",
            "--policies", POLICIES, "--ray", address, "--out", str(out),
        ],
        env=_env(hedgekit_path),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )  # fmt: skip


def test_ray_cluster_gives_the_pools_json(
    ray_python: Path, hedgekit_path: Path, ray_head: str, pool_json: bytes, tmp_path: Path
) -> None:
    t0 = time.perf_counter()
    proc = _run_ray(ray_python, hedgekit_path, ray_head, tmp_path)
    assert proc.returncode == EXIT_OK, proc.stderr[-3000:]
    assert f"on Ray ({ray_head})" in proc.stderr
    ray_json = (tmp_path / "frontier.json").read_bytes()
    assert json.loads(ray_json)["seeds"] == [0, 1, 2, 3]
    assert ray_json == pool_json
    assert time.perf_counter() - t0 < 120


def test_ray_local_gives_the_pools_json(
    ray_python: Path, hedgekit_path: Path, pool_json: bytes, tmp_path: Path
) -> None:
    proc = _run_ray(ray_python, hedgekit_path, "local", tmp_path)
    assert proc.returncode == EXIT_OK, proc.stderr[-3000:]
    assert (tmp_path / "frontier.json").read_bytes() == pool_json
    assert (tmp_path / "frontier.md").is_file()
