"""Closed stores and their handles, garbage collection, use after fork."""
import gc
import os

import pytest

import snkv
from snkv import KVStore


def test_closed_store_raises_everywhere(path):
    db = KVStore(path)
    db["a"] = "1"
    db.close()
    assert db.closed
    calls = [
        lambda: db.put("a", "1"), lambda: db.get("a"), lambda: db["a"],
        lambda: db.delete("a"), lambda: db.exists("a"), lambda: "a" in db,
        lambda: db.ttl("a"), lambda: db.purge_expired(),
        lambda: db.put_if_absent("a", "1"), lambda: db.clear(),
        lambda: db.count(), lambda: db.begin(), lambda: db.commit(),
        lambda: db.rollback(), lambda: db.iterator(), lambda: list(db),
        lambda: db.create_column_family("x"),
        lambda: db.open_column_family("default"),
        lambda: db.list_column_families(), lambda: db.drop_column_family("x"),
        lambda: db.sync(), lambda: db.vacuum(), lambda: db.integrity_check(),
        lambda: db.checkpoint(), lambda: db.stats(), lambda: db.stats_reset(),
        lambda: db.reencrypt("x"), lambda: db.remove_encryption(),
    ]
    for call in calls:
        with pytest.raises(snkv.Error, match="closed"):
            call()
    assert db.is_encrypted() is False
    db.close()  # twice is fine
    with KVStore(path) as again:
        assert again["a"] == b"1"


def test_close_invalidates_iterators_and_families(path):
    db = KVStore(path)
    for i in range(500):
        db[f"{i:03d}"] = "x"
    cf = db.create_column_family("cf")
    it = db.iterator()
    next(it)
    db.close()
    with pytest.raises(snkv.Error, match="closed"):
        cf["a"] = "1"
    with pytest.raises(snkv.Error, match="closed"):
        cf.iterator()
    with pytest.raises(snkv.Error, match="closed"):
        list(it)
    with pytest.raises(snkv.Error, match="closed"):
        it.seek("1")
    it.close()
    cf.close()


def test_close_releases_the_file(path):
    db = KVStore(path)
    it = db.iterator()
    db["a"] = "1"
    next(iter(db))
    db.close()
    # No lock or snapshot is left: another handle can truncate the WAL.
    with KVStore(path) as other:
        other["b"] = "2"
        assert other.checkpoint(snkv.CHECKPOINT_TRUNCATE) == (0, 0)
    del it


def test_gc_closes(path):
    db = KVStore(path)
    db["a"] = "1"
    del db
    gc.collect()
    with KVStore(path) as db:
        assert db.checkpoint(snkv.CHECKPOINT_TRUNCATE) == (0, 0)


def test_store_subclass_and_repr(path):
    class My(KVStore):
        pass
    with My(path) as db:
        assert "open" in repr(db)
    assert "closed" in repr(db)
    assert isinstance(My.open_encrypted(None, "p"), My)


def _in_child(body):
    """Runs body() in a forked child; returns its exit status (0 = ok)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if body() else 2
        except BaseException:
            import traceback
            traceback.print_exc()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_fork_child_cannot_use_parent_handles(path):
    db = KVStore(path)
    db["k"] = "parent"
    cf = db.create_column_family("cf")
    it = db.iterator()

    def child():
        for call in (lambda: db["k"], lambda: db.put("x", "1"),
                     lambda: db.stats(), lambda: cf["a"], lambda: it.key,
                     lambda: db.iterator(), lambda: db.begin()):
            try:
                call()
                return False
            except snkv.Error as e:
                if "fork" not in str(e):
                    return False
        db.close()  # only forgets the parent's connection
        cf.close()
        it.close()
        with KVStore(path) as mine:  # a new store in the child works
            assert mine["k"] == b"parent"
            mine["child"] = "wrote"
        return True

    assert _in_child(child) == 0
    # The parent's handle is intact and sees the child's commit.
    assert db["child"] == b"wrote"
    assert cf.count() == 0
    it.close()
    db.close()


def test_fork_child_exit_with_open_store(path):
    db = KVStore(path)
    db["a"] = "1"

    def child():
        # The with-exit and garbage collection in the child must not touch
        # the parent's connection or hang.
        with db:
            pass
        return True

    assert _in_child(child) == 0
    assert db["a"] == b"1"
    db.close()


def test_uninitialised_objects_and_foreign_self_raise():
    for cls in (snkv.Iterator, snkv.ColumnFamily, KVStore):
        obj = cls.__new__(cls)  # never initialised
        with pytest.raises(TypeError, match="initialised"):
            obj.close()
        with pytest.raises(TypeError):
            obj.closed
        del obj
    with pytest.raises(TypeError):
        next(snkv.Iterator.__new__(snkv.Iterator))
    with pytest.raises(TypeError, match="int"):
        KVStore.get(5, "a")
    with KVStore() as db:
        with pytest.raises(TypeError):
            snkv.Iterator.key.fget(db)
        with pytest.raises(TypeError):
            snkv.ColumnFamily.put(db.iterator(), "a", "b")
