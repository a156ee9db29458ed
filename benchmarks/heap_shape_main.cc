// heap_shape: heap-dump latency on the benchmark heap shape of
// HEAP_SHAPE.md, in the form `./kiln bench` compares with
// HotSpot (benchmarks/hotspot/HeapShape.java prints the same lines).
//
//   bazel run -c opt //benchmarks:heap_shape --
//       --n=4000000 --repeat=3 --live=false --mode=stw,fork --dir=/tmp
//
// Builds the shape for --n, parks its 4 threads, then takes --repeat dumps
// per mode (modes alternate within a repetition, so that machine noise hits
// them alike) into --dir, deleting each file once measured. One line per dump:
//
//   dump n=<N> live=<bool> mode=<stw|fork> seconds=<wall> pause_seconds=<stw>
//        bytes=<file size> objects=<instance+array records>
//        ttsp_ms=<time to safepoint> prologue_ms=<prologue> fork_ms=<fork()>
//        cpu_ms=<this process's CPU time> child_cpu_ms=<the fork child's>
//        steps_ms=<live_roots>/<make_parsable>/<properties>/<records>/
//                 <walk_plans>/<zeroer>/<fork_setup>/<fork_call>/<resume>/
//                 <fork_call_cpu>
//
// steps_ms are the pause's steps (HeapDumpStats::Steps): the prologue's
// five, pausing and resuming the background zeroer, fork mode's mapping of
// the ring and pipe and its fork() system call alone, the world's
// restart, and the forking thread's CPU time inside fork() (the rest of
// fork_call is waiting for a core).
//
// The CPU times (getrusage, RUSAGE_SELF and RUSAGE_CHILDREN, over the
// dump) move far less with the machine's load than the wall times: a
// fork-mode dump's child_cpu_ms is the walk's cost, a stop-the-world
// dump's cpu_ms the walk's and the write(2)s' together.
//
// With --floor, each repetition also writes as many bytes as its first dump
// into the same --dir the way `dd bs=1M` does (write(2) of 1 MiB blocks of
// zeros into a new file, closed, then deleted) and prints
//
//   floor n=<N> seconds=<wall> bytes=<bytes>
//
// and, at the end, `floor_median n=<N> seconds=<median>`: the page-cache copy
// a dump of that size cannot beat, measured between the dumps so that load
// hits both alike.
//
// Every timed write (each dump and each floor) starts from a clean
// writeback state: the previous file is already unlinked (which drops its
// dirty pages not yet written back), then `syncfs` on --dir's file system
// waits for the writeback in flight and the deletion's journal commit, all
// outside the timing. Without it, at N = 40M (3.76 GB, past the kernel's
// dirty-page throttling point at 15% of available memory) the write that
// came second ran into the first one's writeback and took 2 to 3 times as
// long. fsync'ing each file before unlinking it would settle the same but
// write every byte to disk first (seconds per file, for nothing measured).
//
// Before that, with --warm_page_cache (the default), as many bytes as the
// write will put in the page cache are written to a scratch file in --dir
// and deleted, so that the timed write's page cache lands on memory the
// host backs. On a VM whose balloon device reports free pages to the host
// (virtio-balloon's VIRTIO_BALLOON_F_REPORTING, as on the Firecracker VMs
// these figures come from), memory the guest has kept free for a few
// seconds goes back to the host, and the next copy into it pays the host's
// fault on every page: 376 MB in 1 MiB writes, 4 s after the last write,
// took 1.1-1.5 s (94% of it in the page-cache copy) against 0.07-0.1 s
// right after a write of the same size. That cost is the host's, not the
// writer's: it fell on the first dump of a process (its heap takes seconds
// to build) and at random on others. Warming leaves the medians where they
// were and takes away most of those outliers, not all (at N = 4M, 30
// floors each way: 1 over 0.2 s warmed, 4 not). Touching and freeing
// anonymous memory instead does not help (the page cache does not get
// those pages). Each dump and each floor is warmed alike, outside the
// timing.
//
// With --floor and --gz, each repetition also times the compression alone:
// the plain bytes of the same frozen heap (one plain stop-the-world dump into
// memory before the first timed dump, outside every timing) fed through a
// ParallelGzipSink at --gz's level, with its default workers (one per core),
// into a sink that discards. No walk, no file:
//
//   gz_floor n=<N> seconds=<wall> bytes=<compressed bytes>
//
// and at the end `gz_floor_median n=<N> seconds=<median>`: what a compressed
// dump of that heap cannot beat on this machine. Its bytes are the compressed
// dump's own (the same blocks, the same members), which the test checks.
//
// --mode=walk takes stop-the-world dumps into a sink that discards the
// bytes (no file, no write(2)): the walk's own cost.
//
// A `heap ...` line first says whether the heap asked for transparent huge
// pages (--huge_pages) and how many of its bytes the kernel backs with them.
// Then one `median ...` line per mode in the same form, then one `rss ...`
// line per mode: the most a dump added to the process's peak RSS
// (rss_added_bytes: VmHWM after the dump minus VmRSS before it, the
// high-water mark reset through /proc/self/clear_refs first) and, to compare
// with, the mark bitmap's size (1/64 of the committed heap).
//
// With --out=PATH it takes one dump (--repeat=1, one mode) to PATH and
// keeps it: the analyzer's benchmark reads the shape that way.
//
// seconds is the wall time of VMRuntime::DumpHeap (file created, written,
// renamed); pause_seconds the stop-the-world part of it. No collection runs
// before the dumps (the heap limit and the first collection's threshold are
// far above the shape), so full dumps hold the garbage tree.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "base/parent_only_memory.h"
#include "benchmarks/heap_shape.h"
#include "inspection/hprof/byte_sink.h"
#include "inspection/hprof/parallel_gzip_sink.h"
#include "inspection/internal/dump_environment.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

ABSL_FLAG(int64_t, n, 1000000, "the shape's N");
ABSL_FLAG(int, repeat, 3, "dumps per mode");
ABSL_FLAG(bool, live, false, "live dumps (reachable objects only) instead of full ones");
ABSL_FLAG(int, gz, 0, "gzip level, 0 (plain) to 9");
ABSL_FLAG(std::string, mode, "stw",
          "stw, fork, walk (stop-the-world into a sink that discards: no file), or a list: stw,fork");
ABSL_FLAG(std::string, dir, "/tmp", "where the dumps go (each is deleted once measured)");
ABSL_FLAG(bool, huge_pages, true, "back the heap with transparent huge pages where offered");
ABSL_FLAG(bool, floor, false,
          "after each repetition, time writing as many bytes as its first dump, as dd bs=1M; "
          "with --gz, also compressing the plain dump's bytes in memory on every core");
ABSL_FLAG(bool, warm_page_cache, true,
          "before each timed write, write as many bytes to a scratch file and delete it "
          "(see the top of the file)");
ABSL_FLAG(std::string, out, "", "write one dump here and keep it (needs --repeat=1, one mode)");

namespace kiln::bench {
namespace {

struct Sample {
  double seconds = 0;
  double pause_seconds = 0;
  double ttsp_ms = 0, prologue_ms = 0, fork_ms = 0;
  double cpu_ms = 0, child_cpu_ms = 0;
  static constexpr int kSteps = 10;
  double steps_ms[kSteps] = {};
  uint64_t bytes = 0;
  uint64_t objects = 0;
  int64_t rss_added = 0;
};

// ProcStatusBytes: a "VmRSS:" / "VmHWM:" line of /proc/self/status, in bytes.
int64_t ProcStatusBytes(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key, 0) == 0) return std::stoll(line.substr(key.size())) * 1024;
  }
  return -1;
}

// DiscardingSink counts the bytes and drops them: a walk without write(2)s.
class DiscardingSink : public ByteSink {
 public:
  absl::Status Write(absl::Span<const uint8_t> bytes) override {
    bytes_ += bytes.size();
    return absl::OkStatus();
  }
  uint64_t bytes_written() const override { return bytes_; }

 private:
  uint64_t bytes_ = 0;
};

// DiscardedDump: a stop-the-world dump into `sink`, as DumpHeap's result.
absl::StatusOr<std::string> DiscardedDump(Runtime& runtime, ByteSink& sink,
                                          const HeapDumpOptions& options, HeapDumpStats* stats) {
  absl::Status status = VMRuntime::DumpHeapTo(runtime, sink, options, stats);
  if (!status.ok()) return status;
  return std::string("(discarded)");
}

// CpuMs: user and system CPU time of `who` (RUSAGE_SELF, RUSAGE_CHILDREN).
double CpuMs(int who) {
  struct rusage usage;
  getrusage(who, &usage);
  auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

std::string Line(const char* kind, int64_t n, bool live, const std::string& mode,
                 const Sample& s) {
  return absl::StrFormat(
      "%s n=%d live=%s mode=%s seconds=%.4f pause_seconds=%.4f bytes=%d objects=%d "
      "ttsp_ms=%.3f prologue_ms=%.3f fork_ms=%.3f cpu_ms=%.1f child_cpu_ms=%.1f steps_ms=%s",
      kind, n, live ? "true" : "false", mode, s.seconds, s.pause_seconds, s.bytes, s.objects,
      s.ttsp_ms, s.prologue_ms, s.fork_ms, s.cpu_ms, s.child_cpu_ms,
      absl::StrJoin(s.steps_ms, "/", [](std::string* out, double ms) {
        absl::StrAppendFormat(out, "%.3f", ms);
      }));
}

// SettleWriteback: syncfs on `dir`'s file system (see the top of the file).
// False if it failed (reported on stderr).
bool SettleWriteback(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || syncfs(fd) != 0) {
    std::perror(("heap_shape: syncfs of " + dir).c_str());
    if (fd >= 0) close(fd);
    return false;
  }
  close(fd);
  return true;
}

// FloorSeconds: the wall time of writing `bytes` zeros to a new file `path`
// in 1 MiB write(2)s (dd bs=1M's pattern), the file closed; then deleted.
// Negative if a step failed (reported on stderr).
double FloorSeconds(const std::string& path, uint64_t bytes) {
  static const std::vector<char> block(size_t{1} << 20, 0);
  const absl::Time start = absl::Now();
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(("heap_shape: floor: creating " + path).c_str());
    return -1;
  }
  for (uint64_t done = 0; done < bytes;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), bytes - done));
    const ssize_t w = write(fd, block.data(), n);
    if (w < 0) {
      std::perror(("heap_shape: floor: writing " + path).c_str());
      close(fd);
      unlink(path.c_str());
      return -1;
    }
    done += static_cast<uint64_t>(w);
  }
  close(fd);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  unlink(path.c_str());
  return seconds;
}

// ParentOnlySink: a ByteSink into ParentOnlyMemory, which a fork() leaves
// out: the gz floor's copy of a plain dump, held for the whole run, must not
// add its page tables to every fork-mode dump's pause (at N = 4M, 9.1 ms
// against 1.2 ms when it was ordinary memory).
class ParentOnlySink : public ByteSink {
 public:
  explicit ParentOnlySink(ParentOnlyMemory memory) : memory_(std::move(memory)) {}
  absl::Status Write(absl::Span<const uint8_t> bytes) override {
    if (bytes.size() > memory_.size() - size_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("gz floor buffer: a dump past its ", memory_.size(), " bytes"));
    }
    std::memcpy(memory_.data() + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
    return absl::OkStatus();
  }
  uint64_t bytes_written() const override { return size_; }
  absl::Span<const uint8_t> data() const { return absl::MakeConstSpan(memory_.data(), size_); }

 private:
  ParentOnlyMemory memory_;
  size_t size_ = 0;
};

// GzFloor: one compression of `plain` as a compressed dump's sink does it
// (ParallelGzipSink, 1 MiB blocks, one worker per core), into a sink that
// discards; the wall time from the sink's creation to its Finish, and the
// compressed byte count.
struct GzFloor {
  double seconds = -1;
  uint64_t bytes = 0;
};
GzFloor GzFloorOf(absl::Span<const uint8_t> plain, int level) {
  DiscardingSink out;
  ParallelGzipSink::Options options;
  options.level = level;
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<ParallelGzipSink>> sink = ParallelGzipSink::Create(&out, options);
  absl::Status status = sink.status();
  if (status.ok()) status = (*sink)->Write(plain);  // the sink cuts the blocks
  if (status.ok()) status = (*sink)->Finish();
  GzFloor floor;
  if (!status.ok()) {
    std::fprintf(stderr, "heap_shape: gz floor: %s\n", status.ToString().c_str());
    return floor;
  }
  floor.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  floor.bytes = out.bytes_written();
  return floor;
}

// WarmPageCache: writes `bytes` to a scratch file in `dir` and deletes it,
// then settles the writeback (see the top of the file). False if a step
// failed (reported on stderr).
bool WarmPageCache(const std::string& dir, uint64_t bytes) {
  if (absl::GetFlag(FLAGS_warm_page_cache) &&
      FloorSeconds(absl::StrCat(dir, "/heap_shape-", getpid(), "-warm"), bytes) < 0) {
    return false;
  }
  return SettleWriteback(dir);
}

template <typename T>
T Median(std::vector<Sample>& samples, T Sample::*field) {
  std::vector<T> values;
  for (const Sample& s : samples) values.push_back(s.*field);
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int Main() {
  const int64_t n = absl::GetFlag(FLAGS_n);
  const int repeat = absl::GetFlag(FLAGS_repeat);
  const bool live = absl::GetFlag(FLAGS_live);
  std::vector<std::string> modes = absl::StrSplit(absl::GetFlag(FLAGS_mode), ',');
  for (const std::string& mode : modes) {
    if (mode != "stw" && mode != "fork" && mode != "walk") {
      std::fprintf(stderr, "heap_shape: --mode takes stw, fork or walk, or a list, not '%s'\n",
                   mode.c_str());
      return 2;
    }
  }
  if (n < 16 || repeat < 1) {
    std::fprintf(stderr, "heap_shape: need --n >= 16 and --repeat >= 1\n");
    return 2;
  }
  const std::string out = absl::GetFlag(FLAGS_out);
  if (!out.empty() && (repeat != 1 || modes.size() != 1)) {
    std::fprintf(stderr, "heap_shape: --out takes one dump: --repeat=1 and one --mode\n");
    return 2;
  }

  RuntimeOptions options;
  options.heap_limit_bytes = size_t{16} << 30;
  options.initial_heap_bytes = options.heap_limit_bytes;  // no collection at all
  options.classes = HeapShapeClasses();
  options.heap_huge_pages = absl::GetFlag(FLAGS_huge_pages);
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(std::move(options));
  if (!runtime.ok()) {
    std::fprintf(stderr, "heap_shape: %s\n", runtime.status().ToString().c_str());
    return 1;
  }
  HeapShape shape(**runtime, n);
  {
    ThreadScope scope(**runtime, "main");
    if (absl::Status built = shape.Build(scope.thread()); !built.ok()) {
      std::fprintf(stderr, "heap_shape: building: %s\n", built.ToString().c_str());
      return 1;
    }
  }
  shape.Park();
  const gc::HeapStats heap_stats = (*runtime)->heap_stats();
  const uint64_t bitmap_bytes = heap_stats.committed_bytes / 64;
  std::printf("heap n=%lld huge_pages=%s committed_bytes=%llu huge_page_bytes=%llu\n",
              static_cast<long long>(n), heap_stats.huge_pages ? "true" : "false",
              static_cast<unsigned long long>(heap_stats.committed_bytes),
              static_cast<unsigned long long>(heap_stats.huge_page_bytes));

  // The dump's options but for the mode, the path and the sink.
  HeapDumpOptions like;
  like.live = live;
  like.gzip_level = absl::GetFlag(FLAGS_gz);
  // Every dump of the parked shape the same bytes: the environment's
  // memory figures (whose digits move from dump to dump) pinned.
  like.extra_properties = PinnedVolatileProperties();

  // The compressor floor's input: the plain bytes of the dump.
  const bool gz_floor = absl::GetFlag(FLAGS_floor) && like.gzip_level > 0;
  // A plain dump takes some 1.0-1.2 bytes per heap byte (its record
  // headers against the objects' own); twice the heap plus the records
  // outside it is room to spare, and costs address space only.
  std::optional<ParentOnlySink> plain;
  if (gz_floor) {
    absl::StatusOr<ParentOnlyMemory> memory = ParentOnlyMemory::Create(
        2 * heap_stats.committed_bytes + (size_t{64} << 20), "the gz floor's plain dump");
    if (!memory.ok()) {
      std::fprintf(stderr, "heap_shape: %s\n", memory.status().ToString().c_str());
      return 1;
    }
    plain.emplace(*std::move(memory));
    HeapDumpOptions plain_options = like;
    plain_options.gzip_level = 0;
    if (absl::Status status = VMRuntime::DumpHeapTo(**runtime, *plain, plain_options);
        !status.ok()) {
      std::fprintf(stderr, "heap_shape: the gz floor's plain dump: %s\n",
                   status.ToString().c_str());
      return 1;
    }
  }

  std::vector<std::vector<Sample>> samples(modes.size());
  std::vector<double> floors, gz_floors;
  for (int r = 0; r < repeat; ++r) {
    for (size_t m = 0; m < modes.size(); ++m) {
      HeapDumpOptions dump = like;
      dump.path = !out.empty() ? out
                               : absl::StrCat(absl::GetFlag(FLAGS_dir), "/heap_shape-", getpid(),
                                              "-", r, "-", modes[m],
                                              dump.gzip_level > 0 ? ".hprof.gz" : ".hprof");
      dump.mode = modes[m] == "fork" ? DumpMode::kFork : DumpMode::kStopTheWorld;
      if (modes[m] != "walk" &&
          !WarmPageCache(absl::GetFlag(FLAGS_dir), samples[m].empty()
                                                       ? heap_stats.committed_bytes
                                                       : samples[m].back().bytes)) {
        return 1;
      }
      ResetPeakRss();
      const int64_t rss_before = ProcStatusBytes("VmRSS:");
      HeapDumpStats stats;
      const double cpu_before = CpuMs(RUSAGE_SELF), child_before = CpuMs(RUSAGE_CHILDREN);
      const absl::Time start = absl::Now();
      DiscardingSink discard;
      absl::StatusOr<std::string> path =
          modes[m] != "walk" ? VMRuntime::DumpHeap(**runtime, dump, &stats)
                             : DiscardedDump(**runtime, discard, dump, &stats);
      const absl::Duration wall = absl::Now() - start;
      const double cpu_ms = CpuMs(RUSAGE_SELF) - cpu_before;
      const double child_cpu_ms = CpuMs(RUSAGE_CHILDREN) - child_before;
      if (!path.ok()) {
        std::fprintf(stderr, "heap_shape: %s\n", path.status().ToString().c_str());
        return 1;
      }
      Sample s;
      s.seconds = absl::ToDoubleSeconds(wall);
      s.pause_seconds = absl::ToDoubleSeconds(stats.pause);
      struct stat st;
      s.bytes = modes[m] == "walk"                   ? discard.bytes_written()
                : stat(path->c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size)
                                                : 0;
      s.objects = stats.objects;
      s.ttsp_ms = absl::ToDoubleMilliseconds(stats.time_to_safepoint);
      s.prologue_ms = absl::ToDoubleMilliseconds(stats.prologue);
      s.fork_ms = absl::ToDoubleMilliseconds(stats.fork);
      s.cpu_ms = cpu_ms;
      s.child_cpu_ms = child_cpu_ms;
      const absl::Duration steps[Sample::kSteps] = {
          stats.steps.live_roots, stats.steps.make_parsable, stats.steps.properties,
          stats.steps.records,    stats.steps.walk_plans,    stats.steps.zeroer,
          stats.steps.fork_setup, stats.steps.fork_call,     stats.steps.resume,
          stats.steps.fork_call_cpu};
      for (int i = 0; i < Sample::kSteps; ++i) {
        s.steps_ms[i] = absl::ToDoubleMilliseconds(steps[i]);
      }
      s.rss_added = ProcStatusBytes("VmHWM:") - rss_before;
      if (out.empty() && modes[m] != "walk") unlink(path->c_str());
      samples[m].push_back(s);
      std::printf("%s\n", Line("dump", n, live, modes[m], s).c_str());
      std::fflush(stdout);
    }
    if (absl::GetFlag(FLAGS_floor)) {
      const uint64_t bytes = samples[0].back().bytes;
      if (!WarmPageCache(absl::GetFlag(FLAGS_dir), bytes)) return 1;
      const double seconds = FloorSeconds(
          absl::StrCat(absl::GetFlag(FLAGS_dir), "/heap_shape-", getpid(), "-", r, "-floor"),
          bytes);
      if (seconds < 0) return 1;
      floors.push_back(seconds);
      std::printf("floor n=%lld seconds=%.4f bytes=%llu\n", static_cast<long long>(n), seconds,
                  static_cast<unsigned long long>(bytes));
      std::fflush(stdout);
    }
    if (gz_floor) {
      const GzFloor floor = GzFloorOf(plain->data(), like.gzip_level);
      if (floor.seconds < 0) return 1;
      gz_floors.push_back(floor.seconds);
      std::printf("gz_floor n=%lld seconds=%.4f bytes=%llu\n", static_cast<long long>(n),
                  floor.seconds, static_cast<unsigned long long>(floor.bytes));
      std::fflush(stdout);
    }
  }
  for (size_t m = 0; m < modes.size(); ++m) {
    Sample median;
    median.seconds = Median(samples[m], &Sample::seconds);
    median.pause_seconds = Median(samples[m], &Sample::pause_seconds);
    median.bytes = Median(samples[m], &Sample::bytes);
    median.objects = Median(samples[m], &Sample::objects);
    median.ttsp_ms = Median(samples[m], &Sample::ttsp_ms);
    median.prologue_ms = Median(samples[m], &Sample::prologue_ms);
    median.fork_ms = Median(samples[m], &Sample::fork_ms);
    median.cpu_ms = Median(samples[m], &Sample::cpu_ms);
    median.child_cpu_ms = Median(samples[m], &Sample::child_cpu_ms);
    for (int i = 0; i < Sample::kSteps; ++i) {
      std::vector<double> values;
      for (const Sample& s : samples[m]) values.push_back(s.steps_ms[i]);
      std::sort(values.begin(), values.end());
      median.steps_ms[i] = values[values.size() / 2];
    }
    std::printf("%s\n", Line("median", n, live, modes[m], median).c_str());
  }
  if (!floors.empty()) {
    std::sort(floors.begin(), floors.end());
    std::printf("floor_median n=%lld seconds=%.4f\n", static_cast<long long>(n),
                floors[floors.size() / 2]);
  }
  if (!gz_floors.empty()) {
    std::sort(gz_floors.begin(), gz_floors.end());
    std::printf("gz_floor_median n=%lld seconds=%.4f\n", static_cast<long long>(n),
                gz_floors[gz_floors.size() / 2]);
  }
  for (size_t m = 0; m < modes.size(); ++m) {
    int64_t most = 0;
    for (const Sample& s : samples[m]) most = std::max(most, s.rss_added);
    std::printf("rss n=%lld live=%s mode=%s rss_added_bytes=%lld mark_bitmap_bytes=%llu\n",
                static_cast<long long>(n), live ? "true" : "false", modes[m].c_str(),
                static_cast<long long>(most), static_cast<unsigned long long>(bitmap_bytes));
  }
  return 0;
}

}  // namespace
}  // namespace kiln::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return kiln::bench::Main();
}
