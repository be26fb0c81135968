"""Sessions signed in under the library backends' names now name Birge's subclasses
(accounts.backends), so that nobody is signed out by the change of AUTHENTICATION_BACKENDS.

The cached copy of each changed session (the cached_db engine) is dropped: the next request
reads the database's."""

from django.conf import settings
from django.db import migrations

RENAMED = {
    "django.contrib.auth.backends.ModelBackend": "accounts.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend": "accounts.backends.AuthenticationBackend",
}
BACKEND_SESSION_KEY = "_auth_user_backend"


def _rename(apps, names: dict[str, str]) -> None:
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.cache import caches

    Session = apps.get_model("sessions", "Session")
    store = SessionStore()
    cache = caches[settings.SESSION_CACHE_ALIAS]
    changed = []
    for session in Session.objects.all().iterator(chunk_size=2000):
        data = store.decode(session.session_data)
        if data.get(BACKEND_SESSION_KEY) in names:
            data[BACKEND_SESSION_KEY] = names[data[BACKEND_SESSION_KEY]]
            session.session_data = store.encode(data)
            changed.append(session)
        if len(changed) >= 2000:
            _save(Session, cache, KEY_PREFIX, changed)
            changed = []
    _save(Session, cache, KEY_PREFIX, changed)


def _save(Session, cache, prefix: str, sessions: list) -> None:
    if not sessions:
        return
    Session.objects.bulk_update(sessions, ["session_data"])
    cache.delete_many([prefix + session.session_key for session in sessions])


def forwards(apps, schema_editor):
    _rename(apps, RENAMED)


def backwards(apps, schema_editor):
    _rename(apps, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_districts_and_roles"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
