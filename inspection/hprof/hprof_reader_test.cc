// The reader rejects malformed input with an error naming the offset, and
// never crashes on it (ASan checks the "never").
#include "inspection/hprof/hprof_reader.h"

#include <random>

#include "gtest/gtest.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/hprof/hprof_writer.h"

namespace kiln {
namespace {

// A small, valid dump: one class with an int and an object field, an
// instance, an object array, a byte array, a thread root and a trace.
std::vector<uint8_t> SmallDump() {
  MemorySink sink;
  HprofWriter w(&sink);
  w.WriteHeader(1);
  const char* names[] = {"java/lang/Object", "Node", "value", "next"};
  for (uint64_t i = 0; i < 4; ++i) {
    w.BeginRecord(hprof::kString);
    w.Id(i + 1);
    w.Bytes(names[i]);
    w.EndRecord();
  }
  for (uint32_t serial = 1; serial <= 2; ++serial) {
    w.BeginRecord(hprof::kLoadClass);
    w.U4(serial);
    w.Id(0x100 * serial);
    w.U4(1);
    w.Id(serial);
    w.EndRecord();
  }
  w.BeginRecord(hprof::kStackTrace);
  w.U4(1);
  w.U4(0);
  w.U4(0);
  w.EndRecord();
  w.BeginSubRecord(hprof::kRootStickyClass, 9);
  w.Id(0x100);
  w.BeginSubRecord(hprof::kClassDump, 1 + 8 + 4 + 48 + 4 + 2 + 2 + 2);
  w.Id(0x100); w.U4(1); for (int i = 0; i < 6; ++i) w.Id(0);
  w.U4(16); w.U2(0); w.U2(0); w.U2(0);
  w.BeginSubRecord(hprof::kClassDump, 1 + 8 + 4 + 48 + 4 + 2 + 2 + 2 + 2 * 9);
  w.Id(0x200); w.U4(1); w.Id(0x100); for (int i = 0; i < 5; ++i) w.Id(0);
  w.U4(32); w.U2(0); w.U2(0); w.U2(2);
  w.Id(3); w.U1(hprof::kInt);
  w.Id(4); w.U1(hprof::kObject);
  w.BeginSubRecord(hprof::kInstanceDump, 1 + 8 + 4 + 8 + 4 + 12);
  w.Id(0x1000); w.U4(1); w.Id(0x200); w.U4(12); w.U4(42); w.Id(0x2000);
  w.BeginSubRecord(hprof::kObjectArrayDump, 1 + 8 + 4 + 4 + 8 + 16);
  w.Id(0x2000); w.U4(1); w.U4(2); w.Id(0x100); w.Id(0x1000); w.Id(0x3000);
  w.BeginSubRecord(hprof::kPrimitiveArrayDump, 1 + 8 + 4 + 4 + 1 + 3);
  w.Id(0x3000); w.U4(1); w.U4(3); w.U1(hprof::kByte); w.Bytes("abc");
  w.EndHeapDump();
  EXPECT_TRUE(w.Finish().ok());
  return sink.data();
}

TEST(HprofReaderTest, ReadsAValidDump) {
  auto snapshot = HprofSnapshot::FromBytes(SmallDump());
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE((*snapshot)->CheckReferences().ok());
  auto fields = *(*snapshot)->Fields(0x1000);
  EXPECT_EQ(fields["value"].bits, 42u);
  EXPECT_EQ(fields["next"].bits, 0x2000u);
  EXPECT_EQ((*snapshot)->FindClass("java.lang.Object")->instance_size, 16u);
}

TEST(HprofReaderTest, EveryTruncationIsAnErrorOrAShorterValidFile) {
  const std::vector<uint8_t> dump = SmallDump();
  int errors = 0;
  for (size_t cut = 0; cut < dump.size(); ++cut) {
    auto snapshot = HprofSnapshot::FromBytes(std::vector<uint8_t>(dump.begin(), dump.begin() + cut));
    if (!snapshot.ok()) {
      ++errors;
      EXPECT_NE(snapshot.status().message().find("offset"), std::string::npos)
          << snapshot.status();
    }
  }
  EXPECT_GT(errors, static_cast<int>(dump.size()) * 9 / 10);
}

TEST(HprofReaderTest, CorruptBytesNeverCrashAndErrorsNameTheRecord) {
  const std::vector<uint8_t> dump = SmallDump();
  std::mt19937 random(7);
  int errors = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<uint8_t> bad = dump;
    for (int k = 0; k < 3; ++k) bad[random() % bad.size()] = static_cast<uint8_t>(random());
    auto snapshot = HprofSnapshot::FromBytes(std::move(bad));
    if (!snapshot.ok()) {
      ++errors;
      continue;
    }
    (void)(*snapshot)->CheckReferences();  // may fail; must not crash
  }
  EXPECT_GT(errors, 100);

  std::vector<uint8_t> bad_tag = dump;
  bad_tag[hprof::kHeaderSize] = 0x77;
  auto status = HprofSnapshot::FromBytes(bad_tag).status();
  EXPECT_EQ(status.message(), "HPROF offset 31: unknown record tag 0x77");
  std::vector<uint8_t> bad_magic = dump;
  bad_magic[13] = '9';
  EXPECT_NE(HprofSnapshot::FromBytes(bad_magic).status().message().find("unsupported format"),
            std::string::npos);
  EXPECT_FALSE(HprofReader::Open("/nonexistent/file.hprof").ok());
}

}  // namespace
}  // namespace kiln
