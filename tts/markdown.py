"""Removing markdown from LLM text so the voice never reads symbols aloud.

The result keeps, for every character, the index of the original character it
came from, so later stages can say which original word a spoken word belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^\s*(```|~~~)")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_HEADING_TAIL = re.compile(r"\s+#+\s*$")
_QUOTE = re.compile(r"^\s*(>\s?)+")
_BULLET = re.compile(r"^\s*([-*+•]|\d{1,3}[.)])\s+")
# Inline markers: each match is dropped except its named groups "keep".
_IMAGE_OR_LINK = re.compile(r"!?\[(?P<keep>[^\]\n]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_STRONG = re.compile(r"\*\*|__|~~|`+")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])|(?<!\w)_(?=\S)|(?<=\S)_(?!\w)")
_SENTENCE_END = ".!?:;"


@dataclass(frozen=True)
class CleanText:
    """Text without markdown; ``origin[i]`` is the index in the original of ``text[i]``."""

    text: str
    origin: tuple[int, ...]


def strip_markdown(text: str, at_line_start: bool = True) -> CleanText:
    """Drop markdown markers, keeping the words and a map back to the original.

    Headings, list items, table rows and paragraphs that end without punctuation
    get a full stop, so each is spoken as its own sentence rather than run together.
    ``at_line_start=False`` says the text continues a line (streamed text cut
    mid-line), so its first line is not read as a heading or list item.
    """
    out_chars: list[str] = []
    out_origin: list[int] = []
    in_fence = False
    lines = text.split("\n")
    pos = 0
    for number, line in enumerate(lines):
        line_start = pos
        pos += len(line) + 1
        first = number == 0
        if (not first or at_line_start) and _FENCE.match(line):
            in_fence = not in_fence
            continue
        next_blank = number + 1 < len(lines) and not lines[number + 1].strip()
        block = False
        skip = 0
        if not in_fence and (not first or at_line_start):
            if _RULE.match(line) or _TABLE_RULE.match(line):
                continue
            for pattern in (_QUOTE, _HEADING, _BULLET):
                m = pattern.match(line, skip)
                if m:
                    skip = m.end()
                    block = block or pattern is not _QUOTE
        body_end = len(line)
        if not in_fence:
            tail = _HEADING_TAIL.search(line, skip) if block else None
            if tail:
                body_end = tail.start()
        keep = _keep_mask(line, skip, body_end, in_fence)
        kept = [i for i in range(skip, body_end) if keep[i]]
        if "|" in line and not in_fence:
            block = True
        for i in kept:
            out_chars.append(" " if line[i] == "|" and not in_fence else line[i])
            out_origin.append(line_start + i)
        last = "".join(out_chars[-len(kept):]).rstrip() if kept else ""
        if last and (block or next_blank or in_fence) and last[-1] not in _SENTENCE_END:
            trimmed = len(out_chars) - len(kept) + len("".join(out_chars[-len(kept):]).rstrip())
            out_chars.insert(trimmed, ".")
            out_origin.insert(trimmed, out_origin[trimmed - 1])
        if number + 1 < len(lines):
            out_chars.append("\n")
            out_origin.append(line_start + len(line))
    return CleanText("".join(out_chars), tuple(out_origin))


def _keep_mask(line: str, start: int, end: int, in_fence: bool) -> list[bool]:
    keep = [True] * len(line)
    if in_fence:
        return keep
    body = line[:end]
    for m in _IMAGE_OR_LINK.finditer(body, start):
        for i in range(m.start(), m.end()):
            keep[i] = False
        for i in range(m.start("keep"), m.end("keep")):
            keep[i] = True
    for pattern in (_STRONG, _EMPHASIS):
        for m in pattern.finditer(body, start):
            for i in range(m.start(), m.end()):
                keep[i] = False
    return keep
