"""Content in three languages: which version of a text to show a reader, and in which language.

Citizens' and officials' texts (a poll's question and its choices, an initiative's title and
summary, a community's name and description, a Q&A session's title and description, a budget
round's and project's title and description, a dossier document's title) may be given in
Kazakh, Russian and English. A page shows the reader's language; where that version is missing,
the one that exists, marked with its language (`lang="ru"`, so a screen reader reads it right)
and a small note ("in Russian").

Storage: one column per language (`title_kk`, `title_ru`, `title_en`) plus `original_language`,
the language the author wrote in. Why columns and not a JSON field of translations: polls,
budget rounds and projects and communities' names already had them, so one mechanism meant
extending what was there rather than migrating it away; a column keeps each version's length
limit in the database, is a plain field in the admin and in forms, needs no shape checks, and
can be searched and indexed like any text. A model that had one field before (an initiative's
`title`, a community's `name` and `description`, a session's `title`) keeps it as the
original's text, because search, slugs, uniqueness and `__str__` read it; its service writes
the field and the original language's column together. Rows written before the columns existed
(or by code that sets only the single field) still read right: the single field stands in for
the original language's column, and an unknown original language is detected from the text.

`content(obj, "title", lang)` is the one answer to "the text of this field for this reader, and
which language it is in"; the template library `content` (civic/templatetags/content.py), the
API (`content_payload`) and the services (`clean_language`, `clean_translations`) build on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from civic.errors import InvalidInput
from civic.validation import clean_text

LANGS = ("kk", "ru", "en")
# When neither the reader's language nor the original exists: Russian is read by most of the
# city, then Kazakh, then English.
FALLBACK_ORDER = ("ru", "kk", "en")
LANGUAGE_LABELS = {
    "kk": gettext_lazy("Kazakh"),
    "ru": gettext_lazy("Russian"),
    "en": gettext_lazy("English"),
}
# The note beside a text shown in another language than the reader's.
NOTES = {
    "kk": gettext_lazy("in Kazakh"),
    "ru": gettext_lazy("in Russian"),
    "en": gettext_lazy("in English"),
}

KAZAKH_LETTERS = re.compile("[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
CYRILLIC = re.compile("[\u0400-\u04ff]")


def detect_language(text: str, default: str = "ru") -> str:
    """A guess good enough for old rows: Kazakh letters → kk, other Cyrillic → ru, else en."""
    if not text:
        return default
    if KAZAKH_LETTERS.search(text):
        return "kk"
    if CYRILLIC.search(text):
        return "ru"
    return "en"


def reader_language(lang: str | None = None) -> str:
    """The language to show: `lang` if it is one of ours, else the active one."""
    lang = (lang or get_language() or settings.LANGUAGE_CODE or "ru")[:2].lower()
    return lang if lang in LANGS else settings.LANGUAGE_CODE[:2]


def _single_field(obj, field: str) -> str:
    """The legacy single field's text (an initiative's `title`), or "" when there is none."""
    try:
        f = obj._meta.get_field(field)
    except (FieldDoesNotExist, AttributeError):
        return ""
    if f.is_relation or not f.concrete:
        return ""
    return getattr(obj, f.attname, "") or ""


def _columns(obj, field: str) -> dict[str, str]:
    return {lang: (getattr(obj, f"{field}_{lang}", "") or "") for lang in LANGS}


def original_language(obj, field: str | None = None) -> str:
    """The language the author wrote in; detected from the text when it was never recorded."""
    lang = getattr(obj, "original_language", "") or ""
    if lang in LANGS:
        return lang
    if field:
        text = _single_field(obj, field) or next(
            (v for v in _columns(obj, field).values() if v), ""
        )
        return detect_language(text)
    return settings.LANGUAGE_CODE[:2]


def versions(obj, field: str) -> dict[str, str]:
    """Every language's text of `field` ("" where missing)."""
    out = _columns(obj, field)
    single = _single_field(obj, field)
    if single:
        orig = original_language(obj, field)
        if not out[orig]:
            out[orig] = single
    return out


@dataclass(frozen=True)
class Text:
    """A text to show, the language it is in and the language the reader asked for."""

    text: str
    lang: str
    requested: str

    @property
    def is_fallback(self) -> bool:
        return bool(self.text) and self.lang != self.requested

    @property
    def note(self) -> str:
        return str(NOTES[self.lang]) if self.is_fallback else ""

    def __str__(self) -> str:
        return self.text


def content(obj, field: str, lang: str | None = None) -> Text:
    """The text of `field` of `obj` for a reader of `lang` (the active language by default).

    The reader's version if it was given; else the original; else any other, Russian first.
    """
    lang = reader_language(lang)
    if not hasattr(obj, "_meta"):
        # Not a model row (a dict a selector built, already in one language): as it is, in
        # the language its "<field>_lang" names if it says (a live payload's fallback).
        get = obj.get if isinstance(obj, dict) else lambda key, default: getattr(obj, key, default)
        return Text(str(get(field, "") or ""), get(f"{field}_lang", "") or lang, lang)
    all_versions = versions(obj, field)
    if all_versions[lang]:
        return Text(all_versions[lang], lang, lang)
    orig = original_language(obj, field)
    for other in (orig, *FALLBACK_ORDER):
        if all_versions.get(other):
            return Text(all_versions[other], other, lang)
    return Text("", lang, lang)


def choose(all_versions: dict | None, lang: str | None = None) -> Text:
    """From versions computed once for every language (a live payload): the reader's, else any
    other, Russian first, with the language it is in (so the page can mark it)."""
    lang = reader_language(lang)
    all_versions = all_versions or {}
    for other in (lang, *FALLBACK_ORDER):
        if all_versions.get(other):
            return Text(all_versions[other], other, lang)
    return Text("", lang, lang)


def pick(all_versions: dict | None, default: str, lang: str | None = None) -> str:
    """From versions computed once for every language (a live payload): the reader's, else
    `default` (the original)."""
    return (all_versions or {}).get(reader_language(lang)) or default


def text(obj, field: str, lang: str | None = None) -> str:
    """Only the text (for `__str__`, e-mails, exports and attributes)."""
    return content(obj, field, lang).text


# --- The API ------------------------------------------------------------------------------------


def request_language(request) -> str:
    """The API's reader language: `?lang=` if it is kk, ru or en, else the request's own
    (a signed-in user's saved language, else Accept-Language: civic.middleware)."""
    asked = (request.GET.get("lang") or "").strip().lower() if hasattr(request, "GET") else ""
    if asked in LANGS:
        return asked
    return reader_language(getattr(request, "LANGUAGE_CODE", None))


def content_payload(obj, fields: tuple[str, ...] | list[str], lang: str) -> dict:
    """For a JSON answer: each field in `lang` (with the language it is in) and every version.

    {"title": "...", "title_lang": "ru", "original_language": "ru",
     "translations": {"title": {"kk": "...", "ru": "...", "en": ""}}}
    """
    out: dict = {}
    for field in fields:
        t = content(obj, field, lang)
        out[field] = t.text
        out[f"{field}_lang"] = t.lang
    out["original_language"] = original_language(obj, fields[0] if fields else None)
    out["translations"] = {field: versions(obj, field) for field in fields}
    return out


# --- Services -----------------------------------------------------------------------------------


def clean_language(value, *, default: str | None = None) -> str:
    """kk, ru or en; a clear InvalidInput for anything else (never silently another language)."""
    if value in (None, "") and default is not None:
        return default
    if not isinstance(value, str) or value.strip().lower() not in LANGS:
        raise InvalidInput(
            _("Unknown language “%(code)s”: give kk, ru or en.") % {"code": str(value)[:20]},
            code="unknown_language",
        )
    return value.strip().lower()


@dataclass(frozen=True)
class FieldSpec:
    """A translatable field as a service validates it: its label, limit and line rule."""

    name: object  # the field's label in messages
    max_length: int
    multiline: bool = False


def clean_translations(value, *, specs: dict[str, FieldSpec], original: str) -> dict[str, str]:
    """Validate the other languages' versions; returns model columns {"title_en": "...", ...}.

    `value` is {"en": {"title": "...", "summary": "..."}, "kk": {...}}. Every version is
    optional and checked like the original (length, control characters). A language other
    than kk/ru/en, or a field that is not translatable, is refused clearly (400). The
    original's language may appear only if it repeats nothing: its text is the original field.
    Languages not given come back as "" (a missing version).
    """
    if value in (None, ""):
        value = {}
    if not isinstance(value, dict):
        raise InvalidInput(
            _("Translations must be an object of languages."), code="bad_translations"
        )
    out = {f"{field}_{lang}": "" for field in specs for lang in LANGS if lang != original}
    for lang, fields in value.items():
        lang = clean_language(lang)
        if fields in (None, ""):
            continue
        if not isinstance(fields, dict):
            raise InvalidInput(
                _("Translations must be an object of languages."), code="bad_translations"
            )
        for field, raw in fields.items():
            if field not in specs:
                raise InvalidInput(
                    _("“%(field)s” cannot be translated.") % {"field": str(field)[:40]},
                    code="bad_translations",
                )
            if lang == original:
                continue
            spec = specs[field]
            label = f"{spec.name} ({LANGUAGE_LABELS[lang]})"
            out[f"{field}_{lang}"] = clean_text(
                raw,
                name=label,
                max_length=spec.max_length,
                required=False,
                multiline=spec.multiline,
            )
    return out


def translation_columns(value, *, fields) -> dict[str, str]:
    """An API's `translations` ({"en": {"title": "..."}}) as input columns {"title_en": "..."}.

    Only the shape is checked here (languages kk/ru/en, translatable fields, text); the
    service checks each text like the original. Anything else is a clear 400.
    """
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(
            _("Translations must be an object of languages."), code="bad_translations"
        )
    out = {}
    for lang, texts in value.items():
        lang = clean_language(lang)
        if texts in (None, ""):
            continue
        if not isinstance(texts, dict):
            raise InvalidInput(
                _("Translations must be an object of languages."), code="bad_translations"
            )
        for field, text in texts.items():
            if field not in fields:
                raise InvalidInput(
                    _("“%(field)s” cannot be translated.") % {"field": str(field)[:40]},
                    code="bad_translations",
                )
            if text is not None and not isinstance(text, str):
                raise InvalidInput(_("Translations must be text."), code="bad_translations")
            out[f"{field}_{lang}"] = text or ""
    return out


def clean_version_columns(source, *, specs: dict[str, FieldSpec], original: str) -> dict[str, str]:
    """The other languages' columns read from `source` (an input dataclass with `title_en` ...).

    Each is optional and checked like the original (length, control characters); the
    original's own column is left to the caller, which writes the original text there.
    """
    out = {}
    for field, spec in specs.items():
        for lang in LANGS:
            if lang == original:
                continue
            out[f"{field}_{lang}"] = clean_text(
                getattr(source, f"{field}_{lang}", "") or "",
                name=f"{spec.name} ({LANGUAGE_LABELS[lang]})",
                max_length=spec.max_length,
                required=False,
                multiline=spec.multiline,
            )
    return out


def original_language_among(value, source, field: str) -> str:
    """For inputs with a column per language (a poll's title_kk/_ru/_en): the original
    language given (checked), else the only one filled in, else Russian if filled, else the
    first filled."""
    if value not in (None, ""):
        return clean_language(value)
    given = [
        lang
        for lang in LANGS
        if isinstance(getattr(source, f"{field}_{lang}", ""), str)
        and getattr(source, f"{field}_{lang}", "").strip()
    ]
    if len(given) == 1:
        return given[0]
    return "ru" if "ru" in given or not given else given[0]


def original_language_of(value, text: str) -> str:
    """An input's original language: the one given (checked), else detected from its text."""
    if value in (None, ""):
        return detect_language(text)
    return clean_language(value)


def columns_for(original: str, originals: dict[str, str], translations: dict[str, str]) -> dict:
    """Model columns for a save: the original's texts in their language's column, the rest."""
    out = dict(translations)
    for field, value in originals.items():
        out[f"{field}_{original}"] = value
    return out


def translations_of(obj, fields) -> dict[str, dict[str, str]]:
    """The other languages' versions of `obj` in the shape clean_translations takes."""
    orig = original_language(obj, fields[0])
    return {
        lang: {f: getattr(obj, f"{f}_{lang}", "") or "" for f in fields}
        for lang in LANGS
        if lang != orig
    }


# --- Models -------------------------------------------------------------------------------------


def original_language_field():
    """The `original_language` column every content model has ("" = not recorded: detected)."""
    from django.db import models

    return models.CharField(
        gettext_lazy("original language"),
        max_length=2,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        help_text=gettext_lazy("The language the author wrote in; the others are translations."),
    )


# --- Forms --------------------------------------------------------------------------------------


class TranslationsFormMixin:
    """A form's optional other-language versions, shown folded under "Add translations".

    `translated = {"title": (label, max_length, multiline)}`: the form keeps its field
    `title` (the original) and gains `original_language` ("Written in") plus `title_kk`,
    `title_ru`, `title_en`, each optional and labelled with its language. The includes that
    render forms put the versions in a <details> (includes/translations.html), open when one
    of them has an error. The service validates them; the form only collects them.
    """

    translated: dict = {}
    # True for models with a column per language only (polls, budget rounds and projects):
    # the form's `title` is then written into `title_<original language>` on clean, and an
    # edit's initial `title` is read from that column.
    columns_only = False

    def __init__(self, *args, **kwargs):
        from django import forms

        super().__init__(*args, **kwargs)
        orig = self.initial.get("original_language")
        if self.columns_only and orig in LANGS:
            for field in self.translated:
                self.initial[field] = self.initial.get(f"{field}_{orig}") or ""
        self.fields["original_language"] = forms.ChoiceField(
            label=gettext_lazy("Written in"),
            choices=[(lang, LANGUAGE_LABELS[lang]) for lang in LANGS],
            initial=reader_language(),
            required=False,
            help_text=gettext_lazy("The language of the texts above; the others are translations."),
        )
        names = []
        for lang in LANGS:
            for field, (label, max_length, multiline) in self.translated.items():
                name = f"{field}_{lang}"
                widget = forms.Textarea(attrs={"rows": 3}) if multiline else forms.TextInput()
                widget.attrs["lang"] = lang
                self.fields[name] = forms.CharField(
                    label=f"{label} ({LANGUAGE_LABELS[lang]}, {lang})",
                    max_length=max_length,
                    required=False,
                    widget=widget,
                )
                names.append(name)
        self.translation_field_names = names
        # "Written in" right after the last original text, not at the end of the form.
        order = [n for n in self.fields if n != "original_language"]
        last = max((order.index(f) for f in self.translated if f in order), default=len(order) - 1)
        order.insert(last + 1, "original_language")
        self.order_fields(order)

    def translation_groups(self):
        """[(lang, label, [bound fields])] for the folded part, one group per language."""
        return [
            (
                lang,
                LANGUAGE_LABELS[lang],
                [self[f"{field}_{lang}"] for field in self.translated],
            )
            for lang in LANGS
        ]

    def clean(self):
        data = super().clean()
        orig = data.get("original_language")
        if self.columns_only:
            orig = orig if orig in LANGS else reader_language()
            data["original_language"] = orig
            for field in self.translated:
                data[f"{field}_{orig}"] = data.pop(field, "") or ""
        return data

    def translation_values(self) -> dict:
        """original_language and every version from cleaned_data, for the service's input."""
        data = self.cleaned_data
        out = {"original_language": data.get("original_language") or ""}
        out |= {name: data.get(name) or "" for name in self.translation_field_names}
        return out

    def translations_have_errors(self) -> bool:
        return any(self[name].errors for name in self.translation_field_names)

    @staticmethod
    def initial_translations(obj, fields) -> dict:
        """Initial values for an edit: the original language and every version."""
        out = {"original_language": original_language(obj, fields[0])}
        for field in fields:
            out |= {f"{field}_{lang}": v for lang, v in versions(obj, field).items()}
        return out
