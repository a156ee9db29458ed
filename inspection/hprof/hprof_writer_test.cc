#include "inspection/hprof/hprof_writer.h"

#include <unistd.h>

#include <csignal>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace kiln {
namespace {

uint32_t ReadU4(const std::vector<uint8_t>& d, size_t at) {
  return uint32_t{d[at]} << 24 | uint32_t{d[at + 1]} << 16 | uint32_t{d[at + 2]} << 8 | d[at + 3];
}

struct Record {
  uint8_t tag;
  size_t body;  // offset of the body
  uint32_t length;
};

// Records splits a file into its top-level records, checking that lengths
// tile the file exactly.
std::vector<Record> Records(const std::vector<uint8_t>& d) {
  std::vector<Record> records;
  size_t at = hprof::kHeaderSize;
  while (at < d.size()) {
    EXPECT_LE(at + 9, d.size());
    const uint32_t length = ReadU4(d, at + 5);
    records.push_back(Record{d[at], at + 9, length});
    at += 9 + length;
  }
  EXPECT_EQ(at, d.size()) << "record lengths do not tile the file";
  return records;
}

// Writes `count` ROOT_STICKY_CLASS sub-records (id = index), an oversized
// PRIM_ARRAY_DUMP in the middle, then the end.
void WriteDump(HprofWriter& writer, int count, uint32_t big_array_bytes) {
  writer.WriteHeader(1234);
  writer.BeginRecord(hprof::kString);
  writer.Id(1);
  writer.Bytes("java/lang/Object");
  writer.EndRecord();
  for (int i = 0; i < count; ++i) {
    writer.BeginSubRecord(hprof::kRootStickyClass, 1 + 8);
    writer.Id(static_cast<uint64_t>(i));
    if (i == count / 2) {
      writer.BeginSubRecord(hprof::kPrimitiveArrayDump, 1 + 8 + 4 + 4 + 1 + big_array_bytes);
      writer.Id(0xA11A7);
      writer.U4(hprof::kEmptyTraceSerial);
      writer.U4(big_array_bytes);
      writer.U1(hprof::kByte);
      std::vector<uint8_t> payload(big_array_bytes, 0x5A);
      writer.Bytes(payload.data(), payload.size());
    }
  }
  writer.EndHeapDump();
}

// DirectDump: WriteDump(300000, 3 MiB) written straight into memory, the
// bytes the other sinks must reproduce (the oversized record spans buffers).
std::vector<uint8_t> DirectDump() {
  MemorySink direct;
  HprofWriter writer(&direct);
  WriteDump(writer, 300000, 3 << 20);
  EXPECT_TRUE(writer.Finish().ok());
  return direct.data();
}

TEST(HprofWriterTest, SegmentsOfAboutOneMebibyteWithBackfilledLengths) {
  MemorySink sink;
  HprofWriter writer(&sink);
  constexpr int kCount = 300000;  // 2.7 MB of sub-records
  WriteDump(writer, kCount, 3 << 20);
  ASSERT_TRUE(writer.Finish().ok());
  const std::vector<uint8_t>& d = sink.data();
  ASSERT_EQ(std::string(d.begin(), d.begin() + 19), std::string("JAVA PROFILE 1.0.2\0", 19));
  EXPECT_EQ(ReadU4(d, 19), 8u);
  EXPECT_EQ(writer.bytes_written(), d.size());

  std::vector<Record> records = Records(d);
  ASSERT_GE(records.size(), 5u);
  EXPECT_EQ(records.front().tag, hprof::kString);
  EXPECT_EQ(records.front().length, 8u + 16);
  EXPECT_EQ(records.back().tag, hprof::kHeapDumpEnd);
  EXPECT_EQ(records.back().length, 0u);
  int roots = 0, arrays = 0;
  uint64_t expected_id = 0;
  for (size_t r = 1; r + 1 < records.size(); ++r) {
    ASSERT_EQ(records[r].tag, hprof::kHeapDumpSegment);
    const bool oversized = records[r].length > (3u << 20);
    if (!oversized) EXPECT_LE(records[r].length, HprofWriter::kSegmentSize);
    // Sub-records tile their segment: none straddles two segments.
    size_t at = records[r].body;
    const size_t end = at + records[r].length;
    while (at < end) {
      if (d[at] == hprof::kRootStickyClass) {
        uint64_t id = uint64_t{ReadU4(d, at + 1)} << 32 | ReadU4(d, at + 5);
        EXPECT_EQ(id, expected_id++);
        ++roots;
        at += 9;
      } else {
        ASSERT_EQ(d[at], hprof::kPrimitiveArrayDump);
        EXPECT_TRUE(oversized);
        EXPECT_EQ(ReadU4(d, at + 13), 3u << 20);
        EXPECT_EQ(d[at + 18 + 12345], 0x5A);
        ++arrays;
        at += 18 + (3u << 20);
      }
    }
    EXPECT_EQ(at, end);
  }
  EXPECT_EQ(roots, kCount);
  EXPECT_EQ(arrays, 1);
}

TEST(HprofWriterTest, StreamsToAPipe) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::vector<uint8_t> received;
  std::thread reader([&] {
    uint8_t buffer[65536];
    ssize_t n;
    while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) received.insert(received.end(), buffer, buffer + n);
  });
  {
    FdSink sink(fds[1], "pipe");
    HprofWriter writer(&sink);
    WriteDump(writer, 200000, 2 << 20);
    EXPECT_TRUE(writer.Finish().ok());
  }
  close(fds[1]);
  reader.join();
  close(fds[0]);
  MemorySink memory;
  HprofWriter same(&memory);
  WriteDump(same, 200000, 2 << 20);
  ASSERT_TRUE(same.Finish().ok());
  EXPECT_EQ(received, memory.data());
}

TEST(HprofWriterTest, FirstWriteErrorIsStickyAndReturnedByFinish) {
  MemorySink sink(/*limit=*/1500000);
  HprofWriter writer(&sink);
  WriteDump(writer, 300000, 1 << 20);
  EXPECT_FALSE(writer.ok());
  absl::Status status = writer.Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(status.message().find("limit of 1500000 bytes"), std::string::npos) << status;
  EXPECT_LE(sink.data().size(), 1500000u);

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);  // nobody reads: EPIPE (SIGPIPE ignored below)
  signal(SIGPIPE, SIG_IGN);
  FdSink broken(fds[1], "pipe");
  HprofWriter to_broken(&broken);
  WriteDump(to_broken, 1000, 100);
  absl::Status pipe_status = to_broken.Finish();
  EXPECT_FALSE(pipe_status.ok());
  EXPECT_NE(pipe_status.message().find("writing pipe at byte 0"), std::string::npos)
      << pipe_status;
  close(fds[1]);
}

// LendingSink lends buffers of its own (ByteSink::LendBuffer) and keeps what
// is submitted or written, in order.
class LendingSink : public ByteSink {
 public:
  absl::Status Write(absl::Span<const uint8_t> bytes) override {
    EXPECT_FALSE(lent_) << "Write while a buffer is lent";
    data_.insert(data_.end(), bytes.begin(), bytes.end());
    return absl::OkStatus();
  }
  uint64_t bytes_written() const override { return data_.size(); }
  absl::Span<uint8_t> LendBuffer(size_t min_bytes) override {
    EXPECT_FALSE(lent_) << "lent twice";
    buffer_.assign(min_bytes + 100, 0xEE);
    lent_ = true;
    ++lends_;
    return absl::MakeSpan(buffer_);
  }
  absl::Status SubmitBuffer(size_t used) override {
    EXPECT_TRUE(lent_) << "submitted without a lend";
    data_.insert(data_.end(), buffer_.begin(), buffer_.begin() + used);
    lent_ = false;
    return absl::OkStatus();
  }
  const std::vector<uint8_t>& data() const { return data_; }
  int lends() const { return lends_; }
  bool lent() const { return lent_; }

 private:
  std::vector<uint8_t> data_;
  std::vector<uint8_t> buffer_;
  bool lent_ = false;
  int lends_ = 0;
};

TEST(HprofWriterTest, FillsTheSinksLentBuffersInPlaceWithTheSameBytes) {
  const std::vector<uint8_t> direct = DirectDump();
  LendingSink lending;
  HprofWriter writer(&lending);
  WriteDump(writer, 300000, 3 << 20);
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_FALSE(lending.lent()) << "Finish kept a lent buffer";
  EXPECT_GT(lending.lends(), 5);  // every flush after the first
  EXPECT_EQ(lending.data(), direct);
}

TEST(PipelinedSinkTest, WritesTheSameBytesInOrderThroughItsThread) {
  const std::vector<uint8_t> direct = DirectDump();
  MemorySink out;
  {
    // Small slots: many hand-overs, and Writes bigger than a slot.
    PipelinedSink pipelined(&out, /*slot_bytes=*/100000, /*slots=*/3);
    HprofWriter writer(&pipelined);
    WriteDump(writer, 300000, 3 << 20);
    ASSERT_TRUE(writer.Finish().ok());
    EXPECT_EQ(pipelined.bytes_written(), direct.size());
    ASSERT_TRUE(pipelined.Close().ok());
    EXPECT_TRUE(pipelined.Close().ok());  // idempotent
  }
  EXPECT_EQ(out.data(), direct);
}

TEST(PipelinedSinkTest, LentSlotsAndWritesComeOutInOrder) {
  MemorySink out;
  PipelinedSink pipelined(&out, /*slot_bytes=*/4096, /*slots=*/2);
  EXPECT_TRUE(pipelined.LendBuffer(4097).empty());  // bigger than a slot
  std::vector<uint8_t> expected;
  for (int round = 0; round < 50; ++round) {
    absl::Span<uint8_t> slot = pipelined.LendBuffer(100);
    ASSERT_EQ(slot.size(), 4096u);
    const size_t used = 1 + round * 37 % 4000;
    for (size_t i = 0; i < used; ++i) slot[i] = static_cast<uint8_t>(round + i);
    expected.insert(expected.end(), slot.begin(), slot.begin() + used);
    ASSERT_TRUE(pipelined.SubmitBuffer(used).ok());
    const std::vector<uint8_t> copied(round + 1, static_cast<uint8_t>(0xC0 + round % 16));
    ASSERT_TRUE(pipelined.Write(absl::MakeConstSpan(copied)).ok());
    expected.insert(expected.end(), copied.begin(), copied.end());
  }
  EXPECT_EQ(pipelined.bytes_written(), expected.size());
  ASSERT_TRUE(pipelined.Close().ok());
  EXPECT_EQ(out.data(), expected);
}

// With slots as big as the writer's buffer the writer fills them in place
// (LentSlotsAndWritesComeOutInOrder covers the lending itself): the same
// bytes come out.
TEST(PipelinedSinkTest, SlotsAsBigAsTheWritersBufferGiveTheSameBytes) {
  const std::vector<uint8_t> direct = DirectDump();
  MemorySink out;
  PipelinedSink pipelined(&out);  // 2 MiB slots: the writer borrows them
  HprofWriter writer(&pipelined);
  WriteDump(writer, 300000, 3 << 20);
  ASSERT_TRUE(writer.Finish().ok());
  ASSERT_TRUE(pipelined.Close().ok());
  EXPECT_EQ(out.data(), direct);
}

TEST(PipelinedSinkTest, FirstErrorOfTheSinkIsStickyAndReturnedByClose) {
  // Small slots (the writer copies into them) and big ones (it fills them).
  for (size_t slot_bytes : {size_t{64} << 10, size_t{2} << 20}) {
    SCOPED_TRACE(slot_bytes);
    MemorySink out(/*limit=*/1500000);
    PipelinedSink pipelined(&out, slot_bytes, /*slots=*/2);
    HprofWriter writer(&pipelined);
    WriteDump(writer, 300000, 1 << 20);
    // The writer learns of the error at a later Write or submit, or at Close.
    const absl::Status finished = writer.Finish();
    const absl::Status closed = pipelined.Close();
    EXPECT_EQ(closed.code(), absl::StatusCode::kResourceExhausted) << closed;
    EXPECT_NE(closed.message().find("limit of 1500000 bytes"), std::string::npos) << closed;
    if (!finished.ok()) {
      EXPECT_EQ(finished, closed);
    }
    EXPECT_LE(out.data().size(), 1500000u);
    EXPECT_EQ(pipelined.Write(absl::MakeConstSpan(std::vector<uint8_t>(10))), closed);
  }
}

}  // namespace
}  // namespace kiln
