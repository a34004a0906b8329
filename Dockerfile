# remap API image. Build: docker build -t remap .  Run: docker run -p 8000:8000 remap
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    REMAP_DATABASE_URL=sqlite:////data/remap.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY spatial ./spatial
COPY service ./service
COPY data ./data
RUN pip install --no-cache-dir . \
    && useradd --system --uid 1000 remap \
    && mkdir /data && chown remap /data

USER remap
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# remap serve runs the same uvicorn app and turns on the one-line-per-request log
CMD ["remap", "serve", "--host", "0.0.0.0", "--port", "8000"]
