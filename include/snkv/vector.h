// VectorStore: a key-value store with an HNSW nearest-neighbour index over
// one float32 vector per key, all in one database file.
//
//   snkv::VectorOptions o;
//   o.dim = 128;
//   o.space = snkv::VectorSpace::kCosine;
//   snkv::VectorStore vs;
//   snkv::Status s = snkv::VectorStore::Open("app.db", o, &vs);
//   s = vs.Put("doc:1", "hello", vec);            // vec: 128 floats
//   std::vector<snkv::SearchHit> hits;
//   s = vs.Search(query, {.top_k = 5}, &hits);
//
// The tables in the file are the truth: value, float32 vector, metadata and
// expiry of a key are written in one transaction. The in-memory index is
// derived from them: loaded from a sidecar file (<path>.snkv-vec) when that
// matches the file, else rebuilt. Every search first applies the changes
// other handles or processes committed since this handle last looked (a
// change log in the file), so it sees every commit that finished before it.
//
// Thread safety: a VectorStore may be shared between threads. Searches run
// in parallel (a shared lock); writes and catching up are exclusive.
#ifndef SNKV_VECTOR_H
#define SNKV_VECTOR_H

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "snkv/options.h"
#include "snkv/slice.h"
#include "snkv/status.h"

namespace snkv {

namespace internal {
class VectorStoreImpl;
}

enum class VectorSpace : int {
  kL2 = 0,      // squared Euclidean distance
  kCosine = 1,  // 1 - cosine similarity
  kIp = 2,      // negative dot product
};

// Precision of the vectors kept in the in-memory index. The file always
// keeps float32; rerank uses those.
enum class VectorDType : int { kF32 = 0, kF16 = 1, kI8 = 2 };

struct VectorOptions {
  int dim = 0;                           // > 0; fixed when the store is created
  VectorSpace space = VectorSpace::kL2;  // fixed at creation
  VectorDType dtype = VectorDType::kF32;  // fixed at creation
  int connectivity = 0;      // HNSW M; 0 = 16, 1 = 2. Fixed at creation.
  int expansion_add = 0;     // ef_construction; 0 = 128. Fixed at creation.
  int expansion_search = 0;  // default ef; 0 = the stored one (64 when new)
  // Encrypted store when set (see Store::OpenEncrypted). No sidecar then.
  std::optional<std::string> password;
  // Load and save the sidecar (ignored for in-memory and encrypted stores).
  bool sidecar = true;
  Options store;  // options of the underlying Store
};

// One item of PutBatch. `vector` points at dim floats (for example one row
// of a contiguous n x dim buffer). metadata: nullopt keeps the key's stored
// metadata, an empty slice clears it, anything else replaces it.
struct VectorItem {
  Slice key;
  Slice value;
  const float* vector = nullptr;
  std::optional<Slice> metadata;
};

// Decides whether an item may appear in a search's results. metadata is
// null when the item has none. Called during the graph walk, possibly more
// than once per search, from the searching thread, while the index is
// locked for reading: it must not call this VectorStore (a writer waiting
// for the index would deadlock with it). Such a call fails with kError
// ("store used from inside a search filter") and changes nothing; Close
// then leaves the store open. Other stores may be used. Nor may it wait
// for another thread that writes to this VectorStore: that write waits for
// the search, so neither would finish. An exception the filter throws, and
// the unwind of a thread it ends (pthread_exit, cancellation), leave the
// search with every lock given back.
using VectorFilter = std::function<bool(Slice key, const Slice* metadata)>;

struct SearchOptions {
  int top_k = 10;            // > 0
  bool rerank = false;       // re-score candidates with the float32 vectors
  int oversample = 3;        // candidates = top_k * oversample (0 = 3)
  float max_distance = 0;    // 0 = no limit; else drop hits farther than it
  int expansion_search = 0;  // ef for this search; 0 = the store's
  VectorFilter filter;       // optional
  // Optional JSON object: every field must equal the item's metadata field.
  std::optional<std::string> json_filter;
};

struct SearchHit {
  std::string key;
  std::string value;
  float distance = 0;
  std::optional<std::string> metadata;
};

struct KeyHit {
  std::string key;
  float distance = 0;
};

// Once the index is dropped there is nothing to describe: every field but
// dropped and sidecar_enabled is zero.
struct VectorStats {
  int dim = 0;
  VectorSpace space = VectorSpace::kL2;
  VectorDType dtype = VectorDType::kF32;
  int connectivity = 0;
  int expansion_add = 0;
  int expansion_search = 0;
  int64_t count = 0;          // vectors in the index (expired included)
  int64_t capacity = 0;       // slots allocated in the graph
  double fill_ratio = 0;      // count / capacity
  int64_t vec_cf_count = 0;   // rows of the vector table
  bool has_metadata = false;  // the metadata table exists
  bool sidecar_enabled = false;
  int64_t index_memory_bytes = 0;    // codes and links of the graph
  bool loaded_from_sidecar = false;  // at open
  bool dropped = false;
};

class VectorStore {
 public:
  VectorStore() noexcept;
  ~VectorStore();  // Close()
  VectorStore(VectorStore&&) noexcept;
  VectorStore& operator=(VectorStore&&) noexcept;
  VectorStore(const VectorStore&) = delete;
  VectorStore& operator=(const VectorStore&) = delete;

  // Opens or creates the store at `path` (":memory:" for a private store in
  // memory). An existing store must have the same dim, space and dtype
  // (kDimMismatch, kSpaceMismatch, kDtypeMismatch otherwise).
  static Status Open(const std::string& path, const VectorOptions& options,
                     VectorStore* store);
  // Writes the sidecar (when enabled) and closes. Closing twice is OK. A
  // sidecar that cannot be written is skipped, not an error: the next
  // open rebuilds the index from the tables.
  Status Close();
  bool is_open() const noexcept;

  // --- writes ---------------------------------------------------------
  // Inserts or replaces key's value and vector (and metadata, see
  // VectorItem; "keep" over an expired item keeps nothing: it is a new
  // item). expire_at_ms: absolute ms since the epoch, 0 = never.
  // kBadVector, changing nothing, for a vector the index cannot hold: a
  // wrong length; NaN or infinite values; a squared length above 2^124
  // (float32 distances would overflow); in kCosine a length below 2^-30
  // (zero has no direction); in an f16 index (kL2, kIp) a value beyond
  // +-65504, the largest half. Queries get the same checks except the f16
  // range (they stay float32).
  Status Put(Slice key, Slice value, std::span<const float> vector,
             int64_t expire_at_ms = 0,
             std::optional<Slice> metadata = std::nullopt);
  // All items in one transaction; a key given twice keeps its last item.
  // Every vector is checked first: one bad vector fails the whole batch.
  Status PutBatch(std::span<const VectorItem> items, int64_t expire_at_ms = 0);
  // A plain key-value write that does not touch the index.
  Status KvPut(Slice key, Slice value);
  // Removes key's value, vector and metadata. NotFound if it had none.
  Status Delete(Slice key);
  // Deletes every expired vector (and its value and metadata).
  Status PurgeExpired(int64_t* deleted);
  // Drops the vector tables and the index; values stay. Searches, vector
  // writes and GetVector then fail with kIndexDropped, on every handle and
  // after reopening too: the drop is permanent (a marker stays in the
  // file).
  Status DropIndex();

  // --- reads ----------------------------------------------------------
  Status Get(Slice key, std::string* value);
  Status GetVector(Slice key, std::vector<float>* vector);
  // OK with nullopt when no metadata was ever written in this store;
  // NotFound when the key has none (or has expired).
  Status GetMetadata(Slice key, std::optional<std::string>* metadata);
  Status Contains(Slice key, bool* contains);
  Status Count(int64_t* count);

  // --- search ---------------------------------------------------------
  Status Search(std::span<const float> query, const SearchOptions& options,
                std::vector<SearchHit>* hits);
  Status SearchKeys(std::span<const float> query, const SearchOptions& options,
                    std::vector<KeyHit>* hits);

  Status GetStats(VectorStats* stats);
  // Writes the sidecar now (Close does it too).
  Status SaveSidecar();
  int dim() const noexcept;
  // Message of the last failed call ("not an error" if none).
  std::string last_error() const;

 private:
  std::unique_ptr<internal::VectorStoreImpl> impl_;
};

}  // namespace snkv

#endif  // SNKV_VECTOR_H
