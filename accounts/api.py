"""JSON API of accounts: districts and the signed-in user's own profile."""

from __future__ import annotations

import re

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema
from ninja.security import django_auth

from residents.api import VerificationOut
from residents.selectors import verification_of

from .models import District
from .permissions import is_citizen, is_moderator, is_official
from .selectors import district_list
from .services import DISPLAY_NAME_MAX, LANGUAGE_CODES, user_update_profile

router = Router()


class ErrorOut(Schema):
    detail: str
    code: str


class DistrictOut(Schema):
    slug: str
    name: str
    name_kk: str
    name_ru: str
    name_en: str


class MeOut(Schema):
    id: int
    email: str
    display_name: str
    district: str | None
    preferred_language: str
    roles: list[str]
    is_citizen: bool
    verification: VerificationOut


class MePatch(Schema):
    display_name: str | None = Field(None, max_length=DISPLAY_NAME_MAX)
    district: str | None = Field(None, max_length=50, description="district slug, or empty")
    preferred_language: str | None = Field(None, max_length=5)

    model_config = {"extra": "forbid"}


def _me(user) -> dict:
    roles = [
        name
        for name, has in (("official", is_official(user)), ("moderator", is_moderator(user)))
        if has
    ]
    return {
        "id": user.pk,
        "email": user.email,
        "display_name": user.display_name,
        "district": user.district.slug if user.district else None,
        "preferred_language": user.preferred_language,
        "roles": roles,
        "is_citizen": is_citizen(user),
        "verification": verification_of(user),
    }


@router.get("/districts", response=list[DistrictOut], tags=["city"])
def districts(request):
    return list(district_list())


@router.get("/me", response={200: MeOut, 401: ErrorOut}, auth=django_auth, tags=["accounts"])
def me(request):
    return _me(request.auth)


@router.patch(
    "/me",
    response={200: MeOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: dict},
    auth=django_auth,
    tags=["accounts"],
)
def me_update(request, data: MePatch):
    user = request.auth
    district = user.district
    if data.district is not None:
        # A slug is letters, digits and dashes; anything else (a NUL byte, say) is no district.
        if data.district and not re.fullmatch(r"[a-z0-9-]{1,50}", data.district):
            raise Http404
        district = get_object_or_404(District, slug=data.district) if data.district else None
    language = (
        user.preferred_language if data.preferred_language is None else data.preferred_language
    )
    if language and language not in LANGUAGE_CODES:
        from civic.errors import InvalidInput

        raise InvalidInput(_("Unknown language."), code="unknown_language")
    user_update_profile(
        user=user,
        display_name=user.display_name if data.display_name is None else data.display_name,
        district=district,
        preferred_language=language,
    )
    return _me(user)
