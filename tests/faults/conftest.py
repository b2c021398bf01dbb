"""The fault tests share the attack tests' deployments (two workers, SQLite and Redis)."""

from tests.attacks.conftest import deployment, redis_served, sqlite_served

__all__ = ["deployment", "redis_served", "sqlite_served"]
