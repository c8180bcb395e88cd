"""The business store: one SQLAlchemy schema on SQLite (default) or PostgreSQL."""
from msgops.store.db import Base, database_url, init_db, session_scope

__all__ = ["Base", "database_url", "init_db", "session_scope"]
