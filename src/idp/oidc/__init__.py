"""The OpenID Connect provider: authlib's AuthorizationServer behind a Starlette adapter."""
