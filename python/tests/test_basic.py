"""put/get/delete/exists, accepted types, the dict interface, constants
and the exception tree."""
import array
import os
import pathlib

import pytest

import snkv
from snkv import KVStore


def test_constants():
    assert (snkv.JOURNAL_DELETE, snkv.JOURNAL_WAL) == (0, 1)
    assert (snkv.SYNC_OFF, snkv.SYNC_NORMAL, snkv.SYNC_FULL) == (0, 1, 2)
    assert (snkv.CHECKPOINT_PASSIVE, snkv.CHECKPOINT_FULL,
            snkv.CHECKPOINT_RESTART, snkv.CHECKPOINT_TRUNCATE) == (0, 1, 2, 3)
    assert snkv.NO_TTL == -1
    assert snkv.MAX_COLUMN_FAMILIES == 64


def test_exception_tree():
    for cls in (snkv.NotFoundError, snkv.BusyError, snkv.LockedError,
                snkv.ReadOnlyError, snkv.CorruptError, snkv.AuthError):
        assert issubclass(cls, snkv.Error)
        assert cls.__module__ == "snkv"
        assert cls.__doc__
    assert issubclass(snkv.NotFoundError, KeyError)
    assert issubclass(snkv.Error, Exception)
    assert not issubclass(snkv.BusyError, KeyError)


def test_put_get_delete_exists(mem):
    assert mem.put("k", "v") is None
    assert mem.get("k") == b"v"
    assert mem.exists("k") is True
    assert mem.delete("k") is None
    assert mem.exists("k") is False
    assert mem.get("k") is None
    assert mem.get("k", b"dflt") == b"dflt"
    sentinel = object()
    assert mem.get("k", sentinel) is sentinel
    with pytest.raises(snkv.NotFoundError) as e:
        mem.delete("k")
    assert e.value.code == 12
    assert "not found" in str(e.value)


def test_overwrite_and_binary(mem):
    key = bytes(range(256))
    mem.put(key, b"\x00" * 10)
    mem.put(key, b"\x00\xff\x00")
    assert mem.get(key) == b"\x00\xff\x00"
    assert mem.count() == 1


def test_empty_key_and_value(mem):
    mem.put(b"", b"")
    assert mem.get(b"") == b""
    assert b"" in mem


@pytest.mark.parametrize("make", [
    lambda b: b.decode(),
    lambda b: b,
    bytearray,
    memoryview,
    lambda b: memoryview(bytearray(b)),
    lambda b: array.array("B", b),
])
def test_accepted_input_types(mem, make):
    mem.put(make(b"key"), make(b"value"))
    got = mem.get(make(b"key"))
    assert type(got) is bytes and got == b"value"
    assert mem[make(b"key")] == b"value"
    assert make(b"key") in mem


def test_str_is_utf8(mem):
    mem.put("ключ", "значение ✓")
    assert mem.get("ключ".encode()) == "значение ✓".encode()


def test_wide_memoryview_is_its_bytes(mem):
    arr = array.array("i", [1, 2, 3])
    mem.put(b"a", memoryview(arr))
    assert mem.get(b"a") == arr.tobytes()


@pytest.mark.parametrize("bad", [1, 1.5, None, ["x"], {"a": 1}, object()])
def test_wrong_key_type_is_type_error(mem, bad):
    name = type(bad).__name__
    for call in (lambda: mem.put(bad, b"v"), lambda: mem.get(bad),
                 lambda: mem.delete(bad), lambda: mem.exists(bad),
                 lambda: mem[bad], lambda: bad in mem,
                 lambda: mem.ttl(bad), lambda: mem.put_if_absent(bad, b"")):
        with pytest.raises(TypeError, match=name):
            call()
    with pytest.raises(TypeError, match="value.*" + name):
        mem.put(b"k", bad)


def test_non_contiguous_buffer_is_type_error(mem):
    mv = memoryview(b"abcdef")[::2]
    with pytest.raises(TypeError, match="contiguous"):
        mem.put(mv, b"v")


def test_lone_surrogate_str_raises(mem):
    with pytest.raises(UnicodeEncodeError):
        mem.put("\udc80", b"v")


def test_bytearray_mutation_after_put_does_not_change_store(mem):
    buf = bytearray(b"abc")
    mem.put(b"k", buf)
    buf[0] = ord("z")
    assert mem.get(b"k") == b"abc"


def test_large_value(mem):
    big = os.urandom(8 << 20)
    mem.put(b"big", big)
    assert mem.get(b"big") == big


def test_dict_interface(mem):
    mem["a"] = "1"
    mem["t", 600] = "2"
    assert mem["a"] == b"1"
    assert 500 < mem.ttl("t") <= 600  # slack for a stalled machine
    assert "a" in mem and "zz" not in mem
    del mem["a"]
    assert "a" not in mem
    with pytest.raises(snkv.NotFoundError):
        mem["a"]
    with pytest.raises(KeyError):
        del mem["a"]
    assert dict(mem) == {b"t": b"2"}
    with pytest.raises(TypeError):
        mem["a", 1, 2] = "x"
    with pytest.raises(ValueError):
        mem["a", -1] = "x"


def test_for_loop_yields_bytes_pairs(mem):
    for i in range(5):
        mem[f"k{i}"] = f"v{i}"
    assert list(mem) == [(f"k{i}".encode(), f"v{i}".encode())
                         for i in range(5)]


def test_paths(tmp_path):
    p = tmp_path / "p.db"
    with KVStore(p) as db:  # os.PathLike
        db["x"] = "1"
    with KVStore(str(p)) as db:
        assert db["x"] == b"1"
    with KVStore(os.fsencode(str(p))) as db:
        assert db["x"] == b"1"
    with pytest.raises(ValueError):
        KVStore("a\0b")
    with pytest.raises(TypeError):
        KVStore(42)


def test_in_memory_is_private():
    with KVStore() as a, KVStore(None) as b:
        a["k"] = "1"
        assert "k" not in b


def test_config_keywords(tmp_path):
    p = str(tmp_path / "c.db")
    with KVStore(p, journal_mode=snkv.JOURNAL_DELETE,
                 sync_level=snkv.SYNC_FULL, cache_size=100, page_size=8192,
                 busy_timeout=10, wal_size_limit=5) as db:
        db["a"] = "1"
    assert not os.path.exists(p + "-wal")
    for bad in (dict(journal_mode=7), dict(sync_level=3),
                dict(sync_level=-1)):
        with pytest.raises(ValueError):
            KVStore(p, **bad)
    # Out-of-range numbers are the caller's mistake: ValueError (never
    # snkv.Error, nor the binding's "incompatible function arguments").
    for bad in (dict(cache_size=0), dict(page_size=1000),
                dict(page_size=256), dict(page_size=131072),
                dict(busy_timeout=-1), dict(wal_size_limit=-2),
                dict(cache_size=2**31), dict(busy_timeout=2**63),
                dict(wal_size_limit=2**31), dict(page_size=-2**40)):
        with pytest.raises(ValueError) as info:
            KVStore(p, **bad)
        assert not isinstance(info.value, snkv.Error)
        assert "incompatible" not in str(info.value)
        assert next(iter(bad)) in str(info.value)
    for bad in (dict(cache_size=True), dict(busy_timeout=1.5),
                dict(page_size="4096")):
        with pytest.raises(TypeError, match=next(iter(bad))):
            KVStore(p, **bad)
    with KVStore(p, cache_size=2**31 - 1, busy_timeout=2**31 - 1):
        pass
    with pytest.raises(TypeError):
        KVStore(p, 1)  # options are keyword-only
    with pytest.raises(TypeError):
        KVStore(p, nonsense=1)


def test_read_only(path):
    with KVStore(path) as db:
        db["a"] = "1"
    with KVStore(path, read_only=1) as ro:
        assert ro["a"] == b"1"
        with pytest.raises(snkv.ReadOnlyError):
            ro["b"] = "2"
        with pytest.raises(snkv.ReadOnlyError):
            ro.delete("a")


def test_not_a_database(tmp_path):
    p = tmp_path / "junk.db"
    p.write_bytes(b"this is not a database file at all" * 200)
    with pytest.raises(snkv.CorruptError):
        KVStore(p)
    assert p.read_bytes().startswith(b"this is not")


def test_put_if_absent(mem):
    assert mem.put_if_absent(b"lock", b"A") is True
    assert mem.put_if_absent(b"lock", b"B") is False
    assert mem[b"lock"] == b"A"
    assert mem.put_if_absent(b"tmp", b"1", ttl=0) is True  # expires at once
    assert mem.put_if_absent(b"tmp", b"2") is True  # expired: absent
    assert mem[b"tmp"] == b"2"


def test_clear_and_count(mem):
    for i in range(100):
        mem[f"{i}"] = "x"
    assert mem.count() == 100
    assert mem.clear() is None
    assert mem.count() == 0
    mem[b"fresh"] = b"start"
    assert mem.count() == 1


def test_docstrings_everywhere():
    for name in snkv.__all__:
        obj = getattr(snkv, name)
        if isinstance(obj, int):
            continue
        assert obj.__doc__, name
    for cls in (snkv.KVStore, snkv.ColumnFamily, snkv.Iterator):
        for attr in dir(cls):
            if attr.startswith("_"):
                continue
            assert getattr(cls, attr).__doc__, f"{cls.__name__}.{attr}"


def test_typing_files_installed():
    pkg = pathlib.Path(snkv.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "__init__.pyi").exists()


def test_help_signatures_name_parameters():
    # help() shows real parameter names and readable types, never
    # pybind11's generic `handle`.
    import pydoc
    for method, expect in (
            (KVStore.put, "put(self, /, key, value, ttl=None)"),
            (KVStore.exists, "exists(self, /, key)"),
            (KVStore.iterator,
             "iterator(self, /, *, reverse=False, prefix=None)"),
            (KVStore.get, "get(self, /, key, default=None)"),
            (snkv.ColumnFamily.delete,
             "delete(self: snkv._snkv.ColumnFamily, key: str | bytes)"),
            (KVStore.create_column_family,
             "create_column_family(self: snkv._snkv.Store, name: str)"),
            (snkv.Iterator.seek,
             "seek(self: snkv._snkv.Iterator, key: str | bytes)"),
    ):
        text = pydoc.render_doc(method, renderer=pydoc.plaintext)
        assert expect in text, text
    for cls in (KVStore, snkv.ColumnFamily, snkv.Iterator):
        text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
        assert ": handle" not in text and "-> handle" not in text


def test_get_arguments(mem):
    # get() is called by CPython directly (not through pybind11): it takes
    # its arguments as any Python method does.
    mem["k"] = "v"
    assert mem.get("k") == b"v"
    assert mem.get(key="k") == b"v"
    assert mem.get("nope", b"d") == b"d"
    assert mem.get("nope", default=b"d") == b"d"
    assert mem.get(default=b"d", key="nope") == b"d"
    dflt = object()
    assert mem.get("nope", dflt) is dflt
    for call, match in ((lambda: mem.get(), "missing required argument"),
                        (lambda: mem.get("a", 1, 2), "at most 2"),
                        (lambda: mem.get("a", key="b"), "multiple values"),
                        (lambda: mem.get("a", 1, default=2), "multiple"),
                        (lambda: mem.get("a", dflt=1), "unexpected keyword"),
                        (lambda: mem.get(5), "int"),
                        (lambda: KVStore.get(object(), "k"), "object")):
        with pytest.raises(TypeError, match=match):
            call()


@pytest.mark.parametrize("family", [False, True])
def test_direct_methods_bind_arguments_as_python_does(mem, family):
    # exists, put, db[k], k in db and iterator() are called by CPython
    # directly too: same arguments, same errors as a def would give.
    db = mem.create_column_family("cf") if family else mem
    db.put("a", "1")
    db.put(key="b", value="2")
    db.put("c", value="3", ttl=None)
    db.put("d", "4", 100)
    assert db.exists("a") and db.exists(key="b") and not db.exists("zz")
    assert db["c"] == b"3" and "d" in db and "zz" not in db
    assert db.ttl("d") > 99
    assert [k for k, _ in db.iterator()] == [b"a", b"b", b"c", b"d"]
    assert [k for k, _ in db.iterator(reverse=True, prefix="b")] == [b"b"]
    assert [k for k, _ in db.iterator(prefix=b"c", reverse=False)] == [b"c"]
    with pytest.raises(snkv.NotFoundError):
        db["zz"]
    with pytest.raises(KeyError):
        db["zz"]
    cls = type(db)
    for call, exc, match in (
            (lambda: db.put("k"), TypeError, "missing required argument"),
            (lambda: db.put("k", "v", 1, 2), TypeError, "at most 3"),
            (lambda: db.put("k", "v", key="x"), TypeError, "multiple"),
            (lambda: db.put("k", "v", tll=1), TypeError, "unexpected"),
            (lambda: db.put(1, "v"), TypeError, "int"),
            (lambda: db.put("k", None), TypeError, "NoneType"),
            (lambda: db.put("k", "v", -1), ValueError, "ttl"),
            (lambda: db.put("k", "v", True), TypeError, "bool"),
            (lambda: db.exists(), TypeError, "missing required argument"),
            (lambda: db.exists("a", "b"), TypeError, "at most 1"),
            (lambda: db.exists(k="a"), TypeError, "unexpected"),
            (lambda: db.exists(2.5), TypeError, "float"),
            (lambda: db[None], TypeError, "NoneType"),
            (lambda: [] in db, TypeError, "list"),
            (lambda: db.iterator(True), TypeError, "positional"),
            (lambda: db.iterator(reverse=1), TypeError, "bool"),
            (lambda: db.iterator(prefix=3), TypeError, "int"),
            (lambda: db.iterator(order=1), TypeError, "unexpected"),
            (lambda: cls.exists(object(), "k"), TypeError, "object"),
            (lambda: cls.put(object(), "k", "v"), TypeError, "object"),
            (lambda: cls.__getitem__(object(), "k"), TypeError, "object"),
            (lambda: cls.__contains__(object(), "k"), TypeError, "object"),
            (lambda: cls.iterator(object()), TypeError, "object")):
        with pytest.raises(exc, match=match):
            call()
    assert db.count() == 4  # nothing written by the failed calls


def test_iterator_keeps_its_store_open(path):
    # The iterator holds its store: a store object nobody else references
    # is not closed (by the garbage collector) under a running loop.
    with KVStore(path) as db:
        for i in range(300):
            db[f"k{i:03d}"] = "v"
    it = KVStore(path).iterator(prefix="k1")
    import gc
    gc.collect()
    assert sum(1 for _ in it) == 100
    assert sum(1 for _ in KVStore(path)) == 300
