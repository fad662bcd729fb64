"""Typed schemas for hedgekit's input files, validated by msgspec, with one-line errors.

Each file kind (a scenario, a strategy configuration) is described once, as ``msgspec.Struct``
types in its own module; :func:`convert` checks a parsed TOML/JSON document against such a
type in one pass (``msgspec.convert``, strict: no string is read as a number, no float as an
integer) and returns the typed structs. What a schema cannot say (one field given with another,
a name that must be unique, a symbol that must match a venue's) stays a small function run on
the result.

msgspec reports the first problem as ``"Expected `int`, got `float` - at `$.venues[0].n`"``;
:func:`convert` turns that into the caller's error with the field as a dotted path
(``venues[0].n``) and a message in hedgekit's words, computed from the schema and the offending
value (``an integer is required, got 1.5``), on one line, never a traceback.

Exact numbers (prices, sizes, bps) are :class:`Exact` values: a string or an integer, read with
``Decimal`` (never through a float); a TOML or JSON float is refused, since it may not be the
number that was written.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, ClassVar, Final, Literal, TypeVar

import msgspec
import msgspec.inspect as mi

__all__ = [
    "MAX_EXACT",
    "Exact",
    "FractionOrOff",
    "NonNegativeExact",
    "Pairs",
    "PositiveExact",
    "Quantity",
    "MAX_FLOAT",
    "Rate",
    "RateOrOff",
    "convert",
    "replace_from",
]

T = TypeVar("T")

MAX_EXACT: Final = Decimal("9223372036.854775807")
"""The largest magnitude of an :class:`Exact` value: the core's fixed-point range (nine decimals
in an ``i64``)."""
_NINE: Final = Decimal("1e-9")
_CAP_FROM: Final = 86_400.0
"""A float upper bound this large is a safety cap (no file may make a run endless), not part of
the field's meaning: an error names the bound that was crossed instead of the whole range."""
MAX_FLOAT: Final = 1.7976931348623157e308
"""The largest finite float: ``Meta(le=MAX_FLOAT)`` refuses infinity (msgspec has no ``finite``
constraint)."""


class _Custom:
    """A value type checked by its own ``from_raw`` (called through msgspec's ``dec_hook``)."""

    expected: ClassVar[str]
    """What is required, as a noun phrase, for messages."""


# ------------------------------------------------------------------------ exact numbers


def _decimal(value: object, example: str) -> Decimal:
    """``value`` (a string or an integer) as a finite ``Decimal``; never through a float."""
    if isinstance(value, bool | float) or not isinstance(value, str | int):
        raise ValueError(
            f'an exact number is required as a string or integer ("{example}"), got {value!r}'
        )
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not d.is_finite():
        raise ValueError(f"must be finite, got {value!r}")
    return d


class Exact(Decimal, _Custom):
    """An exact number written as a string (``"2.332"``) or an integer: at most nine decimals,
    at most :data:`MAX_EXACT` in magnitude (what the core represents exactly)."""

    __slots__ = ()
    expected: ClassVar[str] = 'an exact number (a string or integer such as "2.332")'

    @classmethod
    def from_raw(cls, value: object) -> Decimal:
        """Checks ``value`` and returns it as an instance of ``cls``."""
        d = _decimal(value, "2.332")
        if abs(d) > MAX_EXACT or d != d.quantize(_NINE, rounding=ROUND_DOWN):
            raise ValueError(
                f"must have at most 9 decimals and lie within ±{MAX_EXACT} (the core's exact "
                f"range), got {value!r}"
            )
        cls._check_sign(d, value)
        return cls(d)

    @classmethod
    def _check_sign(cls, d: Decimal, value: object) -> None:
        """Any sign is accepted."""


class PositiveExact(Exact):
    """An :class:`Exact` number greater than zero."""

    __slots__ = ()
    expected: ClassVar[str] = 'a positive exact number (a string or integer such as "2.332")'

    @classmethod
    def _check_sign(cls, d: Decimal, value: object) -> None:
        if d <= 0:
            raise ValueError(f"must be positive, got {d}")


class NonNegativeExact(Exact):
    """An :class:`Exact` number of at least zero."""

    __slots__ = ()
    expected: ClassVar[str] = 'a non-negative exact number (a string or integer such as "2.332")'

    @classmethod
    def _check_sign(cls, d: Decimal, value: object) -> None:
        if d < 0:
            raise ValueError(f"must not be negative, got {d}")


class Quantity(Decimal, _Custom):
    """A finite exact number written as a string or an integer (no range beyond that)."""

    __slots__ = ()
    expected: ClassVar[str] = 'an exact number (a string or integer such as "2.5")'

    @classmethod
    def from_raw(cls, value: object) -> Decimal:
        """Checks ``value`` and returns it as a ``Quantity``."""
        return cls(_decimal(value, "2.5"))


class Rate(Decimal, _Custom):
    """A finite number kept as a ``Decimal``: a string, an integer, or a float read as the
    shortest text that gives that float back (``0.1`` is ``Decimal("0.1")``)."""

    __slots__ = ()
    expected: ClassVar[str] = "a number (a string, an integer or a float)"

    @classmethod
    def from_raw(cls, value: object) -> Decimal:
        """Checks ``value`` and returns it as a ``Rate``."""
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"must be finite, got {value!r}")
            return cls(repr(value))
        return cls(_decimal(value, "2.5"))


class FractionOrOff(_Custom):
    """An exact fraction strictly between 0 and 1 (a string such as ``"0.05"``), or ``false``
    to turn the setting off (:attr:`value` is then ``None``): a threshold that may be off."""

    __slots__ = ("value",)
    expected: ClassVar[str] = 'an exact fraction between 0 and 1 (such as "0.05"), or false'

    def __init__(self, value: Decimal | None) -> None:
        self.value = value

    @classmethod
    def from_raw(cls, value: object) -> FractionOrOff:
        """Checks ``value``: ``false`` or an exact number in (0, 1)."""
        if value is False:
            return cls(None)
        if value is True:
            raise ValueError(f"{cls.expected} is required, got True")
        d = Exact.from_raw(value)
        if not 0 < d < 1:
            raise ValueError(f"must lie strictly between 0 and 1, got {d}")
        return cls(Decimal(d))


# -------------------------------------------------------------------------------- pairs


class Pairs(_Custom):
    """A list of ``[a, b]`` pairs of finite numbers (integers or floats).

    Subclasses say what the pair holds (:attr:`expected`) and may require non-negative numbers
    (:attr:`non_negative`).
    """

    __slots__ = ("items",)
    expected: ClassVar[str] = "a list of [a, b] pairs"
    non_negative: ClassVar[bool] = False

    def __init__(self, items: tuple[tuple[float, float], ...]) -> None:
        self.items = items

    @classmethod
    def from_raw(cls, value: object) -> Pairs:
        """Checks ``value`` and returns the pairs."""
        ok = isinstance(value, list) and all(
            isinstance(pair, list)
            and len(pair) == 2
            and all(
                isinstance(x, int | float)
                and not isinstance(x, bool)
                and math.isfinite(x)
                and abs(x) <= 86_400_000.0
                and (x >= 0 or not cls.non_negative)
                for x in pair
            )
            for pair in value
        )
        if not ok:
            raise ValueError(f"{cls.expected} is required")
        assert isinstance(value, list)
        return cls(tuple((float(a), float(b)) for a, b in value))


class RateOrOff(_Custom):
    """A :class:`Rate`, or ``false`` to turn the setting off (:attr:`value` is then ``None``)."""

    __slots__ = ("value",)
    expected: ClassVar[str] = "a number (a string, an integer or a float), or false"

    def __init__(self, value: Decimal | None) -> None:
        self.value = value

    @classmethod
    def from_raw(cls, value: object) -> RateOrOff:
        """Checks ``value``: ``false`` or a :class:`Rate`."""
        if value is False:
            return cls(None)
        if value is True:
            raise ValueError(f"{cls.expected} is required, got True")
        return cls(Decimal(Rate.from_raw(value)))


# -------------------------------------------------------------------------------- convert


def _dec_hook(tp: type, value: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, _Custom):
        return tp.from_raw(value)  # type: ignore[attr-defined]
    raise NotImplementedError(f"no schema type {tp!r}")


UnknownStyle = Literal["table", "key"]


def convert(
    data: object,
    schema: type[T],
    error: Callable[[str, str], Exception],
    *,
    unknown: UnknownStyle = "table",
) -> T:
    """``data`` (a parsed TOML/JSON document) validated as ``schema``.

    Args:
        data: The document.
        schema: A ``msgspec.Struct`` type describing it.
        error: Builds the exception to raise from a field path and a message.
        unknown: How an unknown key is reported: at its table (``"table"``: field
            ``venues[0]``, message ``unknown field(s): colour``) or at the key itself
            (``"key"``: field ``atomic.nope``, message ``unknown field; known: ...``).

    Returns:
        The typed document.

    Raises:
        Exception: ``error(field, message)`` for the first problem found.
    """
    try:
        return msgspec.convert(data, schema, strict=True, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        field, message = explain(str(exc), data, schema, unknown)
    raise error(field, message)


D = TypeVar("D")


def replace_from(
    base: D, spec: msgspec.Struct, path: str, error: Callable[[str, str], Exception]
) -> D:
    """``base`` (a frozen dataclass) with every field ``spec`` gives (not ``None``) replaced.

    A nested struct replaces the dataclass held in that field the same way; exact numbers
    become plain ``Decimal`` values and lists tuples of them. The dataclass's own checks run
    (``dataclasses.replace``); a ``ValueError`` from them is ``error(path, message)``.
    """
    kw: dict[str, Any] = {}
    for name in spec.__struct_fields__:
        value = getattr(spec, name)
        if value is None:
            continue
        if isinstance(value, msgspec.Struct):
            value = replace_from(getattr(base, name), value, f"{path}.{name}", error)
        elif isinstance(value, Decimal):
            value = Decimal(value)
        elif isinstance(value, list):
            value = tuple(Decimal(x) if isinstance(x, Decimal) else x for x in value)
        kw[name] = value
    try:
        return dataclasses.replace(base, **kw)  # type: ignore[type-var]
    except ValueError as exc:
        raise error(path, str(exc)) from None


# ------------------------------------------------------------------------------ messages

_MISSING: Final = object()
_TOKEN = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")


def _split(text: str) -> tuple[str, str | None, bool]:
    """msgspec's message, its ``$`` path (``None``: the top level) and whether it is about a
    mapping's key (``... - at `key` in `$.x```)."""
    if " - at `" not in text:
        return text, None, False
    message, loc = text.rsplit(" - at `", 1)
    is_key = loc.startswith("key` in `")
    if is_key:
        loc = loc[len("key` in `") :]
    return message, loc.rstrip("`"), is_key


def _base(t: mi.Type) -> mi.Type:
    return t.type if isinstance(t, mi.Metadata) else t


def _extra(t: mi.Type) -> dict[str, Any]:
    return dict(t.extra or {}) if isinstance(t, mi.Metadata) else {}


def _options(t: mi.Type) -> list[mi.Type]:
    """The types a value of ``t`` may have, ``None`` left out."""
    b = _base(t)
    if isinstance(b, mi.UnionType):
        return [x for x in b.types if not isinstance(_base(x), mi.NoneType)]
    return [t]


def _structs(t: mi.Type) -> list[mi.StructType]:
    return [s for s in map(_base, _options(t)) if isinstance(s, mi.StructType)]


def _struct_for(t: mi.Type, value: object) -> mi.StructType | None:
    """The struct type of ``t`` that ``value`` (a table) is read as (by its tag if several)."""
    structs = _structs(t)
    if len(structs) > 1 and isinstance(value, Mapping):
        for s in structs:
            if s.tag_field is not None and value.get(s.tag_field) == s.tag:
                return s
    return structs[0] if structs else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _out_of_range(value: float, b: mi.IntType | mi.FloatType) -> bool:
    if not math.isfinite(value):
        return isinstance(b, mi.FloatType) and (
            b.le is not None or b.lt is not None or value != value
        )
    return (
        (b.ge is not None and value < b.ge)
        or (b.gt is not None and value <= b.gt)
        or (b.le is not None and value > b.le)
        or (b.lt is not None and value >= b.lt)
    )


def _fits(value: object, t: mi.Type) -> bool:
    """Whether a scalar ``value`` satisfies a scalar type (to find a mapping's bad value)."""
    b = _base(t)
    if isinstance(b, mi.StrType):
        return isinstance(value, str) and len(value) >= (b.min_length or 0)
    if isinstance(b, mi.BoolType):
        return isinstance(value, bool)
    if isinstance(b, mi.IntType | mi.FloatType):
        if not _is_number(value) or (isinstance(b, mi.IntType) and not isinstance(value, int)):
            return False
        assert isinstance(value, int | float)
        return not _out_of_range(value, b)
    return True


def _walk(schema: type, data: object, loc: str) -> tuple[str, mi.Type, object]:
    """Follows msgspec's ``$`` path through the schema and the data: the dotted path, the type
    there and the value there (``_MISSING`` when absent)."""
    t: mi.Type = mi.type_info(schema)
    value: object = data
    path = ""
    for name, index in _TOKEN.findall(loc):
        if name:
            struct = _struct_for(t, value)
            if struct is not None and name == struct.tag_field:
                t = mi.LiteralType(tuple(str(s.tag) for s in _structs(t)))
            elif struct is not None:
                fields = {f.encode_name: f.type for f in struct.fields}
                t = fields.get(name, mi.AnyType())
            path = f"{path}.{name}" if path else name
            value = value.get(name, _MISSING) if isinstance(value, Mapping) else _MISSING
        elif index == "...":
            mapping = next((o for o in map(_base, _options(t)) if isinstance(o, mi.DictType)), None)
            if mapping is None or not isinstance(value, Mapping):
                break
            t = mapping.value_type
            bad = next((k for k, v in value.items() if not _fits(v, t)), None)
            if bad is None:
                break
            path, value = f"{path}.{bad}", value[bad]
        else:
            i = int(index)
            seq = next((o for o in map(_base, _options(t)) if isinstance(o, mi.ListType)), None)
            t = seq.item_type if seq is not None else mi.AnyType()
            path = f"{path}[{i}]"
            value = value[i] if isinstance(value, list) and i < len(value) else _MISSING
    return path, t, value


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) and abs(x) >= 1e6 else str(x)


def _choices(t: mi.Type) -> list[str] | None:
    """The allowed values of an enumeration or literal type, else ``None``."""
    options = _options(t)
    b = _base(options[0]) if len(options) == 1 else None
    if isinstance(b, mi.LiteralType):
        return [str(v) for v in b.values]
    if isinstance(b, mi.EnumType):
        return [str(m.value) for m in b.cls]
    return None


def describe(t: mi.Type) -> str:
    """What a value of type ``t`` must be, as a noun phrase (``an integer``, ``a list of
    tables``); a ``Meta(extra={"expected": ...})`` on the type says it in its own words."""
    extra = _extra(t)
    if "expected" in extra:
        return str(extra["expected"])
    options = _options(t)
    if len(options) > 1:
        if all(isinstance(_base(o), mi.StructType) for o in options):
            return "a table"
        return " or ".join(describe(o) for o in options)
    if options[0] is not t:
        return describe(options[0])
    b = _base(t)
    choices = _choices(t)
    if choices is not None:
        return f"a non-empty string (one of {', '.join(choices)})"
    if isinstance(b, mi.CustomType) and issubclass(b.cls, _Custom):
        return b.cls.expected
    if isinstance(b, mi.IntType):
        return "an integer"
    if isinstance(b, mi.FloatType):
        return "a number"
    if isinstance(b, mi.StrType):
        return "a non-empty string" if (b.min_length or 0) >= 1 else "a string"
    if isinstance(b, mi.BoolType):
        return "true or false"
    if isinstance(b, mi.StructType | mi.DictType):
        return "a table"
    if isinstance(b, mi.ListType):
        item = _base(b.item_type)
        return "a list of tables" if isinstance(item, mi.StructType) else "a list"
    return "a value"


def _range(value: float, b: mi.IntType | mi.FloatType) -> str:
    lo = b.ge if b.ge is not None else b.gt
    hi = b.le if b.le is not None else b.lt
    finite = "" if math.isfinite(value) else " a finite number"
    if isinstance(b, mi.FloatType) and lo is not None and hi is not None and hi < _CAP_FROM:
        return f"must be{finite} between {lo} and {hi}, got {value}"
    if value != value:
        return f"must be a finite number, got {value}"
    if lo is not None and (value < lo or (b.gt is not None and value <= lo)):
        word = "greater than" if b.gt is not None else "at least"
        return f"must be{finite} {word} {lo}, got {value}"
    if hi is not None:
        word = "less than" if b.lt is not None else "at most"
        return f"must be{finite} {word} {_num(hi)}, got {value}"
    return f"out of range, got {value}"


def _show(value: object) -> str:
    return "nothing" if value is _MISSING else repr(value)


def explain(
    text: str, data: object, schema: type, unknown: UnknownStyle = "table"
) -> tuple[str, str]:
    """The field path and the message for msgspec's error ``text`` on ``data`` read as
    ``schema``."""
    message, loc, is_key = _split(text)
    path, t, value = _walk(schema, data, loc or "")
    if message.startswith("Object contains unknown field `"):
        struct = _struct_for(t, value)
        known = {f.encode_name for f in struct.fields} if struct else set()
        if struct is not None and struct.tag_field is not None:
            known.add(struct.tag_field)
        keys = value if isinstance(value, Mapping) else {}
        extra = sorted(str(k) for k in keys if k not in known) or [message.split("`")[1]]
        if unknown == "key":
            where = f"{path}.{extra[0]}" if path else extra[0]
            return where, f"unknown field; known: {', '.join(sorted(known))}"
        return path or "(top level)", f"unknown field(s): {', '.join(extra)}"
    if message.startswith("Object missing required field `"):
        name = message.split("`")[1]
        where = f"{path}.{name}" if path else name
        struct = _struct_for(t, value)
        if struct is not None and name == struct.tag_field:
            tags = ", ".join(str(s.tag) for s in _structs(t))
            return where, f"a non-empty string (one of {tags}) is required"
        fields = {f.encode_name: f.type for f in struct.fields} if struct else {}
        what = describe(fields[name]) if name in fields else "a value"
        return where, f"{what} is required"
    if is_key:
        return path, "keys must be strings"
    if message.startswith(("Invalid enum value ", "Invalid value ")):
        choices = _choices(t)
        listed = ", ".join(choices) if choices else describe(t)
        return path, f"one of {listed}; got {_show(value)}"
    options = _options(t)
    one = options[0] if len(options) == 1 else None
    base = _base(one) if one is not None else None
    if isinstance(base, mi.CustomType) or not message.startswith("Expected `"):
        return path, message  # a custom type's own message, or one we have no words for
    what = describe(t)
    if one is not None and "expected" in _extra(one):
        return path, f"{what} is required, got {_show(value)}"
    if (
        isinstance(base, mi.IntType | mi.FloatType)
        and _is_number(value)
        and (isinstance(base, mi.FloatType) or isinstance(value, int))
    ):
        assert isinstance(value, int | float)
        return path, _range(value, base)
    return path, f"{what} is required, got {_show(value)}"
