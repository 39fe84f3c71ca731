// snkv::VectorStore: the public C++ class, a thin owner of VectorStoreImpl.
#include "snkv/vector.h"
#include "vector/vector_store_impl.h"

namespace snkv {

namespace {
Status Closed() { return Status::Error("vector store is closed"); }
}  // namespace

VectorStore::VectorStore() noexcept = default;
VectorStore::~VectorStore() { (void)Close(); }
VectorStore::VectorStore(VectorStore&&) noexcept = default;
VectorStore& VectorStore::operator=(VectorStore&& other) noexcept {
  if (this != &other) {
    (void)Close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

Status VectorStore::Open(const std::string& path, const VectorOptions& options,
                         VectorStore* store) {
  if (store == nullptr) return Status::Error("no VectorStore to open into");
  (void)store->Close();
  auto impl = std::make_unique<internal::VectorStoreImpl>();
  Status s = impl->Open(path, options);
  if (s.ok()) store->impl_ = std::move(impl);
  return s;
}

Status VectorStore::Close() {
  if (!impl_) return Status::OK();
  // From inside its own search filter the store stays open (the search is
  // still using it); Close says so.
  if (impl_->InsideOwnFilter()) return impl_->Close();
  Status s = impl_->Close();
  impl_.reset();
  return s;
}

bool VectorStore::is_open() const noexcept { return impl_ != nullptr; }

Status VectorStore::Put(Slice key, Slice value, std::span<const float> vector,
                        int64_t expire_at_ms, std::optional<Slice> metadata) {
  if (!impl_) return Closed();
  if (vector.size() != static_cast<size_t>(impl_->dim())) {
    return Status(Code::kBadVector, "vector has " +
                                        std::to_string(vector.size()) +
                                        " values, the store's dim is " +
                                        std::to_string(impl_->dim()));
  }
  const VectorItem item{key, value, vector.data(), metadata};
  return impl_->Put({&item, 1}, expire_at_ms);
}

Status VectorStore::PutBatch(std::span<const VectorItem> items,
                             int64_t expire_at_ms) {
  if (!impl_) return Closed();
  return impl_->Put(items, expire_at_ms);
}

Status VectorStore::KvPut(Slice key, Slice value) {
  return impl_ ? impl_->KvPut(key, value) : Closed();
}
Status VectorStore::Delete(Slice key) {
  return impl_ ? impl_->Delete(key) : Closed();
}
Status VectorStore::PurgeExpired(int64_t* deleted) {
  return impl_ ? impl_->PurgeExpired(deleted) : Closed();
}
Status VectorStore::DropIndex() {
  return impl_ ? impl_->DropIndex() : Closed();
}
Status VectorStore::Get(Slice key, std::string* value) {
  return impl_ ? impl_->Get(key, value) : Closed();
}
Status VectorStore::GetVector(Slice key, std::vector<float>* vector) {
  return impl_ ? impl_->GetVector(key, vector) : Closed();
}
Status VectorStore::GetMetadata(Slice key,
                                std::optional<std::string>* metadata) {
  return impl_ ? impl_->GetMetadata(key, metadata) : Closed();
}
Status VectorStore::Contains(Slice key, bool* contains) {
  return impl_ ? impl_->Contains(key, contains) : Closed();
}
Status VectorStore::Count(int64_t* count) {
  return impl_ ? impl_->Count(count) : Closed();
}

Status VectorStore::Search(std::span<const float> query,
                           const SearchOptions& options,
                           std::vector<SearchHit>* hits) {
  if (!impl_) return Closed();
  if (hits == nullptr) return Status::Error("no result vector");
  return impl_->Search(query, options, true, hits);
}

Status VectorStore::SearchKeys(std::span<const float> query,
                               const SearchOptions& options,
                               std::vector<KeyHit>* hits) {
  if (!impl_) return Closed();
  if (hits == nullptr) return Status::Error("no result vector");
  std::vector<SearchHit> full;
  Status s = impl_->Search(query, options, false, &full);
  hits->clear();
  if (!s.ok()) return s;
  hits->reserve(full.size());
  for (SearchHit& h : full) hits->push_back({std::move(h.key), h.distance});
  return s;
}

Status VectorStore::GetStats(VectorStats* stats) {
  return impl_ ? impl_->GetStats(stats) : Closed();
}
Status VectorStore::SaveSidecar() {
  return impl_ ? impl_->SaveSidecar() : Closed();
}
int VectorStore::dim() const noexcept { return impl_ ? impl_->dim() : 0; }
std::string VectorStore::last_error() const {
  return impl_ ? impl_->last_error() : "vector store is closed";
}

}  // namespace snkv
