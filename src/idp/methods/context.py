"""What the core lends a plugin: :class:`MethodContext`. Import it from :mod:`idp.methods`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from idp.delivery import DeliveryError, SmsMessage, VoiceCall
from idp.delivery.registry import Delivery
from idp.methods.codes import IssuedCode
from idp.methods.errors import DeliveryFailed
from idp.methods.model import MethodUser, Verified
from idp.methods.phone import PhoneNumber, parse_phone

if TYPE_CHECKING:
    from idp.methods.codes import CodeService

__all__ = ["MethodContext"]

LOCALES = ("ja", "en")


class MethodContext:
    """Everything a plugin may use besides its own config. The core builds one per method;
    plugins MUST NOT construct it (the contract kit builds a real one for tests).

    Attributes: ``method_id``; ``service_name`` (for texts and the ``otpauth`` issuer);
    ``default_region`` (phone numbers without a country code, BEHAVIOUR E5);
    ``default_locale``; ``drift_steps`` (time steps a time-based code may be off either way,
    S5); ``code_lifetime_s`` (how long a delivered code lives, for the text);
    ``conformance_mode`` (the server runs for a certification suite, ``[server] conformance``:
    a method that must never meet real people refuses to start without it).

    Example (a method that texts a code)::

        def send_challenge(self, user, credential):
            code = self.ctx.issue_code(user, credential.id)
            text = f"{self.ctx.service_name}: {code.value}"
            self.ctx.send_sms(user, credential.phone, text)
            return Challenge(sent_to=credential.public["masked"])

        def verify(self, user, credential, challenge, form):
            return self.ctx.check_code(user, credential.id, form.get("code", ""))
    """

    def __init__(
        self,
        *,
        method_id: str,
        service_name: str,
        default_region: str,
        default_locale: str,
        drift_steps: int,
        codes: CodeService,
        delivery: Delivery | None,
        clock: Callable[[], float],
        conformance_mode: bool = False,
    ) -> None:
        self.method_id = method_id
        self.service_name = service_name
        self.default_region = default_region
        self.default_locale = default_locale
        self.drift_steps = drift_steps
        self.code_lifetime_s = codes.lifetime_s
        self.conformance_mode = conformance_mode
        self._codes = codes
        self._delivery = delivery
        self._clock = clock

    def __repr__(self) -> str:
        return f"MethodContext(method_id={self.method_id!r})"

    def now(self) -> float:
        """The current time, epoch seconds. Use this, not ``time.time()``: tests move it."""
        return self._clock()

    def locale(self, user: MethodUser) -> str:
        """``user.locale`` if it is one the product speaks ("ja", "en"), else the default."""
        return user.locale if user.locale in LOCALES else self.default_locale

    def parse_phone(self, raw: str, default_region: str | None = None) -> PhoneNumber:
        """Parse and validate a number a person typed (see :func:`parse_phone`); raises
        ``PhoneInvalid``. ``default_region`` overrides the deployment's default."""
        return parse_phone(raw, default_region or self.default_region)

    def _scope(self, user: MethodUser, slot: str) -> str:
        return f"{user.id}:{self.method_id}:{slot}"

    def issue_code(self, user: MethodUser, slot: str) -> IssuedCode:
        """A new 6-digit code for ``slot`` (use ``credential.id``), voiding the slot's
        previous code. Put ``code.value`` into the message and nowhere else."""
        return self._codes.issue(self._scope(user, slot))

    def check_code(self, user: MethodUser, slot: str, submitted: str) -> Verified | None:
        """:class:`Verified` if ``submitted`` is the slot's live code, ``None`` if wrong.
        Raises ``CodeExpired`` if the slot has no live code. Return its result from
        ``verify`` as it is: the core enforces tries and single use."""
        code_id = self._codes.check(self._scope(user, slot), submitted)
        if code_id is None:
            return None
        return Verified(use_id=f"code:{code_id}", remember_s=self.code_lifetime_s)

    def send_sms(self, user: MethodUser, to: str, text: str) -> None:
        """Send ``text`` to the E.164 number ``to`` in the person's language. Raises
        :class:`DeliveryFailed` when no gateway took it (the page then offers the backup).
        Resend limits and budgets were already applied by the core."""
        delivery = self._require_delivery()
        try:
            delivery.send_sms(SmsMessage(to=to, text=text, locale=self.locale(user)))
        except DeliveryError as exc:
            raise DeliveryFailed(detail=str(exc), channel="sms") from None

    def place_call(self, user: MethodUser, to: str, segments: Sequence[str]) -> None:
        """Call the E.164 number ``to`` and speak ``segments`` in order, with pauses, in
        the person's language. Raises :class:`DeliveryFailed` like :meth:`send_sms`."""
        delivery = self._require_delivery()
        call = VoiceCall(to=to, segments=tuple(segments), locale=self.locale(user))
        try:
            delivery.place_call(call)
        except DeliveryError as exc:
            raise DeliveryFailed(detail=str(exc), channel="voice") from None

    def _require_delivery(self) -> Delivery:
        if self._delivery is None:
            raise DeliveryFailed(detail="no delivery is configured in this process")
        return self._delivery
