"""Errors of the web dashboard, each with the HTTP status it is answered with::

    WebError (ShiplaneError)        400: a request the dashboard cannot serve
    ├── NotSignedIn                 401: an action without (valid) credentials
    ├── NotAllowed                  403: the signed-in user may not do this
    ├── CsrfRejected                403: a form post from another origin / without its token
    ├── NotFound                    404: no such service, run, environment, promotion...
    └── UsersFileInvalid            the users/tokens file cannot be read

Errors of the libraries below (``ShiplaneError``) raised while serving a page or an
action are answered as 409 with their message and hint (the action was refused, e.g.
"the author cannot approve"), never as a traceback.
"""

from __future__ import annotations

from shiplane.errors import ShiplaneError

__all__ = ["CsrfRejected", "NotAllowed", "NotFound", "NotSignedIn", "UsersFileInvalid",
           "WebError"]


class WebError(ShiplaneError):
    status_code = 400


class NotSignedIn(WebError):
    status_code = 401


class NotAllowed(WebError):
    status_code = 403


class CsrfRejected(WebError):
    status_code = 403


class NotFound(WebError):
    status_code = 404


class UsersFileInvalid(WebError):
    status_code = 500
