"""manage.py verify_tallies [--poll ID] [--repair]: prove the counters agree with the ballots."""

from django.core.management.base import BaseCommand

from polls.services import tallies_verify


class Command(BaseCommand):
    help = "Compare vote counters with the ballot rows; --repair rewrites counters that drifted."

    def add_arguments(self, parser):
        parser.add_argument("--poll", type=int, default=None)
        parser.add_argument("--repair", action="store_true")

    def handle(self, *args, poll, repair, **options):
        drifts = tallies_verify(poll_id=poll, repair=repair)
        if not drifts:
            self.stdout.write("All tallies agree with the ballots.")
            return
        for d in drifts:
            self.stdout.write(
                f"poll {d.poll_id} {d.what}: counter {d.counted}, ballots {d.actual} "
                f"(drift {d.counted - d.actual:+d})"
            )
        if repair:
            self.stdout.write(f"Repaired {len(drifts)} counters.")
        else:
            self.stderr.write(f"{len(drifts)} counters disagree; run with --repair to fix them.")
            raise SystemExit(1)
