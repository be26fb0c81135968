"""`manage.py budget_import_pabulib FILE`: a closed budget round from a Pabulib .pb file.

For audits, replays and tests: the round gets the file's projects (names, costs) and its
ballots (anonymous), the rule from META `rule` (`greedy`, `equalshares`; greedy when absent),
and both outcomes are computed here, synchronously. The new round's id is the last line
printed. A file Birge refuses creates nothing and exits non-zero with the line and reason.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from budgets.pabulib import MAX_BYTES, PabulibError, parse
from budgets.services import outcome_compute, round_create_from_pabulib
from civic.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create a closed budget round from a Pabulib .pb file (approval votes) and compute its "
        "results. Prints the new round's id on the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .pb file (UTF-8)")
        parser.add_argument(
            "--by",
            metavar="EMAIL",
            help="the official to record as the round's creator (default: the system, i.e. "
            "the operator at the server)",
        )
        parser.add_argument("--title", help="the round's title (default: META description)")

    def handle(self, *args, file, by=None, title=None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if path.stat().st_size > MAX_BYTES:
            raise CommandError(
                f"{path}: the file is {path.stat().st_size:,} bytes; at most {MAX_BYTES:,} are "
                "accepted"
            )
        actor = None
        if by:
            actor = get_user_model().objects.filter(email__iexact=by).first()
            if actor is None:
                raise CommandError(f"No account with the e-mail {by}")
        try:
            parsed = parse(path.read_bytes())
        except PabulibError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        try:
            # One transaction: a failure while computing leaves no half-imported round.
            with transaction.atomic():
                budget_round = round_create_from_pabulib(actor=actor, parsed=parsed, title=title)
                outcomes = outcome_compute(round_id=budget_round.pk)
        except DomainError as exc:
            raise CommandError(f"{path}: {exc.message}") from exc
        self.stdout.write(
            f"Imported {path.name}: {len(parsed.projects)} projects, {len(parsed.ballots)} "
            f"ballots, budget {parsed.budget}, rule {budget_round.rule}."
        )
        for outcome in outcomes:
            own = " (the round's rule)" if outcome.is_primary else ""
            self.stdout.write(
                f"{outcome.rule}{own}: {len(outcome.funded)} funded, spent {outcome.spent}"
            )
        self.stdout.write(str(budget_round.pk))
