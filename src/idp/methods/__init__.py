"""THE PLUGIN API of Nidan's second-factor methods. ``__all__`` is the whole public surface.

A method plugin imports only this module (and ``idp.delivery`` if it must)::

    from idp.methods import Channel, ConfigModel, Credential, Enrollment, Method, MethodInfo

    class PaperMethod(Method[PaperConfig]):
        info = MethodInfo(id="paper", amr=("otp",), channel=Channel.APP, delivers_code=False)
        def begin_enrollment(self, user, form): ...
        def verify(self, user, credential, challenge, form): ...
        def describe(self, credential, locale): ...

and registers the class under the ``idp.methods`` entry-point group with ``info.id`` as its
name. docs/plugins.md walks through writing, testing (``idp.methods.testing``) and publishing
one. Everything else under ``idp.methods`` (registry, service, limits, codes, policy,
recovery, credentials) is the core's and may change without notice.
"""

from idp.methods.base import (
    Challenge,
    Channel,
    Credential,
    Enrollment,
    Interaction,
    Key,
    Method,
    MethodInfo,
    MethodUser,
    Verified,
)
from idp.methods.codes import IssuedCode
from idp.methods.context import MethodContext
from idp.methods.errors import (
    AppBothRoles,
    BudgetExhausted,
    CeremonyCancelled,
    CodeExpired,
    DeliveryFailed,
    EnrollmentExpired,
    EnrollmentInvalid,
    KeyBlocked,
    KeyNameInvalid,
    KeyNotFound,
    KeyRefused,
    MethodDisabled,
    MethodError,
    MethodNotEnabled,
    NotEnrolled,
    PhoneInvalid,
    PhoneNotSmsCapable,
    PhoneNotSupported,
    PhoneRegionNotAllowed,
    ResendTooSoon,
    RoleNotAllowed,
    SamePhoneTwice,
    TooFewMethods,
    TooManyTries,
    WrongCode,
    error_catalogue,
)
from idp.methods.phone import PhoneKind, PhoneNumber, normalise_region, parse_phone
from idp.methods.phone_method import PhoneConfig, PhoneMethod
from idp.settings import ConfigModel

__all__ = [
    "AppBothRoles",
    "BudgetExhausted",
    "CeremonyCancelled",
    "Challenge",
    "Channel",
    "CodeExpired",
    "ConfigModel",
    "Credential",
    "DeliveryFailed",
    "Enrollment",
    "EnrollmentExpired",
    "EnrollmentInvalid",
    "Interaction",
    "IssuedCode",
    "Key",
    "KeyBlocked",
    "KeyNameInvalid",
    "KeyNotFound",
    "KeyRefused",
    "Method",
    "MethodContext",
    "MethodDisabled",
    "MethodError",
    "MethodInfo",
    "MethodNotEnabled",
    "MethodUser",
    "NotEnrolled",
    "PhoneConfig",
    "PhoneInvalid",
    "PhoneKind",
    "PhoneMethod",
    "PhoneNotSmsCapable",
    "PhoneNotSupported",
    "PhoneNumber",
    "PhoneRegionNotAllowed",
    "ResendTooSoon",
    "RoleNotAllowed",
    "SamePhoneTwice",
    "TooFewMethods",
    "TooManyTries",
    "Verified",
    "WrongCode",
    "error_catalogue",
    "normalise_region",
    "parse_phone",
]
