#include "inspection/hprof/parallel_gzip_sink.h"

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "inspection/hprof/byte_sink.h"
#include "zlib.h"

namespace kiln {
namespace {

// Members: inflates every gzip member of `gz` on its own; the uncompressed
// size of each, their concatenation in *all, and the first member's comment.
std::vector<size_t> Members(const std::vector<uint8_t>& gz, std::vector<uint8_t>* all,
                            std::string* comment) {
  std::vector<size_t> sizes;
  size_t at = 0;
  std::vector<uint8_t> out(2 << 20);
  while (at < gz.size()) {
    z_stream z;
    std::memset(&z, 0, sizeof(z));
    EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
    char text[64] = {};
    gz_header header;
    std::memset(&header, 0, sizeof(header));
    header.comment = reinterpret_cast<Bytef*>(text);
    header.comm_max = sizeof(text) - 1;
    inflateGetHeader(&z, &header);
    z.next_in = const_cast<Bytef*>(gz.data() + at);
    z.avail_in = static_cast<uInt>(gz.size() - at);
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    const int result = inflate(&z, Z_FINISH);
    EXPECT_EQ(result, Z_STREAM_END) << "member " << sizes.size();
    if (result != Z_STREAM_END) {
      inflateEnd(&z);
      break;
    }
    if (sizes.empty()) *comment = text;
    sizes.push_back(out.size() - z.avail_out);
    all->insert(all->end(), out.begin(), out.begin() + static_cast<ptrdiff_t>(sizes.back()));
    at = gz.size() - z.avail_in;
    inflateEnd(&z);
  }
  return sizes;
}

// Input that compresses like a heap dump: runs, counters and noise.
std::vector<uint8_t> DumpLike(size_t n) {
  std::vector<uint8_t> bytes(n);
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    bytes[i] = (i % 64 < 40) ? static_cast<uint8_t>(i / 64) : static_cast<uint8_t>(x & 0x0f);
  }
  return bytes;
}

TEST(ParallelGzipSinkTest, EveryDeflaterAndWorkerCountGivesHotSpotsBlockFormat) {
  const std::vector<uint8_t> input = DumpLike((3 << 20) + 12345);
  for (Deflater deflater : {Deflater::kZlib, Deflater::kLibdeflate, Deflater::kIsal}) {
    for (int workers : {1, 2, 3}) {
      SCOPED_TRACE(std::string(DeflaterName(deflater)) + " workers=" + std::to_string(workers));
      MemorySink out;
      ParallelGzipSink::Options options;
      options.deflater = deflater;
      options.workers = workers;
      auto sink = ParallelGzipSink::Create(&out, options);
      ASSERT_TRUE(sink.ok()) << sink.status();
      // Uneven writes, across block boundaries.
      for (size_t at = 0; at < input.size();) {
        const size_t n = std::min<size_t>(input.size() - at, 1 + (at * 7919) % 300000);
        ASSERT_TRUE((*sink)->Write(absl::MakeConstSpan(input.data() + at, n)).ok());
        at += n;
      }
      ASSERT_TRUE((*sink)->Finish().ok());
      EXPECT_EQ((*sink)->bytes_written(), input.size());
      std::vector<uint8_t> all;
      std::string comment;
      const std::vector<size_t> sizes = Members(out.data(), &all, &comment);
      EXPECT_EQ(comment, "HPROF BLOCKSIZE=1048576");
      ASSERT_EQ(sizes.size(), 4u);
      for (size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], size_t{1} << 20) << i;
      EXPECT_EQ(sizes.back(), 12345u);
      EXPECT_TRUE(all == input);
      EXPECT_LT(out.data().size(), input.size() / 2);
    }
  }
}

TEST(ParallelGzipSinkTest, AnEmptyDumpIsOneEmptyMember) {
  MemorySink out;
  auto sink = ParallelGzipSink::Create(&out, {});
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Finish().ok());
  std::vector<uint8_t> all;
  std::string comment;
  EXPECT_EQ(Members(out.data(), &all, &comment), std::vector<size_t>{0});
  EXPECT_EQ(comment, "HPROF BLOCKSIZE=1048576");
}

TEST(ParallelGzipSinkTest, AFailingCompressorIsStickyAndStopsTheOutput) {
  const std::vector<uint8_t> input = DumpLike(6 << 20);
  MemorySink out;
  ParallelGzipSink::Options options;
  options.workers = 2;
  options.fail_block = 2;
  auto sink = ParallelGzipSink::Create(&out, options);
  ASSERT_TRUE(sink.ok());
  absl::Status write = absl::OkStatus();
  for (size_t at = 0; at < input.size() && write.ok(); at += 65536) {
    write = (*sink)->Write(absl::MakeConstSpan(input.data() + at, 65536));
  }
  const absl::Status finish = (*sink)->Finish();
  EXPECT_EQ(finish.code(), absl::StatusCode::kInternal);
  EXPECT_NE(finish.message().find("block 2"), std::string::npos) << finish;
  // Only the member before the failed one can have been written.
  std::vector<uint8_t> all;
  std::string comment;
  EXPECT_LE(Members(out.data(), &all, &comment).size(), 1u);
}

TEST(ParallelGzipSinkTest, AFailingOutputIsReturned) {
  const std::vector<uint8_t> input = DumpLike(5 << 20);
  MemorySink out(/*limit=*/100000);
  auto sink = ParallelGzipSink::Create(&out, {});
  ASSERT_TRUE(sink.ok());
  absl::Status write = absl::OkStatus();
  for (size_t at = 0; at < input.size() && write.ok(); at += 65536) {
    write = (*sink)->Write(absl::MakeConstSpan(input.data() + at, 65536));
  }
  EXPECT_EQ((*sink)->Finish().code(), absl::StatusCode::kResourceExhausted);
}

TEST(ParallelGzipSinkTest, BadLevelIsInvalidArgument) {
  MemorySink out;
  ParallelGzipSink::Options options;
  options.level = 0;
  EXPECT_EQ(ParallelGzipSink::Create(&out, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln
