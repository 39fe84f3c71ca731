"""Property-based tests: the store behaves like a sorted dict."""
import bisect

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (RuleBasedStateMachine, invariant,
                                 precondition, rule)

import snkv

keys = st.binary(min_size=0, max_size=6)
values = st.binary(max_size=40)


class StoreModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.db = snkv.KVStore()
        self.model = {}
        self.staged = None  # model inside a write transaction

    def teardown(self):
        self.db.close()

    @property
    def view(self):
        return self.staged if self.staged is not None else self.model

    @rule(k=keys, v=values)
    def put(self, k, v):
        self.db[k] = v
        self.view[k] = v

    @rule(k=keys)
    def get(self, k):
        assert self.db.get(k) == self.view.get(k)
        assert (k in self.db) == (k in self.view)

    @rule(k=keys)
    def delete(self, k):
        try:
            del self.db[k]
            assert k in self.view
            del self.view[k]
        except snkv.NotFoundError:
            assert k not in self.view

    @rule(k=keys, v=values)
    def put_if_absent(self, k, v):
        inserted = self.db.put_if_absent(k, v)
        assert inserted == (k not in self.view)
        self.view.setdefault(k, v)

    @rule(p=st.binary(max_size=2), reverse=st.booleans())
    def scan(self, p, reverse):
        want = sorted((k, v) for k, v in self.view.items()
                      if k.startswith(p))
        if reverse:
            want.reverse()
        assert list(self.db.iterator(prefix=p, reverse=reverse)) == want

    @rule(target_key=keys, reverse=st.booleans())
    def seek(self, target_key, reverse):
        ks = sorted(self.view)
        it = self.db.iterator(reverse=reverse)
        it.seek(target_key)
        if reverse:
            i = bisect.bisect_right(ks, target_key) - 1
            want = ks[i] if i >= 0 else None
        else:
            i = bisect.bisect_left(ks, target_key)
            want = ks[i] if i < len(ks) else None
        assert (None if it.eof else it.key) == want
        it.close()

    @precondition(lambda self: self.staged is None)
    @rule()
    def begin(self):
        self.db.begin(write=True)
        self.staged = dict(self.model)

    @precondition(lambda self: self.staged is not None)
    @rule()
    def commit(self):
        self.db.commit()
        self.model, self.staged = self.staged, None

    @precondition(lambda self: self.staged is not None)
    @rule()
    def rollback(self):
        self.db.rollback()
        self.staged = None

    @rule()
    def clear(self):
        self.db.clear()
        self.view.clear()

    @invariant()
    def count_matches(self):
        assert self.db.count() == len(self.view)


TestStoreModel = StoreModel.TestCase
TestStoreModel.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
