"""JSON objects that give a key twice are refused (``json.loads`` would silently keep the last one)."""

from __future__ import annotations


class DuplicateKeyError(ValueError):
    """A JSON object gives ``key`` twice."""

    def __init__(self, key):
        super().__init__(f"the key {key!r} appears twice in an object")
        self.key = key


def unique_keys(pairs: list) -> dict:
    """``object_pairs_hook`` for :func:`json.loads`: the object as a dict, DuplicateKeyError on a repeated key."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return obj
