"""Settings shared by every environment. Everything that differs between machines comes from
the environment (12-factor); the per-environment modules only choose defaults."""

from pathlib import Path

import environ
from oscar.defaults import *

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local .env is read when present (never committed); the process environment wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # daphne must come before staticfiles so that runserver is the ASGI one.
    "daphne",
    # Our apps first, so their templates override the libraries'.
    "marketplace.apps.MarketplaceConfig",
    "cms.apps.CmsConfig",
    "cms.fees.apps.FeesConfig",
    "agencies.apps.AgenciesConfig",
    "procurement.apps.ProcurementConfig",
    "ratings.apps.RatingsConfig",
    "search.apps.SearchConfig",  # label "mp_search": Oscar owns "search"
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.flatpages",
    "django.contrib.humanize",
    # Wagtail
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    # Oscar
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig",
    "marketplace.shop.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig",
    "oscar.apps.shipping.apps.ShippingConfig",
    "oscar.apps.catalogue.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "oscar.apps.partner.apps.PartnerConfig",
    "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig",
    "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig",
    "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig",
    "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig",
    "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    "widget_tweaks",
    "haystack",
    "treebeard",
    "sorl.thumbnail",
    "django_tables2",
    # Process and payments
    "payments",
    "django_fsm",
    "channels",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "marketplace.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "marketplace.middleware.MarketplaceCSPMiddleware",
    "marketplace.middleware.RequestContextMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Last, so that every outer middleware (security headers, language, request id) runs on
    # cache hits too.
    "cms.cache.PublicPageCacheMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"
ASGI_APPLICATION = "marketplace.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "oscar.apps.search.context_processors.search_form",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.core.context_processors.metadata",
                "wagtail.contrib.settings.context_processors.settings",
                "marketplace.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/marketplace"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))


def without_jit(database: dict) -> dict:
    """PostgreSQL's JIT compiles plans it estimates expensive; for this OLTP load (facet counts
    over the search index, 100k documents) compiling cost more than it saved: 211 ms of a
    299 ms count (bench/search.py). Off per connection, whatever the server's default."""
    if "postgresql" in database.get("ENGINE", ""):
        options = database.setdefault("OPTIONS", {})
        options["options"] = (options.get("options", "") + " -c jit=off").strip()
    return database


without_jit(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://"),
}

AUTH_USER_MODEL = "marketplace.User"
AUTHENTICATION_BACKENDS = [
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "customer:login"
LOGIN_REDIRECT_URL = "/"

# Chinese first: zh-hans is the default, English is available through the switch.
LANGUAGE_CODE = "zh-hans"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Confidential uploads (licence and certificate scans, social insurance proofs): never under
# MEDIA_ROOT, served only through permission-checked views (marketplace/uploads.py).
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "var" / "private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SITE_ID = 1

# Uploads: a hard ceiling; each upload field validates its own size and content type too.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Security defaults (production tightens the transport ones) ---------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the calculator's fetch() reads it; the cookie is not a secret
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "SAMEORIGIN"  # Wagtail's preview frames itself
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp 4). Wagtail's admin needs inline styles and its own
# scripts; everything is served from our origin, nothing from a CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", "ws:", "wss:"],
        "frame-ancestors": ["'self'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}
# Wagtail's admin uses inline scripts and eval-free but inline event setups; it is staff-only
# and gets a relaxed policy through marketplace.middleware.
CSP_ADMIN_PATH_PREFIXES = ("/cms/", "/shop/dashboard/", "/django-admin/")

# --- Wagtail ------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = "中介服务超市"
WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", default="http://127.0.0.1:8000")
WAGTAIL_I18N_ENABLED = False
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAIL_MODERATION_ENABLED = True
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
WAGTAILDOCS_EXTENSIONS = ["pdf", "docx", "xlsx", "ofd", "txt"]
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 5 * 1024 * 1024

# --- Search (search/, app label mp_search) -------------------------------------------------
# BACKEND "database" (the embedded default) or "elasticsearch" (production). With Elasticsearch,
# FALLBACK "database" answers from the database index (kept in step too) when Elasticsearch is
# down, with a notice; "none" answers 503 instead.
SEARCH = {
    "BACKEND": env("SEARCH_BACKEND", default="database"),
    "ELASTICSEARCH_URL": env("ELASTICSEARCH_URL", default="http://127.0.0.1:9200"),
    "INDEX_PREFIX": env("SEARCH_INDEX_PREFIX", default="marketplace"),
    "FALLBACK": env("SEARCH_FALLBACK", default="database"),
    # Seconds a search request waits for Elasticsearch before the fallback answers.
    "TIMEOUT": env.float("SEARCH_TIMEOUT", default=3.0),
    # Seconds Elasticsearch is left alone after a failure (circuit breaker).
    "RETRY_AFTER": env.int("SEARCH_RETRY_AFTER", default=15),
    # How far results can be paged (page × page size); deeper pages are refused with advice.
    "MAX_RESULT_WINDOW": 1000,
    # Old index versions kept after a reindex, for a rollback by alias.
    "KEEP_INDEXES": env.int("SEARCH_KEEP_INDEXES", default=0),
    "REPLICAS": env.int("SEARCH_REPLICAS", default=0),
}

# --- Oscar --------------------------------------------------------------------------------
OSCAR_SHOP_NAME = "中介服务超市"
OSCAR_SHOP_TAGLINE = "服务超市"
OSCAR_DEFAULT_CURRENCY = "CNY"
# Every contract has an Oscar order as its commercial record; the order's status mirrors the
# contract's stage (marketplace.orders), the contract's own state machine stays the authority.
OSCAR_INITIAL_ORDER_STATUS = "Awaiting signature"
OSCAR_INITIAL_LINE_STATUS = "Awaiting signature"
OSCAR_ORDER_STATUS_PIPELINE = {
    "Awaiting signature": ("In progress", "Cancelled"),
    "In progress": ("Completed", "Cancelled"),
    "Completed": (),
    "Cancelled": (),
}
OSCAR_LINE_STATUS_PIPELINE = OSCAR_ORDER_STATUS_PIPELINE
OSCAR_HOMEPAGE = "/shop/catalogue/"
OSCAR_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="noreply@example.invalid")
HAYSTACK_CONNECTIONS = {
    # Oscar's own product search; the marketplace's search lives in the mp_search app.
    "default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"},
}

# --- Payments (django-payments) -------------------------------------------------------------
PAYMENT_HOST = env("PAYMENT_HOST", default="127.0.0.1:8000")
PAYMENT_USES_SSL = env.bool("PAYMENT_USES_SSL", default=False)
PAYMENT_MODEL = "marketplace.Payment"
# Stripe (PaymentIntents, marketplace.stripe_provider). Without a secret key there is no
# provider and paying says so (django-payments' dummy provider takes its status from a form,
# which real payments must never do). Tests and the demo point the API and Stripe.js at
# localstripe.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_JS_URL = env("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
PAYMENT_VARIANTS = {}
if STRIPE_SECRET_KEY:
    PAYMENT_VARIANTS["stripe"] = (
        "marketplace.stripe_provider.StripePaymentIntentProvider",
        {
            "secret_key": STRIPE_SECRET_KEY,
            "publishable_key": STRIPE_PUBLISHABLE_KEY,
            "api_base": STRIPE_API_BASE,
            "js_url": STRIPE_JS_URL,
        },
    )
    PAYMENT_VARIANTS["default"] = PAYMENT_VARIANTS["stripe"]

# --- Channels -----------------------------------------------------------------------------
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Marketplace --------------------------------------------------------------------------
MARKETPLACE = {
    # The in-process scheduler runs the chronograph in the web process (the demo); production
    # runs Celery beat instead.
    "INPROCESS_SCHEDULER": env.bool("MARKETPLACE_INPROCESS_SCHEDULER", default=False),
    "SCHEDULER_INTERVAL_SECONDS": env.int("MARKETPLACE_SCHEDULER_INTERVAL", default=30),
    "DEMO": env.bool("MARKETPLACE_DEMO", default=False),
    # Anonymous public pages are cached server-side and invalidated on publish (cms/cache.py);
    # the TTL bounds how stale anything not tied to a publish can get. 0 disables.
    "PAGE_CACHE_SECONDS": env.int("MARKETPLACE_PAGE_CACHE_SECONDS", default=300),
}

# --- Procurement (procurement/) -------------------------------------------------------------
PROCUREMENT = {
    # Registration stays open at least this many working days after publication.
    "MIN_REGISTRATION_WORKING_DAYS": env.int("PROCUREMENT_MIN_REGISTRATION_DAYS", default=3),
    # Fewer eligible registrants than this when registration closes: failed (流标).
    "MIN_ELIGIBLE": env.int("PROCUREMENT_MIN_ELIGIBLE", default=3),
    # Direct selection (直接选取) only for a ceiling below this amount (yuan).
    "DIRECT_SELECTION_MAX": env("PROCUREMENT_DIRECT_SELECTION_MAX", default="100000"),
    # Hours a selected agency has to confirm before the next alternate is promoted.
    "CONFIRM_HOURS": env.int("PROCUREMENT_CONFIRM_HOURS", default=48),
    # 公示期, in working days.
    "PUBLICITY_WORKING_DAYS": env.int("PROCUREMENT_PUBLICITY_DAYS", default=3),
    # The public randomness beacon mixed into draws: "none", or a dotted path to a
    # procurement.beacons.Beacon subclass.
    "BEACON": env("PROCUREMENT_BEACON", default="none"),
    # With PROCUREMENT_BEACON=procurement.beacons.DrandQuicknet: the drand HTTP relay to read
    # rounds from (each round's signature is verified before use).
    "DRAND_URL": env("PROCUREMENT_DRAND_URL", default=""),
}

RATINGS = {
    # 服务评价: the owner may rate a contract's service until this many working days after
    # its acceptance (验收).
    "RATING_WINDOW_WORKING_DAYS": env.int("RATINGS_RATING_WINDOW_DAYS", default=15),
    # 投诉举报: the regulator in charge accepts or rejects within this many working days; the
    # accused may then submit a statement within this many.
    "COMPLAINT_ACCEPT_WORKING_DAYS": env.int("RATINGS_COMPLAINT_ACCEPT_DAYS", default=5),
    "STATEMENT_WORKING_DAYS": env.int("RATINGS_STATEMENT_DAYS", default=5),
    # A member of the public proves an e-mail address with a one-time code.
    "CONTACT_CODE_MINUTES": env.int("RATINGS_CONTACT_CODE_MINUTES", default=15),
    "CONTACT_CODE_ATTEMPTS": env.int("RATINGS_CONTACT_CODE_ATTEMPTS", default=5),
    # Rate limits of the public (per IP address and per contact), in the cache.
    "PUBLIC_COMPLAINTS_PER_HOUR": env.int("RATINGS_PUBLIC_COMPLAINTS_PER_HOUR", default=3),
    "PUBLIC_COMPLAINTS_PER_DAY": env.int("RATINGS_PUBLIC_COMPLAINTS_PER_DAY", default=10),
    "CONTACT_CODES_PER_HOUR": env.int("RATINGS_CONTACT_CODES_PER_HOUR", default=5),
    "RATE_LIMIT_CACHE": "default",
    # 申诉: a sanctioned agency may appeal within this many working days of the decision.
    "APPEAL_WORKING_DAYS": env.int("RATINGS_APPEAL_DAYS", default=10),
    # The longest sanction period, in days (five years).
    "SANCTION_MAX_DAYS": env.int("RATINGS_SANCTION_MAX_DAYS", default=1825),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "faker": {"level": "WARNING"},
        # Wagtail's background tasks run inline in the demo and log every step at INFO.
        "django_tasks": {"level": "WARNING"},
    },
}

# Celery beat ticks the chronograph; the schedule lives with the core code that defines it.
from marketplace.celery_schedule import CELERY_BEAT_SCHEDULE  # noqa: F401
