"""Union-find with the constraints client resolution needs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from resolution.graph import ConstrainedUnionFind, UnionFind


def test_union_joins_sets_and_reports_whether_it_did():
    uf = UnionFind("abcd")
    assert uf.union("a", "b")
    assert not uf.union("b", "a")
    assert uf.same("a", "b") and not uf.same("a", "c")
    assert sorted(sorted(g) for g in uf.groups().values()) == [["a", "b"], ["c"], ["d"]]


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), max_size=60))
def test_union_find_agrees_with_connected_components(edges):
    uf = UnionFind(range(21))
    for a, b in edges:
        uf.union(a, b)
    # reference: repeated relabelling until stable
    label = list(range(21))
    changed = True
    while changed:
        changed = False
        for a, b in edges:
            low = min(label[a], label[b])
            for x in (a, b):
                if label[x] != low:
                    label[x], changed = low, True
        for i in range(21):
            if label[label[i]] != label[i]:
                label[i], changed = label[label[i]], True
    for a in range(21):
        for b in range(21):
            assert uf.same(a, b) == (label[a] == label[b])


def test_two_sets_with_different_tax_identities_are_never_joined():
    uf = ConstrainedUnionFind("abc", keys={"a": {"tax": {"1"}}, "b": {"tax": {"2"}}})
    assert uf.union("a", "c")
    assert not uf.union("c", "b")
    assert uf.refused == 1
    assert uf.keys_of("c") == {"tax": {"1"}}


def test_namesakes_with_different_inns_block_a_union_but_other_names_do_not():
    keys = {"a": {("name", "альфа"): {"1"}}, "b": {("name", "альфа"): {"2"}}, "c": {("name", "бета"): {"3"}}}
    uf = ConstrainedUnionFind("abc", keys=keys)
    assert uf.union("a", "c")
    assert not uf.union("b", "c")


def test_a_forced_union_ignores_keys_and_later_unions_need_only_overlap():
    uf = ConstrainedUnionFind(
        "abc", keys={"a": {"domain": {"x.ru"}}, "b": {"domain": {"y.ru"}}, "c": {"domain": {"y.ru"}}}
    )
    assert not uf.union("a", "b")
    assert uf.union("a", "b", force=True)
    assert uf.keys_of("a") == {"domain": {"x.ru", "y.ru"}}
    assert uf.union("a", "c")


def test_cannot_link_pairs_hold_through_chains_and_forced_unions():
    uf = ConstrainedUnionFind("abcd", cannot_link=[("a", "d")])
    assert uf.union("a", "b")
    assert uf.union("c", "d")
    assert not uf.union("b", "c", force=True)
    assert not uf.same("a", "d")


def test_a_key_can_be_ignored_in_the_check_and_dropped_from_a_set():
    uf = ConstrainedUnionFind("ab", keys={"a": {"domain": {"x.ru"}, "tax": {"1"}}, "b": {"domain": {"y.ru"}}})
    assert not uf.can_union("a", "b")
    assert uf.can_union("a", "b", ignore=("domain",))
    uf.drop_key("a", "domain")
    assert uf.keys_of("a") == {"tax": {"1"}}
    assert uf.union("a", "b")
    assert uf.size("b") == 2
    assert uf.keys_of("a") == {"tax": {"1"}, "domain": {"y.ru"}}
