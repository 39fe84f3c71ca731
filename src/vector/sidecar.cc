// Sidecar: save and load of the index file (see sidecar.h).
#include "vector/sidecar.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "vector/bytes.h"

namespace snkv::vector {

namespace {

constexpr char kMagic[8] = {'S', 'N', 'K', 'V', 'V', 'E', 'C', '\0'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 8 + 4 * 6 + 32 + 8 * 4 + 8;

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

void PutHeader(std::string* out, const StoredConfig& c, const LogPosition& at,
               uint64_t body_len, uint64_t body_sum) {
  ByteWriter w(out);
  w.PutBytes(kMagic, 8);
  w.Put(kVersion);
  w.Put(static_cast<uint32_t>(c.dim));
  w.Put(static_cast<uint32_t>(c.space));
  w.Put(static_cast<uint32_t>(c.dtype));
  w.Put(static_cast<uint32_t>(c.connectivity));
  w.Put(static_cast<uint32_t>(c.expansion_add));
  std::string uuid = c.uuid;
  uuid.resize(32, '\0');
  w.PutBytes(uuid.data(), 32);
  w.Put(at.seq);
  w.Put(at.nonce);
  w.Put(body_len);
  w.Put(body_sum);
  w.Put(Checksum64(out->data(), out->size()));
}

}  // namespace

std::string SidecarPath(const std::string& db_path) {
  return db_path + ".snkv-vec";
}

uint64_t Checksum64(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  for (; i < n; ++i) {
    h = (h ^ p[i]) * 0x100000001b3ull;
  }
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

Status SaveSidecar(const std::string& path, const StoredConfig& config,
                   const LogPosition& at, const VectorIndex& index) {
  std::string body;
  body.reserve(index.capacity() * (index.codec().code_size() + 200));
  ByteWriter w(&body);
  index.Serialize(&w);
  std::string header;
  PutHeader(&header, config, at, body.size(),
            Checksum64(body.data(), body.size()));

  const std::string tmp = path + ".tmp";
  {
    Fd f;
    f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f.fd < 0) return Status::Error(Errno("creating " + tmp));
    if (!WriteAll(f.fd, header.data(), header.size()) ||
        !WriteAll(f.fd, body.data(), body.size()) || ::fsync(f.fd) != 0) {
      const Status s = Status::Error(Errno("writing " + tmp));
      ::unlink(tmp.c_str());
      return s;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const Status s = Status::Error(Errno("renaming " + tmp));
    ::unlink(tmp.c_str());
    return s;
  }
  // Make the rename durable too (best effort: the sidecar is a cache).
  const size_t slash = path.find_last_of('/');
  const std::string dir =
      slash == std::string::npos ? "." : path.substr(0, slash + 1);
  Fd d;
  d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd >= 0) (void)::fsync(d.fd);
  return Status::OK();
}

bool LoadSidecar(const std::string& path, const StoredConfig& config,
                 VectorIndex* index, LogPosition* at, std::string* why) {
  index->Clear();
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) {
    *why = "no sidecar";
    return false;
  }
  struct stat st;
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) < kHeaderSize) {
    *why = "sidecar too short";
    return false;
  }
  const auto size = static_cast<size_t>(st.st_size);
  std::string bytes;
  bytes.resize(size);
  size_t got = 0;
  while (got < size) {
    const ssize_t r = ::read(f.fd, bytes.data() + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      *why = "sidecar unreadable";
      return false;
    }
    got += static_cast<size_t>(r);
  }
  std::string want;
  PutHeader(&want, config, LogPosition(), 0, 0);  // to compare the config part
  ByteReader r(bytes.data(), bytes.size());
  uint64_t body_len, body_sum, header_sum;
  std::string_view fixed;
  r.View(8 + 4 * 6 + 32, &fixed);
  r.Get(&at->seq);
  r.Get(&at->nonce);
  r.Get(&body_len);
  r.Get(&body_sum);
  r.Get(&header_sum);
  if (!r.ok() || header_sum != Checksum64(bytes.data(), kHeaderSize - 8)) {
    *why = "sidecar header is damaged";
    return false;
  }
  if (fixed != std::string_view(want).substr(0, fixed.size())) {
    *why = "sidecar belongs to another index or format";
    return false;
  }
  if (body_len != size - kHeaderSize) {
    *why = "sidecar is truncated or has trailing bytes";
    return false;
  }
  const char* body = bytes.data() + kHeaderSize;
  if (Checksum64(body, body_len) != body_sum) {
    *why = "sidecar checksum mismatch";
    return false;
  }
  ByteReader br(body, body_len);
  if (!index->Deserialize(&br) || br.left() != 0) {
    index->Clear();
    *why = "sidecar content is inconsistent";
    return false;
  }
  return true;
}

}  // namespace snkv::vector
