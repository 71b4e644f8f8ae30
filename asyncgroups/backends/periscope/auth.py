"""Periscope's credentials: the ``HTTP-X-PARTNER-AUTH: <site>:<api key>`` header.

This module owns the site name and API key checks and the one place where the key
is revealed to build a header value. It performs no I/O and never puts the key in a
message.
"""

from asyncgroups.config import Secret
from asyncgroups.errors import ConfigurationError
from asyncgroups.validation import check_header_value, has_control_chars

__all__ = ["AUTH_HEADER", "EMAIL_HEADER", "check_site", "partner_auth"]

#: The header carrying ``<site>:<api key>``; its value is redacted by ``_redact``.
AUTH_HEADER = "HTTP-X-PARTNER-AUTH"
#: The header addressing one user by e-mail.
EMAIL_HEADER = "HTTP-X-EMAIL"


def check_site(site: str) -> str:
    """Check a site name (the slug of the site's dashboard URLs).

    Servers split the auth value on its first ``:``, so a site name cannot hold one.

    Raises:
        ConfigurationError: the name is empty, holds CR/LF or control characters,
            whitespace at either end, or a ``:``.
    """
    check_header_value(site, "site")
    if ":" in site:
        raise ConfigurationError("site must not contain ':'")
    if site != site.strip():
        raise ConfigurationError("site must not start or end with whitespace")
    return site


def partner_auth(site: str, api_key: Secret) -> str:
    """Build the ``HTTP-X-PARTNER-AUTH`` header value.

    Args:
        site: the site name.
        api_key: the site's API key.

    Raises:
        ConfigurationError: the site or the key is empty or holds CR/LF or control
            characters (the message never shows the key).
    """
    check_site(site)
    key = api_key.reveal()
    if not key:
        raise ConfigurationError("api_key must be a non-empty string")
    if has_control_chars(key):
        raise ConfigurationError(
            "api_key must not contain CR, LF or control characters"
        )
    return f"{site}:{key}"
