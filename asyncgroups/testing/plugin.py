"""The asyncgroups pytest fixtures, under their former module name.

The plugin lives in `asyncgroups_pytest` (registered through the `pytest11` entry
point, loaded lazily); this module re-exports its fixtures for suites that name
`asyncgroups.testing.plugin` in `pytest_plugins`. Fixtures:

- `asyncgroups_emulator`: a factory, `async with asyncgroups_emulator("neuroio") as emu`.
- `neuroio_emulator`, `snip_emulator`, `periscope_emulator`: one running emulator
  each, seeded with `seed=1`, stopped after the test.
"""

from asyncgroups_pytest import (
    asyncgroups_emulator,
    neuroio_emulator,
    periscope_emulator,
    snip_emulator,
)

__all__ = [
    "asyncgroups_emulator",
    "neuroio_emulator",
    "periscope_emulator",
    "snip_emulator",
]
