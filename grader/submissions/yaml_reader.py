"""YAML submissions, read safely under the limits, with YAML 1.2's plain scalars.

``10:00`` stays the text ``"10:00"`` (not the sexagesimal 600 of YAML 1.1), dates stay
text, only ``true``/``false`` are booleans; no Python, binary, set or timestamp tags;
aliases refused when they would expand past a limit or refer to themselves.  One pass
over the parser's events (libyaml's when the wheel has it) bounds depth, values and
alias expansion before anything is built.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml.resolver

from grader.errors import SubmissionUnreadable
from grader.submissions.limits import (
    DEFAULT_LIMITS,
    SURROGATE_MESSAGE,
    ReadLimits,
    Refused,
    inspect_value,
    too_deep_message,
    too_many_message,
    unreadable_at,
)
from grader.submissions.wording import char_name, printable, show

try:  # libyaml's parser when the wheel has it: faster, and iterative like the pure one
    from yaml.cyaml import CParser as _Parser

    _PURE_PARSER = False
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _PURE_PARSER = True


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
            raise Refused(f"a number with {digits} digits; at most {self.max_number_digits} are accepted",
                           mark=node.start_mark)
        try:
            return int(text)
        except ValueError:
            raise Refused(f"{show(text)} is not a whole number", mark=node.start_mark) from None

    def construct_checked_float(self, node: yaml.nodes.ScalarNode) -> float:
        text = str(self.construct_scalar(node)).replace("_", "").strip()
        if len(text) > self.max_number_digits + 8:
            raise Refused(f"a number written with {len(text)} characters; at most {self.max_number_digits} "
                           "digits are accepted", mark=node.start_mark)
        lowered = text.lower()
        if lowered.endswith((".inf", ".nan")):
            raise Refused(f"{text} is not a number a submission may hold (NaN and infinity are not accepted)",
                           mark=node.start_mark)
        try:
            value = float(text)
        except ValueError:
            raise Refused(f"{show(text)} is not a number", mark=node.start_mark) from None
        if not math.isfinite(value):
            raise Refused(f"the number {text} is too large", mark=node.start_mark)
        return value

    def construct_refused(self, node: yaml.nodes.Node) -> Any:
        tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
        raise Refused(f"the YAML tag {printable(tag, 60)} is not accepted in a submission; "
                       "write plain text, numbers, lists and mappings", mark=node.start_mark)

    def construct_mapping(self, node: yaml.nodes.MappingNode, deep: bool = False) -> dict[str, Any]:
        if not isinstance(node, yaml.nodes.MappingNode):
            raise Refused("expected a mapping", mark=node.start_mark)
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
                raise Refused("a mapping key must be plain text, not a list or a mapping", mark=key_node.start_mark)
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


def load_yaml(text: str, name: str, limits: ReadLimits) -> tuple[Any, list[str]]:
    try:
        _check_yaml_events(text, limits)
        loader = _Loader(text)
        loader.max_number_digits = limits.max_number_digits
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except Refused as exc:
        raise _yaml_unreadable(name, text, exc.message, exc.mark) from None
    except yaml.MarkedYAMLError as exc:
        message = printable(exc.problem or exc.context or "not YAML", 200)
        if exc.context and exc.problem:
            message = f"{message} ({printable(exc.context, 100)})"
        mark = exc.problem_mark or exc.context_mark
        if mark is not None and _indented_with_tab(text, mark.line):
            message += "; YAML does not allow tabs for indentation, use spaces"
        raise _yaml_unreadable(name, text, message, mark) from None
    except yaml.reader.ReaderError as exc:
        raise unreadable_at(name, text, _char_offset(text, exc.position), printable(exc.reason, 120)
                             + f" ({char_name(chr(exc.character)) if isinstance(exc.character, int) else 'a byte'})"
                             ) from None
    except yaml.YAMLError as exc:
        raise SubmissionUnreadable(f"{name}: line 1 column 1: not YAML: {printable(str(exc), 200)}") from None
    except RecursionError:  # pragma: no cover - the event pass bounds the depth first
        raise SubmissionUnreadable(f"{name}: line 1 column 1: {too_deep_message(limits)}") from None
    _, bad_string, _ = inspect_value(data)
    if bad_string is not None:
        raise SubmissionUnreadable(f"{name}: line 1 column 1: {SURROGATE_MESSAGE}")
    warnings = [f"line {mark.line + 1}: key {show(key)} appears more than once in a mapping; the last value is used"
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
                    raise Refused(too_many_message(limits), mark=event.start_mark)
            if isinstance(event, yaml.events.CollectionStartEvent):
                frames.append([event.anchor, 1, 1])
                if len(frames) > limits.max_depth:
                    raise Refused(too_deep_message(limits), mark=event.start_mark)
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
                        raise Refused(f"the alias *{event.anchor} refers to the value that contains it",
                                       mark=event.start_mark)
                    raise Refused(f"the alias *{event.anchor} names no anchor", mark=event.start_mark)
                size, height = sizes[event.anchor]
                if len(frames) + height > limits.max_depth:
                    raise Refused(too_deep_message(limits), mark=event.start_mark)
                add(size, height)
            if aliases and total + sum(frame[1] for frame in frames) > limits.max_yaml_values:
                raise Refused(f"YAML aliases expand this submission to more than {limits.max_yaml_values} values; "
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
