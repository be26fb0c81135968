"""Wait until PostgreSQL and Redis answer; optionally create the database named in DATABASE_URL.

Used by scripts/stack.sh, .ci/run and the Docker entry point.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from urllib.parse import urlparse


def _postgres(url: str, create: bool, deadline: float) -> None:
    import psycopg
    from psycopg import sql

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    while True:
        try:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
                if create:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
                    ).fetchone()
                    if not exists:
                        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                        print(f"created database {name}")
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                sys.exit(f"PostgreSQL did not answer at {parsed.hostname}:{parsed.port}: {exc}")
            time.sleep(1)


def _redis(url: str, deadline: float) -> None:
    import redis

    while True:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=3).ping()
            return
        except redis.RedisError as exc:
            if time.monotonic() > deadline:
                sys.exit(f"Redis did not answer at {url}: {exc}")
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--create-database", action="store_true")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    db = os.environ.get("DATABASE_URL", "")
    if db.startswith(("postgres://", "postgresql://", "pgsql://")):
        _postgres(db, args.create_database, deadline)
        print("PostgreSQL answers")
    if os.environ.get("REDIS_URL"):
        _redis(os.environ["REDIS_URL"], deadline)
        print("Redis answers")


if __name__ == "__main__":
    main()
