"""The two rules that decide a People's Budget round, in plain Python (no Django).

Both take the total budget (an int, KZT), the projects' costs ({project id: int > 0}) and the
approval ballots (each an iterable of project ids), and return an `Outcome`: the funded
projects in funding order, the money spent, each project's votes and each project's reason.

`greedy`: projects in descending order of approvals (ties: lower cost first, then lower id);
each is funded if it fits in what remains; one that does not fit is skipped and the next is
tried. This is pabutools' `greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)`
(with Cost_Sat a project's satisfaction per unit of cost is its number of approvals) with the
tie-breaking above: (cost, id) instead of pabutools' default, the project's name.

`equal_shares`: the Method of Equal Shares with cost utilities, then greedy above on the money
left, as pabutools' `completion_by_rule_combination(instance, profile,
[method_of_equal_shares, greedy_utilitarian_welfare], [{"sat_class": Cost_Sat}] * 2)`.
Every voter starts with budget / n (n: all ballots, empty ones too). In each round, for every
project its approvers could still pay for, ρ is the lowest number such that the approvers,
each paying min(their money, ρ · cost) (a project's utility to an approver is its cost), pay
exactly its cost; the project with the lowest ρ is bought (ties: lower cost, then lower id),
its approvers pay, and the rounds go on until no project can be paid for by its approvers.
All arithmetic is exact (integers and fractions.Fraction), as pabutools' (gmpy2.mpq), so ties
are ties.

Speed: identical ballots are counted once, and voters are kept in groups that hold the same
money (a voter's money depends only on which bought projects they approved and in what
order), so a round costs the number of groups, not the number of voters; for each project
only the groups of its approvers are read, and rounds skip the projects whose ρ from an
earlier round (a lower bound: ρ only grows) is already above the best found, as pabutools
does. 200,000 ballots over 60 projects take about 2 s (bench/budget_outcome.py).

Reasons (codes; budgets.reasons says them in words):
- "funded": bought by the rule (for equal_shares: by the equal shares themselves);
- "funded_by_completion": equal_shares only, bought by the greedy completion;
- "not_funded_supporters_spent", reason_data {"spent_on": [ids]}: equal_shares only, its
  approvers' shares went to these projects (bought by equal shares, in buying order) and what
  was left of them could not pay for it;
- "not_funded_no_room", reason_data {"remaining": int}: it did not fit the money that remained
  when its turn came (greedy, or the completion of equal_shares);
- "no_votes", reason_data {"remaining": int}: no one approved it (and it did not fit either:
  like pabutools, both rules fund a project nobody approved if money remains for it at the end).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd

GREEDY = "greedy"
EQUAL_SHARES = "equal_shares"

FUNDED = "funded"
FUNDED_BY_COMPLETION = "funded_by_completion"
SUPPORTERS_SPENT = "not_funded_supporters_spent"
NO_ROOM = "not_funded_no_room"
NO_VOTES = "no_votes"


class RulesInputError(ValueError):
    """The budget, costs or ballots are not a valid instance."""


@dataclass
class Outcome:
    rule: str
    budget: int
    funded: list  # project ids in funding order
    spent: int
    votes: dict  # {project id: approvals}
    reasons: dict  # {project id: reason code}
    reason_data: dict = field(default_factory=dict)  # {project id: {...}}
    ballots: int = 0

    @property
    def funded_set(self) -> frozenset:
        return frozenset(self.funded)

    def projects(self) -> list[dict]:
        """[{"id", "votes", "funded", "reason", "reason_data"}], in the costs' order: the
        shape BudgetOutcome.projects stores."""
        funded = self.funded_set
        return [
            {
                "id": pid,
                "votes": self.votes[pid],
                "funded": pid in funded,
                "reason": self.reasons[pid],
                "reason_data": self.reason_data.get(pid, {}),
            }
            for pid in self.votes
        ]


def _check(budget: int, costs: Mapping) -> None:
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise RulesInputError("budget must be an int >= 0")
    for pid, cost in costs.items():
        if isinstance(cost, bool) or not isinstance(cost, int) or cost <= 0:
            raise RulesInputError(f"cost of {pid!r} must be an int > 0")


def _distinct_ballots(costs: Mapping, ballots: Iterable[Iterable[Hashable]]):
    """(Counter {frozenset of ids: how many ballots}, number of ballots, votes per project)."""
    counted = Counter(frozenset(b) for b in ballots)
    n = sum(counted.values())
    votes = dict.fromkeys(costs, 0)
    for ballot, mult in counted.items():
        for pid in ballot:
            if pid not in votes:
                raise RulesInputError(f"a ballot names an unknown project {pid!r}")
            votes[pid] += mult
    return counted, n, votes


def _greedy_fill(costs, votes, remaining, exclude, funded, reasons, reason_data, code):
    """Greedy over the projects not in `exclude`: by approvals, then cost, then id."""
    order = sorted((p for p in costs if p not in exclude), key=lambda p: (-votes[p], costs[p], p))
    for pid in order:
        cost = costs[pid]
        if cost <= remaining:
            remaining -= cost
            funded.append(pid)
            reasons[pid] = code
        elif pid not in reasons:
            reasons[pid] = NO_VOTES if votes[pid] == 0 else NO_ROOM
            reason_data[pid] = {"remaining": remaining}
    return remaining


def greedy(budget: int, costs: Mapping, ballots: Iterable[Iterable[Hashable]]) -> Outcome:
    """Greedy by approvals; see the module's docstring."""
    costs = dict(costs)
    _check(budget, costs)
    _, n, votes = _distinct_ballots(costs, ballots)
    funded: list = []
    reasons: dict = {}
    reason_data: dict = {}
    remaining = _greedy_fill(costs, votes, budget, (), funded, reasons, reason_data, FUNDED)
    return Outcome(
        rule=GREEDY,
        budget=budget,
        funded=funded,
        spent=budget - remaining,
        votes=votes,
        reasons={p: reasons[p] for p in costs},
        reason_data=reason_data,
        ballots=n,
    )


class _Group:
    """Voters (distinct ballots, with their multiplicity) who hold the same money: `money`
    units of 1/D KZT, where D is the scale the run keeps for every group alike."""

    __slots__ = ("money", "size")

    def __init__(self, money: int):
        self.money = money
        self.size = 0  # voters


def _mes(budget: int, costs: dict, counted: Counter, n: int, votes: dict):
    """Phase one of equal_shares. Returns (the projects bought, in order; {project: the
    bought projects its approvers paid for}).

    Exact integer arithmetic: every group's money is an integer number of 1/D KZT (D starts
    at n, each voter holding `budget` units); buying a project at a payment of num / (rich·D)
    per approver multiplies D and every group's money by `rich`, so all stays integral, and
    the common factor is divided out again after each purchase. ρ values are Fractions.
    """
    bought: list = []
    paid_for: dict = {p: set() for p in costs}
    if n == 0:
        return bought, paid_for
    ballots = [(tuple(b), m) for b, m in counted.items() if b]
    supporters: dict = {p: [] for p in costs}
    for i, (ballot, _m) in enumerate(ballots):
        for pid in ballot:
            supporters[pid].append(i)

    scale = n  # D
    first = _Group(budget)
    # {project: {group: its approvers in that group}}, groups with money > 0 only.
    groups_of: dict = {p: {} for p in costs}
    for ballot, mult in ballots:
        first.size += mult
        for pid in ballot:
            groups_of[pid][first] = groups_of[pid].get(first, 0) + mult
    group_of = [first] * len(ballots)
    live: dict = {first.money: first} if budget > 0 else {}  # groups with money > 0, by money
    broke = _Group(0)  # voters with no money left

    # A lower bound of each project's ρ, which only grows as voters spend: initially
    # cost / (approvals · cost) = 1 / approvals (pabutools' initial affordability).
    rho: dict = {p: Fraction(1, votes[p]) for p in costs if votes[p] > 0}

    while rho:
        best = None
        tied: list = []
        pay_of: dict = {}
        for pid in sorted(rho, key=rho.__getitem__):
            if best is not None and rho[pid] > best:
                break
            cost_units = costs[pid] * scale
            members = sorted((g.money, c) for g, c in groups_of[pid].items())
            rich = sum(c for _, c in members)
            contrib = 0
            found = None
            for money, c in members:
                need = cost_units - contrib  # what the richer ones must pay together
                if need <= rich * money:
                    found = (need, rich)
                    break
                contrib += money * c
                rich -= c
            if found is None:  # its approvers cannot pay for it, now or later
                del rho[pid]
                continue
            r = Fraction(found[0], found[1] * cost_units)
            rho[pid] = r
            pay_of[pid] = found
            if best is None or r < best:
                best, tied = r, [pid]
            elif r == best:
                tied.append(pid)
        if not tied:
            break
        pid = min(tied, key=lambda p: (costs[p], p))
        del rho[pid]
        bought.append(pid)
        need, rich = pay_of[pid]

        # Rescale: D := D·rich, so that the payment need / (rich·D) is `need` units.
        scale *= rich
        for g in live.values():
            g.money *= rich
        live = {g.money: g for g in live.values()}

        # Its approvers pay min(money, payment) each: each of their groups splits in two.
        moved_to: dict = {}
        for i in supporters[pid]:
            old = group_of[i]
            if old is broke:
                continue
            new = moved_to.get(old)
            if new is None:
                left = old.money - need
                if left > 0:
                    new = live.get(left)
                    if new is None:
                        new = _Group(left)
                        live[left] = new
                else:
                    new = broke
                moved_to[old] = new
            ballot, mult = ballots[i]
            for q in ballot:
                gq = groups_of[q]
                c = gq[old] - mult
                if c:
                    gq[old] = c
                else:
                    del gq[old]
                if new is not broke:
                    gq[new] = gq.get(new, 0) + mult
                paid_for[q].add(pid)
            old.size -= mult
            new.size += mult
            group_of[i] = new
        for g in moved_to:
            if g.size == 0:
                del live[g.money]
        # Divide the common factor out again, keeping the numbers short.
        common = gcd(scale, *live)
        if common > 1:
            scale //= common
            for g in live.values():
                g.money //= common
            live = {g.money: g for g in live.values()}
    return bought, paid_for


def equal_shares(budget: int, costs: Mapping, ballots: Iterable[Iterable[Hashable]]) -> Outcome:
    """The Method of Equal Shares (cost utilities) completed by greedy; see the module's
    docstring."""
    costs = dict(costs)
    _check(budget, costs)
    counted, n, votes = _distinct_ballots(costs, ballots)
    bought, paid_for = _mes(budget, costs, counted, n, votes)
    order = {p: k for k, p in enumerate(bought)}
    funded = list(bought)
    reasons: dict = dict.fromkeys(bought, FUNDED)
    reason_data: dict = {}
    for pid in costs:
        if pid not in reasons and votes[pid] > 0 and paid_for[pid] - {pid}:
            reasons[pid] = SUPPORTERS_SPENT
            reason_data[pid] = {"spent_on": sorted(paid_for[pid] - {pid}, key=order.__getitem__)}
    spent_mes = sum(costs[p] for p in bought)
    remaining = _greedy_fill(
        costs,
        votes,
        budget - spent_mes,
        set(bought),
        funded,
        reasons,
        reason_data,
        FUNDED_BY_COMPLETION,
    )
    for pid in funded[len(bought) :]:
        reason_data.pop(pid, None)
    return Outcome(
        rule=EQUAL_SHARES,
        budget=budget,
        funded=funded,
        spent=budget - remaining,
        votes=votes,
        reasons={p: reasons[p] for p in costs},
        reason_data=reason_data,
        ballots=n,
    )


RULES = {GREEDY: greedy, EQUAL_SHARES: equal_shares}


def compute(rule: str, budget: int, costs: Mapping, ballots: Iterable[Iterable[Hashable]]):
    """The outcome of `rule` ("greedy" or "equal_shares")."""
    try:
        fn = RULES[rule]
    except KeyError:
        raise RulesInputError(f"unknown rule {rule!r}") from None
    return fn(budget, costs, ballots)
