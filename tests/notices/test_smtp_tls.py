"""STARTTLS and implicit TLS to a real SMTP server on loopback, with AUTH only after TLS and
the relay's certificate checked against ``ca_file`` (a certificate made for the test)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idp.delivery import EmailMessage, TransportError
from idp.delivery.smtp import SmtpConfig, SmtpTransport
from tests.live_server import free_port
from tests.notices.smtp_sink import SinkHandler, SmtpSink

USER, PASSWORD = "nidan", "relay password for the test"
MESSAGE = EmailMessage(to="tls@example.com", subject="s", text="t", html="<p>t</p>")


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "relay.pem", directory / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
                  ) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def relay(tls_files: tuple[Path, Path], request: pytest.FixtureRequest
          ) -> Iterator[tuple[SmtpSink, int]]:
    """A relay on loopback: STARTTLS (param "starttls") or TLS from the first byte."""
    sink = SmtpSink()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    port = free_port()
    common: dict[str, Any] = {"hostname": "127.0.0.1", "port": port,
                              "authenticator": _authenticate}
    if request.param == "starttls":
        controller = Controller(SinkHandler(sink), tls_context=context, require_starttls=True,
                                auth_require_tls=True, **common)
    else:
        # aiosmtpd offers AUTH on an implicit-TLS connection only without auth_require_tls
        # (it counts STARTTLS alone as TLS); the whole connection is TLS here anyway.
        controller = Controller(SinkHandler(sink), ssl_context=context, auth_require_tls=False,
                                **common)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def _config(port: int, mode: str, ca_file: Path | None, **extra: Any) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, starttls=mode == "starttls",
                      implicit_tls=mode == "tls", username=USER, password=PASSWORD,
                      from_address="no-reply@id.example.com", ca_file=ca_file, timeout_s=5,
                      retries=0, **extra)


@pytest.mark.parametrize("relay", ["starttls", "tls"], indirect=True)
def test_tls_then_auth_then_the_message(relay: tuple[SmtpSink, int],
                                        tls_files: tuple[Path, Path],
                                        request: pytest.FixtureRequest) -> None:
    sink, port = relay
    mode = request.node.callspec.params["relay"]
    SmtpTransport(_config(port, mode, tls_files[0]), instance="smtp").send_email(MESSAGE)
    assert len(sink.wait_for("tls@example.com")) == 1


@pytest.mark.parametrize("relay", ["starttls", "tls"], indirect=True)
def test_an_untrusted_certificate_is_refused(relay: tuple[SmtpSink, int],
                                             request: pytest.FixtureRequest) -> None:
    sink, port = relay
    mode = request.node.callspec.params["relay"]
    with pytest.raises(TransportError) as caught:
        SmtpTransport(_config(port, mode, None), instance="smtp").send_email(MESSAGE)
    assert not caught.value.retryable
    assert sink.received == []


@pytest.mark.parametrize("relay", ["starttls"], indirect=True)
def test_wrong_credentials_are_final(relay: tuple[SmtpSink, int],
                                     tls_files: tuple[Path, Path]) -> None:
    sink, port = relay
    config = _config(port, "starttls", tls_files[0]).model_copy(update={"username": "other"})
    with pytest.raises(TransportError) as caught:
        SmtpTransport(config, instance="smtp").send_email(MESSAGE)
    assert not caught.value.retryable
    assert caught.value.provider_code == "535"
    assert PASSWORD not in str(caught.value)
    assert sink.received == []
