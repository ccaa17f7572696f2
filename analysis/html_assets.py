"""What an HTML page would fetch from the network: the book must render offline, and so must
every interactive view embedded in it."""
from __future__ import annotations

import html
import re

_TAG = re.compile(r"<(script|link|img|iframe|source|video|audio|embed|object)\b[^>]*>",
                  re.I | re.S)
_ATTR = re.compile(r"""\b(?:src|href|data|poster)\s*=\s*["']((?:https?:)?//[^"']+)["']""",
                   re.I)
_CSS_URL = re.compile(r"""url\(\s*["']?((?:https?:)?//[^)"'\s]+)""", re.I)
_SRCDOC = re.compile(r"""\bsrcdoc\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I | re.S)
_NO_FETCH = re.compile(r"""\brel\s*=\s*["'](?:canonical|preconnect|dns-prefetch)["']""", re.I)


def remote_urls(text: str, css: bool = False) -> list[str]:
    """URLs that an HTML document (or a stylesheet, ``css=True``) would fetch from the network.

    Scripts, stylesheets, fonts, images, media and frames count; links a reader follows
    (``<a href>``) and ``<link rel>`` hints that fetch nothing (canonical, preconnect,
    dns-prefetch) do not. The documents inlined in ``<iframe srcdoc="...">`` are scanned too,
    recursively.

    Returns
    -------
    sorted list of distinct URLs (empty when the document renders offline)
    """
    urls = set(_CSS_URL.findall(text))
    if not css:
        for tag in _TAG.finditer(text):
            if tag.group(1).lower() == "link" and _NO_FETCH.search(tag.group(0)):
                continue
            urls.update(_ATTR.findall(tag.group(0)))
        for double, single in _SRCDOC.findall(text):
            urls.update(remote_urls(html.unescape(double or single)))
    return sorted(urls)
