"""The test suite: real PostgreSQL and Redis (DESIGN §8). Each parallel worker or developer
can point at its own databases through the environment."""

import tempfile
from pathlib import Path

from .base import *
from .base import MARKETPLACE, env, without_jit

DEBUG = False
SECRET_KEY = "test-only-key"
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/marketplace"),
}
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_marketplace")}
DATABASES["default"]["CONN_MAX_AGE"] = 0
without_jit(DATABASES["default"])
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/15")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ALWAYS_EAGER = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Uploaded scans and deliverables go to a throwaway directory, not var/private: the private
# storage's location is read when the models load, before any fixture could move it.
PRIVATE_MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="marketplace-test-private-"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WAGTAILADMIN_BASE_URL = "http://testserver"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tests measure the uncached path (query counts are of a real render); the page cache has its
# own tests that switch it on.
MARKETPLACE = {**MARKETPLACE, "PAGE_CACHE_SECONDS": 0}
