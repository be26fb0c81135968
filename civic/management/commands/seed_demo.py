"""manage.py seed_demo: Almaty's demo data. Safe to run again: it creates what is missing.

Demo accounts with known passwords are only created in demo mode (BIRGE_DEMO_MODE, on by
default in the embedded mode, off in production). Under production settings the command
refuses to run at all unless the operator turned demo mode on explicitly.

The routine INFO logs of the services and of eager Celery tasks (some 190 lines) are held back
while seeding (-v 2 shows them), and the table of demo accounts comes last, with each account's
roles read back from the database (groups, superuser flag, community leads).
"""

import contextlib
import logging

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from accounts.districts import ensure_districts
from accounts.models import District, Role, User
from accounts.services import role_grant
from budgets.demo import seed_budgets
from communities.demo import seed_communities
from communities.models import Community, Membership
from dialogue.demo import seed_dialogue
from polls.demo import demo_residents, seed_initiative_poll, seed_polls
from residents.demo import seed_residents

DEMO_ACCOUNTS = [
    # email, password, display name, district slug, roles, superuser
    ("citizen@demo.birge.kz", "birge-citizen-2026", "Айгерим", "bostandyk", [], False),
    ("lead@demo.birge.kz", "birge-lead-2026", "Тимур (Трамвайное депо)", "almaly", [], False),
    (
        "official@demo.birge.kz",
        "birge-official-2026",
        "Акимат Алматы",
        "medeu",
        [Role.OFFICIAL],
        False,
    ),
    (
        "moderator@demo.birge.kz",
        "birge-moderator-2026",
        "Модератор Birge",
        "auezov",
        [Role.MODERATOR],
        False,
    ),
    ("admin@demo.birge.kz", "birge-admin-2026", "Администратор", None, [Role.OFFICIAL], True),
]

DEMO_COMMUNITIES = [
    (
        "tram-depot",
        "Трамвайное депо — сообществу",
        Community.Kind.CITIZEN_GROUP,
        "Жители и архитекторы, которые готовят проект реконструкции бывшего трамвайного депо "
        "в общественное пространство: эскизный проект, смета, обсуждения с соседями.",
        ["almaly", "zhetysu"],
    ),
    (
        "green-almaty",
        "Жасыл Алматы",
        Community.Kind.NGO,
        "Экологическое объединение: субботники в парках, посадка деревьев, мониторинг "
        "качества воздуха вместе с жителями.",
        ["bostandyk", "medeu", "auezov"],
    ),
    (
        "velo-almaty",
        "Велосипедный Алматы",
        Community.Kind.CITIZEN_GROUP,
        "Велосипедисты города за безопасную сеть велодорожек и удобные переходы.",
        ["almaly", "bostandyk", "auezov"],
    ),
    (
        "kamkor-social",
        "Қамқор — социальное предприятие",
        Community.Kind.SOCIAL_BUSINESS,
        "Кафе и мастерские, где работают люди с инвалидностью; доступная среда в городе.",
        ["turksib"],
    ),
]


def _production_settings() -> bool:
    # Set by civic/settings/production.py, and so by any settings module built on it.
    return getattr(settings, "PRODUCTION_SETTINGS", False)


class Command(BaseCommand):
    help = "Seed Almaty's demo data (districts, communities, demo accounts). Idempotent."

    def handle(self, *args, **options):
        if _production_settings() and not settings.DEMO_MODE:
            raise CommandError(
                "seed_demo creates demo accounts with published passwords; it does not run "
                "under production settings. Set BIRGE_DEMO_MODE=true to seed a demo deployment "
                "on purpose."
            )
        # Demo notifications are stored in the app, not mailed (to the console or anyone).
        with (
            override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
            _quiet_logs(options.get("verbosity", 1) < 2),
        ):
            accounts = self._seed()
        if accounts:
            self._print_accounts(accounts)

    @transaction.atomic
    def _seed(self) -> list[tuple[str, str]]:
        created = ensure_districts(District)
        self.stdout.write(f"Districts: {District.objects.count()} ({created} new)")
        self._communities()
        if settings.DEMO_MODE:
            accounts = self._accounts()
            official = User.objects.get(email="official@demo.birge.kz")
            moderator = User.objects.get(email="moderator@demo.birge.kz")
            citizen = User.objects.get(email="citizen@demo.birge.kz")
            # Before the polls: a poll for verified residents finds its register, and its
            # voters (the polls' 60 demo voters) verified residents.
            voters = demo_residents(60)
            seed_residents(official=official, citizen=citizen, voters=voters, stdout=self.stdout)
            residents = demo_residents(40)
            seed_polls(official, self.stdout)
            seed_communities(
                lead=User.objects.get(email="lead@demo.birge.kz"),
                citizen=citizen,
                moderator=moderator,
                official=official,
                voters=residents,
                stdout=self.stdout,
            )
            seed_initiative_poll(official, self.stdout)
            seed_dialogue(
                official=official,
                moderator=moderator,
                citizen=citizen,
                residents=residents,
                stdout=self.stdout,
            )
            # After the communities (the tram depot's initiative goes on the ballot) and the
            # register (the 2027 round's voters are verified residents of the city).
            seed_budgets(official=official, voters=voters, stdout=self.stdout)
            return accounts
        self.stdout.write("Demo mode is off: no demo accounts or votes created.")
        return []

    def _communities(self):
        for slug, name, kind, description, district_slugs in DEMO_COMMUNITIES:
            community, _created = Community.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "kind": kind,
                    "description": description,
                    "status": Community.Status.APPROVED,
                },
            )
            community.districts.set(District.objects.filter(slug__in=district_slugs))
        self.stdout.write(f"Communities: {Community.objects.count()}")

    def _accounts(self) -> list[tuple[str, str]]:
        credentials = []
        for email, password, name, district_slug, roles, superuser in DEMO_ACCOUNTS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User(email=email)
            user.display_name = name
            user.district = District.objects.filter(slug=district_slug).first()
            user.is_staff = superuser
            user.is_superuser = superuser
            # Demo passwords are reset on every run so the printed table stays true.
            user.set_password(password)
            user.save()
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
            for role in roles:
                role_grant(actor=None, user=user, role=role)
            credentials.append((email, password))
        return credentials

    def _print_accounts(self, credentials: list[tuple[str, str]]) -> None:
        rows = [(email, password, account_roles(email)) for email, password in credentials]
        width = max(len(r[0]) for r in rows)
        self.stdout.write("\nDemo accounts (demo mode only; sign in at /en/accounts/login/):")
        self.stdout.write(f"  {'e-mail':<{width}}  {'password':<22}  roles")
        for email, password, roles in rows:
            self.stdout.write(f"  {email:<{width}}  {password:<22}  {roles}")


def account_roles(email: str) -> str:
    """What the account can do, read from the database rather than from DEMO_ACCOUNTS."""
    user = User.objects.get(email=email)
    roles = []
    if user.is_superuser:
        roles.append("administrator (Django admin)")
    groups = set(user.groups.values_list("name", flat=True))
    roles += [role.value for role in Role if role.value in groups]
    leads = Membership.objects.filter(
        user=user, role=Membership.Role.LEAD, state=Membership.State.ACTIVE
    ).select_related("community")
    if not roles:
        roles.append("citizen")
    roles += [f"lead of {m.community.slug}" for m in leads]
    return ", ".join(roles)


@contextlib.contextmanager
def _quiet_logs(quiet: bool):
    """Hold back INFO logs (services, eager Celery tasks) while seeding; warnings still show."""
    if not quiet:
        yield
        return
    previous = logging.root.manager.disable
    kombu = logging.getLogger("kombu.connection")
    kombu_level = kombu.level
    # Eager tasks build a producer with no broker URL, and kombu warns about it every time.
    kombu.setLevel(logging.ERROR)
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(previous)
        kombu.setLevel(kombu_level)
