"""A chapter's declared parameters, and typed ``-p NAME VALUE`` values for them.

Each chapter declares its parameters in the code cell tagged ``parameters``, one annotated
assignment a line (``seed: int = 0  # what it seeds``). :func:`declared` reads them with
``ast`` (never executing the cell); :func:`parse` turns command-line text into values of the
declared type, before any kernel starts:

- an unknown name is an error that lists the known ones (``-p sede 1`` -> "did you mean seed");
- ``bool`` takes ``true/false/1/0/yes/no/on/off`` (any case): the string ``"false"`` is not true;
- ``int`` takes ``1000`` or ``1e3`` (only when integral); ``float`` takes any finite number;
- ``list``/``tuple`` take a comma list (``LL.4,W1.4``) or a Python literal (``[0.1, 0.5]``),
  elements typed like the default's elements; one value is a one-element list, never its letters;
- ``dict`` (a group of related settings) takes a mapping as a Python literal or YAML
  (``{epochs: 100}``); only the keys given change, the others keep their defaults, an unknown
  key is an error listing the known ones, and each value is typed like that key's default;
- a parameter whose default is ``None`` (or annotated ``X | None``) also takes ``None``.

    python tools/chapter_params.py CHAPTER        # list the declared parameters
"""

from __future__ import annotations

import ast
import difflib
import math
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TYPES = ("bool", "int", "float", "str", "list", "tuple", "dict")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class ParameterError(ValueError):
    """A ``-p`` name or value the chapter does not declare or cannot take."""


@dataclass(frozen=True)
class Param:
    """One declared parameter: its name, type, default, element type and help comment."""

    name: str
    type: str
    default: object
    optional: bool = False
    element: str | None = None
    help: str = ""


def parameter_source(chapter: str, root: Path = ROOT) -> str:
    """The source of ``book/<chapter>.md``'s cell tagged ``parameters``."""
    import jupytext

    source = root / "book" / f"{chapter}.md"
    if not source.exists():
        raise ParameterError(f"no chapter source {source}")
    nb = jupytext.read(source)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(f"{source} needs exactly one code cell tagged 'parameters', found {len(cells)}")
    return cells[0].source


def _annotation(node: ast.expr, where: str) -> tuple[str, bool]:
    """(type name, whether None is allowed) of an annotation such as ``int`` or ``list | None``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        parts = [node.left, node.right]
        if any(isinstance(p, ast.Constant) and p.value is None for p in parts):
            other = next(p for p in parts if not (isinstance(p, ast.Constant) and p.value is None))
            return _annotation(other, where)[0], True
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        node = node.value  # list[float] -> list (elements are typed from the default)
    if isinstance(node, ast.Name) and node.id in TYPES:
        return node.id, False
    raise ParameterError(f"{where}: annotation {ast.unparse(node)!r} is not one of {', '.join(TYPES)}")


def declared(chapter: str, root: Path = ROOT) -> dict[str, Param]:
    """The chapter's parameters in declaration order, read from its ``parameters`` cell.

    Every statement of the cell must be an annotated assignment of a literal
    (``name: type = value``); anything else is an error naming the line.
    """
    src = parameter_source(chapter, root)
    lines = src.splitlines()
    out: dict[str, Param] = {}
    for stmt in ast.parse(src).body:
        where = f"book/{chapter}.md parameters cell, line {stmt.lineno}"
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value):
            raise ParameterError(f"{where}: write each parameter as `name: type = value  # help`")
        name = stmt.target.id
        kind, optional = _annotation(stmt.annotation, where)
        try:
            default = ast.literal_eval(stmt.value)
        except ValueError:
            raise ParameterError(f"{where}: the default of {name} must be a literal") from None
        optional = optional or default is None
        if kind == "dict" and not isinstance(default, dict):
            raise ParameterError(f"{where}: the default of {name} must be a dict literal")
        # the help comment ends the statement's last line; a multi-line dict may carry it on its first
        rest = lines[stmt.end_lineno - 1][stmt.end_col_offset:]
        if "#" not in rest and stmt.end_lineno != stmt.lineno:
            rest = lines[stmt.lineno - 1]
        help_text = rest.split("#", 1)[1].strip() if "#" in rest else ""
        out[name] = Param(name, kind, default, optional, _element(kind, default), help_text)
    return out


def _element(kind: str, default: object) -> str | None:
    """The type every element of a list/tuple default shares (ints and floats: float), if any."""
    if kind not in {"list", "tuple"} or not default:
        return None
    kinds = {type(v).__name__ for v in default}
    element = "float" if kinds == {"int", "float"} else kinds.pop() if len(kinds) == 1 else None
    return element if element in TYPES else None


def _like(name: str, default: object) -> Param | None:
    """A parameter typed like ``default`` (a dict entry's default), or None for an untyped value."""
    kind = type(default).__name__
    if kind not in TYPES or kind == "dict":
        return None
    return Param(name, kind, default, False, _element(kind, default))


def _mapping(param: Param, value: object) -> dict:
    """``value`` merged over the dict parameter's default, every key checked and typed."""
    name = param.name
    if isinstance(value, str):
        text = value.strip()
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            import yaml

            try:
                value = yaml.safe_load(text)
            except yaml.YAMLError:
                value = None
    if not isinstance(value, dict):
        raise ParameterError(f"{name} is a dict: pass a mapping such as '{{key: value}}', got {value!r}")
    default = param.default or {}
    out = dict(default)
    for key, item in value.items():
        if default and key not in default:
            close = difflib.get_close_matches(str(key), [str(k) for k in default], n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ParameterError(f"{name} has no key {key!r}{hint}; known keys: {', '.join(map(str, default))}")
        like = _like(f"{name}[{key!r}]", default.get(key))
        out[key] = coerce(like, item) if like is not None else item
    return out


def _scalar(kind: str, text: str, name: str) -> object:
    low = text.strip().lower()
    if kind == "bool":
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ParameterError(f"{name} is a bool: pass true or false (or 1/0, yes/no), got {text!r}")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            pass
        try:
            value = float(text)
        except ValueError:
            raise ParameterError(f"{name} is an int, got {text!r}") from None
        if not (math.isfinite(value) and value.is_integer()):
            raise ParameterError(f"{name} is an int, got {text!r} (not a whole number)")
        return int(value)
    if kind == "float":
        try:
            value = float(text)
        except ValueError:
            raise ParameterError(f"{name} is a float, got {text!r}") from None
        if not math.isfinite(value):
            raise ParameterError(f"{name} must be a finite number, got {text!r}")
        return value
    return text


def coerce(param: Param, value: object) -> object:
    """``value`` (command-line text, or an already typed value) as the parameter's type."""
    name = param.name
    if value is None or (isinstance(value, str) and value.strip() == "None"):
        if param.optional:
            return None
        raise ParameterError(f"{name} ({param.type}) cannot be None")
    if param.type == "dict":
        return _mapping(param, value)
    if param.type in {"list", "tuple"}:
        if isinstance(value, str):
            text = value.strip()
            if text[:1] in "[(":
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    raise ParameterError(f"{name} is a {param.type}: {text!r} is not a valid literal") from None
                if not isinstance(value, (list, tuple)):
                    raise ParameterError(f"{name} is a {param.type}, got {text!r}")
            else:
                value = [v.strip() for v in text.split(",") if v.strip()]
        elif not isinstance(value, (list, tuple)):
            value = [value]
        items = [coerce(Param(f"{name}[{i}]", param.element, None), v) if param.element else v
                 for i, v in enumerate(value)]
        return tuple(items) if param.type == "tuple" else list(items)
    if isinstance(value, str):
        return _scalar(param.type, value, name)
    # an already typed value (from Python callers): check it instead of re-reading text
    if param.type == "bool" and not isinstance(value, bool):
        return _scalar("bool", str(value), name)
    if param.type == "int":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"{name} is an int, got {value!r}")
        return _scalar("int", repr(value), name)
    if param.type == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"{name} is a float, got {value!r}")
        return _scalar("float", repr(float(value)), name)
    if param.type == "str" and not isinstance(value, str):
        raise ParameterError(f"{name} is a str, got {value!r}")
    return value


def check_names(chapter: str, names: object, params: dict[str, Param]) -> None:
    """Raise :class:`ParameterError` for a name the chapter does not declare."""
    for name in names:
        if name not in params:
            close = difflib.get_close_matches(name, list(params), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ParameterError(
                f"{chapter} has no parameter {name!r}{hint}; known parameters: {', '.join(params)}"
            )


def parse(chapter: str, values: dict[str, object], root: Path = ROOT) -> dict[str, object]:
    """Typed values for ``{name: text or value}``; :class:`ParameterError` on any problem."""
    params = declared(chapter, root)
    check_names(chapter, values, params)
    return {name: coerce(params[name], value) for name, value in values.items()}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python tools/chapter_params.py CHAPTER", file=sys.stderr)
        return 2
    try:
        params = declared(argv[0])
    except ParameterError as err:
        print(err, file=sys.stderr)
        return 2
    for p in params.values():
        kind = f"{p.type} | None" if p.optional else p.type
        print(f"{p.name}: {kind} = {p.default!r}  # {p.help}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
