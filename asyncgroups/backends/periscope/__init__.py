"""Periscope Data's User & Group Management API: one site, or several at once."""

from asyncgroups.backends.periscope.backend import Periscope
from asyncgroups.backends.periscope.sites import PeriscopeSites, SiteResults

__all__ = ["Periscope", "PeriscopeSites", "SiteResults"]
