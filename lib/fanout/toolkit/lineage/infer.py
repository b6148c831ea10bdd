"""The grain inference of one query: CTEs, joins, GROUP BY, DISTINCT, unions."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from sqlglot import exp
from sqlglot.errors import SqlglotError

from fanout.toolkit.lineage.manifest import DIALECT
from fanout.toolkit.lineage.projection import _Projection
from fanout.toolkit.lineage.results import Grain, InflatedSum, _cols
from fanout.toolkit.lineage.scope import (
    _EXPR,
    Attr,
    _covers,
    _Repeat,
    _Scope,
    _Shape,
    _unknown,
)
from fanout.toolkit.lineage.sql import (
    _aggregates,
    _arg,
    _conjuncts,
    _deterministic,
    _literal_int,
    _output_name,
    _outside,
    _parse,
    _set_returning,
    _sql,
    _strip,
    _subtotals,
    _Unreadable,
)


def _empty(q: exp.Select, where: list) -> str | None:
    """Why a SELECT gives no rows by construction (`limit 0`, `where 1 = 0`), if it does:
    such a model is created empty and filled elsewhere (a hook, another environment), so
    its SQL says nothing of its rows."""
    limit = q.args.get("limit")
    if limit is not None and _literal_int(limit.expression) == 0:
        return "it is created empty (limit 0): its rows come from elsewhere (a hook)"
    for c in where:
        if _is_false(c):
            return f"it is created empty (where {_sql(c)}): its rows come from elsewhere (a hook)"
    return None


def _is_false(node: exp.Expression) -> bool:
    """A condition that is false on every row: `false`, `1 = 0`, `'a' = 'b'`."""
    node = _strip(node)
    if isinstance(node, exp.Boolean):
        return not node.this
    if isinstance(node, exp.EQ | exp.NEQ):
        one, two = _strip(node.this), _strip(node.expression)
        if isinstance(one, exp.Literal) and isinstance(two, exp.Literal):
            same = one.this == two.this and one.is_string == two.is_string
            return not same if isinstance(node, exp.EQ) else same
    return False


def _is_true(node: exp.Expression) -> bool:
    """A condition that holds on every row: `true`, `1 = 1`."""
    node = _strip(node)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.EQ):
        one, two = _strip(node.this), _strip(node.expression)
        return isinstance(one, exp.Literal) and one == two
    return False


def _null_columns(where: list) -> set[tuple[str, str]]:
    """(table, column) of each `table.column is null` in WHERE: after a left join on that
    column, the rows it keeps are the unmatched ones (an anti-join)."""
    found = set()
    for c in where:
        if isinstance(c, exp.Is) and isinstance(c.expression, exp.Null):
            column = _strip(c.this)
            if isinstance(column, exp.Column) and column.table:
                found.add((column.table.lower(), column.name.lower()))
    return found


def _aliases(node: exp.Expression) -> set[str]:
    """The table aliases a condition's columns name."""
    return {c.table.lower() for c in node.find_all(exp.Column) if c.table}


class _Cte:
    """A CTE, read on first use (a CTE nothing reads reports nothing)."""

    def __init__(self, infer: _Infer, query: exp.Expression, env: dict, name: str):
        self.infer, self.query, self.env, self.name = infer, query, env, name
        self.shape: _Shape | None = None

    def get(self) -> _Shape:
        if self.shape is None:
            self.shape = _unknown(self.name, f"CTE {self.name} reads itself")
            self.shape = self.infer.query(self.query, self.env, self.name)
        return self.shape


class _Infer:
    """Infers the grain of one query; `lookup` gives the shape of a table it reads."""

    def __init__(self, model: str, lookup: Callable[[exp.Table], _Shape], dialect: str = DIALECT):
        self.model = model
        self.lookup = lookup
        self.dialect = dialect  # the SQL's: reasons name its functions as it spells them
        self.sums: list[InflatedSum] = []

    def shown(self, node: exp.Expression) -> str:
        """An expression as the SQL's dialect writes it, cut at 80 characters."""
        try:
            text = node.sql(dialect=self.dialect, normalize_functions="lower")
        except SqlglotError:
            text = _sql(node)
        return text if len(text) <= 80 else text[:77] + "..."

    def query(self, q: exp.Expression, env: dict, label: str) -> _Shape:
        with_ = _arg(q, "with")
        if with_ is not None:
            if with_.args.get("recursive"):
                return _unknown(label, "a recursive CTE")
            env = dict(env)
            for cte in with_.expressions:
                name = cte.alias.lower()
                env[name] = _Cte(self, cte.this, dict(env), name)
        if isinstance(q, exp.Subquery):
            return self.query(q.this, env, label)
        if isinstance(q, exp.Select):
            return self.select(q, env, label)
        if isinstance(q, exp.SetOperation):
            return self.setop(q, env, label)
        if isinstance(q, exp.Pivot):
            kind = "an UNPIVOT" if q.args.get("unpivot") else "a PIVOT"
            return _unknown(label, f"{kind} statement, whose grain is not inferred")
        return _unknown(label, f"cannot read a {q.key} statement")

    def relation(self, node: exp.Expression, env: dict) -> tuple[str, _Shape]:
        pivots = node.args.get("pivots") if isinstance(node, exp.Table | exp.Subquery) else None
        if pivots:
            named = [p.alias for p in pivots if p.alias]
            alias = (named[-1] if named else node.alias or node.name or "pivot").lower()
            kind = "an UNPIVOT" if any(p.args.get("unpivot") for p in pivots) else "a PIVOT"
            shown = node.name if isinstance(node, exp.Table) and node.name else "a subquery"
            return alias, _unknown(alias, f"{kind} of {shown}, whose grain is not inferred")
        if isinstance(node, exp.Subquery):
            alias = node.alias.lower() or "subquery"
            return alias, self.query(node.this, env, alias)
        if isinstance(node, exp.Table):
            if isinstance(node.this, exp.Func):
                alias = node.alias.lower() or type(node.this).__name__.lower()
                return alias, self.lookup(node)
            name = node.name.lower()
            alias = node.alias.lower() or name
            if not node.args.get("db") and name in env:
                return alias, env[name].get()
            return alias, self.lookup(node)
        alias = node.alias.lower() if hasattr(node, "alias") and node.alias else node.key
        return alias, _unknown(alias, f"reads {_sql(node)[:60]}, whose grain is not known")

    def select(self, q: exp.Select, env: dict, label: str) -> _Shape:
        scope = _Scope(self.model)
        source = _arg(q, "from")
        where = _conjuncts(q.args["where"].this) if q.args.get("where") else []
        joins = q.args.get("joins") or []
        origin = label
        empty = _empty(q, where)
        if empty is not None:
            return _unknown(label, empty)
        if source is None:
            scope.one_row()
        else:
            alias, shape = self.relation(source.this, env)
            scope.start(alias, shape)
            windows = any(isinstance(n, exp.Window) for e in q.expressions for n in _outside(e))
            if not (joins or q.args.get("group") or q.args.get("distinct") or windows):
                origin = shape.label  # a plain projection: findings name what it reads
        for join in joins:
            if join.kind in ("SEMI", "ANTI"):
                continue
            alias, shape = self.relation(join.this, env)
            on, using = join.args.get("on"), join.args.get("using")
            method = (join.method or "").upper()
            if method == "NATURAL":
                left = [scope.shapes[a].columns for a in scope.shapes]
                if shape.columns is None or any(c is None for c in left):
                    shape = _unknown(shape.label, "a natural join on columns that are not known")
                else:
                    common = [c for c in shape.columns if any(c in cols for cols in left)]
                    using = [exp.to_identifier(c) for c in common]
            elif method == "POSITIONAL":
                shape = _unknown(shape.label, "a positional join")
            if using:
                left = [a for a in scope.shapes if a != alias]
                conjuncts = []
                for ident in using:
                    name = ident.name.lower()
                    side = scope.resolve_name(name, left) if left else None
                    if side is not None:
                        conjuncts.append(exp.column(name, side[0]).eq(exp.column(name, alias)))
                condition = f"using ({', '.join(i.name for i in using)})"
            elif on is not None:
                conjuncts, condition = _conjuncts(on), _sql(on)
            elif join.kind != "CROSS":  # a comma join: WHERE says how
                conjuncts, condition = where, "where " + " and ".join(_sql(c) for c in where)
            else:
                conjuncts, condition = [], "cross join"
            side = (join.side or "").upper()
            cross = not conjuncts or all(_is_true(c) for c in conjuncts)
            if on is None and not using and join.kind != "CROSS":  # a comma join
                cross = not any(alias in _aliases(c) for c in where)
            scope.join(
                alias,
                shape,
                conjuncts,
                condition,
                side,
                at_most_one=method == "ASOF",
                cross=cross and method != "ASOF",
                unmatched=_null_columns(where),
            )
        for lateral in q.args.get("laterals") or []:  # Spark's lateral view explode(...)
            alias = lateral.alias.lower() or "lateral"
            columns = tuple(c.lower() for c in lateral.alias_column_names)
            scope._take(alias, _Shape(alias, columns=columns or None))
            scope.multiply(f"lateral view {self.shown(lateral.this)} can give several rows per row")
        scope.where(where)
        outputs, stars = self.expand(q, scope)
        qualify = q.args.get("qualify")
        if qualify is not None:
            self.qualify(_conjuncts(qualify.this), scope)
        group = self.group(q, scope, outputs, stars)
        if group is not None:
            self.check_sums(outputs, scope, group)
            scope.collapse(group)
            if _subtotals(q):
                scope.keys, scope.unknown = [], "group by rollup, cube or grouping sets"
        # A set-returning function in the select list runs after grouping, windows and
        # qualify, and before DISTINCT (ON), which alone still leaves a key.
        srf = next((f for e in q.expressions if (f := _set_returning(e)) is not None), None)
        if srf is not None and (q.args.get("distinct") is None or q.args.get("group")):
            scope.multiply(f"{self.shown(srf)} in the select list can give several rows per row")
        shape = self.project(scope, outputs, stars, group, origin)
        if srf is not None:  # row numbers were given before the rows multiplied
            shape = replace(shape, row_numbers={})
        return shape

    def expand(self, q: exp.Select, scope: _Scope) -> tuple[list, list]:
        """The output columns as (name, expression or attribute), stars expanded where the
        columns are known; the aliases whose unknown columns a star passes through."""
        outputs: list = []
        stars: list[str] = []
        for item in q.expressions:
            star = item if isinstance(item, exp.Star) else None
            aliases = list(scope.shapes)
            if isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
                star, aliases = item.this, [item.table.lower()]
            if star is None:
                outputs.append((_output_name(item), item))
                continue
            skip = {c.name.lower() for c in (_arg(star, "except") or [])}
            for alias in aliases:
                shape = scope.shapes.get(alias)
                if shape is None:
                    continue
                if shape.columns is None:
                    stars.append(alias)
                    continue
                for column in shape.columns:
                    if column not in skip:
                        outputs.append((column, (alias, column)))
        return outputs, stars

    def qualify(self, conjuncts: list, scope: _Scope) -> None:
        """`qualify row_number() over (partition by k ...) = 1` leaves one row per k."""
        for c in conjuncts:
            if not isinstance(c, exp.EQ | exp.LTE) or _literal_int(c.expression) != 1:
                continue
            window = c.this
            if isinstance(window, exp.Window) and isinstance(window.this, exp.RowNumber):
                attrs = [scope.attrs_of(p) for p in window.args.get("partition_by") or []]
                if all(a is not None and len(a) == 1 for a in attrs):
                    scope.collapse(tuple(a.pop() for a in attrs), keep_keys=True)

    def _group_item(self, node: exp.Expression, q: exp.Select, scope: _Scope) -> exp.Expression:
        """A GROUP BY item as an expression: ordinals and output aliases resolved."""
        position = _literal_int(node)
        if position is not None and 0 < position <= len(q.expressions):
            return q.expressions[position - 1].unalias()
        if isinstance(node, exp.Column) and not node.table and scope.resolve(node) is None:
            for item in q.expressions:
                if isinstance(item, exp.Alias) and item.alias.lower() == node.name.lower():
                    return item.unalias()
        return node

    def _attr(self, node: exp.Expression, scope: _Scope) -> Attr:
        """An attribute for an expression: its column, or a new one it determines."""
        core = _strip(node)
        if isinstance(core, exp.Column) and (attr := scope.resolve(core)):
            return attr
        attr = (_EXPR, _sql(core))
        attrs = scope.attrs_of(core)
        if attrs is not None and _deterministic(core):
            scope.fds.append((frozenset(attrs), frozenset({attr})))
        return attr

    def group(
        self, q: exp.Select, scope: _Scope, outputs: list, stars: list
    ) -> tuple[Attr, ...] | None:
        """The attributes the rows are grouped by (GROUP BY, DISTINCT, an aggregate alone)."""
        group = q.args.get("group")
        distinct = q.args.get("distinct")
        if group is not None:
            if group.args.get("all"):
                items = [e.unalias() for e in q.expressions if not _aggregates(e)]
            else:
                items = [self._group_item(g, q, scope) for g in group.expressions]
        elif distinct is not None:
            on = distinct.args.get("on")
            if on is not None:
                items = list(on.expressions) if isinstance(on, exp.Tuple) else [on]
            else:
                attrs = [e if isinstance(e, tuple) else self._attr(e, scope) for _, e in outputs]
                return tuple(dict.fromkeys(attrs + [(a, "*") for a in stars]))
        elif any(_aggregates(e) for e in q.expressions):
            items = []
        else:
            return None
        return tuple(dict.fromkeys(self._attr(i, scope) for i in items))

    def check_sums(self, outputs: list, scope: _Scope, group: tuple[Attr, ...]) -> None:
        """Report sums of values a fan-out repeated within a group."""
        for name, node in outputs:
            if isinstance(node, tuple):
                continue
            for total in _outside(node):
                if not isinstance(total, exp.Sum) or isinstance(total.this, exp.Distinct):
                    continue  # sum(distinct x) is not inflated by copies
                for column in total.find_all(exp.Column):
                    attr = scope.resolve(column)
                    r = scope.repeat_of(attr) if attr else None
                    if r is None:
                        continue
                    base = set(group) | set(r.rowkey or ())
                    if r.multiplier is not None and _covers(scope.closure(base), r.multiplier):
                        continue
                    found = InflatedSum(self.model, _sql(total), name, r.fanout)
                    if found not in self.sums:
                        self.sums.append(found)
                    break

    def project(
        self, scope: _Scope, outputs: list, stars: list, group: tuple | None, origin: str
    ) -> _Shape:
        """The relation the select list makes of the rows: its columns, minimal keys,
        dependencies and repeated values, in output names."""
        return _Projection(scope, outputs, stars, group).shape(origin)

    def setop(self, q: exp.SetOperation, env: dict, label: str) -> _Shape:
        branches: list[exp.Expression] = []

        def flatten(node: exp.Expression) -> None:
            if type(node) is type(q) and not _arg(node, "with"):
                flatten(node.this)
                flatten(node.expression)
            else:
                branches.append(node)

        flatten(q.this)
        flatten(q.expression)
        shapes = [self.query(b, env, label) for b in branches]
        fans = tuple(fan for s in shapes for fan in s.fans)
        distinct = bool(q.args.get("distinct"))
        if not isinstance(q, exp.Union):  # except, intersect: a subset of the first branch
            first = shapes[0]
            keys = first.keys
            if distinct and first.columns and first.columns not in keys:
                keys = (*keys, first.columns)
            return _Shape(
                label,
                first.columns,
                keys,
                first.fds,
                first.repeated,
                first.fans,
                first.unknown if not keys else None,
                stated=first.stated,
                doubts=first.doubts,
            )
        if any(s.columns is None for s in shapes):
            return _Shape(
                label, fans=fans, unknown="a union of relations whose columns are unknown"
            )
        columns = shapes[0].columns
        width = len(columns)
        if any(len(s.columns) != width for s in shapes):
            return _Shape(label, fans=fans, unknown="a union of branches of different widths")
        values = [[s.constants.get(c) for c in s.columns] for s in shapes]
        tags = [
            p
            for p in range(width)
            if len({v[p] for v in values} - {None}) == len(branches)
            and all(v[p] is not None for v in values)
        ]
        keys: list[tuple[str, ...]] = []
        stated: set[tuple[str, ...]] = set()
        for key, tag in ((k, t) for k in shapes[0].keys for t in tags):  # any one tag tells
            positions = {shapes[0].columns.index(c) for c in key} | {tag}
            if all(
                any({s.columns.index(c) for c in k} <= positions for k in s.keys)
                for s in shapes[1:]
            ):
                found = tuple(columns[p] for p in sorted(positions))
                if found not in keys:
                    keys.append(found)
                if key in shapes[0].stated and all(s.stated for s in shapes[1:]):
                    stated.add(found)
        keys = [k for k in keys if not any(set(j) < set(k) for j in keys)]
        stated &= set(keys)
        if distinct and columns not in keys:
            keys.append(columns)
        repeated: dict[str, _Repeat] = {}
        for s in shapes:
            for p, c in enumerate(s.columns):
                r = s.repeated.get(c) or s.repeated.get("*")
                if r is not None and columns[p] not in repeated:
                    repeated[columns[p]] = _Repeat(None, None, r.fanout)
        unknown = None
        if not keys:
            unknown = (
                "a union all whose branches no constant column tells apart"
                if all(s.keys for s in shapes)
                else next(s.unknown for s in shapes if not s.keys)
            )
        doubts = tuple(dict.fromkeys(d for s in shapes for d in s.doubts))
        fans = tuple((f, None) for f, _ in fans)
        return _Shape(
            label,
            columns,
            tuple(keys),
            (),
            repeated,
            fans,
            unknown,
            stated=frozenset(stated),
            doubts=doubts,
        )


def _grain(shape: _Shape, infer: _Infer) -> Grain:
    keys, reason = shape.keys, shape.unknown
    if shape.columns is not None:  # never claim a key that is not an output column
        keys = tuple(k for k in keys if set(k) <= set(shape.columns))
        if shape.keys and not keys:
            reason = f"its key {_cols(shape.keys[0])} is not among its output columns"
    return Grain(
        key=keys[0] if keys else None,
        keys=keys,
        reason=reason if not keys else None,
        fanouts=tuple(dict.fromkeys(f for f, _ in shape.fans)),
        sums=tuple(infer.sums),
        doubts=shape.doubts,
    )


def infer_grain(
    sql: str,
    grains: Mapping[str, Sequence[Sequence[str]] | None],
    *,
    name: str = "query",
    dialect: str = DIALECT,
) -> Grain:
    """The grain a query gives, when each table it reads (by name) has the given grains.

    A table missing from `grains`, or mapped to None or [], has no known grain.

    >>> g = infer_grain("select order_id, sum(qty) as qty from items group by 1", {})
    >>> g.key
    ('order_id',)
    >>> infer_grain("select * from orders", {"orders": [["order_id"]]}).key
    ('order_id',)
    >>> print(infer_grain("select * from orders", {}).reason)
    orders has no known grain
    """
    known = {k.lower(): v for k, v in grains.items()}

    def lookup(table: exp.Table) -> _Shape:
        label = table.name.lower()
        keys = tuple(tuple(c.lower() for c in g) for g in known.get(label) or ())
        reason = None if keys else f"{label} has no known grain"
        return _Shape(label, keys=keys, unknown=reason, stated=frozenset(keys))

    infer = _Infer(name, lookup, dialect)
    try:
        shape = infer.query(_parse(sql, dialect), {}, name)
    except _Unreadable as exc:
        return Grain(None, reason=str(exc))
    return _grain(shape, infer)
