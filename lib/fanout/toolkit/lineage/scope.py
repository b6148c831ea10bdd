"""The grain model: what is known about the rows of a query (keys, functional
dependencies, repeated values) while its FROM, joins and WHERE are read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from fanout.toolkit.lineage.results import FanOut, _cols
from fanout.toolkit.lineage.sql import _deterministic, _is_constant, _literal_int, _outside, _strip

# ---------------------------------------------------------------------------- grain algebra
#
# Inside a query, a column is an attribute (alias, column); ("t", "*") stands for every
# column of t, ("", name) for an output column, ("#", sql) for a grouped expression. What is
# known about the rows: unique keys (attribute tuples) and functional dependencies (a set of
# attributes determines another set). A fan-out join leaves the columns of the rows it
# repeats marked with the key of the repeating side (the multiplier).
#
# The rules. A table's keys are the grains it declares or tests (a model's: its inferred
# grain if known). `a join b on a.k = b.k` keeps a's keys if b.k (with constants the
# condition fixes) covers a key of b; otherwise each key becomes a's key plus b's and the
# join is a fan-out, whose side is b. Left joins fan out like inner joins; outer joins keep
# only the equalities that hold on rows padded with nulls. GROUP BY, DISTINCT (ON),
# `qualify row_number() over (partition by k) = 1` and a filter `rn = 1` on such a column
# leave one row per group: a fan-out the group does not keep is folded back, and a sum of
# a value the fan-out repeated is reported. A union all is keyed when a constant column
# tells its branches apart. Casts keep a column's values apart except casts to a date or a
# time under a new name. The output grain is the smallest set of selected columns that
# determines a key. Unknown, never safe: a table with no stated grain, SQL that does not
# parse, a recursive CTE, unnest, values, lateral and positional joins, rollup and cube,
# PIVOT and UNPIVOT, and a set-returning function (unnest, explode, generate_series, ...)
# in the select list or a lateral view: each can turn one row into several. Only a
# DISTINCT (ON), applied after them, gives such rows a key again.

Attr = tuple[str, str]
FD = tuple[frozenset, frozenset]
_OUT = ""
_EXPR = "#"


def _has(known: set, attr: Attr) -> bool:
    return attr in known or (attr[0], "*") in known


def _covers(known: set, attrs: Iterable[Attr]) -> bool:
    return all(_has(known, a) for a in attrs)


class Closures:
    """Attribute closures under a fixed list of functional dependencies, each computed in
    time linear in what it reaches (an index from each attribute to the dependencies whose
    left side holds it, and a count of each left side's attributes not yet known).

    >>> fds = [(frozenset({("o", "id")}), frozenset({("o", "*")}))]
    >>> fds += [(frozenset({("o", "customer_id")}), frozenset({("c", "name")}))]
    >>> sorted(Closures(fds)({("o", "id")}))
    [('c', 'name'), ('o', '*'), ('o', 'id')]
    """

    def __init__(self, fds: Iterable[FD]):
        self.fds = [(lhs, rhs) for lhs, rhs in fds]
        self.needs = [len(lhs) for lhs, _ in self.fds]
        self.by_attr: dict[Attr, list[int]] = {}
        self.by_alias: dict[str, set[Attr]] = {}  # the left-side attributes of each alias
        for i, (lhs, _) in enumerate(self.fds):
            for a in lhs:
                self.by_attr.setdefault(a, []).append(i)
                self.by_alias.setdefault(a[0], set()).add(a)
        self.constant = [a for lhs, rhs in self.fds if not lhs for a in rhs]  # no left side

    def __call__(self, attrs: Iterable[Attr]) -> set:
        """Every attribute the given ones determine (`(t, "*")`: every column of t)."""
        needs = self.needs.copy()
        known: set = set()
        met: set = set()  # left-side attributes known, directly or through a star
        queue = list(attrs)
        queue += self.constant
        while queue:
            attr = queue.pop()
            if attr in known:
                continue
            known.add(attr)
            if attr[1] == "*":
                newly = [a for a in self.by_alias.get(attr[0], ()) if a not in met]
            else:
                newly = [attr] if attr not in met and attr in self.by_attr else []
            for a in newly:
                met.add(a)
                for i in self.by_attr[a]:
                    needs[i] -= 1
                    if needs[i] == 0:
                        queue.extend(b for b in self.fds[i][1] if b not in known)
        return known


def _closure(attrs: Iterable[Attr], fds: Sequence[FD]) -> set:
    """Every attribute the given ones determine.

    >>> fds = [(frozenset({("o", "id")}), frozenset({("o", "*")}))]
    >>> sorted(_closure({("o", "id")}, fds))
    [('o', '*'), ('o', 'id')]
    >>> _has(_closure({("o", "id")}, fds), ("o", "amount"))
    True
    """
    return Closures(fds)(attrs)


def _show(attr: Attr) -> str:
    return attr[1] if attr[0] in (_OUT, _EXPR) else f"{attr[0]}.{attr[1]}"


@dataclass(frozen=True)
class _Repeat:
    """Values repeated by a fan-out: once per value of `multiplier` (None: not selected),
    for each row of the original rows' key `rowkey`."""

    multiplier: tuple | None
    rowkey: tuple | None
    fanout: FanOut


@dataclass(frozen=True)
class _Shape:
    """What is known about a relation's rows, in its own column names."""

    label: str
    columns: tuple[str, ...] | None = None  # None: not known (select * from a source)
    keys: tuple[tuple[str, ...], ...] = ()
    fds: tuple[FD, ...] = ()
    repeated: Mapping[str, _Repeat] = field(default_factory=dict)  # "*": every column
    fans: tuple[tuple[FanOut, tuple[str, ...] | None], ...] = ()
    unknown: str | None = None
    row_numbers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)  # column -> its one value
    # the keys that carry a stated grain (declared or tested, a dedup, a union's tags...):
    # the others only bound the grain from above (a group by may list dependent columns)
    stated: frozenset = frozenset()
    firsts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # rn = 1 flags
    doubts: tuple[str, ...] = ()  # joins that may fan out, which cannot be told

    def unique(self, columns: Sequence[str]) -> bool | None:
        """Whether these columns are unique in the rows; None if no key is known."""
        if not self.keys:
            return None
        known = _closure({(_OUT, c) for c in columns}, self._fds(_OUT))
        return any(_covers(known, ((_OUT, c) for c in key)) for key in self.keys)

    def contradicts(self, columns: Sequence[str]) -> bool:
        """Whether a stated grain of the rows is finer than these columns: they are not
        unique, by what the project states (not merely not known to be unique)."""
        return bool(self.stated) and not self.unique(columns)

    def _fds(self, alias: str) -> list[FD]:
        fds = [
            (frozenset((alias, c) for c in lhs), frozenset((alias, c) for c in rhs))
            for lhs, rhs in self.fds
        ]
        everything = frozenset({(alias, "*")})
        return fds + [(frozenset((alias, c) for c in key), everything) for key in self.keys]


_LAYER_PREFIXES = ("stg_", "dim_", "fct_", "int_", "base_", "raw_", "src_", "seed_", "ref_")


def _entity_names(label: str) -> set[str]:
    """The column names that name a relation's own entity: `encounter_group` (or with
    `_id`, `_key`, `_code`, `_name`) for `semantic_layer__dim_encounter_groups`.

    >>> sorted(_entity_names("shop.raw_order_items"))[:3]
    ['order_item', 'order_item_code', 'order_item_id']
    """
    name = label.rsplit(".", 1)[-1].rsplit("__", 1)[-1].lower()
    for prefix in _LAYER_PREFIXES:
        name = name.removeprefix(prefix)
    singular = {name, name[:-1] if name.endswith("s") and not name.endswith("ss") else name}
    return {
        f"{n}{suffix}" for n in singular if n for suffix in ("", "_id", "_key", "_code", "_name")
    }


def _unknown(label: str, reason: str) -> _Shape:
    return _Shape(label, unknown=reason)


class _Scope:
    """The rows of one SELECT while its FROM, joins and WHERE are read."""

    def __init__(self, model: str):
        self.model = model
        self.shapes: dict[str, _Shape] = {}
        self.keys: list[tuple[Attr, ...]] = []
        self.fds: list[FD] = []
        self.repeated: dict[Attr, _Repeat] = {}
        self.fans: list[tuple[FanOut, tuple[Attr, ...] | None]] = []
        self.unknown: str | None = None
        self.stated: set[tuple[Attr, ...]] = set()  # the keys that carry a stated grain
        self.doubts: list[str] = []
        self.multiplied = False  # a set-returning call made rows of rows

    def closure(self, attrs: Iterable[Attr]) -> set:
        return _closure(attrs, self.fds)

    def repeat_of(self, attr: Attr) -> _Repeat | None:
        return self.repeated.get(attr) or self.repeated.get((attr[0], "*"))

    def _take(self, alias: str, shape: _Shape) -> None:
        def q(cols):
            return None if cols is None else tuple((alias, c) for c in cols)

        self.shapes[alias] = shape
        self.fds += shape._fds(alias)
        for column, r in shape.repeated.items():
            self.repeated[(alias, column)] = _Repeat(q(r.multiplier), q(r.rowkey), r.fanout)
        self.fans += [(f, q(m)) for f, m in shape.fans]
        self.doubts += [d for d in shape.doubts if d not in self.doubts]

    def start(self, alias: str, shape: _Shape) -> None:
        self._take(alias, shape)
        self.keys = [tuple((alias, c) for c in key) for key in shape.keys]
        self.stated = {tuple((alias, c) for c in key) for key in shape.stated}
        if not self.keys:
            self.unknown = shape.unknown or f"{shape.label} has no known grain"

    def one_row(self) -> None:
        self.keys = [()]
        self.stated = {()}

    def _products(self, before: list, right: list, right_stated: set) -> None:
        """The keys of a product of the rows so far with `right`'s: a key of each."""
        stated = set(self.stated)
        self.keys = [k + rk for k in before for rk in right]
        self.stated = {k + rk for k in before for rk in right if k in stated and rk in right_stated}

    def multiply(self, reason: str) -> None:
        """Each row can become several (a set-returning function): no key is left."""
        self.multiplied = True
        if self.keys:
            self.unknown = reason
        self.keys = []

    def resolve(self, column: exp.Column) -> Attr | None:
        """The attribute a column reference names, if it can be told."""
        name = column.name.lower()
        table = column.table.lower()
        if table:
            return (table, name) if table in self.shapes else None
        return self.resolve_name(name, self.shapes)

    def resolve_name(self, name: str, aliases: Iterable[str]) -> Attr | None:
        aliases = list(aliases)
        having = [
            a for a in aliases if (self.shapes[a].columns or ()) and name in self.shapes[a].columns
        ]
        if len(having) == 1:
            return (having[0], name)
        if not having:
            unknown = [a for a in aliases if self.shapes[a].columns is None]
            if len(unknown) == 1:
                return (unknown[0], name)
        return None

    def attrs_of(self, node: exp.Expression) -> set | None:
        """The attributes an expression reads; None if one cannot be resolved."""
        attrs = set()
        for column in _outside(node):
            if isinstance(column, exp.Subquery | exp.Select | exp.Window):
                return None
            if isinstance(column, exp.Column) and not isinstance(column.this, exp.Star):
                attr = self.resolve(column)
                if attr is None:
                    return None
                attrs.add(attr)
        return attrs

    def _binding(self, conjunct: exp.Expression, alias: str, left: set) -> tuple | None:
        """(left attributes, attribute of `alias`, is a plain equality) for a condition that
        fixes one column of `alias` from the left side or a constant; None otherwise."""
        if isinstance(conjunct, exp.Is) and isinstance(conjunct.expression, exp.Null):
            pairs = [(conjunct.expression, conjunct.this)]
        elif isinstance(conjunct, exp.EQ):
            pairs = [(conjunct.this, conjunct.expression), (conjunct.expression, conjunct.this)]
        else:
            return None
        for other, mine in pairs:
            mine = _strip(mine)
            if not isinstance(mine, exp.Column):
                continue
            attr = self.resolve(mine)
            if attr is None or attr[0] != alias:
                continue
            attrs = self.attrs_of(other)
            if attrs is not None and all(a[0] in left for a in attrs) and _deterministic(other):
                plain = isinstance(_strip(other), exp.Column)
                return frozenset(attrs), attr, plain
        return None

    def join(
        self,
        alias: str,
        shape: _Shape,
        conjuncts: list,
        condition: str,
        side: str = "",
        at_most_one: bool = False,
        cross: bool = False,
        unmatched: set | frozenset = frozenset(),
    ) -> None:
        """Join `shape` as `alias`, bound to the rows so far by `conjuncts` (equalities).

        `side` is LEFT, RIGHT or FULL for an outer join: rows padded with nulls keep the
        fan-out rule of an inner join but not every equality. `at_most_one`: the join finds
        at most one row whatever the grain (an asof join). `cross`: no condition at all, a
        product by design: its key is a key of each side, and no fan-out. `unmatched`:
        columns WHERE wants null; a left join on one of them keeps the unmatched rows only
        (an anti-join), one per row.
        """
        left = set(self.shapes)
        before = list(self.keys)
        self._take(alias, shape)
        bindings = [b for c in conjuncts if (b := self._binding(c, alias, left))]
        bound = {attr for _, attr, _ in bindings}
        lhs_all = frozenset().union(*(lhs for lhs, _, _ in bindings))
        # which equalities hold on every output row: the padded side's values can be null
        forward = side in ("", "LEFT")  # left columns determine the joined row's columns
        backward = side in ("", "RIGHT")  # and the joined row's key columns the left ones
        for lhs, attr, plain in bindings:
            if forward and (lhs or not side):  # a constant binds the rows of an inner join
                self.fds.append((lhs, frozenset({attr})))
            if backward and plain and lhs:
                self.fds.append((frozenset({attr}), lhs))
        columns = tuple(sorted(a[1] for a in bound))
        if side == "LEFT" and any(a in unmatched for a in bound):
            return  # an anti-join: each row kept once, padded with nulls
        if at_most_one and forward:
            self.fds.append((frozenset((a, "*") for a in left), frozenset({(alias, "*")})))
            return
        if not shape.keys:
            self.keys = []
            self.unknown = self.unknown or (
                f"cannot tell whether {alias} ({shape.label}) is unique on {_cols(columns)}: "
                + (shape.unknown or "its grain is not known")
            )
            return
        right_keys = [tuple((alias, c) for c in key) for key in shape.keys]
        right_stated = {tuple((alias, c) for c in key) for key in shape.stated}
        reach = _closure(bound, shape._fds(alias))
        if at_most_one or any(_covers(reach, key) for key in right_keys):  # many-to-one
            if forward:
                self.fds.append((lhs_all, frozenset({(alias, "*")})))
            else:  # the unmatched rows of `alias` come padded: the key needs both sides
                self._products(before, right_keys, right_stated)
            return
        if cross and not bound:  # a product by design (a date spine): a key of each side
            self._products(before, right_keys, right_stated)
            return
        grain = next((k for k in shape.keys if k in shape.stated), None)
        named = [c for c in columns if c in _entity_names(shape.label)]
        if grain is not None and named:  # a join on the relation's own entity: a lookup
            self.doubts.append(
                f"cannot tell whether {alias} ({shape.label}) is unique on {_cols(columns)}: "
                f"its stated grain is {_cols(grain)}, but {named[0]} names its entity (an "
                "alternate key, as a lookup has)"
            )
            self._products(before, right_keys, set())  # a bound, not a grain
            return
        if grain is None:  # its key bounds its grain from above: it may be coarser
            self.doubts.append(
                f"cannot tell whether {alias} ({shape.label}) is unique on {_cols(columns)}: "
                f"its rows are one per {_cols(shape.keys[0])}, a key its SQL gives (by a "
                "group by or distinct), not a stated grain"
            )
            self._products(before, right_keys, set())  # a bound, not a grain
            return
        fanout = FanOut(
            model=self.model,
            join=condition,
            side=alias,
            relation=shape.label,
            side_grain=grain,
            join_columns=columns,
            many_to_many=bool(before)
            and not any(_covers(self.closure(lhs_all), k) for k in before),
        )
        multiplier = tuple((alias, c) for c in grain)
        rowkey = before[0] if before else None
        for attr, r in list(self.repeated.items()):
            if attr[0] in left:
                merged = None if r.multiplier is None else r.multiplier + multiplier
                self.repeated[attr] = _Repeat(merged, r.rowkey, r.fanout)
        for a in left:
            if (a, "*") not in self.repeated:
                self.repeated[(a, "*")] = _Repeat(multiplier, rowkey, fanout)
        self.fans.append((fanout, multiplier))
        self._products(before, right_keys, right_stated)

    def where(self, conjuncts: list) -> None:
        """Equalities in WHERE: a column equal to a constant or to another column."""
        for c in conjuncts:
            flag = _strip(c)
            if isinstance(flag, exp.Is) and isinstance(flag.expression, exp.Boolean):
                flag = flag.this if flag.expression.this else None
            if isinstance(flag, exp.Column) and (attr := self.resolve(flag)) is not None:
                self._first_filter(attr)  # where is_latest
                continue
            if isinstance(c, exp.Is) and isinstance(c.expression, exp.Null):
                c = exp.EQ(this=c.this, expression=exp.Null())
            if not isinstance(c, exp.EQ):
                continue
            one, two = _strip(c.this), _strip(c.expression)
            if isinstance(two, exp.Column) and not isinstance(one, exp.Column):
                one, two = two, one
            if not isinstance(one, exp.Column) or (attr := self.resolve(one)) is None:
                continue
            if _is_constant(two):
                self.fds.append((frozenset(), frozenset({attr})))
                if _literal_int(two) == 1:
                    self._row_number_filter(attr)
                if isinstance(two, exp.Boolean) and two.this:
                    self._first_filter(attr)
            elif isinstance(two, exp.Column) and (other := self.resolve(two)):
                self.fds += [
                    (frozenset({attr}), frozenset({other})),
                    (frozenset({other}), frozenset({attr})),
                ]

    def _row_number_filter(self, attr: Attr) -> None:
        partition = self.shapes[attr[0]].row_numbers.get(attr[1])
        if partition is not None:
            self.collapse(tuple((attr[0], c) for c in partition), keep_keys=True)

    def _first_filter(self, attr: Attr) -> None:
        """`where is_latest` on a flag `row_number() over (partition by k ...) = 1`."""
        partition = self.shapes[attr[0]].firsts.get(attr[1])
        if partition is not None:
            self.collapse(tuple((attr[0], c) for c in partition), keep_keys=True)

    def collapse(self, group: tuple[Attr, ...], keep_keys: bool = False) -> None:
        """The rows become one per value of `group`: fan-outs and repetitions whose
        multiplier the group does not determine are absorbed."""
        known = self.closure(group)
        self.fans = [(f, m) for f, m in self.fans if m is not None and _covers(known, m)]
        self.repeated = {
            a: r
            for a, r in self.repeated.items()
            if r.multiplier is not None and _covers(known, r.multiplier)
        }
        if keep_keys:  # a dedup: one row per partition, as its author states
            self.keys = [group, *self.keys]
            self.stated.add(group)
        else:  # a group by: its columns may include dependent ones, a key but not a grain
            self.keys = [group]
            self.stated = set()
        self.unknown = None
