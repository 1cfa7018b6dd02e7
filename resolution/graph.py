"""Union-find over record keys, with the constraints clustering needs.

`ConstrainedUnionFind` refuses a union that would put two records with different tax identities in
one legal entity, or two records an analyst said must not match in one cluster. Refused unions are
counted, so a build can report how much evidence contradicted itself.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable


class UnionFind:
    """Disjoint sets over hashable items, with path halving and union by size."""

    def __init__(self, items: Iterable[Hashable] = ()) -> None:
        self._parent: dict[Hashable, Hashable] = {}
        self._size: dict[Hashable, int] = {}
        for item in items:
            self.add(item)

    def add(self, item: Hashable) -> None:
        if item not in self._parent:
            self._parent[item] = item
            self._size[item] = 1

    def __contains__(self, item: Hashable) -> bool:
        return item in self._parent

    def find(self, item: Hashable) -> Hashable:
        parent = self._parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def _link(self, ra: Hashable, rb: Hashable) -> Hashable:
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]
        return ra

    def union(self, a: Hashable, b: Hashable) -> bool:
        """Join the sets of `a` and `b`; False when they already were one."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self._link(ra, rb)
        return True

    def same(self, a: Hashable, b: Hashable) -> bool:
        return self.find(a) == self.find(b)

    def groups(self) -> dict[Hashable, list[Hashable]]:
        """Root -> members, members in insertion order."""
        out: dict[Hashable, list[Hashable]] = {}
        for item in self._parent:
            out.setdefault(self.find(item), []).append(item)
        return out


class ConstrainedUnionFind(UnionFind):
    """Union-find whose sets carry keyed values and forbidden partners.

    - keyed values: an item may carry values under keys (e.g. {"tax_id": {"7707083893"}}, or a
      name as key and its tax numbers as values); a set holds the union of its items' values. A union
      is refused when the two sets both have a key and their values for it do not overlap: with one
      key this says "one tax identity per legal entity"; with names as keys, "no two namesakes with
      different tax numbers in one client".
    - cannot-link pairs: a union that would put both items of such a pair in one set is refused.

    `union(..., force=True)` joins regardless of keyed values (never of cannot-link pairs): for
    evidence strong enough to override them, such as a shared tax number.
    """

    def __init__(
        self,
        items: Iterable[Hashable] = (),
        keys: dict[Hashable, dict[Hashable, Iterable[Hashable]]] | None = None,
        cannot_link: Iterable[tuple[Hashable, Hashable]] = (),
    ) -> None:
        super().__init__(items)
        self._keys: dict[Hashable, dict[Hashable, set[Hashable]]] = {}
        for item, mapping in (keys or {}).items():
            self.add(item)
            kept = {k: set(v) for k, v in mapping.items() if v}
            if kept:
                self._keys[item] = kept
        self._forbidden: dict[Hashable, set[Hashable]] = {}
        for a, b in cannot_link:
            self.add(a)
            self.add(b)
            self._forbidden.setdefault(a, set()).add(b)
            self._forbidden.setdefault(b, set()).add(a)
        self.refused = 0

    def size(self, item: Hashable) -> int:
        """How many items the set of `item` holds."""
        return self._size[self.find(item)]

    def drop_key(self, item: Hashable, key: Hashable) -> None:
        """Forget what the set of `item` holds under `key` (a value found not to describe it)."""
        keys = self._keys.get(self.find(item))
        if keys:
            keys.pop(key, None)

    def keys_of(self, item: Hashable) -> dict[Hashable, set[Hashable]]:
        return {k: set(v) for k, v in self._keys.get(self.find(item), {}).items()}

    def _keys_conflict(self, ra: Hashable, rb: Hashable, ignore: Iterable[Hashable] = ()) -> bool:
        ka, kb = self._keys.get(ra), self._keys.get(rb)
        if not ka or not kb:
            return False
        small, large = (ka, kb) if len(ka) <= len(kb) else (kb, ka)
        return any(
            k in large and k not in ignore and values.isdisjoint(large[k]) for k, values in small.items()
        )

    def _forbidden_between(self, ra: Hashable, rb: Hashable) -> bool:
        # forbidden partners are kept per set, by item; pairs are symmetric, so one side suffices
        fa, fb = self._forbidden.get(ra), self._forbidden.get(rb)
        if not fa or not fb:
            return False
        small, other_root = (fa, rb) if len(fa) <= len(fb) else (fb, ra)
        return any(self.find(x) == other_root for x in small)

    def can_union(
        self, a: Hashable, b: Hashable, force: bool = False, ignore: Iterable[Hashable] = ()
    ) -> bool:
        """Would `union(a, b, force)` join them? Keys named in `ignore` are not checked."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if not force and self._keys_conflict(ra, rb, frozenset(ignore)):
            return False
        return not self._forbidden_between(ra, rb)

    def union(self, a: Hashable, b: Hashable, force: bool = False) -> bool:
        """Join the sets of `a` and `b` unless a constraint forbids it; True when joined now."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if not self.can_union(a, b, force=force):
            self.refused += 1
            return False
        ka, kb = self._keys.pop(ra, None), self._keys.pop(rb, None)
        fa, fb = self._forbidden.pop(ra, set()), self._forbidden.pop(rb, set())
        root = self._link(ra, rb)
        if ka or kb:
            merged = {k: set(v) for k, v in (ka or {}).items()}
            for k, v in (kb or {}).items():
                merged.setdefault(k, set()).update(v)
            self._keys[root] = merged
        if fa or fb:
            self._forbidden[root] = fa | fb
        return True
