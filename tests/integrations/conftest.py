import pytest

from tests.conftest import create_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path, monkeypatch) -> str:
    """The business store on each backend: SQLite always, PostgreSQL when it answers."""
    if request.param == "postgresql":
        url = create_pg_database()
        if url is None:
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    else:
        url = f"sqlite:///{tmp_path / 'msgops.db'}"
    monkeypatch.setenv("MSGOPS_DB_URL", url)
    return url
