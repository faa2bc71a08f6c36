"""Production: everything from the environment, nothing insecure by default. Missing secrets
fail at start-up, not at the first request. Every variable is documented in deploy/env.example.
`manage.py check --deploy` is clean with these settings (tests/deploy asserts it)."""

from django.core.exceptions import ImproperlyConfigured

from .base import *
from .base import DATABASES, REDIS_URL, env


def _required(name: str, hint: str) -> str:
    value = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(
            f"{name} is required with marketplace.settings.production ({hint}). "
            "See deploy/env.example."
        )
    return value


DEBUG = False
SECRET_KEY = _required(
    "DJANGO_SECRET_KEY",
    "a random string of at least 50 characters, e.g. "
    "python -c 'import secrets; print(secrets.token_urlsafe(50))'",
)
ALLOWED_HOSTS = [
    host.strip()
    for host in _required(
        "DJANGO_ALLOWED_HOSTS", "comma-separated host names the site answers to"
    ).split(",")
    if host.strip()
]

DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

CACHES = {"default": env.cache("CACHE_URL", default=REDIS_URL.replace("redis://", "rediscache://"))}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Transport security. Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container health check speaks plain HTTP
SESSION_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
# Nothing public is framed. Wagtail's preview frames itself, but it marks its own responses
# SAMEORIGIN (wagtail.utils.decorators.xframe_options_sameorigin_override), so DENY is safe.
X_FRAME_OPTIONS = "DENY"

PAYMENT_USES_SSL = env.bool("PAYMENT_USES_SSL", default=True)

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
