// VectorTables: layout of the vector tables and the index config.
#include "vector/tables.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "kv/api_access.h"
#include "vector/bytes.h"

namespace snkv::vector {

namespace {

using internal::ApiAccess;

constexpr uint8_t kRecordVersion = 1;
constexpr std::string_view kDroppedKey = "dropped";

std::string NewUuid() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) out.push_back(hex[rd() & 15]);
  return out;
}

Status ReadInt(ColumnFamily& cf, std::string_view name, int64_t* v) {
  std::string text;
  Status s = cf.Get(name, &text);
  if (!s.ok()) return s;
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0) {
    return Status::Corrupt("vector config '" + std::string(name) +
                           "' is not a number");
  }
  *v = x;
  return Status::OK();
}

Status ReadConfig(ColumnFamily& meta, StoredConfig* c) {
  int64_t v[6];
  const char* names[6] = {"dim",          "space",         "dtype",
                          "connectivity", "expansion_add", "expansion_search"};
  for (int i = 0; i < 6; ++i) {
    Status s = ReadInt(meta, names[i], &v[i]);
    if (!s.ok()) return s;
    if (v[i] < 0 || v[i] > 1000000) {
      return Status::Corrupt(std::string("vector config '") + names[i] +
                             "' is out of range");
    }
  }
  c->dim = static_cast<int>(v[0]);
  c->space = static_cast<int>(v[1]);
  c->dtype = static_cast<int>(v[2]);
  c->connectivity = static_cast<int>(v[3]);
  c->expansion_add = static_cast<int>(v[4]);
  c->expansion_search = static_cast<int>(v[5]);
  if (c->dim < 1 || c->space > 2 || c->dtype > 2 || c->connectivity < 2 ||
      c->expansion_add < 1 || c->expansion_search < 1) {
    return Status::Corrupt("vector config is inconsistent");
  }
  return meta.Get("uuid", &c->uuid);
}

Status WriteConfig(ColumnFamily& meta, const StoredConfig& c) {
  const std::pair<const char*, int> ints[] = {
      {"dim", c.dim},
      {"space", c.space},
      {"dtype", c.dtype},
      {"connectivity", c.connectivity},
      {"expansion_add", c.expansion_add},
      {"expansion_search", c.expansion_search}};
  for (const auto& [name, v] : ints) {
    Status s = meta.Put(name, std::to_string(v));
    if (!s.ok()) return s;
  }
  Status s = meta.Put("uuid", c.uuid);
  if (!s.ok()) return s;
  std::random_device rd;
  return meta.Put("seq", "0 " + std::to_string((uint64_t{rd()} << 32) | rd()));
}

}  // namespace

std::string EncodeRecord(int64_t expires_ms, const float* v, size_t dim) {
  std::string out;
  out.reserve(1 + 8 + dim * 4);
  ByteWriter w(&out);
  w.Put(kRecordVersion);
  w.Put(expires_ms);
  w.PutBytes(v, dim * sizeof(float));
  return out;
}

bool DecodeRecord(std::string_view rec, size_t dim, int64_t* expires_ms,
                  std::vector<float>* v) {
  ByteReader r(rec.data(), rec.size());
  uint8_t version;
  if (!r.Get(&version) || version != kRecordVersion || !r.Get(expires_ms) ||
      r.left() != dim * sizeof(float)) {
    return false;
  }
  v->resize(dim);
  return r.GetBytes(v->data(), dim * sizeof(float));
}

Status VectorTables::OpenOrCreate(Store* store, const StoredConfig& want,
                                  StoredConfig* stored, bool* created) {
  *created = false;
  Status s = store->OpenColumnFamily(kMetaCf, &meta_);
  if (s.IsNotFound()) {
    // Create under a write transaction, re-checking inside it: another
    // process may be creating the same index right now.
    Transaction txn;
    s = store->BeginTransaction(TxnMode::kWrite, &txn);
    if (!s.ok()) return s;
    s = store->OpenColumnFamily(kMetaCf, &meta_);
    if (s.IsNotFound()) {
      StoredConfig c = want;
      c.uuid = NewUuid();
      s = ApiAccess::CreateInternalColumnFamily(*store, kMetaCf, &meta_);
      if (s.ok())
        s = ApiAccess::CreateInternalColumnFamily(*store, kVecCf, &vec_);
      if (s.ok())
        s = ApiAccess::CreateInternalColumnFamily(*store, kLogCf, &log_);
      if (s.ok()) s = WriteConfig(meta_, c);
      if (s.ok()) s = txn.Commit();
      if (!s.ok()) return s;
      *created = true;
      *stored = c;
      has_tags_ = false;
      return Status::OK();
    }
    if (!s.ok()) return s;
    s = txn.Commit();
  }
  if (!s.ok()) return s;
  std::string marker;
  s = meta_.Get(kDroppedKey, &marker);
  if (s.ok()) {
    dropped_ = true;
    *stored = want;
    return Status::OK();
  }
  if (!s.IsNotFound()) return s;
  s = ReadConfig(meta_, stored);
  if (!s.ok()) return s;
  if (stored->dim != want.dim) {
    return Status(Code::kDimMismatch, "the store's vectors have dim " +
                                          std::to_string(stored->dim) +
                                          ", not " + std::to_string(want.dim));
  }
  if (stored->dtype != want.dtype) {
    return Status(Code::kDtypeMismatch, "the store's index has another dtype");
  }
  if (stored->space != want.space) {
    return Status(Code::kSpaceMismatch, "the store's index has another space");
  }
  s = store->OpenColumnFamily(kVecCf, &vec_);
  if (s.ok()) s = store->OpenColumnFamily(kLogCf, &log_);
  if (!s.ok()) {
    return s.IsNotFound() ? Status::Corrupt("vector tables are incomplete") : s;
  }
  RefreshTags(store);
  return Status::OK();
}

void VectorTables::RefreshTags(Store* store) {
  if (has_tags_) return;
  has_tags_ = store->OpenColumnFamily(kTagsCf, &tags_).ok();
}

Status VectorTables::EnsureTags(Store* store) {
  RefreshTags(store);
  if (has_tags_) return Status::OK();
  Status s = ApiAccess::CreateInternalColumnFamily(*store, kTagsCf, &tags_);
  if (s.ok()) has_tags_ = true;
  return s;
}

Status VectorTables::Drop(Store* store) {
  for (std::string_view name : {kVecCf, kTagsCf, kLogCf}) {
    Status s = ApiAccess::DropInternalColumnFamily(*store, name);
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  // Without the head, a handle that has not noticed the drop fails its
  // next read of it and finds the marker (ReadDropped).
  Status s = meta_.Delete("seq");
  if (!s.ok() && !s.IsNotFound()) return s;
  s = meta_.Put(kDroppedKey, "1");
  if (!s.ok()) return s;
  has_tags_ = false;
  dropped_ = true;
  vec_ = tags_ = log_ = ColumnFamily();
  return Status::OK();
}

Status VectorTables::ReadDropped(Store* store, bool* dropped) {
  *dropped = dropped_;
  if (dropped_) return Status::OK();
  std::string marker;
  Status s = meta_.Get(kDroppedKey, &marker);
  if (s.IsNotFound()) return Status::OK();
  if (!s.ok()) {
    ColumnFamily probe;
    if (!store->OpenColumnFamily(kMetaCf, &probe).IsNotFound()) return s;
  }
  dropped_ = *dropped = true;
  return Status::OK();
}

Status VectorTables::ReadHead(LogPosition* head) {
  std::string text;
  Status s = meta_.Get("seq", &text);
  if (!s.ok()) return s;
  unsigned long long seq = 0, nonce = 0;
  int used = 0;
  if (std::sscanf(text.c_str(), "%llu %llu%n", &seq, &nonce, &used) != 2 ||
      static_cast<size_t>(used) != text.size()) {
    return Status::Corrupt("vector change-log head is damaged");
  }
  head->seq = seq;
  head->nonce = nonce;
  return Status::OK();
}

Status VectorTables::WriteHead(const LogPosition& head) {
  return meta_.Put("seq",
                   std::to_string(head.seq) + " " + std::to_string(head.nonce));
}

}  // namespace snkv::vector
