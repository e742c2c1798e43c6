"""Markdown for untrusted text: escaped so it renders as written, code no backtick can end.

Text from scenario files, a provider or a controller is untrusted: outside code blocks it is
escaped, so it cannot become a heading, a link (bare URLs included), a mention or raw HTML, and
each code block's fence is longer than any run of backticks inside it, so no content can close it
early.
"""

from __future__ import annotations

import re

from sandbox.untrusted import visible

# $: GitHub renders $…$ as maths; @: a mention notifies whoever it names.
_ACTIVE = re.compile(r"([\\`*_\[\]<>#|~&$@])")
_LINE_START = re.compile(r"^([-+=]|\d+(?=[.)]))")
# What turns bare text into a link (GFM's autolinks, linkify): a scheme's colon, a domain's dot.
_SCHEME = re.compile(r"(?i)(?<![a-z])(https?|ftps?|mailto|xmpp|file)(?=:)")
_DOMAIN_DOT = re.compile(r"(?<=[A-Za-z0-9])\.(?=[A-Za-z])")


def clean(text: str) -> str:
    """``text`` with its hidden characters written as escapes, as everywhere else it is shown.

    Control characters could rewrite a terminal that `cat`s the file; bidirectional overrides
    make text read differently from what it is (GitHub warns about them); zero-width and tag
    characters hide inside words; a lone surrogate could not be written at all.
    """
    return visible(text)


def escape(text: str) -> str:
    """Untrusted text as a Markdown paragraph that renders exactly as written, line by line."""
    lines = []
    for line in clean(text).split("\n"):
        line = _ACTIVE.sub(r"\\\1", line.strip())
        line = _DOMAIN_DOT.sub(r"\\.", _SCHEME.sub(r"\1\\", line))
        # What starts a line could start a list, a heading underline or a rule: escape it too.
        lines.append(_LINE_START.sub(lambda m: m.group(0) + "\\" if m.group(0).isdigit()
                                     else "\\" + m.group(0), line))
    paragraphs = re.split(r"\n{2,}", "\n".join(lines).strip("\n"))
    return "\n\n".join(p for p in paragraphs if p)


def one_line(text: str) -> str:
    """Untrusted text for a heading or a list item: on one line, escaped."""
    return escape(" ".join(clean(text).split()))


def code(text: str) -> str:
    """An inline code span that no backtick in ``text`` can end early."""
    text = " ".join(clean(text).split())
    if not text:
        return ""
    ticks = "`" * (_longest_run(text, "`") + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fenced(text: str, info: str = "") -> str:
    """A fenced code block whose fence is longer than any run of backticks in ``text``."""
    body = clean(text).rstrip("\n")
    fence = "`" * max(3, _longest_run(body, "`") + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def _longest_run(text: str, char: str) -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)
