"""budgets.rules: greedy and equal shares, against pabutools (the reference) and by hand.

pabutools is a dev dependency; its tests skip if it is missing (and fail instead when CI=true).
Tie-breaking: the issue's rule (lower cost first, then lower id) for both rules; pabutools'
default is the project's name, so these tests pass it the same order as a TieBreakingRule.
"""

from __future__ import annotations

import os
import random
from fractions import Fraction
from pathlib import Path

import pytest

from budgets import rules

try:
    from pabutools.election import (
        ApprovalBallot,
        ApprovalMultiProfile,
        ApprovalProfile,
        Cost_Sat,
        Instance,
        Project,
        parse_pabulib,
    )
    from pabutools.rules import (
        completion_by_rule_combination,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )
    from pabutools.tiebreaking import TieBreakingRule
except ImportError:  # pragma: no cover - pabutools is a dev dependency
    Instance = None

needs_pabutools = pytest.mark.skipif(
    Instance is None and os.environ.get("CI") != "true",
    reason="pabutools is not installed (pip install -e '.[dev]')",
)

DATA = Path(__file__).parent / "data"
WESOLA = DATA / "poland_warszawa_2017_plac-wojska-polskiego.pb"


def pabutools_outcomes(budget, costs, ballots, *, multi=False):
    """(greedy funded list, equal shares funded list) by pabutools, in funding order."""
    projects = {pid: Project(str(pid), cost) for pid, cost in costs.items()}
    back = {str(pid): pid for pid in costs}
    instance = Instance(projects.values(), budget_limit=budget)
    tie = TieBreakingRule(lambda inst, prof, p: (p.cost, back[p.name]))
    profile = ApprovalProfile(
        [ApprovalBallot(projects[pid] for pid in ballot) for ballot in ballots],
        instance=instance,
    )
    if multi:
        profile = ApprovalMultiProfile(profile=profile)
    greedy = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat, tie_breaking=tie)
    params = {"sat_class": Cost_Sat, "tie_breaking": tie}
    mes = completion_by_rule_combination(
        instance, profile, [method_of_equal_shares, greedy_utilitarian_welfare], [params, params]
    )
    return [back[p.name] for p in greedy], [back[p.name] for p in mes]


def random_instance(rng: random.Random):
    """2–15 projects; costs drawn from a few values (ties) or at random; voters whose tastes
    follow a popularity skew, some with identical ballots, a few empty; budgets from tiny to
    more than everything costs."""
    k = rng.randint(2, 15)
    levels = [rng.choice([1, 2, 3, 5, 10]) * rng.choice([1, 10, 100]) for _ in range(3)]
    costs = {
        pid: rng.choice(levels) if rng.random() < 0.6 else rng.randint(1, 1000)
        for pid in range(1, k + 1)
    }
    n = rng.choice([1, 2, 3, 4, 6, 10, 25, 60, 150])
    popularity = [rng.random() ** 2 for _ in costs]
    ballots = []
    for _ in range(n):
        ballot = {pid for pid, w in zip(costs, popularity, strict=True) if rng.random() < w}
        ballots.append(set() if rng.random() < 0.03 else ballot)
    if rng.random() < 0.5:  # blocs of identical ballots: ties in approvals and in ρ
        ballots += [set(rng.choice(ballots)) for _ in range(rng.randint(1, 20))]
    total = sum(costs.values())
    budget = rng.choice(
        [1, max(1, total // 10), total // 3, total // 2, total - 1, total, 2 * total]
        + [rng.randint(1, total)] * 3
    )
    return budget, costs, ballots


@needs_pabutools
@pytest.mark.parametrize("batch", range(8))
def test_same_outcomes_as_pabutools_on_random_profiles(batch):
    rng = random.Random(1000 + batch)
    ties_seen = 0
    for case in range(50):
        budget, costs, ballots = random_instance(rng)
        greedy = rules.greedy(budget, costs, ballots)
        mes = rules.equal_shares(budget, costs, ballots)
        p_greedy, p_mes = pabutools_outcomes(budget, costs, ballots)
        where = (batch, case, budget, costs, ballots)
        assert greedy.funded == p_greedy, where
        assert mes.funded == p_mes, where
        assert greedy.spent == sum(costs[p] for p in greedy.funded) <= budget
        assert mes.spent == sum(costs[p] for p in mes.funded) <= budget
        votes = sorted(v for v in greedy.votes.values())
        ties_seen += len(votes) != len(set(votes))
    assert ties_seen >= 10  # the generator does make ties in approvals


@needs_pabutools
def test_same_outcomes_as_pabutools_multi_profile_on_a_city_round():
    """The benchmark's generator (districts, popularity skew, 1–8 picks within the budget) at
    3,000 ballots, against pabutools with identical ballots counted once."""
    from bench.budget_outcome import generate

    budget, costs, ballots = generate(3000, 60, seed=7)
    p_greedy, p_mes = pabutools_outcomes(budget, costs, ballots, multi=True)
    assert rules.greedy(budget, costs, ballots).funded == p_greedy
    mes = rules.equal_shares(budget, costs, ballots)
    assert mes.funded == p_mes
    assert mes.reasons[mes.funded[0]] == rules.FUNDED


def wesola():
    instance, profile = parse_pabulib(str(WESOLA))
    costs = {p.name: int(p.cost) for p in instance}
    ballots = [[p.name for p in ballot] for ballot in profile]
    return int(instance.budget_limit), costs, ballots, instance


@needs_pabutools
def test_real_pabulib_file_at_its_budget_and_smaller_ones():
    budget, costs, ballots, instance = wesola()
    assert (budget, len(costs), len(ballots)) == (51195, 4, 27)
    votes = rules.greedy(budget, costs, ballots).votes
    # The file's own vote counts.
    meta = instance.project_meta
    assert (
        votes
        == {p.name: int(meta[p]["votes"]) for p in instance}
        == {
            "427": 16,
            "915": 14,
            "2567": 12,
            "1623": 5,
        }
    )
    # At its budget every project fits: all four selected, as the file says.
    selected = {p.name for p in instance if meta[p]["selected"] == "1"}
    assert set(rules.greedy(budget, costs, ballots).funded) == selected
    assert set(rules.equal_shares(budget, costs, ballots).funded) == selected
    for b in (budget, 45000, 40000, 30000, 25000, 21000, 20000, 15000, 9000, 5825, 3000, 100):
        p_greedy, p_mes = pabutools_outcomes(b, costs, ballots)
        assert rules.greedy(b, costs, ballots).funded == p_greedy, b
        assert rules.equal_shares(b, costs, ballots).funded == p_mes, b


@needs_pabutools
def test_the_51_percent_case_and_its_reasons():
    budget = 1_000_000
    a = [1, 2, 3, 4, 5]
    b = [6, 7, 8, 9, 10]
    costs = dict.fromkeys(a + b, budget // 5)
    ballots = [a] * 51 + [b] * 49

    greedy = rules.greedy(budget, costs, ballots)
    assert greedy.funded == a
    assert greedy.spent == budget
    for pid in b:
        assert greedy.reasons[pid] == rules.NO_ROOM
        assert greedy.reason_data[pid] == {"remaining": 0}

    mes = rules.equal_shares(budget, costs, ballots)
    # Each A voter holds 10,000 (510,000 together): two projects (400,000); the B voters'
    # 490,000 pay for two B projects; the 200,000 left fund the most approved project left.
    assert mes.funded == [1, 2, 6, 7, 3]
    assert [mes.reasons[p] for p in mes.funded] == [rules.FUNDED] * 4 + [rules.FUNDED_BY_COMPLETION]
    assert mes.spent == budget
    for pid in (4, 5):
        assert mes.reasons[pid] == rules.SUPPORTERS_SPENT
        assert mes.reason_data[pid] == {"spent_on": [1, 2]}
    for pid in (8, 9, 10):
        assert mes.reasons[pid] == rules.SUPPORTERS_SPENT
        assert mes.reason_data[pid] == {"spent_on": [6, 7]}
    assert pabutools_outcomes(budget, costs, ballots) == (greedy.funded, mes.funded)


def test_greedy_order_ties_lower_cost_then_lower_id():
    costs = {1: 30, 2: 20, 3: 20, 4: 10, 5: 50}
    ballots = [[1, 2, 3, 5], [1, 2, 3, 5], [4]]
    out = rules.greedy(60, costs, ballots)
    # 2 votes each: 2 (20), 3 (20, higher id), 1 (30), 5 (50); then 4 (1 vote).
    assert out.funded == [2, 3, 4]
    assert out.reasons == {
        1: rules.NO_ROOM,
        2: rules.FUNDED,
        3: rules.FUNDED,
        4: rules.FUNDED,
        5: rules.NO_ROOM,
    }
    assert out.reason_data[1] == {"remaining": 20}  # after 2 and 3
    assert out.reason_data[5] == {"remaining": 20}
    assert out.spent == 50


def test_a_project_nobody_approved():
    costs = {1: 50, 2: 30, 3: 80}
    ballots = [[1], [1]]
    # Like pabutools: greedy goes on to the projects with no votes if money remains.
    out = rules.greedy(100, costs, ballots)
    assert out.funded == [1, 2]
    assert out.reasons[3] == rules.NO_VOTES
    assert out.reason_data[3] == {"remaining": 20}
    mes = rules.equal_shares(100, costs, ballots)
    assert mes.funded == [1, 2]
    assert mes.reasons == {
        1: rules.FUNDED,
        2: rules.FUNDED_BY_COMPLETION,
        3: rules.NO_VOTES,
    }


def test_equal_shares_exact_ties_in_rho():
    """Two projects whose ρ is exactly equal (1/3 of their cost each from 3 voters): the lower
    cost wins, and with equal costs the lower id; floats would not be trusted with this."""
    costs = {7: 30, 3: 30, 5: 20}
    ballots = [[7, 3], [7, 3], [7, 3], [5], [5], [5]]
    mes = rules.equal_shares(100, costs, ballots)
    # ρ: 5 → 1/3 per unit, 3 and 7 → 1/3; lower cost first: 5, then 3 (lower id), then 7.
    assert mes.funded == [5, 3, 7]


def test_equal_shares_payments_use_leftover_money():
    """Voters who cannot pay an equal part pay all they have; the others pay the rest (the
    lowest possible maximum payment)."""
    costs = {1: 45, 2: 25, 3: 100}
    ballots = [[1, 2], [1], [1], [2], [3]]  # voters a, b, c, d, e
    # Budget 100: 20 each. 1 (ρ = 1/3) before 2 (ρ = 1/2): a, b, c pay 15 each. Then 2:
    # a has 5 left and pays it, d pays the other 20 (≤ 20): ρ = 20/25. e's 20 never buy 3.
    mes = rules.equal_shares(100, costs, ballots)
    assert mes.funded == [1, 2]
    assert mes.reasons == {1: rules.FUNDED, 2: rules.FUNDED, 3: rules.NO_ROOM}
    assert mes.reason_data == {3: {"remaining": 30}}
    # Budget 90: 18 each; after 1, a's 3 and d's 18 fall short of 25: equal shares stop,
    # and the 45 left fund 2 by the greedy completion.
    mes = rules.equal_shares(90, costs, ballots)
    assert mes.funded == [1, 2]
    assert mes.reasons[2] == rules.FUNDED_BY_COMPLETION
    assert 2 not in mes.reason_data


def test_empty_ballots_count_in_the_shares():
    costs = {1: 60}
    # Alone the one voter has 100 and pays 60; with 3 empty ballots beside, 25 < 60: MES buys
    # nothing and the greedy completion funds it.
    assert rules.equal_shares(100, costs, [[1]]).reasons[1] == rules.FUNDED
    out = rules.equal_shares(100, costs, [[1], [], [], []])
    assert out.funded == [1]
    assert out.reasons[1] == rules.FUNDED_BY_COMPLETION
    assert out.ballots == 4


def test_no_ballots_and_zero_budget():
    costs = {1: 10, 2: 5}
    assert rules.equal_shares(12, costs, []).funded == [2]  # by (cost, id), nobody voted
    assert rules.greedy(12, costs, []).funded == [2]
    out = rules.equal_shares(0, costs, [[1], [2]])
    assert out.funded == []
    assert out.spent == 0
    assert out.reasons == {1: rules.NO_ROOM, 2: rules.NO_ROOM}


def test_outcome_projects_shape_and_duplicates_in_a_ballot():
    out = rules.equal_shares(10, {"a": 5, "b": 6}, [("a", "a", "b"), ("a",)])
    assert out.votes == {"a": 2, "b": 1}
    assert out.projects() == [
        {"id": "a", "votes": 2, "funded": True, "reason": "funded", "reason_data": {}},
        {
            "id": "b",
            "votes": 1,
            "funded": False,
            "reason": "not_funded_supporters_spent",
            "reason_data": {"spent_on": ["a"]},
        },
    ]


@pytest.mark.parametrize(
    ("budget", "costs", "ballots"),
    [
        (-1, {1: 5}, []),
        (10, {1: 0}, []),
        (10, {1: -5}, []),
        (10, {1: 2.5}, []),
        (10, {1: True}, []),
        ("10", {1: 5}, []),
        (10, {1: 5}, [[2]]),
    ],
)
def test_bad_input_is_refused(budget, costs, ballots):
    with pytest.raises(rules.RulesInputError):
        rules.greedy(budget, costs, ballots)
    with pytest.raises(rules.RulesInputError):
        rules.equal_shares(budget, costs, ballots)


def test_large_numbers_stay_exact():
    """Billions of tenge over thousands of voters: the groups' money is exact."""
    rng = random.Random(5)
    costs = {pid: rng.randrange(10**8, 10**9) for pid in range(1, 21)}
    ballots = [rng.sample(range(1, 21), rng.randint(1, 6)) for _ in range(3001)]
    out = rules.equal_shares(6 * 10**9 + 7, costs, ballots)
    assert out.spent == sum(costs[p] for p in out.funded) <= 6 * 10**9 + 7
    assert Fraction(out.spent) == out.spent
    assert rules.compute("equal_shares", 6 * 10**9 + 7, costs, ballots).funded == out.funded
    with pytest.raises(rules.RulesInputError):
        rules.compute("phragmen", 1, costs, ballots)
