// Fashion-MNIST loading and exact ground truth (see dataset.h).
#include "dataset.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace vbench {

namespace {

std::string Gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path);
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

uint32_t BigEndian(const std::string& s, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + at);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | p[3];
}

float L2(const float* a, const float* b, size_t n) {
  float acc = 0;
#pragma omp simd reduction(+ : acc)
  for (size_t i = 0; i < n; ++i) {
    const float d = a[i] - b[i];
    acc += d * d;
  }
  return acc;
}

}  // namespace

Matrix LoadImages(const std::string& gz_path) {
  const std::string raw = Gunzip(gz_path);
  if (raw.size() < 16 || BigEndian(raw, 0) != 0x803)
    throw std::runtime_error("not IDX3");
  Matrix m;
  m.rows = BigEndian(raw, 4);
  m.dim = size_t{BigEndian(raw, 8)} * BigEndian(raw, 12);
  if (raw.size() != 16 + m.rows * m.dim) throw std::runtime_error("IDX3 size");
  m.data.resize(m.rows * m.dim);
  for (size_t i = 0; i < m.data.size(); ++i) {
    m.data[i] = static_cast<unsigned char>(raw[16 + i]);
  }
  return m;
}

std::vector<uint8_t> LoadLabels(const std::string& gz_path) {
  const std::string raw = Gunzip(gz_path);
  if (raw.size() < 8 || BigEndian(raw, 0) != 0x801)
    throw std::runtime_error("not IDX1");
  return std::vector<uint8_t>(raw.begin() + 8, raw.end());
}

std::vector<std::vector<uint32_t>> ExactTopK(
    const Matrix& base, const Matrix& queries, size_t k, int threads,
    const std::function<bool(size_t)>& keep) {
  std::vector<std::vector<uint32_t>> out(queries.rows);
  auto work = [&](size_t from, size_t to) {
    std::vector<std::pair<float, uint32_t>> d;
    for (size_t q = from; q < to; ++q) {
      d.clear();
      for (size_t i = 0; i < base.rows; ++i) {
        if (keep && !keep(i)) continue;
        d.emplace_back(L2(queries.row(q), base.row(i), base.dim),
                       static_cast<uint32_t>(i));
      }
      const size_t n = std::min(k, d.size());
      std::partial_sort(d.begin(), d.begin() + static_cast<long>(n), d.end());
      for (size_t i = 0; i < n; ++i) out[q].push_back(d[i].second);
    }
  };
  std::vector<std::thread> pool;
  const size_t per = (queries.rows + static_cast<size_t>(threads) - 1) /
                     static_cast<size_t>(threads);
  for (int t = 0; t < threads; ++t) {
    const size_t from = static_cast<size_t>(t) * per;
    pool.emplace_back(work, std::min(from, queries.rows),
                      std::min(from + per, queries.rows));
  }
  for (auto& t : pool) t.join();
  return out;
}

std::vector<std::vector<uint32_t>> CachedTopK(const std::string& path,
                                              const Matrix& base,
                                              const Matrix& queries, size_t k,
                                              int threads) {
  {
    std::ifstream in(path, std::ios::binary);
    uint64_t rows = 0, kk = 0, nbase = 0;
    if (in.read(reinterpret_cast<char*>(&rows), 8) &&
        in.read(reinterpret_cast<char*>(&kk), 8) &&
        in.read(reinterpret_cast<char*>(&nbase), 8) && rows == queries.rows &&
        kk == k && nbase == base.rows) {
      std::vector<std::vector<uint32_t>> out(rows, std::vector<uint32_t>(k));
      bool ok = true;
      for (auto& r : out)
        ok = ok && in.read(reinterpret_cast<char*>(r.data()), 4 * k);
      if (ok) return out;
    }
  }
  std::fprintf(stderr, "computing exact ground truth (once; cached in %s)\n",
               path.c_str());
  auto out = ExactTopK(base, queries, k, threads);
  std::ofstream o(path, std::ios::binary | std::ios::trunc);
  const uint64_t hdr[3] = {queries.rows, k, base.rows};
  o.write(reinterpret_cast<const char*>(hdr), sizeof hdr);
  for (auto& r : out) {
    r.resize(k);
    o.write(reinterpret_cast<const char*>(r.data()),
            static_cast<std::streamsize>(4 * k));
  }
  return out;
}

}  // namespace vbench
