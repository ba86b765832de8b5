"""SQLAlchemy models, repositories, Alembic migrations and the durable outbox."""
