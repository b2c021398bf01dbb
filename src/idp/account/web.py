"""HTTP routes of `idp.account`, mounted by `idp.app.create_app`.

The security settings pages (BEHAVIOUR C1-C4, T3, T4, A1, L1), all under ``/account``:

======================================  ====================================================
``GET /account``                        overview: methods, trusted browsers, recovery codes
``POST /account/browsers/remove``       stop trusting one browser (``device_id``)
``POST /account/browsers/remove-all``   stop trusting every browser
``GET|POST /account/methods/<role>/replace``  choose a new primary/backup method
``GET|POST /account/methods/<role>/verify``   prove it with its code; it takes the role
``POST /account/methods/<role>/resend``  another code for the pending method
``POST /account/methods/<role>/cancel``  drop the pending replacement
``POST /account/methods/<role>/remove``  refused while two methods are set (C2)
``POST /account/methods/<role>/keys/add``     register one more security key (ceremony)
``POST /account/methods/<role>/keys/verify``  the new key's answer; saved
``POST /account/methods/<role>/keys/remove``  one key; the last one follows C2
``GET|POST /account/methods/swap``       swap primary and backup
``GET|POST /account/recovery-codes``     a new set of recovery codes, shown once
``GET|POST /account/password``           change the password
``POST /account/sign-out``               end this browser's SSO session
``POST /account/email/verify``           another confirmation mail for the address
======================================  ====================================================

Every form carries a CSRF token; every page is ``no-store``; signed out, a page starts the
sign-in journey and returns to itself; changes of methods and recovery codes need a code
from the last 10 minutes (step-up otherwise).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from idp.account import email, keys, overview, password, recovery, replace, roles

__all__ = ["routes"]


def routes() -> list[BaseRoute]:
    """The routes of this area. Handlers find the services at ``request.state["services"]``
    and the templates at ``request.state["templates"]``."""
    methods = "/account/methods"
    return [
        Route("/account", overview.overview, methods=["GET"], name="account"),
        Route("/account/browsers/remove", overview.remove_browser, methods=["POST"]),
        Route("/account/browsers/remove-all", overview.remove_all_browsers, methods=["POST"]),
        Route("/account/sign-out", overview.sign_out, methods=["POST"]),
        # One route per method and path: a GET page and the POST it submits to (Starlette
        # answers 405 for any other method).
        Route(f"{methods}/swap", roles.swap_form, methods=["GET"]),
        Route(f"{methods}/swap", roles.swap_submit, methods=["POST"]),
        Route(f"{methods}/{{role}}/replace", replace.replace_form, methods=["GET"]),
        Route(f"{methods}/{{role}}/replace", replace.replace_submit, methods=["POST"]),
        Route(f"{methods}/{{role}}/verify", replace.verify_form, methods=["GET"]),
        Route(f"{methods}/{{role}}/verify", replace.verify_submit, methods=["POST"]),
        Route(f"{methods}/{{role}}/resend", replace.resend, methods=["POST"]),
        Route(f"{methods}/{{role}}/cancel", replace.cancel, methods=["POST"]),
        Route(f"{methods}/{{role}}/remove", roles.remove, methods=["POST"]),
        Route(f"{methods}/{{role}}/keys/add", keys.add_key, methods=["POST"]),
        Route(f"{methods}/{{role}}/keys/verify", keys.verify_key, methods=["POST"]),
        Route(f"{methods}/{{role}}/keys/remove", keys.remove_key, methods=["POST"]),
        Route("/account/recovery-codes", recovery.recovery_form, methods=["GET"]),
        Route("/account/recovery-codes", recovery.recovery_submit, methods=["POST"]),
        Route("/account/password", password.password_form, methods=["GET"]),
        Route("/account/password", password.password_submit, methods=["POST"]),
        Route("/account/email/verify", email.send_verification, methods=["POST"]),
    ]
