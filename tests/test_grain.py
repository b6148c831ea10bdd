"""Grain checks on tables with planted duplicate keys: exactly the planted ones are found."""

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from fanout.toolkit import grain

KEYS = st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["a", "b", "c"])), max_size=60)


def _table(rows):
    con = duckdb.connect()
    con.execute('create table "t t" (k1 integer, "k 2" varchar, payload integer)')
    if rows:
        con.executemany('insert into "t t" values (?, ?, ?)', [(*r, i) for i, r in enumerate(rows)])
    return con


@settings(max_examples=120, deadline=None)
@given(unique=KEYS.map(lambda ks: sorted(set(ks))), planted=st.data())
def test_finds_exactly_the_planted_duplicates(unique, planted):
    extra = planted.draw(st.lists(st.sampled_from(unique), max_size=20) if unique else st.just([]))
    rows = unique + extra
    report = grain.check(_table(rows), "t t", ["k1", "k 2"], examples=100)
    copies = {k: 1 + extra.count(k) for k in unique}
    duplicated = {k: n for k, n in copies.items() if n > 1}
    assert report.rows == len(rows)
    assert report.distinct_keys == len(unique)
    assert report.duplicated_keys == len(duplicated)
    assert report.rows_in_duplicates == sum(duplicated.values())
    assert report.max_rows_per_key == max(copies.values(), default=0)
    assert {k: n for k, n in report.examples} == duplicated
    assert report.ok == (not duplicated)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 5)), st.sampled_from("xy")), max_size=30
    )
)
def test_null_key_parts_are_counted(rows):
    report = grain.check(_table(rows), "t t", ["k1", "k 2"])
    assert report.null_key_rows == sum(r[0] is None for r in rows)
    if report.null_key_rows:
        assert not report.ok


def test_examples_are_the_worst_keys_first():
    rows = [(1, "a")] * 3 + [(2, "a")] * 5 + [(3, "b")] * 2 + [(4, "c")]
    report = grain.check(_table(rows), "t t", ["k1", "k 2"], examples=2)
    assert report.examples == (((2, "a"), 5), ((1, "a"), 3))
    assert report.rows_per_key == 11 / 4


def test_empty_relation_has_no_rows_and_holds_its_grain():
    report = grain.check(_table([]), "t t", ["k1"])
    assert (report.rows, report.distinct_keys, report.max_rows_per_key, report.ok) == (
        0,
        0,
        0,
        True,
    )
