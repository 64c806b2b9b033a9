// rocksdb_readers: the block-cache hit loop — Lookup(key), copy the 4 KiB
// value out, Release — against RocksDB's HyperClockCache and LRUCache, and
// the same loop as a bare memcpy, for folio-load's hit loops to be compared
// with (docs/performance.md, "Readers of one hot page"). Built by build.sh
// only where Debian's librocksdb-dev is installed; no part of the Folio
// package or its tests.
//
//   rocksdb_readers [--impl hyper-clock,lru,memcpy] [--mode hot,distinct,uniform]
//                   [--threads 1,2] [--duration-ms 1000] [--warmup-ms 200]
//                   [--blocks 16384] [--seed N]
//
// Modes: hot — every thread looks up block 0; distinct — thread t looks up
// block t (its own); uniform — every thread looks up blocks drawn uniformly
// from --blocks (16384 × 4 KiB = 64 MiB) with SplitMix64, folio-load's PRNG.
// Every block is inserted before the measurement, into a cache with room
// for all of them (no eviction; a failed Lookup aborts).
//
// Output: one JSON line per (impl, mode, threads):
//   {"impl":"hyper-clock","mode":"hot","threads":2,"seconds":1.0,"ops":…,
//    "opsPerSecond":…,"nsPerOp":…,"perThreadOps":[…]}
// nsPerOp = threads × seconds / ops × 10⁹: the time one thread spends per
// lookup-copy-release (1 / opsPerSecond for one thread).
#include <rocksdb/cache.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kBlock = 4096;

struct SplitMix {
  uint64_t state;
  uint64_t next() {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

// Keeps the compiler from dropping a copy into a buffer nobody reads.
inline void escape(void* p) { asm volatile("" : : "g"(p) : "memory"); }

struct alignas(64) Counter {
  std::atomic<uint64_t> ops{0};
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "rocksdb_readers: %s\nusage: rocksdb_readers [--impl hyper-clock,lru,memcpy] "
               "[--mode hot,distinct,uniform] [--threads 1,2] [--duration-ms N] [--warmup-ms N] "
               "[--blocks N] [--seed N]\n",
               why.c_str());
  std::exit(2);
}

long number(const std::string& flag, const std::string& text, long lo, long hi) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < lo || v > hi) {
    usage(flag + " '" + text + "': expected a whole number from " + std::to_string(lo) + " to " +
          std::to_string(hi));
  }
  return v;
}

// 16 bytes: HyperClockCache takes keys of exactly kCacheKeySize (16).
std::string key(uint64_t block) {
  std::string k(16, '\0');
  std::memcpy(&k[0], &block, sizeof block);
  return k;
}

void deleter(const rocksdb::Slice&, void* value) { std::free(value); }

// What the loop reads from: a RocksDB cache, or plain memory (memcpy).
struct Source {
  std::shared_ptr<rocksdb::Cache> cache;  // null: memcpy
  std::vector<std::string> keys;
  char* memory = nullptr;  // memcpy: blocks × 4 KiB

  void copy(uint64_t block, char* out) const {
    if (!cache) {
      std::memcpy(out, memory + block * kBlock, kBlock);
      escape(out);
      return;
    }
    rocksdb::Cache::Handle* h = cache->Lookup(keys[block]);
    if (h == nullptr) {
      std::fprintf(stderr, "rocksdb_readers: block %llu missing from the cache\n",
                   static_cast<unsigned long long>(block));
      std::abort();
    }
    std::memcpy(out, cache->Value(h), kBlock);
    escape(out);
    cache->Release(h);
  }
};

Source make(const std::string& impl, uint64_t blocks) {
  Source s;
  // Room for every block and the cache's metadata: nothing is evicted.
  size_t capacity = blocks * kBlock * 2 + (64u << 20);
  if (impl == "hyper-clock") {
    s.cache = rocksdb::HyperClockCacheOptions(capacity, kBlock).MakeSharedCache();
  } else if (impl == "lru") {
    s.cache = rocksdb::NewLRUCache(capacity);
  } else if (impl != "memcpy") {
    usage("--impl '" + impl + "': allowed: hyper-clock, lru, memcpy");
  }
  if (s.cache) {
    for (uint64_t b = 0; b < blocks; b++) {
      s.keys.push_back(key(b));
      void* v = std::aligned_alloc(64, kBlock);
      std::memset(v, static_cast<int>(b & 0xff), kBlock);
      rocksdb::Status st = s.cache->Insert(s.keys.back(), v, kBlock, &deleter);
      if (!st.ok()) {
        std::fprintf(stderr, "rocksdb_readers: insert %llu: %s\n", static_cast<unsigned long long>(b),
                     st.ToString().c_str());
        std::exit(1);
      }
    }
  } else {
    s.memory = static_cast<char*>(std::aligned_alloc(64, blocks * kBlock));
    for (uint64_t b = 0; b < blocks; b++) std::memset(s.memory + b * kBlock, static_cast<int>(b & 0xff), kBlock);
  }
  return s;
}

void run(const std::string& impl, const std::string& mode, int threads, const Source& source, uint64_t blocks,
         long warmupMs, long durationMs, uint64_t seed) {
  std::vector<Counter> counters(threads);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; t++) {
    pool.emplace_back([&, t] {
      char* out = static_cast<char*>(std::aligned_alloc(64, kBlock));
      SplitMix rng{seed + static_cast<uint64_t>(t) * 0x9E3779B9ull};
      const uint64_t own = mode == "distinct" ? static_cast<uint64_t>(t) : 0;
      const bool uniform = mode == "uniform";
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < 256; i++) source.copy(uniform ? rng.next() % blocks : own, out);
        n += 256;
        counters[t].ops.store(n, std::memory_order_relaxed);
      }
      std::free(out);
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::milliseconds(warmupMs));
  std::vector<uint64_t> start(threads);
  for (int t = 0; t < threads; t++) start[t] = counters[t].ops.load(std::memory_order_relaxed);
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(durationMs));
  std::vector<uint64_t> end(threads);
  for (int t = 0; t < threads; t++) end[t] = counters[t].ops.load(std::memory_order_relaxed);
  auto t1 = std::chrono::steady_clock::now();
  stop.store(true);
  for (auto& th : pool) th.join();
  double seconds = std::chrono::duration<double>(t1 - t0).count();
  uint64_t total = 0;
  std::string per;
  for (int t = 0; t < threads; t++) {
    total += end[t] - start[t];
    per += (t ? "," : "") + std::to_string(end[t] - start[t]);
  }
  double opsPerSecond = total / seconds;
  std::printf(
      "{\"impl\":\"%s\",\"mode\":\"%s\",\"threads\":%d,\"seconds\":%.6f,\"ops\":%llu,\"opsPerSecond\":%.1f,"
      "\"nsPerOp\":%.2f,\"perThreadOps\":[%s]}\n",
      impl.c_str(), mode.c_str(), threads, seconds, static_cast<unsigned long long>(total), opsPerSecond,
      total ? threads * seconds / total * 1e9 : 0.0, per.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> impls{"hyper-clock", "lru", "memcpy"}, modes{"hot", "distinct", "uniform"};
  std::vector<int> threadCounts{1, 2};
  long durationMs = 1000, warmupMs = 200, blocks = 16384;
  uint64_t seed = 0x5EED;
  for (int i = 1; i < argc; i++) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") usage("the block-cache hit loop against RocksDB's caches");
    if (i + 1 >= argc) usage(flag + ": missing value");
    std::string value = argv[++i];
    if (flag == "--impl") {
      impls = split(value);
    } else if (flag == "--mode") {
      modes = split(value);
      for (auto& m : modes)
        if (m != "hot" && m != "distinct" && m != "uniform") usage("--mode '" + m + "': allowed: hot, distinct, uniform");
    } else if (flag == "--threads") {
      threadCounts.clear();
      for (auto& t : split(value)) threadCounts.push_back(static_cast<int>(number("--threads", t, 1, 256)));
    } else if (flag == "--duration-ms") {
      durationMs = number(flag, value, 1, 600000);
    } else if (flag == "--warmup-ms") {
      warmupMs = number(flag, value, 0, 600000);
    } else if (flag == "--blocks") {
      blocks = number(flag, value, 1, 1 << 22);
    } else if (flag == "--seed") {
      seed = static_cast<uint64_t>(number(flag, value, 0, 1L << 62));
    } else {
      usage("unknown flag " + flag);
    }
  }
  if (impls.empty() || modes.empty() || threadCounts.empty()) usage("nothing to run");
  for (int t : threadCounts)
    for (auto& m : modes)
      if (m == "distinct" && t > blocks) usage("--mode distinct: " + std::to_string(t) + " threads need as many --blocks");
  for (auto& impl : impls) {
    Source source = make(impl, static_cast<uint64_t>(blocks));
    for (auto& mode : modes)
      for (int t : threadCounts) run(impl, mode, t, source, static_cast<uint64_t>(blocks), warmupMs, durationMs, seed);
  }
  return 0;
}
