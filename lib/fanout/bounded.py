"""Reading what a user hands in, within bounds: regular files only, a size limit, a line
length limit, and YAML with a nesting depth, an alias expansion limit and no duplicate keys.

Every refusal is one line naming the file, what is wrong and the limit (with the environment
variable that raises it). A device, a FIFO or a socket is refused before it is read: reading
`/dev/zero` or a FIFO would never end.

| limit | default | environment variable |
|---|---|---|
| a small text file (parameters, dbt_project.yml, build.json) | 16 MiB | FANOUT_MAX_TEXT_BYTES |
| a dbt manifest | 1 GiB | FANOUT_MAX_MANIFEST_BYTES |
| a series CSV | 256 MiB | FANOUT_MAX_SERIES_BYTES |
| one line of a CSV file (a header, a series row) | 1 MiB | FANOUT_MAX_LINE_BYTES |
| YAML nesting depth | 64 | FANOUT_MAX_YAML_DEPTH |
| YAML size, aliases expanded (nodes and characters) | 10,000,000 | FANOUT_MAX_YAML_EXPANSION |

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "p.yaml"
>>> _ = p.write_text("days: 3\\ndays: 4\\n")
>>> load_yaml(p, "parameter file")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
fanout.errors.DataError: parameter file ...p.yaml is not valid YAML: duplicate key 'days' (line 2)
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml

from fanout.errors import DataError, FanoutError

__all__ = ["LIMITS", "limit", "lines", "load_yaml", "open_regular", "read_bytes", "read_text"]

LIMITS = {
    "FANOUT_MAX_TEXT_BYTES": 16 * 2**20,
    "FANOUT_MAX_MANIFEST_BYTES": 2**30,
    "FANOUT_MAX_SERIES_BYTES": 256 * 2**20,
    "FANOUT_MAX_LINE_BYTES": 2**20,
    "FANOUT_MAX_YAML_DEPTH": 64,
    "FANOUT_MAX_YAML_EXPANSION": 10_000_000,
}


def limit(name: str) -> int:
    """The limit `name` (a key of LIMITS): its environment variable if set, else the default."""
    text = os.environ.get(name)
    if text is None or not text.strip():
        return LIMITS[name]
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise DataError(f"{name} must be a whole number of at least 1, got {text!r}")
    return value


def size_text(n: int) -> str:
    """A byte count for people.

    >>> size_text(512), size_text(3 * 2**20), size_text(2**30)
    ('512 bytes', '3.0 MiB', '1.0 GiB')
    """
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def kind(mode: int) -> str:
    """What a file mode says a file is, when it is not a regular file."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_regular(path: str | Path, what: str, error: type[FanoutError] = DataError) -> int:
    """The size of `path` if it is a regular file (symbolic links followed); else `error`
    naming what it is. Nothing is opened, so a FIFO cannot block."""
    path = Path(path)
    try:
        mode = path.stat()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode.st_mode):
        raise error(f"{what} {path} is {kind(mode.st_mode)}, not a regular file")
    return mode.st_size


@contextlib.contextmanager
def open_regular(
    path: str | Path, what: str, limit_name: str | None, error: type[FanoutError] = DataError
) -> Iterator[IO[bytes]]:
    """`path` opened for reading in binary, if it is a regular file within the size limit
    (none when `limit_name` is None: a file read a line at a time, or by DuckDB).

    Opened without blocking and checked on the open descriptor, so a file swapped for a FIFO
    between the check and the open is refused too."""
    path = Path(path)
    check_regular(path, what, error)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{what} {path} is {kind(info.st_mode)}, not a regular file")
        os.set_blocking(fd, True)
        bound = limit(limit_name) if limit_name else info.st_size
        if info.st_size > bound:
            raise error(
                f"{what} {path} is {size_text(info.st_size)}, over the limit of "
                f"{size_text(bound)} ({limit_name})"
            )
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


def read_bytes(
    path: str | Path, what: str, limit_name: str, error: type[FanoutError] = DataError
) -> bytes:
    """The content of a regular file, refused beyond the limit (also when its size lied,
    as /proc files' do)."""
    bound = limit(limit_name)
    with open_regular(path, what, limit_name, error) as fh:
        try:
            data = fh.read(bound + 1)
        except OSError as exc:
            raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > bound:
        raise error(f"{what} {path} is over the limit of {size_text(bound)} ({limit_name})")
    return data


def decode(data: bytes, path: str | Path, what: str, error: type[FanoutError] = DataError) -> str:
    """UTF-8 text, or `error` naming the file, the line and the byte that is not UTF-8.

    >>> decode(b"a\\nb\\xff", "f.yaml", "parameter file")
    Traceback (most recent call last):
    ...
    fanout.errors.DataError: parameter file f.yaml is not UTF-8 text: byte 0xff on line 2
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise error(f"{what} {path} is not UTF-8 text: byte 0x{byte} on line {line}") from None


def read_text(
    path: str | Path, what: str, limit_name: str, error: type[FanoutError] = DataError
) -> str:
    """`read_bytes`, decoded as UTF-8."""
    return decode(read_bytes(path, what, limit_name, error), path, what, error)


def lines(
    fh: IO[bytes], path: str | Path, what: str, error: type[FanoutError] = DataError
) -> Iterator[str]:
    """The lines of a binary file as text, each within FANOUT_MAX_LINE_BYTES and UTF-8."""
    bound = limit("FANOUT_MAX_LINE_BYTES")
    number = 0
    while True:
        try:
            raw = fh.readline(bound + 1)
        except OSError as exc:
            raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
        if not raw:
            return
        number += 1
        if len(raw) > bound:
            raise error(
                f"{what} {path}: line {number:,} is longer than {size_text(bound)} "
                "(FANOUT_MAX_LINE_BYTES)"
            )
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            byte = raw[exc.start : exc.start + 1].hex()
            raise error(
                f"{what} {path} is not UTF-8 text: byte 0x{byte} on line {number}"
            ) from None


def first_line(path: str | Path, what: str, error: type[FanoutError] = DataError) -> str:
    """The first line of a regular file (any size), within FANOUT_MAX_LINE_BYTES."""
    with open_regular(path, what, None, error) as fh:
        return next(lines(fh, path, what, error), "")


# ---------------------------------------------------------------------------- YAML


def _loader(max_depth: int, max_expansion: int):
    """A PyYAML safe loader that refuses deep nesting, alias expansion beyond a size, and
    duplicate keys (PyYAML itself keeps the last one silently)."""

    class Refused(yaml.YAMLError):
        def __init__(self, problem: str, mark=None):
            super().__init__(problem)
            self.problem, self.problem_mark = problem, mark

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                anchored = self.anchors.get(event.anchor)
                if anchored is not None and not hasattr(anchored, "_fanout_size"):
                    raise Refused(f"the alias *{event.anchor} refers to itself", event.start_mark)
            self.depth += 1
            if self.depth > max_depth:
                mark = self.peek_event().start_mark
                raise Refused(
                    f"nested more than {max_depth} levels deep (FANOUT_MAX_YAML_DEPTH)", mark
                )
            try:
                node = super().compose_node(parent, index)
            finally:
                self.depth -= 1
            if not hasattr(node, "_fanout_size"):
                if isinstance(node, yaml.ScalarNode):
                    size = 1 + len(node.value)
                elif isinstance(node, yaml.SequenceNode):
                    size = 1 + sum(c._fanout_size for c in node.value)
                else:
                    size = 1 + sum(k._fanout_size + v._fanout_size for k, v in node.value)
                if size > max_expansion:
                    raise Refused(
                        f"it expands to more than {max_expansion:,} nodes and characters once "
                        "its aliases are followed (FANOUT_MAX_YAML_EXPANSION)",
                        node.start_mark,
                    )
                node._fanout_size = size
            return node

        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen = set()
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        fresh = key not in seen
                    except TypeError:  # unhashable: the base class says so
                        continue
                    if not fresh:
                        shown = repr(key) if len(repr(key)) <= 60 else repr(key)[:57] + "..."
                        raise Refused(f"duplicate key {shown}", key_node.start_mark)
                    seen.add(key)
            return super().construct_mapping(node, deep)

    return Loader


def load_yaml(
    path: str | Path,
    what: str,
    error: type[FanoutError] = DataError,
    limit_name: str = "FANOUT_MAX_TEXT_BYTES",
) -> Any:
    """A YAML file's content, read within the size limit by a safe loader with a depth limit,
    an alias expansion limit and no duplicate keys; `error` in one line otherwise."""

    text = read_text(path, what, limit_name, error)
    loader = _loader(limit("FANOUT_MAX_YAML_DEPTH"), limit("FANOUT_MAX_YAML_EXPANSION"))
    try:
        return yaml.load(text, Loader=loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        detail = f": {' '.join(str(problem).split())}" if problem else ""
        raise error(f"{what} {path} is not valid YAML{detail}{line}") from None
    except RecursionError:  # not reached within the depth limit; kept as a last guard
        raise error(f"{what} {path} is nested too deeply") from None
