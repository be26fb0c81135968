"""Polls: questions to the city, their choices, ballots, tallies and event codes.

The ballot rows are the truth. ChoiceTally/BallotTally are counters, a cache of the ballots:
a vote writes its +1s as PendingTally rows beside its ballot, and `tallies_fold` adds them to
the counters outside the voter's transaction (every tick, at close, on verify). The counters
plus the pending rows are the tally at every moment; `manage.py verify_tallies` checks both
against the ballots. Secret ballots keep who took
part (Participation) apart from what was chosen (Ballot with no voter, no time, random id).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from civic.content import original_language_field
from civic.content import text as content_text
from residents.eligibility import Eligibility


def _localized(obj, field: str) -> str:
    return content_text(obj, field)


class Poll(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Visibility(models.TextChoices):
        LIVE = "live", _("Live for everyone")
        OFFICIALS = "officials", _("Live for officials, public after close")
        HIDDEN = "hidden", _("Hidden until close")

    class BallotMode(models.TextChoices):
        """Who may cast a ballot: citizens with their accounts, guests with printed codes."""

        ACCOUNTS = "accounts", _("Accounts only")
        CODES = "codes", _("Ballot codes only")
        BOTH = "both", _("Accounts and ballot codes")

    # Texts in three languages (civic/content.py): the original's is required, the rest optional.
    original_language = original_language_field()
    title_kk = models.CharField(_("title (Kazakh)"), max_length=200, blank=True)
    title_ru = models.CharField(_("title (Russian)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description_kk = models.TextField(_("description (Kazakh)"), max_length=4000, blank=True)
    description_ru = models.TextField(_("description (Russian)"), max_length=4000, blank=True)
    description_en = models.TextField(_("description (English)"), max_length=4000, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.SINGLE)
    max_choices = models.PositiveSmallIntegerField(_("at most this many choices"), default=1)
    district = models.ForeignKey(
        "accounts.District",
        verbose_name=_("only for residents of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="polls",
    )
    # Who may vote with an account (residents.eligibility). New polls: verified residents
    # (of the city, or of `district` when one is set); polls older than resident
    # verification keep the e-mail rule.
    eligibility = models.CharField(
        _("who may vote"),
        max_length=10,
        choices=Eligibility.choices,
        default=Eligibility.CITY,
    )
    opens_at = models.DateTimeField(_("opens at"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    results_visibility = models.CharField(
        _("results"), max_length=10, choices=Visibility.choices, default=Visibility.LIVE
    )
    allow_vote_change = models.BooleanField(
        _("voters may change their vote until close"), default=False
    )
    secret_ballot = models.BooleanField(_("secret ballot"), default=False)
    ballot_mode = models.CharField(
        _("who votes"), max_length=10, choices=BallotMode.choices, default=BallotMode.ACCOUNTS
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Frozen at close: {"total_votes": n, "choices": [{"id", "votes"}]}.
    final_result = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-opens_at", "-id"]
        verbose_name = _("poll")
        verbose_name_plural = _("polls")
        constraints = [
            models.CheckConstraint(
                name="poll_closes_after_opens",
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(closes_at__gt=models.F("opens_at")),
            ),
            models.CheckConstraint(
                name="poll_max_choices_positive", condition=Q(max_choices__gte=1)
            ),
            models.CheckConstraint(
                name="poll_single_means_one",
                condition=~Q(kind="single") | Q(max_choices=1),
            ),
            models.CheckConstraint(
                # A secret ballot cannot be changed: nothing links the voter to it.
                name="poll_secret_ballots_are_final",
                condition=Q(secret_ballot=False) | Q(allow_vote_change=False),
            ),
            models.CheckConstraint(
                name="poll_ballot_mode_known",
                condition=Q(ballot_mode__in=["accounts", "codes", "both"]),
            ),
            models.CheckConstraint(
                # A district poll is for verified residents of that district, and only a
                # district poll names one.
                name="poll_district_iff_district_eligibility",
                condition=(Q(eligibility="district") & Q(district__isnull=False))
                | (Q(eligibility__in=["email", "city"]) & Q(district__isnull=True)),
                violation_error_message=_(
                    "A poll with a district is for the verified residents of that district, "
                    "and a poll for a district's residents names the district."
                ),
            ),
            models.CheckConstraint(
                name="poll_open_or_closed_has_times",
                condition=Q(status__in=["draft"])
                | (Q(opens_at__isnull=False) & Q(closes_at__isnull=False)),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return _localized(self, "title")

    @property
    def description(self) -> str:
        return _localized(self, "description")

    @property
    def takes_accounts(self) -> bool:
        return self.ballot_mode != Poll.BallotMode.CODES

    @property
    def takes_codes(self) -> bool:
        return self.ballot_mode != Poll.BallotMode.ACCOUNTS


class Choice(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="choices")
    label_kk = models.CharField(_("label (Kazakh)"), max_length=200, blank=True)
    label_ru = models.CharField(_("label (Russian)"), max_length=200, blank=True)
    label_en = models.CharField(_("label (English)"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    # A choice may stand for an urban initiative ("which project first?").
    initiative = models.ForeignKey(
        "communities.Initiative",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="poll_choices",
        verbose_name=_("initiative"),
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("choice")
        verbose_name_plural = _("choices")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return _localized(self, "label")

    @property
    def original_language(self) -> str:
        # A choice is written in its poll's language (the poll is cached by poll.choices).
        return self.poll.original_language if self.poll_id else ""


class Ballot(models.Model):
    """What was chosen. For a secret ballot: no voter, no time, a random id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="ballots")
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    code = models.OneToOneField(
        "EventCode", null=True, blank=True, on_delete=models.SET_NULL, related_name="ballot"
    )
    cast_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["poll", "voter"],
                condition=Q(voter__isnull=False),
                name="ballot_one_per_voter_per_poll",
            ),
        ]
        # The dashboard's turnout timeline reads the last minutes of a poll's ballots.
        indexes = [
            models.Index(
                fields=["poll", "cast_at"],
                condition=Q(cast_at__isnull=False),
                name="ballot_poll_cast_at",
            )
        ]

    def __str__(self) -> str:
        return f"ballot {self.pk} in poll {self.poll_id}"


class BallotChoice(models.Model):
    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="selections")
    choice = models.ForeignKey(Choice, on_delete=models.CASCADE, related_name="selections")
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ballot", "choice"], name="ballot_choice_once"),
        ]
        indexes = [models.Index(fields=["poll", "choice"])]

    def __str__(self) -> str:
        return f"{self.ballot_id} → {self.choice_id}"


class Participation(models.Model):
    """Who took part in a secret ballot, kept apart from what they chose."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="participations")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "voter"], name="participation_once_per_poll"),
        ]
        indexes = [models.Index(fields=["poll", "created_at"], name="participation_poll_time")]

    def __str__(self) -> str:
        return f"user {self.voter_id} took part in poll {self.poll_id}"


class ChoiceTally(models.Model):
    """A choice's vote counter. `shard` is always 0: counters were sharded while every vote
    bumped them in its own transaction; only tallies_fold writes them now (migration 0007
    merged the shards)."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+")
    choice = models.ForeignKey(Choice, on_delete=models.CASCADE, related_name="tallies")
    shard = models.PositiveSmallIntegerField()
    votes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["choice", "shard"], name="choice_tally_shard_once"),
            models.CheckConstraint(name="choice_tally_non_negative", condition=Q(votes__gte=0)),
        ]

    def __str__(self) -> str:
        return f"choice {self.choice_id} shard {self.shard}: {self.votes}"


class BallotTally(models.Model):
    """A poll's ballot counter (turnout), shard 0 as ChoiceTally."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="ballot_tallies")
    shard = models.PositiveSmallIntegerField()
    ballots = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "shard"], name="ballot_tally_shard_once"),
            models.CheckConstraint(name="ballot_tally_non_negative", condition=Q(ballots__gte=0)),
        ]

    def __str__(self) -> str:
        return f"poll {self.poll_id} shard {self.shard}: {self.ballots}"


class PendingTally(models.Model):
    """A vote's change to the counters not yet added to them: +1 (or -1, a changed vote) on a
    choice, or on the poll's ballot count (no choice). Written in the vote's own statement,
    with no lock on any shared row; polls.services.tallies_fold moves them into the counters."""

    # No foreign keys in the database: every vote would take one more share lock on its poll's
    # and choices' rows, the hottest rows there are. Only birge_cast_ballot and the services
    # write these rows; deleting a poll or a choice deletes its rows (Django's CASCADE).
    id = models.BigAutoField(primary_key=True)
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    # No index of its own: rows are found by poll, and live a tick or so.
    choice = models.ForeignKey(
        Choice,
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    delta = models.SmallIntegerField()

    def __str__(self) -> str:
        return f"poll {self.poll_id} choice {self.choice_id}: {self.delta:+d}"


class EventCode(models.Model):
    """A one-time ballot code printed for a festival guest without an account."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="event_codes")
    code = models.CharField(max_length=16, unique=True)
    batch = models.UUIDField(default=uuid.uuid4, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["poll", "used_at"], name="eventcode_poll_used_at")]

    def __str__(self) -> str:
        return self.code

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The answer given to a vote request, replayed for a repeat with the same key."""

    scope = models.CharField(max_length=64)  # "user:<id>" or "code:<id>"
    key = models.CharField(max_length=128)
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+")
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_once"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}/{self.key}"
