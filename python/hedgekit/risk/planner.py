"""Collateral rebalancing advice: which transfers between venues bring each to its target.

Every venue gets a :class:`VenueTarget` — the collateral it holds and the collateral it
``required`` to meet its target, either free collateral over the margin its pairs need
(:meth:`VenueTarget.free_collateral`) or a liquidation distance for its positions
(:meth:`VenueTarget.liquidation_distance`, exact through the margin model). :func:`plan_rebalance`
moves surplus to deficits along the given :class:`Route` s and returns a :class:`Plan`. The plan
is advice: nothing here moves money.

A route's ``fee`` is a fixed amount in collateral units taken from each transfer on it: a
transfer of ``amount`` leaves the source and ``amount - fee`` reaches the destination.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from hedgekit.errors import InvalidArgumentError
from hedgekit.risk._exact import ZERO, exact, non_negative
from hedgekit.risk.margin import Account

__all__ = ["Plan", "Route", "Transfer", "VenueTarget", "plan_rebalance"]


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"{what} must be a non-empty str, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class VenueTarget:
    """One venue's collateral and the collateral its target needs.

    Attributes:
        venue: The venue's name.
        collateral: Collateral held now (≥ 0).
        required: Collateral the venue must hold to meet its target (≥ 0).

    Raises:
        InvalidArgumentError: An empty name or a negative amount.
    """

    venue: str
    collateral: Decimal
    required: Decimal

    def __post_init__(self) -> None:
        _name(self.venue, "venue")
        object.__setattr__(self, "collateral", non_negative(self.collateral, "collateral"))
        object.__setattr__(self, "required", non_negative(self.required, "required"))

    @classmethod
    @exact
    def free_collateral(
        cls, venue: str, collateral: Decimal, margin_needed: Decimal, free: Decimal
    ) -> VenueTarget:
        """A target of ``free`` collateral over the ``margin_needed`` by the venue's pairs:
        ``required = margin_needed + free``."""
        need = non_negative(margin_needed, "margin_needed") + non_negative(free, "free")
        return cls(venue, collateral, need)

    @classmethod
    def liquidation_distance(
        cls, venue: str, account: Account, min_distance: Decimal, free: Decimal = ZERO
    ) -> VenueTarget:
        """A target of a liquidation distance of at least ``min_distance`` for every position of
        ``account``, and of ``free`` (≥ 0) collateral over its initial margin:
        ``required = max(account.collateral_for_distance(min_distance),
        account.collateral_for_free(free))`` (exact)."""
        need = max(account.collateral_for_distance(min_distance), account.collateral_for_free(free))
        return cls(venue, account.collateral, need)

    @property
    @exact
    def surplus(self) -> Decimal:
        """``collateral - required``: negative for a deficit."""
        return self.collateral - self.required


@dataclass(frozen=True, slots=True)
class Route:
    """A way to move collateral from one venue to another.

    Attributes:
        from_venue: The source venue.
        to_venue: The destination venue.
        fee: Fixed cost of one transfer, taken from the amount sent (≥ 0).
        min_amount: The smallest amount the route accepts (≥ 0).
        expected_wait_s: Expected seconds until the amount is usable at the destination.

    Raises:
        InvalidArgumentError: An empty or identical pair of names, or a negative value.
    """

    from_venue: str
    to_venue: str
    fee: Decimal
    min_amount: Decimal = ZERO
    expected_wait_s: int = 0

    def __post_init__(self) -> None:
        _name(self.from_venue, "from_venue")
        _name(self.to_venue, "to_venue")
        if self.from_venue == self.to_venue:
            raise InvalidArgumentError(f"a route needs two venues, got {self.from_venue!r} twice")
        object.__setattr__(self, "fee", non_negative(self.fee, "fee"))
        object.__setattr__(self, "min_amount", non_negative(self.min_amount, "min_amount"))
        w = self.expected_wait_s
        if isinstance(w, bool) or not isinstance(w, int) or w < 0:
            raise InvalidArgumentError(f"expected_wait_s must be an int ≥ 0, got {w!r}")


@dataclass(frozen=True, slots=True)
class Transfer:
    """One advised transfer.

    Attributes:
        from_venue: Where ``amount`` leaves.
        to_venue: Where ``amount - cost`` arrives.
        amount: What leaves the source.
        cost: The route's fee.
        wait_s: The route's expected wait.
    """

    from_venue: str
    to_venue: str
    amount: Decimal
    cost: Decimal
    wait_s: int

    @property
    @exact
    def received(self) -> Decimal:
        """``amount - cost``: what reaches the destination."""
        return self.amount - self.cost


@dataclass(frozen=True, slots=True)
class Plan:
    """Transfers that bring venues to their targets, and what stays short.

    Attributes:
        transfers: In the order they were chosen; independent of each other (none spends what
            another brings), so they can run in parallel.
        after: Each venue's collateral once every transfer has arrived.
        shortfalls: Each venue still below its target after the plan, and by how much.
        total_cost: The sum of the transfers' costs.
        wait_s: The longest expected wait among the transfers (they can run in parallel).
    """

    transfers: tuple[Transfer, ...]
    after: Mapping[str, Decimal] = field(hash=False)
    shortfalls: Mapping[str, Decimal] = field(hash=False)
    total_cost: Decimal
    wait_s: int

    @property
    def feasible(self) -> bool:
        """True when every venue meets its target after the plan."""
        return not self.shortfalls


@exact
def plan_rebalance(targets: Iterable[VenueTarget], routes: Iterable[Route]) -> Plan:
    """A greedy rebalancing plan: surplus venues fund deficit venues over the cheapest routes.

    What it does, and so what it optimises: deficits are served largest first (ties by name).
    For each, a route able to cover the whole remaining deficit in one transfer is preferred
    (fewest transfers, as each pays a fixed fee), then the lowest fee, then the shortest wait,
    then the largest source surplus; a route that cannot cover it sends the source's whole
    surplus and the next route is tried. A transfer sends ``max(deficit + fee, min_amount)``
    (the destination may end above its target to honour a route minimum) or, partially, the
    source's whole surplus when that is at least the minimum and more than the fee.
    It is not a global minimum-cost solver (no multi-hop routes either), but it never takes a
    venue below its own target — a venue only ever sends its surplus over ``required`` — and
    money is conserved: ``Σ amount sent == Σ amount received + Σ cost``.

    Args:
        targets: One target per venue (names unique).
        routes: The usable routes; a route naming a venue without a target is ignored.

    Returns:
        The plan; :attr:`Plan.shortfalls` names every venue still short, with the amount.

    Raises:
        InvalidArgumentError: Two targets for one venue.
    """
    tgt: dict[str, VenueTarget] = {}
    for t in targets:
        if not isinstance(t, VenueTarget):
            raise InvalidArgumentError(f"a target must be a VenueTarget, got {t!r}")
        if t.venue in tgt:
            raise InvalidArgumentError(f"two targets for venue {t.venue!r}")
        tgt[t.venue] = t
    usable = [r for r in routes if r.from_venue in tgt and r.to_venue in tgt]
    balance = {v: t.collateral for v, t in tgt.items()}

    def surplus(v: str) -> Decimal:
        return balance[v] - tgt[v].required

    transfers: list[Transfer] = []
    deficits = sorted((v for v in tgt if surplus(v) < 0), key=lambda v: (surplus(v), v))
    receivers = frozenset(deficits)  # never sources: each transfer spends only what was there
    for dst in deficits:
        while (need := -surplus(dst)) > 0:
            best: tuple[tuple[int, Decimal, int, Decimal, str], Route, Decimal] | None = None
            for r in usable:
                if r.to_venue != dst or r.from_venue in receivers:
                    continue
                avail = surplus(r.from_venue)
                if avail <= 0:
                    continue
                amount = max(need + r.fee, r.min_amount)
                covers = amount <= avail
                if not covers:
                    amount = avail
                if amount < r.min_amount or amount <= r.fee:
                    continue
                key = (0 if covers else 1, r.fee, r.expected_wait_s, -avail, r.from_venue)
                if best is None or key < best[0]:
                    best = (key, r, amount)
            if best is None:
                break
            _, r, amount = best
            balance[r.from_venue] -= amount
            balance[dst] += amount - r.fee
            transfers.append(Transfer(r.from_venue, dst, amount, r.fee, r.expected_wait_s))
    shortfalls = {v: -surplus(v) for v in sorted(tgt) if surplus(v) < 0}
    return Plan(
        transfers=tuple(transfers),
        after=MappingProxyType(dict(balance)),
        shortfalls=MappingProxyType(shortfalls),
        total_cost=sum((t.cost for t in transfers), ZERO),
        wait_s=max((t.wait_s for t in transfers), default=0),
    )
