"""Dashboard pages: the live overview, a poll's projector screen, and exports.

The pages render dashboard_payload() on the server (they work without JavaScript); the
scripts then keep them live from the same payload over /ws/dashboard/.
"""

from __future__ import annotations

from datetime import datetime
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import District
from accounts.permissions import is_official, require_official
from civic.content import pick as content_pick
from civic.errors import DomainError
from civic.qr import qr_svg
from civic.realtime import now_seq
from civic.templatetags.numbers import format_number, format_percent
from civic.views import domain_error_response
from communities.models import FocusArea, Initiative
from communities.permissions import OFFICIAL, moves_by_status
from communities.services import RESPONSE_MAX, initiative_transition
from polls.models import EventCode, Poll
from polls.selectors import poll_get, poll_results_for, results_rows

from .charts import dashboard_charts, districts_chart, minutes_chart
from .models import Export
from .permissions import exports_visible_to, require_dashboard, require_exports
from .selectors import audience_of, dashboard_snapshot, officials_see_results, pick
from .services import export_create, export_open

LANGUAGES = ("kk", "ru", "en")
THIN = "\u202f"  # narrow no-break space: 12 345 on one line
EXPORTS_SHOWN = 20


# --- Access -----------------------------------------------------------------------------------


def _guarded(check):
    """Anonymous visitors go to the login page; the signed-in but not allowed get a 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                check(request.user)
            except DomainError as exc:
                return domain_error_response(request, exc)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


staff_only = _guarded(require_dashboard)
officials_only = _guarded(require_official)


# --- Formatting (once, here, for the page and the live fragments alike) ----------------------


def _lang() -> str:
    lang = (get_language() or "ru")[:2]
    return lang if lang in LANGUAGES else "ru"


def group_digits(n) -> str:
    """12345 → '12 345' (kk/ru) or '12,345' (en): civic's one number format."""
    return format_number(None if n is None else int(n))


def percent(value, lang: str) -> str:
    """31.06 → '31,1 %' in `lang`, the sign included (civic's one percent format)."""
    return format_percent(value, lang=lang)


def waiting_text(minutes: int) -> str:
    minutes = max(0, int(minutes))
    if minutes < 60:
        return _("%(m)s min") % {"m": minutes}
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": mins}
    days, hours = divmod(hours, 24)
    return _("%(d)s d %(h)s h") % {"d": days, "h": hours}


# --- The overview -----------------------------------------------------------------------------


def official_moves() -> dict[str, list[str]]:
    """For each status, the statuses an official may move an initiative to."""
    return moves_by_status(OFFICIAL)


def district_names(lang: str) -> dict:
    """Every district's name in the page's language, by slug (the payload sends slugs)."""
    names = {d.slug: pick({x: getattr(d, f"name_{x}") for x in LANGUAGES}, lang)
             for d in District.objects.all()}  # fmt: skip
    return {**names, "guests": _("Guests with codes"), "": _("No district given")}


def _district_rows(rows: list | None, names: dict) -> list[dict] | None:
    if rows is None:
        return None
    return [
        {"name": names.get(key or "", key), "votes": group_digits(votes)} for key, votes in rows
    ]


def _poll_card(p: dict, lang: str, names: dict) -> dict:
    total = p["total_votes"] or 0
    choices = []
    for i, c in enumerate(p["choices"]):
        votes = c["votes"]
        share = round(100 * votes / total, 1) if (votes is not None and total) else 0.0
        choices.append(
            {
                "id": c["id"],
                "label": c["label"],
                "votes": group_digits(votes),
                "share": share,
                "share_text": percent(share, lang),
                "colour": i % 8,
            }
        )
    return {
        "id": p["id"],
        "title": p["title"],
        "title_lang": p.get("title_lang", ""),
        "secret_ballot": p["secret_ballot"],
        "closes_at": datetime.fromisoformat(p["closes_at"]) if p["closes_at"] else None,
        "total": group_digits(total),
        "eligible": group_digits(p["eligible"]),
        # Which denominator the turnout uses: the register's residents or the accounts.
        "eligible_label": _("Residents in the register")
        if p.get("eligible_source") == "register"
        else _("Eligible voters"),
        "turnout": percent(p["turnout_pct"], lang),
        "registered": group_digits(p["registered_votes"]),
        "guests": group_digits(p["guest_votes"]),
        "has_guests": bool(p["guest_votes"]),
        "results_visible": p["results_visible"],
        "choices": choices,
        "timeline_chart": minutes_chart(p["timeline"], key=f"poll-{p['id']}-minutes"),
        "districts": _district_rows(p["districts"], names),
        "districts_chart": districts_chart(  # None: a secret ballot
            p["districts"], names=names, key=f"poll-{p['id']}-districts"
        ),
    }


def _round_card(r: dict, lang: str) -> dict:
    """An open People's Budget round: ballots cast and turnout, as the poll cards write them."""
    return {
        "id": r["id"],
        "title": r["title"],
        "title_lang": r.get("title_lang", ""),
        "secret_ballot": r["secret_ballot"],
        "closes_at": datetime.fromisoformat(r["closes_at"]) if r["closes_at"] else None,
        "budget": _("%(amount)s ₸") % {"amount": group_digits(r["total_budget"])},
        "ballots": group_digits(r["ballots"]),
        "eligible": group_digits(r["eligible"]),
        "eligible_label": _("Residents in the register")
        if r.get("eligible_source") == "register"
        else _("Eligible voters"),
        "turnout": percent(r["turnout_pct"], lang),
    }


def _queue_item(item: dict, moves: dict) -> dict:
    return {
        **item,
        # In the reader's language where the author gave it, else the original.
        "title": content_pick(item.get("titles"), item["title"]),
        "summary": content_pick(item.get("summaries"), item["summary"]),
        "community": content_pick(item.get("communities"), item["community"]),
        "status_label": Initiative.Status(item["status"]).label,
        "supports": group_digits(item["supports_count"]),
        "threshold_text": group_digits(item["threshold"]),
        "waiting": waiting_text(item["waiting_minutes"]),
        "moves": [(to, Initiative.Status(to).label) for to in moves.get(item["status"], [])],
    }


def _index_context(request, **extra) -> dict:
    lang = _lang()
    # The last payload of this audience and language, as the sockets have it: its seq, not
    # the time of this request, so that an update computed since is newer than the page.
    seq, payload = dashboard_snapshot(audience=audience_of(request.user), lang=lang)
    return {
        **live_context(payload, seq=seq, lang=lang, can_decide=is_official(request.user)),
        **extra,
    }


def live_context(
    payload: dict, *, seq: int, lang: str, can_decide: bool, charts: dict | None = None
) -> dict:
    """What the page's live part shows, from one audience's localized payload: the page's
    first render and the fragments the socket carries (dashboard.live) both use this."""
    moves = official_moves()
    pipeline = payload["pipeline"]
    names = district_names(lang)
    dialogue = payload["dialogue"]
    return {
        "seq": seq,
        "lang": lang,
        "resync_seconds": settings.REALTIME_RESYNC_SECONDS,
        "generated_at": datetime.fromisoformat(payload["generated_at"]),
        "polls": [_poll_card(p, lang, names) for p in payload["polls"]],
        "rounds": [_round_card(r, lang) for r in payload.get("rounds", [])],
        "status_counts": [
            (s.value, s.label, group_digits(pipeline["counts"].get(s.value, 0)))
            for s in Initiative.Status
            if s != Initiative.Status.DRAFT
        ],
        "queue": [_queue_item(i, moves) for i in pipeline["queue"]],
        "queue_total": pipeline["queue_total"],
        "queue_total_text": group_digits(pipeline["queue_total"]),
        "new_items": [_queue_item(i, moves) for i in pipeline["new"]],
        "new_total_text": group_digits(pipeline["new_total"]),
        "sessions": [
            {
                **s,
                "waiting": group_digits(s["waiting"]),
                "pending": group_digits(s["pending"]),
                "waiting_n": s["waiting"],  # the words after a figure agree with it
                "pending_n": s["pending"],
            }
            for s in dialogue["sessions"]
        ],
        "threads_waiting": group_digits(dialogue["threads_waiting"]),
        "threads_waiting_n": dialogue["threads_waiting"],
        "open_flags": group_digits(dialogue["open_flags"]),
        "open_flags_n": dialogue["open_flags"],
        # participation by district, turnout over time (dashboard/charts.py)
        **(dashboard_charts() if charts is None else charts),
        "can_decide": can_decide,
        "response_max": RESPONSE_MAX,
    }


@staff_only
@require_GET
def index(request):
    return render(request, "dashboard/index.html", _index_context(request))


@staff_only
@require_POST
def decide(request, initiative_id: int):
    """The page's decision form without JavaScript (with it, the page calls the API)."""
    to = request.POST.get("to", "")
    response = request.POST.get("response", "")
    try:
        initiative = initiative_transition(
            actor=request.user, initiative_id=initiative_id, to=to, response=response
        )
    except DomainError as exc:
        context = _index_context(
            request,
            decide_error={
                "id": initiative_id,
                "message": exc.message,
                "to": to,
                "response": response,
            },
        )
        if request.headers.get("HX-Request"):
            # In place (htmx): the item again, open, with the error; 200 so htmx swaps it.
            item = next(
                (i for i in context["queue"] + context["new_items"] if i["id"] == initiative_id),
                None,
            )
            if item is not None:
                return render(request, "dashboard/_queue_item.html", {**context, "item": item})
        return render(request, "dashboard/index.html", context, status=exc.status)
    done = _("Recorded: “%(title)s” is now “%(status)s”.") % {
        "title": initiative.title,
        "status": initiative.get_status_display(),
    }
    if request.headers.get("HX-Request"):
        # The item leaves the queue (the next live update agrees); the page says what happened.
        return render(request, "dashboard/_decided.html", {"done": done})
    messages.success(request, done)
    return redirect(reverse("dashboard:index") + "#pipeline")


# --- Projector --------------------------------------------------------------------------------


def projector_context(poll: Poll, message: dict, lang: str) -> dict:
    """The projector's results (the page's first render and its live fragment): rows with
    their figures written out, the leading row(s) marked, the chart in one or two columns."""
    rows = results_rows(poll, message)
    top = max((row["votes"] or 0 for row in rows), default=0)
    for i, row in enumerate(rows):
        row["colour"] = i % 8
        row["votes_text"] = group_digits(row["votes"])
        row["share_text"] = percent(row["share"], lang)
        row["leading"] = bool(top) and (row["votes"] or 0) == top
    return {
        "poll": poll,
        "results": message,
        "rows": rows,
        "total": group_digits(message["total_votes"]),
        # Up to 6 choices in one column; more in two, so 12 fit a 1280×720 wall.
        "columns": 2 if len(rows) > 6 else 1,
    }


def _has_event_codes(poll: Poll) -> bool:
    return EventCode.objects.filter(
        poll=poll, used_at__isnull=True, revoked_at__isnull=True
    ).exists()


@staff_only
@require_GET
def projector(request, poll_id: int):
    """One poll's results for the wall. ?qr=codes shows a QR code for guests with a ballot
    code (the poll page, at its code field) instead of the poll's own, when it has codes."""
    poll = poll_get(poll_id=poll_id, user=request.user)
    if poll is None:
        raise Http404
    lang = _lang()
    message = poll_results_for(poll, request.user, seq=now_seq())
    vote_url = request.build_absolute_uri(reverse("polls:detail", kwargs={"poll_id": poll.pk}))
    has_codes = _has_event_codes(poll)
    codes_qr = request.GET.get("qr") == "codes" and has_codes
    here = reverse("dashboard:projector", kwargs={"poll_id": poll.pk})
    context = {
        **projector_context(poll, message, lang),
        "vote_url": vote_url,
        "lang": lang,
        "resync_seconds": settings.REALTIME_RESYNC_SECONDS,
        "has_codes": has_codes,
        "codes_qr": codes_qr,
        "switch_url": here if codes_qr else f"{here}?qr=codes",
    }
    if codes_qr:
        # The guest scans, lands on the poll page at the code field and types the code from
        # the card; the codes themselves are never on the wall.
        context["codes_url"] = f"{vote_url}#id_code"
        context["codes_qr_svg"] = mark_safe(qr_svg(context["codes_url"], size=320))  # noqa: S308 - ours
    return render(request, "dashboard/projector.html", context)


# --- Exports ----------------------------------------------------------------------------------


def _exportable_polls():
    polls = Poll.objects.filter(status__in=[Poll.Status.OPEN, Poll.Status.CLOSED]).order_by(
        "-closes_at", "-pk"
    )[:100]
    return [p for p in polls if officials_see_results(p)]


def _export_row(export: Export) -> dict:
    busy = export.state in (Export.State.PENDING, Export.State.RUNNING)
    return {
        "export": export,
        "busy": busy,
        "rows": group_digits(export.rows),
        "download_url": reverse("dashboard:export_download", kwargs={"public_id": export.public_id})
        if export.state == Export.State.DONE
        else "",
        "status_url": reverse("dashboard:export_status", kwargs={"public_id": export.public_id}),
        "filters": _filters_text(export),
    }


def _filters_text(export: Export) -> str:
    if export.kind == Export.Kind.POLL_RESULTS:
        return export.poll.title if export.poll else ""
    f = export.filters or {}
    parts = []
    if f.get("status") in Initiative.Status.values:
        parts.append(str(Initiative.Status(f["status"]).label))
    if f.get("category") in FocusArea.values:
        parts.append(str(FocusArea(f["category"]).label))
    if f.get("district"):
        district = District.objects.filter(pk=f["district"]).first()
        if district:
            parts.append(district.name)
    if f.get("q"):
        parts.append(f"“{f['q']}”")
    return " · ".join(parts) if parts else _("All initiatives")


def _exports_context(request, **extra) -> dict:
    # The user's own (an administrator may open others' too, but the page lists theirs).
    mine = exports_visible_to(request.user).filter(requested_by=request.user)
    exports = list(mine.select_related("poll")[:EXPORTS_SHOWN])
    rows = [_export_row(e) for e in exports]
    return {
        "rows": rows,
        "any_busy": any(r["busy"] for r in rows),
        "polls": _exportable_polls(),
        "statuses": [(s.value, s.label) for s in Initiative.Status if s != Initiative.Status.DRAFT],
        "categories": FocusArea.choices,
        "districts": District.objects.all(),
        "formats": Export.Format.choices,
        "form": {},
        **extra,
    }


@officials_only
@require_http_methods(["GET", "POST"])
def exports(request):
    if request.method == "POST":
        data = request.POST
        kind = data.get("kind", "")
        filters = {k: data.get(k, "") for k in ("status", "category", "district", "q")}
        try:
            export = export_create(
                actor=request.user,
                kind=kind,
                format=data.get("format", ""),
                poll_id=data.get("poll") or None,
                filters=filters if kind == Export.Kind.INITIATIVES else {},
            )
        except DomainError as exc:
            context = _exports_context(request, error=exc.message, form=data)
            return render(request, "dashboard/exports.html", context, status=exc.status)
        export.refresh_from_db(fields=["state"])
        if export.state == Export.State.FAILED:
            # Embedded mode runs the task at once: its failure is known already.
            messages.error(
                request, _("The export could not be made. Try again, or tell an administrator.")
            )
        else:
            messages.success(request, _("The export is being prepared. It appears below."))
        return redirect("dashboard:exports")
    return render(request, "dashboard/exports.html", _exports_context(request))


def _json_error(exc: DomainError) -> JsonResponse:
    return JsonResponse({"detail": str(exc.message), "code": exc.code}, status=exc.status)


@require_GET
def export_status(request, public_id):
    """What the exports page polls while a file is being made."""
    try:
        require_exports(request.user)
    except DomainError as exc:
        return _json_error(exc)
    export = exports_visible_to(request.user).filter(public_id=public_id).first()
    if export is None:
        return JsonResponse({"detail": _("Not found."), "code": "not_found"}, status=404)
    row = _export_row(export)
    if request.headers.get("HX-Request"):
        # The exports page's row, as the page renders it (htmx swaps it in place).
        return render(request, "dashboard/_export_row.html", {"row": row})
    return JsonResponse(
        {
            "id": str(export.public_id),
            "state": export.state,
            "state_label": str(export.get_state_display()),
            "progress": export.progress,
            "rows": export.rows,
            "rows_text": row["rows"],
            "download_url": row["download_url"] or None,
            "error": export.error,
        }
    )


CONTENT_TYPES = {
    Export.Format.CSV: "text/csv; charset=utf-8",
    Export.Format.JSON: "application/json",
    Export.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@_guarded(require_exports)
@require_GET
def export_download(request, public_id):
    try:
        export, handle = export_open(actor=request.user, public_id=public_id)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from None
        return domain_error_response(request, exc)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=export.filename,
        content_type=CONTENT_TYPES.get(export.format, "application/octet-stream"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
