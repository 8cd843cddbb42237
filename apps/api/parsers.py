"""Strict JSON: numbers keep their literal text (never a float), no NaN, no U+0000."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

# Deeper documents are refused before any recursive walk (NUL check, idempotency fingerprint)
# can exhaust the interpreter's recursion limit and answer 500.
MAX_DEPTH = 64


class JsonNumber(str):
    """A JSON number as it was written; fields that want numbers parse the text themselves."""

    __slots__ = ()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays/objects nest deeper than `limit`, found without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _is_clean(text: str) -> bool:
    """No NUL and no lone UTF-16 surrogate (text that cannot be stored or encoded as UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(value: Any, path: str = "") -> None:
    """Refuse NUL characters and lone surrogates anywhere in the document, keys included."""
    if isinstance(value, str):
        if not _is_clean(value):
            raise ValidationError(
                {path or "non_field_errors": [_("Text may not contain NUL or lone surrogate characters.")]}
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            if not _is_clean(key):
                raise ValidationError(
                    {"non_field_errors": [_("Keys may not contain NUL or lone surrogate characters.")]}
                )
            _check_text(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{path}[{index}]")


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        if len(raw) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise ParseError("too large")  # normally stopped earlier by the middleware (413)
        try:
            text = raw.decode("utf-8")
            data = json.loads(text, parse_float=JsonNumber, parse_int=JsonNumber, parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ParseError(_("The body is not valid UTF-8 JSON.")) from exc
        if _depth_exceeds(data, MAX_DEPTH):
            raise ParseError(
                _("The JSON nests arrays and objects more than %(depth)d levels deep.") % {"depth": MAX_DEPTH}
            )
        _check_text(data)
        return data
