"""HTTP routes of `idp.login`, mounted by `idp.app.create_app`.

=============================  ==============================================================
``/login``                     email and password (GET without a transaction starts one)
``/login/code``                the second factor; ``?use=backup`` ("Didn't receive the code?")
``/login/code/resend``         send the code again (POST)
``/login/recovery``            a recovery code instead of both devices (C3)
``/login/enroll``              set-up: why, and the method for the role (E1-E3)
``/login/enroll/details``      the phone number (E4, E5)
``/login/enroll/verify``       QR code and secret (E6), or the code sent; verify (E2)
``/login/enroll/resend``       send the set-up code again (POST)
``/login/enroll/back``         choose another method (POST)
``/login/enroll/codes``        the recovery codes, once (E7); continue, trusting this browser
``/login/enroll/codes/download``  the recovery codes as a file (POST)
``/dev/outbox``                dev mode only: the outbox as a phone and a mailbox
``/dev/phone``                 its old address: a redirect
=============================  ==============================================================
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from idp.login.devphone import OUTBOX_PATH, old_phone_page, phone_page
from idp.login.enroll_pages import (
    codes_download,
    enroll_back,
    enroll_codes,
    enroll_details,
    enroll_page,
    enroll_resend,
    enroll_verify,
)
from idp.login.pages import code_page, code_resend, password_page, recovery_page

__all__ = ["routes"]

_BOTH = ["GET", "POST"]


def routes() -> list[BaseRoute]:
    """The routes of this area. Handlers read the app state through
    ``Request[LoginState]`` (``request.state["services"]``, ``["templates"]``)."""
    return [
        Route("/login", password_page, methods=_BOTH),
        Route("/login/code", code_page, methods=_BOTH),
        Route("/login/code/resend", code_resend, methods=["POST"]),
        Route("/login/recovery", recovery_page, methods=_BOTH),
        Route("/login/enroll", enroll_page, methods=_BOTH),
        Route("/login/enroll/details", enroll_details, methods=_BOTH),
        Route("/login/enroll/verify", enroll_verify, methods=_BOTH),
        Route("/login/enroll/resend", enroll_resend, methods=["POST"]),
        Route("/login/enroll/back", enroll_back, methods=["POST"]),
        Route("/login/enroll/codes", enroll_codes, methods=_BOTH),
        Route("/login/enroll/codes/download", codes_download, methods=["POST"]),
        Route(OUTBOX_PATH, phone_page, methods=["GET"]),
        Route("/dev/phone", old_phone_page, methods=["GET"]),
    ]
