"""People's Budget: rounds, the projects on their ballots, ballots and the computed outcomes.

The ballot rows are the truth: outcomes are computed from them (never from counters) and
stored with the rule, the inputs' hash and the time. Who took part (BudgetParticipation) is
kept apart from what was chosen (BudgetBallot): a secret round's ballot has no voter and no
time, only a random id.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from civic.content import original_language_field
from polls.models import _localized
from residents.eligibility import Eligibility

# Ten to the fifteenth tenge: far above any city's budget, below what a bigint sum of many
# projects could overflow. A total at or above it is a typo.
TOTAL_BUDGET_LIMIT = 10**15


class BudgetRound(models.Model):
    class Rule(models.TextChoices):
        GREEDY = "greedy", _("Greedy (most approvals first)")
        EQUAL_SHARES = "equal_shares", _("Method of Equal Shares")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Visibility(models.TextChoices):
        LIVE = "live", _("Live for everyone")
        OFFICIALS = "officials", _("Live for officials, public after close")
        HIDDEN = "hidden", _("Hidden until close")

    class Computation(models.TextChoices):
        """The Celery task that computes both outcomes after close."""

        NONE = "none", _("Not computed")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Computing")
        DONE = "done", _("Computed")
        FAILED = "failed", _("Failed")

    # Texts in three languages (civic/content.py): the original's is required, the rest optional.
    original_language = original_language_field()
    title_kk = models.CharField(_("title (Kazakh)"), max_length=200, blank=True)
    title_ru = models.CharField(_("title (Russian)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description_kk = models.TextField(_("description (Kazakh)"), max_length=4000, blank=True)
    description_ru = models.TextField(_("description (Russian)"), max_length=4000, blank=True)
    description_en = models.TextField(_("description (English)"), max_length=4000, blank=True)
    district = models.ForeignKey(
        "accounts.District",
        verbose_name=_("only for residents of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="budget_rounds",
    )
    eligibility = models.CharField(
        _("who may vote"), max_length=10, choices=Eligibility.choices, default=Eligibility.CITY
    )
    total_budget = models.PositiveBigIntegerField(_("total budget, KZT"))
    min_projects = models.PositiveSmallIntegerField(_("at least this many projects"), default=1)
    max_projects = models.PositiveSmallIntegerField(_("at most this many projects"), default=5)
    rule = models.CharField(_("rule"), max_length=16, choices=Rule.choices, default=Rule.GREEDY)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    opens_at = models.DateTimeField(_("opens at"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    results_visibility = models.CharField(
        _("results"), max_length=10, choices=Visibility.choices, default=Visibility.HIDDEN
    )
    allow_ballot_change = models.BooleanField(
        _("voters may change their ballot until close"), default=False
    )
    secret_ballot = models.BooleanField(_("secret ballot"), default=False)
    imported = models.BooleanField(_("imported from a Pabulib file"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Frozen at close from the ballot rows: how many ballots were cast.
    final_ballots = models.PositiveIntegerField(null=True, blank=True)
    computation = models.CharField(
        _("outcome computation"),
        max_length=10,
        choices=Computation.choices,
        default=Computation.NONE,
    )
    computation_progress = models.PositiveSmallIntegerField(default=0)  # percent
    computation_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-opens_at", "-id"]
        verbose_name = _("budget round")
        verbose_name_plural = _("budget rounds")
        constraints = [
            models.CheckConstraint(
                name="budget_round_total_in_range",
                condition=Q(total_budget__gt=0, total_budget__lt=TOTAL_BUDGET_LIMIT),
            ),
            models.CheckConstraint(
                name="budget_round_min_projects_positive", condition=Q(min_projects__gte=1)
            ),
            models.CheckConstraint(
                name="budget_round_max_at_least_min",
                condition=Q(max_projects__gte=models.F("min_projects")),
            ),
            models.CheckConstraint(
                name="budget_round_closes_after_opens",
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(closes_at__gt=models.F("opens_at")),
            ),
            models.CheckConstraint(
                # A secret ballot cannot be changed: nothing links the voter to it.
                name="budget_round_secret_ballots_are_final",
                condition=Q(secret_ballot=False) | Q(allow_ballot_change=False),
            ),
            models.CheckConstraint(
                name="budget_round_district_iff_district_eligibility",
                condition=(Q(eligibility="district") & Q(district__isnull=False))
                | (Q(eligibility__in=["email", "city"]) & Q(district__isnull=True)),
            ),
            models.CheckConstraint(
                name="budget_round_rule_known",
                condition=Q(rule__in=["greedy", "equal_shares"]),
            ),
            models.CheckConstraint(
                name="budget_round_open_or_closed_has_times",
                condition=Q(status="draft")
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
    def alternative_rule(self) -> str:
        """The rule computed beside the round's own, for comparison."""
        if self.rule == BudgetRound.Rule.GREEDY:
            return BudgetRound.Rule.EQUAL_SHARES
        return BudgetRound.Rule.GREEDY


class BudgetProject(models.Model):
    """A project on a round's ballot. Its cost is fixed once the round opens."""

    round = models.ForeignKey(BudgetRound, on_delete=models.CASCADE, related_name="projects")
    # Texts in three languages (civic/content.py): the original's is required, the rest optional.
    original_language = original_language_field()
    title_kk = models.CharField(_("title (Kazakh)"), max_length=200, blank=True)
    title_ru = models.CharField(_("title (Russian)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description_kk = models.TextField(_("description (Kazakh)"), max_length=4000, blank=True)
    description_ru = models.TextField(_("description (Russian)"), max_length=4000, blank=True)
    description_en = models.TextField(_("description (English)"), max_length=4000, blank=True)
    cost = models.PositiveBigIntegerField(_("cost, KZT"))
    initiative = models.ForeignKey(
        "communities.Initiative",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="budget_projects",
        verbose_name=_("initiative"),
    )
    # What the community estimated (the initiative's budget when the project was added) and
    # the dossier's estimate document it came with; `cost` is what the akimat confirmed.
    estimated_cost = models.PositiveBigIntegerField(_("community's estimate, KZT"), null=True)
    estimate_document = models.ForeignKey(
        "communities.Attachment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("estimate document"),
    )
    cost_note = models.TextField(_("the akimat's note on the cost"), max_length=2000, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    # The project_id of a project imported from a Pabulib file.
    pabulib_id = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("budget project")
        verbose_name_plural = _("budget projects")
        constraints = [
            models.CheckConstraint(
                name="budget_project_cost_in_range",
                condition=Q(cost__gt=0, cost__lt=TOTAL_BUDGET_LIMIT),
            ),
            models.UniqueConstraint(
                fields=["round", "initiative"],
                condition=Q(initiative__isnull=False),
                name="budget_project_initiative_once_per_round",
            ),
            models.UniqueConstraint(
                fields=["round", "pabulib_id"],
                condition=~Q(pabulib_id=""),
                name="budget_project_pabulib_id_once_per_round",
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


class BudgetParticipation(models.Model):
    """Who took part in a round (always written for a voter with an account)."""

    round = models.ForeignKey(BudgetRound, on_delete=models.CASCADE, related_name="participations")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round", "voter"], name="budget_participation_once_per_round"
            ),
        ]
        indexes = [models.Index(fields=["round", "created_at"], name="budget_participation_time")]

    def __str__(self) -> str:
        return f"user {self.voter_id} took part in budget round {self.round_id}"


class BudgetBallot(models.Model):
    """What was chosen. A secret (or imported) ballot has no voter and no time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    round = models.ForeignKey(BudgetRound, on_delete=models.CASCADE, related_name="ballots")
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    # A stable id that links to no account (the Pabulib export's voter_id).
    ballot_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round", "voter"],
                condition=Q(voter__isnull=False),
                name="budget_ballot_one_per_voter_per_round",
            ),
        ]

    def __str__(self) -> str:
        return f"ballot {self.pk} in budget round {self.round_id}"


class BudgetBallotProject(models.Model):
    """One approved project of a ballot. `round` is repeated for fast counting."""

    ballot = models.ForeignKey(BudgetBallot, on_delete=models.CASCADE, related_name="picks")
    project = models.ForeignKey(BudgetProject, on_delete=models.CASCADE, related_name="picks")
    round = models.ForeignKey(BudgetRound, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ballot", "project"], name="budget_pick_once"),
        ]
        indexes = [models.Index(fields=["round", "project"], name="budget_pick_round_project")]

    def __str__(self) -> str:
        return f"{self.ballot_id} → {self.project_id}"


class BudgetOutcome(models.Model):
    """The outcome of one rule on a closed round's ballots.

    `funded`: project ids in funding order; `projects`: [{"id", "votes", "funded", "reason",
    "reason_data"}], reason one of budgets.rules' codes.
    """

    round = models.ForeignKey(BudgetRound, on_delete=models.CASCADE, related_name="outcomes")
    rule = models.CharField(max_length=16, choices=BudgetRound.Rule.choices)
    is_primary = models.BooleanField(default=True)
    funded = models.JSONField(default=list)
    spent = models.PositiveBigIntegerField(default=0)
    projects = models.JSONField(default=list)
    ballots = models.PositiveIntegerField(default=0)
    inputs_hash = models.CharField(max_length=64)
    computed_at = models.DateTimeField()
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-is_primary", "rule"]
        verbose_name = _("budget outcome")
        verbose_name_plural = _("budget outcomes")
        constraints = [
            models.UniqueConstraint(fields=["round", "rule"], name="budget_outcome_once_per_rule"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} outcome of budget round {self.round_id}"
