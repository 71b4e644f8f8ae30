"""The error tree: parents and stdlib mixins exactly as designed."""

import pickle

import pytest

import asyncgroups as ag
from asyncgroups import errors
from asyncgroups.sync import SyncReport

TREE = {
    "ConfigurationError": ("AsyncGroupsError", ValueError),
    "InvalidInputError": ("AsyncGroupsError", ValueError),
    "TransportError": ("AsyncGroupsError", None),
    "ConnectError": ("TransportError", ConnectionError),
    "RequestTimeoutError": ("TransportError", TimeoutError),
    "ConnectionDroppedError": ("TransportError", None),
    "APIError": ("AsyncGroupsError", None),
    "AuthenticationError": ("APIError", None),
    "PermissionDeniedError": ("APIError", None),
    "NotFoundError": ("APIError", LookupError),
    "ConflictError": ("APIError", None),
    "RateLimitedError": ("APIError", None),
    "RejectedRequestError": ("APIError", None),
    "ServerError": ("APIError", None),
    "DecodeError": ("AsyncGroupsError", None),
    "UnsupportedOperationError": ("AsyncGroupsError", None),
    "ClientClosedError": ("AsyncGroupsError", RuntimeError),
    "SyncAbortedError": ("AsyncGroupsError", None),
    "PartialSyncError": ("AsyncGroupsError", ExceptionGroup),
}


@pytest.mark.parametrize("name", sorted(TREE))
def test_tree(name):
    cls = getattr(errors, name)
    parent, mixin = TREE[name]
    assert issubclass(cls, getattr(errors, parent))
    assert issubclass(cls, errors.AsyncGroupsError)
    if mixin is not None:
        assert issubclass(cls, mixin)
    assert getattr(ag, name) is cls


def test_every_error_is_in_the_tree():
    names = {
        n
        for n in errors.__all__
        if n != "AsyncGroupsError" and isinstance(getattr(errors, n), type)
    }
    assert names == set(TREE)


def test_api_error_message_and_pickle():
    err = errors.NotFoundError(
        "Group not found", backend="neuroio", status=404, method="GET", url="http://h/x"
    )
    assert str(err) == "[neuroio] 404 GET http://h/x: Group not found"
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is errors.NotFoundError
    assert clone.status == 404


def test_rate_limited_keeps_retry_after():
    err = errors.RateLimitedError(
        "slow down", retry_after=3.0, status=429, attempts=4, elapsed=2.5
    )
    assert err.retry_after == 3.0
    assert "gave up after 4 attempts over 2.5 s" in str(err)


def test_partial_sync_error_carries_report():
    inner = [errors.ServerError("boom", status=503)]
    report = SyncReport(backend="neuroio", requests=3)
    exc = errors.PartialSyncError("partial", inner, report=report)
    assert exc.report is report
    sub = exc.subgroup(lambda e: isinstance(e, errors.ServerError))
    assert isinstance(sub, errors.PartialSyncError)
    assert sub.report is report
    with pytest.raises(errors.AsyncGroupsError):
        raise exc
