"""Maintenance: vacuum, checkpoint, integrity check, stats, errmsg."""
import snkv
from snkv import CHECKPOINT_TRUNCATE, CorruptError, KVStore

with KVStore("maint.db") as db:
    for i in range(1000):
        db[f"k{i}"] = "x" * 100
    for i in range(1000):
        del db[f"k{i}"]

    db.sync()                       # flush to disk
    db.vacuum()                     # give free pages back (0 = all)

    nlog, nckpt = db.checkpoint(CHECKPOINT_TRUNCATE)
    print(f"WAL: {nlog} frames, {nckpt} checkpointed")

    try:
        db.integrity_check()
    except CorruptError as e:
        print(f"Corruption: {e}")

    st = db.stats()
    print(st["puts"], st["gets"], st["bytes_written"], st["db_pages"])
    assert len(st) == 12
    db.stats_reset()                # counters zeroed; db_pages stays live
    print(db.errmsg)                # last error message
    assert db.stats()["puts"] == 0 and snkv.NO_TTL == -1
