"""The grain of one SELECT's output: which of its columns still determine each row, given
the grain of its FROM clause (the columns it keeps, renames, computes, groups or
aggregates)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlglot import exp

from fanout.toolkit.lineage.scope import (
    _EXPR,
    _OUT,
    FD,
    Attr,
    Closures,
    _covers,
    _has,
    _Repeat,
    _Scope,
    _Shape,
    _show,
)
from fanout.toolkit.lineage.sql import (
    _aggregates,
    _deterministic,
    _injective,
    _literal_int,
    _literal_value,
    _same_name,
    _set_returning,
    _sql,
    _strip,
)

__all__: list[str] = []


class _Projection:
    """A select list applied to a scope's rows, in phases: link each output column to what
    it reads, pass through the columns a star selects unseen, then find the minimal keys,
    the dependencies between output columns and the values a fan-out repeated."""

    def __init__(self, scope: _Scope, outputs: list, stars: list, group: tuple | None):
        self.scope, self.stars, self.group = scope, stars, group
        self.fds: list[FD] = list(scope.fds)
        self.out: list[Attr] = []
        self.renames: dict[Attr, Attr] = {}
        self.linked: dict[Attr, Attr] = {}  # output column -> the attribute it renames
        self.links: list[FD] = []
        self.reads: dict[Attr, set] = {}
        self.row_numbers: dict[str, list] = {}  # row_number() columns: their partitions
        self.firsts: dict[str, list] = {}  # `row_number() ... = 1` flags: their partitions
        self.extra_keys: list[tuple[Attr, ...]] = []  # (partition, row number)
        self.constants: dict[str, str] = {}
        self.select_list(outputs)
        self.star_columns()
        self.closure = Closures(self.fds + self.links)
        self._closures: dict[Attr, set] = {}

    # -- phase 1: what each output column reads

    def constant(self, attr: Attr) -> str | None:
        shape = self.scope.shapes.get(attr[0])
        return shape.constants.get(attr[1]) if shape is not None else None

    def link(self, o: Attr, attr: Attr) -> None:
        """The output column `o` is the attribute `attr` under another name."""
        self.links += [(frozenset({o}), frozenset({attr})), (frozenset({attr}), frozenset({o}))]
        self.renames.setdefault(attr, o)
        self.linked[o] = attr
        self.reads[o] = {attr}
        if (value := self.constant(attr)) is not None:
            self.constants[o[1]] = value
        shape = self.scope.shapes.get(attr[0])
        if shape is not None:  # a row number or a first-row flag selected again
            for kept, of in ((self.row_numbers, shape.row_numbers), (self.firsts, shape.firsts)):
                if attr[1] in of:
                    kept[o[1]] = [(attr[0], c) for c in of[attr[1]]]

    def select_list(self, outputs: list) -> None:
        scope, group = self.scope, self.group
        group_sql = {a[1]: a for a in group or () if a[0] == _EXPR}
        for name, node in outputs:
            o = (_OUT, name)
            if o in self.out:
                continue  # a repeated name: the first one wins
            self.out.append(o)
            if isinstance(node, tuple):
                self.link(o, node)
                continue
            core = _strip(node)
            if isinstance(core, exp.Cast) and _same_name(core.this, name):
                core = _strip(core.this)  # cast(d as date) as d: d was a date already
            attr = scope.resolve(core) if isinstance(core, exp.Column) else None
            if attr is None and group_sql:
                attr = group_sql.get(_sql(core))
            if attr is not None:
                self.link(o, attr)
                continue
            if (value := _literal_value(core)) is not None:
                self.constants[name] = value
            attrs = scope.attrs_of(core)
            self.reads[o] = attrs or set()
            if group is not None and _set_returning(core) is None:
                self.fds.append((frozenset(group), frozenset({o})))
            if (partition := self.row_number(core)) is not None:
                self.row_numbers[name] = partition
                self.extra_keys.append((*partition, o))  # numbered apart within a partition
            elif (partition := self.first_flag(core)) is not None:
                self.firsts[name] = partition
            elif attrs is not None and not _aggregates(core) and _deterministic(core):
                self.fds.append((frozenset(attrs), frozenset({o})))
                if attrs and _injective(core):  # a hash or concatenation of columns
                    self.fds.append((frozenset({o}), frozenset(attrs)))

    def row_number(self, node: exp.Expression) -> list | None:
        """The partition of `row_number() over (partition by ...)`, if it is one."""
        if not (isinstance(node, exp.Window) and isinstance(node.this, exp.RowNumber)):
            return None
        parts = [self.scope.attrs_of(p) for p in node.args.get("partition_by") or []]
        if all(p is not None and len(p) == 1 for p in parts):
            return [p.pop() for p in parts]
        return None

    def first_flag(self, node: exp.Expression) -> list | None:
        """The partition of a flag true on one row per partition: `row_number() over
        (partition by k ...) = 1`, or a row number column compared with 1."""
        if not isinstance(node, exp.EQ) or _literal_int(node.expression) != 1:
            return None
        window = _strip(node.this)
        if isinstance(window, exp.Column) and (attr := self.scope.resolve(window)):
            shape = self.scope.shapes.get(attr[0])
            numbers = shape.row_numbers if shape is not None else {}
            if attr[1] in numbers:
                return [(attr[0], c) for c in numbers[attr[1]]]
            return None
        return self.row_number(window)

    def star_columns(self) -> None:
        """Columns a star passes through without knowing them: the ones anything mentions."""
        scope = self.scope
        mentioned = set()
        for key in scope.keys:
            mentioned |= set(key)
        for lhs, rhs in scope.fds:
            mentioned |= lhs | rhs
        for r in scope.repeated.values():
            mentioned |= set(r.multiplier or ()) | set(r.rowkey or ())
        for _, m in scope.fans:
            mentioned |= set(m or ())
        for attr in sorted(a for a in mentioned if a[0] in self.stars and a[1] != "*"):
            o = (_OUT, attr[1])
            if o not in self.out:
                self.out.append(o)
                self.link(o, attr)

    # -- phase 2: output names for attributes

    def closure_of(self, o: Attr) -> set:
        if o not in self._closures:
            self._closures[o] = self.closure({o})
        return self._closures[o]

    def names(self, attrs: Iterable[Attr] | None) -> tuple[str, ...] | None:
        """Output names that determine each attribute, or None if one is not selected."""
        if attrs is None:
            return None
        found = []
        for a in attrs:
            if a[0] == _OUT and a in self.out:
                o = a
            else:
                o = self.renames.get(a) or next(
                    (o for o in self.out if _has(self.closure_of(o), a)), None
                )
            if o is None:
                return None
            found.append(o[1])
        return tuple(dict.fromkeys(found))

    # -- phase 3: the minimal keys

    def minimal(self, key: tuple[Attr, ...], candidates: list[Attr]) -> tuple[str, ...]:
        """A minimal set of output columns determining `key`, dropping from the end."""
        chosen = list(candidates)
        for o in reversed(candidates):
            trial = [x for x in chosen if x != o]
            if _covers(self.closure(trial), key):
                chosen = trial
        return tuple(o[1] for o in chosen)

    def keys(self) -> tuple[list[tuple[str, ...]], set, str | None]:
        """The minimal keys in output names, those carrying a stated grain, and why there
        is none if there is none."""
        everything = self.closure(self.out)
        keys: list[tuple[str, ...]] = []
        stated: set[tuple[str, ...]] = set()
        missing: list[Attr] = []
        candidates = [(k, k in self.scope.stated) for k in self.scope.keys]
        if not self.scope.multiplied:  # row numbers are given before a set-returning call
            # a numbering is a key, not a grain: it tells nothing of what the rows are
            candidates += [(k, False) for k in self.extra_keys]
        for key, firm in candidates:
            if not _covers(everything, key):
                missing = missing or [a for a in key if not _has(everything, a)]
                continue
            # start from the columns naming the key's attributes when they cover it
            named = [o for o in self.out if o in key or self.reads.get(o, set()) & set(key)]
            start = named if named and _covers(self.closure(named), key) else self.out
            found = self.minimal(key, start)
            if found not in keys:
                keys.append(found)
            if firm:
                stated.add(found)
        keys = [k for k in keys if not any(set(j) < set(k) for j in keys)]
        stated &= set(keys)
        if keys:
            return keys, stated, None
        if self.scope.unknown:
            return keys, stated, self.scope.unknown
        if missing:
            shown = ", ".join(_show(a) for a in missing)
            verb = "is not selected" if len(missing) == 1 else "are not selected"
            return keys, stated, f"no set of selected columns is unique: {shown} {verb}"
        return keys, stated, "no known grain"

    # -- phase 4: dependencies between output columns

    def output_fds(self) -> list[FD]:
        scope, renames = self.scope, self.renames
        left_sides = {a for lhs, _ in self.fds for a in lhs}  # the links' aside
        out_fds: list[FD] = []
        # an output column determines more than its own name only through a dependency
        shared = Counter(self.linked.values())
        determinants = [(o,) for o, a in self.linked.items() if a in left_sides or shared[a] > 1]
        determinants += [(o,) for o in self.out if o in left_sides]  # a surrogate key
        determinants += [tuple(lhs) for lhs, _ in scope.fds]
        determinants += [tuple(k) for k in scope.keys]
        for lhs in determinants:
            mapped = self.names(lhs) if all(a in renames or a[0] == _OUT for a in lhs) else None
            if not mapped:
                continue
            known = self.closure({(_OUT, n) for n in mapped})
            rhs = frozenset(o[1] for o in self.out if _has(known, o) and o[1] not in mapped)
            if rhs and (frozenset(mapped), rhs) not in out_fds:
                out_fds.append((frozenset(mapped), rhs))
        constant = frozenset(o[1] for o in self.out if _has(self.closure(()), o))
        if constant:
            out_fds.append((frozenset(), constant))
        return out_fds

    # -- phase 5: values a fan-out repeated

    def repeated(self) -> dict[str, _Repeat]:
        scope, names = self.scope, self.names
        repeated: dict[str, _Repeat] = {}
        for o in self.out:
            for attr in sorted(self.reads.get(o, ())):
                r = scope.repeat_of(attr)
                if r is not None:
                    repeated[o[1]] = _Repeat(names(r.multiplier), names(r.rowkey), r.fanout)
                    break
        for alias in self.stars:
            r = scope.repeated.get((alias, "*"))
            if r is not None:
                repeated["*"] = _Repeat(names(r.multiplier), names(r.rowkey), r.fanout)
        return repeated

    def shape(self, origin: str) -> _Shape:
        keys, stated, unknown = self.keys()
        names = self.names
        return _Shape(
            label=origin,
            columns=None if self.stars else tuple(o[1] for o in self.out),
            keys=tuple(keys),
            fds=tuple(self.output_fds()),
            repeated=self.repeated(),
            fans=tuple((f, names(m)) for f, m in self.scope.fans),
            unknown=unknown,
            row_numbers={
                n: cols for n, p in self.row_numbers.items() if (cols := names(p)) is not None
            },
            constants=self.constants,
            stated=frozenset(stated),
            firsts={n: cols for n, p in self.firsts.items() if (cols := names(p)) is not None},
            doubts=tuple(self.scope.doubts),
        )
