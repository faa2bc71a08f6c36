# syntax=docker/dockerfile:1
# The production image: gunicorn (web), daphne (websocket), celery worker and beat all run from
# it (see docker-compose.yml). Build: docker build -t marketplace .
#
# Stage 1 installs the locked dependencies (requirements/base.txt, exported from uv.lock with
# hashes) into /opt/venv, compiles translations and collects static files. Stage 2 is the same
# slim Python with that venv and the application only: no compilers, no gettext, no uv.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# gettext provides msgfmt for compilemessages; it stays in this stage.
# DL3008 (pin apt versions) is ignored on purpose: Debian stable replaces a package's version on
# every point release, so a pinned version disappears from the mirrors and the build breaks;
# the base image tag pins the distribution, and this stage is discarded anyway.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

# The same uv as scripts/bootstrap and pyproject's dev group.
RUN pip install --no-cache-dir uv==0.13.8

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the lock changes. Every wheel is checked
# against the hashes in the lock.
COPY requirements/base.txt requirements/base.txt
RUN --mount=type=cache,target=/root/.cache/uv \
    uv venv /opt/venv --python /usr/local/bin/python \
    && uv pip sync --python /opt/venv/bin/python --require-hashes requirements/base.txt

COPY . .

# Build-time work with production settings. The secret and hosts below exist only in this RUN's
# environment: they are not written to any ENV and are not in the final image's config.
RUN DJANGO_SETTINGS_MODULE=marketplace.settings.production \
    DJANGO_SECRET_KEY=build-time-only-not-a-secret-collectstatic-needs-one \
    DJANGO_ALLOWED_HOSTS=localhost \
    STATIC_ROOT=/app/var/static \
    sh -c 'set -e; \
      if find . -path "*/locale/*" -name "*.po" | grep -q .; then \
        python manage.py compilemessages --ignore=var -v1; \
      fi; \
      python manage.py collectstatic --noinput -v1'


FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="zhongjie-marketplace" \
      org.opencontainers.image.description="Intermediary service marketplace (中介服务超市)" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=marketplace.settings.production \
    STATIC_ROOT=/app/var/static \
    MEDIA_ROOT=/app/var/media \
    PORT=8000

# An unprivileged user that owns nothing but the media directory (a volume in compose).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app

WORKDIR /app

# Psycopg (binary), Pillow and the other compiled dependencies ship their libraries in their
# wheels. WeasyPrint (the contract PDFs, procurement/pdf.py) does not: it loads pango and
# harfbuzz's subsetter from the system, and the contract's Chinese text needs a CJK font
# (Noto Sans/Serif CJK SC). The same packages as scripts/system-packages. DL3008 (pin apt
# versions) is ignored for the reason given in the builder stage.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
RUN mkdir -p /app/var/media /app/var/private \
    && chown 10001:10001 /app/var/media /app/var/private

# Numeric, so that runtimes enforcing runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py"]

ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py"]
