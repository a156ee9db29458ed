// The HPROF 1.0.2 binary format: tags and basic types, as the JDK's
// heapDumper.cpp writes them and HPROF.md beside this file describes them. Shared
// by the writer and the reader so that they cannot disagree.
//
//   header   "JAVA PROFILE 1.0.2\0", u4 id size, u8 milliseconds since epoch
//   record   u1 tag, u4 microseconds since the header, u4 body length, body
//
// All integers are big-endian. Kiln's ids are 8 bytes.
#ifndef KILN_INSPECTION_HPROF_HPROF_FORMAT_H_
#define KILN_INSPECTION_HPROF_HPROF_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace kiln::hprof {

inline constexpr char kMagic[] = "JAVA PROFILE 1.0.2";  // followed by a NUL
inline constexpr uint32_t kIdSize = 8;
inline constexpr size_t kHeaderSize = sizeof(kMagic) + 4 + 8;
inline constexpr size_t kRecordHeaderSize = 1 + 4 + 4;

// Top-level record tags.
enum Tag : uint8_t {
  kString = 0x01,
  kLoadClass = 0x02,
  kStackFrame = 0x04,
  kStackTrace = 0x05,
  kHeapDumpSegment = 0x1C,
  kHeapDumpEnd = 0x2C,
};

// Heap dump sub-record tags.
enum SubTag : uint8_t {
  kRootUnknown = 0xFF,
  kRootJniGlobal = 0x01,
  kRootJniLocal = 0x02,
  kRootJavaFrame = 0x03,
  kRootNativeStack = 0x04,
  kRootStickyClass = 0x05,
  kRootThreadBlock = 0x06,
  kRootMonitorUsed = 0x07,
  kRootThreadObject = 0x08,
  kClassDump = 0x20,
  kInstanceDump = 0x21,
  kObjectArrayDump = 0x22,
  kPrimitiveArrayDump = 0x23,
  // Android's HPROF 1.0.3 additions (read, never written).
  kRootInternedString = 0x89,
  kRootFinalizing = 0x8A,
  kRootDebugger = 0x8B,
  kRootReferenceCleanup = 0x8C,
  kRootVmInternal = 0x8D,
  kRootJniMonitor = 0x8E,
  kRootUnreachable = 0x90,
  kPrimitiveArrayNoData = 0xC3,
  kHeapDumpInfo = 0xFE,
};

// Basic types (the same numbers as kiln::FieldType).
enum BasicType : uint8_t {
  kObject = 2,
  kBoolean = 4,
  kChar = 5,
  kFloat = 6,
  kDouble = 7,
  kByte = 8,
  kShort = 9,
  kInt = 10,
  kLong = 11,
};

// BasicTypeSize: bytes of a value of `type` in the file; 0 if not a type.
inline size_t BasicTypeSize(uint8_t type) {
  switch (type) {
    case kObject: return kIdSize;
    case kBoolean: case kByte: return 1;
    case kChar: case kShort: return 2;
    case kFloat: case kInt: return 4;
    case kDouble: case kLong: return 8;
    default: return 0;
  }
}

// The serial of the one empty stack trace every object refers to, as the
// JDK writes it (jhat-derived readers want an existing trace serial).
inline constexpr uint32_t kEmptyTraceSerial = 1;

}  // namespace kiln::hprof

#endif  // KILN_INSPECTION_HPROF_HPROF_FORMAT_H_
