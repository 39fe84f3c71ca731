"""Values around and above the size that leaves the leaf page (stored out
of line, src/kv/schema.h): the store still behaves like a sorted dict, and
no out-of-line value outlives the row that referred to it."""
import os
import sqlite3
import tempfile

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import rule

import snkv
from test_properties import StoreModel

# With 4 KiB pages a row of key k (up to 6 bytes here) and value v stays
# on its leaf while 1 + 2 + 1 + 1 + len(k) + len(v) <= 1002 or so: sizes
# on both sides of that, and far above it.
sizes = st.sampled_from([0, 7, 990, 994, 995, 996, 997, 998, 1200, 5000,
                         20000])
values = sizes.flatmap(lambda n: st.binary(min_size=n, max_size=n))
keys = st.binary(min_size=0, max_size=6)


class LargeValueModel(StoreModel):
    def __init__(self):
        # A file, so that a second connection can look at the tables.
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "s.db")
        super().__init__()
        self.db.close()
        self.db = snkv.KVStore(self.path)

    # The inherited rules draw small values; these draw large ones.
    @rule(k=keys, v=values)
    def put_large(self, k, v):
        self.db[k] = v
        self.view[k] = v

    @rule(k=keys, v=values)
    def put_if_absent_large(self, k, v):
        inserted = self.db.put_if_absent(k, v)
        assert inserted == (k not in self.view)
        self.view.setdefault(k, v)

    def teardown(self):
        self.db.close()
        raw = sqlite3.connect(self.path)
        try:
            tables = {r[0] for r in raw.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table'")}
            refs = raw.execute(
                "SELECT count(*) FROM kv_0 WHERE typeof(v) = 'integer'"
            ).fetchone()[0]
            stored = (raw.execute("SELECT count(*) FROM kv_0_values")
                      .fetchone()[0] if "kv_0_values" in tables else 0)
            assert refs == stored, (refs, stored)
            if refs:
                assert raw.execute("PRAGMA user_version").fetchone()[0] == 2
        finally:
            raw.close()
            self.dir.cleanup()


TestLargeValueModel = LargeValueModel.TestCase
TestLargeValueModel.settings = settings(
    max_examples=40, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
