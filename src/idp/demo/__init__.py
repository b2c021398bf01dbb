"""The demo relying party (``/demo``, dev mode only): a separate application, in the same
process, that signs in through the provider exactly as an external client would, and shows
what it received. It makes ``idp serve --dev`` demonstrate the whole product: the sign-in
with a second factor, SSO, a step-up with ``acr_values``, and RP-initiated logout.

- :mod:`idp.demo.client` - its registration (a confidential client; dev mode makes it).
- :mod:`idp.demo.relying_party` - the protocol: discovery, PKCE + state + nonce, the code
  exchange, ID token verification, UserInfo, the end-session URL; over real HTTP.
- :mod:`idp.demo.state` - a signed cookie with a random id; tokens stay in the Store.
- :mod:`idp.demo.view` - claims as rows a person can read.
- :mod:`idp.demo.web` - the routes.
"""

from idp.demo.client import CLIENT_ID, register_demo_client
from idp.demo.web import routes

__all__ = ["CLIENT_ID", "register_demo_client", "routes"]
