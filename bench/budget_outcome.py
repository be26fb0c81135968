"""People's Budget benchmark: an Almaty-wide round's two outcomes, Birge's rules against pabutools.

    python -m bench.budget_outcome                    # 200,000 ballots over 60 projects
    python -m bench.budget_outcome --ballots 20000    # a quick check of the benchmark itself
    python -m bench.budget_outcome --no-pabutools     # Birge's rules alone

No database: the rules (budgets.rules) are pure Python and are timed on the ballots as the
closing task hands them over (a list of tuples of project ids, one per ballot). The round is
generated from a seed: 60 projects costing 15 to 900 million KZT (some costs equal on
purpose), a total budget of 6 billion; each project belongs to one of Almaty's 8 districts
or to the whole city; each voter lives in a district, picks 1 to 8 projects (3 to 5 most
often) drawn by popularity (a long tail: a project's weight falls with its rank) times 4 for
projects of their own district, skipping any pick that would take the ballot over the total.

Measured: Birge's greedy and equal_shares, each timed over the whole computation (counting
identical ballots included), best of --repeat runs; then pabutools' greedy_utilitarian_welfare
and completion_by_rule_combination([method_of_equal_shares, greedy_utilitarian_welfare]) with
Cost_Sat on the same instance, each in a child process (so it can be capped: --cap seconds,
10 minutes by default) with the same tie-breaking (lower cost, then lower id), on an
ApprovalProfile of every ballot and on an ApprovalMultiProfile (identical ballots counted
once). The outcomes must be equal (same funded projects, same order); the target (issue 12):
both of Birge's rules together within 10 s on the 2 cores. Prints a table and writes
bench/results/budget-<time>.json and budget-latest.json.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGET_SECONDS = 10.0
DISTRICTS = 8
BUDGET = 6_000_000_000


def generate(ballots: int, projects: int, seed: int):
    """(budget, {id: cost}, [tuple of ids]) for a city-wide round."""
    rng = random.Random(seed)
    ids = list(range(1, projects + 1))
    costs = {}
    for pid in ids:
        if pid > 1 and rng.random() < 0.15:  # equal costs happen (standard designs)
            costs[pid] = costs[rng.randrange(1, pid)]
        else:
            costs[pid] = int(min(900, max(15, rng.lognormvariate(4.8, 0.8)))) * 1_000_000
    district = {pid: rng.randrange(DISTRICTS + 1) for pid in ids}  # DISTRICTS: city-wide
    ranked = ids[:]
    rng.shuffle(ranked)
    base = {pid: 1.0 / (rank + 3) ** 0.9 for rank, pid in enumerate(ranked)}
    weights = [
        [base[pid] * (4.0 if district[pid] == home else 1.0) for pid in ids]
        for home in range(DISTRICTS)
    ]
    sizes = [1, 2, 3, 4, 5, 6, 7, 8]
    size_weights = [8, 12, 18, 20, 16, 11, 8, 7]
    out = []
    for _ in range(ballots):
        home = rng.randrange(DISTRICTS)
        want = rng.choices(sizes, size_weights)[0]
        picked: list[int] = []
        spent = 0
        w = weights[home][:]
        for _try in range(want * 3):
            if len(picked) == want:
                break
            pid = rng.choices(ids, w)[0]
            w[pid - 1] = 0.0
            if spent + costs[pid] <= BUDGET:
                picked.append(pid)
                spent += costs[pid]
            if not any(w):
                break
        out.append(tuple(picked))
    return BUDGET, costs, out


def time_birge(budget, costs, ballots, repeat: int) -> dict:
    from budgets import rules

    result = {}
    for name, fn in (("greedy", rules.greedy), ("equal_shares", rules.equal_shares)):
        times = []
        outcome = None
        for _ in range(repeat):
            t0 = time.perf_counter()
            outcome = fn(budget, costs, ballots)
            times.append(time.perf_counter() - t0)
        result[name] = {
            "seconds": round(min(times), 3),
            "seconds_all": [round(t, 3) for t in times],
            "funded": outcome.funded,
            "spent": outcome.spent,
            "funded_by_completion": sum(
                1 for r in outcome.reasons.values() if r == rules.FUNDED_BY_COMPLETION
            ),
        }
    return result


def pabutools_child(ballots: int, projects: int, seed: int, rule: str, profile_kind: str) -> None:
    """Run in a child process: one pabutools rule on the generated round; print JSON."""
    from pabutools.election import (
        ApprovalBallot,
        ApprovalMultiProfile,
        ApprovalProfile,
        Cost_Sat,
        Instance,
        Project,
    )
    from pabutools.rules import (
        completion_by_rule_combination,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )
    from pabutools.tiebreaking import TieBreakingRule

    budget, costs, votes = generate(ballots, projects, seed)
    t0 = time.perf_counter()
    objs = {pid: Project(str(pid), cost) for pid, cost in costs.items()}
    instance = Instance(objs.values(), budget_limit=budget)
    back = {str(pid): pid for pid in costs}
    tie = TieBreakingRule(lambda inst, prof, p: (p.cost, back[p.name]))
    profile = ApprovalProfile(
        [ApprovalBallot(objs[p] for p in b) for b in votes], instance=instance
    )
    if profile_kind == "multi":
        profile = ApprovalMultiProfile(profile=profile)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    if rule == "greedy":
        result = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat, tie_breaking=tie)
    else:
        params = {"sat_class": Cost_Sat, "tie_breaking": tie}
        result = completion_by_rule_combination(
            instance,
            profile,
            [method_of_equal_shares, greedy_utilitarian_welfare],
            [params, params],
        )
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "profile_seconds": round(built, 3),
                "funded": [back[p.name] for p in result],
            }
        )
    )


def time_pabutools(args, rule: str, profile_kind: str) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "bench.budget_outcome",
        "--child",
        rule,
        profile_kind,
        "--ballots",
        str(args.ballots),
        "--projects",
        str(args.projects),
        "--seed",
        str(args.seed),
    ]
    t0 = time.perf_counter()
    try:
        out = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=args.cap, check=True
        )
    except subprocess.TimeoutExpired:
        return {"capped": True, "seconds": None, "cap_seconds": args.cap}
    except subprocess.CalledProcessError as e:
        return {"error": e.stderr.strip().splitlines()[-1:] or [str(e)]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - t0, 3)
    result["capped"] = False
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=200_000)
    parser.add_argument("--projects", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cap", type=float, default=600.0, help="seconds per pabutools run")
    parser.add_argument("--no-pabutools", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("RULE", "PROFILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        pabutools_child(args.ballots, args.projects, args.seed, *args.child)
        return

    t0 = time.perf_counter()
    budget, costs, ballots = generate(args.ballots, args.projects, args.seed)
    generate_seconds = time.perf_counter() - t0
    birge = time_birge(budget, costs, ballots, args.repeat)
    both = birge["greedy"]["seconds"] + birge["equal_shares"]["seconds"]
    report = {
        "ballots": len(ballots),
        "projects": len(costs),
        "distinct_ballots": len(set(map(frozenset, ballots))),
        "picks_per_ballot": round(sum(map(len, ballots)) / len(ballots), 2),
        "budget": budget,
        "total_cost": sum(costs.values()),
        "seed": args.seed,
        "generate_seconds": round(generate_seconds, 2),
        "python": sys.version.split()[0],
        "birge": birge,
        "birge_both_seconds": round(both, 3),
        "pabutools": {},
        "target": {"seconds": TARGET_SECONDS, "pass": both <= TARGET_SECONDS},
    }
    if not args.no_pabutools:
        same = True
        for kind in ("multi", "plain"):
            for rule in ("greedy", "equal_shares"):
                res = time_pabutools(args, rule, kind)
                report["pabutools"][f"{rule}/{kind}"] = res
                if "funded" in res:
                    res["same_outcome"] = res["funded"] == birge[rule]["funded"]
                    same = same and res["same_outcome"]
                print(f"pabutools {rule} ({kind} profile): {res.get('seconds')} s", flush=True)
        report["same_outcome"] = same
        report["target"]["pass"] = report["target"]["pass"] and same
    print_table(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(report, indent=2)
    (RESULTS / f"budget-{stamp}.json").write_text(text)
    (RESULTS / "budget-latest.json").write_text(text)
    if not report["target"]["pass"]:
        sys.exit(1)


def _pabu_cell(res: dict | None) -> str:
    if not res:
        return "not run"
    if res.get("capped"):
        return f"> {res['cap_seconds']:.0f} s (capped)"
    if "error" in res:
        return f"error: {res['error']}"
    same = "same outcome" if res.get("same_outcome") else "DIFFERENT OUTCOME"
    return f"{res['seconds']} s (+ {res['profile_seconds']} s profile), {same}"


def print_table(r: dict) -> None:
    b, p = r["birge"], r["pabutools"]
    lines = [
        ("ballots / projects", f"{r['ballots']:,} / {r['projects']}"),
        ("distinct ballots", f"{r['distinct_ballots']:,}"),
        ("picks per ballot", str(r["picks_per_ballot"])),
        ("budget / all costs", f"{r['budget']:,} / {r['total_cost']:,} KZT"),
        (
            "Birge greedy",
            f"{b['greedy']['seconds']} s, {len(b['greedy']['funded'])} funded",
        ),
        (
            "Birge equal_shares",
            f"{b['equal_shares']['seconds']} s, {len(b['equal_shares']['funded'])} funded "
            f"({b['equal_shares']['funded_by_completion']} by completion)",
        ),
        ("Birge both", f"{r['birge_both_seconds']} s (target <= {TARGET_SECONDS:.0f})"),
        ("pabutools greedy (multi)", _pabu_cell(p.get("greedy/multi"))),
        ("pabutools equal_shares (multi)", _pabu_cell(p.get("equal_shares/multi"))),
        ("pabutools greedy (plain)", _pabu_cell(p.get("greedy/plain"))),
        ("pabutools equal_shares (plain)", _pabu_cell(p.get("equal_shares/plain"))),
        ("pass", str(r["target"]["pass"])),
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
