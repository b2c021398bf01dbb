"""Attack 13 (JOSE part): client assertions (private_key_jwt) and request objects that try
the classic JWT tricks: ``alg=none``, HS256 keyed with the client's RSA public key, a key
embedded in the header (``jwk``), and a 10 MB segment. Each is refused with the OAuth error
of the spec's format and no server error. The time each refusal takes is printed (a figure
for docs/security.md, not an assertion: targets live in bench/)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from joserfc import jwk, jwt

from tests.oidc.helpers import REDIRECT, Env, add_client, provider_env

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, object], claims: dict[str, object], signature: bytes = b""
            ) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}." + b64(
        signature)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, jwk.RSAKey]]:
    with provider_env(Path(tmp_path_factory.mktemp("jose"))) as running:
        key = jwk.RSAKey.generate_key(2048, private=True)
        public = {**key.as_dict(private=False), "kid": key.thumbprint()}
        add_client(running, "broker", token_endpoint_auth_method="private_key_jwt",
                   secret_hash=None, jwks={"keys": [public]},
                   grant_types=["client_credentials"], redirect_uris=[])
        add_client(running)
        yield running, key


def claims(env: Env) -> dict[str, object]:
    now = int(time.time())
    return {"iss": "broker", "sub": "broker", "aud": env.url("/token"), "iat": now,
            "exp": now + 60, "jti": secrets.token_urlsafe(12)}


def token_with(env: Env, assertion: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = httpx.post(env.url("/token"), timeout=30, data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion})
    return response, (time.perf_counter() - started) * 1000


def forged_assertions(env: Env, key: jwk.RSAKey) -> dict[str, str]:
    body = claims(env)
    public_pem = key.as_pem(private=False)
    hs_header = {"alg": "HS256", "kid": key.thumbprint()}
    signing_input = (b64(json.dumps(hs_header).encode()) + "." + b64(json.dumps(body).encode())
                     ).encode()
    attacker = jwk.RSAKey.generate_key(2048, private=True)
    return {
        "alg=none": compact({"alg": "none"}, body),
        "alg=None": compact({"alg": "None", "kid": key.thumbprint()}, body),
        "HS256 keyed with the RSA public key": signing_input.decode() + "." + b64(
            hmac.new(public_pem, signing_input, hashlib.sha256).digest()),
        "embedded jwk": jwt.encode({"alg": "RS256", "jwk": attacker.as_dict(private=False)},
                                   body, attacker),
        "10 MB segment": compact({"alg": "RS256"}, {**body, "pad": "A" * 10_000_000}),
    }


def test_forged_client_assertions_are_refused(env: tuple[Env, jwk.RSAKey]) -> None:
    running, key = env
    good, _ = token_with(running, jwt.encode({"alg": "RS256", "kid": key.thumbprint()},
                                             claims(running), key))
    assert good.status_code == 200, good.text  # the real client gets in: the check can pass
    figures = {}
    for name, assertion in forged_assertions(running, key).items():
        response, ms = token_with(running, assertion)
        figures[name] = round(ms, 1)
        assert response.status_code in (400, 401, 413), (name, response.status_code)
        if response.status_code != 413:
            # The 10 MB body is refused before any JOSE work, as a bad request.
            expected = {"invalid_client", "invalid_request"} if name == "10 MB segment" \
                else {"invalid_client"}
            assert response.json()["error"] in expected, (name, response.text)
    print("attack 13 client assertions refused (ms):", figures)


def test_request_objects_are_not_honoured(env: tuple[Env, jwk.RSAKey]) -> None:
    running, key = env
    for name, request_object in forged_assertions(running, key).items():
        if name == "10 MB segment":
            continue  # a URL of 10 MB: refused by the HTTP layer, below
        response = httpx.get(running.url("/authorize"), timeout=30, params={
            "response_type": "code", "client_id": "rp", "redirect_uri": REDIRECT,
            "scope": "openid", "request": request_object})
        assert response.status_code in (303, 400), (name, response.status_code)
        if response.status_code == 303:
            location = response.headers["location"]
            assert location.startswith(REDIRECT), (name, location)
            assert "error=" in location, (name, location)
            assert "code=" not in location
