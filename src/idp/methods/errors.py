"""The errors of second-factor methods, each with a stable code and its messages.

Every error carries a ``code`` class attribute (stable: pages, the JSON API and audit events
use it), ``throttled`` (a wait, not a mistake: ``idp.web.errors.status_for`` answers 429)
and its parameters as attributes (``retry_after_s``, ``tries_left``, ...). Messages live
next to each class, in English and Japanese, with ``{placeholders}`` for parameters;
:func:`error_catalogue` collects them into one ``code -> locale -> text`` table the web layer
can move into gettext catalogues. No message ever contains a code, a secret or a full phone
number: the parameters are counts, durations and role names only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

__all__ = [
    "AppBothRoles",
    "BudgetExhausted",
    "CeremonyCancelled",
    "CodeExpired",
    "DeliveryFailed",
    "EnrollmentExpired",
    "EnrollmentInvalid",
    "KeyBlocked",
    "KeyNameInvalid",
    "KeyNotFound",
    "KeyRefused",
    "MethodDisabled",
    "MethodError",
    "MethodNotEnabled",
    "NotEnrolled",
    "PhoneInvalid",
    "PhoneNotSmsCapable",
    "PhoneNotSupported",
    "PhoneRegionNotAllowed",
    "ResendTooSoon",
    "RoleNotAllowed",
    "SamePhoneTwice",
    "TooFewMethods",
    "TooManyTries",
    "WrongCode",
    "error_catalogue",
]

LOCALES = ("en", "ja")
_ROLE_LABELS = {
    "en": {"primary": "main", "backup": "backup"},
    # The marketplace's own words for the two roles (第一手段 / バックアップ手段).
    "ja": {"primary": "第一手段", "backup": "バックアップ手段"},
}


def _text(*, en: str, ja: str) -> Mapping[str, str]:
    """A read-only ``locale -> template`` table."""
    return MappingProxyType({"en": en, "ja": ja})


class MethodError(Exception):
    """Something a person (or operator) must be told, as a code plus parameters.

    Subclasses MUST set ``code`` (``snake_case``, stable) and ``messages`` (``{"en": ...,
    "ja": ...}``). ``detail`` is optional English for operators and logs (an import file's
    line, a gateway's status); it MUST NOT contain a code, secret or phone number either.

    Example (a plugin's own enrollment error)::

        class DeviceUnknown(EnrollmentInvalid):
            code = "device_unknown"
            messages: ClassVar[Mapping[str, str]] = {
                "en": "This device is not supported.",
                "ja": "このデバイスには対応していません。",
            }
    """

    code: ClassVar[str] = "method_error"
    # True means "wait": the web edge answers 429 wherever it surfaces (RFC 6585), else 400.
    throttled: ClassVar[bool] = False
    messages: ClassVar[Mapping[str, str]] = {
        "en": "Something went wrong with this method. Please try again.",
        "ja": "この方法で問題が発生しました。もう一度お試しください。",
    }

    def __init__(self, detail: str | None = None, **params: Any) -> None:
        self.detail = detail
        self.params: dict[str, Any] = dict(params)
        for name, value in params.items():
            setattr(self, name, value)
        super().__init__(self.message("en") + (f" ({detail})" if detail else ""))

    def message(self, locale: str = "en") -> str:
        """The message for ``locale`` (English if there is none), parameters filled in."""
        template = self.messages.get(locale) or self.messages["en"]
        return template.format(**self.format_params(locale if locale in LOCALES else "en"))

    def format_params(self, locale: str) -> dict[str, Any]:
        """What the templates may use; subclasses add derived values (minutes, labels)."""
        return dict(self.params)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{type(self).__name__}(code={self.code!r}{', ' if params else ''}{params})"


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


class WrongCode(MethodError):
    """The code entered is not right (or was already used). ``tries_left`` in this window."""

    code = "wrong_code"
    messages = _text(
        en="That code is not right. Check it and try again.",
        ja="コードが正しくありません。確認してもう一度入力してください。",
    )
    tries_left: int


class CodeExpired(MethodError):
    """No live code: it expired, was used, or a newer one replaced it."""

    code = "code_expired"
    messages = _text(
        en="This code has expired or was already used. Request a new code.",
        ja="このコードは有効期限が切れたか、すでに使用されています。"
        "新しいコードを送信してください。",
    )


class TooManyTries(MethodError):
    """The tries of this window are used up; ``retry_after_s`` until the window ends."""

    code = "too_many_tries"
    throttled = True
    messages = _text(
        en="Too many wrong codes. Try again in {minutes} min, or use your backup method.",
        ja="間違ったコードの入力が多すぎます。{minutes}分後にもう一度お試しいただくか、"
        "バックアップ手段をお使いください。",
    )
    retry_after_s: int

    def format_params(self, locale: str) -> dict[str, Any]:
        return {**self.params, "minutes": _minutes(self.params.get("retry_after_s", 60))}


class ResendTooSoon(MethodError):
    """A code was sent moments ago; ``retry_after_s`` until the next may be sent."""

    code = "resend_too_soon"
    throttled = True
    messages = _text(
        en="Please wait {retry_after_s} seconds before requesting another code.",
        ja="次のコードを送信できるまで{retry_after_s}秒お待ちください。",
    )
    retry_after_s: int


class BudgetExhausted(MethodError):
    """Too many codes were sent to this person, number or country in the current window."""

    code = "budget_exhausted"
    throttled = True
    messages = _text(
        en="Too many codes have been sent. Try again in {minutes} min, or use your backup "
        "method.",
        ja="送信されたコードが多すぎます。{minutes}分後にもう一度お試しいただくか、"
        "バックアップ手段をお使いください。",
    )
    retry_after_s: int
    limit: str  # which budget: "user", "phone" or "country"

    def format_params(self, locale: str) -> dict[str, Any]:
        return {**self.params, "minutes": _minutes(self.params.get("retry_after_s", 60))}


class MethodDisabled(MethodError):
    """Too many consecutive failures: the method stays locked until an operator resets it
    or the person replaces it (DESIGN "Limits", NIST SP 800-63B 5.2.2)."""

    code = "method_disabled"
    messages = _text(
        en="This method is locked after too many wrong codes. Use your backup method, or ask "
        "an administrator to reset it.",
        ja="間違ったコードが続いたため、この方法はロックされています。バックアップ手段を使うか、"
        "管理者にリセットを依頼してください。",
    )


class DeliveryFailed(MethodError):
    """No gateway accepted the SMS or call. Plugins get this from ``ctx.send_sms`` and
    ``ctx.place_call`` and let it propagate."""

    code = "delivery_failed"
    messages = _text(
        en="We couldn't send the code. Use your backup method, or try again later.",
        ja="コードを送信できませんでした。バックアップ手段を使うか、"
        "しばらくしてからもう一度お試しください。",
    )


class MethodNotEnabled(MethodError):
    """The method id is not enabled in this deployment."""

    code = "method_not_enabled"
    messages = _text(en="This method is not available.", ja="この方法は利用できません。")


class NotEnrolled(MethodError):
    """The person has no credential in that role."""

    code = "not_enrolled"
    messages = _text(en="This method is not set up.", ja="この方法は設定されていません。")


class TooFewMethods(MethodError):
    """The change would leave fewer than two verified methods (BEHAVIOUR C2)."""

    code = "too_few_methods"
    messages = _text(
        en="You need two verified methods. Set up a replacement instead of removing this one.",
        ja="第一手段とバックアップ手段の2つが必要です。削除する代わりに、別の方法に変更してください。",
    )


class EnrollmentExpired(MethodError):
    """The pending enrollment is gone (it expired or was finished elsewhere)."""

    code = "enrollment_expired"
    messages = _text(
        en="The setup took too long. Please start again.",
        ja="設定の有効期限が切れました。最初からやり直してください。",
    )


class EnrollmentInvalid(MethodError):
    """What the person (or an import file) gave cannot be enrolled. ``field`` names the form
    field at fault when there is one. Plugins raise this, or their own subclass with its own
    ``code`` and ``messages``; ``detail`` is operator-facing English (e.g. for imports)."""

    code = "enrollment_invalid"
    messages = _text(
        en="This can't be set up. Check what you entered and try again.",
        ja="設定できません。入力内容を確認してもう一度お試しください。",
    )
    field: str | None


class PhoneInvalid(EnrollmentInvalid):
    code = "phone_invalid"
    messages = _text(
        en="That phone number doesn't look right. Check it, including the area code.",
        ja="電話番号が正しくないようです。市外局番を含めて確認してください。",
    )


class PhoneNotSmsCapable(EnrollmentInvalid):
    """BEHAVIOUR E5: a landline or IP phone (Japan's 050) cannot receive SMS: suggest voice."""

    code = "phone_not_sms_capable"
    messages = _text(
        en="This number can't receive text messages (for example a landline or an 050 IP "
        "phone). Choose a voice call to this number instead.",
        ja="この番号ではSMSを受信できません（固定電話や050で始まるIP電話など）。"
        "この番号で音声通話を選択してください。",
    )


class PhoneNotSupported(EnrollmentInvalid):
    """Premium-rate, toll-free, shared-cost, pager and similar numbers: nobody's own phone."""

    code = "phone_not_supported"
    messages = _text(
        en="This kind of number (premium-rate, toll-free, pager, ...) can't be used. Use a "
        "mobile or landline number.",
        ja="この種類の番号（有料番号、フリーダイヤル、ポケベルなど）は使用できません。"
        "携帯電話または固定電話の番号をお使いください。",
    )


class PhoneRegionNotAllowed(EnrollmentInvalid):
    code = "phone_region_not_allowed"
    messages = _text(
        en="Phone numbers from this country can't be used here.",
        ja="この国の電話番号は使用できません。",
    )


class SamePhoneTwice(EnrollmentInvalid):
    """BEHAVIOUR E4."""

    code = "same_phone_twice"
    messages = _text(
        en="Your backup must use a different phone number from your main method.",
        ja="バックアップ手段には、第一手段とは別の電話番号を登録してください。",
    )


class AppBothRoles(EnrollmentInvalid):
    """BEHAVIOUR E3."""

    code = "app_both_roles"
    messages = _text(
        en="An authenticator app can't be both your main and your backup method: choose a "
        "phone (text message or voice call) for one of them.",
        ja="第一手段とバックアップ手段の両方に認証アプリを使用することはできません。どちらかに電話"
        "（SMSまたは音声通話）を選んでください。",
    )


class RoleNotAllowed(EnrollmentInvalid):
    """The operator does not allow this method in this role (``[enrollment]``)."""

    code = "role_not_allowed"
    messages = _text(
        en="This method can't be chosen as your {role_label} method.",
        ja="この方法は{role_label}として選択できません。",
    )
    role: str

    def format_params(self, locale: str) -> dict[str, Any]:
        role = str(self.params.get("role", ""))
        return {**self.params, "role_label": _ROLE_LABELS[locale].get(role, role)}


class KeyRefused(WrongCode):
    """A ceremony's answer was not accepted (bad signature, wrong origin or challenge, user
    verification failed, an unknown key). Counted like a wrong code; ``tries_left``."""

    code = "key_refused"
    messages = _text(
        en="Your security key or passkey was not accepted. Try again, or use your other "
        "method.",
        ja="セキュリティキーまたはパスキーを確認できませんでした。もう一度お試しいただくか、"
        "別の方法を使用してください。",
    )


class CeremonyCancelled(MethodError):
    """The person (or the browser) cancelled the ceremony, or the browser can't run it.
    Not a failed try: nothing was checked."""

    code = "ceremony_cancelled"
    messages = _text(
        en="The security key step was cancelled or timed out. Try again, or use your other "
        "method.",
        ja="セキュリティキーの操作がキャンセルされたか、時間切れになりました。もう一度お試し"
        "いただくか、別の方法を使用してください。",
    )


class KeyBlocked(MethodError):
    """The key's signature counter went backwards on a key that can't be synced: it may
    have been copied. The core blocked it; the person removes it on /account."""

    code = "key_blocked"
    messages = _text(
        en="This security key was blocked because it may have been copied. Use your other "
        "method, then remove the key in your security settings.",
        ja="このセキュリティキーは複製された可能性があるため、使用を停止しました。別の方法で"
        "ログインし、セキュリティ設定からこのキーを削除してください。",
    )


class KeyNotFound(MethodError):
    """No such key on the person's credential."""

    code = "key_not_found"
    messages = _text(
        en="That security key is no longer registered.",
        ja="そのセキュリティキーはすでに登録されていません。",
    )


class KeyNameInvalid(EnrollmentInvalid):
    """A key's name is empty or too long."""

    code = "key_name_invalid"
    messages = _text(
        en="Give the key a name of 1 to 40 characters, such as \"Blue key\".",
        ja="キーの名前を1〜40文字で入力してください（例：「青いキー」）。",
    )


def _subclasses(cls: type[MethodError]) -> list[type[MethodError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_subclasses(sub))
    return found


def error_catalogue() -> dict[str, dict[str, str]]:
    """``code -> locale -> template`` for every :class:`MethodError` class defined so far
    (plugins' own subclasses included once imported)."""
    return {cls.code: dict(cls.messages) for cls in _subclasses(MethodError)}
