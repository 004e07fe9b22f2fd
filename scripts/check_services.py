"""Stop the test run at once, saying what to start, when PostgreSQL or Redis is down."""

import os
import sys

import dj_database_url
import psycopg
import redis


def check_postgres(url: str) -> str | None:
    config = dj_database_url.parse(url)
    try:
        psycopg.connect(
            host=config["HOST"] or "127.0.0.1",
            port=config["PORT"] or 5432,
            user=config["USER"] or "postgres",
            password=config["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.Error as error:
        return (
            f"PostgreSQL is not reachable at {config['HOST']}:{config['PORT']} ({error}).\n"
            "Start it (Debian: pg_ctlcluster 15 main start) or set DATABASE_URL."
        )
    return None


def check_redis(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        return (
            f"Redis is not reachable at {url} ({error}).\n"
            "Start it (redis-server --daemonize yes) or set CELERY_BROKER_URL."
        )
    return None


def main() -> int:
    problems = [
        check_postgres(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/")),
        check_redis(os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")),
    ]
    problems = [p for p in problems if p]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
