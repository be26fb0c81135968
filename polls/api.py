"""JSON API of polls: list, detail, results, votes, and officials' lifecycle actions."""

from __future__ import annotations

import re
from datetime import datetime

from django.http import Http404
from ninja import Field, Header, Router, Schema, Status
from ninja.security import SessionAuth, django_auth

from civic.content import content_payload, request_language
from civic.intake import LeanRoute
from civic.ratelimit import client_address
from civic.realtime import now_seq

from .selectors import poll_get, poll_list_public, poll_results_for
from .services import poll_close, poll_open, vote_cast

router = Router(tags=["polls"])


class ErrorOut(Schema):
    detail: str
    code: str


class RefusedOut(ErrorOut):
    verify_url: str | None = Field(
        None,
        description="with verification_required and wrong_district: the page where the user "
        "verifies their residence",
    )


class PollOut(Schema):
    id: int
    title: str = Field(description="in the language asked for (?lang= or Accept-Language)")
    title_lang: str = Field("", description="the language `title` is in (another one if missing)")
    original_language: str = ""
    translations: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="every version: {field: {kk, ru, en}} ('' = missing)"
    )
    kind: str
    status: str
    opens_at: datetime | None
    closes_at: datetime | None
    district: str | None
    results_visibility: str
    secret_ballot: bool
    allow_vote_change: bool
    ballot_mode: str = Field(
        description="who votes: accounts, codes (printed ballot codes) or both"
    )
    eligibility: str = Field(
        description="who may vote with an account: email (a verified e-mail), city (verified "
        "residents of the city) or district (verified residents of `district`)"
    )


class ChoiceOut(Schema):
    id: int
    label: str
    label_lang: str = ""
    translations: dict[str, dict[str, str]] = Field(default_factory=dict)
    initiative: int | None = None


class PollDetailOut(PollOut):
    description: str
    description_lang: str = ""
    max_choices: int
    choices: list[ChoiceOut]


class ChoiceResultOut(Schema):
    id: int
    votes: int | None


class ResultsOut(Schema):
    type: str
    seq: int
    poll: int
    status: str
    total_votes: int
    results_visible: bool
    choices: list[ChoiceResultOut]


class VoteIn(Schema):
    choices: list[int] = Field(..., max_length=100)
    code: str | None = Field(
        None,
        max_length=32,
        description="printed ballot code; sent while signed in, it is the account's ballot",
    )

    model_config = {"extra": "forbid"}


class VoteOut(Schema):
    poll: int
    status: str
    choices: list[int] | None
    secret: bool


def _poll_out(poll, lang: str, fields=("title",)) -> dict:
    return {
        "id": poll.pk,
        **content_payload(poll, fields, lang),
        "kind": poll.kind,
        "status": poll.status,
        "opens_at": poll.opens_at,
        "closes_at": poll.closes_at,
        "district": poll.district.slug if poll.district else None,
        "results_visibility": poll.results_visibility,
        "secret_ballot": poll.secret_ballot,
        "allow_vote_change": poll.allow_vote_change,
        "ballot_mode": poll.ballot_mode,
        "eligibility": poll.eligibility,
    }


def _get(request, poll_id):
    poll = poll_get(poll_id=poll_id, user=request.user)
    if poll is None:
        raise Http404
    return poll


@router.get("/polls", response=list[PollOut])
def polls(request, status: str | None = None):
    qs = poll_list_public(user=request.user)
    if status:
        qs = qs.filter(status=status)
    lang = request_language(request)
    return [_poll_out(p, lang) for p in qs[:200]]


@router.get("/polls/{poll_id}", response={200: PollDetailOut, 404: ErrorOut})
def poll_detail(request, poll_id: int):
    poll = _get(request, poll_id)
    lang = request_language(request)
    return {
        **_poll_out(poll, lang, ("title", "description")),
        "max_choices": poll.max_choices,
        "choices": [
            {
                "id": c.pk,
                **content_payload(c, ("label",), lang),
                "initiative": c.initiative_id,
            }
            for c in poll.choices.all()
        ],
    }


@router.get("/polls/{poll_id}/results", response={200: ResultsOut, 404: ErrorOut})
def poll_results(request, poll_id: int):
    return poll_results_for(_get(request, poll_id), request.user, seq=now_seq())


class SessionOrGuest(SessionAuth):
    """Session auth with CSRF, which also lets guests (event codes) through unauthenticated;
    the vote service then decides: a citizen's session, or a valid code."""

    def __call__(self, request):
        return super().__call__(request) or request.user


@router.post(
    "/polls/{poll_id}/votes",
    response={
        201: VoteOut,
        400: ErrorOut,
        401: ErrorOut,
        403: RefusedOut,
        404: ErrorOut,
        409: ErrorOut,
        422: dict,
        429: ErrorOut,
    },
    auth=SessionOrGuest(),
)
def poll_vote(
    request,
    poll_id: int,
    data: VoteIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    return Status(*_vote(request, data, poll_id=poll_id, idempotency_key=idempotency_key))


def _vote(request, data: VoteIn, *, poll_id, idempotency_key) -> tuple[int, dict]:
    # A code sent while signed in is that account's ballot: the service gets both.
    result = vote_cast(
        poll_id=poll_id,
        choice_ids=data.choices,
        user=request.user if request.user.is_authenticated else None,
        code=data.code,
        idempotency_key=idempotency_key,
        client_address=client_address(request),
    )
    return 201, result.as_json()


# The same vote, taken in front of Django's full chain (civic.intake), for the many.
VOTE_ROUTE = LeanRoute(
    pattern=re.compile(r"/api/v1/polls/(?P<poll_id>[0-9]+)/votes"),
    schema=VoteIn,
    call=lambda request, data, poll_id: _vote(
        request,
        data,
        poll_id=int(poll_id),
        # The header as request.headers reads it, without building that mapping of them all.
        idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY"),
    ),
)


@router.post(
    "/polls/{poll_id}/open",
    response={200: PollOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    auth=django_auth,
)
def poll_open_api(request, poll_id: int):
    return _poll_out(poll_open(actor=request.auth, poll_id=poll_id), request_language(request))


@router.post(
    "/polls/{poll_id}/close",
    response={200: PollOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    auth=django_auth,
)
def poll_close_api(request, poll_id: int):
    return _poll_out(poll_close(actor=request.auth, poll_id=poll_id), request_language(request))
