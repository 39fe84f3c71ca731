/*
** kvstore.h -- the snkv C API.
**
** snkv is an embedded, crash-safe key-value store kept in one SQLite
** database file. This header is plain C99 and can be included from C and
** C++. Every function is safe to call from any thread on a shared handle
** (see "Threads" below); iterators belong to one thread at a time.
**
** Conventions that hold for every function below unless its comment says
** otherwise:
**   - The return value is a KVSTORE_* code; KVSTORE_OK (0) means success.
**   - On failure kvstore_errmsg() on the handle describes what went wrong.
**   - Keys and values are arbitrary bytes given as (pointer, length).
**     A negative length is an error. A length of 0 is allowed and the
**     pointer may then be NULL; the empty key is a valid key.
**   - Buffers returned to the caller (values, name lists, error texts) are
**     owned by the caller and released with snkv_free() / sqliteFree().
**   - Output pointers are written only on success, except that pointer
**     outputs of functions that create a handle are set to NULL on error.
**
** Threads: a KVStore handle serialises its calls with a mutex, so it may be
** shared. KVColumnFamily handles share their store's mutex. A KVIterator
** must not be used by two threads at once.
**
** fork(): snkv's background threads are never inside SQLite at a fork (the
** fork waits for them, and for calls in progress on other threads), so a
** child may open new handles at once. Handles inherited from the parent
** (stores, column families, iterators) are the parent's: in the child every
** call on them returns KVSTORE_ERROR ("store handle used after fork()"),
** and closing them only frees the child's memory, never the parent's
** connection. Do not fork from inside a snkv callback.
*/
#ifndef SNKV_KVSTORE_H
#define SNKV_KVSTORE_H

#include <stdint.h>
#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Handles ------------------------------------------------------------ */

typedef struct KVStore KVStore;               /* an open database */
typedef struct KVColumnFamily KVColumnFamily; /* a named key space in it */
typedef struct KVIterator KVIterator;         /* an ordered cursor */
typedef struct KVStoreStats KVStoreStats;
typedef struct KVStoreConfig KVStoreConfig;

/* ---- Result codes (equal to SQLite's primary result codes) --------------- */

#define KVSTORE_OK 0
#define KVSTORE_ERROR 1       /* generic error; also invalid arguments */
#define KVSTORE_BUSY 5        /* another connection holds the lock */
#define KVSTORE_LOCKED 6      /* conflict inside this connection */
#define KVSTORE_NOMEM 7       /* out of memory */
#define KVSTORE_READONLY 8    /* write on a read-only store */
#define KVSTORE_CORRUPT 11    /* damaged file, or not a database at all */
#define KVSTORE_NOTFOUND 12   /* no such key or column family */
#define KVSTORE_AUTH_FAILED 13 /* wrong password / encrypted store */
#define KVSTORE_PROTOCOL 15   /* file locking protocol error */

/* ---- Configuration constants -------------------------------------------- */

#define KVSTORE_JOURNAL_DELETE 0 /* rollback journal */
#define KVSTORE_JOURNAL_WAL 1    /* write-ahead log (default) */

#define KVSTORE_SYNC_OFF 0    /* no fsync: fast, a power loss may lose data */
#define KVSTORE_SYNC_NORMAL 1 /* survives a process crash (default) */
#define KVSTORE_SYNC_FULL 2   /* fsync on every commit: survives power loss */

#define KVSTORE_CHECKPOINT_PASSIVE 0  /* copy what it can, never wait */
#define KVSTORE_CHECKPOINT_FULL 1     /* wait for writers, copy all frames */
#define KVSTORE_CHECKPOINT_RESTART 2  /* FULL, then restart the log */
#define KVSTORE_CHECKPOINT_TRUNCATE 3 /* RESTART, then truncate it to 0 */

/* At most this many column families per database, the default included. */
#define KVSTORE_MAX_COLUMN_FAMILIES 64

/* *pnRemaining of the TTL calls: the key exists and never expires. */
#define KVSTORE_NO_TTL (-1)

/*
** Open-time settings. Zero-initialise it ("= {0}") and set what you need:
** every field's zero value selects its default.
*/
struct KVStoreConfig {
  int journalMode;  /* KVSTORE_JOURNAL_WAL (0 here means DELETE; see below) */
  int syncLevel;    /* KVSTORE_SYNC_*; default NORMAL */
  int cacheSize;    /* page cache size in pages; 0 = 2000; < 0 invalid */
  int pageSize;     /* new files only: power of two 512..65536; 0 = 4096 */
  int readOnly;     /* non-zero: open read-only, every write fails */
  int busyTimeout;  /* ms to wait for another connection's lock; 0 = none */
  int walSizeLimit; /* > 0: PASSIVE checkpoint every N commits; 0 = automatic */
  int noMmap;       /* non-zero: never memory-map the file (see below) */
};
/*
** Note on journalMode: its C value 0 is KVSTORE_JOURNAL_DELETE, so a zeroed
** config asks for DELETE mode, exactly as the constant says. A NULL config
** asks for the defaults, which include WAL. syncLevel 0 likewise means OFF
** when a config is given. (Both follow the reference's struct layout.)
**
** Note on noMmap: by default a read-write handle reads the database file
** through a memory map (shared by the handles of a process; a large part
** of why reads are fast).
** As with SQLite's mmap_size, if another process truncates the file while
** a handle has it mapped, a read can then touch a page that is gone and
** the process gets SIGBUS. snkv checks the file's size whenever a read
** snapshot begins and never reads past it, but cannot see a truncation
** that happens while it holds one. If other programs may shrink the file
** behind snkv's back (anything but SQLite and snkv, which never do that
** under a reader), set noMmap: reads then go through SQLite with its map
** off and its page cache (random reads of a store larger than the cache
** were 2-5x slower in one measurement), and a damaged or truncated file
** gives an error code, never a signal.
*/

/* Cumulative counters since open or the last kvstore_stats_reset(). */
struct KVStoreStats {
  uint64_t nPuts;         /* put, put_ttl, put_if_absent (all CFs) */
  uint64_t nGets;         /* get, get_ttl */
  uint64_t nDeletes;      /* delete */
  uint64_t nIterations;   /* iterators created */
  uint64_t nErrors;       /* calls that returned an error other than NOTFOUND */
  uint64_t nBytesRead;    /* value bytes returned by gets */
  uint64_t nBytesWritten; /* key + value bytes given to puts */
  uint64_t nWalCommits;   /* write transactions committed */
  uint64_t nCheckpoints;  /* WAL checkpoints run (automatic and explicit) */
  uint64_t nTtlExpired;   /* keys removed lazily by get/exists on expiry */
  uint64_t nTtlPurged;    /* keys removed by purge_expired */
  uint64_t nDbPages;      /* gauge: pages in the database file now */
};

/* ---- Lifecycle ----------------------------------------------------------- */

/*
** Open or create the store at zFilename (NULL: a private in-memory store)
** with the settings in *pConfig (NULL: defaults: WAL, NORMAL sync, 2000
** pages of cache, 4 KiB pages). *ppKV receives the handle, or NULL on error.
**
** Fails, leaving the file untouched, when the file is not a database
** (KVSTORE_CORRUPT), is an SQLite database of another application or of a
** newer snkv format (KVSTORE_ERROR), or is encrypted (KVSTORE_AUTH_FAILED).
** A bad config value is KVSTORE_ERROR. Error details of a failed open go to
** kvstore_errmsg(NULL).
*/
int kvstore_open_v2(const char *zFilename, KVStore **ppKV,
                    const KVStoreConfig *pConfig);

/* kvstore_open_v2 with default settings but the given journal mode. */
int kvstore_open(const char *zFilename, KVStore **ppKV, int journalMode);

/*
** Close the handle: roll back an open transaction, invalidate the handle's
** iterators and column family handles (which must still be released with
** their close calls), checkpoint the WAL and free the handle. NULL is a
** no-op returning KVSTORE_OK.
*/
int kvstore_close(KVStore *pKV);

/* ---- Default column family ----------------------------------------------- */

/* Insert or replace. Replacing also removes any expiry the key had. */
int kvstore_put(KVStore *pKV, const void *pKey, int nKey, const void *pValue,
                int nValue);

/*
** Read a value into a new buffer (*ppValue, *pnValue) that the caller frees
** with snkv_free(). KVSTORE_NOTFOUND if absent or expired. An empty value
** is returned as a valid, non-NULL buffer of length 0.
*/
int kvstore_get(KVStore *pKV, const void *pKey, int nKey, void **ppValue,
                int *pnValue);

/* Remove a key. KVSTORE_NOTFOUND if it was absent (or already expired). */
int kvstore_delete(KVStore *pKV, const void *pKey, int nKey);

/* *pExists = 1 if the key is present and not expired, else 0. */
int kvstore_exists(KVStore *pKV, const void *pKey, int nKey, int *pExists);

/* ---- Column families ---------------------------------------------------- */

/*
** Create a column family named zName (1..255 bytes, unique; "default" is
** taken). KVSTORE_ERROR if it exists, the name is invalid or the database
** already has KVSTORE_MAX_COLUMN_FAMILIES. The vector store's own names
** ("_snkv_vec_", "_snkv_vec_meta_", "_snkv_vec_tags_", "_snkv_vec_log_")
** are reserved: creating or dropping one is KVSTORE_ERROR.
*/
int kvstore_cf_create(KVStore *pKV, const char *zName, KVColumnFamily **ppCF);

/* Open an existing column family; KVSTORE_NOTFOUND if there is none. */
int kvstore_cf_open(KVStore *pKV, const char *zName, KVColumnFamily **ppCF);

/* A handle on the default column family (named "default"). */
int kvstore_cf_get_default(KVStore *pKV, KVColumnFamily **ppCF);

/*
** Drop a column family with all its data and TTL state. The default one
** cannot be dropped (KVSTORE_ERROR); an unknown name is KVSTORE_NOTFOUND.
** Open handles on it (from any KVStore) fail with KVSTORE_NOTFOUND from then
** on and must still be closed; this handle's iterators on it end. While an
** iterator of this handle on another family is positioned mid-scan, SQLite
** cannot drop a table: the call fails with KVSTORE_LOCKED and changes
** nothing.
*/
int kvstore_cf_drop(KVStore *pKV, const char *zName);

/*
** List the column families, "default" included, in name order. The caller
** frees each name and then the array with snkv_free(). With no names (never
** the case in practice) *pazNames is NULL and *pnCount 0.
*/
int kvstore_cf_list(KVStore *pKV, char ***pazNames, int *pnCount);

/* Release a column family handle (NULL is fine). Data is not touched. */
void kvstore_cf_close(KVColumnFamily *pCF);

int kvstore_cf_put(KVColumnFamily *pCF, const void *pKey, int nKey,
                   const void *pValue, int nValue);
int kvstore_cf_get(KVColumnFamily *pCF, const void *pKey, int nKey,
                   void **ppValue, int *pnValue);
int kvstore_cf_delete(KVColumnFamily *pCF, const void *pKey, int nKey);
int kvstore_cf_exists(KVColumnFamily *pCF, const void *pKey, int nKey,
                      int *pExists);

/* ---- Iterators ----------------------------------------------------------- */
/*
** An iterator walks one column family in byte-wise key order and skips
** expired keys. Plain iterators start unpositioned (eof): call first() or
** last() or seek(). Prefix iterators start at their first (forward) or last
** (reverse) matching key and become eof when a move leaves the prefix.
**
** next() moves to the next larger key and prev() to the next smaller one,
** on any kind of iterator, even when the same KVStore writes between moves
** (a key already passed, e.g. one just overwritten, is never returned
** again). On a damaged file whose pages hold keys out of order, the move
** that meets them fails with KVSTORE_CORRUPT rather than break this
** promise. "reverse" decides where a prefix iterator
** starts and how seek() lands:
**   forward seek(k): the first key >= k;  reverse seek(k): the last key <= k.
**
** key()/value() pointers belong to the iterator and stay valid until the
** next move or close. An iterator reads a consistent snapshot that starts
** at its positioning call; while it is positioned mid-scan, other reads on
** the same KVStore share that snapshot (SQLite has one read transaction per
** connection), so they see newer commits once it finishes or is closed.
** Close every iterator before kvstore_close.
*/
int kvstore_iterator_create(KVStore *pKV, KVIterator **ppIter);
int kvstore_cf_iterator_create(KVColumnFamily *pCF, KVIterator **ppIter);
int kvstore_reverse_iterator_create(KVStore *pKV, KVIterator **ppIter);
int kvstore_cf_reverse_iterator_create(KVColumnFamily *pCF,
                                       KVIterator **ppIter);
int kvstore_prefix_iterator_create(KVStore *pKV, const void *pPrefix,
                                   int nPrefix, KVIterator **ppIter);
int kvstore_cf_prefix_iterator_create(KVColumnFamily *pCF, const void *pPrefix,
                                      int nPrefix, KVIterator **ppIter);
int kvstore_reverse_prefix_iterator_create(KVStore *pKV, const void *pPrefix,
                                           int nPrefix, KVIterator **ppIter);
int kvstore_cf_reverse_prefix_iterator_create(KVColumnFamily *pCF,
                                              const void *pPrefix, int nPrefix,
                                              KVIterator **ppIter);

int kvstore_iterator_first(KVIterator *pIter); /* smallest (matching) key */
int kvstore_iterator_last(KVIterator *pIter);  /* largest (matching) key */
int kvstore_iterator_next(KVIterator *pIter);
int kvstore_iterator_prev(KVIterator *pIter);
int kvstore_iterator_seek(KVIterator *pIter, const void *pKey, int nKey);
/* 1 when not positioned on an entry (also for NULL or a failed iterator). */
int kvstore_iterator_eof(KVIterator *pIter);
int kvstore_iterator_key(KVIterator *pIter, void **ppKey, int *pnKey);
int kvstore_iterator_value(KVIterator *pIter, void **ppValue, int *pnValue);
void kvstore_iterator_close(KVIterator *pIter); /* NULL is fine */

/* ---- Transactions ---------------------------------------------------------- */
/*
** wrflag 1 starts a write transaction (takes the write lock now, may return
** KVSTORE_BUSY); 0 a read transaction in which every read sees one snapshot
** and writes fail with KVSTORE_READONLY. begin inside a transaction, and
** commit or rollback outside one, are KVSTORE_ERROR.
**
** Inside a write transaction puts may wait in memory (up to 32 MiB per
** handle) and be written in key order, which makes random-key batches
** several times faster; every later call on the handle sees them. Should
** writing them fail (disk full, I/O error), the transaction is rolled back
** and the call that wrote them (at the latest, commit) returns the error.
*/
int kvstore_begin(KVStore *pKV, int wrflag);
int kvstore_commit(KVStore *pKV);
int kvstore_rollback(KVStore *pKV);

/* ---- TTL ------------------------------------------------------------------ */
/*
** expire_ms is an absolute time in ms since the Unix epoch (see
** kvstore_now_ms); 0 means "never expires"; a time already past stores a
** key that is immediately expired; a negative time is KVSTORE_ERROR. Expired
** keys read as absent and are deleted lazily by get/exists/ttl_remaining
** (unless the store is read-only or inside a read transaction).
*/
int64_t kvstore_now_ms(void);
int kvstore_put_ttl(KVStore *pKV, const void *pKey, int nKey,
                    const void *pValue, int nValue, int64_t expire_ms);
/*
** *pnRemaining (may be NULL): ms left, or KVSTORE_NO_TTL. KVSTORE_NOTFOUND
** for an expired key sets it to 0 (the key is then deleted); for an absent
** key it is left as it was.
*/
int kvstore_get_ttl(KVStore *pKV, const void *pKey, int nKey, void **ppValue,
                    int *pnValue, int64_t *pnRemaining);
/*
** *pnRemaining: KVSTORE_NO_TTL for a key without expiry, N > 0 ms left, or
** 0 when the key has just expired (it is then deleted). KVSTORE_NOTFOUND if
** the key does not exist.
*/
int kvstore_ttl_remaining(KVStore *pKV, const void *pKey, int nKey,
                          int64_t *pnRemaining);
/* Delete every expired key in one transaction, in O(expired keys). */
int kvstore_purge_expired(KVStore *pKV, int *pnDeleted);

int kvstore_cf_put_ttl(KVColumnFamily *pCF, const void *pKey, int nKey,
                       const void *pValue, int nValue, int64_t expire_ms);
int kvstore_cf_get_ttl(KVColumnFamily *pCF, const void *pKey, int nKey,
                       void **ppValue, int *pnValue, int64_t *pnRemaining);
int kvstore_cf_ttl_remaining(KVColumnFamily *pCF, const void *pKey, int nKey,
                             int64_t *pnRemaining);
int kvstore_cf_purge_expired(KVColumnFamily *pCF, int *pnDeleted);

/* ---- Conditional insert, clear, count ------------------------------------ */
/*
** Insert only if the key is absent or expired, atomically (the check and
** the write are one write transaction). expire_ms as for put_ttl.
** *pInserted (may be NULL) = 1 if written, 0 if the key was present.
*/
int kvstore_put_if_absent(KVStore *pKV, const void *pKey, int nKey,
                          const void *pValue, int nValue, int64_t expire_ms,
                          int *pInserted);
int kvstore_cf_put_if_absent(KVColumnFamily *pCF, const void *pKey, int nKey,
                             const void *pValue, int nValue,
                             int64_t expire_ms, int *pInserted);

/* Remove every key of the column family in one transaction, O(pages). */
int kvstore_clear(KVStore *pKV);
int kvstore_cf_clear(KVColumnFamily *pCF);

/* Number of keys, expired-but-unpurged ones included. */
int kvstore_count(KVStore *pKV, int64_t *pnCount);
int kvstore_cf_count(KVColumnFamily *pCF, int64_t *pnCount);

/* ---- Diagnostics and maintenance ---------------------------------------- */

/*
** The message of the handle's last error ("not an error" if there was none).
** NULL pKV gives the message of the last failed open in this thread. The
** text belongs to the handle; it stays valid until the next call on it.
*/
const char *kvstore_errmsg(KVStore *pKV);

int kvstore_stats(KVStore *pKV, KVStoreStats *pStats);
int kvstore_stats_reset(KVStore *pKV); /* nDbPages is a gauge: kept */

/*
** Check the whole file. KVSTORE_OK, or KVSTORE_CORRUPT with a description
** in *pzErrMsg (free with snkv_free). pzErrMsg may be NULL; on success it is
** set to NULL.
*/
int kvstore_integrity_check(KVStore *pKV, char **pzErrMsg);

/*
** Make everything committed durable on disk (fsync), whatever the sync
** level. Inside a write transaction, commits it and begins a new one; if
** that new one cannot begin (KVSTORE_BUSY), the commit stands and no
** transaction is open, which the error message says.
*/
int kvstore_sync(KVStore *pKV);

/* Return up to nPage free pages to the file system (0: all of them). */
int kvstore_incremental_vacuum(KVStore *pKV, int nPage);

/*
** Checkpoint the WAL (mode KVSTORE_CHECKPOINT_*). *pnLog receives the WAL
** size in frames, *pnCkpt the frames copied; both may be NULL. KVSTORE_BUSY
** when a FULL/RESTART/TRUNCATE checkpoint could not finish; KVSTORE_ERROR
** inside a transaction. A no-op returning 0/0 when not in WAL mode.
*/
int kvstore_checkpoint(KVStore *pKV, int mode, int *pnLog, int *pnCkpt);

/* ---- Encryption ------------------------------------------------------------ */
/*
** What is protected: every value, sealed with XChaCha20-Poly1305 under a
** 256-bit key derived from the password with Argon2id (3 passes, 64 MiB)
** once per open, with a fresh random 24-byte nonce per value (40 bytes of
** overhead per value). Each sealed value is bound to its column family and
** key, so a value changed, truncated, or moved/swapped to another key or
** family inside the file fails authentication and reads as KVSTORE_CORRUPT
** (an iterator stops there with that error): never as wrong plaintext.
** What is not protected: keys (stored in plaintext so that ordering and
** prefix scans work), value sizes, the number of entries, expiry times,
** column family names and access patterns.
** The password is never stored; the file holds the Argon2id salt and costs
** and a verifier. Stored costs above what snkv writes (3 passes, 64 MiB)
** are refused with KVSTORE_CORRUPT before any key is derived, so a forged
** file cannot make an open burn seconds and gigabytes. The derived key lives in guarded memory and is wiped on
** close. Freed pages of an encrypted store are overwritten (secure delete).
** Every handle learns the key when it opens: close the store's other
** handles (in any process) before kvstore_reencrypt, kvstore_remove_encryption
** or converting a plain store, or they keep writing with the old key.
*/

/*
** Open or create an encrypted store (NULL zFilename: in memory). On an
** existing encrypted store the password is checked: KVSTORE_AUTH_FAILED
** when wrong. A plain store is encrypted in place, every value of every
** column family in one transaction, after which freed pages and the WAL
** are scrubbed of the old plaintext. *ppKV is NULL on any error. A
** zero-length password is allowed (pPassword may then be NULL).
*/
int kvstore_open_encrypted(const char *zFilename, const void *pPassword,
                           int nPassword, KVStore **ppKV,
                           const KVStoreConfig *pConfig);

/* 1 if the store is encrypted, 0 otherwise (also for NULL). */
int kvstore_is_encrypted(KVStore *pKV);

/*
** Change the password: derive a new key, re-seal every value and replace
** the verifier in one transaction (a crash leaves the old or the new state,
** never a mix). The handle stays open and usable. Not inside a transaction.
*/
int kvstore_reencrypt(KVStore *pKV, const void *pNewPassword,
                      int nNewPassword);

/*
** Decrypt every value and drop the encryption metadata in one transaction;
** the file then opens with kvstore_open. Not inside a transaction.
*/
int kvstore_remove_encryption(KVStore *pKV);

/* ---- Memory --------------------------------------------------------------- */
/* Buffers returned by snkv come from SQLite's allocator. */
#define sqliteMalloc(n) kvstore_malloc_zeroed((sqlite3_uint64)(n))
#define sqliteFree(p) sqlite3_free(p)
#define sqliteRealloc(p, n) sqlite3_realloc64((p), (sqlite3_uint64)(n))
#define sqliteStrDup(s) sqlite3_mprintf("%s", (s))
#define snkv_malloc(n) sqliteMalloc(n)
#define snkv_free(p) sqliteFree(p)

/* n zeroed bytes from SQLite's allocator (NULL when out of memory). */
void *kvstore_malloc_zeroed(sqlite3_uint64 n);

#ifdef __cplusplus
} /* extern "C" */
#endif

/* The vector store's API (kvstore_vec_*), so that either header gives both. */
#include "kvstore_vec.h"

#endif /* SNKV_KVSTORE_H */
