"""factory_boy factories for the whole suite."""

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group

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


def choice_ids(poll) -> list[int]:
    return list(poll.choices.values_list("pk", flat=True))
