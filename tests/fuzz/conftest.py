"""Hypothesis profiles for the fuzz suite.

``ci`` (the default) keeps the suite fast and reproducible; ``long`` is for a local
soak: ``HYPOTHESIS_PROFILE=long pytest tests/fuzz``.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=_SLOW_OK,
)
settings.register_profile(
    "long",
    max_examples=5000,
    deadline=None,
    suppress_health_check=_SLOW_OK,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module", autouse=True)
def _errors_scrubbed(every_error_scrubbed: None) -> None:
    """Every library error raised in this suite holds no credential, chain and all."""
