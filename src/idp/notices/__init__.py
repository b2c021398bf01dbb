"""Security notices by email, verified email addresses, "this wasn't me", recent activity.

The audit events are the single source: :class:`Notices.on_audit` is added to the audit
listeners in ``build_services`` and turns the security events of :mod:`idp.notices.kinds`
into queued mails (:mod:`idp.notices.service`), keeps each person's recent activity
(:mod:`idp.notices.activity`) and mails a verification link after a sign-in with an
unverified address. The pages (:mod:`idp.notices.pages`) answer the links in the mails.
"""

from idp.notices.kinds import Kind
from idp.notices.service import Notices

__all__ = ["Kind", "Notices"]
