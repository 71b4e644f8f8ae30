"""The Okta backend: ``SSWS`` API tokens, ``Link`` paging, one membership a request."""

from asyncgroups.backends.okta.backend import Okta
from asyncgroups.backends.okta.session import OktaSession

__all__ = ["Okta", "OktaSession"]
