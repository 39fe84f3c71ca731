// The public Store and Transaction: each call enters the core through
// StoreCore::Call().
#include "snkv/store.h"

#include <chrono>
#include <thread>
#include <utility>

#include "kv/api_access.h"
#include "kv/store_core.h"

namespace snkv {

namespace {
Status Closed() { return Status::Error("store is closed"); }
}  // namespace

Store::Store() noexcept = default;
Store::~Store() { (void)Close(); }
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&& other) noexcept {
  if (this != &other) {
    (void)Close();
    core_ = std::move(other.core_);
    default_cf_ = std::move(other.default_cf_);
  }
  return *this;
}

// Opens a core and, on success only, replaces whatever *store held.
Status Store::OpenInto(const std::string* path, const Options& options,
                       const Slice* password, Store* store) {
  if (store == nullptr) return Status::Error("no Store to open into");
  std::shared_ptr<internal::StoreCore> core;
  Status s = internal::StoreCore::Open(path, options, password, &core);
  if (!s.ok()) return s;
  (void)store->Close();
  store->default_cf_ = ColumnFamily(core, core->default_cf());
  store->core_ = std::move(core);
  return Status::OK();
}

Status Store::Open(const std::string& path, const Options& options,
                   Store* store) {
  return OpenInto(&path, options, nullptr, store);
}

Status Store::OpenInMemory(const Options& options, Store* store) {
  return OpenInto(nullptr, options, nullptr, store);
}

Status Store::OpenEncrypted(const std::string& path, Slice password,
                            const Options& options, Store* store) {
  return OpenInto(&path, options, &password, store);
}

Status Store::Close() {
  if (!core_) return Status::OK();
  Status s;
  core_->WithLock([&] { s = core_->Close(); });
  // Handles that outlive the Store (column families, iterators) keep the
  // closed core alive and fail cleanly with "store is closed".
  core_.reset();
  default_cf_ = ColumnFamily();
  return s;
}

bool Store::is_open() const noexcept { return core_ != nullptr; }

const char* Store::last_error() const noexcept {
  return core_ ? core_->last_error() : "store is closed";
}

std::string Store::last_error_message() const {
  if (!core_) return "store is closed";
  std::string message;
  core_->WithLock([&] { message = core_->last_error(); });
  return message;
}

ColumnFamily Store::DefaultColumnFamily() const { return default_cf_; }

Status Store::CreateColumnFamily(std::string_view name, ColumnFamily* cf) {
  if (!core_) return Closed();
  std::shared_ptr<internal::ColumnFamilyState> state;
  Status s =
      core_->Call([&] { return core_->CreateColumnFamily(name, &state); });
  if (s.ok() && cf) *cf = ColumnFamily(core_, std::move(state));
  return s;
}

Status Store::OpenColumnFamily(std::string_view name, ColumnFamily* cf) {
  if (!core_) return Closed();
  std::shared_ptr<internal::ColumnFamilyState> state;
  Status s = core_->Call([&] { return core_->OpenColumnFamily(name, &state); });
  if (s.ok() && cf) *cf = ColumnFamily(core_, std::move(state));
  return s;
}

Status Store::DropColumnFamily(std::string_view name) {
  if (!core_) return Closed();
  return core_->Call([&] { return core_->DropColumnFamily(name); });
}

Status Store::ListColumnFamilies(std::vector<std::string>* names) {
  if (!core_) return Closed();
  return core_->Call([&] { return core_->ListColumnFamilies(names); });
}

Status Store::Begin(TxnMode mode) {
  if (!core_) return Closed();
  return core_->Call([&] { return core_->Begin(mode); });
}

Status Store::Commit() {
  if (!core_) return Closed();
  return core_->Call([&] { return core_->Commit(); });
}

Status Store::Rollback() {
  if (!core_) return Closed();
  return core_->CallKeepingPending([&] { return core_->Rollback(); });
}

Status Store::BeginTransaction(TxnMode mode, Transaction* txn) {
  if (txn == nullptr) return Status::Error("no Transaction to begin into");
  (void)txn->Rollback();  // a reused Transaction ends its old one first
  Status s = Begin(mode);
  if (s.ok()) txn->store_ = this;
  return s;
}

bool Store::is_encrypted() const noexcept {
  if (!core_) return false;
  bool encrypted = false;
  core_->WithLock([&] { encrypted = core_->encrypted(); });
  return encrypted;
}

Status Store::Reencrypt(Slice new_password) {
  if (!core_) return Closed();
  return core_->Call([&] { return core_->Reencrypt(new_password); });
}

Status Store::RemoveEncryption() {
  if (!core_) return Closed();
  return core_->Call([&] { return core_->RemoveEncryption(); });
}

Status Store::GetStats(Stats* stats) {
  if (!core_) return Closed();
  return core_->Call([&] { return core_->GetStats(stats); });
}

Status Store::ResetStats() {
  if (!core_) return Closed();
  return core_->Call([&] {
    core_->ResetStats();
    return Status::OK();
  });
}

Status Store::IntegrityCheck(std::string* problems) {
  if (!core_) return Closed();
  return core_->Call([&] { return core_->IntegrityCheck(problems); });
}

Status Store::Sync() {
  if (!core_) return Closed();
  return core_->Call([&] { return core_->Sync(); });
}

Status Store::IncrementalVacuum(int pages) {
  if (!core_) return Closed();
  return core_->Call([&] { return core_->IncrementalVacuum(pages); });
}

Status Store::Checkpoint(CheckpointMode mode, CheckpointResult* result) {
  if (!core_) return Closed();
  return core_->Call([&] { return core_->Checkpoint(mode, result); });
}

// ---- Transaction -----------------------------------------------------------

Transaction::~Transaction() { (void)Rollback(); }

Transaction::Transaction(Transaction&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)) {}

Transaction& Transaction::operator=(Transaction&& other) noexcept {
  if (this != &other) {
    (void)Rollback();
    store_ = std::exchange(other.store_, nullptr);
  }
  return *this;
}

Status Transaction::Commit() {
  if (store_ == nullptr) return Status::Error("transaction is not active");
  Status s = store_->Commit();
  // A failed commit (e.g. BUSY) leaves the transaction open to retry.
  if (s.ok()) store_ = nullptr;
  return s;
}

Status Transaction::Rollback() {
  if (store_ == nullptr) return Status::OK();
  Store* store = std::exchange(store_, nullptr);
  return store->Rollback();
}

}  // namespace snkv

namespace snkv::internal {

Status ApiAccess::Record(const Store& store, Status s) {
  return store.core_ ? store.core_->Fail(std::move(s)) : s;
}

Status ApiAccess::Record(const ColumnFamily& cf, Status s) {
  return cf.store_ ? cf.store_->Fail(std::move(s)) : s;
}

Status ApiAccess::CreateInternalColumnFamily(Store& store,
                                             std::string_view name,
                                             ColumnFamily* cf) {
  if (!store.core_) return Closed();
  std::shared_ptr<ColumnFamilyState> state;
  Status s = store.core_->Call([&] {
    return store.core_->CreateColumnFamily(name, &state, /*internal=*/true);
  });
  if (s.ok() && cf) *cf = ColumnFamily(store.core_, std::move(state));
  return s;
}

Status ApiAccess::DropInternalColumnFamily(Store& store,
                                           std::string_view name) {
  if (!store.core_) return Closed();
  return store.core_->Call(
      [&] { return store.core_->DropColumnFamily(name, /*internal=*/true); });
}

uint64_t ApiAccess::SnapshotsTaken(const Store& store) {
  if (!store.core_) return 0;
  uint64_t n = 0;
  (void)store.core_->Call([&] {
    n = store.core_->snapshots_taken();
    return Status::OK();
  });
  return n;
}

uint64_t ApiAccess::ValuesReadFromPages(const Store& store) {
  if (!store.core_) return 0;
  uint64_t n = 0;
  (void)store.core_->Call([&] {
    n = store.core_->values_from_pages();
    return Status::OK();
  });
  return n;
}

void ApiAccess::ReleaseIdleSnapshot(const Store& store) {
  if (!store.core_) return;
  // False while the idle releaser's own thread holds the store: it is
  // releasing it then, and the next attempt finds nothing left to do.
  while (!store.core_->ReleaseSnapshotIfIdle(std::chrono::steady_clock::now(),
                                             std::chrono::milliseconds(0))) {
    std::this_thread::yield();
  }
}

}  // namespace snkv::internal
