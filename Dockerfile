# Ärendeflöde: one image for web, workers and beat (the command picks the role).
# Build: docker build -t arendeflode .   GPU hosts: --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HOME=/models/hf-cache \
    MODEL_DIR=/models

WORKDIR /app
COPY requirements.txt .
# torch first from the index that matches the host (CPU or CUDA), then the pinned rest.
RUN pip install --index-url "$TORCH_INDEX" "$(grep '^torch==' requirements.txt)" \
    && pip install -r requirements.txt

COPY . .
RUN DEBUG=1 python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 --home /app arendeflode \
    && mkdir -p /models && chown arendeflode /models
USER arendeflode

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["gunicorn", "routing.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
