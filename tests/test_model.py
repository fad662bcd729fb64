"""Value types: the hedge path's trusted order constructor makes the same value as the checked one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgekit.model import OrderRequest, OrderType, Side, TimeInForce


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
