"""The throwaway PostgreSQL the database tests run against really is one, with the two kinds of
login they rely on."""

from __future__ import annotations

import pytest
from postgres_server import PASSWORD, PASSWORD_ROLE, PostgresServer


def test_each_test_gets_its_own_empty_database(postgres_url: str) -> None:
    import optuna

    storage = optuna.storages.RDBStorage(postgres_url)
    assert optuna.get_all_study_summaries(storage) == []
    optuna.create_study(storage=storage, study_name="mine")
    assert [s.study_name for s in optuna.get_all_study_summaries(storage)] == ["mine"]


def test_the_password_role_needs_its_password(postgres_server: PostgresServer) -> None:
    import psycopg

    database = postgres_server.new_database()
    host = f"host=127.0.0.1 port={postgres_server.port} dbname={database} user={PASSWORD_ROLE}"
    with psycopg.connect(f"{host} password={PASSWORD}") as connection:
        assert connection.execute("select 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(f"{host} password=wrong")
