"""SIGTERM of a real `idp serve` (two workers) beside the running replicas: it stops
accepting at once, lets a slow request in flight finish, cuts off one that outlasts
server.shutdown_timeout, exits within its bound, and the back-channel logout it had queued
is delivered by another replica."""

from __future__ import annotations

import base64
import socket
import time
from urllib.parse import urlencode

import pytest

from idp.serving import KILL_MARGIN_S, exit_bound_s
from tests.oidc.receiver import receiving
from tests.redis_servers import free_port
from tests.replicas import scenarios
from tests.replicas.deployment import REDIRECT, SHUTDOWN_TIMEOUT_S, Deployment
from tests.replicas.journey import Browser, authorize, logout, sign_in, walk
from tests.served import Served

pytestmark = [pytest.mark.slow, pytest.mark.redis]

IN_FLIGHT_S = 2.5  # how long after SIGTERM the slow request's body is finished


def open_request(port: int, path: str, body: bytes, auth: tuple[str, str]) -> socket.socket:
    """A POST whose headers and first half of the body are sent; the rest is up to the test."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Basic {basic}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    sock.sendall(head.encode() + body[: len(body) // 2])
    return sock


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_drains_in_flight_requests_and_hands_deliveries_over(
        standalone: Deployment) -> None:
    dep = standalone
    receiver_port = free_port()
    dep.add_client("bcl", backchannel_logout_uri=f"http://127.0.0.1:{receiver_port}/backchannel",
                   skip_consent=True)
    draining = Served.start(dep.config, workers=2, name="draining")
    leaving, slow = dep.person("leaving"), dep.person("slow")
    on_draining = Browser(dep, base=draining.base)
    other = Browser(dep, base=draining.base)
    try:
        # A logout on the draining replica queues a back-channel delivery nobody can send
        # yet (the client's endpoint is down): it is pending when SIGTERM comes.
        tokens = sign_in(on_draining, leaving, "bcl")
        assert logout(on_draining, tokens).status_code == 303
        assert dep.services.oidc.backchannel.pending() == 1
        # Two requests in flight: a code exchange whose client is slow to send its body,
        # and one that never finishes.
        start, verifier = authorize(other)
        code = walk(other, slow, start)
        body = urlencode({"grant_type": "authorization_code", "code": code,
                          "redirect_uri": REDIRECT, "code_verifier": verifier}).encode()
        auth = ("rp", dep.secrets["rp"])
        in_flight = open_request(draining.port, "/token", body, auth)
        stuck = open_request(draining.port, "/token", body, auth)
        time.sleep(1.0)  # both are inside the application, waiting for their bodies

        sigterm = time.monotonic()
        draining.terminate()
        while not refused(draining.port):
            # Refused while the requests are still in flight, not only once the workers are
            # gone (uvicorn's supervisor alone keeps its copy of the socket open till then).
            assert time.monotonic() - sigterm < IN_FLIGHT_S, "still accepting while draining"
            time.sleep(0.05)
        refusing_after = time.monotonic() - sigterm
        time.sleep(max(0.0, sigterm + IN_FLIGHT_S - time.monotonic()))
        in_flight.sendall(body[len(body) // 2:])
        status, answer = read_response(in_flight)
        finished_after = time.monotonic() - sigterm
        assert status == 200, answer[:300]
        assert b'"access_token"' in answer
        assert b'"id_token"' in answer

        exit_code = draining.wait(exit_bound_s(dep.settings) + 10)
        exited_after = time.monotonic() - sigterm
        assert exit_code == 0, draining.log_tail()
        # It waited for the stuck request as long as it was told, and no longer than its bound
        # (after which a worker is killed; +0.5 s: the supervisor looks at signals twice a
        # second).
        hard_bound = exit_bound_s(dep.settings) + KILL_MARGIN_S + 0.5
        assert SHUTDOWN_TIMEOUT_S - 0.5 <= exited_after <= hard_bound
        stuck.close()
        in_flight.close()

        # Nothing was lost with the replica: the delivery is still pending, and another
        # replica sends it once the client's endpoint is up.
        assert dep.services.oidc.backchannel.pending() == 1
        with receiving(dep.issuer, "bcl", receiver_port) as receiver:
            claims = receiver.wait(timeout=20)
        assert claims["sub"] == leaving.user.id
        assert receiver.refused == []
        assert dep.services.oidc.backchannel.pending() == 0
        assert draining.audit_events("oidc.backchannel_delivered") == []
        delivered = [event for replica in dep.replicas if replica.alive()
                     for event in replica.audit_events("oidc.backchannel_delivered")]
        assert [event["client_id"] for event in delivered] == ["bcl"]
    finally:
        on_draining.close()
        other.close()
        draining.stop()
    scenarios.FIGURES["shutdown: refusing new connections after (s)"] = round(refusing_after, 2)
    scenarios.FIGURES["shutdown: slow request finished after (s)"] = round(finished_after, 2)
    scenarios.FIGURES["shutdown: drained and exited after (s)"] = round(exited_after, 2)
    scenarios.count("journeys", 2)
