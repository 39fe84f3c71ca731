// ChangeLog: entry encoding, append, trim and read (see change_log.h).
#include "vector/change_log.h"

#include <algorithm>
#include <unordered_set>

#include "vector/bytes.h"

namespace snkv::vector {

namespace {

std::string SeqKey(uint64_t seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i) {
    k[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return k;
}

bool ParseSeqKey(Slice k, uint64_t* seq) {
  if (k.size() != 8) return false;
  *seq = 0;
  for (size_t i = 0; i < 8; ++i)
    *seq = (*seq << 8) | static_cast<uint8_t>(k.data()[i]);
  return true;
}

Status Trim(ColumnFamily& log, uint64_t below) {
  std::vector<std::string> old;
  {
    Iterator it = log.NewIterator();
    for (Status s = it.SeekToFirst(); it.Valid(); s = it.Next()) {
      uint64_t seq;
      if (!ParseSeqKey(it.key(), &seq) || seq >= below) break;
      old.push_back(it.key().ToString());
    }
    if (!it.status().ok()) return it.status();
  }
  for (const std::string& k : old) {
    Status s = log.Delete(k);
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  return Status::OK();
}

}  // namespace

Status AppendChange(ColumnFamily& log, const LogPosition& at,
                    const std::vector<std::string>& keys) {
  const uint64_t seq = at.seq;
  std::string entry;
  ByteWriter w(&entry);
  w.Put(at.nonce);
  for (const std::string& k : keys) w.PutString(k);
  Status s = log.Put(SeqKey(seq), entry);
  if (!s.ok()) return s;
  if (seq % kTrimEvery == 0 && seq > kKeepEntries) {
    return Trim(log, seq - kKeepEntries);
  }
  return Status::OK();
}

Status ReadChanges(ColumnFamily& log, uint64_t first, uint64_t last,
                   std::vector<std::string>* keys, bool* gap) {
  keys->clear();
  *gap = false;
  if (first > last) return Status::OK();
  std::unordered_set<std::string> seen;
  Iterator it = log.NewIterator();
  Status s = it.Seek(SeqKey(first));
  uint64_t expect = first;
  for (; it.Valid(); s = it.Next()) {
    uint64_t seq;
    if (!ParseSeqKey(it.key(), &seq))
      return Status::Corrupt("bad vector change-log key");
    if (seq > last) break;
    if (seq != expect) {
      *gap = true;
      return Status::OK();
    }
    ++expect;
    ByteReader r(it.value().data(), it.value().size());
    uint64_t nonce;
    if (!r.Get(&nonce)) return Status::Corrupt("bad vector change-log entry");
    while (r.left() > 0) {
      std::string k;
      if (!r.GetString(&k))
        return Status::Corrupt("bad vector change-log entry");
      if (seen.insert(k).second) keys->push_back(std::move(k));
    }
  }
  if (!it.status().ok()) return it.status();
  if (expect != last + 1) *gap = true;
  return Status::OK();
}

Status EntryNonce(ColumnFamily& log, uint64_t seq, uint64_t* nonce) {
  std::string entry;
  Status s = log.Get(SeqKey(seq), &entry);
  if (!s.ok()) return s;
  ByteReader r(entry.data(), entry.size());
  if (!r.Get(nonce)) return Status::Corrupt("bad vector change-log entry");
  return Status::OK();
}

}  // namespace snkv::vector
