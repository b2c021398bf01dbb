"""The sign-in journey: password, second factor, enrollment, recovery (BEHAVIOUR S, E, C, T).

The other areas use exactly this::

    from idp.login import LoginRequirements, start_login, current_session

:func:`start_login` saves a login transaction bound to the browser and redirects into the
journey; when it ends, an SSO session stands and the browser goes back to
``requirements.resume``. :func:`current_session` is the browser's live SSO session.
:func:`unlock` clears the password limits of an address (``idp users unlock EMAIL``).
The state machine itself is :class:`idp.login.machine.LoginMachine` (framework-free).
"""

from idp.login.entry import current_session, start_login, unlock
from idp.login.model import ACR_2SV, ACR_TRUSTED_BROWSER, LoginRequirements

__all__ = [
    "ACR_2SV",
    "ACR_TRUSTED_BROWSER",
    "LoginRequirements",
    "current_session",
    "start_login",
    "unlock",
]
