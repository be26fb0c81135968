"""People's Budget with the database: closing a city-wide round, and the ballot path.

    python -m bench.budget_close                   # 200,000 ballots over 60 projects
    python -m bench.budget_close --ballots 20000   # a quick check of the benchmark itself

Needs a local PostgreSQL (BENCH_BUDGET_DATABASE_URL; the database named there is dropped and
created again). bench/budget_outcome.py times the rules alone against pabutools; this one
times what closing a round really does after the ballots are in the database:

  import          the ballots written as a closed round (round_create_from_pabulib: COPY),
                  not part of a close, reported for scale;
  close           outcome_compute, as the Celery task runs it after the close: read every
                  ballot row (the truth), hash the inputs, run greedy and equal_shares,
                  store both outcomes; wall time, with the database read, the hash and each
                  rule apart. Target (issue 12): within 10 s on the 2 cores.
  ballot          one ballot_cast per fresh voter (3 projects, the service as the API calls
                  it) against one polls vote_cast per fresh voter (3 choices) on the same
                  database, in this process: median and p99 of each. Target: a budget ballot
                  costs no more than a poll vote.

Prints a table and writes bench/results/budget-close-<time>.json and budget-close-latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DB_URL = os.environ.get(
    "BENCH_BUDGET_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/birge_bench_budget"
)
TARGET_CLOSE_SECONDS = 10.0


def recreate_database() -> None:
    import psycopg

    base, name = DB_URL.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def django_setup() -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="civic.settings.test",
        DATABASE_URL=DB_URL,
        LOG_LEVEL="WARNING",
        CELERY_TASK_ALWAYS_EAGER="true",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def bench_close(ballots: int, projects: int, seed: int) -> dict:
    from bench.budget_outcome import generate
    from budgets import rules
    from budgets.pabulib import Parsed, Project
    from budgets.services import (
        _ballot_rows,
        inputs_hash,
        outcome_compute,
        round_create_from_pabulib,
    )

    budget, costs, generated = generate(ballots, projects, seed)
    parsed = Parsed(
        meta={"rule": "equalshares", "description": "Bench"},
        budget=budget,
        projects=tuple(Project(str(p), c, f"Project {p}") for p, c in costs.items()),
        ballots=tuple(tuple(str(p) for p in b) for b in generated),
    )
    import_s, budget_round = timed(lambda: round_create_from_pabulib(actor=None, parsed=parsed))
    # The parts, each on its own (the close below does them all again, in one go).
    read_s, rows = timed(lambda: _ballot_rows(budget_round.pk))
    stored_costs = dict(budget_round.projects.values_list("pk", "cost"))
    hash_s, _digest = timed(lambda: inputs_hash(budget, stored_costs, rows))
    greedy_s, _g = timed(lambda: rules.greedy(budget, stored_costs, rows))
    mes_s, _m = timed(lambda: rules.equal_shares(budget, stored_costs, rows))
    close_s, outcomes = timed(lambda: outcome_compute(round_id=budget_round.pk))
    by_rule = {str(o.rule): o for o in outcomes}
    return {
        "ballots": ballots,
        "projects": projects,
        "picks": sum(len(b) for b in generated),
        "import_seconds": round(import_s, 2),
        "close_seconds": round(close_s, 2),
        "parts": {
            "read_ballot_rows": round(read_s, 2),
            "inputs_hash": round(hash_s, 2),
            "greedy": round(greedy_s, 2),
            "equal_shares": round(mes_s, 2),
        },
        "funded": {rule: len(o.funded) for rule, o in by_rule.items()},
        "target_seconds": TARGET_CLOSE_SECONDS,
        "pass": close_s <= TARGET_CLOSE_SECONDS,
    }


def _latencies(fn, voters) -> dict:
    out = []
    for voter in voters:
        started = time.perf_counter()
        fn(voter)
        out.append((time.perf_counter() - started) * 1000)
    out.sort()
    return {
        "n": len(out),
        "median_ms": round(statistics.median(out), 2),
        "p99_ms": round(out[max(0, int(len(out) * 0.99) - 1)], 2),
    }


def bench_ballot(n: int) -> dict:
    from polls.models import Poll
    from polls.services import vote_cast
    from tests.budgets.conftest import make_round, project_ids
    from tests.factories import OfficialFactory, UserFactory, choice_ids, make_poll

    official = OfficialFactory()
    poll = make_poll(official=official, kind=Poll.Kind.MULTIPLE, max_choices=3, choices=5)
    budget_round = make_round(official=official, projects=[1_000_000] * 5, open_now=True)
    picks, choices = project_ids(budget_round)[:3], choice_ids(poll)[:3]
    voters = [UserFactory() for _ in range(2 * n + 2)]
    # The first of each warms its caches (the poll's and the round's fixed settings).
    vote_cast(poll_id=poll.pk, choice_ids=choices, user=voters[0])
    from budgets.services import ballot_cast

    ballot_cast(actor=voters[1], round_id=budget_round.pk, project_ids=picks)
    polls_ = _latencies(
        lambda v: vote_cast(poll_id=poll.pk, choice_ids=choices, user=v), voters[2 : n + 2]
    )
    budget = _latencies(
        lambda v: ballot_cast(actor=v, round_id=budget_round.pk, project_ids=picks),
        voters[n + 2 :],
    )
    return {
        "poll_vote": polls_,
        "budget_ballot": budget,
        "pass": budget["median_ms"] <= polls_["median_ms"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=200_000)
    parser.add_argument("--projects", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--voters", type=int, default=300, help="per path, for the ballot part")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    recreate_database()
    django_setup()
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "close": bench_close(args.ballots, args.projects, args.seed),
        "ballot": bench_ballot(args.voters),
    }
    close, ballot = result["close"], result["ballot"]
    print(f"{'':28}{'value':>12}")
    print(f"{'ballots / projects':28}{close['ballots']:>9,} / {close['projects']}")
    print(f"{'import (COPY), s':28}{close['import_seconds']:>12}")
    print(f"{'close: both outcomes, s':28}{close['close_seconds']:>12}   target <= 10 s")
    for name, seconds in close["parts"].items():
        print(f"{'  ' + name + ', s':28}{seconds:>12}")
    print(
        f"{'poll vote, ms (p50/p99)':28}"
        f"{ballot['poll_vote']['median_ms']:>6} / {ballot['poll_vote']['p99_ms']}"
    )
    print(
        f"{'budget ballot, ms (p50/p99)':28}"
        f"{ballot['budget_ballot']['median_ms']:>6} / {ballot['budget_ballot']['p99_ms']}"
    )
    print(
        f"close {'PASS' if close['pass'] else 'FAIL'}, ballot {'PASS' if ballot['pass'] else 'FAIL'}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"budget-close-{stamp}.json", "budget-close-latest.json"):
        (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
