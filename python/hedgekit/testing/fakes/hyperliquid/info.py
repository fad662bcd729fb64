"""``POST /info``: the read requests, in the shapes of ``venues.md`` §1.3.

Users are matched case-insensitively; a user the venue does not know (an agent address, for
one) reads as an empty account, as on the venue. Unknown keys (the SDK's ``"dex": ""``) are
ignored. A request the fake cannot answer is ``None`` (the server answers it with HTTP 422).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from hedgekit.testing.fakes.hyperliquid.state import AccountState, VenueState
from hedgekit.testing.fakes.hyperliquid.wire import num

__all__ = ["MAX_FILLS", "answer_info"]

MAX_FILLS = 2000
"""The most fills one ``userFills``/``userFillsByTime`` answer carries."""

_MS = 1_000_000
_USD = Decimal("0.000001")


def answer_info(state: VenueState, req: object, now_ms: int) -> Any:
    """The answer to one ``/info`` body, or ``None`` for an unknown or malformed request."""
    if not isinstance(req, dict) or not isinstance(req.get("type"), str):
        return None
    kind = req["type"]
    user = req.get("user")
    acct = state.accounts.get(user.lower()) if isinstance(user, str) else None
    if kind == "meta":
        return _meta(state)
    if kind == "spotMeta":
        return {"universe": [], "tokens": []}
    if kind == "spotMetaAndAssetCtxs":
        return [{"universe": [], "tokens": []}, []]
    if kind == "perpDexs":
        return [None]
    if kind == "metaAndAssetCtxs":
        return [_meta(state), [_ctx(state, m.coin, now_ms) for m in state.markets]]
    if kind == "allMids":
        return {m.coin: num(state.mid(m.coin)) for m in state.markets}
    if kind == "l2Book":
        coin = req.get("coin")
        if not isinstance(coin, str) or coin not in state.asset_of:
            return None
        bids, asks = state.levels(str(coin))
        return {"coin": coin, "time": now_ms, "levels": [bids, asks]}
    if kind == "fundingHistory":
        coin = req.get("coin")
        if not isinstance(coin, str) or coin not in state.asset_of:
            return None
        rows = state.funding_history[str(coin)]
        return _window(rows, req, 500)
    if kind == "predictedFundings":
        return _predicted(state, now_ms)
    if not isinstance(user, str):
        return None
    if kind == "userRole":
        return _role(state, user.lower())
    if kind == "clearinghouseState":
        return _clearinghouse(state, acct, now_ms)
    if kind == "openOrders":
        return [] if acct is None else [o.basic() for o in acct.open_orders()]
    if kind == "frontendOpenOrders":
        return [] if acct is None else [o.frontend() for o in acct.open_orders()]
    if kind == "orderStatus":
        return _order_status(acct, req.get("oid"))
    if kind == "userFills":
        return [] if acct is None else list(reversed(acct.fills[-MAX_FILLS:]))
    if kind == "userFillsByTime":
        return [] if acct is None else _window(acct.fills, req, MAX_FILLS)
    if kind == "userFunding":
        return [] if acct is None else _window(acct.fundings, req, 500)
    if kind == "userRateLimit":
        vol = Decimal(0) if acct is None else acct.volume
        used = 0 if acct is None else acct.requests
        cap = 10_000 + int(vol)
        return {"cumVlm": num(vol.quantize(_USD, ROUND_HALF_EVEN)), "nRequestsUsed": used, "nRequestsCap": cap,
                "nRequestsSurplus": 0}  # fmt: skip
    if kind == "userFees":
        return _fees()
    return None


def _role(state: VenueState, user: str) -> dict[str, Any]:
    """``userRole``: ``user`` (an account), ``agent`` with its master, or ``missing``."""
    if user in state.accounts:
        return {"role": "user"}
    master = state.agents.get(user)
    if master is not None:
        return {"role": "agent", "data": {"user": master}}
    return {"role": "missing"}


def _meta(state: VenueState) -> dict[str, Any]:
    return {
        "universe": [
            {
                "name": m.coin,
                "szDecimals": m.sz_decimals,
                "maxLeverage": m.max_leverage,
                "marginTableId": m.max_leverage,
            }  # fmt: skip
            for m in state.markets
        ],
        "marginTables": [
            [lev, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": lev}]}]
            for lev in sorted({m.max_leverage for m in state.markets})
        ],
    }


def _ctx(state: VenueState, coin: str, now_ms: int) -> dict[str, Any]:
    mid = state.mid(coin)
    rate = state.outside.funding_rates(now_ms * _MS)[coin].rate
    bids, asks = state.levels(coin, 1)
    impact = [bids[0]["px"], asks[0]["px"]] if bids and asks else None
    oracle = state.outside.mid(coin)
    assert oracle is not None
    return {
        "funding": num(rate),
        "openInterest": "0.0",
        "prevDayPx": num(oracle),
        "dayNtlVlm": "0.0",
        "premium": "0.0",
        "oraclePx": num(oracle),
        "markPx": num(oracle),
        "midPx": num(mid),
        "impactPxs": impact,
        "dayBaseVlm": "0.0",
    }


def _predicted(state: VenueState, now_ms: int) -> list[Any]:
    out = []
    for m in state.markets:
        fr = state.outside.funding_rates(now_ms * _MS)[m.coin]
        out.append(
            [
                m.coin,
                [
                    [
                        "HlPerp",
                        {
                            "fundingRate": num(fr.rate),
                            "nextFundingTime": fr.next_funding_ns // _MS,
                            "fundingIntervalHours": 1,
                        },
                    ]
                ],
            ]  # fmt: skip
        )
    return out


def _window(rows: list[dict[str, Any]], req: dict[str, Any], limit: int) -> list[Any]:
    start = req.get("startTime", 0)
    end = req.get("endTime")
    if not isinstance(start, int):
        start = 0
    out = [
        r for r in rows
        if r["time"] >= start and (not isinstance(end, int) or r["time"] <= end)
    ]  # fmt: skip
    return out[:limit]


def _order_status(acct: AccountState | None, ref: object) -> dict[str, Any]:
    rec = None
    if acct is not None:
        if isinstance(ref, int) and not isinstance(ref, bool):
            rec = acct.orders.get(ref)
        elif isinstance(ref, str):
            rec = acct.by_cloid(ref.lower())
    if rec is None:
        return {"status": "unknownOid"}
    return {
        "status": "order",
        "order": {"order": rec.frontend(), "status": rec.status, "statusTimestamp": rec.status_ts},
    }


def _clearinghouse(state: VenueState, acct: AccountState | None, now_ms: int) -> dict[str, Any]:
    zero = {"accountValue": "0.0", "totalNtlPos": "0.0", "totalRawUsd": "0.0",
            "totalMarginUsed": "0.0"}  # fmt: skip
    if acct is None:
        return {"marginSummary": zero, "crossMarginSummary": dict(zero),
                "crossMaintenanceMarginUsed": "0.0", "withdrawable": "0.0",
                "assetPositions": [], "time": now_ms}  # fmt: skip
    engine = acct.engine
    account = engine.risk_account()
    positions = engine.positions(now_ms * _MS)
    ntl = Decimal(0)
    signed = Decimal(0)
    rows = []
    for coin, pos in positions.items():
        mark = pos.mark_price or Decimal(0)
        value = abs(pos.size) * mark
        ntl += value
        signed += pos.size * mark
        lev = pos.leverage or engine.leverage(coin)
        entry = pos.entry_price or mark
        upnl = pos.size * (mark - entry)
        used = value / lev
        cum = acct.cum_funding.get(coin, Decimal(0))
        max_lev = state.markets[state.asset_of[coin]].max_leverage
        rows.append(
            {
                "type": "oneWay",
                "position": {
                    "coin": coin,
                    "szi": num(pos.size),
                    "entryPx": num(entry.quantize(_USD, ROUND_HALF_EVEN)),
                    "leverage": {"type": "cross", "value": int(lev)},
                    "liquidationPx": None
                    if pos.liquidation_price is None
                    else num(pos.liquidation_price.quantize(_USD, ROUND_HALF_EVEN)),
                    "marginUsed": num(used.quantize(_USD, ROUND_HALF_EVEN)),
                    "positionValue": num(value.quantize(_USD, ROUND_HALF_EVEN)),
                    "returnOnEquity": num((upnl / used).quantize(_USD, ROUND_HALF_EVEN))
                    if used
                    else "0.0",
                    "unrealizedPnl": num(upnl.quantize(_USD, ROUND_HALF_EVEN)),
                    "maxLeverage": max_lev,
                    "cumFunding": {
                        "allTime": num(cum.quantize(_USD, ROUND_HALF_EVEN)),
                        "sinceOpen": num(cum.quantize(_USD, ROUND_HALF_EVEN)),
                        "sinceChange": num(cum.quantize(_USD, ROUND_HALF_EVEN)),
                    },
                },
            }
        )
    summary = {
        "accountValue": num(account.equity.quantize(_USD, ROUND_HALF_EVEN)),
        "totalNtlPos": num(ntl.quantize(_USD, ROUND_HALF_EVEN)),
        "totalRawUsd": num((account.equity - signed).quantize(_USD, ROUND_HALF_EVEN)),
        "totalMarginUsed": num(account.initial_margin.quantize(_USD, ROUND_HALF_EVEN)),
    }
    return {
        "marginSummary": summary,
        "crossMarginSummary": dict(summary),
        "crossMaintenanceMarginUsed": num(
            account.maintenance_margin.quantize(_USD, ROUND_HALF_EVEN)
        ),
        "withdrawable": num(max(account.available, Decimal(0)).quantize(_USD, ROUND_HALF_EVEN)),
        "assetPositions": rows,
        "time": now_ms,
    }


def _fees() -> dict[str, Any]:
    return {
        "dailyUserVlm": [],
        "feeSchedule": {
            "cross": "0.00045",
            "add": "0.00015",
            "spotCross": "0.0007",
            "spotAdd": "0.0004",
            "tiers": {"vip": [], "mm": []},
            "referralDiscount": "0.04",
            "stakingDiscountTiers": [],
        },  # fmt: skip
        "userCrossRate": "0.00045",
        "userAddRate": "0.00015",
        "userSpotCrossRate": "0.0007",
        "userSpotAddRate": "0.0004",
        "activeReferralDiscount": "0.0",
        "trial": None,
        "feeTrialReward": "0.0",
        "nextTrialAvailableTimestamp": None,
        "stakingLink": None,
        "activeStakingDiscount": {"bpsOfMaxSupply": "0.0", "discount": "0.0"},
    }
