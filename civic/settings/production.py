"""Production: the base settings with every deployment safeguard switched on.

Passes `manage.py check --deploy` with no warnings, and refuses to start with the embedded
mode's published secret key or a short one, or without its own CENSUS_PEPPER. TLS is
terminated by a proxy in front of the ASGI workers (deploy/nginx/), which sets
X-Forwarded-Proto and X-Forwarded-For; uvicorn believes them only from the addresses in
FORWARDED_ALLOW_IPS.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import EMBEDDED_SECRET_KEY, env

DEBUG = False
PRODUCTION_SETTINGS = True
# Demo accounts and data only when the operator asks for them (seed_demo refuses otherwise).
DEMO_MODE = env.bool("BIRGE_DEMO_MODE", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
# A key anyone can read (base.py, .env.example) or a short one signs sessions and password
# reset links an attacker can forge: refuse to start (so `check --deploy` fails too).
SECRET_KEY_MIN_LENGTH = 50
if SECRET_KEY.strip() == EMBEDDED_SECRET_KEY or SECRET_KEY.startswith("django-insecure-"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is the embedded mode's published key. Generate one for this "
        "deployment: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
if len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured(
        f"DJANGO_SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} random characters. "
        "Generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# The register's keyed hashes are only as secret as this: required, its own secret (not derived
# from the secret key, which an operator may rotate), at least 32 random characters. Changing
# it later orphans every register row and verification until the register is re-imported and
# residents verify again. `make stack` in a local trial (BIRGE_LOCAL_TRIAL) generates one,
# as it does the secret key.
CENSUS_PEPPER_MIN_LENGTH = 32
CENSUS_PEPPER = env.str("CENSUS_PEPPER", default="").strip()
if not CENSUS_PEPPER:
    raise ImproperlyConfigured(
        "CENSUS_PEPPER is required in production: the secret of the resident register's keyed "
        "hashes. Generate one and keep it: python -c 'import secrets; "
        "print(secrets.token_urlsafe(48))'"
    )
if len(CENSUS_PEPPER) < CENSUS_PEPPER_MIN_LENGTH or len(set(CENSUS_PEPPER)) < 5:
    raise ImproperlyConfigured(
        f"CENSUS_PEPPER must be at least {CENSUS_PEPPER_MIN_LENGTH} random characters. "
        "Generate one: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    )

# The API docs list every endpoint; a city opens them to the public deliberately.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Only a local `docker compose up` over plain HTTP turns these off.
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
