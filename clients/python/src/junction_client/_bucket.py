"""SPEC §3 bucketing, the same in every process and language:

    bucket = uint32_big_endian(sha256(utf8(salt + ":" + unit))[0..4]) mod 10000

A string holding a lone surrogate (possible when a unit came from JSON with a
"\\ud800" escape) has no UTF-8 form; Node encodes each such code unit as
U+FFFD, so this does too, and the bucket is the server's.
"""

from __future__ import annotations

import random
import struct
from functools import lru_cache
from hashlib import sha256
from typing import Callable

BUCKETS = 10_000

_first_u32 = struct.Struct(">I").unpack_from


def bucket_of(salt: str, unit: str) -> int:
    """The bucket of ``unit`` under ``salt``: an integer in [0, 10000)."""
    text = salt + ":" + unit
    try:
        data = text.encode()
    except UnicodeEncodeError:
        data = _lone_surrogates_replaced(text)
    return _first_u32(sha256(data).digest())[0] % BUCKETS


def _lone_surrogates_replaced(text: str) -> bytes:
    # Each lone surrogate becomes U+FFFD (what V8 writes); a pair written as two
    # escapes is already one code point in a Python str.
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text).encode()


def memo(size: int) -> Callable[[str, str], int]:
    """``bucket_of`` remembered for up to ``size`` (salt, unit) pairs, least recently used out.

    A bucket is a pure function of salt and unit, so the memo survives revisions and
    never changes an answer; it saves the SHA-256 for units that come back. The cache
    is functools' C implementation: thread-safe, and its hits cost about a dict lookup.
    """
    return lru_cache(maxsize=size)(bucket_of)


def random_unit() -> str:
    """A random unit for a call without one: its allocation is random (x-decision says unit=none)."""
    return format(random.getrandbits(60), "x")
