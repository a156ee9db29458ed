// Small hand-built HPROF files for reader tests and the fuzzer's seed corpus.
//
//   std::vector<uint8_t> jdk = kiln::testing::JdkStyleDump();
//   std::vector<uint8_t> gz = kiln::testing::Gzip(jdk, /*block_size=*/256);
//
// JdkStyleDump is laid out the way HotSpot 17 writes a dump (4- or 8-byte
// ids), and carries every record and heap sub-record kind the JDK's
// heapDumper.cpp and hprof_b_spec.h define, so that a reader that accepts it
// accepts what the JDK writes. Its contents (for tests that check them):
//   classes  java.lang.Object (id 0x100, instance size 16), Foo (0x200:
//            int value, Object next, static Foo INSTANCE = 0x1000, one
//            object constant), [I (0x300), [Ljava.lang.Object; (0x400)
//   objects  Foo 0x1000 {value 7, next 0x1001}, Foo 0x1001 {value 8, next 0},
//            Object[] 0x2000 {0x1000, 0x1001, 0}, int[] 0x3000 {1, 2, 3}
//   roots    one of each kind 0x01-0x08 and 0xFF; thread serial 1 with a
//            two-frame trace (serial 2); empty trace serial 1 for objects
#ifndef KILN_INSPECTION_HPROF_HPROF_TEST_DUMPS_H_
#define KILN_INSPECTION_HPROF_HPROF_TEST_DUMPS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln::testing {

// JdkStyleDump: see above. `id_size` is 4 or 8.
std::vector<uint8_t> JdkStyleDump(uint32_t id_size = 4);

// Gzip compresses `bytes` as HotSpot's -gz does: independent gzip members of
// `block_size` input bytes each (one member if block_size >= bytes.size()).
std::vector<uint8_t> Gzip(const std::vector<uint8_t>& bytes, size_t block_size);

}  // namespace kiln::testing

#endif  // KILN_INSPECTION_HPROF_HPROF_TEST_DUMPS_H_
