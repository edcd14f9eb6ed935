"""hw3tui's message catalogs, a dev tool: `python tools/catalog.py` compiles each
`hw3tui/locale/*/LC_MESSAGES/hw3tui.po` into the `.mo` beside it (the `.mo` files are committed
and installed as package data, so a user needs no compiler); `python tools/catalog.py --missing`
prints, as .po entries, the messages of the code that a catalog lacks.

Messages are what the code wraps: `_("...")`, `N_("...")`, `ngettext("...", "...", n)` with
literal strings (`extract`, an ast walk over hw3tui/).

The logic of CPython's `Tools/i18n/msgfmt.py`, kept small: `msgid`/`msgid_plural`/`msgstr[n]`,
continued string lines, `#, fuzzy` entries left out (as msgfmt does), keys sorted so the output
is the same bytes for the same catalog (tests/results/test_i18n.py recompiles and compares).
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hw3tui"
LOCALE = PACKAGE / "locale"
WRAPPERS = {"_": 1, "N_": 1, "ngettext": 2}
"""Function name -> how many leading arguments are the message (singular, plural)."""


def extract(root: Path = PACKAGE) -> dict[str, list[str]]:
    """Every message the code under `root` wraps (msgid, or singular NUL plural) -> where
    (`path:line`), in the order first found."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            count = WRAPPERS.get(node.func.id)
            if count is None:
                continue
            parts = node.args[:count]
            if len(parts) < count or not all(
                isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts
            ):
                continue  # `_(variable)`: a constant marked with N_ where it is defined
            key = "\0".join(str(p.value) for p in parts)  # type: ignore[attr-defined]
            where = f"{path.relative_to(root.parent).as_posix()}:{node.lineno}"
            found.setdefault(key, []).append(where)
    return found


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def missing_entries(po: Path) -> str:
    """The .po entries (untranslated) of the messages `po` lacks."""
    have = parse_po(po.read_text(encoding="utf-8"), keep_empty=True)
    lines = []
    for key, where in extract().items():
        if key in have:
            continue
        lines.append(f"#: {' '.join(where)}")
        singular, _, plural = key.partition("\0")
        lines.append(f"msgid {_quoted(singular)}")
        if plural:
            lines += [f"msgid_plural {_quoted(plural)}", 'msgstr[0] ""']
        else:
            lines.append('msgstr ""')
        lines.append("")
    return "\n".join(lines)


def parse_po(text: str, *, keep_empty: bool = False) -> dict[str, str]:
    """msgid (plural: singular NUL plural) -> msgstr (plural forms NUL-joined); the header is
    the entry of msgid "". Untranslated entries are left out unless `keep_empty`."""
    catalog: dict[str, str] = {}
    entry: dict[str, list[str]] = {}
    fuzzy = False
    current = ""

    def flush() -> None:
        nonlocal fuzzy
        if "msgid" in entry and not fuzzy:
            key = "".join(entry["msgid"])
            if "msgid_plural" in entry:
                key += "\0" + "".join(entry["msgid_plural"])
                forms = sorted(k for k in entry if k.startswith("msgstr["))
                value = "\0".join("".join(entry[k]) for k in forms)
            else:
                value = "".join(entry.get("msgstr", []))
            # an untranslated entry stays out: gettext falls back to the English source
            if keep_empty or value.replace("\0", ""):
                catalog[key] = value
        entry.clear()
        fuzzy = False

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                if entry:
                    flush()
                fuzzy = True
            continue
        if not line:
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = current, line
        elif keyword == "msgid" and "msgid" in entry:
            keep = fuzzy
            flush()
            fuzzy = keep
        if not keyword:
            raise ValueError(f"line {number}: a string outside an entry")
        try:
            value = ast.literal_eval(rest.strip())
        except (SyntaxError, ValueError) as exc:
            raise ValueError(f"line {number}: not a quoted string: {raw}") from exc
        entry.setdefault(keyword, []).append(value)
        current = keyword
    flush()
    return catalog


def compile_mo(catalog: dict[str, str]) -> bytes:
    """The GNU .mo bytes of `catalog` (little-endian, no hash table), as msgfmt.py writes them."""
    keys = sorted(catalog)
    ids = b""
    strs = b""
    offsets = []
    for key in keys:
        encoded_id, encoded_str = key.encode("utf-8"), catalog[key].encode("utf-8")
        offsets.append((len(ids), len(encoded_id), len(strs), len(encoded_str)))
        ids += encoded_id + b"\0"
        strs += encoded_str + b"\0"
    start = 7 * 4 + 16 * len(keys)  # header, then both tables of (length, offset)
    id_table, str_table = [], []
    for id_offset, id_length, str_offset, str_length in offsets:
        id_table += [id_length, start + id_offset]
        str_table += [str_length, start + len(ids) + str_offset]
    header = struct.pack("<Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + 8 * len(keys), 0, 0)
    tables = struct.pack(f"<{len(id_table)}i", *id_table)
    tables += struct.pack(f"<{len(str_table)}i", *str_table)
    return header + tables + ids + strs


def main() -> int:
    if "--missing" in sys.argv[1:]:
        for po in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
            print(f"# {po}\n{missing_entries(po)}")
        return 0
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        mo.write_bytes(compile_mo(parse_po(po.read_text(encoding="utf-8"))))
        print(f"wrote {mo}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
