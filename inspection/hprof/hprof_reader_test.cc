// The reader rejects malformed input with an error naming the offset, and
// never crashes on it (ASan checks the "never"); the snapshot rejects records
// that contradict each other (an id twice, a superclass chain that loops or
// is too deep) naming the records' offsets.
#include "inspection/hprof/hprof_reader.h"

#include <functional>
#include <random>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

constexpr uint64_t kInstanceId = 0x90000000;  // above every class id

// ClassChainDump: class i (id 0x100 * (i + 1), named "C<i>") extends
// supers[i]'s id (0: none); `repeat`, if set, writes the record of that id
// (a class, or the instance kInstanceId of class C0) a second time.
std::vector<uint8_t> ClassChainDump(const std::vector<uint64_t>& supers, uint64_t repeat = 0) {
  MemorySink sink;
  HprofWriter w(&sink);
  w.WriteHeader(1);
  for (uint32_t i = 0; i < supers.size(); ++i) {
    w.BeginRecord(hprof::kString);
    w.Id(i + 1);
    w.Bytes(absl::StrFormat("C%d", i));
    w.EndRecord();
    w.BeginRecord(hprof::kLoadClass);
    w.U4(i + 1);
    w.Id(0x100 * (i + 1));
    w.U4(1);
    w.Id(i + 1);
    w.EndRecord();
  }
  const auto class_dump = [&](uint32_t i) {
    w.BeginSubRecord(hprof::kClassDump, 1 + 8 + 4 + 48 + 4 + 2 + 2 + 2);
    w.Id(0x100 * (i + 1)); w.U4(1); w.Id(supers[i] == 0 ? 0 : 0x100 * supers[i]);
    for (int k = 0; k < 5; ++k) w.Id(0);
    w.U4(16); w.U2(0); w.U2(0); w.U2(0);
  };
  const auto instance = [&] {
    w.BeginSubRecord(hprof::kInstanceDump, 1 + 8 + 4 + 8 + 4);
    w.Id(kInstanceId); w.U4(1); w.Id(0x100); w.U4(0);
  };
  for (uint32_t i = 0; i < supers.size(); ++i) class_dump(i);
  instance();
  if (repeat == kInstanceId) instance();
  if (repeat != 0 && repeat != kInstanceId) class_dump(static_cast<uint32_t>(repeat / 0x100 - 1));
  w.EndHeapDump();
  EXPECT_TRUE(w.Finish().ok());
  return sink.data();
}

// Chain: n classes, each extending the next (class numbers from 1).
std::vector<uint64_t> Chain(uint32_t n) {
  std::vector<uint64_t> supers(n);
  for (uint32_t i = 0; i + 1 < n; ++i) supers[i] = i + 2;
  return supers;
}

// OffsetsIn: every "offset N" the message names.
std::vector<uint64_t> OffsetsIn(absl::string_view message) {
  std::vector<uint64_t> offsets;
  for (size_t at = message.find("offset "); at != absl::string_view::npos;
       at = message.find("offset ", at + 1)) {
    size_t end = at + 7;
    while (end < message.size() && absl::ascii_isdigit(message[end])) ++end;
    uint64_t offset;
    if (absl::SimpleAtoi(message.substr(at + 7, end - at - 7), &offset)) offsets.push_back(offset);
  }
  return offsets;
}

// ExpectRecordAt: `dump` holds a sub-record `tag` of object `id` at `offset`.
void ExpectRecordAt(const std::vector<uint8_t>& dump, uint64_t offset, uint8_t tag, uint64_t id) {
  ASSERT_LT(offset + 9, dump.size());
  EXPECT_EQ(dump[offset], tag) << "at " << offset;
  uint64_t v = 0;
  for (int i = 1; i <= 8; ++i) v = v << 8 | dump[offset + i];
  EXPECT_EQ(v, id) << "at " << offset;
}

// Recorder: every callback as a line, with the offset of its record; as a
// shard of a sharded parse it records into its own log, merged in order.
class Recorder : public HprofShard {
 public:
  explicit Recorder(std::function<uint64_t()> offset) : offset_(std::move(offset)) {}
  absl::Status OnString(uint64_t id, absl::string_view text) override {
    return Log(absl::StrFormat("string %x %s", id, text));
  }
  absl::Status OnLoadClass(uint32_t serial, uint64_t class_id, uint64_t name_id) override {
    return Log(absl::StrFormat("class %d %x %x", serial, class_id, name_id));
  }
  absl::Status OnStackTrace(uint32_t serial, uint32_t thread, absl::Span<const uint64_t> frames) override {
    return Log(absl::StrFormat("trace %d %d %d", serial, thread, frames.size()));
  }
  absl::Status OnRoot(uint8_t tag, uint64_t id, uint32_t thread, int32_t depth, uint32_t trace) override {
    return Log(absl::StrFormat("root %d %x %d %d %d", tag, id, thread, depth, trace));
  }
  absl::Status OnClassDump(const HprofClassDump& dump) override {
    return Log(absl::StrFormat("dump %x %x %d %d %d", dump.class_id, dump.super_id,
                               dump.instance_size, dump.fields.size(), dump.statics.size()));
  }
  absl::Status OnInstance(uint64_t id, uint64_t class_id, absl::Span<const uint8_t> values) override {
    return Log(absl::StrFormat("instance %x %x %d", id, class_id, values.size()));
  }
  absl::Status OnObjectArray(uint64_t id, uint64_t class_id, absl::Span<const uint64_t> elements) override {
    return Log(absl::StrFormat("array %x %x %d", id, class_id, elements.size()));
  }
  absl::Status OnPrimitiveArray(uint64_t id, uint8_t type, uint32_t length,
                                absl::Span<const uint8_t>) override {
    return Log(absl::StrFormat("primitive %x %d %d", id, type, length));
  }
  std::string log;

 private:
  absl::Status Log(const std::string& line) {
    absl::StrAppend(&log, offset_ ? offset_() : record_offset(), ": ", line, "\n");
    return absl::OkStatus();
  }
  std::function<uint64_t()> offset_;  // empty: a shard's own record_offset()
};

class RecorderSharding : public HprofSharding {
 public:
  explicit RecorderSharding(Recorder& main) : main_(main) {}
  std::unique_ptr<HprofShard> NewShard() override { return std::make_unique<Recorder>(nullptr); }
  absl::Status Merge(HprofShard& shard, uint64_t) override {
    main_.log += static_cast<Recorder&>(shard).log;
    return absl::OkStatus();
  }

 private:
  Recorder& main_;
};

// Parse and ParseSharded (chunks of every sub-record, and of 40 bytes) give
// the same callbacks in the same order, the same counts and the same
// Status, on the dump, each of its truncations and each byte changed.
TEST(HprofReaderTest, ShardedParseIsTheSerialParse) {
  const std::vector<uint8_t> dump = SmallDump();
  const auto expect_same = [](const std::vector<uint8_t>& bytes) {
    std::unique_ptr<HprofReader> reader = HprofReader::FromBytes(bytes);
    Recorder serial([&] { return reader->record_offset(); });
    const absl::Status serial_status = reader->Parse(serial);
    const HprofRecordCounts counts = reader->record_counts();
    for (const uint64_t chunk : {1, 40}) {
      SCOPED_TRACE(chunk);
      Recorder main([&] { return reader->record_offset(); });
      RecorderSharding sharding(main);
      const absl::Status status =
          reader->ParseSharded(main, sharding, {.threads = 2, .chunk_bytes = chunk});
      EXPECT_EQ(serial_status, status);
      EXPECT_EQ(serial.log, main.log);
      if (status.ok()) {
        EXPECT_EQ(counts.records, reader->record_counts().records);
        EXPECT_EQ(counts.sub_records, reader->record_counts().sub_records);
      }
    }
    return serial_status.ok();
  };
  ASSERT_TRUE(expect_same(dump));
  int failed = 0;
  for (size_t at = 0; at < dump.size(); ++at) {
    SCOPED_TRACE(at);
    failed += !expect_same(std::vector<uint8_t>(dump.begin(), dump.begin() + at));
    std::vector<uint8_t> changed = dump;
    changed[at] ^= 0xFF;
    failed += !expect_same(changed);
  }
  EXPECT_GT(failed, static_cast<int>(dump.size()));
}

TEST(HprofSnapshotTest, SuperclassLoopIsRejectedNamingTheClassAndItsRecord) {
  // C0 -> C1 -> C2 -> C1: the loop does not pass through the first class.
  const std::vector<uint8_t> dump = ClassChainDump({2, 3, 2});
  const absl::Status status = HprofSnapshot::FromBytes(dump).status();
  ASSERT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "CLASS_DUMP of class 0x200 (C1)")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "loops")) << status;
  const std::vector<uint64_t> offsets = OffsetsIn(status.message());
  ASSERT_EQ(offsets.size(), 1u) << status;
  ExpectRecordAt(dump, offsets[0], hprof::kClassDump, 0x200);
}

TEST(HprofSnapshotTest, ClassThatExtendsItselfIsRejected) {
  const absl::Status status = HprofSnapshot::FromBytes(ClassChainDump({1})).status();
  EXPECT_TRUE(absl::StrContains(status.message(), "CLASS_DUMP of class 0x100 (C0): its "
                                                  "superclass chain loops back to it"))
      << status;
}

TEST(HprofSnapshotTest, SuperclassChainsUpToTheBoundAreReadDeeperOnesRejected) {
  auto deepest = HprofSnapshot::FromBytes(ClassChainDump(Chain(kHprofMaxSuperclassDepth)));
  ASSERT_TRUE(deepest.ok()) << deepest.status();
  EXPECT_TRUE((*deepest)->Fields(kInstanceId).ok());
  const std::vector<uint8_t> dump = ClassChainDump(Chain(kHprofMaxSuperclassDepth + 1));
  const absl::Status status = HprofSnapshot::FromBytes(dump).status();
  ASSERT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "(C0): its superclass chain is more than 1024"))
      << status;
  ASSERT_EQ(OffsetsIn(status.message()).size(), 1u) << status;
  ExpectRecordAt(dump, OffsetsIn(status.message())[0], hprof::kClassDump, 0x100);
}

TEST(HprofSnapshotTest, ObjectIdTwiceNamesBothRecords) {
  for (const auto& [id, tag] : {std::pair<uint64_t, uint8_t>{kInstanceId, hprof::kInstanceDump},
                                std::pair<uint64_t, uint8_t>{0x200, hprof::kClassDump}}) {
    SCOPED_TRACE(id);
    const std::vector<uint8_t> dump = ClassChainDump({2, 0}, id);
    const absl::Status status = HprofSnapshot::FromBytes(dump).status();
    ASSERT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_TRUE(absl::StrContains(status.message(),
                                  absl::StrFormat("object id 0x%x appears twice", id)))
        << status;
    const std::vector<uint64_t> offsets = OffsetsIn(status.message());
    ASSERT_EQ(offsets.size(), 2u) << status;  // the repeat, then the first
    EXPECT_GT(offsets[0], offsets[1]);
    ExpectRecordAt(dump, offsets[0], tag, id);
    ExpectRecordAt(dump, offsets[1], tag, id);
  }
}

TEST(FindBadSuperclassChainTest, FindsLoopsAndDepthsInOneWalk) {
  constexpr uint32_t kNone = ~uint32_t{0};
  EXPECT_FALSE(FindBadSuperclassChain({}).has_value());
  EXPECT_FALSE(FindBadSuperclassChain({kNone, 0, 1, 1, 7}).has_value());  // 7: not a class
  const auto loop = FindBadSuperclassChain({1, 2, 3, 1});
  ASSERT_TRUE(loop.has_value());
  EXPECT_TRUE(loop->cycle);
  EXPECT_EQ(loop->cls, 1u);
  std::vector<uint32_t> deep(kHprofMaxSuperclassDepth + 1);
  for (uint32_t i = 0; i < deep.size(); ++i) deep[i] = i == 0 ? kNone : i - 1;
  const auto too_deep = FindBadSuperclassChain(deep);
  ASSERT_TRUE(too_deep.has_value());
  EXPECT_FALSE(too_deep->cycle);
  EXPECT_EQ(too_deep->cls, kHprofMaxSuperclassDepth);
  deep.pop_back();
  EXPECT_FALSE(FindBadSuperclassChain(deep).has_value());
}

}  // namespace
}  // namespace kiln
