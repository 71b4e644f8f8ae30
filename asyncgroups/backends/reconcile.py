"""Reconciling a create whose outcome is unknown, so a retry cannot duplicate it.

A POST whose connection dropped after sending (or timed out), or that a gateway
answered 502/503/504, may or may not have been applied
([`outcome_unknown`][asyncgroups.errors.outcome_unknown] is the rule). The retrying
transport does not blindly re-send it; the backend looks the object up with its own rule
(by unique name, by e-mail, or by owner and creation time) and re-sends only if it is
not there.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from asyncgroups.errors import AsyncGroupsError, outcome_unknown

__all__ = ["create_reconciled"]

T = TypeVar("T")


async def create_reconciled(
    send: Callable[[], Awaitable[T]],
    find: Callable[[], Awaitable[T | None]],
    *,
    attempts: int = 4,
) -> T:
    """Send a create; if its outcome is unknown, look for the object before re-sending.

    Args:
        send: sends the create request and returns the created object.
        find: returns the object if the lost attempt created it, else ``None``.
        attempts: how many times the create may be sent in all.

    Raises:
        ConnectionDroppedError | RequestTimeoutError | ServerError: every attempt was
            lost (or answered 502/503/504) and the object was never found.
    """
    last: BaseException | None = None
    for _ in range(max(1, attempts)):
        try:
            return await send()
        except AsyncGroupsError as exc:
            if not outcome_unknown(exc):
                raise
            last = exc
        found = await find()
        if found is not None:
            return found
    assert last is not None  # noqa: S101 - the loop ran at least once
    raise last
