"""YAML read as plain data, with everything that makes YAML dangerous refused or bounded.

PyYAML parses (libyaml's C parser when it is built in); this module composes the parser's
events into dicts, lists and scalars itself, in place of PyYAML's composer and constructor:

- no tags at all: `!!python/object` and `!!str` alike are refused (plain data needs none);
- aliases are counted, and so are the nodes they stand for, against Limits.max_aliases and
  Limits.max_alias_nodes: "billion laughs" is refused after reading a few hundred bytes;
  an alias shares the value of its anchor, so memory grows with the text, not its expansion;
- nesting deeper than Limits.max_depth is refused, aliases included; an alias to a node not
  yet complete (a recursive structure) is refused;
- duplicate keys, merge keys (`<<`), NaN and infinities are refused; one document only;
- dates stay text (`2024-06-01` is the string it looks like), as JSON would have them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, cast

import yaml
from yaml.nodes import ScalarNode

from agentgym.scenario.limits import DEFAULT_LIMITS, Limits
from agentgym.scenario.problems import MalformedScenarioError

_Parser = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
_TAG = "tag:yaml.org,2002:"
_SAFE = yaml.constructor.SafeConstructor
# The implicit tags PyYAML resolves plain scalars to, and what each becomes; any other (dates,
# `=` and `<<` as values) stays the text it is.
_CONSTRUCT = {
    f"{_TAG}null": _SAFE.construct_yaml_null,
    f"{_TAG}bool": _SAFE.construct_yaml_bool,
    f"{_TAG}int": _SAFE.construct_yaml_int,
    f"{_TAG}float": _SAFE.construct_yaml_float,
}


@dataclass(slots=True)
class _Open:
    """A mapping or sequence being read."""

    value: dict[str, Any] | list[Any]
    anchor: str | None
    size: int = 1  # nodes in it, aliases expanded
    height: int = 1  # nesting below and including it, aliases expanded
    key: str | None = None  # a mapping's key waiting for its value
    key_mark: Any = None


@dataclass(slots=True)
class _Anchored:
    value: Any
    size: int
    height: int


@dataclass
class _YamlReader:
    limits: Limits
    stack: list[_Open] = field(default_factory=list)
    anchors: dict[str, _Anchored] = field(default_factory=dict)
    aliases: int = 0
    alias_nodes: int = 0
    result: Any = None
    resolver: yaml.resolver.Resolver = field(default_factory=yaml.resolver.Resolver)
    constructor: yaml.constructor.SafeConstructor = field(default_factory=_SAFE)

    def read(self, parser: Any) -> Any:
        documents = 0
        while True:
            event = parser.get_event()
            if isinstance(event, yaml.StreamEndEvent):
                return self.result
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _refuse("a scenario file is one YAML document, not several", event)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                self._no_tag(event)
                if len(self.stack) >= self.limits.max_depth:
                    raise _refuse(
                        f"nested deeper than {self.limits.max_depth} levels (max_depth)", event
                    )
                mapping = isinstance(event, yaml.MappingStartEvent)
                self.stack.append(_Open({} if mapping else [], event.anchor))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                done = self.stack.pop()
                self._place(_Anchored(done.value, done.size, done.height), done.anchor, event)
            elif isinstance(event, yaml.ScalarEvent):
                self._no_tag(event)
                if self._is_key(event):
                    continue
                self._place(_Anchored(self._scalar(event), 1, 0), event.anchor, event)
            elif isinstance(event, yaml.AliasEvent):
                self._place(self._alias(event), None, event)

    def _no_tag(self, event: Any) -> None:
        if event.tag is not None:
            raise _refuse(f"tags are not allowed (found {event.tag!r}): write plain data", event)

    def _is_key(self, event: Any) -> bool:
        """Take a mapping's key: keys are plain text, whatever they look like."""
        top = self.stack[-1] if self.stack else None
        if top is None or not isinstance(top.value, dict) or top.key is not None:
            return False
        if event.implicit[0] and event.value == "<<":
            raise _refuse("merge keys (<<) are not supported: write the keys out", event)
        if event.value in top.value:
            raise _refuse(f"duplicate key {event.value!r}", event)
        if event.anchor is not None:
            raise _refuse("an anchor on a key is not supported", event)
        top.key, top.key_mark = event.value, event.start_mark
        return True

    def _place(self, node: _Anchored, anchor: str | None, event: Any) -> None:
        """Put a complete node in its parent, or make it the result at the top."""
        if anchor is not None:
            if anchor in self.anchors:
                raise _refuse(f"anchor &{anchor} is defined twice", event)
            self.anchors[anchor] = node
        if not self.stack:
            self.result = node.value
            return
        top = self.stack[-1]
        if isinstance(top.value, list):
            top.value.append(node.value)
        elif top.key is None:  # a mapping's key that is not text
            raise _refuse("a mapping key must be text, not a list, a mapping or an alias", event)
        else:
            top.value[top.key] = node.value
            top.key = None
        top.size += node.size
        top.height = max(top.height, node.height + 1)

    def _alias(self, event: Any) -> _Anchored:
        anchor = event.anchor
        node = self.anchors.get(anchor)
        if node is None:
            if any(o.anchor == anchor for o in self.stack):
                raise _refuse(
                    f"alias *{anchor} is inside its own anchor (a recursive structure)", event
                )
            raise _refuse(f"alias *{anchor} names no anchor before it", event)
        self.aliases += 1
        self.alias_nodes += node.size
        if self.aliases > self.limits.max_aliases:
            raise _refuse(f"more than {self.limits.max_aliases} aliases (max_aliases)", event)
        if self.alias_nodes > self.limits.max_alias_nodes:
            raise _refuse(
                f"aliases expand to more than {self.limits.max_alias_nodes} nodes (max_alias_nodes)",
                event,
            )
        if len(self.stack) + node.height > self.limits.max_depth:
            raise _refuse(f"nested deeper than {self.limits.max_depth} levels (max_depth)", event)
        return node

    def _scalar(self, event: Any) -> Any:
        tag = cast(Any, self.resolver).resolve(ScalarNode, event.value, event.implicit)
        construct = _CONSTRUCT.get(tag)
        if construct is None:
            return event.value
        try:
            value = construct(self.constructor, ScalarNode(tag, event.value))
        except ValueError as exc:  # an integer of more than 4300 digits
            raise _refuse(f"not a readable number: {exc}", event) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise _refuse(f"{event.value} is not a number JSON can hold", event)
        return value


def load(text: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """The plain data (dicts, lists, text, numbers, booleans, None) of one YAML document;
    None for an empty one. MalformedScenarioError with the line and column otherwise."""
    parser = _Parser(text)
    try:
        return _YamlReader(limits).read(parser)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = exc.problem or exc.context or "not readable YAML"
        if mark is None:
            raise MalformedScenarioError(msg) from None
        raise MalformedScenarioError(msg, mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise MalformedScenarioError(f"not readable YAML: {exc}") from None
    finally:
        parser.dispose()


def _refuse(msg: str, event: Any) -> MalformedScenarioError:
    mark = event.start_mark
    return MalformedScenarioError(msg, mark.line + 1, mark.column + 1)
