"""Kept for importers of ``parse_retry_after``: the parsing lives in :mod:`.headers`."""

from asyncgroups.transport.headers import parse_retry_after

__all__ = ["parse_retry_after"]
