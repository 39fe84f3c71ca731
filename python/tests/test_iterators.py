"""Iterators: protocol, manual API, prefix bounds, reverse, seek, batches
mixed with manual moves, close."""
import pytest

import snkv


@pytest.fixture
def filled(mem):
    for k in ["a", "b", "user:alice", "user:bob", "user:carol", "user:dave",
              "v", "w"]:
        mem[k] = k.upper()
    return mem


def keys(it):
    return [k for k, _ in it]


def test_forward_reverse_prefix(filled):
    assert keys(filled.iterator()) == [b"a", b"b", b"user:alice", b"user:bob",
                                       b"user:carol", b"user:dave", b"v", b"w"]
    assert keys(filled.iterator(reverse=True)) == list(
        reversed(keys(filled.iterator())))
    users = [b"user:alice", b"user:bob", b"user:carol", b"user:dave"]
    assert keys(filled.iterator(prefix="user:")) == users
    assert keys(filled.prefix_iterator(b"user:")) == users
    assert keys(filled.iterator(prefix="user:", reverse=True)) == users[::-1]
    assert keys(filled.reverse_prefix_iterator("user:")) == users[::-1]
    assert keys(filled.reverse_iterator())[0] == b"w"
    assert keys(filled.iterator(prefix="zzz")) == []
    it = filled.iterator()
    assert it.reverse is False and filled.reverse_iterator().reverse is True


def test_values_are_bytes(filled):
    for k, v in filled.iterator():
        assert type(k) is bytes and type(v) is bytes and v == k.upper()


def test_manual_forward_and_reverse(filled):
    it = filled.iterator()
    assert it.first() is it
    seen = []
    while not it.eof:
        seen.append(it.key)
        assert it.value == it.key.upper()
        assert it.item() == (it.key, it.value)
        assert it.next() is it
    assert seen == keys(filled.iterator())
    it.close()
    it = filled.reverse_iterator()
    it.last()
    seen = []
    while not it.eof:
        seen.append(it.item()[0])
        it.prev()
    assert seen == keys(filled.iterator(reverse=True))


def test_fresh_iterator_is_at_start(filled):
    assert filled.iterator().key == b"a"
    assert filled.reverse_iterator().key == b"w"
    assert filled.iterator(prefix="user:").key == b"user:alice"
    it = filled.iterator()
    it.next()  # from the first key
    assert it.key == b"b"


def test_seek(filled):
    with filled.iterator() as it:
        assert it.seek(b"user:c") is it
        assert it.key == b"user:carol"
        it.next()
        assert it.key == b"user:dave"
    assert filled.iterator().seek(b"user:bob").key == b"user:bob"
    assert filled.iterator().seek(b"zzz").eof
    assert filled.reverse_iterator().seek(b"user:c").key == b"user:bob"
    assert filled.reverse_iterator().seek(b"0").eof


def test_seek_keeps_prefix_bounds(filled):
    with filled.iterator(prefix=b"user:") as it:
        it.seek(b"user:c")
        assert keys(it) == [b"user:carol", b"user:dave"]
    it = filled.iterator(prefix="user:")
    assert it.seek(b"a").key == b"user:alice"  # below: first of prefix
    assert it.seek(b"w").eof  # past the prefix
    it = filled.iterator(prefix="user:", reverse=True)
    assert it.seek(b"zzz").key == b"user:dave"
    assert it.seek(b"a").eof


def test_protocol_continues_from_position(filled):
    it = filled.iterator()
    it.seek("user:")
    assert next(it) == (b"user:alice", b"USER:ALICE")
    assert it.key == b"user:bob"  # the protocol consumed alice
    assert keys(it) == [b"user:bob", b"user:carol", b"user:dave", b"v", b"w"]
    assert it.eof
    with pytest.raises(StopIteration):
        next(it)


def test_manual_moves_inside_a_fetched_batch(mem):
    for i in range(1000):
        mem[f"{i:04d}"] = str(i)
    it = mem.iterator()
    assert next(it)[0] == b"0000"
    assert next(it)[0] == b"0001"  # rows now come from a batch
    assert it.key == b"0002"
    it.next()
    assert it.key == b"0003"
    it.prev()  # turning around inside the batch
    assert it.key == b"0002"
    it.prev()
    assert it.key == b"0001"
    assert [row for _, row in zip(range(3), it)] == [(b"0001", b"1"),
                                                  (b"0002", b"2"),
                                                  (b"0003", b"3")]
    rev = mem.reverse_iterator()
    for _ in range(5):
        next(rev)
    assert rev.key == b"0994"
    rev.next()  # larger, against the batch's direction
    assert rev.key == b"0995"
    rev.prev()
    rev.prev()
    assert rev.key == b"0993"
    assert sum(1 for _ in mem.iterator()) == 1000


def test_step_at_eof_stays(filled):
    it = filled.iterator(prefix="user:")
    it.last()
    it.next()
    assert it.eof
    it.next()
    assert it.eof
    with pytest.raises(snkv.Error, match="eof"):
        it.key
    with pytest.raises(snkv.Error):
        it.value
    with pytest.raises(snkv.Error):
        it.item()


def test_close_and_context_manager(filled):
    with filled.iterator() as it:
        next(it)
    assert it.closed
    for call in (lambda: it.key, lambda: it.eof, lambda: next(it),
                 lambda: it.first(), lambda: it.seek(b"a"), lambda: it.next()):
        with pytest.raises(snkv.Error, match="closed"):
            call()
    it.close()  # twice is fine


def test_iterator_skips_expired(mem):
    import time
    mem.put("a", "1")
    mem.put("b", "2", ttl=0.02)
    mem.put("c", "3")
    time.sleep(0.05)
    assert keys(mem.iterator()) == [b"a", b"c"]


def test_iterations_counted(mem):
    mem.stats_reset()
    mem.iterator()
    list(mem)
    mem.prefix_iterator("x")
    assert mem.stats()["iterations"] == 3


def test_bad_prefix_type(mem):
    with pytest.raises(TypeError):
        mem.iterator(prefix=5)
    with pytest.raises(TypeError):
        mem.iterator(True)  # keyword-only


def test_iterator_keeps_store_alive(tmp_path):
    def make():
        db = snkv.KVStore(str(tmp_path / "x.db"))
        db["k"] = "v"
        return db.iterator()
    it = make()  # the store object is only referenced by the iterator
    assert list(it) == [(b"k", b"v")]


def test_writing_while_iterating(mem):
    for i in range(1000):
        mem[f"{i:04d}"] = "a"
    seen = []
    for k, v in mem:
        seen.append(k)
        mem[k] = v + b"b"  # update the row in hand
        if int(k) % 2:
            mem.delete(k)  # and delete some
    assert seen == [f"{i:04d}".encode() for i in range(1000)]
    assert mem.count() == 500
    assert all(v == b"ab" for _, v in mem)


# --- batched rows and the store's state -------------------------------
# The binding copies rows out of the cursor in batches (up to 256). Those
# copies must never outlive what they copy: a closed store, a forked
# child, or a write through the same handle.

def _started(store, n=300):
    for i in range(n):
        store[f"{i:04d}"] = "v"
    it = store.iterator()
    assert next(it) == (b"0000", b"v")  # a batch is now in hand
    return it


def test_iterator_of_closed_store_raises(mem):
    it = _started(mem)
    mem.close()
    for use in (lambda: next(it), lambda: it.key, lambda: it.value,
                lambda: it.item(), lambda: it.eof, lambda: it.next(),
                lambda: it.prev(), lambda: list(it)):
        with pytest.raises(snkv.Error, match="store is closed"):
            use()


def test_column_family_iterator_of_closed_store_raises(mem):
    cf = mem.create_column_family("cf")
    it = _started(cf)
    mem.close()
    with pytest.raises(snkv.Error, match="store is closed"):
        next(it)


def test_iterator_sees_own_deletes(mem):
    it = _started(mem)
    mem.delete("0001")
    del mem["0002"]
    assert next(it) == (b"0003", b"v")
    mem.delete("0150")  # far ahead, also inside a batch
    rest = [k for k, _ in it]
    assert b"0150" not in rest and rest[0] == b"0004" and len(rest) == 295


def test_iterator_sees_own_overwrites_and_stays_strict(mem):
    it = _started(mem)
    mem["0001"] = "new"
    mem["0000"] = "again"  # behind the position: never served again
    mem["00005"] = "inserted"  # between 0000 and 0001: already passed
    assert next(it) == (b"0001", b"new")
    mem.put("0002", "ttl", ttl=100)
    assert next(it) == (b"0002", b"ttl")
    keys = [k for k, _ in it]
    assert keys == sorted(keys) and keys[0] == b"0003"


def test_iterator_manual_api_sees_own_writes(mem):
    it = _started(mem)  # position: 0001
    assert it.key == b"0001"
    mem.delete("0001")
    assert it.key == b"0002"  # the deleted row is gone
    mem["0002"] = "x"
    assert it.value == b"x"
    assert not it.eof
    mem.delete("0003")
    assert it.next().key == b"0004"
    mem.delete("0002")
    assert it.prev().key == b"0000"


def test_reverse_iterator_sees_own_writes(mem):
    for i in range(300):
        mem[f"{i:04d}"] = "v"
    it = mem.reverse_iterator()
    assert next(it)[0] == b"0299"
    mem.delete("0298")
    mem["0297"] = "w"
    assert next(it) == (b"0297", b"w")


def test_iterator_sees_rollback_and_family_writes(mem):
    cf = mem.create_column_family("cf")
    for i in range(300):
        cf[f"{i:04d}"] = "v"
    mem.begin(write=True)
    it = cf.iterator()
    assert next(it)[0] == b"0000"
    cf.put_if_absent("00001", "new")  # own write, inside the transaction
    cf.delete("0001")
    assert next(it)[0] == b"0002"
    mem.rollback()  # the delete is undone
    rest = [k for k, _ in it]
    assert rest[0] == b"0003" and len(rest) == 297  # never back to 0001
    # clear() and purge through another ColumnFamily object of the family.
    it = cf.iterator()
    assert next(it)[0] == b"0000"
    mem.open_column_family("cf").clear()
    assert list(it) == []


def test_iterator_in_forked_child_raises(mem):
    import os
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    it = _started(mem)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for use in (lambda: next(it), lambda: it.key, lambda: it.eof,
                        lambda: it.next()):
                try:
                    use()
                    code = 2  # served a row in the child
                    break
                except snkv.Error as e:
                    if "fork" not in str(e):
                        code = 3
                        break
            else:
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert next(it) == (b"0001", b"v")  # the parent's iterator is intact
    it.close()


def test_iterator_drops_row_that_get_found_expired(mem):
    import time
    for i in range(300):
        mem[f"{i:04d}"] = "v"
    mem.put("0002", "short", ttl=0.05)
    it = mem.iterator()
    assert next(it)[0] == b"0000"  # 0002 is in the fetched batch
    time.sleep(0.1)
    assert mem.get("0002") is None  # expired: get deletes the row
    assert [k for k, _ in it][:2] == [b"0001", b"0003"]
