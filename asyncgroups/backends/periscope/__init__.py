"""Periscope Data's User & Group Management API: one site, or several at once."""

from asyncgroups.backends.periscope.backend import Periscope
from asyncgroups.backends.periscope.session import PeriscopeSession

__all__ = ["Periscope", "PeriscopeSession"]
