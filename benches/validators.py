"""msgspec against pydantic (v2) for hedgekit's input files: speed, errors, install footprint.

The two file kinds are a scenario (``hedgekit.scenario.ScenarioFile``) and the funding-arbitrage
configuration (``hedgekit.strategies.funding_arb.FundingArbFile``). Their schemas are written
once, as msgspec structs; for pydantic the same schemas are derived from them field by field
(``_pydantic``: a model per struct with ``extra="forbid"`` and ``strict=True``, the same bounds
as ``Field(ge=..., le=...)``, the same exact-number checks as plain validators, the operation's
``kind`` as a discriminated union), so both libraries check exactly the same rules.

Figures, each the best of ``--rounds`` rounds of ``--n`` calls, in one process, side by side:

* ``validate``: the parsed document (a dict) checked and converted to typed objects;
* ``load+validate``: the same from the file's text (``tomllib.loads`` first);
* ``hedgekit``: what ``parse_scenario`` / ``FundingArbConfig.from_mapping`` cost in all
  (validation plus building the simulator's and executors' configurations).

``--errors`` prints, for a set of bad inputs, each library's own first message and the
one-line message hedgekit makes of msgspec's. ``--footprint`` installs each candidate into a
fresh virtual environment (the way ``tests/packaging/test_wheel.py`` measures the core install:
the bytes of site-packages after ``pip install``, bytecode included) and prints the sizes.

``--baseline REV`` also times the hand-written validators of git revision ``REV`` (any revision
before msgspec replaced them), loaded beside the current ones.

Run: ``python benches/validators.py [--n 2000] [--rounds 7] [--errors] [--footprint]``; pydantic
is only needed here (``pip install "pydantic>=2"``), the rows it would fill are skipped without
it.
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import msgspec
import msgspec.inspect as mi

from hedgekit._schema import _Custom, _dec_hook
from hedgekit.scenario import ScenarioError, ScenarioFile, parse_scenario
from hedgekit.strategies.funding_arb import ConfigError, FundingArbConfig, FundingArbFile

ROOT = Path(__file__).resolve().parents[1]
FILES: list[tuple[str, Path, type]] = [
    ("scenario: quality_realistic.toml", ROOT / "benches/scenarios/quality_realistic.toml", ScenarioFile),
    ("scenario: cancel_fill_race.toml", ROOT / "tests/scenarios/cancel_fill_race.toml", ScenarioFile),
    ("strategy: funding_arb.toml", ROOT / "examples/funding_arb.toml", FundingArbFile),
]  # fmt: skip


# --------------------------------------------------------------------- pydantic, derived


def _pydantic(schema: type) -> Any:
    """A pydantic model checking what the msgspec struct ``schema`` checks."""
    from pydantic import BaseModel, ConfigDict, Field, PlainValidator, create_model

    models: dict[type, type[BaseModel]] = {}

    def bounds(t: mi.IntType | mi.FloatType) -> Any:
        return Field(ge=t.ge, gt=t.gt, le=t.le, lt=t.lt)

    def conv(t: mi.Type) -> Any:
        if isinstance(t, mi.Metadata):
            return conv(t.type)
        if isinstance(t, mi.IntType):
            return Annotated[int, bounds(t)]
        if isinstance(t, mi.FloatType):
            return Annotated[float, bounds(t)]
        if isinstance(t, mi.StrType):
            return Annotated[str, Field(min_length=t.min_length)]
        if isinstance(t, mi.BoolType):
            return bool
        if isinstance(t, mi.NoneType):
            return type(None)
        if isinstance(t, mi.AnyType):
            return Any
        if isinstance(t, mi.LiteralType):
            return Literal[tuple(t.values)]
        if isinstance(t, mi.EnumType):  # strict pydantic takes only members: compare by value
            return Literal[tuple(m.value for m in t.cls)]
        if isinstance(t, mi.ListType):
            return list[conv(t.item_type)]  # type: ignore[misc]
        if isinstance(t, mi.DictType):
            return dict[conv(t.key_type), conv(t.value_type)]  # type: ignore[misc]
        if isinstance(t, mi.CustomType) and issubclass(t.cls, _Custom):
            return Annotated[Any, PlainValidator(t.cls.from_raw)]  # type: ignore[attr-defined]
        if isinstance(t, mi.StructType):
            return model(t)
        if isinstance(t, mi.UnionType):
            structs = [x for x in t.types if isinstance(x, mi.StructType)]
            others = [conv(x) for x in t.types if not isinstance(x, mi.StructType)]
            if len(structs) > 1:
                tagged = Annotated[
                    Union[tuple(model(s) for s in structs)],  # noqa: UP007
                    Field(discriminator=structs[0].tag_field),
                ]
                return Union[(tagged, *others)] if others else tagged  # noqa: UP007
            return Union[tuple([*(model(s) for s in structs), *others])]  # noqa: UP007
        raise TypeError(f"no pydantic equivalent for {t!r}")

    def model(s: mi.StructType) -> type[BaseModel]:
        if s.cls in models:
            return models[s.cls]
        fields: dict[str, Any] = {}
        if s.tag_field is not None:
            fields[s.tag_field] = (Literal[s.tag], ...)
        for f in s.fields:
            if f.required:
                fields[f.name] = (conv(f.type), ...)
            elif f.default_factory is not msgspec.NODEFAULT:
                factory = f.default_factory
                if isinstance(factory, type) and issubclass(factory, msgspec.Struct):
                    sub = model(mi.type_info(factory))  # type: ignore[arg-type]
                    fields[f.name] = (conv(f.type), Field(default_factory=sub))
                else:
                    fields[f.name] = (conv(f.type), Field(default_factory=factory))
            else:
                default = copy.copy(f.default)
                fields[f.name] = (conv(f.type), default)
        config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True)
        built = create_model(s.cls.__name__, __config__=config, **fields)
        models[s.cls] = built
        return built

    info = mi.type_info(schema)
    assert isinstance(info, mi.StructType)
    return model(info)


# --------------------------------------------------------------------------------- timing


def _best(fns: dict[str, Callable[[], object]], n: int, rounds: int) -> dict[str, float]:
    """Per function, the best mean time of one call over ``rounds`` rounds of ``n`` calls, in
    µs; the functions take turns round by round, so a busy machine slows them alike."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / n)
    return {name: t * 1e6 for name, t in best.items()}


def _msgspec(schema: type) -> Callable[[object], object]:
    return lambda data: msgspec.convert(data, schema, strict=True, dec_hook=_dec_hook)


def _baseline(rev: str) -> dict[type, Callable[[object], object]]:
    """The hand-written validators of git revision ``rev`` (``parse_scenario`` and
    ``FundingArbConfig.from_mapping`` as they were), loaded beside the current ones."""
    import importlib.util

    out: dict[type, Callable[[object], object]] = {}
    for schema, rel, attr in (
        (ScenarioFile, "python/hedgekit/scenario.py", "parse_scenario"),
        (FundingArbFile, "python/hedgekit/strategies/funding_arb.py", "FundingArbConfig"),
    ):
        text = subprocess.run(
            ["git", "show", f"{rev}:{rel}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        tmp = Path(tempfile.mkdtemp()) / f"baseline_{Path(rel).stem}.py"
        tmp.write_text(text, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(tmp.stem, tmp)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[tmp.stem] = module
        spec.loader.exec_module(module)
        fn = getattr(module, attr)
        out[schema] = fn if attr == "parse_scenario" else fn.from_mapping
    return out


def timing(n: int, rounds: int, baseline: str | None) -> None:
    try:
        import pydantic
    except ImportError:
        pydantic = None  # type: ignore[assignment]
        print("pydantic is not installed: its rows are skipped (pip install 'pydantic>=2')")
    print(f"msgspec {msgspec.__version__}" + (f", pydantic {pydantic.VERSION}" if pydantic else ""))
    print(f"best of {rounds} rounds x {n} calls, taking turns; µs per call\n")
    old = _baseline(baseline) if baseline else {}
    print(f"{'file':34} {'step':16} {'msgspec':>9} {'pydantic':>9} {'ratio':>7}")
    for label, path, schema in FILES:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
        ms = _msgspec(schema)
        pm = _pydantic(schema) if pydantic else None
        fns: dict[str, Callable[[], object]] = {
            "msgspec validate": lambda: ms(data),
            "msgspec load+validate": lambda: ms(tomllib.loads(text)),
        }
        if pm is not None:
            pm.model_validate(data)  # both accept the file
            fns["pydantic validate"] = lambda: pm.model_validate(data)
            fns["pydantic load+validate"] = lambda: pm.model_validate(tomllib.loads(text))
        full: Callable[[object], object] = (
            parse_scenario if schema is ScenarioFile else FundingArbConfig.from_mapping  # type: ignore[assignment]
        )
        fns["hedgekit"] = lambda: full(data)
        if schema in old:
            fns["hand-written"] = lambda: old[schema](data)
        ms(data)
        t = _best(fns, n, rounds)
        nan = float("nan")
        for step in ("validate", "load+validate"):
            a, b = t[f"msgspec {step}"], t.get(f"pydantic {step}", nan)
            print(f"{label:34} {step:16} {a:9.1f} {b:9.1f} {b / a:6.1f}x")
        print(
            f"{label:34} {'hedgekit (all)':16} {t['hedgekit']:9.1f}   (validation + building the model)"
        )
        if "hand-written" in t:
            print(
                f"{label:34} {'hand-written':16} {t['hand-written']:9.1f}   (the same, at {baseline})"
            )
    print()


# --------------------------------------------------------------------------------- errors

_SCENARIO_BAD: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("wrong type (float size)", lambda d: d["operation"].update(size=1.5)),
    ("wrong type (string number)", lambda d: d["venues"][0]["market"].update(levels="20")),
    ("unknown key", lambda d: d["venues"][0]["market"].update(depth=3)),
    ("out of range", lambda d: d["venues"][0].setdefault("delivery", {}).update(p_dup=1.5)),
    ("nested field path", lambda d: d["venues"][1].setdefault("faults", {}).update(lose_answers=[{"op": "place", "n": 0}])),
    ("missing field", lambda d: d["operation"].pop("size")),
    ("bad choice", lambda d: d["operation"]["legs"][0].update(side="long")),
    ("two problems at once", lambda d: d["operation"].update(size=1.5, colour="red")),
]  # fmt: skip


def _errors_of(
    label: str, path: Path, schema: type, cases: list[tuple[str, Callable[[dict[str, Any]], None]]]
) -> None:
    try:
        pm = _pydantic(schema)
    except ImportError:
        pm = None
    print(f"== {label}")
    for name, mutate in cases:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        mutate(data)
        print(f"-- {name}")
        try:
            _msgspec(schema)(data)
            print("   msgspec : (accepted)")
        except msgspec.ValidationError as exc:
            print(f"   msgspec : {exc}")
        if pm is not None:
            from pydantic import ValidationError

            try:
                pm.model_validate(data)
                print("   pydantic: (accepted)")
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(x) for x in first["loc"])
                print(f"   pydantic: {exc.error_count()} error(s); first: {loc}: {first['msg']}")
        try:
            if schema is ScenarioFile:
                parse_scenario(data)
            else:
                FundingArbConfig.from_mapping(data)
            print("   hedgekit: (accepted)")
        except (ScenarioError, ConfigError) as exc:
            print(f"   hedgekit: {exc}")


def errors() -> None:
    label, path, schema = FILES[1]
    _errors_of(label, path, schema, _SCENARIO_BAD)
    strategy: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
        ("wrong type (float size)", lambda d: d.update(notional_usd=5000.5)),
        ("unknown key", lambda d: d.update(scan_intervall_s=5)),
        ("nested field path", lambda d: d["atomic"]["hedge"].update(step_timeout_s=-1)),
    ]
    label, path, schema = FILES[2]
    _errors_of(label, path, schema, strategy)
    print()


# ------------------------------------------------------------------------------ footprint


def _closure(requirements: list[str], base: Path) -> int:
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    vpy = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(vpy), "install", "--quiet",
         "--disable-pip-version-check", *requirements],
        check=True, timeout=600,
    )  # fmt: skip
    site = Path(subprocess.run(
        [str(vpy), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip())  # fmt: skip
    return sum(p.stat().st_size for p in site.rglob("*") if p.is_file() and not p.is_symlink())


def footprint() -> None:
    print("install footprint (site-packages after pip install into an empty venv, bytecode incl.)")
    for reqs in (["msgspec"], ["pydantic>=2"], ["rich"]):
        with tempfile.TemporaryDirectory() as tmp:
            size = _closure(reqs, Path(tmp))
        print(f"  {' '.join(reqs):14} {size / 1e6:6.2f} MB")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--errors", action="store_true", help="compare error messages")
    parser.add_argument("--footprint", action="store_true", help="measure install sizes")
    parser.add_argument(
        "--baseline", metavar="REV", help="also time the hand-written validators of git REV"
    )
    args = parser.parse_args()
    timing(args.n, args.rounds, args.baseline)
    if args.errors:
        errors()
    if args.footprint:
        footprint()


if __name__ == "__main__":
    main()
