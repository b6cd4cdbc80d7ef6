"""Reading a submission and checking its answers against the exercises' answer schemas.

A submission arrives as a file, as stdin or as the body of a request: JSON, YAML (which
students find easier to write) or a Python file (SUBMISSION_FORMAT.md).  The format is
chosen by the name's suffix (``.json``, ``.yaml``/``.yml``, ``.py``) or, without a known
suffix, by the content: JSON first, then YAML.

Anything that cannot be read at all raises :class:`~grader.errors.SubmissionUnreadable`
with ONE line naming the file, line and column (``sub.json: line 3 column 14: Expecting
',' delimiter``), never a traceback.  The reader is written for hostile input:

- a size limit (1 MiB by default; 256 KiB for Python, as the contract says), checked
  before anything is decoded;
- a nesting limit, checked without recursion where the parser would recurse (a JSON
  array nested 10,000 deep is a clear message, not a ``RecursionError``);
- YAML through a safe loader only, with YAML 1.2's plain scalars (``10:00`` stays the
  text ``"10:00"``, not the sexagesimal integer 600 that YAML 1.1 makes of it; dates stay
  text; only ``true``/``false`` are booleans), no Python, binary, set or timestamp tags,
  and aliases refused when they would expand past a limit ("billion laughs") or refer
  to themselves;
- ``NaN``, ``Infinity``, numbers that overflow a float and numbers with more digits than
  any answer needs are refused with a message (never Python's int-to-str ``ValueError``);
- text that is not UTF-8 is reported with the byte offset and line; a UTF-8 byte order
  mark is accepted, UTF-16 gets a hint.

A readable submission is a frozen :class:`Submission`.  :func:`validate_answers` then
checks its ``answers`` against the per-exercise JSON Schemas and returns *every* problem
(jsonschema's ``iter_errors``), each a :class:`Problem` with a path spelled like
``answers.ex6.rows[1].sum_amount``, a stable code and a message a student understands.
Unexpected fields and unknown exercises are warnings, so the rest is still graded.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, BinaryIO

import yaml
import yaml.constructor
import yaml.events
import yaml.nodes
import yaml.resolver
from jsonschema.exceptions import ValidationError
from jsonschema.validators import Draft202012Validator, validator_for

from grader.errors import SubmissionUnreadable
from grader.sorting import natural_key

try:  # libyaml's parser when the wheel has it: faster, and iterative like the pure one
    from yaml.cyaml import CParser as _Parser

    _PURE_PARSER = False
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _PURE_PARSER = True

KIB = 1024
MIB = 1024 * KIB


class SubmissionFormat(enum.StrEnum):
    JSON = "json"
    YAML = "yaml"
    PYTHON = "python"


SUFFIX_FORMATS: Mapping[str, SubmissionFormat] = {
    ".json": SubmissionFormat.JSON,
    ".yaml": SubmissionFormat.YAML,
    ".yml": SubmissionFormat.YAML,
    ".py": SubmissionFormat.PYTHON,
}

#: The top-level fields of a JSON or YAML submission (SUBMISSION_FORMAT.md).
TOP_LEVEL_FIELDS = ("student_id", "exercise_set", "answers")


@dataclass(frozen=True)
class ReadLimits:
    """What the reader accepts.  Every limit is a refusal with a message, never a crash.

    ``max_bytes`` bounds JSON and YAML, ``max_python_bytes`` Python source (256 KiB in the
    contract).  ``max_depth`` counts nested objects and lists, the top-level object being
    depth 1 (the deepest answer, ex11, needs 6).  ``max_number_digits`` bounds the digits
    of one number literal.  ``max_yaml_values`` bounds the number of values YAML aliases
    may expand to.  ``max_values`` bounds the values (and keys) written in the file: the
    whole sheet's answers are about a hundred, and past this count the reader stops
    before building anything (a 260 KB flat YAML body cost 5 s of CPU to build whole).
    """

    max_bytes: int = 1 * MIB
    max_python_bytes: int = 256 * KIB
    max_depth: int = 32
    max_number_digits: int = 100
    max_yaml_values: int = 100_000
    max_values: int = 20_000


DEFAULT_LIMITS = ReadLimits()


@dataclass(frozen=True)
class Submission:
    """One readable submission.

    ``answers`` maps exercise ids to answers exactly as written (plain JSON values: dict,
    list, str, int, float, bool, None); nothing is normalised yet.  A Python submission has
    empty ``answers``: its source is :attr:`text`.  ``student_id`` and ``exercise_set`` are
    what the file says (``None`` when it says nothing); an authenticated caller's identity
    overrides them at the grading layer.  ``warnings`` are things the reader noticed and
    ignored (an unknown top-level field, a key written twice).
    """

    student_id: str | None
    exercise_set: str | None
    answers: dict[str, Any] = field(hash=False)
    source_name: str
    raw_bytes: bytes = field(repr=False)
    content_hash: str
    format: SubmissionFormat
    warnings: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The submission as text (UTF-8, byte order mark removed)."""
        return self.raw_bytes.decode("utf-8-sig")


class _Refused(Exception):
    """Raised inside the parsers' hooks: a literal or structure we refuse, with where."""

    def __init__(self, message: str, pos: int | None = None, mark: yaml.Mark | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.mark = mark


# -- entry points ---------------------------------------------------------------------------------


def read_submission_file(path: str | os.PathLike[str], *, fmt: SubmissionFormat | str | None = None,
                         limits: ReadLimits = DEFAULT_LIMITS) -> Submission:
    """Read a submission from a file; the file is named in every message as the caller wrote it.

    At most the size limit plus one byte is read, so a huge file or a device such as
    ``/dev/zero`` is refused without being read whole.
    """
    name = os.fspath(path)
    chosen = _format_by_name(name, fmt)
    cap = limits.max_python_bytes if chosen is SubmissionFormat.PYTHON else limits.max_bytes
    try:
        with open(path, "rb") as stream:
            raw = stream.read(cap + 1)
    except OSError as exc:
        raise SubmissionUnreadable(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    return read_submission_bytes(raw, name, fmt=fmt, limits=limits)


def read_submission_stream(stream: BinaryIO, source_name: str = "<stdin>", *,
                           fmt: SubmissionFormat | str | None = None,
                           limits: ReadLimits = DEFAULT_LIMITS) -> Submission:
    """Read a submission from a binary stream (``sys.stdin.buffer``), at most the limit plus one byte."""
    chosen = _format_by_name(source_name, fmt)
    cap = limits.max_python_bytes if chosen is SubmissionFormat.PYTHON else limits.max_bytes
    try:
        raw = stream.read(cap + 1)
    except OSError as exc:
        raise SubmissionUnreadable(f"{source_name}: cannot read: {exc.strerror or exc}") from None
    return read_submission_bytes(raw or b"", source_name, fmt=fmt, limits=limits)


def read_submission_text(text: str, source_name: str = "<stdin>", *, fmt: SubmissionFormat | str | None = None,
                         limits: ReadLimits = DEFAULT_LIMITS) -> Submission:
    """Read a submission given as text (it is hashed and stored as its UTF-8 bytes)."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line, column = _line_column(text, exc.start)
        raise SubmissionUnreadable(
            f"{source_name}: line {line} column {column}: the text holds {_char_name(text[exc.start])}, "
            "which is not a character that can be stored as UTF-8") from None
    return read_submission_bytes(raw, source_name, fmt=fmt, limits=limits)


def read_submission_bytes(raw: bytes, source_name: str = "<stdin>", *, fmt: SubmissionFormat | str | None = None,
                          limits: ReadLimits = DEFAULT_LIMITS) -> Submission:
    """Read a submission from its bytes.

    ``source_name`` names it in messages and, through its suffix, chooses the format
    unless ``fmt`` does.  Raises :class:`SubmissionUnreadable` for anything that is not a
    readable submission; every other exception would be a bug.
    """
    name = _printable(source_name, 200) or "<submission>"
    chosen = _format_by_name(name, fmt)
    cap = limits.max_python_bytes if chosen is SubmissionFormat.PYTHON else limits.max_bytes
    if len(raw) > cap:
        raise SubmissionUnreadable(
            f"{name}: the file is larger than the limit of {_size(cap)}; a submission is a few KiB")
    text = _decode(raw, name)
    digest = hashlib.sha256(raw).hexdigest()
    if chosen is SubmissionFormat.PYTHON:
        return Submission(None, None, {}, name, raw, digest, SubmissionFormat.PYTHON)
    if not text.strip():
        raise SubmissionUnreadable(f"{name}: line 1 column 1: the submission is empty")
    if chosen is SubmissionFormat.JSON:
        data, warnings = _load_json(text, name, limits)
        used = SubmissionFormat.JSON
    elif chosen is SubmissionFormat.YAML:
        data, warnings = _load_yaml(text, name, limits)
        used = SubmissionFormat.YAML
    else:
        data, warnings, used = _load_sniffed(text, name, limits)
    return _submission(data, text, name, raw, digest, used, warnings)


def format_for_name(name: str) -> SubmissionFormat | None:
    """The format a file name's suffix chooses, or ``None`` (then the content decides)."""
    return SUFFIX_FORMATS.get(PurePath(name).suffix.lower())


# -- decoding and formats -------------------------------------------------------------------------


def _format_by_name(name: str, fmt: SubmissionFormat | str | None) -> SubmissionFormat | None:
    if fmt is None:
        return format_for_name(name)
    try:
        return SubmissionFormat(str(fmt).lower())
    except ValueError:
        known = ", ".join(f.value for f in SubmissionFormat)
        raise SubmissionUnreadable(f"{name}: unknown submission format {fmt!r}; known: {known}") from None


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SubmissionUnreadable(
            f"{name}: line 1: the file is UTF-16 (byte order mark at byte offset 0); save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start
        line = raw.count(b"\n", 0, offset) + 1
        column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
        raise SubmissionUnreadable(
            f"{name}: line {line}: not UTF-8: byte 0x{raw[offset]:02x} at byte offset {offset} "
            f"(byte {column} of the line) cannot be decoded; save the file as UTF-8") from None


def _load_sniffed(text: str, name: str, limits: ReadLimits) -> tuple[Any, list[str], SubmissionFormat]:
    """No suffix: JSON first; if that fails, YAML, but only a YAML *mapping* counts."""
    try:
        data, warnings = _load_json(text, name, limits)
        return data, warnings, SubmissionFormat.JSON
    except SubmissionUnreadable as json_error:
        if text.lstrip().startswith(("{", "[")) and not _looks_like_flow_yaml(text):
            raise
        try:
            data, warnings = _load_yaml(text, name, limits)
        except SubmissionUnreadable as yaml_error:
            raise yaml_error from None
        if not isinstance(data, dict):
            raise json_error from None
        return data, warnings, SubmissionFormat.YAML


def _looks_like_flow_yaml(text: str) -> bool:
    # ``{answers: {...}}``: YAML flow style starts like JSON but has unquoted keys.
    return re.match(r"\s*\{\s*[A-Za-z_]", text) is not None


# -- JSON -----------------------------------------------------------------------------------------

_JSON_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_JSON_BRACKETS = re.compile(_JSON_STRING + r"|([\[{])|([\]}])")


def _load_json(text: str, name: str, limits: ReadLimits) -> tuple[Any, list[str]]:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                duplicates.append(key)
            obj[key] = value
        return obj

    def constant(token: str) -> Any:
        raise _Refused(f"{token} is not a number a submission may hold (NaN and Infinity are not accepted)",
                       _find_token(text, re.escape(token)))

    def integer(token: str) -> int:
        if len(token.lstrip("-")) > limits.max_number_digits:
            raise _Refused(f"a number with {len(token.lstrip('-'))} digits; at most {limits.max_number_digits} "
                           "are accepted", _find_token(text, re.escape(token[:50])))
        return int(token)

    def real(token: str) -> float:
        if len(token) > limits.max_number_digits + 8:
            raise _Refused(f"a number written with {len(token)} characters; at most "
                           f"{limits.max_number_digits} digits are accepted", _find_token(text, re.escape(token[:50])))
        value = float(token)
        if not math.isfinite(value):
            raise _Refused(f"the number {token} is too large", _find_token(text, re.escape(token)))
        return value

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_int=integer,
                          parse_float=real)
    except json.JSONDecodeError as exc:
        raise SubmissionUnreadable(f"{name}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except _Refused as exc:
        raise _unreadable_at(name, text, exc.pos, exc.message) from None
    except RecursionError:
        pos = _too_deep_json(text, limits.max_depth)
        raise _unreadable_at(name, text, pos, _too_deep_message(limits)) from None
    except ValueError as exc:  # a digit limit of the interpreter's, should ours be raised
        raise SubmissionUnreadable(f"{name}: line 1 column 1: {_printable(str(exc), 120)}") from None
    depth, bad_string, count = _inspect(data)
    if count > limits.max_values:
        raise _unreadable_at(name, text, 0, _too_many_message(limits))
    if depth > limits.max_depth:
        raise _unreadable_at(name, text, _too_deep_json(text, limits.max_depth), _too_deep_message(limits))
    if bad_string is not None:
        pos = _find_token(text, r"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")
        raise _unreadable_at(name, text, pos, _SURROGATE_MESSAGE)
    warnings = [f"key {_show(key)} appears more than once in an object; the last value is used"
                for key in dict.fromkeys(duplicates)]
    return data, warnings


def _find_token(text: str, pattern: str) -> int | None:
    """Where ``pattern`` first occurs outside a JSON string, if anywhere."""
    for match in re.finditer(_JSON_STRING + f"|({pattern})", text):
        if match.group(1) is not None:
            return match.start()
    # A surrogate escape is *inside* a string: look there too.
    match = re.search(pattern, text)
    return match.start() if match else None


def _too_deep_json(text: str, max_depth: int) -> int | None:
    depth = 0
    for match in _JSON_BRACKETS.finditer(text):
        if match.group(1):
            depth += 1
            if depth > max_depth:
                return match.start()
        elif match.group(2):
            depth -= 1
    return None


def _too_deep_message(limits: ReadLimits) -> str:
    return f"nested deeper than {limits.max_depth} levels of objects and lists; no answer needs more than 6"


_SURROGATE_MESSAGE = "a \\u escape names half of a surrogate pair, which is not a character"


def _too_many_message(limits: ReadLimits) -> str:
    return (f"the submission holds more than {limits.max_values} values; the answers to a whole sheet are "
            "a few hundred at most")


def _inspect(data: Any) -> tuple[int, str | None, int]:
    """The nesting depth of a parsed value, its first string that is not valid Unicode,
    and how many values and keys it holds.

    Iterative, so any depth the parser produced can be measured.
    """
    deepest = 0
    count = 0
    bad: str | None = None
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if isinstance(value, dict):
            count += len(value)
            deepest = max(deepest, depth + 1)
            for key, item in value.items():
                if bad is None and not _encodable(key):
                    bad = key
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            deepest = max(deepest, depth + 1)
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and bad is None and not _encodable(value):
            bad = value
    return deepest, bad, count


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- YAML -----------------------------------------------------------------------------------------


class _Resolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema for plain scalars: what a student means by what they wrote.

    YAML 1.1 (PyYAML's default) reads ``10:00`` as the base-60 integer 600, ``2024-01-01``
    as a date, ``007`` as octal and ``no``/``on`` as booleans; here those stay text.
    """


_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))
_Resolver.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])


class _Constructor(yaml.constructor.SafeConstructor):
    """Safe construction of plain JSON values only, refusing what JSON cannot hold."""

    max_number_digits = DEFAULT_LIMITS.max_number_digits

    def __init__(self) -> None:
        super().__init__()
        self.duplicate_keys: list[tuple[str, yaml.Mark]] = []

    def construct_checked_int(self, node: yaml.nodes.ScalarNode) -> int:
        text = str(self.construct_scalar(node)).replace("_", "").strip()
        digits = len(text.lstrip("+-"))
        if digits > self.max_number_digits:
            raise _Refused(f"a number with {digits} digits; at most {self.max_number_digits} are accepted",
                           mark=node.start_mark)
        try:
            return int(text)
        except ValueError:
            raise _Refused(f"{_show(text)} is not a whole number", mark=node.start_mark) from None

    def construct_checked_float(self, node: yaml.nodes.ScalarNode) -> float:
        text = str(self.construct_scalar(node)).replace("_", "").strip()
        if len(text) > self.max_number_digits + 8:
            raise _Refused(f"a number written with {len(text)} characters; at most {self.max_number_digits} "
                           "digits are accepted", mark=node.start_mark)
        lowered = text.lower()
        if lowered.endswith((".inf", ".nan")):
            raise _Refused(f"{text} is not a number a submission may hold (NaN and infinity are not accepted)",
                           mark=node.start_mark)
        try:
            value = float(text)
        except ValueError:
            raise _Refused(f"{_show(text)} is not a number", mark=node.start_mark) from None
        if not math.isfinite(value):
            raise _Refused(f"the number {text} is too large", mark=node.start_mark)
        return value

    def construct_refused(self, node: yaml.nodes.Node) -> Any:
        tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
        raise _Refused(f"the YAML tag {_printable(tag, 60)} is not accepted in a submission; "
                       "write plain text, numbers, lists and mappings", mark=node.start_mark)

    def construct_mapping(self, node: yaml.nodes.MappingNode, deep: bool = False) -> dict[str, Any]:
        if not isinstance(node, yaml.nodes.MappingNode):
            raise _Refused("expected a mapping", mark=node.start_mark)
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if isinstance(key_node, yaml.nodes.ScalarNode):
                if key_node.value in seen:
                    self.duplicate_keys.append((key_node.value, key_node.start_mark))
                seen.add(key_node.value)
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.nodes.ScalarNode):
                raise _Refused("a mapping key must be plain text, not a list or a mapping", mark=key_node.start_mark)
            # Keys are text, as in JSON: ``1:`` is the key "1", ``true:`` the key "true".
            mapping[str(key_node.value)] = self.construct_object(value_node, deep=deep)
        return mapping


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_checked_int)
_Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_checked_float)
for _tag in ("binary", "timestamp", "set", "omap", "pairs"):
    _Constructor.add_constructor(f"tag:yaml.org,2002:{_tag}", _Constructor.construct_refused)
_Constructor.add_constructor(None, _Constructor.construct_refused)


if _PURE_PARSER:  # pragma: no cover
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(Reader, Scanner, Parser, Composer, _Constructor, _Resolver):
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            _Constructor.__init__(self)
            _Resolver.__init__(self)

    _EventLoader: type = yaml.SafeLoader
else:
    class _Loader(_Parser, _Constructor, _Resolver):  # type: ignore[no-redef,misc]
        def __init__(self, stream: str) -> None:
            _Parser.__init__(self, stream)
            _Constructor.__init__(self)
            _Resolver.__init__(self)

    _EventLoader = yaml.CSafeLoader


def _load_yaml(text: str, name: str, limits: ReadLimits) -> tuple[Any, list[str]]:
    try:
        _check_yaml_events(text, limits)
        loader = _Loader(text)
        loader.max_number_digits = limits.max_number_digits
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except _Refused as exc:
        raise _yaml_unreadable(name, text, exc.message, exc.mark) from None
    except yaml.MarkedYAMLError as exc:
        message = _printable(exc.problem or exc.context or "not YAML", 200)
        if exc.context and exc.problem:
            message = f"{message} ({_printable(exc.context, 100)})"
        mark = exc.problem_mark or exc.context_mark
        if mark is not None and _indented_with_tab(text, mark.line):
            message += "; YAML does not allow tabs for indentation, use spaces"
        raise _yaml_unreadable(name, text, message, mark) from None
    except yaml.reader.ReaderError as exc:
        raise _unreadable_at(name, text, _char_offset(text, exc.position), _printable(exc.reason, 120)
                             + f" ({_char_name(chr(exc.character)) if isinstance(exc.character, int) else 'a byte'})"
                             ) from None
    except yaml.YAMLError as exc:
        raise SubmissionUnreadable(f"{name}: line 1 column 1: not YAML: {_printable(str(exc), 200)}") from None
    except RecursionError:  # pragma: no cover - the event pass bounds the depth first
        raise SubmissionUnreadable(f"{name}: line 1 column 1: {_too_deep_message(limits)}") from None
    _, bad_string, _ = _inspect(data)
    if bad_string is not None:
        raise SubmissionUnreadable(f"{name}: line 1 column 1: {_SURROGATE_MESSAGE}")
    warnings = [f"line {mark.line + 1}: key {_show(key)} appears more than once in a mapping; the last value is used"
                for key, mark in loader.duplicate_keys]
    return data, warnings


def _check_yaml_events(text: str, limits: ReadLimits) -> None:
    """One pass over the parser's events (no recursion) bounding depth and alias expansion.

    Each anchored value's size (values it expands to) and height are recorded; an alias
    adds them.  An alias to a value that is still open would make a cycle.
    """
    loader = _EventLoader(text)
    try:
        frames: list[list[Any]] = []  # [anchor, size, height]
        sizes: dict[str, tuple[int, int]] = {}
        total = 0
        aliases = 0
        written = 0  # values and keys as written, before any alias expands

        def add(size: int, height: int) -> None:
            nonlocal total
            if frames:
                frames[-1][1] += size
                frames[-1][2] = max(frames[-1][2], height + 1)
            else:
                total += size

        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.events.NodeEvent):
                written += 1
                if written > limits.max_values:
                    raise _Refused(_too_many_message(limits), mark=event.start_mark)
            if isinstance(event, yaml.events.CollectionStartEvent):
                frames.append([event.anchor, 1, 1])
                if len(frames) > limits.max_depth:
                    raise _Refused(_too_deep_message(limits), mark=event.start_mark)
            elif isinstance(event, yaml.events.CollectionEndEvent):
                anchor, size, height = frames.pop()
                if anchor is not None:
                    sizes[anchor] = (size, height)
                add(size, height)
            elif isinstance(event, yaml.events.ScalarEvent):
                if event.anchor is not None:
                    sizes[event.anchor] = (1, 0)
                add(1, 0)
            elif isinstance(event, yaml.events.AliasEvent):
                aliases += 1
                if event.anchor not in sizes:
                    if any(frame[0] == event.anchor for frame in frames):
                        raise _Refused(f"the alias *{event.anchor} refers to the value that contains it",
                                       mark=event.start_mark)
                    raise _Refused(f"the alias *{event.anchor} names no anchor", mark=event.start_mark)
                size, height = sizes[event.anchor]
                if len(frames) + height > limits.max_depth:
                    raise _Refused(_too_deep_message(limits), mark=event.start_mark)
                add(size, height)
            if aliases and total + sum(frame[1] for frame in frames) > limits.max_yaml_values:
                raise _Refused(f"YAML aliases expand this submission to more than {limits.max_yaml_values} values; "
                               "write the values out instead", mark=event.start_mark)
    finally:
        loader.dispose()


def _yaml_unreadable(name: str, text: str, message: str, mark: yaml.Mark | None) -> SubmissionUnreadable:
    if mark is None:
        return SubmissionUnreadable(f"{name}: line 1 column 1: {message}")
    return SubmissionUnreadable(f"{name}: line {mark.line + 1} column {mark.column + 1}: {message}")


def _indented_with_tab(text: str, line: int) -> bool:
    lines = text.split("\n", line + 1)
    if line >= len(lines):
        return False
    content = lines[line]
    return "\t" in content[: len(content) - len(content.lstrip())]


def _char_offset(text: str, position: int) -> int:
    # libyaml reports byte offsets into the UTF-8 text; the pure reader, characters.
    if _PURE_PARSER:  # pragma: no cover
        return position
    return len(text.encode("utf-8")[:position].decode("utf-8", "ignore"))


# -- the top level --------------------------------------------------------------------------------


def _submission(data: Any, text: str, name: str, raw: bytes, digest: str, fmt: SubmissionFormat,
                warnings: list[str]) -> Submission:
    if not isinstance(data, dict):
        raise _unreadable_at(name, text, len(text) - len(text.lstrip()),
                             f'expected an object with an "answers" object at the top level, got {_kind(data)}')
    if "answers" not in data:
        hint = ""
        if any(re.fullmatch(r"ex\d+", str(k)) for k in data):
            hint = '; these look like the answers themselves: write them as {"answers": {...}}'
        raise _unreadable_at(name, text, len(text) - len(text.lstrip()),
                             f'expected an "answers" object at the top level, found '
                             f'{_fields(data) if data else "an empty object"}{hint}')
    answers = data["answers"]
    if not isinstance(answers, dict):
        raise _unreadable_at(name, text, _key_position(text, "answers", fmt),
                             f'"answers" must be an object mapping exercise ids to answers, got {_kind(answers)}')
    ids = {}
    for key in TOP_LEVEL_FIELDS[:2]:
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # an all-digit student number written as a number
        if value is not None and not isinstance(value, str):
            raise _unreadable_at(name, text, _key_position(text, key, fmt),
                                 f'"{key}" must be text, got {_kind(value)}')
        ids[key] = value.strip() if isinstance(value, str) else None
    notes = list(warnings)
    notes.extend(f"{_show(key)}: unknown top-level field, ignored (expected {', '.join(TOP_LEVEL_FIELDS)})"
                 for key in data if key not in TOP_LEVEL_FIELDS)
    return Submission(ids["student_id"] or None, ids["exercise_set"] or None, answers, name, raw, digest, fmt,
                      tuple(notes))


def _key_position(text: str, key: str, fmt: SubmissionFormat) -> int | None:
    if fmt is SubmissionFormat.JSON:
        match = re.search(rf'"{re.escape(key)}"\s*:', text)
    else:
        match = re.search(rf"^[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*:", text, re.M)
    return match.start() if match else None


def _unreadable_at(name: str, text: str, pos: int | None, message: str) -> SubmissionUnreadable:
    line, column = _line_column(text, pos or 0)
    return SubmissionUnreadable(f"{name}: line {line} column {column}: {message}")


def _line_column(text: str, pos: int) -> tuple[int, int]:
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


# -- checking answers against the exercises' schemas ----------------------------------------------


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One problem with an answer: where (``answers.ex6.rows[1].sum_amount``), a stable
    ``code`` and a ``message`` for the student.  ``str(problem)`` is ``path: message``.

    Codes: ``wrong_type``, ``missing_field``, ``unexpected_field`` (warning),
    ``unknown_exercise`` (warning), ``not_allowed``, ``wrong_format``, ``too_few_items``,
    ``too_many_items``, ``too_short``, ``too_long``, ``out_of_range``, ``duplicate_items``,
    ``invalid``.
    """

    path: str
    code: str
    message: str
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def validate_answers(answers: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]], *,
                     root: str = "answers") -> tuple[Problem, ...]:
    """Every problem of ``answers`` against ``schemas`` (``{exercise_id: JSON Schema}``).

    An exercise answered ``null`` counts as not answered and is not checked.  An exercise
    id without a schema is a warning (``answers.ex99: unknown exercise, ignored``), as is
    a field the schema does not allow (``additionalProperties: false``), so the grader can
    still grade the rest.  Problems come sorted by path (exercise ids in natural order),
    errors and warnings mixed; duplicates are dropped.  Values quoted in messages are cut
    to about 60 characters.
    """
    problems: list[Problem] = []
    for exercise_id, answer in answers.items():
        path = _join(root, exercise_id)
        schema = schemas.get(exercise_id)
        if schema is None:
            problems.append(Problem(path, "unknown_exercise", "unknown exercise, ignored", Severity.WARNING))
            continue
        if answer is None:
            continue
        validator_class = validator_for(schema, default=Draft202012Validator)
        validator = validator_class(schema)
        for error in validator.iter_errors(answer):
            problems.extend(_translate(error, path, [], schema))
    unique = dict.fromkeys(problems)
    return tuple(sorted(unique, key=lambda p: natural_key(p.path)))


def _translate(error: ValidationError, base: str, prefix: list[Any], root: Mapping[str, Any]) -> list[Problem]:
    """Student-facing problems for one jsonschema error (which may hold sub-errors)."""
    rel = [*prefix, *error.relative_path]
    path = _path(base, rel)
    keyword = error.validator
    value = error.validator_value
    instance = error.instance
    if keyword in ("anyOf", "oneOf"):
        return _translate_alternatives(error, base, rel, root)
    if keyword == "type":
        return [Problem(path, "wrong_type", f"expected {_or(_type_nouns(value))}, got {_show(instance)}")]
    if keyword == "required" and isinstance(instance, dict):
        return [Problem(_join(path, name), "missing_field", "required field missing")
                for name in value if name not in instance]
    if keyword == "additionalProperties" and isinstance(instance, dict):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        return [Problem(_join(path, name), "unexpected_field", "unexpected field, ignored", Severity.WARNING)
                for name in _extra_fields(instance, schema)]
    if keyword == "unevaluatedProperties":
        return [Problem(path, "unexpected_field", "unexpected fields, ignored", Severity.WARNING)]
    if keyword == "enum":
        return [Problem(path, "not_allowed", f"expected one of {_options(value)}, got {_show(instance)}")]
    if keyword == "const":
        return [Problem(path, "not_allowed", f"expected {_show(value)}, got {_show(instance)}")]
    if keyword in ("minItems", "maxItems", "items", "prefixItems") and isinstance(instance, list):
        return [_count_problem(keyword, value, instance, path, error)]
    if keyword == "minProperties":
        return [Problem(path, "missing_field", f"expected at least {value} field{_s(value)}")]
    if keyword == "maxProperties":
        if value == 0:
            return [Problem(path, "not_allowed", f"expected an empty object, got {_show(instance)}")]
        return [Problem(path, "unexpected_field", f"expected at most {value} field{_s(value)}")]
    if keyword == "minLength":
        message = "must not be empty" if value == 1 else f"expected at least {value} characters"
        return [Problem(path, "too_short", message)]
    if keyword == "maxLength":
        return [Problem(path, "too_long", f"too long: at most {value} characters, got {len(instance)}")]
    if keyword in ("pattern", "format"):
        noun = _describe(error.schema, root) if keyword == "pattern" else f"a valid {value}"
        return [Problem(path, "wrong_format", f"expected {noun}, got {_show(instance)}")]
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf"):
        words = {"minimum": "at least", "exclusiveMinimum": "more than", "maximum": "at most",
                 "exclusiveMaximum": "less than", "multipleOf": "a multiple of"}[keyword]
        return [Problem(path, "out_of_range", f"expected a number {words} {_show(value)}, got {_show(instance)}")]
    if keyword == "uniqueItems":
        return [Problem(path, "duplicate_items", "the list holds the same item more than once")]
    if keyword in ("not", None) or value is False:
        return [Problem(path, "not_allowed", f"{_show(instance)} is not allowed here")]
    if keyword == "dependentRequired" and isinstance(instance, dict) and isinstance(value, Mapping):
        return [Problem(_join(path, need), "missing_field", f"required field missing (because {trigger} is given)")
                for trigger, needs in value.items() if trigger in instance
                for need in needs if need not in instance]
    return [Problem(path, "invalid", _short_message(error))]


def _translate_alternatives(error: ValidationError, base: str, rel: list[Any],
                            root: Mapping[str, Any]) -> list[Problem]:
    """``anyOf``/``oneOf``: follow the one alternative that fits the value's kind, if exactly
    one does (then its precise problems are reported), else say which forms are accepted."""
    path = _path(base, rel)
    branches = error.validator_value if isinstance(error.validator_value, list) else []
    if error.validator == "oneOf" and not error.context:
        return [Problem(path, "invalid", "matches more than one of the accepted forms")]
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        index = sub.relative_schema_path[0] if sub.relative_schema_path else -1
        by_branch.setdefault(index if isinstance(index, int) else -1, []).append(sub)
    fitting = [errors for index, errors in sorted(by_branch.items())
               if index >= 0 and not any(_rejects_kind(sub) for sub in errors)]
    if len(fitting) == 1:
        problems: list[Problem] = []
        for sub in fitting[0]:
            problems.extend(_translate(sub, base, rel, root))
        if problems:
            return problems
    nouns = [_describe(branch, root) for branch in branches]
    return [Problem(path, "wrong_type", f"expected {_or(nouns)}, got {_show(error.instance)}")]


_KIND_KEYWORDS = {"type", "const", "enum", "pattern", "format", "minLength", "maxLength", "minimum", "maximum",
                  "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "not", "anyOf", "oneOf", None}


def _rejects_kind(error: ValidationError) -> bool:
    """The error says the value is not of this alternative's kind at all (not merely wrong inside)."""
    if error.relative_path:
        return False
    if error.validator in ("maxProperties", "maxItems") and error.validator_value == 0:
        return True  # an alternative meaning "empty"
    return error.validator in _KIND_KEYWORDS or error.validator_value is False


def _count_problem(keyword: str, value: Any, instance: list[Any], path: str, error: ValidationError) -> Problem:
    count = len(instance)
    if keyword == "minItems":
        return Problem(path, "too_few_items", f"expected at least {value} item{_s(value)}, got {count}")
    if keyword == "maxItems":
        return Problem(path, "too_many_items", f"expected at most {value} item{_s(value)}, got {count}")
    limit = len(error.schema.get("prefixItems", ())) if isinstance(error.schema, Mapping) else None
    if limit is not None and value is False:
        return Problem(path, "too_many_items", f"expected at most {limit} item{_s(limit)}, got {count}")
    return Problem(path, "invalid", _short_message(error))


def _extra_fields(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    known = schema.get("properties", {})
    patterns = []
    for pattern in schema.get("patternProperties", {}):
        try:
            patterns.append(re.compile(pattern))
        except re.error:
            continue
    return [key for key in instance if key not in known and not any(p.search(key) for p in patterns)]


_TYPE_NOUNS = {"string": "text", "number": "a number", "integer": "a whole number", "boolean": "true or false",
               "null": "null", "array": "a list", "object": "an object"}


def _type_nouns(value: Any) -> list[str]:
    types = [value] if isinstance(value, str) else list(value or ())
    return [_TYPE_NOUNS.get(t, str(t)) for t in types]


# Strings a pattern is tried on to say in words what it accepts.
_PATTERN_PROBES = (("3 min", 'a quantity like "3 min"'), ("7", "a number"),
                   ("10:00", 'a time like "10:00"'), ("e1", 'an event id like "e1"'))


def _describe(schema: Any, root: Mapping[str, Any], depth: int = 0) -> str:
    """A few words for what a schema accepts (``a number``, ``a time like "10:00"``)."""
    if schema is True:
        return "any value"
    if not isinstance(schema, Mapping) or depth > 8:
        return "a value in another form"
    if "$ref" in schema:
        return _describe(_resolve(schema["$ref"], root), root, depth + 1)
    if isinstance(schema.get("title"), str):
        return _printable(schema["title"], 60)
    for keyword in ("anyOf", "oneOf"):
        if isinstance(schema.get(keyword), list):
            return _or([_describe(s, root, depth + 1) for s in schema[keyword]])
    if "const" in schema:
        return _show(schema["const"])
    if isinstance(schema.get("enum"), list):
        options = schema["enum"]
        return _or([_show(v) for v in options]) if len(options) <= 3 else f"one of {_options(options)}"
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or ())
    if "string" in types and isinstance(schema.get("pattern"), str):
        try:
            pattern = re.compile(schema["pattern"])
        except re.error:
            pattern = None
        for probe, noun in _PATTERN_PROBES:
            if pattern is not None and pattern.search(probe) and not pattern.search("seven"):
                return noun
        return f"text matching {_show(schema['pattern'])}"
    if types == ["object"]:
        if schema.get("maxProperties") == 0:
            return "an empty object {}"
        required = [str(r) for r in schema.get("required", ()) if isinstance(r, str)]
        if required:
            return f"an object with {', '.join(required)}"
    if types == ["array"]:
        low, high = schema.get("minItems"), schema.get("maxItems")
        if isinstance(low, int) and low == high:
            return f"a list of {low} item{_s(low)}"
    if types:
        return _or(_type_nouns(types))
    return "a value in another form"


def _resolve(ref: Any, root: Mapping[str, Any]) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None
    target: Any = root
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(target, Mapping) and part in target:
            target = target[part]
        elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
            target = target[int(part)]
        else:
            return None
    return target


def _short_message(error: ValidationError) -> str:
    """jsonschema's own message with the (possibly huge) value cut short."""
    message = error.message
    try:
        shown = repr(error.instance)
    except (ValueError, RecursionError):
        shown = ""
    if shown and len(shown) > 60:
        message = message.replace(shown, _show(error.instance))
    return _printable(message, 200)


def _or(nouns: Iterable[str]) -> str:
    unique = list(dict.fromkeys(nouns))
    if "a number" in unique:
        unique = [n for n in unique if n != "a whole number"]
    if not unique:
        return "a value in another form"
    if len(unique) == 1:
        return unique[0]
    return ", ".join(unique[:-1]) + " or " + unique[-1]


def _options(values: Any) -> str:
    items = list(values) if isinstance(values, list | tuple) else [values]
    shown = ", ".join(_show(v) for v in items[:10])
    return shown + (f" (and {len(items) - 10} more)" if len(items) > 10 else "")


def _s(count: Any) -> str:
    return "" if count == 1 else "s"


# -- paths and values in messages -----------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = str(key)
    if _IDENTIFIER.match(key) and len(key) <= 60:
        return f"{path}.{key}"
    return f"{path}[{_show(key)}]"


def _path(base: str, parts: Sequence[Any]) -> str:
    path = base
    for part in parts:
        path = _join(path, part)
    return path


def _show(value: Any, limit: int = 60) -> str:
    """A value as a student wrote it, in JSON notation, cut to about ``limit`` characters."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 1] + "…"
        return json.dumps(_printable(text, limit + 1, keep_newlines=True), ensure_ascii=False)
    if isinstance(value, int):
        digits = len(str(abs(value))) if value.bit_length() < 14_000 else None
        if digits is None or digits > limit:
            return "a number with hundreds of digits"
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "a non-finite number"
    return _kind(value)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an empty object" if not value else f"an object with {_fields(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)} item{_s(len(value))}"
    if isinstance(value, str | int | float | bool) or value is None:
        return _show(value)
    return f"a {type(value).__name__}"


def _fields(data: Mapping[Any, Any]) -> str:
    keys = [_show(str(k), 30) for k in list(data)[:6]]
    more = f" and {len(data) - 6} more" if len(data) > 6 else ""
    return f"field{'s' if len(data) != 1 else ''} {', '.join(keys)}{more}"


def _printable(text: str, limit: int, *, keep_newlines: bool = False) -> str:
    """One line of at most ``limit`` characters with control characters escaped."""
    out = []
    for char in text[: limit * 2]:
        if (keep_newlines and char in "\n\t") or char.isprintable():
            out.append(char)
        else:
            out.append(char.encode("unicode_escape", "backslashreplace").decode("ascii"))
    result = "".join(out)
    return result if len(result) <= limit else result[: limit - 1] + "…"


def _char_name(char: str) -> str:
    return f"the character U+{ord(char):04X}"


def _size(n: int) -> str:
    if n % MIB == 0:
        return f"{n // MIB} MiB"
    if n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n} bytes"


__all__ = [
    "DEFAULT_LIMITS",
    "SUFFIX_FORMATS",
    "Problem",
    "ReadLimits",
    "Severity",
    "Submission",
    "SubmissionFormat",
    "format_for_name",
    "read_submission_bytes",
    "read_submission_file",
    "read_submission_stream",
    "read_submission_text",
    "validate_answers",
]
