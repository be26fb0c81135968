"""A file mail backend that fails once for chosen addresses, as a flaky SMTP server would.

Used by a real Celery worker in tests/communities/test_worker.py: the first attempt to
mail an address in FLAKY_FAIL_ONCE_FOR raises a connection error (an OSError, as smtplib's
are), later attempts deliver. A marker file per address records the failure across retries.
"""

import os
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend


class FlakyFileBackend(EmailBackend):
    def send_messages(self, email_messages):
        fail_for = set(filter(None, os.environ.get("FLAKY_FAIL_ONCE_FOR", "").split(",")))
        folder = Path(self.file_path)
        for message in email_messages:
            for address in message.to:
                marker = folder / f"failed-once-{address}"
                if address in fail_for and not marker.exists():
                    marker.write_text("1")
                    raise ConnectionRefusedError(f"flaky SMTP refused {address}")
        return super().send_messages(email_messages)
