"""Traces, when on: a server span per request (the route template, never the URL or its query
string), store and password spans beneath it, events for the second factor and the token;
no secret in any attribute or event; trace and span ids on the request's log lines.
Spans go to the SDK's in-memory exporter (no OTLP receiver is installed here)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from idp.metrics import tracing
from idp.observability import _JsonFormatter
from tests.oidc.helpers import (
    PASSWORD,
    TOTP_SECRET,
    add_client,
    authorize,
    exchange,
    journey,
    make_user,
    pkce_query,
    provider_env,
    query_of,
)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.enable(exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.disable()


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(_JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_a_sign_in_is_traced_without_secrets(tmp_path: Path,
                                             spans: InMemorySpanExporter) -> None:
    lines = _Lines()
    root = logging.getLogger()
    root.addHandler(lines)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        with provider_env(tmp_path) as env, httpx.Client(timeout=10) as agent:
            client_secret = add_client(env)
            user = make_user(env, "traced-canary@example.com", enroll=True)
            hint = "hint-canary@example.com"
            query, verifier = pkce_query(login_hint=hint)
            back = journey(env, agent, authorize(env, agent, **query), user.email)
            code = query_of(back.headers["location"])["code"]
            tokens = exchange(env, code, verifier).json()
            cookies = [cookie.value for cookie in agent.cookies.jar]
    finally:
        root.removeHandler(lines)
        root.setLevel(level)
    finished = spans.get_finished_spans()
    servers = [s for s in finished if s.kind.name == "SERVER"]
    routes = {s.attributes["http.route"] for s in servers if s.attributes}
    assert {"/authorize", "/login", "/login/code", "/token"} <= routes
    by_id = {s.context.span_id: s for s in finished}
    stored = [s for s in finished if s.name.startswith("store ")]
    assert stored
    assert all(s.parent is not None and s.parent.span_id in by_id for s in stored)
    passwords = [s for s in finished if s.name == "password verify"]
    assert len(passwords) == 1
    assert passwords[0].parent is not None
    assert by_id[passwords[0].parent.span_id].attributes["http.route"] == "/login"  # type: ignore[index]
    events = {event.name for s in servers for event in s.events}
    assert {"login.password.succeeded", "method.verify.succeeded", "oidc.code_issued",
            "oidc.token_issued"} <= events

    canaries = [PASSWORD, user.email, hint, code, tokens["access_token"], tokens["id_token"],
                tokens["refresh_token"], client_secret, TOTP_SECRET, user.id,
                *[value for value in cookies if value]]
    for span in finished:
        texts = [span.name, *map(str, (span.attributes or {}).values())]
        for event in span.events:
            texts += [event.name, *map(str, (event.attributes or {}).values())]
        for text in texts:
            for canary in canaries:
                assert canary not in text, (span.name, text)
        assert not any(key.startswith(("url.", "client.", "user_agent", "http.url",
                                       "net.peer")) for key in span.attributes or {})

    # The request's log lines carry its trace and span ids.
    token_span = next(s for s in servers if s.attributes and s.attributes["http.route"] == "/token")
    trace_id = format(token_span.context.trace_id, "032x")
    assert any(trace_id in line and '"span_id"' in line for line in lines.lines)


def test_a_traceparent_from_the_caller_is_the_parent(tmp_path: Path,
                                                     spans: InMemorySpanExporter) -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with provider_env(tmp_path) as env:
        httpx.get(env.url("/.well-known/openid-configuration"),
                  headers={"traceparent": parent})
    server = next(s for s in spans.get_finished_spans() if s.kind.name == "SERVER")
    assert format(server.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == "b7ad6b7169203331"
    assert server.name == "GET /.well-known/openid-configuration"


def test_tracing_is_off_by_default(tmp_path: Path) -> None:
    with provider_env(tmp_path) as env:
        httpx.get(env.url("/healthz"))
    assert not tracing.active()


