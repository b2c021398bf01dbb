"""The forms of a page as a browser submits them: kept as a name for the account tests; the
parser is the tests' one, :mod:`tests.html_forms`."""

from __future__ import annotations

from tests.html_forms import Form, form_for, forms, forms_for

__all__ = ["Form", "form_for", "forms", "forms_for"]
