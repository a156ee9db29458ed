// deflate_benchmark: zlib, libdeflate and ISA-L (igzip) on a heap dump, at
// the same level, one 1 MiB block at a time as a compressed dump does, on
// one core: MB/s of input and the compressed size. Then ParallelGzipSink
// with each deflater on every core.
//
//   bazel run -c opt //benchmarks:heap_shape -- --n=4000000 --repeat=1 --mode=stw --live=false --out=/tmp/shape.hprof
//   bazel run -c opt //benchmarks:deflate_benchmark -- --in=/tmp/shape.hprof --level=1
//
// One line per deflater and mode:
//   deflate lib=<name> level=<n> workers=<n> seconds=<median> mb_per_s=<input MB/s>
//           bytes=<compressed> ratio_to_zlib=<bytes / zlib's bytes>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "inspection/hprof/block_compressor.h"
#include "inspection/hprof/byte_sink.h"
#include "inspection/hprof/parallel_gzip_sink.h"

ABSL_FLAG(std::string, in, "", "a plain heap dump");
ABSL_FLAG(int, level, 1, "gzip level");
ABSL_FLAG(int, repeat, 3, "runs per deflater (the median is printed)");

namespace kiln {
namespace {

// CountingSink: counts what it is given, keeps nothing.
class CountingSink : public ByteSink {
 public:
  absl::Status Write(absl::Span<const uint8_t> bytes) override {
    n_ += bytes.size();
    return absl::OkStatus();
  }
  uint64_t bytes_written() const override { return n_; }

 private:
  uint64_t n_ = 0;
};

int Main() {
  std::ifstream file(absl::GetFlag(FLAGS_in), std::ios::binary);
  std::vector<uint8_t> input((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
  if (input.empty()) {
    std::fprintf(stderr, "deflate_benchmark: --in names no readable, non-empty file\n");
    return 2;
  }
  const int level = absl::GetFlag(FLAGS_level);
  const size_t block = ParallelGzipSink::kBlockSize;
  uint64_t zlib_bytes = 0;
  for (int workers : {1, 0}) {
    for (Deflater d : {Deflater::kZlib, Deflater::kLibdeflate, Deflater::kIsal}) {
      std::vector<double> seconds;
      uint64_t bytes = 0;
      for (int r = 0; r < absl::GetFlag(FLAGS_repeat); ++r) {
        CountingSink out;
        ParallelGzipSink::Options options;
        options.level = level;
        options.deflater = d;
        options.workers = workers;
        auto sink = ParallelGzipSink::Create(&out, options);
        if (!sink.ok()) {
          std::fprintf(stderr, "%s\n", sink.status().ToString().c_str());
          return 1;
        }
        const absl::Time start = absl::Now();
        for (size_t at = 0; at < input.size(); at += block) {
          const size_t n = std::min(block, input.size() - at);
          if (!(*sink)->Write(absl::MakeConstSpan(input.data() + at, n)).ok()) return 1;
        }
        if (!(*sink)->Finish().ok()) return 1;
        seconds.push_back(absl::ToDoubleSeconds(absl::Now() - start));
        bytes = out.bytes_written();
      }
      std::sort(seconds.begin(), seconds.end());
      const double median = seconds[seconds.size() / 2];
      if (d == Deflater::kZlib) zlib_bytes = bytes;
      std::printf(
          "deflate lib=%s level=%d workers=%s seconds=%.3f mb_per_s=%.0f bytes=%llu "
          "ratio_to_zlib=%.3f input_bytes=%zu\n",
          DeflaterName(d), level, workers == 1 ? "1" : "all", median, input.size() / median / 1e6,
          static_cast<unsigned long long>(bytes), static_cast<double>(bytes) / zlib_bytes,
          input.size());
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return kiln::Main();
}
