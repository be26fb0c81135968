"""Template tags for texts given in up to three languages (civic/content.py).

{% load content %}
<h2>{% content poll "title" %}</h2>          the reader's version, or another one marked
                                              <span lang="ru">…</span> <small>in Russian</small>
{% content poll "description" linebreaks=True %}  (line breaks as <br>)
<img alt="{{ poll|content_text:'title' }}">   plain text, for attributes and <title>
"""

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.html import conditional_escape, format_html

from civic import content as c

register = template.Library()


@register.simple_tag(name="content")
def content_tag(obj, field, linebreaks=False, note=True):
    """The text of `field` in the reader's language, or another language marked as such."""
    if obj is None:
        return ""
    t = c.content(obj, field)
    body = linebreaksbr(t.text, autoescape=True) if linebreaks else conditional_escape(t.text)
    if not t.is_fallback:
        return body
    wrapped = format_html('<span lang="{}">{}</span>', t.lang, body)
    if not note:
        return wrapped
    return format_html('{} <small class="content-lang">{}</small>', wrapped, t.note)


@register.filter
def content_text(obj, field):
    """Only the text (attributes, <title>, aria-labels): no markup, no note."""
    return c.text(obj, field) if obj is not None else ""


@register.filter
def content_lang(obj, field):
    """The language the shown text is in (for a lang attribute the template writes itself)."""
    return c.content(obj, field).lang if obj is not None else ""


@register.filter
def content_note(obj, field):
    """ "in Russian" when the text is shown in another language than the reader's, else ""."""
    return c.content(obj, field).note if obj is not None else ""
