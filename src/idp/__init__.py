"""Nidan: an OpenID Connect identity provider that never issues a token without a second factor."""
