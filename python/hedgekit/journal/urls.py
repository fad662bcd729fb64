"""Journal URLs in text: the password masked wherever a URL or an error about it is shown.

A journal URL reaches messages, errors, reprs and the command line's output; its password must
never do. :func:`mask_url` masks a URL itself — with a regular expression, not ``urlsplit``, so a
URL that does not parse (an unclosed IPv6 bracket, a password with an unescaped ``@``, ``:`` or
``/``) is masked too: everything between ``scheme://user:`` and the last ``@`` is the password
(a URL with an ``@`` later on, in its query, loses a little more than the password — never
less). A ``password=`` query or conninfo parameter is masked as well. :func:`mask_text` masks a
message about a URL: the URL's password wherever it appears (as written and percent-decoded,
as libpq echoes a URI it cannot parse), and any other URL with a password in the text.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from hedgekit.secrets import MASK, redact

__all__ = ["mask_text", "mask_url", "url_problem"]

_USERINFO = re.compile(r"(?P<pre>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:@/?#]*:)(?P<pw>[^\n]*)@")
# in free text a URL ends at a quote or a space, and its password at the first "@" (a known
# password is masked as a whole before, wherever it is)
_USERINFO_IN_TEXT = re.compile(
    r"(?P<pre>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:@/?#'\"]*:)(?P<pw>[^\s'\"@]*)@"
)
_PARAM = re.compile(r"(?P<pre>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^\s&#]*)", re.IGNORECASE)
_MIN_LITERAL = 4  # a shorter password is masked only inside a URL, not wherever it appears


def mask_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, whether or not it parses.

    ``postgresql://user:secret@host/db`` → ``postgresql://user:***@host/db``;
    ``...?sslmode=require&password=secret`` → ``...?sslmode=require&password=***``. Registered
    secrets (:func:`hedgekit.secrets.redact`) are masked too.
    """
    return redact(_mask_forms(url))


def mask_text(text: str, url: str) -> str:
    """``text`` (a message or error about ``url``) with ``url``'s password masked wherever it
    appears, as written or percent-decoded, and the password of any URL (up to its first ``@``)
    or ``password=`` parameter in it masked."""
    for pw in sorted(_passwords(url), key=len, reverse=True):
        if len(pw) >= _MIN_LITERAL:
            text = text.replace(pw, MASK)
    text = _USERINFO_IN_TEXT.sub(lambda m: f"{m['pre']}{MASK}@", text)
    return redact(_PARAM.sub(lambda m: f"{m['pre']}{MASK}", text))


def url_problem(url: str) -> str | None:
    """Why the PostgreSQL URL ``url`` cannot be used as written (``None`` when it can), any
    password masked in the answer.

    Refused before connecting: a URL ``urlsplit`` cannot parse (an unclosed IPv6 bracket), and
    a user name or password with an unescaped ``@`` or ``/`` — libpq would cut the URL at it and
    send the rest of the password to the resolver as a host name, and echo it in its errors.
    """
    try:
        urlsplit(url)
    except ValueError as exc:
        return mask_text(str(exc), url)
    rest = url.split("://", 1)[-1]
    head = rest.split("?", 1)[0]
    at = head.rfind("@")
    if at > 0 and ("@" in head[:at] or "/" in head[:at]):
        return (
            "a user name or password holding '@' or '/' must be percent-encoded "
            "('@' is %40, '/' is %2F, ':' is %3A)"
        )
    return None


def _mask_forms(url: str) -> str:
    url = _USERINFO.sub(lambda m: f"{m['pre']}{MASK}@", url)
    return _PARAM.sub(lambda m: f"{m['pre']}{MASK}", url)


def _passwords(url: str) -> set[str]:
    """Every form of the password(s) ``url`` holds: as written, percent-decoded, unquoted."""
    found: list[str] = []
    m = _USERINFO.search(url)
    if m is not None:
        found.append(m["pw"])
    try:
        parsed = urlsplit(url).password
    except ValueError:  # unparseable: the regular expression's answer stands
        parsed = None
    if parsed is not None:
        found.append(parsed)
    for p in _PARAM.finditer(url):
        value = p["pw"]
        found.append(value)
        if len(value) >= 2 and value[0] == value[-1] == "'":
            found.append(value[1:-1])
    return {form for pw in found for form in (pw, unquote(pw)) if form}
