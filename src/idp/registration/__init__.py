"""Dynamic client registration: RFC 7591 (``POST /register``) and RFC 7592 (the client
configuration endpoint ``/register/{client_id}``), off by default (``[registration] mode``,
docs/registration.md).

A room of its own above :mod:`idp.services` and below the composition root. The rules live
in :mod:`idp.registration.service` (no HTTP in it), metadata validation in
:mod:`idp.registration.metadata` (pydantic), the bearer tokens in
:mod:`idp.registration.tokens`, the HTTP edge in :mod:`idp.registration.web`.

authlib's ``ClientRegistrationEndpoint``/``ClientConfigurationEndpoint`` are not used: they
validate with authlib's own claims classes rather than pydantic, expect authlib's request
objects (only :mod:`idp.oidc` talks to authlib's server), and leave binding a registration
token to its client to the integrator (GHSA-c73q-w75p-j82v); what they would save here is a
few lines of response assembly.
"""

from __future__ import annotations

from idp.registration.errors import RegistrationError
from idp.registration.service import CLIENT_ID_PREFIX, Caller, Registration
from idp.registration.web import RegistrationState, routes

__all__ = ["CLIENT_ID_PREFIX", "Caller", "Registration", "RegistrationError",
           "RegistrationState", "routes"]
