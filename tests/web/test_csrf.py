"""CSRF over real HTTP: synchronizer token bound to the signed pre-session cookie, plus
origin checks; failures are a friendly 403 page in the person's language."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from idp.web.csrf import CSRF_FIELD, Csrf, CsrfError
from tests.conftest import make_settings
from tests.web.html import one
from tests.web.site import Site, serve_site


@contextmanager
def client(site: Site, **headers: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.base, headers=headers, follow_redirects=False) as opened:
        yield opened


def fetch_form(http: httpx.Client, purpose: str = "code") -> str:
    page = http.get("/form", params={"purpose": purpose})
    assert page.status_code == 200
    token = one(page.text, "input", name=CSRF_FIELD).get("value")
    assert token
    return token


def post(http: httpx.Client, site: Site, data: dict[str, str], **headers: str) -> httpx.Response:
    return http.post("/form", data=data, headers={"Origin": site.base, **headers})


def assert_refused_page(response: httpx.Response, lang: str) -> None:
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == lang
    assert one(response.text, "html").get("lang") == lang
    heading = one(response.text, "h1").text
    expected = {"ja": "このページの有効期限が切れました", "en": "This page has expired"}
    assert heading == expected[lang]
    # A retry link back to the form (a fresh GET gives a fresh token), no internals.
    assert one(response.text, "a", class_="button").get("href") == "/form"
    for leak in ("Traceback", "CsrfError", "token_", "cookie_"):
        assert leak not in response.text


def test_a_valid_token_passes(site: Site) -> None:
    with client(site) as http:
        token = fetch_form(http)
        response = post(http, site, {CSRF_FIELD: token, "code": "123456"})
    assert response.status_code == 200
    assert response.text == "accepted 123456"


def test_origin_null_with_a_valid_token_passes(site: Site) -> None:
    # Our pages send Referrer-Policy: no-referrer, so browsers post our own forms with
    # Origin: null and no Referer (Fetch spec). That must not lock everyone out.
    with client(site) as http:
        token = fetch_form(http)
        response = post(http, site, {CSRF_FIELD: token}, Origin="null")
    assert response.status_code == 200


def test_the_cookie_is_reused_while_valid(site: Site) -> None:
    with client(site) as http:
        first = http.get("/form")
        second = http.get("/form")
    assert "set-cookie" in first.headers
    assert "set-cookie" not in second.headers  # one pre-session, not one per page view
    assert one(first.text, "input", name=CSRF_FIELD).get("value") == one(
        second.text, "input", name=CSRF_FIELD
    ).get("value")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_missing_token_is_refused_in_the_persons_language(site: Site, lang: str) -> None:
    with client(site, **{"Accept-Language": lang}) as http:
        fetch_form(http)
        response = post(http, site, {"code": "123456"})
    assert_refused_page(response, lang)


def test_a_forged_token_is_refused(site: Site) -> None:
    with client(site, **{"Accept-Language": "ja"}) as http:
        token = fetch_form(http)
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        responses = [
            post(http, site, {CSRF_FIELD: forged}),
            post(http, site, {CSRF_FIELD: ""}),
            post(http, site, {CSRF_FIELD: "ｔｏｋｅｎ" + token}),  # non-ASCII: no crash
            post(http, site, {CSRF_FIELD: token * 10}),
        ]
    for response in responses:
        assert_refused_page(response, "ja")


def test_a_token_of_another_cookie_is_refused(site: Site) -> None:
    with client(site) as attacker, client(site, **{"Accept-Language": "en"}) as victim:
        attackers_token = fetch_form(attacker)
        fetch_form(victim)
        response = post(victim, site, {CSRF_FIELD: attackers_token})
    assert_refused_page(response, "en")


def test_a_token_without_its_cookie_is_refused(site: Site) -> None:
    with client(site) as http:
        token = fetch_form(http)
        http.cookies.clear()
        response = post(http, site, {CSRF_FIELD: token})
    assert response.status_code == 403


def test_a_token_for_another_form_is_refused(site: Site) -> None:
    with client(site) as http:
        other = fetch_form(http, purpose="change-password")
        response = post(http, site, {CSRF_FIELD: other})
        right = fetch_form(http, purpose="code")
        accepted = post(http, site, {CSRF_FIELD: right})
    assert response.status_code == 403
    assert accepted.status_code == 200


def test_a_cookie_signed_with_a_retired_key_is_refused(tmp_path: Path) -> None:
    old_key, new_key = "old-cookie-key-0123456789", "new-cookie-key-9876543210"
    with (
        serve_site(tmp_path / "a", secrets={"cookie_keys": [old_key]}) as old_site,
        client(old_site) as http,
    ):
        token = fetch_form(http)
        cookies = dict(http.cookies)
    assert cookies

    def replay(keys: list[str]) -> httpx.Response:
        with (
            serve_site(tmp_path / f"k{len(keys)}", secrets={"cookie_keys": keys}) as site,
            httpx.Client(base_url=site.base, cookies=cookies) as http,
        ):
            return post(http, site, {CSRF_FIELD: token})

    # Rotation: the new key signs, the old one still verifies, so open forms keep working.
    assert replay([new_key, old_key]).status_code == 200
    # Once the old key is retired, its cookies are worthless.
    assert replay([new_key]).status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://127.0.0.1:1"},  # same host, another port: another origin
        {"Origin": "null", "Referer": "https://evil.example/page"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_cross_origin_post_is_refused_even_with_a_valid_token(
    site: Site, headers: dict[str, str]
) -> None:
    with client(site, **{"Accept-Language": "en"}) as http:
        token = fetch_form(http)
        response = post(http, site, {CSRF_FIELD: token}, **headers)
    assert_refused_page(response, "en")


def test_a_same_origin_referer_passes_without_origin(site: Site) -> None:
    with client(site) as http:
        token = fetch_form(http)
        response = http.post(
            "/form",
            data={CSRF_FIELD: token},
            headers={"Referer": f"{site.base}/form", "Sec-Fetch-Site": "same-origin"},
        )
    assert response.status_code == 200


def _set_cookie(response: httpx.Response) -> tuple[str, SimpleCookie, str]:
    header = response.headers["set-cookie"]
    parsed: SimpleCookie = SimpleCookie()
    parsed.load(header)
    (name,) = parsed.keys()
    return name, parsed, header


def test_cookie_attributes_on_https(tmp_path: Path) -> None:
    with serve_site(tmp_path, server={"issuer": "https://id.example.com"}) as site:
        response = httpx.get(f"{site.base}/form")
    name, parsed, header = _set_cookie(response)
    assert name == "__Host-nidan_csrf"
    morsel = parsed[name]
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert not morsel["domain"]  # __Host- forbids Domain
    assert "max-age" not in header.lower()  # a session cookie


def test_cookie_attributes_on_plain_http_dev(site: Site) -> None:
    response = httpx.get(f"{site.base}/form")
    name, parsed, _header = _set_cookie(response)
    assert name == "nidan_csrf"  # no __Host- prefix: it requires Secure, impossible on http
    morsel = parsed[name]
    assert not morsel["secure"]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"


def test_get_requests_are_not_origin_checked(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    csrf = Csrf(settings)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"origin", b"https://evil.example")],
    }
    csrf.check_origin(Request(scope))  # safe method: nothing to refuse
    post_scope = {**scope, "method": "POST"}
    with pytest.raises(CsrfError) as refused:
        csrf.check_origin(Request(post_scope))
    assert refused.value.reason == "cross_origin"
    assert refused.value.status_code == 403


def test_no_cookie_keys_is_a_clear_configuration_error(tmp_path: Path) -> None:
    # Settings refuse this outside dev mode; in dev it reaches us, and we refuse it too.
    settings = make_settings(tmp_path, secrets={"cookie_keys": []}, server={"dev": True})
    with pytest.raises(ValueError, match="cookie_keys"):
        Csrf(settings)
