// report.cc -- medians, the text table and the JSON file (see report.h).
#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace bench {
namespace {

// The median of v (0 for an empty v).
template <typename T>
double median_of(std::vector<T> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2
             ? static_cast<double>(v[m])
             : (static_cast<double>(v[m - 1]) + static_cast<double>(v[m])) / 2;
}

// x with thousands separators, no decimals.
std::string grouped(double x) {
  std::string digits = std::to_string(static_cast<long long>(std::llround(x)));
  std::string out;
  int n = static_cast<int>(digits.size());
  for (int i = 0; i < n; ++i) {
    out += digits[static_cast<size_t>(i)];
    if ((n - i - 1) % 3 == 0 && i != n - 1 &&
        digits[static_cast<size_t>(i)] != '-')
      out += ',';
  }
  return out;
}

// s padded on the left to width w.
std::string right(const std::string& s, size_t w) {
  return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}

// s padded on the right to width w.
std::string left(const std::string& s, size_t w) {
  return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

// s as a JSON string literal.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", ch);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

// x as a JSON number (null when not finite).
std::string number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

// The cell of store s for row, or nullptr.
const Cell* cell_of(const StoreSummary& s, const std::string& row) {
  auto it = s.cells.find(row);
  return it == s.cells.end() ? nullptr : &it->second;
}

// Ratio subject/peer of a row's medians, NAN when either is missing.
double ratio(const Cell* a, const Cell* b) {
  if (!a || !b || a->skipped || b->skipped) return NAN;
  double x = a->median(), y = b->median();
  return y > 0 ? x / y : NAN;
}

// A cell's latency figures as JSON: medians over runs, each run's figures
// and the merged histogram as [lowest, highest, count] per nonempty bucket.
std::string latency_json(const Cell& c) {
  std::string o =
      "{\"p50\": " + number(c.latency_median(&Cell::Latency::p50)) +
      ", \"p99\": " + number(c.latency_median(&Cell::Latency::p99)) +
      ", \"p999\": " + number(c.latency_median(&Cell::Latency::p999)) +
      ", \"max\": " + number(c.latency_median(&Cell::Latency::max)) +
      ", \"runs\": [";
  for (size_t i = 0; i < c.latency_runs.size(); ++i) {
    const Cell::Latency& l = c.latency_runs[i];
    o += (i ? ", " : "") + std::string("[") + std::to_string(l.p50) + ", " +
         std::to_string(l.p99) + ", " + std::to_string(l.p999) + ", " +
         std::to_string(l.max) + "]";
  }
  o += "], \"histogram\": [";
  bool first = true;
  for (size_t b = 0; b < LatencyHistogram::kBuckets; ++b) {
    const uint64_t n = c.latency.bucket_count(b);
    if (n == 0) continue;
    o += (first ? "" : ", ") + std::string("[") +
         std::to_string(LatencyHistogram::bucket_lower(b)) + ", " +
         std::to_string(LatencyHistogram::bucket_upper(b)) + ", " +
         std::to_string(n) + "]";
    first = false;
  }
  return o + "]}";
}

}  // namespace

// The median ops/s over the runs.
double Cell::median() const { return median_of(ops_per_sec); }

double Cell::latency_median(uint64_t Latency::*figure) const {
  std::vector<uint64_t> v;
  for (const Latency& l : latency_runs) v.push_back(l.*figure);
  return median_of(v);
}

// Merges one run of a store into its summary (see report.h).
void Report::add(const std::string& name, const std::string& settings,
                 const StoreRun& run) {
  auto it = std::find_if(stores.begin(), stores.end(),
                         [&](const StoreSummary& s) { return s.name == name; });
  if (it == stores.end()) {
    stores.push_back({name, settings, {}, {}, {}, true, {}});
    it = stores.end() - 1;
    if (subject.empty() || name == "snkv") subject = name;
  }
  StoreSummary& s = *it;
  for (const Result& r : run.results) {
    if (std::find(rows.begin(), rows.end(), r.name) == rows.end())
      rows.push_back(r.name);
    Cell& c = s.cells[r.name];
    c.ops = r.ops;
    c.skipped = r.skipped;
    if (!r.skipped && r.seconds > 0)
      c.ops_per_sec.push_back(static_cast<double>(r.ops) / r.seconds);
    if (!r.skipped && r.cpu_seconds > 0)
      c.ops_per_cpu_sec.push_back(static_cast<double>(r.ops) / r.cpu_seconds);
    if (!r.latency.empty()) {
      c.latency_runs.push_back({r.latency.percentile(50),
                                r.latency.percentile(99),
                                r.latency.percentile(99.9), r.latency.max()});
      c.latency.merge(r.latency);
    }
    if (c.ok) c.note = r.note;
    if (!r.ok) {
      c.ok = false;
      s.errors.push_back(r.name + ": " + r.note);
    }
  }
  if (run.disk_bytes) s.disk_bytes.push_back(run.disk_bytes);
  if (run.peak_rss_kb) s.peak_rss_kb.push_back(run.peak_rss_kb);
  if (!run.ok) s.ok = false;
  if (!run.error.empty() && run.error != "failed checks")
    s.errors.push_back(run.error);
}

// True if every store passed every check and none crashed.
bool Report::ok() const {
  return std::all_of(stores.begin(), stores.end(),
                     [](const StoreSummary& s) { return s.ok; });
}

// The text table (see report.h).
std::string Report::table() const {
  const size_t w0 = 20, w = 13;
  std::vector<const StoreSummary*> peers;
  const StoreSummary* subj = nullptr;
  for (const auto& s : stores) {
    if (s.name == subject)
      subj = &s;
    else
      peers.push_back(&s);
  }
  // Ratio columns are as wide as their "subject/peer" header needs.
  std::vector<size_t> rw;
  for (const auto* p : peers)
    rw.push_back(std::max(w, subject.size() + p->name.size() + 3));
  std::string out = left("ops/s (median)", w0);
  for (const auto& s : stores) out += right(s.name, w);
  size_t width = w0 + w * stores.size();
  for (size_t i = 0; i < peers.size(); ++i) {
    out += right(subject + "/" + peers[i]->name, rw[i]);
    width += rw[i];
  }
  out += "\n" + std::string(width, '-') + "\n";
  for (const auto& row : rows) {
    out += left(row, w0);
    for (const auto& s : stores) {
      const Cell* c = cell_of(s, row);
      std::string v = !c ? "-" : c->skipped ? "n/a" : grouped(c->median());
      if (c && !c->ok) v += "!";
      out += right(v, w);
    }
    for (size_t i = 0; i < peers.size(); ++i) {
      double r =
          subj ? ratio(cell_of(*subj, row), cell_of(*peers[i], row)) : NAN;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2fx", r);
      out += right(std::isfinite(r) ? buf : "-", rw[i]);
    }
    out += "\n";
  }
  auto extra = [&](const char* label, auto values_of) {
    out += left(label, w0);
    std::vector<double> med;
    for (const auto& s : stores) {
      med.push_back(values_of(s));
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f", med.back());
      out += right(med.back() > 0 ? buf : "-", w);
    }
    double sv = subj ? values_of(*subj) : 0;
    for (size_t i = 0; i < peers.size(); ++i) {
      double pv = values_of(*peers[i]);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2fx", sv / pv);
      out += right(sv > 0 && pv > 0 ? buf : "-", rw[i]);
    }
    out += "\n";
  };
  extra("peak RSS MiB", [](const StoreSummary& s) {
    return median_of(s.peak_rss_kb) / 1024.0;
  });
  extra("disk MiB (loaded)", [](const StoreSummary& s) {
    return median_of(s.disk_bytes) / (1024.0 * 1024.0);
  });
  out += "(ratios: " + subject +
         " ops/s divided by the peer's; > 1 means faster. For RSS and disk, "
         "< 1 means smaller. '!' marks a failed check.)\n";
  for (const auto& s : stores)
    for (const auto& e : s.errors) out += "FAILED " + s.name + ": " + e + "\n";
  return out;
}

// "median (low-high)" of the ratios a[i]/b[i] of runs paired by index;
// "-" when there are none.
std::string paired_ratios(const std::vector<double>& a,
                          const std::vector<double>& b) {
  std::vector<double> r;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    if (b[i] > 0) r.push_back(a[i] / b[i]);
  if (r.empty()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f (%.2f-%.2f)", median_of(r),
                *std::min_element(r.begin(), r.end()),
                *std::max_element(r.begin(), r.end()));
  return buf;
}

// The ratio ranges (see report.h).
std::string Report::ratio_ranges() const {
  const StoreSummary* subj = nullptr;
  std::vector<const StoreSummary*> peers;
  for (const auto& s : stores) {
    if (s.name == subject)
      subj = &s;
    else
      peers.push_back(&s);
  }
  if (!subj || peers.empty()) return "";
  const size_t w0 = 20, w = 21;
  std::string out = left(subject + "/peer, runs", w0);
  for (const auto* p : peers) {
    out += right(p->name + " wall", w);
    out += right(p->name + " cpu", w);
  }
  out += "\n" + std::string(w0 + 2 * w * peers.size(), '-') + "\n";
  for (const auto& row : rows) {
    const Cell* a = cell_of(*subj, row);
    if (!a || a->skipped) continue;
    out += left(row, w0);
    for (const auto* p : peers) {
      const Cell* b = cell_of(*p, row);
      const bool both = b && !b->skipped;
      out +=
          right(both ? paired_ratios(a->ops_per_sec, b->ops_per_sec) : "-", w);
      out += right(
          both ? paired_ratios(a->ops_per_cpu_sec, b->ops_per_cpu_sec) : "-",
          w);
    }
    out += "\n";
  }
  return out + "(median and range over runs of " + subject +
         "'s ops/s divided by the peer's in the same repetition; cpu: ops per "
         "CPU-second of the whole process, all threads.)\n";
}

// The latency table (see report.h).
std::string Report::latency_table() const {
  const size_t w0 = 26, w = 11;
  std::vector<const StoreSummary*> peers;
  const StoreSummary* subj = nullptr;
  for (const auto& s : stores) {
    if (s.name == subject)
      subj = &s;
    else
      peers.push_back(&s);
  }
  std::string body;
  const std::pair<const char*, uint64_t Cell::Latency::*> figures[] = {
      {"p50", &Cell::Latency::p50},
      {"p99", &Cell::Latency::p99},
      {"p99.9", &Cell::Latency::p999},
      {"max", &Cell::Latency::max}};
  for (const auto& row : rows) {
    bool any = false;
    for (const auto& s : stores) {
      const Cell* c = cell_of(s, row);
      any = any || (c && !c->latency_runs.empty());
    }
    if (!any) continue;
    for (const auto& [label, figure] : figures) {
      body += left(row + " " + label, w0);
      for (const auto& s : stores) {
        const Cell* c = cell_of(s, row);
        char buf[32] = "-";
        if (c && !c->latency_runs.empty())
          std::snprintf(buf, sizeof buf, "%.1f",
                        c->latency_median(figure) / 1e3);
        body += right(buf, w);
      }
      const Cell* sc = subj ? cell_of(*subj, row) : nullptr;
      for (const auto* p : peers) {
        const Cell* pc = cell_of(*p, row);
        char buf[32] = "-";
        if (sc && pc && !sc->latency_runs.empty() &&
            !pc->latency_runs.empty() && pc->latency_median(figure) > 0) {
          std::snprintf(
              buf, sizeof buf, "%.2fx",
              sc->latency_median(figure) / pc->latency_median(figure));
        }
        body += right(buf, std::max(w, subject.size() + p->name.size() + 3));
      }
      body += "\n";
    }
  }
  if (body.empty()) return "";
  std::string head = left("latency us (median)", w0);
  size_t width = w0;
  for (const auto& s : stores) {
    head += right(s.name, w);
    width += w;
  }
  for (const auto* p : peers) {
    const size_t pw = std::max(w, subject.size() + p->name.size() + 3);
    head += right(subject + "/" + p->name, pw);
    width += pw;
  }
  return head + "\n" + std::string(width, '-') + "\n" + body +
         "(per operation, median over runs; ratios: " + subject +
         "'s latency divided by the peer's, < 1 means lower.)\n";
}

// The JSON document; plot.py reads "subject", "workloads", "ratios".
std::string Report::json(const Config& cfg) const {
  const Counts& k = cfg.counts;
  std::string o = "{\n";
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  o += "  \"date\": " + quote(date) + ",\n";
  o += "  \"scale\": " + number(cfg.scale) + ",\n";
  o += "  \"repeat\": " + std::to_string(cfg.repeat) + ",\n";
  o += "  \"duration_s\": " + number(cfg.duration_s) + ",\n";
  o += "  \"value_size\": " + std::to_string(cfg.value_size) + ",\n";
  o += "  \"counts\": {\"keys\": " + std::to_string(k.keys) +
       ", \"reads\": " + std::to_string(k.reads) +
       ", \"exists\": " + std::to_string(k.exists) +
       ", \"update_autocommit\": " + std::to_string(k.update_single) +
       ", \"update_batch\": " + std::to_string(k.update_batch) +
       ", \"deletes\": " + std::to_string(k.deletes) +
       ", \"mixed\": " + std::to_string(k.mixed) +
       ", \"bulk\": " + std::to_string(k.bulk) +
       ", \"prefix_scans\": " + std::to_string(k.prefix_scans) +
       ", \"seeks\": " + std::to_string(k.seeks) +
       ", \"value64\": " + std::to_string(k.value64) +
       ", \"value1k\": " + std::to_string(k.value1k) +
       ", \"value16k\": " + std::to_string(k.value16k) +
       ", \"delete_txn5k\": " + std::to_string(k.delete_txn_small) +
       ", \"delete_txn50k\": " + std::to_string(k.delete_txn_large) +
       ", \"mixed_txn\": " + std::to_string(k.mixed_txn) +
       ", \"bulk_seq\": " + std::to_string(k.bulk_seq) +
       ", \"fresh_keys\": " + std::to_string(k.fresh_keys) +
       ", \"read_with_writer\": " + std::to_string(k.read_with_writer) + "},\n";
  o += "  \"subject\": " + quote(subject) + ",\n";
  o += "  \"ok\": " + std::string(ok() ? "true" : "false") + ",\n";
  o += "  \"workloads\": [";
  for (size_t i = 0; i < rows.size(); ++i)
    o += (i ? ", " : "") + quote(rows[i]);
  o += "],\n  \"stores\": {\n";
  for (size_t si = 0; si < stores.size(); ++si) {
    const StoreSummary& s = stores[si];
    o += "    " + quote(s.name) + ": {\n";
    o += "      \"settings\": " + quote(s.settings) + ",\n";
    o += "      \"ok\": " + std::string(s.ok ? "true" : "false") + ",\n";
    o += "      \"peak_rss_kb\": " + number(median_of(s.peak_rss_kb)) + ",\n";
    o += "      \"disk_bytes\": " + number(median_of(s.disk_bytes)) + ",\n";
    o += "      \"errors\": [";
    for (size_t i = 0; i < s.errors.size(); ++i)
      o += (i ? ", " : "") + quote(s.errors[i]);
    o += "],\n      \"workloads\": {\n";
    bool first = true;
    for (const auto& row : rows) {
      const Cell* c = cell_of(s, row);
      if (!c) continue;
      o += first ? "" : ",\n";
      first = false;
      o += "        " + quote(row) + ": {\"ops_per_sec\": " +
           (c->skipped ? std::string("null") : number(c->median())) +
           ", \"ops\": " + std::to_string(c->ops) +
           ", \"ok\": " + (c->ok ? "true" : "false") +
           ", \"skipped\": " + (c->skipped ? "true" : "false") +
           ", \"note\": " + quote(c->note) + ", \"runs\": [";
      for (size_t i = 0; i < c->ops_per_sec.size(); ++i)
        o += (i ? ", " : "") + number(c->ops_per_sec[i]);
      o += "]";
      o += ", \"ops_per_cpu_sec\": [";
      for (size_t i = 0; i < c->ops_per_cpu_sec.size(); ++i)
        o += (i ? ", " : "") + number(c->ops_per_cpu_sec[i]);
      o += "]";
      if (!c->latency_runs.empty())
        o += ", \"latency_ns\": " + latency_json(*c);
      o += "}";
    }
    o += "\n      }\n    }";
    o += si + 1 < stores.size() ? ",\n" : "\n";
  }
  o += "  },\n  \"ratios\": {\n";
  const StoreSummary* subj = nullptr;
  for (const auto& s : stores)
    if (s.name == subject) subj = &s;
  bool first_peer = true;
  for (const auto& p : stores) {
    if (&p == subj || !subj) continue;
    o += first_peer ? "" : ",\n";
    first_peer = false;
    o += "    " + quote(p.name) + ": {";
    bool first = true;
    for (const auto& row : rows) {
      double r = ratio(cell_of(*subj, row), cell_of(p, row));
      if (!std::isfinite(r)) continue;
      o += (first ? "" : ", ") + quote(row) + ": " + number(r);
      first = false;
    }
    o += "}";
  }
  o += "\n  }\n}\n";
  return o;
}

}  // namespace bench
