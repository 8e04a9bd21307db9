"""Load campaigns.yaml into a validated :class:`DialerConfig`, or say exactly what is wrong.

The YAML is composed into a node tree first, so every value keeps the line it came from. Each
pydantic error (and each cross-section problem) is mapped back to the line of the key it concerns,
and every problem is reported at once as ``FILE:LINE: field.path: message (allowed: ...)``.

The YAML dialect is YAML 1.2-like on purpose: only ``true``/``false`` are booleans (``NO`` stays
the string "NO") and ``21:00`` is not the base-60 integer 1260. Duplicate keys are errors.
"""

from __future__ import annotations

import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from dialer.config.models import DialerConfig, Loc


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong in a configuration file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.field))
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in configuration"
        super().__init__("\n".join([header, *(str(p) for p in self.problems)]))


# ----------------------------------------------------------------------------- YAML with lines


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and numbers (no yes/no/on/off, no base-60)."""


_BOOL, _INT, _FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?$"
        r"|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"
        r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
    ),
    list("-+0123456789."),
)


class _Reader:
    """Turns a YAML node tree into plain data, remembering the line of every path."""

    def __init__(self, loader: _Loader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.lines: dict[Loc, int] = {}
        self.problems: list[ConfigProblem] = []

    def read(self, node: yaml.Node, path: Loc) -> Any:
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)  # resolves "<<" merge keys
            result: dict[Any, Any] = {}
            first_line: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self._scalar(key_node, path)
                line = key_node.start_mark.line + 1
                if not isinstance(key, str | int) or isinstance(key, bool):
                    key = str(key)
                if key in result:
                    self.problems.append(
                        ConfigProblem(
                            self.source,
                            line,
                            _dotted((*path, key)),
                            f"duplicate key (first given at line {first_line[key]})",
                        )
                    )
                    continue
                first_line[key] = line
                self.lines[(*path, key)] = line
                result[key] = self.read(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.read(item, (*path, index)))
            return items
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: Loc) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            line = node.start_mark.line + 1
            self.problems.append(ConfigProblem(self.source, line, _dotted(path), str(exc.problem)))
            return None
        except (ValueError, TypeError, OverflowError):
            # e.g. the date 2026-13-01: hand the text to validation, which says what is wrong.
            return node.value


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _compose(text: str, source: str) -> tuple[Any, _Reader]:
    loader = _Loader(text)
    reader = _Reader(loader, source)
    try:
        node = loader.get_single_node()
        data = {} if node is None else reader.read(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise ConfigError([ConfigProblem(source, line, "", f"YAML syntax: {message}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigProblem(source, None, "", f"YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return data, reader


# ----------------------------------------------------------------------------- errors -> problems


def _line_for(loc: Loc, lines: Mapping[Loc, int]) -> tuple[Loc, int | None]:
    """The part of ``loc`` that exists in the file, and the line of its deepest key."""
    found: Loc = ()
    for part in loc:
        if (*found, part) in lines:
            found = (*found, part)
    return found, lines.get(found, 1 if lines else None)


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` (for listing allowed keys)."""
    current: Any = DialerConfig
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) in (list, tuple):
            current = typing.get_args(current)[0]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = members[0] if len(members) == 1 else tp
            if len(members) != 1:
                return tp
        else:
            return tp


def _range_of(loc: Loc) -> str:
    """Both bounds of a numeric field, e.g. ``> 0 and <= 1``, from its declaration."""
    model = _model_at(loc[:-1])
    field = model.model_fields.get(str(loc[-1])) if model is not None and loc else None
    if field is None:
        return ""
    parts = []
    for meta in field.metadata:
        for attr, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            bound = getattr(meta, attr, None)
            if bound is not None:
                parts.append(
                    f"{symbol} {bound:g}" if isinstance(bound, float) else f"{symbol} {bound}"
                )
    return " and ".join(parts)


def _message(error: Any, loc: Loc) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = ", ".join(model.model_fields) if model else "see the documentation"
        return f"unknown key (allowed: {allowed})"
    if kind == "missing":
        return "required field missing"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace(" or ", ", ")
        return f"got {given!r} (allowed: {expected})"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    bounds = {
        "greater_than": "> {gt}",
        "greater_than_equal": ">= {ge}",
        "less_than": "< {lt}",
        "less_than_equal": "<= {le}",
    }
    if kind in bounds:
        return (
            f"{given!r} is out of range (allowed: {_range_of(loc) or bounds[kind].format(**ctx)})"
        )
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{error['msg']}, got {type(given).__name__} {given!r}"
    return str(error["msg"])


def _problems_from(
    exc: ValidationError | None, cross: list[tuple[Loc, str]], reader: _Reader
) -> list[ConfigProblem]:
    problems = list(reader.problems)
    entries: list[tuple[Loc, str]] = list(cross)
    if exc is not None:
        for error in exc.errors():
            loc = tuple(error["loc"])
            if loc and loc[-1] == "[key]":  # a bad key in a mapping with fixed keys
                loc = loc[:-1]
            entries.append((loc, _message(error, loc)))
    for loc, message in entries:
        found, line = _line_for(loc, reader.lines)
        # A missing key is not in the file: name it, but point at its parent's line.
        shown = loc if len(loc) == len(found) + 1 and not isinstance(loc[-1], int) else found
        problems.append(ConfigProblem(reader.source, line, _dotted(shown) or "(top)", message))
    return problems


# ----------------------------------------------------------------------------- public API


def load_config_text(
    text: str,
    source_name: str = "<config>",
    *,
    require_secrets: bool = False,
    env: Mapping[str, str] | None = None,
) -> DialerConfig:
    """Validate YAML text as a whole dialer configuration.

    Returns a complete :class:`DialerConfig` or raises :class:`ConfigError` listing every problem.
    With ``require_secrets`` (the daemon at start), each Asterisk server's ``secret_env`` must be
    set in ``env`` (default ``os.environ``); the secret itself is read when used.
    """
    data, reader = _compose(text, source_name)
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigProblem(source_name, 1, "", "the file must be a mapping of sections")]
        )
    cross: list[tuple[Loc, str]] = []
    try:
        config = DialerConfig.model_validate(data, context={"cross_problems": cross})
    except ValidationError as exc:
        raise ConfigError(_problems_from(exc, cross, reader)) from None
    if require_secrets:
        environ = os.environ if env is None else env
        for i, server in enumerate(config.asterisk):
            if server.secret is None and server.secret_env not in environ:
                cross.append(
                    (
                        ("asterisk", i, "secret_env"),
                        f"environment variable {server.secret_env} is not set",
                    )
                )
    if cross or reader.problems:
        raise ConfigError(_problems_from(None, cross, reader))
    return config


def load_config(
    path: str | Path, *, require_secrets: bool = False, env: Mapping[str, str] | None = None
) -> DialerConfig:
    """Read and validate a campaigns.yaml file (see :func:`load_config_text`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(str(path), None, "", f"cannot read: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"not UTF-8 text: {exc}")]) from None
    return load_config_text(text, str(path), require_secrets=require_secrets, env=env)
