"""Counters a Client keeps about its traffic: requests, retries, 429s, failures.

The transport's observing layer writes them (one place, around a built or an
injected transport alike); the Client holds them as ``client.stats`` and the sync
engine reads them from there.
"""

from attrs import define

__all__ = ["TransportStats"]


@define
class TransportStats:
    """Running totals for one Client (mutable; read it, don't share it).

    Attributes:
        requests: HTTP attempts sent (retries included).
        retries: attempts that were retries.
        throttled: 429 answers received.
        server_errors: 5xx answers received.
        transport_errors: attempts that got no usable response.
    """

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    transport_errors: int = 0

    def snapshot(self) -> "TransportStats":
        """A copy of the current totals."""
        return TransportStats(
            self.requests,
            self.retries,
            self.throttled,
            self.server_errors,
            self.transport_errors,
        )

    def since(self, earlier: "TransportStats") -> "TransportStats":
        """The totals accumulated since ``earlier`` was taken."""
        return TransportStats(
            self.requests - earlier.requests,
            self.retries - earlier.retries,
            self.throttled - earlier.throttled,
            self.server_errors - earlier.server_errors,
            self.transport_errors - earlier.transport_errors,
        )
