"""Read YAML as plain data, keeping each value's line for error messages.

Content is checked on the composed node tree rather than on loaded Python
objects, so every error can name its file, line and field, and nothing in a
file can build an object: only strings, numbers, booleans, null, lists and
mappings are allowed; tags, aliases and duplicate keys are refused.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import ContentError

# The shipped files are under 10 kB; the pure-Python parser that keeps line numbers
# takes about 1 s for 250 kB of the worst case and 6 s for 1 MB.
MAX_CHARACTERS = 200_000
MAX_DEPTH = 20

_TAG = "tag:yaml.org,2002:"
_KIND = {
    _TAG + "str": "text",
    _TAG + "int": "a whole number",
    _TAG + "float": "a number",
    _TAG + "bool": "true or false",
    _TAG + "null": "empty",
    _TAG + "seq": "a list",
    _TAG + "map": "a mapping",
}
_constructor = yaml.constructor.SafeConstructor()


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's, where PyYAML has it: 20 times faster on the asked questions' 2,000 lines."""


def _compose(text: str) -> Node | None:
    """The node tree, refusing aliases where they appear: content never needs
    them, and they are how a tiny file expands into a huge one."""
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
    return yaml.compose(text, Loader=_LOADER)


class Doc:
    """One YAML file's node tree and the checks that read values out of it."""

    def __init__(self, file: str, root: MappingNode) -> None:
        self.file = file
        self.root = root

    @classmethod
    def parse(cls, file: str, text: str) -> Doc:
        if len(text) > MAX_CHARACTERS:
            raise ContentError(file, None, "", f"file is larger than {MAX_CHARACTERS} characters")
        try:
            root = _compose(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            message = f"YAML syntax: {exc.problem or exc.context}"
            if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
                message += f" ({exc.context} on line {exc.context_mark.line + 1})"
            raise ContentError(file, line, "", message) from None
        except yaml.reader.ReaderError as exc:
            line = text[: exc.position].count("\n") + 1
            raise ContentError(file, line, "", f"character #x{exc.character:04x} is not allowed: {exc.reason}") from None
        except yaml.YAMLError as exc:
            raise ContentError(file, None, "", f"YAML: {' '.join(str(exc).split())}") from None
        except RecursionError:
            raise ContentError(file, None, "", "nested too deeply") from None
        if root is None:
            raise ContentError(file, None, "", "file is empty")
        doc = cls(file, root)
        doc._check_tree(root, 0)
        if not isinstance(root, MappingNode):
            raise doc.error(root, "", f"the file must be a mapping of sections, not {doc.kind(root)}")
        return doc

    def _check_tree(self, node: Node, depth: int) -> None:
        """Refuse tags that would build objects, and excessive depth."""
        if depth > MAX_DEPTH:
            raise self.error(node, "", f"nested more than {MAX_DEPTH} levels deep")
        if node.tag not in _KIND:
            raise self.error(node, "", f"YAML tag {node.tag} is not allowed; use plain text")
        if isinstance(node, SequenceNode):
            for item in node.value:
                self._check_tree(item, depth + 1)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                self._check_tree(key, depth + 1)
                self._check_tree(value, depth + 1)

    def error(self, node: Node, field: str, message: str) -> ContentError:
        return ContentError(self.file, node.start_mark.line + 1, field, message)

    @staticmethod
    def kind(node: Node) -> str:
        kind = _KIND.get(node.tag, node.tag)
        if isinstance(node, ScalarNode) and node.tag == _TAG + "bool" and node.value.lower() not in ("true", "false"):
            kind += f' (YAML reads a bare {node.value} that way: write "{node.value}" in quotes)'
        return kind

    def mapping(
        self, node: Node, field: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Node]:
        """A mapping with exactly the required keys and perhaps the optional ones.
        A missing key is reported at the line where the mapping starts."""
        entries = self.entries(node, field)
        for key, (key_node, _) in entries.items():
            if key not in required and key not in optional:
                allowed = ", ".join(required + optional)
                raise self.error(key_node, _join(field, key), f"unknown field; expected one of: {allowed}")
        for key in required:
            if key not in entries:
                raise self.error(node, _join(field, key), "missing")
        return {key: value for key, (_, value) in entries.items()}

    def entries(self, node: Node, field: str) -> dict[str, tuple[Node, Node]]:
        """Every key of a mapping with its key node and value node; keys must be unique text."""
        if not isinstance(node, MappingNode):
            raise self.error(node, field, f"expected a mapping, found {self.kind(node)}")
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag != _TAG + "str":
                raise self.error(key_node, field, f"keys must be text, found {self.kind(key_node)}")
            key = key_node.value
            if key in entries:
                raise self.error(key_node, _join(field, key), "appears twice")
            entries[key] = (key_node, value)
        return entries

    def sequence(self, node: Node, field: str, min_items: int = 1) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.error(node, field, f"expected a list, found {self.kind(node)}")
        if len(node.value) < min_items:
            raise self.error(node, field, f"needs at least {min_items} item(s)")
        return list(node.value)

    def text(self, node: Node, field: str) -> str:
        """Non-empty text."""
        value = self._scalar(node, field, "text", {_TAG + "str"})
        if not value.strip():
            raise self.error(node, field, "must not be empty")
        return " ".join(value.split())

    def number(self, node: Node, field: str, low: float, high: float) -> float:
        value = float(self._scalar(node, field, "a number", {_TAG + "int", _TAG + "float"}))
        if not low <= value <= high:
            raise self.error(node, field, f"must be between {low:g} and {high:g}, found {value:g}")
        return value

    def integer(self, node: Node, field: str, low: int, high: int) -> int:
        value = self._scalar(node, field, "a whole number", {_TAG + "int"})
        if not low <= value <= high:
            raise self.error(node, field, f"must be between {low} and {high}, found {value}")
        return int(value)

    def boolean(self, node: Node, field: str) -> bool:
        return bool(self._scalar(node, field, "true or false", {_TAG + "bool"}))

    def _scalar(self, node: Node, field: str, expected: str, tags: set[str]) -> Any:
        if not isinstance(node, ScalarNode) or node.tag not in tags:
            raise self.error(node, field, f"expected {expected}, found {self.kind(node)}")
        return _constructor.construct_object(node)


def _join(field: str, key: str) -> str:
    # A key with a line break or other control character is quoted, so that the
    # message stays on one line.
    name = key if key.isprintable() else repr(key)
    return f"{field}.{name}" if field else name
