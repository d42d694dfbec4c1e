"""Charts for the administrators' pages, drawn on request as PNG (matplotlib, no display)."""

from __future__ import annotations

import io

from django.http import HttpResponse


def png_response(figure) -> HttpResponse:
    """A matplotlib Figure as a PNG response.

    Callers build `matplotlib.figure.Figure` objects directly, never through pyplot, whose
    global state is not safe in a web server's threads; such a figure is freed with it.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    # Figures show live data: the browser may keep one for a minute, never a stale day.
    response["Cache-Control"] = "private, max-age=60"
    return response
