"""Splitting long texts for synthesis: sentences first, within the service's limits.

Weights are the service's (:func:`cosyvoice_clone.catalog.text_weight`: CJK ideographs count 2).
A *part* is the text of one synthesis task; a *message* is the text of one continue-task. Parts
are cut only at sentence boundaries when a sentence fits; a sentence too long for one message is
cut at clause punctuation, then at whitespace, then anywhere (never inside a surrogate pair,
which Python strings do not have).
"""

from __future__ import annotations

import re

from .. import catalog

_SENTENCE = re.compile(r".+?(?:[。！？!?；;…\n]+|\.(?=\s)|$)[\"'”’」』)）\]]*\s*", re.DOTALL)
_CLAUSE = re.compile(r".+?(?:[,，、:：—]+|$)\s*", re.DOTALL)
_WORDS = re.compile(r"\S+\s*|\s+")
_SSML_TAG = re.compile(r"<[^<>]*>")
_SENTENCE_END = re.compile(r"(?:[。！？!?；;…\n]+|\.+(?=\s))[\"'”’」』)）\]]*\s*")
_CLAUSE_END = re.compile(r"[,，、:：—]+\s*")

CLAUSE_WEIGHT = 40
"""Live text: a sentence held this long (service weight) is sent at its last clause mark."""


def ssml_weight(text: str) -> int:
    """The weight of an SSML text as the service counts it: tags are not counted."""
    return catalog.text_weight(_SSML_TAG.sub("", text))


def sentences(text: str) -> list[str]:
    """``text`` cut after each sentence terminator (the pieces join back to ``text``)."""
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0)]


def _pieces(text: str, limit: int) -> list[str]:
    """Cut ``text`` into pieces of weight at most ``limit``, at the gentlest boundary."""
    if catalog.text_weight(text) <= limit:
        return [text]
    for pattern in (_SENTENCE, _CLAUSE, _WORDS):
        parts = [m.group(0) for m in pattern.finditer(text) if m.group(0)]
        if len(parts) > 1:
            out: list[str] = []
            for part in parts:
                out.extend(_pieces(part, limit))
            return out
    return _pack(list(text), limit)  # one unbreakable run: cut by weight


def _pack(pieces: list[str], limit: int) -> list[str]:
    """Join consecutive pieces greedily while the weight stays within ``limit``."""
    out: list[str] = []
    current: list[str] = []
    weight = 0
    for piece in pieces:
        w = catalog.text_weight(piece)
        if current and weight + w > limit:
            out.append("".join(current))
            current, weight = [], 0
        current.append(piece)
        weight += w
    if current:
        out.append("".join(current))
    return out


def split_messages(
    text: str, limit: int = catalog.MAX_CHARS_PER_MESSAGE, *, ssml: bool = False
) -> list[str]:
    """The continue-task texts for one part: each within ``limit``, cut at sentence ends.

    SSML is never cut: the service takes exactly one continue-task with ``enable_ssml``.
    """
    if not text:
        return []
    if ssml:
        return [text]
    return _pack(_pieces(text, limit), limit)


def split_text(
    text: str,
    part_weight: int = catalog.MAX_CHARS_PER_TASK,
    message_weight: int = catalog.MAX_CHARS_PER_MESSAGE,
    *,
    ssml: bool = False,
) -> list[str]:
    """Cut ``text`` into task texts of weight at most ``part_weight`` at sentence boundaries.

    Joined back together the parts are exactly ``text``; blank parts are dropped. SSML is one
    part (never cut; :func:`~.protocol.check_ssml` refuses one too long).
    """
    if part_weight < 1 or message_weight < 1:
        raise ValueError("part_weight and message_weight must be positive")
    if ssml:
        return [text] if text.strip() else []
    part_weight = min(part_weight, catalog.MAX_CHARS_PER_TASK)
    message_weight = min(message_weight, catalog.MAX_CHARS_PER_MESSAGE, part_weight)
    pieces = _pieces(text, message_weight)
    return [p for p in _pack(pieces, part_weight) if p.strip()]


def part_weight_for(total_weight: int, concurrency: int) -> int:
    """A part size that keeps ``concurrency`` tasks busy: about three parts per worker.

    Short texts stay one task (no seams); parts never exceed one message (20,000).
    """
    if total_weight <= 2_000:
        return catalog.MAX_CHARS_PER_MESSAGE
    target = -(-total_weight // max(1, concurrency * 3))
    return max(1_000, min(catalog.MAX_CHARS_PER_MESSAGE, target))


class TextChunker:
    """Holds live text until a natural unit is complete (no I/O; see the module docstring)."""

    def __init__(
        self,
        *,
        clause_weight: int = CLAUSE_WEIGHT,
        message_weight: int = catalog.MAX_CHARS_PER_MESSAGE,
    ) -> None:
        self.clause_weight = clause_weight
        self.message_weight = message_weight
        self.pending = ""

    def push(self, text: str) -> list[str]:
        """Add ``text``; return the units now complete (possibly none)."""
        self.pending += text
        cut = 0
        for match in _SENTENCE_END.finditer(self.pending):
            cut = match.end()
        if cut == 0 and catalog.text_weight(self.pending) >= self.clause_weight:
            for match in _CLAUSE_END.finditer(self.pending):
                cut = match.end()
        units: list[str] = []
        if cut:
            units.append(self.pending[:cut])
            self.pending = self.pending[cut:]
        if catalog.text_weight(self.pending) > self.message_weight:  # no boundary at all
            pieces = split_messages(self.pending, self.message_weight)
            units.extend(pieces[:-1])
            self.pending = pieces[-1]
        return units

    def flush(self) -> list[str]:
        """Everything held, as units."""
        rest, self.pending = self.pending, ""
        return [rest] if rest else []
