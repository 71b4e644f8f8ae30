"""The NeuroIO backend: person groups keyed by pid, many groups per request."""

from asyncgroups.backends.neuroio.backend import NeuroIO

__all__ = ["NeuroIO"]
