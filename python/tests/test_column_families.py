"""Column families: create/open/list/drop, data methods, isolation, close."""
import pytest

import snkv


def test_create_open_list_drop(db):
    with db.create_column_family("users") as users:
        users["alice"] = b"admin"
        assert users.name == "users"
    assert users.closed
    with db.open_column_family("users") as users:
        assert users["alice"] == b"admin"
    names = db.list_column_families()
    assert "users" in names and "default" in names
    db.drop_column_family("users")
    assert "users" not in db.list_column_families()
    with pytest.raises(snkv.NotFoundError):
        db.open_column_family("users")


def test_create_twice_and_drop_default(db):
    db.create_column_family("x").close()
    with pytest.raises(snkv.Error):
        db.create_column_family("x")
    with pytest.raises(snkv.Error):
        db.drop_column_family("default")
    with pytest.raises(snkv.NotFoundError):
        db.drop_column_family("nope")


def test_bad_names(db):
    with pytest.raises(snkv.Error):
        db.create_column_family("")
    with pytest.raises(snkv.Error):
        db.create_column_family("n" * 256)
    with pytest.raises(TypeError):
        db.create_column_family(5)


def test_too_many_families(db):
    for i in range(snkv.MAX_COLUMN_FAMILIES - 1):  # 'default' is one
        db.create_column_family(f"cf{i}").close()
    with pytest.raises(snkv.Error):
        db.create_column_family("one-too-many")


def test_isolation_and_all_methods(db):
    a = db.create_column_family("a")
    b = db.create_column_family("b")
    a.put("k", "1")
    b["k"] = "2"
    db["k"] = "0"
    assert (a["k"], b["k"], db["k"]) == (b"1", b"2", b"0")
    assert a.get("zz", b"d") == b"d"
    assert a.exists("k") and "k" in a
    a.put("t", "x", ttl=3000)
    assert 2900 < a.ttl("t") <= 3000
    assert a.ttl("k") is None
    a["s", 0] = "gone"
    assert a.purge_expired() == 1
    assert a.put_if_absent("k", "z") is False
    assert a.put_if_absent("n", "z") is True
    assert a.count() == 3
    assert sorted(a) == [(b"k", b"1"), (b"n", b"z"), (b"t", b"x")]
    assert [k for k, _ in a.iterator(reverse=True, prefix="")] == [
        b"t", b"n", b"k"]
    assert [k for k, _ in a.prefix_iterator("n")] == [b"n"]
    assert [k for k, _ in a.reverse_iterator()][0] == b"t"
    assert [k for k, _ in a.reverse_prefix_iterator("k")] == [b"k"]
    a.delete("n")
    del a["t"]
    with pytest.raises(snkv.NotFoundError):
        del a["t"]
    a.clear()
    assert a.count() == 0 and b.count() == 1 and db.count() == 1


def test_default_column_family_is_the_stores(db):
    with db.default_column_family() as d:
        assert d.name == "default"
        d["x"] = "1"
    assert db["x"] == b"1"


def test_closed_family_raises(db):
    cf = db.create_column_family("c")
    cf.close()
    with pytest.raises(snkv.Error, match="closed"):
        cf["a"] = "1"
    with pytest.raises(snkv.Error, match="closed"):
        cf.iterator()
    cf.close()


def test_dropped_family_handle_fails(db):
    cf = db.create_column_family("d")
    cf["a"] = "1"
    db.drop_column_family("d")
    with pytest.raises(snkv.Error):
        cf["a"]
    # get() returns its default only for a missing key; a dropped family
    # raises as every other method does (NotFoundError, as in C++).
    for call in (lambda: cf.get("a"), lambda: cf.get("missing", b"dflt"),
                 lambda: cf.exists("a"), lambda: cf.put("a", "2")):
        with pytest.raises(snkv.NotFoundError, match="dropped"):
            call()


def test_family_dropped_by_another_handle_get_raises(path):
    with snkv.KVStore(path) as a, snkv.KVStore(path) as b:
        a.create_column_family("e")["x"] = "1"
        stale = b.open_column_family("e")
        assert stale.get("x") == b"1"
        a.drop_column_family("e")
        with pytest.raises(snkv.NotFoundError):
            stale.get("x")


def test_get_default_on_live_family(db):
    cf = db.create_column_family("live")
    assert cf.get("nope") is None
    assert cf.get("nope", b"d") == b"d"
    cf["k"] = "v"
    assert cf.get("k") == b"v"


@pytest.mark.parametrize("name,exc,match", [
    ("\udc80", ValueError, "surrogate"),  # no UTF-8 form
    ("ok\ud800", ValueError, "surrogate"),
    (5, TypeError, "name must be str, not int"),
    (None, TypeError, "name must be str, not NoneType"),
    (1.5, TypeError, "name must be str, not float"),
    (["cf"], TypeError, "name must be str, not list"),
])
def test_bad_family_name_argument(db, name, exc, match):
    # A clear error of our own, never pybind11's "incompatible function
    # arguments" listing.
    for call in (db.create_column_family, db.open_column_family,
                 db.drop_column_family):
        with pytest.raises(exc, match=match) as info:
            call(name)
        assert "incompatible" not in str(info.value)


def test_drop_while_iterating_other_family_is_locked(db):
    a = db.create_column_family("a")
    db.create_column_family("b").close()
    for i in range(100):
        a[f"{i}"] = "x"
    it = a.iterator()
    it.first()
    it.next()  # mid-scan
    with pytest.raises(snkv.LockedError):
        db.drop_column_family("b")
    it.close()
    db.drop_column_family("b")
