"""factory_boy factories for the whole suite."""

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group

from accounts.districts import ensure_districts
from accounts.models import District, Role, User
from communities.models import Community

TEST_PASSWORD = "a-Long-test-passw0rd"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.kz")
    display_name = factory.Sequence(lambda n: f"Citizen {n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if not create:
            return
        self.save()
        EmailAddress.objects.create(
            user=self, email=self.email, primary=True, verified=extracted is not False
        )

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            for role in extracted:
                self.groups.add(Group.objects.get_or_create(name=Role(role).value)[0])


class OfficialFactory(UserFactory):
    roles = factory.PostGeneration(
        lambda obj, create, extracted, **kw: obj.groups.add(
            Group.objects.get_or_create(name=Role.OFFICIAL.value)[0]
        )
    )


class ModeratorFactory(UserFactory):
    roles = factory.PostGeneration(
        lambda obj, create, extracted, **kw: obj.groups.add(
            Group.objects.get_or_create(name=Role.MODERATOR.value)[0]
        )
    )


def district(slug: str = "almaly") -> District:
    # The districts come from a data migration; a transactional test before this one may have
    # flushed them, so they are put back (idempotently) when missing.
    if not District.objects.exists():
        ensure_districts(District)
    return District.objects.get(slug=slug)


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Community

    name = factory.Sequence(lambda n: f"Community {n}")
    slug = factory.Sequence(lambda n: f"community-{n}")
    kind = Community.Kind.CITIZEN_GROUP
    description = "A community of neighbours."
    status = Community.Status.APPROVED


def make_poll(*, official=None, open_now=True, choices=3, minutes=60, **fields):
    """A poll created through the services, as an official would, opened unless told not."""
    from datetime import timedelta

    from django.utils import timezone

    from polls.services import ChoiceInput, PollInput, poll_create, poll_open

    official = official or OfficialFactory()
    labels = [
        ChoiceInput(f"Таңдау {i}", f"Вариант {i}", f"Choice {i}") for i in range(1, choices + 1)
    ]
    now = timezone.now()
    # Polls of the tests written before resident verification keep the e-mail rule: a test
    # of residents-only voting asks for it (a district poll is for its district's residents).
    fields.setdefault("eligibility", "district" if fields.get("district_id") else "email")
    data = PollInput(
        title_kk="Алматының өзекті мәселелері",
        title_ru="Самые острые проблемы Алматы",
        title_en="Most pressing problems of Almaty",
        choices=labels,
        opens_at=fields.pop("opens_at", now),
        closes_at=fields.pop("closes_at", now + timedelta(minutes=minutes)),
        **fields,
    )
    poll = poll_create(actor=official, data=data)
    if open_now:
        poll = poll_open(actor=official, poll_id=poll.pk)
    return poll


_resident_serial = iter(range(1, 10**6))


def make_resident(user=None, *, slug: str = "medeu", **user_fields):
    """A citizen verified as a resident of district `slug` through the shared binding step
    (in person, with no register loaded: the district the official vouched for). With a
    register loaded, verify against it instead (tests/residents/conftest.py)."""
    import datetime as dt

    from residents.iin import iin_make
    from residents.services import resident_bind

    user = user or UserFactory(**user_fields)
    n = next(_resident_serial)
    born = dt.date(1970, 1, 1) + dt.timedelta(days=n % 15000)
    iin = iin_make(born, n % 10000)
    resident_bind(actor=user, iin=iin, birth_date=born, method="in_person", district=district(slug))
    return user


def choice_ids(poll) -> list[int]:
    return list(poll.choices.values_list("pk", flat=True))


def make_member(community, user=None, role: str = "member"):
    """An active member (or lead) of `community`."""
    from communities.models import Membership

    user = user or UserFactory()
    Membership.objects.update_or_create(
        community=community, user=user, defaults={"role": role, "state": "active"}
    )
    return user


def make_initiative(*, community=None, author=None, status: str = "submitted", **fields):
    """An initiative drafted through the services and moved to `status` as people would."""
    from communities.services import InitiativeInput, initiative_create, initiative_transition

    community = community or CommunityFactory()
    author = author or make_member(community, role="lead")
    data = InitiativeInput(
        title=fields.pop("title", "Reconstruction of the former tram depot"),
        summary=fields.pop("summary", "A public space in the old depot."),
        category=fields.pop("category", "urban_space"),
        **fields,
    )
    initiative = initiative_create(actor=author, community_id=community.pk, data=data)
    path = {
        "draft": [],
        "submitted": ["submitted"],
        "under_review": ["submitted", "under_review"],
        "changes_requested": ["submitted", "under_review", "changes_requested"],
        "accepted": ["submitted", "under_review", "accepted"],
        "rejected": ["submitted", "under_review", "rejected"],
        "in_progress": ["submitted", "under_review", "accepted", "in_progress"],
        "implemented": ["submitted", "under_review", "accepted", "in_progress", "implemented"],
        "withdrawn": ["withdrawn"],
    }[status]
    official = None
    for to in path:
        if to in ("submitted", "withdrawn"):
            actor = author
        else:
            official = official or OfficialFactory()
            actor = official
        initiative = initiative_transition(
            actor=actor, initiative_id=initiative.pk, to=to, response="Official answer."
        )
    return initiative


def make_thread(*, author=None, title: str = "Transport in Auezov district"):
    """A standalone dialogue topic, started through the services by a citizen."""
    from dialogue.services import thread_create

    return thread_create(actor=author or UserFactory(), title=title)


def make_session(
    *, actor=None, moderation: str = "post", starts_in: int = -5, minutes: int = 60, **fields
):
    """A Q&A session made through the services by a moderator; live now unless told.

    `starts_in` and `minutes` are minutes from now: a negative start is already running.
    """
    from datetime import timedelta

    from django.utils import timezone

    from dialogue.services import SessionInput, session_create

    actor = actor or ModeratorFactory()
    starts_at = fields.pop("starts_at", timezone.now() + timedelta(minutes=starts_in))
    ends_at = fields.pop("ends_at", starts_at + timedelta(minutes=minutes))
    hosts = fields.pop("hosts", ())
    data = SessionInput(
        title=fields.pop("title", "Open hour with the akim of Auezov district"),
        language=fields.pop("language", "ru"),
        starts_at=starts_at,
        ends_at=ends_at,
        moderation=moderation,
        host_ids=tuple(h.pk for h in hosts),
        **fields,
    )
    return session_create(actor=actor, data=data)
