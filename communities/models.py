"""Communities of Almaty (citizen groups, NGOs, social businesses).

The registration and review workflow arrives with the communities issue; this is the
record it builds on.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Community(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")

    class Kind(models.TextChoices):
        CITIZEN_GROUP = "citizen_group", _("Citizen group")
        NGO = "ngo", _("NGO")
        SOCIAL_BUSINESS = "social_business", _("Social business")

    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(unique=True, max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    description = models.TextField(_("description"), max_length=5000)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    districts = models.ManyToManyField("accounts.District", blank=True, related_name="communities")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("community")
        verbose_name_plural = _("communities")

    def __str__(self) -> str:
        return self.name
