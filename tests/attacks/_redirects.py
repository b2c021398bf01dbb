"""Mutations of a registered redirect URI (attack 7), shared by the test and
``bench/attack_redirects.py``: case, port, trailing dot or slash, userinfo with several ``@``,
``..;/`` and dot segments, percent-encoding, a fragment, a host suffix or prefix, a scheme
change, query and whitespace. A mutation equal byte for byte to the original is dropped: it
*should* be accepted."""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import strategies as st

REGISTERED = ("https://rp.example.com/callback", "https://app.example.org:8443/oauth/cb",
              "http://127.0.0.1:8765/cb")


def _swap_case(text: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if i < len(flips) and flips[i] else c
                   for i, c in enumerate(text))


def _percent(text: str, index: int) -> str:
    if not text:
        return text
    index %= len(text)
    return text[:index] + f"%{ord(text[index]):02X}" + text[index + 1:]


@st.composite
def mutated(draw: st.DrawFn, uri: str) -> str:
    """One mutation (one to three edits stacked) of ``uri``."""
    parts = urlsplit(uri)
    scheme, host, port = parts.scheme, parts.hostname or "", parts.port
    path, query = parts.path, parts.query
    userinfo = ""
    fragment: str | None = None
    edits = draw(st.lists(st.sampled_from([
        "case", "port", "dot", "slash", "userinfo", "dotdot", "percent", "fragment",
        "suffix", "prefix", "scheme", "query", "space", "backslash", "path",
    ]), min_size=1, max_size=3))
    for edit in edits:
        if edit == "case":
            flips = draw(st.lists(st.booleans(), min_size=1, max_size=len(uri)))
            target = draw(st.sampled_from(["scheme", "host", "path"]))
            if target == "scheme":
                scheme = _swap_case(scheme, flips)
            elif target == "host":
                host = _swap_case(host, flips)
            else:
                path = _swap_case(path, flips)
        elif edit == "port":
            port = draw(st.sampled_from([None, 0, 80, 443, 8443, 8765, 65535, 1]))
        elif edit == "dot":
            host += "."
        elif edit == "slash":
            path = path + "/" if draw(st.booleans()) else path.rstrip("/")
        elif edit == "userinfo":
            names = draw(st.lists(st.sampled_from([host, "evil.example", "rp.example.com", "",
                                                   "a:b"]), min_size=1, max_size=3))
            userinfo = "@".join(names) + "@"
            if draw(st.booleans()):
                host, port = "evil.example", None
        elif edit == "dotdot":
            path = path + draw(st.sampled_from(["/..;/x", "/../callback", "/./", "/..%2f",
                                                 "/%2e%2e/", ";/"]))
        elif edit == "percent":
            target = draw(st.sampled_from(["host", "path"]))
            index = draw(st.integers(0, 64))
            if target == "host":
                host = _percent(host, index)
            else:
                path = _percent(path, index)
        elif edit == "fragment":
            fragment = draw(st.sampled_from(["", "x", "@evil.example"]))
        elif edit == "suffix":
            host += draw(st.sampled_from([".evil.example", "evil.example", "%00.evil", "\\",
                                          ".", ":"]))
        elif edit == "prefix":
            host = draw(st.sampled_from(["evil", "evil.", "www.", "-"])) + host
        elif edit == "scheme":
            scheme = draw(st.sampled_from(["http", "https", "javascript", "data", "ftp",
                                           "HTTPS", "", "//"]))
        elif edit == "query":
            query = query + draw(st.sampled_from(["a=1", "redirect_uri=https://evil.example",
                                                  "", "&"]))
        elif edit == "space":
            path = path + draw(st.sampled_from([" ", "%20", "\t", "%0d%0a"]))
        elif edit == "backslash":
            path = "\\" + path.lstrip("/") if draw(st.booleans()) else path.replace("/", "\\")
        else:
            path = path + draw(st.text("abc/%.", min_size=1, max_size=4))
    netloc = userinfo + host + ("" if port is None else f":{port}")
    out = f"{scheme}://{netloc}{path}" if scheme != "//" else f"//{netloc}{path}"
    if query:
        out += "?" + query
    if fragment is not None:
        out += "#" + fragment
    return out


def mutations_of(uri: str) -> st.SearchStrategy[str]:
    return mutated(uri).filter(lambda candidate: candidate != uri)
