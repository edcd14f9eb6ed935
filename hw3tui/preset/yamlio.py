"""Safe, round-trip YAML: data only, every problem located, comments kept on save.

Presets come from other people, so reading one must never run code or exhaust the machine:
- tags other than YAML's plain data types (`!!python/object`, `!custom`) are refused before any
  object is built, so nothing is ever constructed from them;
- aliases (`*name`) are refused, which makes "billion laughs" expansion impossible;
- duplicate keys, tabs used for indentation and non-UTF-8 bytes are errors with a line and column;
- the file size and nesting depth are capped.
Numbers follow YAML 1.2: `1e-4` is a float and `on`/`yes` are strings, not booleans.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, DocumentStartEvent, NodeEvent

from hw3tui.preset.problems import PresetError
from hw3tui.regular import NotRegular, TooLarge, read_regular

MAX_BYTES = 1024 * 1024
"""Presets are a few hundred bytes; anything above a megabyte is not a preset."""
MAX_DEPTH = 64
"""Deepest nesting accepted (a preset needs four levels)."""

_DATA_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
}


@dataclass
class Document:
    """A parsed YAML file that remembers its comments, key order and indentation for saving."""

    data: Any
    """The round-trip tree (`CommentedMap` for a preset)."""
    indent: int = 2
    block_seq_indent: int = 0


def read_file(path: Path, source: str) -> str:
    """The text of a preset (or sweep) file, read no further than `MAX_BYTES`: a FIFO, a device
    or a folder is refused before anything waits on it or reads it without end (`read_regular`).
    `source`: the name problems are reported under."""
    try:
        raw = read_regular(path, limit=MAX_BYTES)
    except TooLarge:
        raise PresetError.single(
            source, f"file is over {MAX_BYTES:,} bytes (the most a preset or sweep file may hold)"
        ) from None
    except NotRegular as exc:
        raise PresetError.single(source, exc.reason) from None
    except OSError as exc:
        raise PresetError.single(source, f"cannot read: {exc.strerror}") from None
    return decode(raw, source)


def decode(raw: bytes, source: str) -> str:
    """The text of a preset file, or a located error for bytes that are not UTF-8."""
    if len(raw) > MAX_BYTES:
        raise PresetError.single(
            source, f"file is {len(raw):,} bytes; a preset is at most {MAX_BYTES:,}"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PresetError.single(
            source,
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            line=line,
            column=column,
        ) from None


def parse(text: str, source: str) -> Document:
    """Parse YAML text into a round-trip document, refusing anything that is not plain data."""
    if "\x00" in text:
        raise PresetError.single(source, "contains NUL bytes; a preset is a text file")
    try:
        _check_events(text, source)
        data = YAML(typ="rt").load(text)
    except PresetError:
        raise
    except MarkedYAMLError as exc:
        raise _located(exc, source) from None
    except RecursionError:
        raise PresetError.single(source, "nested too deeply") from None
    except (YAMLError, ValueError, TypeError, OverflowError) as exc:
        # ruamel builds dates and numbers itself; some malformed ones raise plain errors
        raise PresetError.single(source, f"not valid YAML: {exc}") from None
    return Document(data=data, **_guess_indents(text))


def top_position(text: str) -> tuple[int, int]:
    """The 1-based line and column where parsed text's top-level value starts: past the
    comments, blank lines, directives and `---` above it."""
    mark = YAML(typ="rt").compose(text).start_mark
    return mark.line + 1, mark.column + 1


def _guess_indents(text: str) -> dict[str, int]:
    """The file's own indentation, so a fallback re-dump looks like the original."""
    mapping, offset = 2, 0
    found_mapping = found_sequence = False
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for above, line in itertools.pairwise(lines):
        if not above.rstrip().endswith(":"):
            continue
        parent = len(above) - len(above.lstrip(" -"))
        child = len(line) - len(line.lstrip(" "))
        if child <= parent and not line.lstrip().startswith("-"):
            continue
        if line.lstrip().startswith("- ") and not found_sequence:
            offset, found_sequence = max(0, child - parent), True
        elif not line.lstrip().startswith("-") and not found_mapping:
            mapping, found_mapping = child - parent, True
    return {"indent": mapping, "block_seq_indent": offset}


def _check_events(text: str, source: str) -> None:
    yaml = YAML(typ="rt")
    depth = 0
    documents = 0
    for event in yaml.parse(io.StringIO(text)):
        mark = event.start_mark
        where = {"line": mark.line + 1, "column": mark.column + 1}
        if isinstance(event, AliasEvent):
            raise PresetError.single(
                source,
                f"aliases (*{event.anchor}) are not allowed in presets; write the value out",
                **where,
            )
        if isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise PresetError.single(source, "a preset is a single YAML document", **where)
        if isinstance(event, NodeEvent):
            tag = getattr(event, "tag", None)
            if tag is not None and str(tag) not in _DATA_TAGS and str(tag) != "!":
                shown = str(tag).replace("tag:yaml.org,2002:", "!!")
                raise PresetError.single(
                    source,
                    f"tag {shown} is not allowed: a preset holds plain data only",
                    **where,
                )
        kind = type(event).__name__
        if kind in ("MappingStartEvent", "SequenceStartEvent"):
            depth += 1
            if depth > MAX_DEPTH:
                raise PresetError.single(source, "nested too deeply", **where)
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            depth -= 1


def _located(exc: MarkedYAMLError, source: str) -> PresetError:
    mark = exc.problem_mark or exc.context_mark
    problem = str(exc.problem or exc.context or "invalid YAML")
    if "'\\t'" in problem or "\\t" in problem:
        problem = "tab character: YAML indents with spaces, not tabs"
    elif "duplicate key" in problem or type(exc).__name__ == "DuplicateKeyError":
        key = problem.split('"')[1] if '"' in problem else ""
        problem = f"duplicate key {key!r}" if key else "duplicate key"
    where: dict[str, int | None] = {}
    if mark is not None:
        where = {"line": mark.line + 1, "column": mark.column + 1}
    return PresetError.single(source, problem, **where)


def dump(document: Document) -> str:
    """YAML text of a document, with its comments, key order and indentation kept."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    offset = document.block_seq_indent
    yaml.indent(mapping=document.indent, sequence=offset + 2, offset=offset)
    out = io.StringIO()
    yaml.dump(document.data, out)
    return out.getvalue()


def to_plain(node: Any) -> Any:
    """The round-trip tree as plain dicts, lists and scalars, for validation."""
    if isinstance(node, CommentedMap | dict):
        return {to_plain(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq | list | tuple):
        return [to_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, TaggedScalar):  # `!!str 3`: an explicit standard tag
        return str(node.value)
    return node


Path_ = tuple[str | int, ...]


def flow(value: Any) -> str:
    """`value` as one line of YAML (flow style), e.g. `{0: 0.01, 15: 0.001}`; key order kept."""
    yaml = YAML(typ="rt")
    yaml.default_flow_style = True
    yaml.width = 1 << 16
    out = io.StringIO()
    yaml.dump({"v": value}, out)
    return out.getvalue().strip()[len("{v: ") : -1]


def value_spans(text: str) -> dict[Path_, tuple[int, int, bool]]:
    """Where each value's text lies: path -> (start, end, splicable).

    Scalars and flow collections (`{...}`, `[...]`) can be replaced in place; block collections
    cannot (their extent includes the following lines' indentation).
    """
    spans: dict[Path_, tuple[int, int, bool]] = {}
    # each frame: [path, is_mapping, pending_key, next_index, start, flow]
    stack: list[list[Any]] = []

    def next_path() -> Path_ | None:
        if not stack:
            return ()
        frame = stack[-1]
        if frame[1]:
            return None if frame[2] is _KEY else (*frame[0], frame[2])
        return (*frame[0], frame[3])

    def done_value() -> None:
        if stack:
            frame = stack[-1]
            if frame[1]:
                frame[2] = _KEY
            else:
                frame[3] += 1

    for event in YAML(typ="rt").parse(io.StringIO(text)):
        kind = type(event).__name__
        if kind in ("MappingStartEvent", "SequenceStartEvent"):
            path = next_path()
            if path is None:  # a collection used as a key: not something presets have
                path = ("?",)
            stack.append(
                [
                    path,
                    kind == "MappingStartEvent",
                    _KEY,
                    0,
                    event.start_mark.index,
                    bool(event.flow_style),
                ]
            )
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            path, _, _, _, start, is_flow = stack.pop()
            spans[path] = (start, event.end_mark.index, is_flow)
            done_value()
        elif kind == "ScalarEvent":
            path = next_path()
            if path is None:
                stack[-1][2] = event.value if not _looks_int(event) else int(event.value)
                continue
            spans[path] = (event.start_mark.index, event.end_mark.index, True)
            done_value()
    return spans


class _Key:
    pass


_KEY = _Key()


def _looks_int(event: Any) -> bool:
    return bool(event.style is None and event.value.isdigit())


def set_in_text(text: str, path: Path_, value: Any, source: str = "<edit>") -> str:
    """`text` with the value at `path` set to `value`.

    A value already written as a scalar or flow collection is replaced in place, so every other
    byte of the file (comments, spacing, quoting) stays as it was; otherwise the document is
    re-dumped through the round-trip writer, which keeps comments and key order.
    """
    spans = value_spans(text) if text.strip() else {}
    span = spans.get(tuple(path))
    if span is not None and span[2]:
        start, end, _ = span
        edited = text[:start] + flow(value) + text[end:]
        try:
            if to_plain(_lookup(parse(edited, source).data, path)) == to_plain(value):
                return edited
        except (PresetError, KeyError, IndexError, TypeError):
            pass
    document = parse(text, source) if text.strip() else Document(data=CommentedMap())
    if document.data is None:
        document.data = CommentedMap()
    _assign(document.data, path, value)
    return dump(document)


def _lookup(node: Any, path: Path_) -> Any:
    for part in path:
        node = node[part]
    return node


def _assign(root: Any, path: Path_, value: Any) -> None:
    node = root
    for depth, part in enumerate(path[:-1]):
        child = node.get(part) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            if child is not None:
                shown = ".".join(str(p) for p in path[: depth + 1])
                raise PresetError.single(
                    "<edit>", f"{shown} is not a mapping; set the whole value instead"
                )
            child = CommentedMap()
            node[part] = child
        node = child
    node[path[-1]] = flow_node(value)


def flow_node(value: Any) -> Any:
    """A value as a round-trip node written on one line, like `{0: 0.1, 15: 0.01}`."""
    if isinstance(value, dict):
        mapping = CommentedMap((k, flow_node(v)) for k, v in value.items())
        mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list | tuple):
        sequence = CommentedSeq(flow_node(v) for v in value)
        sequence.fa.set_flow_style()
        return sequence
    return value
