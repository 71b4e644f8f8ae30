"""Emulators of every backend's API, with fault injection, for your tests and ours.

``serve_emulator(name)`` starts one on 127.0.0.1; its ``store`` seeds and inspects
state, its ``faults`` script misbehaviour, its ``requests`` log what it received.
The pytest plugin (``asyncgroups_pytest``) wraps these in fixtures.
"""

from asyncgroups.testing.emulators import (
    EmulatorApp,
    EmulatorStore,
    available,
    register_emulator,
)
from asyncgroups.testing.faults import Fault, Faults, TokenBucket
from asyncgroups.testing.server import Emulator, RecordedRequest, serve_emulator

__all__ = [
    "Emulator",
    "EmulatorApp",
    "EmulatorStore",
    "Fault",
    "Faults",
    "RecordedRequest",
    "TokenBucket",
    "available",
    "register_emulator",
    "serve_emulator",
]
