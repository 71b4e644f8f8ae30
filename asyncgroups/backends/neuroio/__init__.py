"""The NeuroIO backend: person groups keyed by pid, many groups per request."""

from asyncgroups.backends.neuroio.backend import NeuroIO
from asyncgroups.backends.neuroio.session import NeuroIOSession

__all__ = ["NeuroIO", "NeuroIOSession"]
