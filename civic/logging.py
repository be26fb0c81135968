"""Logging filters: one outage logs a handful of lines, not thousands.

When Redis or the database goes away, every request, socket and tick fails the same way and
each would log the same traceback. ThrottleRepeats lets the first record of a kind through,
drops the same kind (logger, level, message template) for `seconds`, then lets one through
again saying how many were dropped, so the log still shows the outage's start and length.
"""

from __future__ import annotations

import logging
import threading
import time


class ThrottleRepeats(logging.Filter):
    def __init__(self, seconds: float = 60.0, level: int = logging.WARNING):
        super().__init__()
        self.seconds = float(seconds)
        self.level = level
        self._lock = threading.Lock()
        self._seen: dict[tuple, list] = {}  # kind -> [last time let through, dropped since]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(kind)
            if seen is not None and now - seen[0] < self.seconds:
                seen[1] += 1
                return False
            dropped = seen[1] if seen else 0
            self._seen[kind] = [now, 0]
            if len(self._seen) > 10_000:  # many distinct messages: forget the oldest half
                for old in sorted(self._seen, key=lambda k: self._seen[k][0])[:5_000]:
                    del self._seen[old]
        if dropped:
            record.msg = f"{record.msg} [{dropped} more like this in the last {self.seconds:g} s]"
        return True
