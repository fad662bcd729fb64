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
Version 3: closes what version 2 left open. SQLite's ``REPLACE`` (``INSERT OR REPLACE``, ``UPDATE
OR REPLACE``) removes the conflicting row without firing ``DELETE`` triggers (they fire for it
only under ``PRAGMA recursive_triggers``, a setting of the connection that writes, not of the
database), so ``BEFORE INSERT`` triggers refuse an insert whose key (``seq``; ``op_id`` or rowid)
exists already. PostgreSQL's ``TRUNCATE`` fires no row trigger, so ``BEFORE TRUNCATE`` statement
triggers refuse it. ``operations`` rows are never deleted or replaced either, and the only update
allowed is the finish of a running operation, once (status, result and ``finished_ns``; the
other columns and the row's identity unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass

from hedgekit.journal.errors import JournalSchemaError

__all__ = [
    "LATEST_VERSION",
    "OLDEST_READABLE_VERSION",
    "MIGRATIONS",
    "VERSION_TABLE_POSTGRES",
    "VERSION_TABLE_SQLITE",
    "JOURNAL_TABLES",
    "Migration",
    "check_readable",
    "newer_error_message",
    "not_a_journal_message",
    "older_error_message",
    "pending",
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
    Migration(
        version=3,
        description=(
            "append-only without holes: no REPLACE of events or operations (SQLite), no TRUNCATE"
            " (PostgreSQL), operations never deleted and only finished, once"
        ),
        sqlite=(
            # REPLACE deletes the row it conflicts with without firing DELETE triggers: refuse
            # the insert itself when its key exists. (NEW.seq / NEW.rowid is -1 when the insert
            # lets SQLite choose it: no journal row has that key.)
            (
                "CREATE TRIGGER events_no_replace BEFORE INSERT ON events"
                " WHEN EXISTS (SELECT 1 FROM events WHERE seq = NEW.seq)"
                " BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END"
            ),
            (
                "CREATE TRIGGER operations_no_replace BEFORE INSERT ON operations"
                " WHEN EXISTS (SELECT 1 FROM operations"
                " WHERE op_id = NEW.op_id OR rowid = NEW.rowid)"
                " BEGIN SELECT RAISE(ABORT, 'journal operations are append-only:"
                " an operation is never replaced'); END"
            ),
            (
                "CREATE TRIGGER operations_no_delete BEFORE DELETE ON operations"
                " BEGIN SELECT RAISE(ABORT, 'journal operations are append-only:"
                " an operation is never deleted'); END"
            ),
            (
                "CREATE TRIGGER operations_finish_once BEFORE UPDATE ON operations"
                " WHEN OLD.finished_ns IS NOT NULL OR NEW.finished_ns IS NULL"
                " OR NEW.rowid IS NOT OLD.rowid OR NEW.op_id IS NOT OLD.op_id"
                " OR NEW.kind IS NOT OLD.kind OR NEW.legs IS NOT OLD.legs"
                " OR NEW.params IS NOT OLD.params OR NEW.started_ns IS NOT OLD.started_ns"
                " BEGIN SELECT RAISE(ABORT, 'journal operations are append-only:"
                " only the finish of a running operation may change it, once'); END"
            ),
        ),
        postgres=(
            (
                "CREATE OR REPLACE FUNCTION hedgekit_journal_append_only() RETURNS trigger"
                " LANGUAGE plpgsql AS $$ BEGIN"
                " RAISE EXCEPTION 'journal % are append-only (% refused)', TG_TABLE_NAME, TG_OP;"
                " END $$"
            ),
            (
                "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events"
                " FOR EACH STATEMENT EXECUTE FUNCTION hedgekit_journal_append_only()"
            ),
            (
                "CREATE TRIGGER operations_no_delete BEFORE DELETE ON operations"
                " FOR EACH ROW EXECUTE FUNCTION hedgekit_journal_append_only()"
            ),
            (
                "CREATE TRIGGER operations_no_truncate BEFORE TRUNCATE ON operations"
                " FOR EACH STATEMENT EXECUTE FUNCTION hedgekit_journal_append_only()"
            ),
            (
                "CREATE OR REPLACE FUNCTION hedgekit_operations_finish_once() RETURNS trigger"
                " LANGUAGE plpgsql AS $$ BEGIN"
                " IF OLD.finished_ns IS NOT NULL OR NEW.finished_ns IS NULL"
                " OR NEW.op_id IS DISTINCT FROM OLD.op_id OR NEW.kind IS DISTINCT FROM OLD.kind"
                " OR NEW.legs IS DISTINCT FROM OLD.legs OR NEW.params IS DISTINCT FROM OLD.params"
                " OR NEW.started_ns IS DISTINCT FROM OLD.started_ns THEN"
                " RAISE EXCEPTION 'journal operations are append-only:"
                " only the finish of a running operation may change it, once';"
                " END IF; RETURN NEW; END $$"
            ),
            (
                "CREATE TRIGGER operations_finish_once BEFORE UPDATE ON operations"
                " FOR EACH ROW EXECUTE FUNCTION hedgekit_operations_finish_once()"
            ),
        ),
    ),
)
"""Every step, in order of version."""

LATEST_VERSION: int = MIGRATIONS[-1].version
"""The schema version this hedgekit writes."""

OLDEST_READABLE_VERSION: int = 1
"""The oldest schema a read-only journal can be read from as it is (no migration): every
version up to :data:`LATEST_VERSION` has the same tables and columns. A step that changes what
the read path selects must raise this to its own version."""

JOURNAL_TABLES: tuple[str, ...] = ("schema_version", "operations", "events")
"""The tables every journal has."""


def pending(current: int) -> tuple[Migration, ...]:
    """The steps to apply to a database at version ``current``, in order."""
    return tuple(m for m in MIGRATIONS if m.version > current)


def not_a_journal_message(missing: list[str]) -> str:
    """The message for a database that is not a journal (``missing``: the journal tables it
    lacks)."""
    return (
        f"not a hedgekit journal: it has no {', '.join(missing)} table"
        f"{'s' if len(missing) > 1 else ''}"
    )


def older_error_message(found: int) -> str:
    """The message for a read-only journal whose schema is too old to be read as it is."""
    return (
        f"the journal's schema is version {found}, too old to be read without migrating it "
        f"(this hedgekit reads {OLDEST_READABLE_VERSION} to {LATEST_VERSION} as they are): open "
        "it for writing once to migrate it"
    )


def check_readable(found: int) -> None:
    """Refuse a read-only journal whose schema version ``found`` cannot be read as it is.

    Raises:
        JournalSchemaError: Newer than :data:`LATEST_VERSION`, or older than
            :data:`OLDEST_READABLE_VERSION` (``0``: no version recorded, not a journal).
    """
    if found > LATEST_VERSION:
        raise JournalSchemaError(newer_error_message(found))
    if found < 1:
        raise JournalSchemaError("not a hedgekit journal: its schema_version table is empty")
    if found < OLDEST_READABLE_VERSION:  # pragma: no cover - every version is readable today
        raise JournalSchemaError(older_error_message(found))


def newer_error_message(found: int) -> str:
    """The message for a database whose schema is newer than this hedgekit knows."""
    return (
        f"the journal's schema is version {found}, newer than the latest this hedgekit knows "
        f"({LATEST_VERSION}): it was written by a newer hedgekit; upgrade hedgekit to open it"
    )
