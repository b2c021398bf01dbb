"""The plugin contract's types. Import them from :mod:`idp.methods`, not from here."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, get_args, get_origin

from idp.methods.errors import EnrollmentInvalid
from idp.methods.model import (
    PURPOSES,
    Challenge,
    Channel,
    Credential,
    Enrollment,
    Interaction,
    Key,
    MethodInfo,
    MethodUser,
    Verified,
)
from idp.settings import ConfigModel

if TYPE_CHECKING:
    from idp.methods.context import MethodContext

__all__ = [
    "PURPOSES",
    "Challenge",
    "Channel",
    "ConfigT",
    "Credential",
    "Enrollment",
    "Interaction",
    "Key",
    "Method",
    "MethodInfo",
    "MethodUser",
    "Verified",
]

ConfigT = TypeVar("ConfigT", bound=ConfigModel)


class Method(ABC, Generic[ConfigT]):
    """A second-factor method. Subclass it as ``Method[YourConfig]`` (the config class is
    stated once, there: it becomes ``config_class``; setting ``config_class`` yourself is
    still accepted), set ``info``, and register the class under the ``idp.methods``
    entry-point group with ``info.id`` as the name.

    The core constructs one instance per deployment with the validated config and a
    :class:`MethodContext`, and calls it from many threads at once: keep no per-person state
    on the instance; everything about a person lives in the objects passed in and out.

    The core, not the plugin, enforces attempt limits, resend throttles and budgets, expiry,
    single use (via :class:`Verified`), encryption of credential secrets, audit events and
    ``amr``. A plugin MUST NOT count attempts, log codes, or put a code, secret or full
    number into an exception, ``public`` or ``describe()``.

    Example::

        class PinConfig(ConfigModel):
            length: int = 6

        class PinMethod(Method[PinConfig]):
            info = MethodInfo(id="pin", amr=("pin",), channel=Channel.APP,
                              delivers_code=False)
            ...
    """

    info: ClassVar[MethodInfo]
    config_class: type[ConfigT]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "config_class" in vars(cls):
            return  # stated explicitly
        for base in vars(cls).get("__orig_bases__", ()):
            if get_origin(base) is Method:
                config = get_args(base)[0]
                if isinstance(config, type):
                    cls.config_class = config
                return

    def __init__(self, config: ConfigT, ctx: MethodContext) -> None:
        self.config = config
        self.ctx = ctx

    def label(self, locale: str) -> str:
        """The method's name on pages ("Authenticator app" / "認証アプリ"). Default: the id."""
        return self.info.id

    @abstractmethod
    def begin_enrollment(self, user: MethodUser, form: Mapping[str, str]) -> Enrollment:
        """Validate ``form`` (the fields in ``info.enroll_fields``) and create the credential
        to be. MUST NOT send anything: the core calls :meth:`send_challenge` next, under its
        resend limits. Raise :class:`EnrollmentInvalid` (or a subclass such as
        ``PhoneInvalid``) for bad input."""

    def begin_ceremony(
        self, user: MethodUser, credential: Credential, purpose: str
    ) -> Challenge:
        """CEREMONY methods: the options for the browser (in ``Challenge.data``, shown to
        the page as a JSON data island) and the challenge, for ``purpose`` (one of
        ``PURPOSES``). The core stores the returned data server-side, bound to the login
        transaction, the person and the method, and gives it back to :meth:`verify` once.
        ``credential.keys`` are the person's keys (for allow/exclude lists). The default
        refuses: a CODE method never gets here."""
        raise NotImplementedError(f"method {self.info.id!r} runs no ceremony")

    def send_challenge(self, user: MethodUser, credential: Credential) -> Challenge:
        """Issue a challenge for ``credential``: for a method that delivers codes, get one
        from ``self.ctx.issue_code(user, credential.id)`` and send it with
        ``self.ctx.send_sms`` / ``self.ctx.place_call`` (which raise
        :class:`DeliveryFailed`; let it propagate). The default sends nothing: right for
        methods whose code the person reads from a device."""
        return Challenge()

    @abstractmethod
    def verify(
        self,
        user: MethodUser,
        credential: Credential,
        challenge: Challenge,
        form: Mapping[str, str],
    ) -> Verified | None:
        """Check the code in ``form["code"]``. Return :class:`Verified` naming what was used,
        or ``None`` for a wrong code. Compare in constant time (``hmac.compare_digest``);
        for delivered codes return ``self.ctx.check_code(user, credential.id,
        form.get("code", ""))``. Raise :class:`MethodError` only for something other than a
        wrong code (``CodeExpired`` comes from ``ctx.check_code``)."""

    @abstractmethod
    def describe(self, credential: Credential, locale: str) -> str:
        """One line for the settings page, e.g. ``"SMS to +81 90-****-5678"``. Receives
        :meth:`Credential.public_only` (no secret, no number): use ``public``."""

    def import_credential(self, user: MethodUser, data: Mapping[str, str]) -> Credential:
        """Build a credential from an import file's columns (``idp users import``, BEHAVIOUR
        A2), validated as strictly as enrollment. Raise :class:`EnrollmentInvalid` with an
        operator-facing ``detail`` naming the column. The default refuses: a method that
        supports migration overrides this."""
        raise EnrollmentInvalid(
            detail=f"method {self.info.id!r} cannot import credentials", field="method"
        )
