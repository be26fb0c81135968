"""Every setting Birge reads, taken from the environment in this one place.

The defaults run the embedded mode: SQLite, in-memory channel layer, local-memory cache,
eager Celery and console e-mail, so a fresh checkout needs no services. `DATABASE_URL`
switches to PostgreSQL and `REDIS_URL` to Redis for the channel layer, cache and broker.
Every variable is listed with its default in `.env.example`.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Off unless a developer asks (DJANGO_DEBUG=true): a mistyped URL gets Birge's own 404 page in
# the reader's language, never Django's technical page with the URL map.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Known to everyone who reads this file: production.py refuses to start with it.
EMBEDDED_SECRET_KEY = "embedded-mode-only-insecure-key-change-me-for-any-deployment"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=EMBEDDED_SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Demo mode: seed_demo creates demo accounts with the README's passwords. On by default only
# in the embedded mode (which is the demo); production.py defaults it to off.
DEMO_MODE = env.bool("BIRGE_DEMO_MODE", default=True)
SITE_NAME = "Birge"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "csp",
    "allauth",
    "allauth.account",
    # Only for resident verification by an identity provider (residents/methods/oidc.py).
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "ninja",
    "civic",
    "accounts",
    "polls",
    "communities",
    "dialogue",
    "notifications",
    "audit",
    "dashboard",
    "residents",
    "budgets",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "civic.csp.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "civic.middleware.RefuseUnreadableBody",
    "civic.middleware.RefuseNulBytes",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "civic.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "civic.middleware.MethodNotAllowedPage",
]

ROOT_URLCONF = "civic.urls"
ASGI_APPLICATION = "civic.asgi.application"
WSGI_APPLICATION = None
# Threads per server process that run HTTP requests (see civic/asgi.py); keep it at or
# below DATABASE_POOL_MAX so every thread can hold a database connection. More threads only
# fight over the GIL: on 2 cores 4 took 3.5 ms CPU a vote, 8 and 16 took 4.7-5.1 ms.
HTTP_THREADS = env.int("HTTP_THREADS", default=4)
# The lean routes for a poll vote and a budget ballot (civic/intake.py): Django's request,
# session, CSRF check, language and security headers, without the rest of the chain.
HTTP_LEAN_ROUTES = env.bool("HTTP_LEAN_ROUTES", default=True)

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
                "civic.context_processors.birge",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the embedded server take concurrent writers
    # without "database is locked" on the vote path.
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Each thread keeps its connection: reopening it (and its PRAGMAs) for every request
    # cost 8.1-8.6 ms CPU a vote against 3.3-3.8 ms. HTTP runs on HTTP_THREADS threads
    # (civic/asgi.py) and the sockets' database work on one, so the connections are few.
    _age = env.str("SQLITE_CONN_MAX_AGE", default="")
    _db["CONN_MAX_AGE"] = int(_age) if _age else None
else:
    _db["ENGINE"] = "django.db.backends.postgresql"
    if env.bool("DATABASE_POOL", default=True):
        # Django's psycopg pool: under ASGI every request runs in a thread, so persistent
        # connections would leak; the pool gives connections back after each request.
        _db["CONN_MAX_AGE"] = 0
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=2),
            "max_size": env.int("DATABASE_POOL_MAX", default=20),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
        }
    else:
        _db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    # The statements of the vote path (civic.db.prepared_cursor) are prepared on a connection
    # after this many uses; Django's own queries never are. Empty: never (a pooler in front
    # of PostgreSQL that cannot keep prepared statements, such as PgBouncer before 1.21).
    _prepare = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
    _db.setdefault("OPTIONS", {})["prepare_threshold"] = int(_prepare) if _prepare else None
DATABASE_IS_POSTGRES = _db["ENGINE"] == "django.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker -----------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="birge")


def _fanout_capacity(layer: str) -> dict:
    """Each server process has one channel that takes every push for its sockets
    (civic/consumers.py _LocalGroups): a tick may push hundreds of groups at once. The core
    and in-memory layers cap a channel's queue at 100 messages by default: room for more.
    (The core layer receives every channel of a process through one Redis key, so the cap
    cannot be raised for that one channel alone.) The pub/sub layer has no cap."""
    return {} if layer == "pubsub" else {"capacity": 10_000}


if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis, because with IGNORE_EXCEPTIONS a Redis outage turns into cache
            # misses (logged) instead of failed requests: sessions fall back to the
            # database, and votes keep being taken.
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    _layer_host = {
        "address": REDIS_URL,
        # Bursts of pushes (thousands of sockets, many groups) need more than a few sockets.
        "max_connections": env.int("CHANNEL_LAYER_MAX_CONNECTIONS", default=100),
    }
    # Sessions are read on every request: from Redis, written through to the database.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    CHANNEL_LAYERS = {
        "default": {
            # "pubsub" (default): one Redis PUBLISH per group message, fanned out by Redis to
            # every subscribed process; measured faster for fan-out than "core" (bench/).
            "BACKEND": {
                "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "core": "channels_redis.core.RedisChannelLayer",
            }[env.str("CHANNEL_LAYER", default="pubsub")],
            "CONFIG": {
                "hosts": [_layer_host],
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="birge"),
                **_fanout_capacity(env.str("CHANNEL_LAYER", default="pubsub")),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "birge",
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": _fanout_capacity("memory"),
        }
    }

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="birge")
CELERY_TIMEZONE = "Asia/Almaty"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "var" / "celerybeat-schedule")
)

# Real-time pushes are coalesced per group to at most one per tick.
REALTIME_TICK_MS = env.int("REALTIME_TICK_MS", default=250)
# Watched items are re-pushed this often even without changes, so a message lost in an
# outage is made good (clients ignore what they have already seen, by seq).
REALTIME_RESYNC_SECONDS = env.float("REALTIME_RESYNC_SECONDS", default=5.0)
# Every open socket of a signed-in user checks its session and rights again this often (a
# pushed change is acted on at once; this covers expiry and pushes lost in an outage), and
# a socket that could not join its groups (Redis down) tries again as often.
REALTIME_RECHECK_SECONDS = env.float("REALTIME_RECHECK_SECONDS", default=3.0)

# Votes write their +1s beside the ballot; they are folded into the counters every tick by a
# process with sockets on the poll, and every POLL_FOLD_SECONDS by Celery beat.
POLL_FOLD_SECONDS = env.int("POLL_FOLD_SECONDS", default=5)
# How often Celery beat opens and closes polls whose time has come (the vote path checks
# closes_at itself, so a late beat never lets a vote in after close).
POLL_SCHEDULE_SECONDS = env.int("POLL_SCHEDULE_SECONDS", default=15)

# Celery beat hands the broker the tasks it could not take when a change committed (a
# broker outage), and e-mails notifications whose e-mail task gave up, this often.
PENDING_TASKS_SWEEP_SECONDS = env.int("PENDING_TASKS_SWEEP_SECONDS", default=60)
# A task handed to the broker and not finished within the lease is handed over again (the
# broker lost it, or it failed); after so many hand-overs it waits for an operator.
PENDING_TASKS_LEASE_SECONDS = env.int("PENDING_TASKS_LEASE_SECONDS", default=300)
PENDING_TASKS_MAX_ATTEMPTS = env.int("PENDING_TASKS_MAX_ATTEMPTS", default=10)
NOTIFICATION_EMAIL_SWEEP_SECONDS = env.int("NOTIFICATION_EMAIL_SWEEP_SECONDS", default=300)

# Per-user actions per minute (City Dialogue); see civic.ratelimit.
RATE_LIMITS = {
    "comment": env.int("RATE_LIMIT_COMMENTS", default=6),
    "question": env.int("RATE_LIMIT_QUESTIONS", default=3),
    "vote": env.int("RATE_LIMIT_UPVOTES", default=60),
    "flag": env.int("RATE_LIMIT_FLAGS", default=10),
    # Wrong ballot codes per address and poll per BALLOT_CODE_FAILURES_WINDOW; past it, every
    # code from that address is refused (429) until the window ends.
    "ballot_code_failures": env.int("RATE_LIMIT_BALLOT_CODE_FAILURES", default=20),
}
BALLOT_CODE_FAILURES_WINDOW = env.int("BALLOT_CODE_FAILURES_WINDOW", default=300)
# Comments can be edited this long after posting (the edit is shown).
COMMENT_EDIT_SECONDS = env.int("COMMENT_EDIT_SECONDS", default=900)

# Initiatives: supports that put one into the officials' review queue, unless its category
# has its own threshold (admin: category thresholds); dossier uploads limits.
INITIATIVE_SUPPORT_THRESHOLD = env.int("INITIATIVE_SUPPORT_THRESHOLD", default=100)
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Resident register (residents/): keyed hashes of (IIN, date of birth) use this secret, never
# the raw IIN. The embedded mode derives one from SECRET_KEY; production.py requires its own.
CENSUS_PEPPER = env.str("CENSUS_PEPPER", default="") or f"census-pepper:{SECRET_KEY}"
# A register file larger than this is refused before it is read (Almaty's 2.3 million rows
# take about 80 MB as CSV; the limit leaves room for wide XLSX exports).
CENSUS_MAX_BYTES = env.int("CENSUS_MAX_BYTES", default=3 * 1024**3)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# How accounts become verified residents (residents.methods): one class per method, in the
# order the verification page offers them. A method with missing settings is not offered.
RESIDENT_VERIFICATION_METHODS = [
    "residents.methods.census.CensusMethod",
    "residents.methods.in_person.InPersonMethod",
    "residents.methods.oidc.OIDCMethod",
]
# In person: a citizen's one-time code for a service desk is valid this many minutes.
RESIDENT_DESK_CODE_MINUTES = env.int("RESIDENT_DESK_CODE_MINUTES", default=30)
# Guessing an IIN: failed verifications (bad IIN, not in the register, IIN taken) allowed per
# account and per client address in one window (seconds); past either, 429 until it ends.
RESIDENT_VERIFY_LIMITS = {
    "account": env.int("RESIDENT_VERIFY_FAILURES_PER_ACCOUNT", default=5),
    "address": env.int("RESIDENT_VERIFY_FAILURES_PER_ADDRESS", default=20),
    "window": env.int("RESIDENT_VERIFY_FAILURES_WINDOW", default=3600),
}

# --- Auth and accounts -----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Django's and allauth's backends, loading the user and whether their e-mail address is
    # verified in one query (accounts/backends.py).
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupExtraForm"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Birge] "
ACCOUNT_PREVENT_ENUMERATION = True
# allauth's own rate limits (login, signup, password reset, e-mail confirmation) are on by
# default and are kept in CACHES["default"]: Redis on the full stack, shared by every worker.
ACCOUNT_RATE_LIMITS = {}
# The per-address limits count REMOTE_ADDR, never a header a client can write: uvicorn puts the
# X-Forwarded-For address there only for a peer in FORWARDED_ALLOW_IPS (the proxy).
ALLAUTH_TRUSTED_PROXY_COUNT = 0
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = None

# --- Resident verification by an OpenID Connect identity provider (eGov's or any) ------------
# Offered only when OIDC_PROVIDER_URL and OIDC_CLIENT_ID are set. It never signs anyone up or
# in: a signed-in citizen connects, the IIN claim is bound (residents/methods/oidc.py) and no
# social account, token or claim is stored.
OIDC_PROVIDER_URL = env.str("OIDC_PROVIDER_URL", default="")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="eGov")
OIDC_IIN_CLAIM = env.str("OIDC_IIN_CLAIM", default="iin")
OIDC_SCOPES = env.list("OIDC_SCOPES", default=["openid"])
OIDC_PKCE = env.bool("OIDC_PKCE", default=True)
# Where the browser is sent to sign in (the scheme and host of the provider's
# authorization_endpoint): CSP's form-action must allow it, as browsers check the redirect
# after the "Verify with" form. Defaults to OIDC_PROVIDER_URL's.
_oidc_url = urlsplit(OIDC_PROVIDER_URL)
OIDC_AUTHORIZE_ORIGIN = env.str(
    "OIDC_AUTHORIZE_ORIGIN",
    default=f"{_oidc_url.scheme}://{_oidc_url.netloc}" if _oidc_url.netloc else "",
)
SOCIALACCOUNT_ADAPTER = "residents.methods.oidc.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "APPS": [
            {
                "provider_id": "residents",
                "name": OIDC_PROVIDER_NAME,
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {
                    "server_url": OIDC_PROVIDER_URL,
                    "scope": OIDC_SCOPES,
                    "oauth_pkce_enabled": OIDC_PKCE,
                },
            }
        ]
        if OIDC_PROVIDER_URL and OIDC_CLIENT_ID
        else [],
    }
}
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_AUTO_SIGNUP = False

# --- E-mail ----------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=_email["EMAIL_BACKEND"])
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Birge <noreply@birge.kz>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in e-mails point here.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Languages and time ----------------------------------------------------------------------
LANGUAGE_CODE = "ru"
# Django ships no number format for Kazakh; ours is in civic/formats/kk/.
FORMAT_MODULE_PATH = ["civic.formats"]
LANGUAGES = [
    ("kk", _("Kazakh")),
    ("ru", _("Russian")),
    ("en", _("English")),
]
LANGUAGE_NATIVE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_thirdparty"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Almaty"
USE_I18N = True
USE_TZ = True

# --- Static and media ------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production (production.py) serves collected, hashed files.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Embedded mode serves static files straight from the source folders, no collectstatic, with
# DEBUG off too.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Maps ------------------------------------------------------------------------------------
# Leaflet's tile server ({z}/{x}/{y} template) and the attribution its licence asks for (HTML).
# Empty, or unreachable from the reader's browser, the maps draw the district outlines Birge
# ships (static/geo/almaty-districts.geojson) instead. The CSP's img-src allows its host.
MAP_TILE_URL = env.str("MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env.str(
    "MAP_TILE_ATTRIBUTION",
    default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
    "contributors",
)
_tile_url = urlsplit(MAP_TILE_URL)
# A {s} subdomain template becomes a wildcard: a.tile..., b.tile... are all allowed.
MAP_TILE_ORIGIN = (
    f"{_tile_url.scheme}://{_tile_url.netloc.replace('{s}', '*')}" if _tile_url.netloc else ""
)

# --- Security (hardened further in production.py) --------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the API client reads it to send X-CSRFToken
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_FAILURE_VIEW = "civic.views.csrf_failure"
# Content-Security-Policy on every response (django-csp). Pages carry no inline script, style
# or event handler: behaviour and bar widths come from static files (static/js/page.js).
# 'self' in connect-src covers the same host's ws:/wss: (CSP Level 3). Map tiles come from
# MAP_TILE_URL's host (Maps, above); data: images are the vendored stylesheets' icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *([MAP_TILE_ORIGIN] if MAP_TILE_ORIGIN else [])],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if OIDC_PROVIDER_URL and OIDC_AUTHORIZE_ORIGIN:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(OIDC_AUTHORIZE_ORIGIN)

# --- API -------------------------------------------------------------------------------------
# /api/v1/docs and /api/v1/openapi.json for everyone; off (production's default), only staff
# roles and admin staff see them, everyone else gets a 404.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=True)
NINJA_PAGINATION_PER_PAGE = 20
NINJA_PAGINATION_MAX_LIMIT = 100

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # An outage fails every request and tick the same way: the same warning or traceback
    # is logged once a LOG_REPEAT_SECONDS, with a count of the ones dropped.
    "filters": {
        "throttle": {
            "()": "civic.logging.ThrottleRepeats",
            "seconds": env.float("LOG_REPEAT_SECONDS", default=60.0),
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["throttle"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own console handler (on with DEBUG) would log errors a second time,
        # unthrottled: everything goes through the root's.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "celery": {"level": "INFO"},
    },
}
