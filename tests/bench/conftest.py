"""The bench tests use the service tests' PostgreSQL and Redis fixtures."""

from tests.service.conftest import broker_url, pg_database_url

__all__ = ["broker_url", "pg_database_url"]
