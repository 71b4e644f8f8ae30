"""The Snip backend (``ag.backends.Snip``): account groups with embedded members.

[`Snip`][asyncgroups.backends.snip.Snip] is the configuration; ``Snip.open`` gives each
Client a `SnipSession`, which also offers the Snip-only operations.
"""

from asyncgroups.backends.snip.backend import Snip
from asyncgroups.backends.snip.session import SnipSession

__all__ = ["Snip", "SnipSession"]
