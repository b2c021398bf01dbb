"""The ``smtp`` transport: email through the operator's mail relay (RFC 5321), with the
standard library's :mod:`smtplib`.

Security of the hop to the relay: STARTTLS (RFC 3207, port 587, the default) or implicit TLS
(RFC 8314, port 465); both verify the relay's certificate against the system's CAs, or
``ca_file``. Plain SMTP is allowed only to a relay on loopback (a local MTA), and then
without credentials on the wire unless the relay is on loopback too.

Failures are sorted like the HTTP transports': no connection, a timeout, a dropped
connection or a 4xx reply (RFC 5321 4.2.1: transient) are retried up to ``retries`` times;
a 5xx reply (refused recipient, bad credentials) is final for this instance. Neither the
address, the subject nor the body ever reaches an error message or a log record.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from idp.delivery import Capability, EmailMessage, Receipt, Transport, TransportError
from idp.delivery._retry import with_retries
from idp.settings import ConfigModel

__all__ = ["SmtpConfig", "SmtpTransport", "build_mime"]

_LOOPBACK = ("localhost", "127.0.0.1", "::1")


class SmtpConfig(ConfigModel):
    host: str
    # 587 (submission with STARTTLS) by default; 465 with implicit_tls; 25 for a local MTA.
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    implicit_tls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    # The From address of every notice, e.g. "Nidan <no-reply@id.example.com>" or bare.
    from_address: str
    # A private CA bundle (PEM) for the relay's certificate; none: the system's CAs.
    ca_file: Path | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=1, ge=0, le=10)
    backoff_s: float = Field(default=0.5, ge=0, le=30)

    @model_validator(mode="after")
    def _coherent(self) -> SmtpConfig:
        if self.starttls and self.implicit_tls:
            raise ValueError("starttls and implicit_tls: choose one (587 STARTTLS, 465 TLS)")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password (or password_file) go together")
        plain = not (self.starttls or self.implicit_tls)
        if plain and self.host not in _LOOPBACK:
            raise ValueError("plain SMTP (no starttls, no implicit_tls) only to a relay on "
                             "loopback; use starttls or implicit_tls")
        _split_from(self.from_address)
        return self


def _split_from(value: str) -> Address:
    """``"Name <a@b>"`` or ``"a@b"`` as an :class:`Address`; ``ValueError`` otherwise."""
    value = value.strip()
    name = ""
    if value.endswith(">") and "<" in value:
        name, _, value = value[:-1].rpartition("<")
        name = name.strip().strip('"')
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or any(c in value for c in " \r\n<>,"):
        raise ValueError("from_address: expected an address such as no-reply@id.example.com")
    return Address(display_name=name, username=local, domain=domain)


def build_mime(msg: EmailMessage, sender: Address) -> MimeMessage:
    """multipart/alternative: the text first, the HTML second (RFC 2046 5.1.4: the last
    part is the preferred one)."""
    mime = MimeMessage()
    mime["From"] = sender
    mime["To"] = msg.to
    mime["Subject"] = msg.subject
    mime["Date"] = format_datetime(datetime.now(UTC))
    mime["Message-ID"] = make_msgid(domain=sender.domain)
    for name, value in msg.headers:
        mime[name] = value
    mime.set_content(msg.text)
    mime.add_alternative(msg.html, subtype="html")
    # After the content: set_content() drops Content-* headers set before it.
    mime["Content-Language"] = msg.locale
    return mime


class SmtpTransport(Transport[SmtpConfig]):
    """One connection per message: notices are few, and a relay drops idle connections."""

    type_name = "smtp"
    config_class = SmtpConfig
    capabilities = frozenset({Capability.EMAIL})

    def __init__(self, config: SmtpConfig, *, instance: str) -> None:
        super().__init__(config, instance=instance)
        self._sender = _split_from(config.from_address)
        self._tls = ssl.create_default_context(
            cafile=str(config.ca_file) if config.ca_file else None
        )

    def send_email(self, msg: EmailMessage) -> Receipt:
        mime = build_mime(msg, self._sender)
        message_id = str(mime["Message-ID"])
        with_retries(lambda: self._send_once(mime), retries=self.config.retries,
                     backoff_s=self.config.backoff_s)
        return Receipt(transport=self.instance, provider_id=message_id.strip("<>"))

    def _send_once(self, mime: MimeMessage) -> None:
        config = self.config
        try:
            client: smtplib.SMTP
            if config.implicit_tls:
                client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_s,
                                          context=self._tls)
            else:
                client = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
            with client:
                client.ehlo()
                if config.starttls:
                    client.starttls(context=self._tls)
                    client.ehlo()
                if config.username is not None and config.password is not None:
                    client.login(config.username, config.password.get_secret_value())
                client.send_message(mime)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise self._failure("recipient refused", codes[0] if codes else None) from None
        except smtplib.SMTPResponseException as exc:
            raise self._failure(f"relay answered {exc.smtp_code}", exc.smtp_code) from None
        except smtplib.SMTPServerDisconnected:
            raise TransportError(self.instance, "the relay closed the connection",
                                 retryable=True) from None
        except smtplib.SMTPNotSupportedError:
            raise TransportError(self.instance, "the relay does not offer STARTTLS or AUTH",
                                 retryable=False) from None
        except ssl.SSLCertVerificationError:
            raise TransportError(self.instance, "the relay's certificate is not trusted",
                                 retryable=False) from None
        except TimeoutError:
            raise TransportError(self.instance, "timed out", retryable=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportError(self.instance, f"no connection ({type(exc).__name__})",
                                 retryable=True) from None

    def _failure(self, reason: str, code: int | None) -> TransportError:
        # RFC 5321 4.2.1: 4yz is transient (try again later), 5yz permanent.
        retryable = code is not None and 400 <= code < 500
        return TransportError(self.instance, reason, retryable=retryable,
                              provider_code=None if code is None else str(code))
