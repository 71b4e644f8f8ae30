"""The public surface: ``__all__`` lists exactly what users may import."""

import asyncgroups as ag
import asyncgroups.testing

PUBLIC = {
    # client and configuration
    "Client", "connect", "RateLimit", "RetryPolicy", "Secret", "TransportStats",
    "MemoryStore", "RedisStore",
    "Hooks", "RequestEvent", "ResponseEvent", "RetryEvent", "GateEvent",
    "RateLimitInfo",
    # backend contract
    "Capability", "GroupBackend", "BackendSession",
    # models and sync results
    "Group", "User", "Member", "BatchResult", "SyncPlan", "SyncReport",
    # fan-out over several Clients
    "FanOut", "PeriscopeSites",
    # errors
    "AsyncGroupsError", "ConfigurationError", "InvalidInputError", "TransportError",
    "ConnectError", "RequestTimeoutError", "ConnectionDroppedError", "APIError",
    "AuthenticationError", "PermissionDeniedError", "NotFoundError", "ConflictError",
    "RateLimitedError", "RejectedRequestError", "ServerError", "DecodeError",
    "UnsupportedOperationError", "ClientClosedError", "SyncAbortedError",
    "PartialSyncError",
    # subpackages
    "backends", "errors", "testing",
}  # fmt: skip

TESTING = {
    "Emulator", "EmulatorApp", "EmulatorStore", "Fault", "Faults", "RecordedRequest",
    "TokenBucket", "available", "register_emulator", "serve_emulator",
}  # fmt: skip


def test_all_is_exactly_the_public_surface():
    assert set(ag.__all__) == PUBLIC
    assert list(ag.__all__) == sorted(ag.__all__)


def test_every_exported_name_exists():
    for name in ag.__all__:
        assert getattr(ag, name) is not None


def test_testing_surface():
    assert set(asyncgroups.testing.__all__) == TESTING
    for name in TESTING:
        assert hasattr(asyncgroups.testing, name)


def test_version_is_exposed():
    assert isinstance(ag.__version__, str)
    assert ag.__version__.count(".") >= 2


def test_builtin_backends_are_reachable():
    assert {"neuroio", "periscope", "snip"} <= set(ag.backends.available())
    assert ag.backends.NeuroIO.name == "neuroio"
    assert ag.backends.Snip.name == "snip"
    assert ag.backends.Periscope.name == "periscope"


def test_periscope_sites_live_above_the_client():
    """``PeriscopeSites`` is the fan-out layer's; the backends only re-export it lazily."""
    from asyncgroups.sites import PeriscopeSites

    assert ag.PeriscopeSites is PeriscopeSites
    assert ag.backends.PeriscopeSites is PeriscopeSites
    assert "PeriscopeSites" not in ag.backends.__all__
