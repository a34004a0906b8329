# remap API image.
#   Build:  docker build -t remap .
#   Run:    docker run -p 8000:8000 -v remap-data:/data \
#             -e REMAP_BOOTSTRAP_ADMIN_KEY_FILE=/data/admin.key remap
# The store lives in the volume /data (SQLite /data/remap.db unless REMAP_DATABASE_URL
# names a PostgreSQL server); the server runs as uid 1000 ("remap"), so a bind-mounted
# folder must be writable by uid 1000. See README, "Operations guide".
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    REMAP_DATABASE_URL=sqlite:////data/remap.db \
    REMAP_DOWNLOAD_CACHE_DIR=/data/downloads

WORKDIR /app
COPY constraints.txt pyproject.toml README.md ./
COPY spatial ./spatial
COPY service ./service
COPY data ./data
COPY docker/entrypoint.sh /usr/local/bin/remap-entrypoint
# -c: every dependency at the version pinned in constraints.txt (the shared venv's
# resolved set), so two builds a month apart install the same thing; test tools are
# pinned there too but not installed (they are not dependencies of remap)
RUN pip install --no-cache-dir -c constraints.txt . \
    && pip check \
    && useradd --uid 1000 --user-group --no-create-home --shell /usr/sbin/nologin remap \
    && mkdir /data && chown remap:remap /data && chmod 0750 /data

USER 1000:1000
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
ENTRYPOINT ["/usr/local/bin/remap-entrypoint"]
# remap serve runs the uvicorn app with the one-line-per-request log
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
