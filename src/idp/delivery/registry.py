"""Loading transports from settings, and ordered failover per channel.

Transport classes are found only through the ``idp.transports`` entry-point group, so a
plugin's transport and a built-in one load the same way. Every problem in ``[delivery]`` is
reported at start-up, one line each, before any message could be lost to it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import ValidationError

from idp.delivery import (
    Capability,
    DeliveryConfigError,
    DeliveryError,
    EmailMessage,
    Receipt,
    SmsMessage,
    Transport,
    TransportError,
    VoiceCall,
    mask_email,
    mask_number,
)
from idp.delivery.units import calling_code, sms_segments
from idp.observability import Audit
from idp.settings import ConfigModel, DeliverySettings

__all__ = ["ENTRY_POINT_GROUP", "Delivery", "installed_transports", "load_transports"]

ENTRY_POINT_GROUP = "idp.transports"

log = logging.getLogger("idp.delivery")

_CHANNELS = (Capability.SMS, Capability.VOICE, Capability.EMAIL)


class Delivery:
    """The channels, each an ordered list of transport instances.

    :meth:`send_sms` and :meth:`place_call` try each instance of the channel in order and
    return the first :class:`Receipt`; when all fail they raise :class:`DeliveryError`, and
    the caller tells the person to use their backup method. Logs and audit events name the
    instance, the status and the gateway's error code, never the text or the full number.
    """

    def __init__(
        self,
        channels: Mapping[Capability, Sequence[Transport[Any]]],
        *,
        audit: Audit | None = None,
    ) -> None:
        self._channels = {channel: tuple(channels.get(channel, ())) for channel in _CHANNELS}
        self._audit = audit

    @property
    def channels(self) -> frozenset[Capability]:
        """The channels that have at least one transport."""
        return frozenset(c for c, transports in self._channels.items() if transports)

    def instances(self, channel: Capability) -> tuple[str, ...]:
        """The instance names tried for ``channel``, in order."""
        return tuple(t.instance for t in self._channels[channel])

    def send_sms(self, msg: SmsMessage) -> Receipt:
        return self._deliver(Capability.SMS, {"phone": mask_number(msg.to)},
                             lambda t: t.send_sms(msg), cost=_cost(msg.to, sms_segments(msg.text)))

    def place_call(self, call: VoiceCall) -> Receipt:
        return self._deliver(Capability.VOICE, {"phone": mask_number(call.to)},
                             lambda t: t.place_call(call), cost=_cost(call.to, 1))

    def send_email(self, msg: EmailMessage) -> Receipt:
        """Hand an email to the ``[notifications] email`` instances, in order."""
        return self._deliver(Capability.EMAIL, {"to": mask_email(msg.to)},
                             lambda t: t.send_email(msg), cost={})

    def close(self) -> None:
        """Close every transport once (an instance may serve both channels)."""
        seen: set[int] = set()
        for transports in self._channels.values():
            for transport in transports:
                if id(transport) not in seen:
                    seen.add(id(transport))
                    transport.close()

    def _deliver(
        self, channel: Capability, masked: dict[str, str],
        send: Callable[[Transport[Any]], Receipt], *, cost: dict[str, Any],
    ) -> Receipt:
        phone = next(iter(masked.values()))
        failures: list[TransportError] = []
        for transport in self._channels[channel]:
            started = time.perf_counter()
            try:
                receipt = send(transport)
            except TransportError as exc:
                failure = exc
            except Exception as exc:  # a plugin's bug must not stop the failover
                failure = TransportError(
                    transport.instance, f"unexpected error ({type(exc).__name__})",
                    retryable=False,
                )
            else:
                log.info("%s sent via %r to %s", channel.value, transport.instance, phone)
                if self._audit is not None:
                    self._audit.emit(
                        "delivery.sent", channel=channel.value, instance=transport.instance,
                        **masked, provider_id=receipt.provider_id, fallback=bool(failures),
                        duration_s=round(time.perf_counter() - started, 4), **cost,
                    )
                return receipt
            failures.append(failure)
            log.warning("%s via %r to %s failed: %s", channel.value, transport.instance,
                        phone, failure.reason)
            if self._audit is not None:
                self._audit.emit(
                    "delivery.failed", channel=channel.value, instance=transport.instance,
                    **masked, status=failure.status, error_code=failure.provider_code,
                    retryable=failure.retryable, reason=failure.reason,
                    duration_s=round(time.perf_counter() - started, 4), **cost,
                )
        error = DeliveryError(channel, failures)
        log.error("%s to %s not delivered: %s", channel.value, phone, error)
        raise error


def _cost(number: str, units: int) -> dict[str, Any]:
    """For the delivery metrics (cost per country, duration): not personal data."""
    return {"country": calling_code(number), "units": units}


def installed_transports() -> dict[str, list[EntryPoint]]:
    """Entry-point name -> its entry points (more than one means a conflict)."""
    found: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if all(ep.value != other.value for other in found.get(ep.name, [])):
            found.setdefault(ep.name, []).append(ep)
    return found


def _load_class(
    where: str, type_name: str, installed: Mapping[str, list[EntryPoint]]
) -> type[Transport[Any]] | str:
    """The transport class registered as ``type_name``, or one line saying why not."""
    eps = installed.get(type_name)
    if not eps:
        names = ", ".join(sorted(installed)) or "none"
        return f"{where}: unknown transport type {type_name!r} (installed: {names})"
    if len(eps) > 1:
        values = ", ".join(ep.value for ep in eps)
        return f"{where}: transport type {type_name!r} is registered twice ({values})"
    try:
        cls = eps[0].load()
    except Exception as exc:
        return (f"{where}: transport type {type_name!r} ({eps[0].value}) failed to import: "
                f"{type(exc).__name__}: {exc}")
    if not (isinstance(cls, type) and issubclass(cls, Transport)):
        return f"{where}: {eps[0].value} is not a subclass of idp.delivery.Transport"
    if getattr(cls, "type_name", None) != type_name:
        return (f"{where}: {eps[0].value} has type_name "
                f"{getattr(cls, 'type_name', None)!r}, but its entry point is {type_name!r}")
    return cls


def _config_lines(where: str, error: ValidationError) -> list[str]:
    """One line per invalid key. Values are never shown: the key may hold a secret."""
    lines = []
    for item in error.errors(include_url=False):
        key = ".".join(str(part) for part in item["loc"])
        prefix = f"{where}.{key}" if key else where
        if item["type"] == "missing":
            message = "field required"
        elif item["type"] == "extra_forbidden":
            message = "unknown setting"
        else:
            message = item["msg"].removeprefix("Value error, ")
            message = message[:1].lower() + message[1:]
        lines.append(f"{prefix}: {message}")
    return lines


def load_transports(
    settings: DeliverySettings, *, audit: Audit | None = None, email: Sequence[str] = ()
) -> Delivery:
    """Validate ``[delivery]``, create the transports its channels name, return the channels.
    ``email`` is the ``[notifications] email`` list: instances of ``[delivery.transports]``
    that hand over notices, in order.

    Raises :class:`DeliveryConfigError` listing every problem, one line each: an unknown
    transport type, invalid transport config, a channel naming an undefined instance or one
    that lacks the channel's capability.
    """
    installed = installed_transports()
    errors: list[str] = []
    checked: dict[str, tuple[type[Transport[Any]], ConfigModel]] = {}
    for name, raw in settings.transports.items():
        where = f"delivery.transports.{name}"
        values = dict(raw)
        type_name = values.pop("type", name)
        if not isinstance(type_name, str):
            errors.append(f"{where}.type: expected a transport type name")
            continue
        cls = _load_class(where if "type" not in raw else f"{where}.type", type_name, installed)
        if isinstance(cls, str):
            errors.append(cls)
            continue
        try:
            checked[name] = (cls, cls.config_class.model_validate(values))
        except ValidationError as exc:
            errors.extend(_config_lines(where, exc))

    wanted: dict[Capability, list[str]] = {
        Capability.SMS: list(settings.sms), Capability.VOICE: list(settings.voice),
        Capability.EMAIL: list(email),
    }
    for channel, names in wanted.items():
        where = ("notifications.email" if channel is Capability.EMAIL
                 else f"delivery.{channel.value}")
        for index, name in enumerate(names):
            if name in names[:index]:
                errors.append(f"{where}: transport instance {name!r} is listed twice")
            elif name not in settings.transports:
                defined = ", ".join(sorted(settings.transports)) or "none"
                errors.append(f"{where}: transport instance {name!r} is not defined under "
                              f"delivery.transports (defined: {defined})")
            elif name in checked:
                cls, config = checked[name]
                problem = cls.check_capability(config, channel)
                if problem is not None:
                    errors.append(f"{where}: transport instance {name!r}: {problem}")
    if errors:
        raise DeliveryConfigError(errors)

    created: dict[str, Transport[Any]] = {}
    for name in dict.fromkeys(
        wanted[Capability.SMS] + wanted[Capability.VOICE] + wanted[Capability.EMAIL]
    ):
        cls, config = checked[name]
        try:
            created[name] = cls(config, instance=name)
        except DeliveryConfigError as exc:
            errors.extend(f"delivery.transports.{name}: {line}" for line in exc.lines)
    if errors:
        for transport in created.values():
            transport.close()
        raise DeliveryConfigError(errors)
    return Delivery(
        {channel: [created[name] for name in names] for channel, names in wanted.items()},
        audit=audit,
    )
