// The collector's view of a managed object: a 16-byte header whose first word
// points at the object's Layout.
//
// gc/ knows nothing about classes, fields or strings. Everything it must know
// to size, walk and scan an object (and to keep the heap parsable) is in the
// Layout that the VM embeds in each of its classes, in the spirit of cppgc's
// GCInfo and MMTk's ObjectModel. Reference slots are read straight from the
// Layout, so marking never calls back into the VM per object.
//
//   offset 0   const Layout* layout
//   offset 8   u32 lock word: the VM's (identity hash, thin lock or
//              inflated monitor, vm/internal/lock_word.h); 0 when allocated
//   offset 12  u32 array length (arrays), filler size in bytes (fillers)
//   offset 16  fields or array elements
//
// Objects are 8-byte aligned and at least 16 bytes, except the 8-byte filler
// word that plugs 8-byte gaps.
#ifndef KILN_GC_OBJECT_HEADER_H_
#define KILN_GC_OBJECT_HEADER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace kiln::gc {

inline constexpr size_t kObjectAlignment = 8;
inline constexpr size_t kHeaderSize = 16;

constexpr size_t AlignUp(size_t n, size_t alignment) {
  return (n + alignment - 1) & ~(alignment - 1);
}

enum class LayoutKind : uint8_t {
  kInstance,        // fixed size; references at `ref_offsets`
  kPrimitiveArray,  // header, then `length` elements of 1 << element_size_log2
  kObjectArray,     // header, then `length` references
  kFiller,          // dead space of `length` bytes (header included)
  kFillerWord,      // dead space of exactly 8 bytes
};

// ReferenceKind: how the collector treats an instance's referent
// (java.lang.ref semantics). The referent is not among `ref_offsets`: marking
// does not follow it.
enum class ReferenceKind : uint8_t {
  kNone,
  kWeak,     // cleared when the referent is no longer strongly reachable
  kPhantom,  // cleared, and reported to the VM, once the referent is dead
             // (after finalization)
};

// Layout: everything the collector knows about a type.
struct Layout {
  LayoutKind kind = LayoutKind::kInstance;
  uint8_t element_size_log2 = 0;  // arrays only
  ReferenceKind reference_kind = ReferenceKind::kNone;
  uint32_t instance_size = 0;     // instances: total size, header included
  const uint32_t* ref_offsets = nullptr;  // instances: strong reference slots
  uint32_t num_ref_offsets = 0;
  uint32_t referent_offset = 0;  // reference instances: the referent's slot

  bool IsArray() const {
    return kind == LayoutKind::kPrimitiveArray || kind == LayoutKind::kObjectArray;
  }
  bool IsFiller() const {
    return kind == LayoutKind::kFiller || kind == LayoutKind::kFillerWord;
  }
};

// The two filler layouts, shared by every heap.
extern const Layout kFillerLayout;
extern const Layout kFillerWordLayout;

struct ObjectHeader {
  const Layout* layout;
  // lock_word: zero at allocation; gc/ never reads it otherwise.
  std::atomic<uint32_t> lock_word;
  uint32_t length;

  // Size: the object's size in bytes, header included, aligned.
  size_t Size() const {
    switch (layout->kind) {
      case LayoutKind::kInstance:
        return layout->instance_size;
      case LayoutKind::kPrimitiveArray:
        return ArraySize(length, layout->element_size_log2);
      case LayoutKind::kObjectArray:
        return ArraySize(length, 3);
      case LayoutKind::kFiller:
        return length;
      case LayoutKind::kFillerWord:
        return kObjectAlignment;
    }
    __builtin_unreachable();
  }

  static constexpr size_t ArraySize(size_t length, unsigned element_size_log2) {
    return AlignUp(kHeaderSize + (length << element_size_log2), kObjectAlignment);
  }

  char* address() { return reinterpret_cast<char*>(this); }
  const char* address() const { return reinterpret_cast<const char*>(this); }
};

static_assert(sizeof(ObjectHeader) == kHeaderSize);

// The largest array length an object may have: the u32 length field, and the
// 4 GiB limit HPROF puts on one record.
inline constexpr uint32_t kMaxArrayLength = (1u << 31) - 1;

}  // namespace kiln::gc

#endif  // KILN_GC_OBJECT_HEADER_H_
