"""TTLs: put(ttl=), ttl(), purge_expired(), expiry seen everywhere."""
import math
import time

import pytest

import snkv


def test_ttl_values(mem):
    mem.put("perm", "x")
    mem.put("s", "x", ttl=3600)
    mem.put("f", "x", ttl=100.5)
    assert mem.ttl("perm") is None
    left = mem.ttl("s")
    # Bounds leave a minute for a stalled machine between the calls.
    assert isinstance(left, float) and 3540 < left <= 3600
    assert 40 < mem.ttl("f") <= 100.5
    with pytest.raises(snkv.NotFoundError):
        mem.ttl("missing")


def test_expiry_is_absence_everywhere(mem):
    mem.put("gone", "x", ttl=0.05)
    mem.put("stay", "y")
    time.sleep(0.12)
    assert mem.get("gone") is None
    assert "gone" not in mem
    with pytest.raises(snkv.NotFoundError):
        mem["gone"]
    with pytest.raises(snkv.NotFoundError):
        mem.delete("gone")
    assert list(mem) == [(b"stay", b"y")]


def test_just_expired_reports_zero_then_absent(mem):
    mem.put("k", "v", ttl=0.05)
    time.sleep(0.1)
    assert mem.ttl("k") == 0.0
    with pytest.raises(snkv.NotFoundError):
        mem.ttl("k")
    assert mem.stats()["ttl_expired"] >= 1


def test_ttl_zero_expires_at_once(mem):
    mem.put("k", "v", ttl=0)
    assert mem.get("k") is None


def test_purge_expired_counts(mem):
    for i in range(10):
        mem.put(f"e{i}", "x", ttl=0.01)
    for i in range(5):
        mem.put(f"l{i}", "x", ttl=100)
    time.sleep(0.05)
    assert mem.count() == 15  # expired but not purged still count
    assert mem.purge_expired() == 10
    assert mem.purge_expired() == 0
    assert mem.count() == 5
    assert mem.stats()["ttl_purged"] == 10


def test_put_without_ttl_clears_expiry(mem):
    mem.put("k", "v", ttl=10)
    mem["k"] = "w"
    assert mem.ttl("k") is None


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan, -math.inf])
def test_bad_ttl_value_error(mem, bad):
    with pytest.raises(ValueError):
        mem.put("k", "v", ttl=bad)
    with pytest.raises(ValueError):
        mem.put_if_absent("k", "v", ttl=bad)
    assert "k" not in mem


@pytest.mark.parametrize("bad", [math.inf, 1e300, 10 ** 400])
def test_huge_ttl_value_error(mem, bad):
    with pytest.raises(ValueError):
        mem.put("k", "v", ttl=bad)


@pytest.mark.parametrize("bad", ["10", b"1", [1]])
def test_ttl_type_error(mem, bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        mem.put("k", "v", ttl=bad)


def test_int_ttl_accepted_bool_rejected(mem):
    mem.put("k", "v", ttl=500)
    assert 400 < mem.ttl("k") <= 500
    # bool is an int subclass, but ttl=True is a mistake, not one second.
    cf = mem.create_column_family("cf")
    for put in (lambda t: mem.put("b", "v", ttl=t),
                lambda t: mem.put_if_absent("b", "v", ttl=t),
                lambda t: mem.__setitem__(("b", t), "v"),
                lambda t: cf.put("b", "v", ttl=t)):
        for ttl in (True, False):
            with pytest.raises(TypeError, match="bool"):
                put(ttl)
    assert "b" not in mem and "b" not in cf
