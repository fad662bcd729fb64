"""The journal's schema and its migrations.

The schema is versioned: the ``schema_version`` table holds one row per migration step applied
(``version``, ``applied_ns``, ``description``); the current version is the largest. On open, every
step newer than the database's version is applied, in order, in one transaction: either the
database ends at :data:`LATEST_VERSION` or it is left as it was. A database whose version is newer
than :data:`LATEST_VERSION` (written by a newer hedgekit) is refused with
:class:`~hedgekit.journal.errors.JournalSchemaError`.

Version 1: ``operations`` and ``events``.
Version 2: indexes for the queries, and triggers that refuse ``UPDATE``/``DELETE`` on ``events``
(append-only enforced by the database itself).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "VERSION_TABLE_POSTGRES",
    "VERSION_TABLE_SQLITE",
    "Migration",
]


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema.

    Attributes:
        version: The version the database has after this step.
        description: What the step does.
        sqlite: Statements for SQLite, in order.
        postgres: Statements for PostgreSQL, in order.
    """

    version: int
    description: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


VERSION_TABLE_SQLITE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY,"
    " applied_ns INTEGER NOT NULL,"
    " description TEXT NOT NULL)"
)
VERSION_TABLE_POSTGRES = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY,"
    " applied_ns BIGINT NOT NULL,"
    " description TEXT NOT NULL)"
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="operations and events",
        sqlite=(
            (
                "CREATE TABLE operations ("
                " op_id TEXT PRIMARY KEY,"
                " kind TEXT NOT NULL,"
                " status TEXT NOT NULL,"
                " legs TEXT NOT NULL,"
                " params TEXT NOT NULL,"
                " result TEXT,"
                " started_ns INTEGER NOT NULL,"
                " finished_ns INTEGER)"
            ),
            (
                "CREATE TABLE events ("
                " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " op_id TEXT,"
                " event TEXT NOT NULL,"
                " ts_ns INTEGER NOT NULL,"
                " data TEXT NOT NULL)"
            ),
        ),
        postgres=(
            (
                "CREATE TABLE operations ("
                " op_id TEXT PRIMARY KEY,"
                " kind TEXT NOT NULL,"
                " status TEXT NOT NULL,"
                " legs TEXT NOT NULL,"
                " params TEXT NOT NULL,"
                " result TEXT,"
                " started_ns BIGINT NOT NULL,"
                " finished_ns BIGINT)"
            ),
            (
                "CREATE TABLE events ("
                " seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                " op_id TEXT,"
                " event TEXT NOT NULL,"
                " ts_ns BIGINT NOT NULL,"
                " data TEXT NOT NULL)"
            ),
        ),
    ),
    Migration(
        version=2,
        description="query indexes; events are append-only (triggers refuse UPDATE and DELETE)",
        sqlite=(
            "CREATE INDEX events_op_seq ON events (op_id, seq)",
            "CREATE INDEX events_event_seq ON events (event, seq)",
            "CREATE INDEX operations_started ON operations (started_ns)",
            "CREATE INDEX operations_unfinished ON operations (finished_ns)",
            (
                "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
                " BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END"
            ),
            (
                "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
                " BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END"
            ),
        ),
        postgres=(
            "CREATE INDEX events_op_seq ON events (op_id, seq)",
            "CREATE INDEX events_event_seq ON events (event, seq)",
            "CREATE INDEX operations_started ON operations (started_ns)",
            "CREATE INDEX operations_unfinished ON operations (finished_ns)",
            (
                "CREATE OR REPLACE FUNCTION hedgekit_events_append_only() RETURNS trigger"
                " LANGUAGE plpgsql AS $$ BEGIN"
                " RAISE EXCEPTION 'journal events are append-only'; END $$"
            ),
            (
                "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events"
                " FOR EACH ROW EXECUTE FUNCTION hedgekit_events_append_only()"
            ),
        ),
    ),
)
"""Every step, in order of version."""

LATEST_VERSION: int = MIGRATIONS[-1].version
"""The schema version this hedgekit writes."""


def pending(current: int) -> tuple[Migration, ...]:
    """The steps to apply to a database at version ``current``, in order."""
    return tuple(m for m in MIGRATIONS if m.version > current)


def newer_error_message(found: int) -> str:
    """The message for a database whose schema is newer than this hedgekit knows."""
    return (
        f"the journal's schema is version {found}, newer than the latest this hedgekit knows "
        f"({LATEST_VERSION}): it was written by a newer hedgekit; upgrade hedgekit to open it"
    )
