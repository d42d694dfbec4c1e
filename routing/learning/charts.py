"""Charts for the administrators' pages, drawn on request as PNG (matplotlib, no display)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt
from django.http import HttpResponse


def png_response(figure) -> HttpResponse:
    """The figure as a PNG response; the figure is closed (matplotlib keeps them otherwise)."""
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=110)
    finally:
        plt.close(figure)
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    # Figures show live data: the browser may keep one for a minute, never a stale day.
    response["Cache-Control"] = "private, max-age=60"
    return response
