"""The zero-setup demo and local development: SQLite, in-memory channel layer, tasks run
in-process, the chronograph ticking inside the web process. Nothing to install."""

from .base import *
from .base import BASE_DIR, MARKETPLACE, PROCUREMENT, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-not-for-production")

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'demo.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the in-process scheduler write while a request reads.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = False
MARKETPLACE["INPROCESS_SCHEDULER"] = env.bool("MARKETPLACE_INPROCESS_SCHEDULER", default=True)
MARKETPLACE["DEMO"] = env.bool("MARKETPLACE_DEMO", default=True)
# The demo's open announcement closes minutes after loading (procurement/demo.py).
PROCUREMENT["MIN_REGISTRATION_WORKING_DAYS"] = env.int(
    "PROCUREMENT_MIN_REGISTRATION_DAYS", default=0
)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
