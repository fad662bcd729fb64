"""Value types: the hedge path's trusted order constructor makes the same value as the checked one; a
fill built through its slots is the same value a dataclass builds."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from decimal import Decimal

import pytest

from hedgekit.model import Fill, Liquidity, OrderRequest, OrderType, Side, TimeInForce


@pytest.mark.parametrize("tif", [TimeInForce.IOC, TimeInForce.GTC, TimeInForce.POST_ONLY])
@pytest.mark.parametrize("reduce_only", [False, True])
def test_a_trusted_request_is_the_same_value_as_a_checked_one(
    tif: TimeInForce, reduce_only: bool
) -> None:
    checked = OrderRequest(
        "ETH", Side.SELL, Decimal("1.5"), Decimal("2400.1"), "hk-7",
        order_type=OrderType.LIMIT, tif=tif, reduce_only=reduce_only,
    )  # fmt: skip
    trusted = OrderRequest.trusted(
        "ETH", Side.SELL, Decimal("1.5"), Decimal("2400.1"), "hk-7", tif, reduce_only
    )
    assert trusted == checked
    assert hash(trusted) == hash(checked)
    assert repr(trusted) == repr(checked)
    assert trusted.order_type is OrderType.LIMIT


def test_a_trusted_request_is_frozen_like_any_other() -> None:
    trusted = OrderRequest.trusted(
        "ETH", Side.BUY, Decimal("1"), Decimal("2400"), "hk-1", TimeInForce.IOC
    )
    with pytest.raises(AttributeError):
        trusted.size = Decimal(2)  # type: ignore[misc]


def test_the_checked_constructor_still_refuses_what_the_rules_never_passed() -> None:
    with pytest.raises(ValueError, match="size"):
        OrderRequest("ETH", Side.BUY, Decimal(0), Decimal("2400"), "hk-1")
    with pytest.raises(ValueError, match="price"):
        OrderRequest("ETH", Side.BUY, Decimal(1), Decimal("-1"), "hk-1")


def _fill_args() -> dict[str, object]:
    return dict(
        venue="hl", symbol="ETH", client_id="hk-1", venue_order_id="v1", trade_id=7,
        side=Side.BUY, price=Decimal("2400.5"), size=Decimal("0.25"), fee=Decimal("0.01"),
        liquidity=Liquidity.TAKER, ts_ns=123,
    )  # fmt: skip


def test_a_fill_built_by_position_or_keyword_is_the_same_value() -> None:
    args = _fill_args()
    by_keyword = Fill(**args)  # type: ignore[arg-type]
    by_position = Fill(*args.values())  # type: ignore[arg-type]
    assert by_keyword == by_position
    assert hash(by_keyword) == hash(by_position)
    assert [getattr(by_keyword, f.name) for f in dataclasses.fields(Fill)] == list(args.values())
    assert repr(by_keyword) == (
        "Fill(venue='hl', symbol='ETH', client_id='hk-1', venue_order_id='v1', trade_id=7, "
        "side=<Side.BUY: 'buy'>, price=Decimal('2400.5'), size=Decimal('0.25'), "
        "fee=Decimal('0.01'), liquidity=<Liquidity.TAKER: 'taker'>, ts_ns=123)"
    )
    assert dataclasses.replace(by_keyword, client_id="hk-2").client_id == "hk-2"
    assert pickle.loads(pickle.dumps(by_keyword)) == by_keyword
    assert list(inspect.signature(Fill).parameters) == list(args)


def test_a_fill_is_frozen_and_refuses_a_missing_or_unknown_field() -> None:
    fill = Fill(**_fill_args())  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        fill.size = Decimal(1)  # type: ignore[misc]
    short = _fill_args()
    del short["ts_ns"]
    with pytest.raises(TypeError):
        Fill(**short)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Fill(**_fill_args(), extra=1)  # type: ignore[arg-type]
