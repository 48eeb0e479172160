"""The one body rewrite Junction does (``openai``: the top-level ``model`` field set to
the backend's served name), done on the bytes as the server does
(src/backends/protocols/json-field.ts): one strict linear pass, every other byte
sent as it came, and a body refused (400 invalid_request) when the field is
written twice, with escapes that hide it, or as a look-alike some servers read
as it (``MODEL``, ``"model\\u0000x"``), or when the body is not JSON.
"""

from __future__ import annotations

import json
from typing import List, Optional, Tuple

from . import errors

_WS = b" \n\r\t"
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES = frozenset(b'"\\/bfnrt')

Span = Tuple[int, int, bool]  # value bytes [start, end), is a string


def _invalid(why: str, at: int, objective: Optional[str]) -> errors.JunctionError:
    return errors.error("invalid_request", f"request body is not valid JSON: {why} at byte {at}", objective=objective)


def _skip(raw: bytes, i: int) -> int:
    n = len(raw)
    while i < n and raw[i] in _WS:
        i += 1
    return i


def _string_end(raw: bytes, start: int, objective: Optional[str]) -> int:
    n = len(raw)
    i = start + 1
    while i < n:
        c = raw[i]
        if c == 0x22:
            return i + 1
        if c < 0x20:
            raise _invalid("control character in string", i, objective)
        if c == 0x5C:
            i += 1
            e = raw[i] if i < n else None
            if e == 0x75:
                if any(j >= n or raw[j] not in _HEX for j in range(i + 1, i + 5)):
                    raise _invalid("bad \\u escape", i - 1, objective)
                i += 4
            elif e is None or e not in _ESCAPES:
                raise _invalid("bad escape", i - 1, objective)
        i += 1
    raise _invalid("unterminated string", start, objective)


def _digits_end(raw: bytes, i: int) -> int:
    n = len(raw)
    while i < n and 0x30 <= raw[i] <= 0x39:
        i += 1
    return i


def _number_end(raw: bytes, start: int, objective: Optional[str]) -> int:
    n = len(raw)
    i = start + 1 if raw[start] == 0x2D else start
    first = raw[i] if i < n else None
    if first == 0x30:
        i += 1
    elif first is not None and 0x31 <= first <= 0x39:
        i = _digits_end(raw, i + 1)
    else:
        raise _invalid("bad number", start, objective)
    if i < n and raw[i] == 0x2E:
        after = _digits_end(raw, i + 1)
        if after == i + 1:
            raise _invalid("bad number", start, objective)
        i = after
    if i < n and raw[i] | 0x20 == 0x65:
        i += 1
        if i < n and raw[i] in b"+-":
            i += 1
        after = _digits_end(raw, i)
        if after == i:
            raise _invalid("bad number", start, objective)
        i = after
    return i


def _folded(s: str) -> str:
    # Go's encoding/json folds case (K and long s included) when it matches a key to a field.
    return s.replace("\u017f", "s").lower()


def _field_of(raw: bytes, start: int, end: int, fields: List[str], objective: Optional[str]) -> int:
    inner = raw[start + 1 : end - 1]
    if b"\\" not in inner and inner.isascii():
        key = inner.decode("ascii")
    else:
        try:
            inner.decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid("top-level key is not UTF-8", start, objective) from None
        key = json.loads(raw[start:end].decode("utf-8"))
    nul = key.find("\u0000")
    for f, name in enumerate(fields):
        if key == name:
            return f
        if _folded(key) == name or (nul != -1 and _folded(key[:nul]) == name):
            raise errors.error(
                "invalid_request",
                f'top-level key {json.dumps(key)} is not "{name}", but some servers read it as "{name}" '
                f'(they fold case, or cut a key at \\u0000): write "{name}" once',
                objective=objective,
            )
    return -1


def top_level_fields(raw: bytes, fields: List[str], objective: Optional[str] = None) -> List[Optional[Span]]:
    """The value span of each of ``fields`` at the top level of the JSON object ``raw``."""
    found: List[Optional[Span]] = [None] * len(fields)
    stack: List[bool] = []  # open containers: True for an array
    n = len(raw)
    i = _skip(raw, 0)
    if i >= n or raw[i] != 0x7B:
        raise errors.error("invalid_request", "request body must be a JSON object", objective=objective)
    field = -1
    value_start = 0
    expect_key = False
    while True:
        c = raw[i] if i < n else None
        if expect_key:
            if c != 0x22:
                raise _invalid("expected a key", i, objective)
            key_start = i
            key_end = _string_end(raw, key_start, objective)
            colon = _skip(raw, key_end)
            if colon >= n or raw[colon] != 0x3A:
                raise _invalid('expected ":"', colon, objective)
            i = _skip(raw, colon + 1)
            if len(stack) == 1:
                value_start = i
                field = _field_of(raw, key_start, key_end, fields, objective)
                if field != -1 and found[field] is not None:
                    raise errors.error(
                        "invalid_request",
                        f'"{fields[field]}" appears twice at the top level of the body '
                        "(keys are compared after unescaping): write it once",
                        objective=objective,
                    )
            c = raw[i] if i < n else None
        if c == 0x7B or c == 0x5B:
            stack.append(c == 0x5B)
            i = _skip(raw, i + 1)
            if i < n and raw[i] == (0x7D if c == 0x7B else 0x5D):
                stack.pop()
                i += 1
            else:
                expect_key = c == 0x7B
                continue
        elif c == 0x22:
            i = _string_end(raw, i, objective)
        elif c is not None and (c == 0x2D or 0x30 <= c <= 0x39):
            i = _number_end(raw, i, objective)
        elif c is not None and c in b"tfn":
            word = {0x74: b"true", 0x66: b"false", 0x6E: b"null"}[c]
            if raw[i : i + len(word)] != word:
                raise _invalid("unexpected token", i, objective)
            i += len(word)
        else:
            raise _invalid("unexpected end" if c is None else "unexpected token", i, objective)
        while True:
            if field != -1 and len(stack) == 1:
                found[field] = (value_start, i, raw[value_start] == 0x22)
                field = -1
            i = _skip(raw, i)
            if not stack:
                if i != n:
                    raise _invalid("unexpected data after the object", i, objective)
                return found
            in_array = stack[-1]
            d = raw[i] if i < n else None
            if d == 0x2C:
                i = _skip(raw, i + 1)
                expect_key = not in_array
                break
            if d != (0x5D if in_array else 0x7D):
                raise _invalid(
                    "unexpected end" if d is None else 'expected "," or a closing bracket', i, objective
                )
            stack.pop()
            i += 1


def with_top_level_string(raw: bytes, span: Optional[Span], name: str, value: str) -> bytes:
    """``raw`` with the top-level field ``name`` set to the string ``value``: its value's bytes
    replaced, or the field added first when absent; every other byte as it was."""
    encoded = json.dumps(value, ensure_ascii=False).encode()  # as JSON.stringify writes it
    if span is not None:
        start, end, _ = span
        if raw[start:end] == encoded:
            return raw
        return raw[:start] + encoded + raw[end:]
    at = _skip(raw, 0) + 1
    empty = _skip(raw, at) < len(raw) and raw[_skip(raw, at)] == 0x7D
    return raw[:at] + json.dumps(name, ensure_ascii=False).encode() + b":" + encoded + (b"" if empty else b",") + raw[at:]


def rewrite_model_field(raw: bytes, field: str, served: str, objective: Optional[str]) -> bytes:
    (span,) = top_level_fields(raw, [field], objective)
    return with_top_level_string(raw, span, field, served)
