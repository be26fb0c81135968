"""City Dialogue: threads of comments with official answers, and live Q&A sessions.

Every state change lives in dialogue.services; counters (reactions, upvotes) are caches of
their rows, kept in the same transaction, and the rows are unique per person.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from civic.content import original_language_field
from residents.eligibility import Eligibility


class Thread(models.Model):
    """A discussion on an initiative, on a poll, or on a topic of its own."""

    title = models.CharField(_("title"), max_length=200)
    initiative = models.OneToOneField(
        "communities.Initiative",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="thread",
    )
    poll = models.OneToOneField(
        "polls.Poll", on_delete=models.CASCADE, null=True, blank=True, related_name="thread"
    )
    answer = models.ForeignKey(
        "Comment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(auto_now_add=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-last_activity_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(initiative__isnull=True) | Q(poll__isnull=True),
                name="thread_has_one_subject",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("dialogue:thread", kwargs={"pk": self.pk})


class ThreadFollow(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["thread", "user"], name="one_follow")]

    def __str__(self) -> str:
        return f"follow {self.user_id} → thread {self.thread_id}"


class Comment(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    # Replies stay one level deep under `parent`; this is the comment actually answered (a
    # reply to a reply), so its author is the one told about it.
    reply_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    body = models.TextField(max_length=5000, blank=True)
    body_html = models.TextField(blank=True)
    # The author spoke as an official when writing it: the badge stays with the comment.
    is_official = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=500, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    agree_count = models.PositiveIntegerField(default=0)
    disagree_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=F("pk")), name="comment_not_own_parent"
            )
        ]

    def __str__(self) -> str:
        return f"comment {self.pk}"


class Reaction(models.Model):
    class Kind(models.TextChoices):
        AGREE = "agree", _("Agree")
        DISAGREE = "disagree", _("Disagree")

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="one_reaction_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.user_id} → comment {self.comment_id}"


class Session(models.Model):
    """A live Q&A meeting: citizens ask and upvote, moderators curate, officials answer."""

    class Moderation(models.TextChoices):
        PRE = "pre", _("Questions appear after a moderator approves them")
        POST = "post", _("Questions appear at once; moderators may hide them")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=4000, blank=True)
    # Texts in three languages (civic/content.py): `title` and `description` are the
    # original's, in `original_language` (the session may be held in another `language`).
    original_language = original_language_field()
    title_kk = models.CharField(_("title (Kazakh)"), max_length=200, blank=True)
    title_ru = models.CharField(_("title (Russian)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description_kk = models.TextField(_("description (Kazakh)"), max_length=4000, blank=True)
    description_ru = models.TextField(_("description (Russian)"), max_length=4000, blank=True)
    description_en = models.TextField(_("description (English)"), max_length=4000, blank=True)
    language = models.CharField(_("language"), max_length=2, choices=settings.LANGUAGES)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    moderation = models.CharField(
        _("moderation"), max_length=4, choices=Moderation.choices, default=Moderation.POST
    )
    # Who may ask and upvote (residents.eligibility): e-mail by default; verified residents
    # of the city, or of `district` (set only for a district session).
    eligibility = models.CharField(
        _("who may ask"),
        max_length=10,
        choices=Eligibility.choices,
        default=Eligibility.EMAIL,
    )
    district = models.ForeignKey(
        "accounts.District",
        verbose_name=_("for residents of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    hosts = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    pinned = models.ForeignKey(
        "Question", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"
            ),
            models.CheckConstraint(
                condition=(Q(eligibility="district") & Q(district__isnull=False))
                | (Q(eligibility__in=["email", "city"]) & Q(district__isnull=True)),
                name="session_district_iff_district_eligibility",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("dialogue:session", kwargs={"pk": self.pk})


class Question(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for a moderator")
        APPROVED = "approved", _("Approved")
        HIDDEN = "hidden", _("Hidden")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="questions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="questions"
    )
    text = models.CharField(max_length=500)
    # Anonymous to other citizens; moderators always see who asked.
    anonymous = models.BooleanField(default=False)
    state = models.CharField(max_length=8, choices=State.choices)
    hidden_reason = models.CharField(max_length=500, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    upvotes_count = models.PositiveIntegerField(default=0)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-upvotes_count", "created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class QuestionVote(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "user"], name="one_upvote_per_user")
        ]

    def __str__(self) -> str:
        return f"upvote {self.user_id} → question {self.question_id}"


class SessionBan(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=500)
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="one_ban")]

    def __str__(self) -> str:
        return f"ban {self.user_id} from session {self.session_id}"


class Flag(models.Model):
    """A user's report of a comment or question, for moderators."""

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="flags"
    )
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, null=True, blank=True, related_name="flags"
    )
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(comment__isnull=False) & Q(question__isnull=True))
                | (Q(comment__isnull=True) & Q(question__isnull=False)),
                name="flag_has_one_target",
            ),
            models.UniqueConstraint(
                fields=["reporter", "comment"],
                condition=Q(comment__isnull=False),
                name="one_flag_per_comment",
            ),
            models.UniqueConstraint(
                fields=["reporter", "question"],
                condition=Q(question__isnull=False),
                name="one_flag_per_question",
            ),
        ]

    def __str__(self) -> str:
        target = f"comment {self.comment_id}" if self.comment_id else f"question {self.question_id}"
        return f"flag by {self.reporter_id} on {target}"
