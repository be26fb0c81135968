"""Test settings: the base settings as the environment gives them, made fast and isolated.

DATABASE_URL and REDIS_URL still decide which services the suite runs against; this only
keeps Celery in-process (tests that need a real worker start one explicitly) and uses a
fast password hasher.
"""

from .base import *  # noqa: F403
from .base import env

CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In-process websocket tests (channels' WebsocketCommunicator) send no Host header, so a
# socket's own origin is unknown there: the Origin they send (tests/conftest.py) is trusted.
CSRF_TRUSTED_ORIGINS = [*CSRF_TRUSTED_ORIGINS, "http://localhost:8000"]  # noqa: F405
CACHE_KEY_PREFIX = "birge-test"
CACHES["default"]["KEY_PREFIX"] = CACHE_KEY_PREFIX  # noqa: F405
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Uploaded files of the suite go to a scratch folder, never to var/media.
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="birge-test-media-"))

# The suite's own process holds more connections than a web worker: connections opened beside
# Playwright's event loop and by in-process socket tests stay checked out until their test
# ends. A full run exhausted the default 20 once (a browser test waited 10 s in vain).
if "pool" in DATABASES["default"].get("OPTIONS", {}):  # noqa: F405
    DATABASES["default"]["OPTIONS"]["pool"]["max_size"] = max(  # noqa: F405
        DATABASES["default"]["OPTIONS"]["pool"]["max_size"], 50  # noqa: F405
    )
