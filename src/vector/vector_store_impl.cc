// VectorStoreImpl: open, writes, catch-up and search (see
// vector_store_impl.h).
#include "vector/vector_store_impl.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "vector/change_log.h"
#include "vector/json_match.h"
#include "vector/sidecar.h"

namespace snkv::internal {

using vector::DecodeRecord;
using vector::EncodeRecord;

namespace {

constexpr int kMaxDim = 65536;  // keeps int8 dot products within int32
constexpr int kMaxConnectivity = 1024;
constexpr int kMaxExpansion = 1 << 20;

bool IsMemoryPath(const std::string& path) {
  return path.empty() || path == ":memory:";
}

// Squared lengths above this would overflow float32 distances: l2 between
// two such vectors is at most 4 * 2^124 = 2^126, below FLT_MAX (~2^128).
constexpr double kMaxSquaredLength = 0x1p124;
// Cosine divides by the length. Below this squared length (|v| < ~9e-10)
// the float32 arithmetic of normalising and reranking loses the vector's
// direction (its squares go subnormal), and at zero it has none.
constexpr double kMinCosineSquaredLength = 0x1p-60;
// The largest finite IEEE half.
constexpr float kHalfMax = 65504.0f;

Status Invalid(const std::string& what) { return Status::Error(what); }

// The stores whose search filter this thread is running now (several when
// a filter searches another store). A call back into one of them would
// wait for the locks its own search holds: writers need the index
// exclusively, and a thread that holds store_mu_ may be waiting for it.
thread_local std::vector<const VectorStoreImpl*> t_filtering;

// Marks this thread as running `store`'s filter for its lifetime.
class FilterScope {
 public:
  explicit FilterScope(const VectorStoreImpl* store) {
    t_filtering.push_back(store);
  }
  ~FilterScope() { t_filtering.pop_back(); }
  FilterScope(const FilterScope&) = delete;
  FilterScope& operator=(const FilterScope&) = delete;
};

}  // namespace

bool VectorStoreImpl::InsideOwnFilter() const {
  return std::find(t_filtering.begin(), t_filtering.end(), this) !=
         t_filtering.end();
}

Status VectorStoreImpl::Reentered() const {
  return Record(Status::Error(
      "store used from inside a search filter: a filter must not call the "
      "store it filters"));
}

Status VectorStoreImpl::Record(Status s) const {
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(error_mu_);
    last_error_ = s.message();
  }
  return s;
}

std::string VectorStoreImpl::last_error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return last_error_;
}

Status VectorStoreImpl::Dropped() const {
  return Record(Status(Code::kIndexDropped, "the vector index was dropped"));
}

Status VectorStoreImpl::CheckVector(const float* v, size_t n,
                                    bool query) const {
  if (v == nullptr) return Status(Code::kBadVector, "vector is NULL");
  if (n != static_cast<size_t>(config_.dim)) {
    return Status(Code::kBadVector, "vector has " + std::to_string(n) +
                                        " values, the store's dim is " +
                                        std::to_string(config_.dim));
  }
  const auto space = static_cast<VectorSpace>(config_.space);
  // A query stays float32 in every index; only stored vectors become f16.
  const bool half =
      !query && static_cast<VectorDType>(config_.dtype) == VectorDType::kF16 &&
      space != VectorSpace::kCosine;  // cosine stores |v| = 1
  double length2 = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) {
      return Status(Code::kBadVector, "vector value " + std::to_string(i) +
                                          " is NaN or infinite");
    }
    if (half && std::fabs(v[i]) > kHalfMax) {
      return Status(Code::kBadVector,
                    "vector value " + std::to_string(i) + " (" +
                        std::to_string(v[i]) +
                        ") is beyond the f16 index's range of +-65504");
    }
    length2 += double{v[i]} * v[i];
  }
  if (length2 > kMaxSquaredLength) {
    return Status(Code::kBadVector,
                  "vector is too long: its squared length is above 2^124, "
                  "where float32 distances overflow");
  }
  if (space == VectorSpace::kCosine && length2 < kMinCosineSquaredLength) {
    return Status(Code::kBadVector,
                  "vector has zero or near-zero length (below 2^-30): the "
                  "cosine distance has no direction to measure");
  }
  return Status::OK();
}

Status VectorStoreImpl::Open(const std::string& path, const VectorOptions& o) {
  if (o.dim < 1 || o.dim > kMaxDim) return Invalid("dim must be 1..65536");
  const int space = static_cast<int>(o.space),
            dtype = static_cast<int>(o.dtype);
  if (space < 0 || space > 2) return Invalid("unknown vector space");
  if (dtype < 0 || dtype > 2) return Invalid("unknown vector dtype");
  if (o.connectivity < 0 || o.connectivity > kMaxConnectivity ||
      o.expansion_add < 0 || o.expansion_add > kMaxExpansion ||
      o.expansion_search < 0 || o.expansion_search > kMaxExpansion) {
    return Invalid("connectivity or expansion out of range");
  }
  const bool memory = IsMemoryPath(path);
  Status s;
  if (o.password) {
    s = Store::OpenEncrypted(memory ? ":memory:" : path, *o.password, o.store,
                             &store_);
  } else if (memory) {
    s = Store::OpenInMemory(o.store, &store_);
  } else {
    s = Store::Open(path, o.store, &store_);
  }
  if (!s.ok()) return s;
  values_ = store_.DefaultColumnFamily();

  vector::StoredConfig want;
  want.dim = o.dim;
  want.space = space;
  want.dtype = dtype;
  want.connectivity = o.connectivity > 0 ? std::max(2, o.connectivity) : 16;
  want.expansion_add = o.expansion_add > 0 ? o.expansion_add : 128;
  want.expansion_search = o.expansion_search > 0 ? o.expansion_search : 64;
  bool created = false;
  s = tables_.OpenOrCreate(&store_, want, &config_, &created);
  if (!s.ok()) {
    (void)store_.Close();
    return s;
  }
  dropped_ = tables_.dropped();
  ef_search_ =
      o.expansion_search > 0 ? o.expansion_search : config_.expansion_search;
  index_ = std::make_unique<vector::VectorIndex>(
      static_cast<size_t>(config_.dim),
      static_cast<vector::Space>(config_.space),
      static_cast<vector::DType>(config_.dtype), config_.connectivity,
      config_.expansion_add);
  path_ = path;
  sidecar_ = o.sidecar && !memory && !o.password;
  if (created || dropped_) return Status::OK();

  std::lock_guard<std::mutex> lock(store_mu_);
  vector::LogPosition head, side;
  std::string why;
  s = tables_.ReadHead(&head);
  if (s.ok() && sidecar_ &&
      vector::LoadSidecar(vector::SidecarPath(path), config_, index_.get(),
                          &side, &why)) {
    // Usable if it is at the head, or at a position the log still holds
    // (same nonce) from where the log brings it up to date.
    bool usable = side == head;
    if (!usable && side.seq < head.seq && side.seq > 0) {
      uint64_t nonce = 0;
      usable = vector::EntryNonce(tables_.log(), side.seq, &nonce).ok() &&
               nonce == side.nonce;
    }
    if (usable) {
      seen_ = side;
      saved_ = side;
      loaded_from_sidecar_ = true;
      s = CatchUp();  // rebuilds by itself when the log has a gap
    } else {
      s = Rebuild();
    }
  } else if (s.ok()) {
    s = Rebuild();
  }
  if (!s.ok()) {
    index_.reset();
    (void)store_.Close();
  }
  return s;
}

Status VectorStoreImpl::Close() {
  if (InsideOwnFilter()) return Reentered();
  if (!store_.is_open()) return Status::OK();
  // The sidecar is a cache: when it cannot be written (a full disk, a
  // directory in its place), the next open rebuilds from the tables, which
  // hold everything. So its failure does not fail the close.
  (void)SaveSidecar();
  Status c = store_.Close();
  {
    std::unique_lock<std::shared_mutex> lock(index_mu_);
    index_.reset();
  }
  return c;
}

bool VectorStoreImpl::NoticeDrop() {
  bool dropped = false;
  if (!tables_.ReadDropped(&store_, &dropped).ok() || !dropped) return false;
  std::unique_lock<std::shared_mutex> lock(index_mu_);
  index_->Clear();
  dropped_ = true;
  return true;
}

Status VectorStoreImpl::ReadRow(const std::string& key, Change* c) {
  c->key = key;
  std::string rec;
  Status s = tables_.vec().Get(key, &rec);
  if (s.IsNotFound()) {
    c->remove = true;
    return Status::OK();
  }
  if (!s.ok()) return s;
  if (!DecodeRecord(rec, static_cast<size_t>(config_.dim), &c->expires,
                    &c->vec)) {
    return Status::Corrupt("damaged vector record");
  }
  c->remove = false;
  return ReadMetadata(key, &c->metadata);
}

Status VectorStoreImpl::ReadMetadata(const std::string& key,
                                     std::optional<std::string>* m) {
  m->reset();
  ColumnFamily* tags = tables_.tags();
  if (tags == nullptr) return Status::OK();
  std::string text;
  Status s = tags->Get(key, &text);
  if (s.IsNotFound()) return Status::OK();
  if (!s.ok()) return s;
  *m = std::move(text);
  return Status::OK();
}

Status VectorStoreImpl::IsLive(const std::string& key, int64_t now,
                               bool* live) {
  *live = false;
  std::string rec;
  Status s = tables_.vec().Get(key, &rec);
  if (s.IsNotFound()) return Status::OK();
  if (!s.ok()) return s;
  int64_t expires = 0;
  if (rec.size() < 9) return Status::Corrupt("damaged vector record");
  std::memcpy(&expires, rec.data() + 1, 8);  // after the version byte
  *live = expires == 0 || expires > now;
  return Status::OK();
}

Status VectorStoreImpl::Rebuild() {
  std::unique_lock<std::shared_mutex> lock(index_mu_);
  index_->Clear();
  Transaction txn;  // one snapshot: seq, vectors and metadata agree
  Status s = store_.BeginTransaction(TxnMode::kRead, &txn);
  if (!s.ok()) return s;
  tables_.RefreshTags(&store_);
  vector::LogPosition head;
  s = tables_.ReadHead(&head);
  if (!s.ok()) return s;
  Iterator tags;
  if (tables_.tags()) {
    tags = tables_.tags()->NewIterator();
    s = tags.SeekToFirst();
    if (!s.ok()) return s;
  }
  Iterator it = tables_.vec().NewIterator();
  std::vector<float> v;
  for (s = it.SeekToFirst(); it.Valid(); s = it.Next()) {
    int64_t expires = 0;
    if (!DecodeRecord(it.value().view(), static_cast<size_t>(config_.dim),
                      &expires, &v)) {
      return Status::Corrupt("damaged vector record");
    }
    std::optional<std::string> meta;
    while (tables_.tags() && tags.Valid() && tags.key().compare(it.key()) < 0) {
      s = tags.Next();
    }
    if (tables_.tags() && tags.Valid() && tags.key() == it.key()) {
      meta = tags.value().ToString();
    }
    if (tables_.tags() && !tags.status().ok()) return tags.status();
    index_->Upsert(it.key().view(), v.data(), expires, std::move(meta));
  }
  if (!it.status().ok()) return it.status();
  seen_ = head;
  return txn.Commit();
}

Status VectorStoreImpl::CatchUp() {
  if (dropped_) return Status::OK();
  vector::LogPosition head;
  Status s = tables_.ReadHead(&head);
  if (!s.ok()) {
    if (NoticeDrop()) return Status::OK();  // another handle dropped it
    return s;
  }
  if (head == seen_) return Status::OK();  // the common, cheap case
  // The file went back in time, or another history reached our number.
  if (head.seq <= seen_.seq) return Rebuild();

  std::vector<Change> changes;
  {
    Transaction txn;
    s = store_.BeginTransaction(TxnMode::kRead, &txn);
    if (!s.ok()) return s;
    s = tables_.ReadHead(&head);
    if (!s.ok()) return s;
    tables_.RefreshTags(&store_);
    // The entry at our position must still carry our nonce, else the log
    // describes another history.
    uint64_t nonce = 0;
    bool gap = false;
    if (seen_.seq > 0) {
      s = vector::EntryNonce(tables_.log(), seen_.seq, &nonce);
      if (s.IsNotFound()) {  // trimmed: the log no longer reaches back
        gap = true;
        s = Status::OK();
      } else if (!s.ok()) {
        return s;
      } else {
        gap = nonce != seen_.nonce;
      }
    }
    std::vector<std::string> keys;
    if (!gap)
      s = vector::ReadChanges(tables_.log(), seen_.seq + 1, head.seq, &keys,
                              &gap);
    if (!s.ok()) return s;
    if (gap) {
      (void)txn.Commit();
      return Rebuild();
    }
    changes.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      s = ReadRow(keys[i], &changes[i]);
      if (!s.ok()) return s;
    }
    s = txn.Commit();
    if (!s.ok()) return s;
  }
  std::unique_lock<std::shared_mutex> lock(index_mu_);
  for (Change& c : changes) {
    if (c.remove) {
      index_->Remove(c.key);
    } else {
      index_->Upsert(c.key, c.vec.data(), c.expires, std::move(c.metadata));
    }
  }
  seen_ = head;
  return Status::OK();
}

template <class Body>
Status VectorStoreImpl::WriteChanges(std::vector<Change>* changes,
                                     Body&& body) {
  Transaction txn;
  Status s = store_.BeginTransaction(TxnMode::kWrite, &txn);
  if (!s.ok()) return s;
  vector::LogPosition before;
  const vector::LogPosition after{0, nonce_rng_()};
  s = tables_.ReadHead(&before);
  if (!s.ok() && NoticeDrop()) {  // another handle dropped the index
    (void)txn.Rollback();
    return Dropped();
  }
  if (s.ok()) s = body();
  if (s.ok() && !changes->empty()) {
    std::vector<std::string> keys;
    keys.reserve(changes->size());
    for (const Change& c : *changes) keys.push_back(c.key);
    const vector::LogPosition next{before.seq + 1, after.nonce};
    s = vector::AppendChange(tables_.log(), next, keys);
    if (s.ok()) s = tables_.WriteHead(next);
  }
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) {
    (void)txn.Rollback();
    tables_.ForgetTags();  // a rolled-back write may have created them
    tables_.RefreshTags(&store_);
    return s;
  }
  if (changes->empty()) return Status::OK();
  if (before != seen_) return CatchUp();  // others wrote in between
  std::unique_lock<std::shared_mutex> lock(index_mu_);
  for (Change& c : *changes) {
    if (c.remove) {
      index_->Remove(c.key);
    } else {
      index_->Upsert(c.key, c.vec.data(), c.expires, std::move(c.metadata));
    }
  }
  seen_ = {before.seq + 1, after.nonce};
  return Status::OK();
}

Status VectorStoreImpl::Put(std::span<const VectorItem> items,
                            int64_t expire_at_ms) {
  if (InsideOwnFilter()) return Reentered();
  if (expire_at_ms < 0) return Record(Invalid("expiry time is negative"));
  // Check everything before writing anything: a batch is all or nothing.
  for (const VectorItem& item : items) {
    Status s = CheckVector(item.vector,
                           item.vector ? static_cast<size_t>(config_.dim) : 0,
                           /*query=*/false);
    if (!s.ok()) return Record(s);
    if (item.metadata && !item.metadata->empty() &&
        !vector::IsValidJson(item.metadata->view())) {
      return Record(Invalid("metadata is not valid JSON"));
    }
  }
  // The last item of a key wins.
  std::unordered_map<std::string_view, size_t> last;
  for (size_t i = 0; i < items.size(); ++i) last[items[i].key.view()] = i;

  std::lock_guard<std::mutex> lock(store_mu_);
  if (!store_.is_open()) return Record(Status::Error("vector store is closed"));
  if (dropped_) return Dropped();
  if (items.empty()) return Status::OK();
  const int64_t now = NowMs();
  std::vector<Change> changes;
  changes.reserve(last.size());
  auto body = [&]() -> Status {
    for (size_t i = 0; i < items.size(); ++i) {
      const VectorItem& item = items[i];
      if (last[item.key.view()] != i) continue;
      Change c;
      c.key = item.key.ToString();
      c.vec.assign(item.vector, item.vector + config_.dim);
      c.expires = expire_at_ms;
      // "Keep" (no metadata) keeps a live item's metadata. An expired or
      // absent item is gone, and its metadata with it: a put over it is a
      // new item's put. Judged before the record below is overwritten.
      bool keep = false;
      Status s;
      if (!item.metadata && tables_.tags()) s = IsLive(c.key, now, &keep);
      if (s.ok()) s = values_.Put(item.key, item.value, expire_at_ms);
      if (s.ok()) {
        s = tables_.vec().Put(item.key,
                              EncodeRecord(expire_at_ms, item.vector,
                                           static_cast<size_t>(config_.dim)));
      }
      if (!s.ok()) return s;
      if (keep) {
        s = ReadMetadata(c.key, &c.metadata);  // kept as stored
      } else if (!item.metadata || item.metadata->empty()) {
        if (tables_.tags()) {
          s = tables_.tags()->Delete(item.key);
          if (s.IsNotFound()) s = Status::OK();
        }
      } else {
        s = tables_.EnsureTags(&store_);
        if (s.ok()) s = tables_.tags()->Put(item.key, *item.metadata);
        c.metadata = item.metadata->ToString();
      }
      if (!s.ok()) return s;
      changes.push_back(std::move(c));
    }
    return Status::OK();
  };
  return Record(WriteChanges(&changes, body));
}

Status VectorStoreImpl::KvPut(Slice key, Slice value) {
  if (InsideOwnFilter()) return Reentered();
  std::lock_guard<std::mutex> lock(store_mu_);
  if (!store_.is_open()) return Record(Status::Error("vector store is closed"));
  return Record(values_.Put(key, value));
}

Status VectorStoreImpl::Delete(Slice key) {
  if (InsideOwnFilter()) return Reentered();
  std::lock_guard<std::mutex> lock(store_mu_);
  if (!store_.is_open()) return Record(Status::Error("vector store is closed"));
  if (dropped_) return Record(values_.Delete(key));
  std::vector<Change> changes;
  bool absent = false;
  auto body = [&]() -> Status {
    Status sv = values_.Delete(key);
    if (!sv.ok() && !sv.IsNotFound()) return sv;
    Status sr = tables_.vec().Delete(key);
    if (!sr.ok() && !sr.IsNotFound()) return sr;
    if (tables_.tags()) {
      Status st = tables_.tags()->Delete(key);
      if (!st.ok() && !st.IsNotFound()) return st;
    }
    if (sv.IsNotFound() && sr.IsNotFound())
      return Status::NotFound("no such key");
    // An expired item is already absent (its value reads as NotFound); its
    // leftover vector is still removed, and committed, below.
    absent = sv.IsNotFound();
    Change c;
    c.key = key.ToString();
    c.remove = true;
    changes.push_back(std::move(c));
    return Status::OK();
  };
  Status s = WriteChanges(&changes, body);
  // Another handle dropped the index: the key is now a plain value.
  if (s.code() == Code::kIndexDropped) return Record(values_.Delete(key));
  if (s.ok() && absent) s = Status::NotFound("no such key");
  return Record(std::move(s));
}

Status VectorStoreImpl::PurgeExpired(int64_t* deleted) {
  if (InsideOwnFilter()) return Reentered();
  std::lock_guard<std::mutex> lock(store_mu_);
  if (!store_.is_open()) return Record(Status::Error("vector store is closed"));
  if (dropped_) return Dropped();
  std::vector<Change> changes;
  auto body = [&]() -> Status {
    const int64_t now = NowMs();
    std::vector<std::string> expired;
    {
      Iterator it = tables_.vec().NewIterator();
      for (Status s = it.SeekToFirst(); it.Valid(); s = it.Next()) {
        int64_t expires = 0;
        const Slice v = it.value();
        if (v.size() < 9) return Status::Corrupt("damaged vector record");
        std::memcpy(&expires, v.data() + 1, 8);
        if (expires != 0 && expires <= now)
          expired.push_back(it.key().ToString());
      }
      if (!it.status().ok()) return it.status();
    }
    for (const std::string& k : expired) {
      for (ColumnFamily* cf : {&tables_.vec(), &values_, tables_.tags()}) {
        if (cf == nullptr) continue;
        Status s = cf->Delete(k);
        if (!s.ok() && !s.IsNotFound()) return s;
      }
      Change c;
      c.key = k;
      c.remove = true;
      changes.push_back(std::move(c));
    }
    return Status::OK();
  };
  Status s = WriteChanges(&changes, body);
  if (s.ok() && deleted) *deleted = static_cast<int64_t>(changes.size());
  return Record(s);
}

Status VectorStoreImpl::DropIndex() {
  if (InsideOwnFilter()) return Reentered();
  std::lock_guard<std::mutex> lock(store_mu_);
  if (!store_.is_open()) return Record(Status::Error("vector store is closed"));
  if (dropped_) return Status::OK();
  Transaction txn;
  Status s = store_.BeginTransaction(TxnMode::kWrite, &txn);
  if (s.ok()) s = tables_.Drop(&store_);
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) return Record(s);
  {
    std::unique_lock<std::shared_mutex> ilock(index_mu_);
    index_->Clear();
  }
  dropped_ = true;
  if (sidecar_) ::unlink(vector::SidecarPath(path_).c_str());
  return Status::OK();
}

Status VectorStoreImpl::Get(Slice key, std::string* value) {
  if (InsideOwnFilter()) return Reentered();
  std::lock_guard<std::mutex> lock(store_mu_);
  if (!store_.is_open()) return Record(Status::Error("vector store is closed"));
  return Record(values_.Get(key, value));
}

Status VectorStoreImpl::GetVector(Slice key, std::vector<float>* vector) {
  if (InsideOwnFilter()) return Reentered();
  std::lock_guard<std::mutex> lock(store_mu_);
  if (!store_.is_open()) return Record(Status::Error("vector store is closed"));
  if (dropped_) return Dropped();
  std::string rec;
  Status s = tables_.vec().Get(key, &rec);
  if (!s.ok())
    return Record(s.IsNotFound() ? Status::NotFound("no vector for key") : s);
  int64_t expires = 0;
  std::vector<float> v;
  if (!DecodeRecord(rec, static_cast<size_t>(config_.dim), &expires, &v)) {
    return Record(Status::Corrupt("damaged vector record"));
  }
  if (expires != 0 && expires <= NowMs())
    return Record(Status::NotFound("vector expired"));
  *vector = std::move(v);
  return Status::OK();
}

Status VectorStoreImpl::GetMetadata(Slice key,
                                    std::optional<std::string>* metadata) {
  if (InsideOwnFilter()) return Reentered();
  std::lock_guard<std::mutex> lock(store_mu_);
  if (!store_.is_open()) return Record(Status::Error("vector store is closed"));
  metadata->reset();
  if (dropped_) return Status::OK();
  tables_.RefreshTags(&store_);
  if (!tables_.tags()) return Status::OK();
  // One snapshot: an expired item has no metadata (its row waits for a
  // purge or an overwrite).
  Transaction txn;
  Status s = store_.BeginTransaction(TxnMode::kRead, &txn);
  if (!s.ok()) return Record(s);
  bool live = false;
  s = IsLive(key.ToString(), NowMs(), &live);
  std::string text;
  if (s.ok() && !live) s = Status::NotFound("key has no metadata");
  if (s.ok()) s = tables_.tags()->Get(key, &text);
  if (s.ok()) s = txn.Commit();
  if (!s.ok())
    return Record(s.IsNotFound() ? Status::NotFound("key has no metadata") : s);
  *metadata = std::move(text);
  return Status::OK();
}

Status VectorStoreImpl::Contains(Slice key, bool* contains) {
  if (InsideOwnFilter()) return Reentered();
  std::lock_guard<std::mutex> lock(store_mu_);
  if (!store_.is_open()) return Record(Status::Error("vector store is closed"));
  return Record(values_.Exists(key, contains));
}

Status VectorStoreImpl::Count(int64_t* count) {
  if (InsideOwnFilter()) return Reentered();
  std::lock_guard<std::mutex> lock(store_mu_);
  if (!store_.is_open()) return Record(Status::Error("vector store is closed"));
  Status s = CatchUp();
  if (!s.ok()) return Record(s);
  std::shared_lock<std::shared_mutex> ilock(index_mu_);
  *count = static_cast<int64_t>(index_->size());
  return Status::OK();
}

Status VectorStoreImpl::Search(std::span<const float> query,
                               const SearchOptions& o, bool with_values,
                               std::vector<SearchHit>* hits) {
  if (InsideOwnFilter()) return Reentered();
  // A few attempts: a writer deleting a hit between walk and read of every
  // attempt is a writer that never pauses; the last attempt's hits stand.
  constexpr int kAttempts = 4;
  for (int attempt = 1;; ++attempt) {
    bool vanished = false;
    Status s = SearchOnce(query, o, with_values, hits, &vanished);
    if (!s.ok() || !vanished || attempt == kAttempts) return s;
  }
}

Status VectorStoreImpl::SearchOnce(std::span<const float> query,
                                   const SearchOptions& o, bool with_values,
                                   std::vector<SearchHit>* hits,
                                   bool* vanished) {
  hits->clear();
  if (o.top_k <= 0) return Record(Invalid("top_k must be positive"));
  if (o.oversample < 0 || o.expansion_search < 0) {
    return Record(
        Invalid("oversample and expansion_search must not be negative"));
  }
  if (std::isnan(o.max_distance)) return Record(Invalid("max_distance is NaN"));
  Status s = CheckVector(query.data(), query.size(), /*query=*/true);
  if (!s.ok()) return Record(s);
  vector::JsonMatch json;
  if (o.json_filter) {
    std::string why;
    if (!json.Parse(*o.json_filter, &why)) return Record(Invalid(why));
  }
  {
    std::lock_guard<std::mutex> lock(store_mu_);
    if (!store_.is_open())
      return Record(Status::Error("vector store is closed"));
    if (dropped_) return Dropped();
    s = CatchUp();
    if (!s.ok()) return Record(s);
    if (dropped_) return Dropped();
  }

  const size_t k = static_cast<size_t>(o.top_k);
  const size_t oversample =
      static_cast<size_t>(o.oversample > 0 ? o.oversample : 3);
  const size_t pool = o.rerank ? std::min<size_t>(k * oversample, 1u << 20) : k;
  const size_t ef = std::max<size_t>(
      static_cast<size_t>(o.expansion_search > 0 ? o.expansion_search
                                                 : ef_search_),
      pool);
  {
    std::shared_lock<std::shared_mutex> ilock(index_mu_);
    if (index_->size() == 0) {
      return Record(Status(Code::kIndexEmpty, "the vector index is empty"));
    }
    std::shared_ptr<const std::vector<uint8_t>> bits;
    if (o.json_filter) bits = JsonBitmap(*o.json_filter, json);
    std::function<bool(uint32_t)> filter;
    if (o.filter || bits) {
      filter = [&](uint32_t slot) {
        if (bits && !(*bits)[slot]) return false;
        if (o.filter) {
          const auto& m = index_->metadata(slot);
          const Slice ms(m ? std::string_view(*m) : std::string_view());
          return o.filter(index_->key(slot), m ? &ms : nullptr);
        }
        return true;
      };
    }
    std::vector<vector::IndexHit> found;
    {
      // While the user's filter runs, calls back into this store fail
      // instead of deadlocking (see t_filtering).
      std::optional<FilterScope> scope;
      if (o.filter) scope.emplace(this);
      index_->Search(query.data(), pool, ef, NowMs(), filter, &found);
    }
    hits->reserve(found.size());
    for (const vector::IndexHit& h : found) {
      SearchHit hit;
      hit.key = index_->key(h.slot);
      hit.distance = h.distance;
      if (with_values) hit.metadata = index_->metadata(h.slot);
      hits->push_back(std::move(hit));
    }
  }

  if (o.rerank || with_values) {
    std::lock_guard<std::mutex> lock(store_mu_);
    if (!store_.is_open())
      return Record(Status::Error("vector store is closed"));
    std::vector<SearchHit> kept;
    kept.reserve(hits->size());
    const vector::Codec& codec = index_->codec();
    for (SearchHit& h : *hits) {
      if (o.rerank) {
        std::string rec;
        s = tables_.vec().Get(h.key, &rec);
        if (s.IsNotFound()) {  // deleted since the walk
          *vanished = true;
          continue;
        }
        if (!s.ok()) return Record(s);
        int64_t expires = 0;
        std::vector<float> v;
        if (!DecodeRecord(rec, static_cast<size_t>(config_.dim), &expires,
                          &v)) {
          return Record(Status::Corrupt("damaged vector record"));
        }
        h.distance = codec.ExactDistance(query.data(), v.data());
      }
      kept.push_back(std::move(h));
    }
    *hits = std::move(kept);
    if (o.rerank) {
      std::stable_sort(hits->begin(), hits->end(),
                       [](const SearchHit& a, const SearchHit& b) {
                         return a.distance < b.distance;
                       });
      if (hits->size() > k) hits->resize(k);
    }
    if (o.max_distance != 0) {
      std::erase_if(*hits, [&](const SearchHit& h) {
        return h.distance > o.max_distance;
      });
    }
    if (with_values) {
      std::vector<SearchHit> valued;
      valued.reserve(hits->size());
      for (SearchHit& h : *hits) {
        s = values_.Get(h.key, &h.value);
        if (s.IsNotFound()) {  // expired or deleted meanwhile
          *vanished = true;
          continue;
        }
        if (!s.ok()) return Record(s);
        valued.push_back(std::move(h));
      }
      *hits = std::move(valued);
    }
    return Status::OK();
  }
  if (o.max_distance != 0) {
    std::erase_if(
        *hits, [&](const SearchHit& h) { return h.distance > o.max_distance; });
  }
  return Status::OK();
}

std::shared_ptr<const std::vector<uint8_t>> VectorStoreImpl::JsonBitmap(
    const std::string& filter, const vector::JsonMatch& match) {
  const uint64_t version = index_->version();
  {
    std::lock_guard<std::mutex> lock(filter_mu_);
    auto it = filter_cache_.find(filter);
    if (it != filter_cache_.end() && it->second.version == version)
      return it->second.bits;
  }
  auto bits = std::make_shared<std::vector<uint8_t>>(index_->capacity(), 0);
  for (uint32_t s = 0; s < bits->size(); ++s) {
    const auto& m = index_->metadata(s);
    if (!m) {
      (*bits)[s] = match.Matches(nullptr);
      continue;
    }
    const std::string_view mv(*m);
    (*bits)[s] = match.Matches(&mv);
  }
  std::lock_guard<std::mutex> lock(filter_mu_);
  constexpr size_t kMaxCached = 16;
  if (filter_cache_.size() >= kMaxCached) filter_cache_.clear();
  filter_cache_[filter] = {version, bits};
  return bits;
}

Status VectorStoreImpl::GetStats(VectorStats* st) {
  if (InsideOwnFilter()) return Reentered();
  std::lock_guard<std::mutex> lock(store_mu_);
  if (!store_.is_open()) return Record(Status::Error("vector store is closed"));
  Status s = CatchUp();
  if (!s.ok()) return Record(s);
  *st = VectorStats();
  st->sidecar_enabled = sidecar_;
  st->dropped = dropped_;
  // A dropped store has no index: its former (or, reopened, the caller's)
  // dim, ef and counts would describe nothing, so they stay zero.
  if (dropped_) return Status::OK();
  st->dim = config_.dim;
  st->space = static_cast<VectorSpace>(config_.space);
  st->dtype = static_cast<VectorDType>(config_.dtype);
  st->connectivity = config_.connectivity;
  st->expansion_add = config_.expansion_add;
  st->expansion_search = ef_search_;
  st->loaded_from_sidecar = loaded_from_sidecar_;
  s = tables_.vec().Count(&st->vec_cf_count);
  if (!s.ok()) return Record(s);
  tables_.RefreshTags(&store_);
  st->has_metadata = tables_.has_tags();
  std::shared_lock<std::shared_mutex> ilock(index_mu_);
  st->count = static_cast<int64_t>(index_->size());
  st->capacity = static_cast<int64_t>(index_->capacity());
  st->fill_ratio = st->capacity > 0 ? static_cast<double>(st->count) /
                                          static_cast<double>(st->capacity)
                                    : 0.0;
  st->index_memory_bytes = static_cast<int64_t>(index_->MemoryBytes());
  return Status::OK();
}

Status VectorStoreImpl::SaveSidecar() {
  if (InsideOwnFilter()) return Reentered();
  std::lock_guard<std::mutex> lock(store_mu_);
  if (!store_.is_open()) return Record(Status::Error("vector store is closed"));
  if (!sidecar_ || dropped_) return Status::OK();
  Status s = CatchUp();
  if (!s.ok()) return Record(s);
  if (dropped_ || saved_ == seen_) return Status::OK();
  std::shared_lock<std::shared_mutex> ilock(index_mu_);
  s = vector::SaveSidecar(vector::SidecarPath(path_), config_, seen_, *index_);
  if (s.ok()) saved_ = seen_;
  return Record(s);
}

}  // namespace snkv::internal
