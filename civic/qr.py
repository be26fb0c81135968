"""QR codes as inline SVG: the poll's link on printed ballot cards, the poll page, the projector."""

from __future__ import annotations

import io
import re

import qrcode
import qrcode.image.svg


def qr_svg(data: str, *, size: int | None = None) -> str:
    """An <svg> element (no XML prolog) encoding `data`; with `size`, drawn that many pixels
    square whatever unit the generator chose (its viewBox keeps it sharp)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    svg = svg[svg.index("<svg") :]
    if size is None:
        return svg
    head, rest = svg.split(">", 1)
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    return f'{head} width="{size}" height="{size}">{rest}'
