// Hand-built HPROF files in the JDK's layout, for tests and fuzz seeds.
#include "inspection/hprof/hprof_test_dumps.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "base/check.h"
#include "inspection/hprof/hprof_format.h"
#include "zlib.h"

namespace kiln::testing {
namespace {

// Bytes: a big-endian byte builder whose records backfill their lengths.
class Bytes {
 public:
  explicit Bytes(uint32_t id_size) : id_size_(id_size) {}
  void U1(uint8_t v) { out_.push_back(v); }
  void U2(uint16_t v) { N(v, 2); }
  void U4(uint32_t v) { N(v, 4); }
  void U8(uint64_t v) { N(v, 8); }
  void Id(uint64_t v) { N(v, id_size_); }
  void Text(const std::string& s) { out_.insert(out_.end(), s.begin(), s.end()); }
  void Begin(uint8_t tag) {
    U1(tag);
    U4(0);  // microseconds since the header
    length_at_ = out_.size();
    U4(0);
  }
  void End() {
    const uint32_t length = static_cast<uint32_t>(out_.size() - length_at_ - 4);
    for (int i = 0; i < 4; ++i) out_[length_at_ + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
  }
  void String(uint64_t id, const std::string& text) {
    Begin(hprof::kString);
    Id(id);
    Text(text);
    End();
  }
  std::vector<uint8_t>& out() { return out_; }
  uint32_t id_size() const { return id_size_; }

 private:
  void N(uint64_t v, unsigned bytes) {
    for (unsigned i = 0; i < bytes; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * (bytes - 1 - i))));
  }
  const uint32_t id_size_;
  std::vector<uint8_t> out_;
  size_t length_at_ = 0;
};

// Strings: 1 Object, 2 Foo, 3 value, 4 next, 5 INSTANCE, 6 [I, 7 [Object,
// 8 main, 9 ()V, 10 Foo.java, 11 run.
void Names(Bytes& b) {
  const char* names[] = {"java/lang/Object", "Foo", "value", "next", "INSTANCE", "[I",
                         "[Ljava/lang/Object;", "main", "()V", "Foo.java", "run"};
  for (uint64_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i) b.String(i + 1, names[i]);
}

void ClassDump(Bytes& b, uint64_t id, uint64_t super, uint32_t instance_size) {
  b.U1(hprof::kClassDump);
  b.Id(id);
  b.U4(1);
  b.Id(super);
  for (int i = 0; i < 5; ++i) b.Id(0);  // loader, signers, domain, reserved x2
  b.U4(instance_size);
}

void HeapDump(Bytes& b) {
  // First segment: the roots, one of each kind HotSpot defines.
  b.Begin(hprof::kHeapDumpSegment);
  b.U1(hprof::kRootThreadObject); b.Id(0x1000); b.U4(1); b.U4(2);
  b.U1(hprof::kRootJavaFrame); b.Id(0x1001); b.U4(1); b.U4(0);
  b.U1(hprof::kRootJniLocal); b.Id(0x2000); b.U4(1); b.U4(1);
  b.U1(hprof::kRootJniGlobal); b.Id(0x3000); b.Id(0x9000);
  b.U1(hprof::kRootNativeStack); b.Id(0x1000); b.U4(1);
  b.U1(hprof::kRootStickyClass); b.Id(0x100);
  b.U1(hprof::kRootThreadBlock); b.Id(0x1000); b.U4(1);
  b.U1(hprof::kRootMonitorUsed); b.Id(0x1001);
  b.U1(hprof::kRootUnknown); b.Id(0x200);
  b.End();
  // Second segment: classes and objects.
  b.Begin(hprof::kHeapDumpSegment);
  ClassDump(b, 0x100, 0, 16);
  b.U2(0); b.U2(0); b.U2(0);
  ClassDump(b, 0x200, 0x100, 24);
  b.U2(1); b.U2(0); b.U1(hprof::kObject); b.Id(0x1000);             // a constant
  b.U2(1); b.Id(5); b.U1(hprof::kObject); b.Id(0x1000);             // static INSTANCE
  b.U2(2); b.Id(3); b.U1(hprof::kInt); b.Id(4); b.U1(hprof::kObject);  // value, next
  for (uint64_t array_class : {0x300, 0x400}) {
    ClassDump(b, array_class, 0x100, 0);
    b.U2(0); b.U2(0); b.U2(0);
  }
  for (uint64_t foo : {0x1000, 0x1001}) {
    b.U1(hprof::kInstanceDump); b.Id(foo); b.U4(1); b.Id(0x200);
    b.U4(4 + b.id_size());  // field bytes: int value, Object next
    b.U4(foo == 0x1000 ? 7 : 8);
    b.Id(foo == 0x1000 ? 0x1001 : 0);
  }
  b.U1(hprof::kObjectArrayDump); b.Id(0x2000); b.U4(1); b.U4(3); b.Id(0x400);
  b.Id(0x1000); b.Id(0x1001); b.Id(0);
  b.U1(hprof::kPrimitiveArrayDump); b.Id(0x3000); b.U4(1); b.U4(3); b.U1(hprof::kInt);
  b.U4(1); b.U4(2); b.U4(3);
  b.End();
  b.Begin(hprof::kHeapDumpEnd);
  b.End();
}

}  // namespace

std::vector<uint8_t> JdkStyleDump(uint32_t id_size) {
  KILN_CHECK(id_size == 4 || id_size == 8, "id size ", id_size);
  Bytes b(id_size);
  b.Text("JAVA PROFILE 1.0.2");
  b.U1(0);
  b.U4(id_size);
  b.U8(1700000000000);
  Names(b);
  const uint64_t classes[][2] = {{0x100, 1}, {0x200, 2}, {0x300, 6}, {0x400, 7}};
  for (uint32_t i = 0; i < 4; ++i) {
    b.Begin(hprof::kLoadClass);
    b.U4(i + 1);
    b.Id(classes[i][0]);
    b.U4(1);
    b.Id(classes[i][1]);
    b.End();
  }
  // Records HotSpot defines but readers of heaps skip: CONTROL_SETTINGS
  // (u4 flags, u2 stack depth), START_THREAD, END_THREAD, UNLOAD_CLASS.
  b.Begin(0x0E); b.U4(0); b.U2(64); b.End();
  b.Begin(0x0A); b.U4(1); b.Id(0x1000); b.U4(2); b.Id(8); b.Id(0); b.Id(0); b.End();
  // Frames 0x50 (Foo.run, line 12) and 0x51 (Foo.main, unknown line).
  for (uint64_t frame : {0x50, 0x51}) {
    b.Begin(hprof::kStackFrame);
    b.Id(frame); b.Id(frame == 0x50 ? 11 : 8); b.Id(9); b.Id(10); b.U4(2);
    b.U4(frame == 0x50 ? 12 : static_cast<uint32_t>(-1));
    b.End();
  }
  b.Begin(hprof::kStackTrace); b.U4(1); b.U4(0); b.U4(0); b.End();
  b.Begin(hprof::kStackTrace); b.U4(2); b.U4(1); b.U4(2); b.Id(0x50); b.Id(0x51); b.End();
  HeapDump(b);
  b.Begin(0x0B); b.U4(1); b.End();
  b.Begin(0x03); b.U4(4); b.End();
  return std::move(b.out());
}

std::vector<uint8_t> Gzip(const std::vector<uint8_t>& bytes, size_t block_size) {
  std::vector<uint8_t> out;
  size_t at = 0;
  do {
    const size_t n = std::min(block_size, bytes.size() - at);
    z_stream z;
    std::memset(&z, 0, sizeof(z));
    KILN_CHECK(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK, "");
    std::vector<uint8_t> member(deflateBound(&z, n) + 64);
    z.next_in = const_cast<uint8_t*>(bytes.data() + at);
    z.avail_in = static_cast<uInt>(n);
    z.next_out = member.data();
    z.avail_out = static_cast<uInt>(member.size());
    KILN_CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END, "deflate");
    out.insert(out.end(), member.begin(), member.begin() + (member.size() - z.avail_out));
    deflateEnd(&z);
    at += n;
  } while (at < bytes.size());
  return out;
}

}  // namespace kiln::testing
