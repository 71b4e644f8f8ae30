"""The Snip backend (``ag.backends.Snip``): account groups with embedded members."""

from asyncgroups.backends.snip.backend import Snip

__all__ = ["Snip"]
