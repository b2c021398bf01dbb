"""Settings of the OpenID provider, and the protocol constants that have one home here.

``OidcSettings`` (the ``[oidc]`` section) lives in :mod:`idp.settings` with the others.
"""

from __future__ import annotations

from typing import Final

from idp.login import ACR_2SV, ACR_TRUSTED_BROWSER
from idp.settings import OidcSettings, Settings

__all__ = [
    "ACR_2SV",
    "ACR_TRUSTED_BROWSER",
    "ACR_VALUES",
    "ADMIN_SCOPES",
    "SUPPORTED_SCOPES",
    "OidcSettings",
    "oidc_settings",
]

# DESIGN "Claims" (their home is idp.login, which sets them on the session): a code was
# entered in this sign-in, or a trusted browser stood in for it.
ACR_VALUES: Final = (ACR_2SV, ACR_TRUSTED_BROWSER)

# Only what we can serve (OIDC Core 5.4): no phone or address data is kept about a person
# (phone numbers are second-factor secrets, never claims).
SUPPORTED_SCOPES: Final = ("openid", "profile", "email", "offline_access")


def oidc_settings(settings: Settings) -> OidcSettings:
    """The ``[oidc]`` section of ``settings``."""
    return settings.oidc

# Scopes of the operators' API (/admin/api/v1) and of SCIM provisioning (scim:provision, /scim/v2).
# Never requested by a person's client and never advertised: only the operator grants them
# (`idp clients add --admin-scope`), only to a client_credentials client.
ADMIN_SCOPES: Final = ("admin:users:read", "admin:users:write", "admin:mfa:reset",
                       "admin:sessions:revoke", "admin:clients:write", "admin:audit:read",
                       "scim:provision")
