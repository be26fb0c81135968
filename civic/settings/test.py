"""Test settings: the base settings as the environment gives them, made fast and isolated.

DATABASE_URL and REDIS_URL still decide which services the suite runs against; this only
keeps Celery in-process (tests that need a real worker start one explicitly) and uses a
fast password hasher.
"""

import os

# Under pytest-xdist (`make test` runs two processes) each process takes its own pair of Redis
# databases, REDIS_URL's and the next (tests/conftest.py spare_redis_url): process n adds 2n
# to the number, so cache keys, dirty marks and Celery queues never mix.
# pytest-django gives each its own PostgreSQL test database (test_<name>_gw<n>).
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    _base, _, _number = os.environ["REDIS_URL"].rpartition("/")
    os.environ["REDIS_URL"] = f"{_base}/{int(_number or 0) + 2 * int(_worker[2:])}"
    # Redis pub/sub channels are shared by all its databases: the channel layer's names get
    # the process's own prefix too, or a push for poll 1 of one process reaches the other's.
    os.environ["CHANNEL_LAYER_PREFIX"] = f"birge-{_worker}"

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

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
