"""Almaty's demo polls for seed_demo: the festival's open vote and one poll of each kind."""

from __future__ import annotations

import random
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import District, User
from civic.content import versions

from .models import EventCode, Poll
from .services import (
    ChoiceInput,
    PollInput,
    event_codes_generate,
    poll_close,
    poll_create,
    poll_open,
    poll_schedule,
    vote_cast,
)

PRESSING = [
    ("Экология", "Экология", "Ecology"),
    ("Көлік", "Транспорт", "Transport"),
    ("Денсаулық", "Здоровье", "Health"),
    ("Мәдениет", "Культура", "Culture"),
    ("Әлеуметтік өмір", "Социальная жизнь", "Social life"),
    ("Қалалық орта", "Городская среда", "Urban space"),
]
FESTIVAL_TITLE_EN = "What are the most pressing problems of Almaty?"


def demo_residents(count: int) -> list[User]:
    """Demo residents who voted at the festival (verified, spread over the districts)."""
    districts = list(District.objects.all())
    voters = []
    for i in range(count):
        email = f"resident{i:03d}@demo.birge.kz"
        user, created = User.objects.get_or_create(
            email=email,
            defaults={
                "display_name": f"Resident {i:03d}",
                "district": districts[i % len(districts)],
            },
        )
        if created:
            user.set_unusable_password()
            user.save()
            EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        voters.append(user)
    return voters


def _poll(official, title, choices, **fields) -> Poll:
    # A poll may be given in one language only ("" for the others): its page then shows the
    # original with an "in Russian" note. It is found again by its first title given.
    lang, text = next((lang, t) for lang, t in zip(("kk", "ru", "en"), title, strict=True) if t)
    existing = Poll.objects.filter(**{f"title_{lang}": text}).first()
    if existing:
        return existing
    now = timezone.now()
    fields.setdefault("opens_at", now)
    fields.setdefault("closes_at", now + timedelta(days=14))
    # The demo's voters are e-mail accounts, not registered residents: their polls keep the
    # e-mail rule. The Medeu poll is for Medeu's verified residents (the demo citizen is one).
    fields.setdefault("eligibility", "district" if fields.get("district_id") else "email")
    return poll_create(
        actor=official,
        data=PollInput(
            title_kk=title[0],
            title_ru=title[1],
            title_en=title[2],
            choices=[ChoiceInput(*c) for c in choices],
            **fields,
        ),
    )


def _vote_some(poll: Poll, voters: list[User], rng: random.Random, weights: list[int]) -> None:
    choice_ids = list(poll.choices.values_list("pk", flat=True))
    for voter in voters:
        picks = set()
        while len(picks) < rng.randint(1, poll.max_choices):
            picks.add(rng.choices(choice_ids, weights=weights[: len(choice_ids)])[0])
        vote_cast(poll_id=poll.pk, choice_ids=sorted(picks), user=voter)


def seed_polls(official: User, stdout) -> None:
    rng = random.Random(2026)  # the same demo every time
    voters = demo_residents(60)
    now = timezone.now()

    festival = _poll(
        official,
        (
            "Алматының ең өзекті мәселелері қандай?",
            "Какие проблемы Алматы самые острые?",
            FESTIVAL_TITLE_EN,
        ),
        PRESSING,
        description_kk="Қала қауымдастықтары фестивалінің ашық дауыс беруі. Үш мәселеге дейін таңдаңыз.",
        description_ru="Открытое голосование фестиваля городских сообществ. Выберите до трёх проблем.",
        description_en="The open vote of the festival of city communities. Choose up to three problems.",
        kind=Poll.Kind.MULTIPLE,
        max_choices=3,
        ballot_mode=Poll.BallotMode.BOTH,  # citizens, and guests with printed codes
    )
    if festival.status == Poll.Status.DRAFT:
        poll_open(actor=official, poll_id=festival.pk)
        _vote_some(festival, voters[:45], rng, [9, 8, 5, 3, 4, 7])
    if not EventCode.objects.filter(poll=festival).exists():
        event_codes_generate(actor=official, poll_id=festival.pk, count=24)

    scheduled = _poll(
        official,
        (
            "Медеуде велосипед жолы керек пе?",
            "Нужна ли велодорожка по улице в Медеуском районе?",
            "Should Medeu get a protected bike lane?",
        ),
        [("Иә", "Да", "Yes"), ("Жоқ", "Нет", "No"), ("Білмеймін", "Не знаю", "Not sure")],
        district_id=District.objects.get(slug="medeu").pk,
        opens_at=now + timedelta(days=3),
        closes_at=now + timedelta(days=10),
    )
    if scheduled.status == Poll.Status.DRAFT:
        poll_schedule(actor=official, poll_id=scheduled.pk)

    # Written in Russian only, deliberately: the kk and en pages show it with its note.
    closed = _poll(
        official,
        ("", "В какой день провести субботник в парке?", ""),
        [("", "Суббота", ""), ("", "Воскресенье", "")],
        original_language="ru",
        opens_at=now - timedelta(minutes=5),
        closes_at=now + timedelta(minutes=5),
    )
    if closed.status == Poll.Status.DRAFT:
        poll_open(actor=official, poll_id=closed.pk)
        _vote_some(closed, voters[:30], rng, [2, 1])
        poll_close(actor=official, poll_id=closed.pk)

    secret = _poll(
        official,
        (
            "Қауымдастық кеңесінің төрағасын сайлау",
            "Выборы председателя совета сообществ",
            "Electing the chair of the communities council",
        ),
        [
            ("Айгүл Серікқызы", "Айгуль Серикова", "Aigul Serikova"),
            ("Ержан Омаров", "Ержан Омаров", "Yerzhan Omarov"),
            ("Дина Ли", "Дина Ли", "Dina Li"),
        ],
        secret_ballot=True,
        results_visibility=Poll.Visibility.HIDDEN,
    )
    if secret.status == Poll.Status.DRAFT:
        poll_open(actor=official, poll_id=secret.pk)
        _vote_some(secret, voters[:20], rng, [3, 3, 2])

    codes = EventCode.objects.filter(poll=festival, used_at__isnull=True, revoked_at__isnull=True)[
        :3
    ]
    stdout.write(f"Polls: {Poll.objects.count()} (festival vote: /en/polls/{festival.pk}/)")
    stdout.write(
        "Event ballot codes for the festival vote, e.g.: " + ", ".join(c.code for c in codes)
    )


def seed_initiative_poll(official: User, stdout) -> None:
    """A poll whose choices are the open initiatives: which should the city fund first?"""
    from communities.models import Initiative

    open_ones = list(
        Initiative.objects.filter(
            status__in=["submitted", "under_review", "changes_requested"]
        ).order_by("pk")[:3]
    )
    title = ("Қай бастаманы бірінші қаржыландыру керек?", "Какую инициативу профинансировать первой?",
             "Which initiative should the city fund first?")  # fmt: skip
    if len(open_ones) < 2 or Poll.objects.filter(title_en=title[2]).exists():
        return
    poll = poll_create(
        actor=official,
        data=PollInput(
            title_kk=title[0],
            title_ru=title[1],
            title_en=title[2],
            # Each choice in the languages its initiative was given in (civic/content.py).
            choices=[
                ChoiceInput(
                    **{f"label_{lang}": t for lang, t in versions(i, "title").items()},
                    initiative_id=i.pk,
                )
                for i in open_ones
            ],
            original_language="ru",
            opens_at=timezone.now(),
            closes_at=timezone.now() + timedelta(days=7),
        ),
    )
    poll_open(actor=official, poll_id=poll.pk)
    stdout.write(f"Initiative poll: {poll.pk} ({len(open_ones)} initiatives)")
