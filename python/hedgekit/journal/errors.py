"""Exceptions raised by the journal."""

from __future__ import annotations

from hedgekit.errors import HedgekitError

__all__ = ["JournalDataError", "JournalError", "JournalSchemaError", "JournalTimeoutError"]


class JournalError(HedgekitError):
    """A journal operation failed: an unknown URL scheme, a closed journal, an unknown or
    already finished operation, a storage error."""


class JournalDataError(JournalError, ValueError):
    """The data given cannot be journalled (a value with no JSON form). Nothing was written, and
    writing the same data again cannot succeed."""


class JournalSchemaError(JournalError):
    """The journal's schema cannot be used: it was written by a newer hedgekit, or a migration
    failed (the migration is rolled back as a whole)."""


class JournalTimeoutError(JournalError, TimeoutError):
    """A journal call did not complete within its timeout.

    A write that timed out may still be committed afterwards: the storage call is not
    interrupted, only no longer awaited.
    """
