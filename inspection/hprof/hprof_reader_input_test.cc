// The reader's inputs beyond Kiln's own dumps: the JDK's layout (4- and
// 8-byte ids, every record and root kind HotSpot writes) and gzip, plain or
// in HotSpot's block format; corrupt compressed input is an error naming the
// offset in the compressed file.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inspection/hprof/dump_bytes.h"
#include "inspection/hprof/hprof_reader.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/hprof/hprof_test_dumps.h"

namespace kiln {
namespace {

// ExpectJdkStyleContents checks what hprof_test_dumps.h says JdkStyleDump holds.
void ExpectJdkStyleContents(const HprofSnapshot& s) {
  EXPECT_TRUE(s.CheckReferences().ok()) << s.CheckReferences();
  const HprofSnapshot::Class* foo = s.FindClass("Foo");
  ASSERT_NE(foo, nullptr);
  EXPECT_EQ(foo->instance_size, 24u);
  ASSERT_EQ(foo->statics.size(), 1u);
  EXPECT_EQ(foo->statics[0].value, 0x1000u);
  EXPECT_EQ(s.InstancesOf("Foo").size(), 2u);
  auto fields = s.Fields(0x1000);
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_EQ((*fields)["value"].bits, 7u);
  EXPECT_EQ((*fields)["next"].bits, 0x1001u);
  EXPECT_NE(s.FindClass("[I"), nullptr);
  EXPECT_NE(s.FindClass("[Ljava.lang.Object;"), nullptr);
  EXPECT_EQ(s.object_arrays().at(0x2000).elements.size(), 3u);
  EXPECT_EQ(s.primitive_arrays().at(0x3000).length, 3u);
  EXPECT_EQ(s.roots().size(), 9u);
  ASSERT_EQ(s.traces().size(), 2u);
  EXPECT_EQ(s.traces().at(2).frame_ids.size(), 2u);
  EXPECT_EQ(s.frames().at(0x50).method, "run");
  EXPECT_EQ(s.frames().at(0x51).line, -1);
}

TEST(HprofReaderInputTest, ReadsTheJdkLayoutWithFourAndEightByteIds) {
  for (uint32_t id_size : {4u, 8u}) {
    SCOPED_TRACE(id_size);
    auto snapshot = HprofSnapshot::FromBytes(testing::JdkStyleDump(id_size));
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_EQ((*snapshot)->id_size(), id_size);
    ExpectJdkStyleContents(**snapshot);
  }
}

TEST(HprofReaderInputTest, CountsRecordsByTag) {
  auto reader = HprofReader::FromBytes(testing::JdkStyleDump());
  HprofVisitor ignore;
  ASSERT_TRUE(reader->Parse(ignore).ok());
  const HprofRecordCounts& counts = reader->record_counts();
  EXPECT_EQ(counts.records[hprof::kString], 11u);
  EXPECT_EQ(counts.records[hprof::kHeapDumpSegment], 2u);
  EXPECT_EQ(counts.records[hprof::kHeapDumpEnd], 1u);
  EXPECT_EQ(counts.records[0x0E], 1u);
  EXPECT_EQ(counts.sub_records[hprof::kInstanceDump], 2u);
  EXPECT_EQ(counts.sub_records[hprof::kClassDump], 4u);
  EXPECT_EQ(counts.sub_records[hprof::kRootJavaFrame], 1u);
  EXPECT_EQ(counts.sub_records[hprof::kRootUnknown], 1u);
  // A second parse counts afresh.
  ASSERT_TRUE(reader->Parse(ignore).ok());
  EXPECT_EQ(reader->record_counts().sub_records[hprof::kInstanceDump], 2u);
  EXPECT_STREQ(HprofRecordName(0x0E), "CONTROL_SETTINGS");
  EXPECT_STREQ(HprofSubRecordName(hprof::kRootThreadObject), "ROOT_THREAD_OBJECT");
  EXPECT_STREQ(HprofSubRecordName(0x8E), "ROOT_JNI_MONITOR");
}

TEST(HprofReaderInputTest, ReadsGzipWholeAndInHotSpotBlocks) {
  const std::vector<uint8_t> plain = testing::JdkStyleDump();
  for (size_t block : {size_t{1} << 20, size_t{64}, size_t{1}}) {
    SCOPED_TRACE(block);
    const std::vector<uint8_t> gz = testing::Gzip(plain, block);
    auto reader = HprofReader::FromBytes(gz);
    EXPECT_TRUE(reader->compressed());
    EXPECT_EQ(reader->size(), plain.size());
    EXPECT_EQ(reader->stored_size(), gz.size());
    EXPECT_TRUE(std::equal(plain.begin(), plain.end(), reader->data().begin()));
    auto snapshot = HprofSnapshot::FromBytes(gz);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    ExpectJdkStyleContents(**snapshot);
  }
}

TEST(HprofReaderInputTest, OpensGzipFilesFromDiskWithProgress) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/dump.hprof.gz");
  const std::vector<uint8_t> gz = testing::Gzip(testing::JdkStyleDump(8), 100);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, gz.data(), gz.size()), static_cast<ssize_t>(gz.size()));
  close(fd);
  uint64_t last_done = 0, total = 0;
  auto reader = HprofReader::Open(path, [&](uint64_t done, uint64_t all) {
    EXPECT_GE(done, last_done);
    last_done = done;
    total = all;
  });
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(total, gz.size());
  EXPECT_EQ(last_done, gz.size());
  EXPECT_EQ((*reader)->size(), testing::JdkStyleDump(8).size());
  auto snapshot = HprofSnapshot::Load(path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ExpectJdkStyleContents(**snapshot);
}

TEST(HprofReaderInputTest, TruncatedGzipIsAnErrorNamingTheCompressedOffset) {
  const std::vector<uint8_t> gz = testing::Gzip(testing::JdkStyleDump(), 1 << 20);
  for (size_t cut = 2; cut < gz.size(); ++cut) {
    auto inflated = DumpBytes::Inflate(absl::MakeConstSpan(gz.data(), cut));
    ASSERT_FALSE(inflated.ok()) << cut;
    EXPECT_TRUE(absl::StartsWith(inflated.status().message(), "gzip offset ")) << inflated.status();
  }
  HprofVisitor ignore;
  const absl::Status status =
      HprofReader::FromBytes(std::vector<uint8_t>(gz.begin(), gz.end() - 3))->Parse(ignore);
  EXPECT_EQ(status.message(),
            absl::StrCat("gzip offset ", gz.size() - 3,
                         ": truncated: the compressed data ends inside member 1"));
}

TEST(HprofReaderInputTest, BlockGzipCutBetweenMembersIsATruncatedHprof) {
  const std::vector<uint8_t> plain = testing::JdkStyleDump();
  const std::vector<uint8_t> one = testing::Gzip(std::vector<uint8_t>(plain.begin(),
                                                                      plain.begin() + 100), 100);
  HprofVisitor ignore;
  const absl::Status status = HprofReader::FromBytes(one)->Parse(ignore);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(absl::StartsWith(status.message(), "HPROF offset ")) << status;
}

TEST(HprofReaderInputTest, GarbageAndCorruptionInGzipAreErrors) {
  std::vector<uint8_t> gz = testing::Gzip(testing::JdkStyleDump(), 1 << 20);
  std::vector<uint8_t> padded = gz;
  padded.insert(padded.end(), 512, 0);  // gzip accepts zero padding
  EXPECT_TRUE(DumpBytes::Inflate(padded).ok());

  std::vector<uint8_t> garbage = gz;
  garbage.push_back('x');
  EXPECT_EQ(DumpBytes::Inflate(garbage).status().message(),
            absl::StrCat("gzip offset ", gz.size(), ": garbage after the last gzip member"));

  std::vector<uint8_t> corrupt = gz;
  corrupt[3] = 0xE0;  // reserved gzip flag bits
  const absl::Status status = DumpBytes::Inflate(corrupt).status();
  EXPECT_TRUE(absl::StartsWith(status.message(), "gzip offset ")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "member 1")) << status;

  // The CRC in the trailer is checked.
  std::vector<uint8_t> bad_crc = gz;
  bad_crc[gz.size() - 6] ^= 1;
  EXPECT_TRUE(absl::StrContains(DumpBytes::Inflate(bad_crc).status().message(),
                                "incorrect data check"))
      << DumpBytes::Inflate(bad_crc).status();

  // Not HPROF inside.
  const std::vector<uint8_t> text = testing::Gzip({'h', 'i', '\n'}, 1 << 20);
  HprofVisitor ignore;
  EXPECT_EQ(HprofReader::FromBytes(text)->Parse(ignore).message(),
            "HPROF offset 0: header: no \"JAVA PROFILE 1.0.x\" string");
}

TEST(HprofReaderInputTest, MissingFilesAndDirectoriesAreErrors) {
  EXPECT_EQ(HprofReader::Open("/nonexistent.hprof").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(HprofReader::Open("/").ok());
}

}  // namespace
}  // namespace kiln
