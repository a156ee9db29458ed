#include "inspection/internal/heap_object_writer.h"

#include <csignal>
#include <cstring>

#include "base/check.h"
#include "vm/internal/runtime_access.h"

namespace kiln {
namespace {

constexpr size_t kIdBytes = hprof::kIdSize;
// Record sizes before the values, tag included.
constexpr size_t kInstanceHead = 1 + kIdBytes + 4 + kIdBytes + 4;
constexpr size_t kObjectArrayHead = 1 + kIdBytes + 4 + 4 + kIdBytes;
constexpr size_t kPrimitiveArrayHead = 1 + kIdBytes + 4 + 4 + 1;
// Records that do not fit the writer's buffer stream through this much stack.
constexpr size_t kChunkBytes = 64 << 10;

uint16_t ByteSwap(uint16_t v) { return __builtin_bswap16(v); }
uint32_t ByteSwap(uint32_t v) { return __builtin_bswap32(v); }
uint64_t ByteSwap(uint64_t v) { return __builtin_bswap64(v); }

// SwapEach copies `count` values of type T, byte-swapped (the compiler
// vectorizes the loop).
template <typename T>
void SwapEach(uint8_t* out, const char* in, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, in + sizeof(T) * i, sizeof(T));
    v = ByteSwap(v);
    std::memcpy(out + sizeof(T) * i, &v, sizeof(T));
  }
}

// StoreArrayHead: an array record's id, stack trace serial and length.
uint8_t* StoreArrayHead(uint8_t* p, const gc::ObjectHeader* object) {
  p = HprofWriter::StoreU8(p, reinterpret_cast<uint64_t>(object));
  p = HprofWriter::StoreU4(p, hprof::kEmptyTraceSerial);
  return HprofWriter::StoreU4(p, object->length);
}

// SwapCopy copies `count` elements of `size` bytes from the heap into the
// file's big-endian order.
void SwapCopy(uint8_t* out, const char* in, size_t count, size_t size) {
  switch (size) {
    case 1:
      std::memcpy(out, in, count);
      return;
    case 2:
      return SwapEach<uint16_t>(out, in, count);
    case 4:
      return SwapEach<uint32_t>(out, in, count);
    case 8:
      return SwapEach<uint64_t>(out, in, count);
  }
  KILN_CHECK(false, "element size ", size);
}

}  // namespace

HeapObjectWriter::HeapObjectWriter(const StoppedWorld& world,
                                   const gc::Heap::SnapshotMarking* marking, HprofWriter& writer)
    : marking_(marking), w_(writer) {
  Runtime& runtime = world.runtime();
  ranges_ = internal::HeapOf(runtime).SnapshotRanges();
  const ClassTable& classes = runtime.classes();
  plans_.resize(classes.size());
  for (const Class* cls : classes.classes()) {
    Plan& plan = plans_[cls->id()];
    plan.class_id = reinterpret_cast<uint64_t>(cls->mirror());
    if (cls == classes.class_class()) continue;  // mirrors: their CLASS_DUMP
    if (cls->IsObjectArray()) {
      plan.kind = Kind::kObjectArray;
    } else if (cls->IsPrimitiveArray()) {
      plan.kind = Kind::kPrimitiveArray;
      plan.element_type = static_cast<uint8_t>(cls->component_type());
      plan.element_size = static_cast<uint8_t>(FieldTypeSize(cls->component_type()));
    } else {
      plan.kind = Kind::kInstance;
      plan.first_run = static_cast<uint32_t>(runs_.size());
      for (const Class* c = cls; c != nullptr; c = c->super()) {
        for (const Field& field : c->fields()) {
          const bool ref = field.type() == FieldType::kObject;
          const bool referent = ref && cls->reference_kind != gc::ReferenceKind::kNone &&
                                field.offset() == cls->referent_offset;
          const uint8_t width = referent ? kReferent
                                : ref    ? static_cast<uint8_t>(kIdBytes)
                                         : static_cast<uint8_t>(FieldTypeSize(field.type()));
          plan.values_size += referent ? kIdBytes : width;
          Run* last = runs_.size() > plan.first_run ? &runs_.back() : nullptr;
          if (last != nullptr && width != kReferent && last->width == width &&
              last->count < UINT16_MAX &&
              field.offset() == last->offset + uint32_t{last->count} * width) {
            ++last->count;
          } else {
            runs_.push_back({field.offset(), 1, width});
          }
        }
      }
      plan.num_runs = static_cast<uint32_t>(runs_.size()) - plan.first_run;
      uint8_t* head = HprofWriter::StoreU4(plan.instance_head, hprof::kEmptyTraceSerial);
      head = HprofWriter::StoreU8(head, plan.class_id);
      HprofWriter::StoreU4(head, plan.values_size);
    }
  }
}

void HeapObjectWriter::WriteObjects() {
  if (marking_ != nullptr) {
    Walk<true>();
  } else {
    Walk<false>();
  }
}

template <bool kLive>
void HeapObjectWriter::Walk() {
  for (const gc::Heap::Range& range : ranges_.Fill()) {
    if (!w_.ok()) return;
    // A live dump finds the marked objects through the bitmap: the garbage
    // is never read.
    if constexpr (kLive) {
      marking_->ForEachMarkedObjectIn(range, [this](const gc::ObjectHeader* object) {
        Write(object, plans_[Class::From(object)->id()]);
      });
    } else {
      WalkRange(range);
    }
  }
}

// The fillers' kinds are the last two: one compare tells them.
static_assert(gc::LayoutKind::kFiller > gc::LayoutKind::kObjectArray &&
              gc::LayoutKind::kFillerWord > gc::LayoutKind::kObjectArray);

// The next object's address is the loop's one dependency from object to
// object, so an instance's comes from its layout (header, then layout: two
// loads), not from its plan (a third and fourth, the class id and the plan).
void HeapObjectWriter::WalkRange(const gc::Heap::Range& range) {
  for (const char* p = range.start; p < range.end;) {
    const auto* object = reinterpret_cast<const gc::ObjectHeader*>(p);
    const gc::Layout* layout = object->layout;
    if (layout->kind == gc::LayoutKind::kInstance) {  // most objects: no jump table
      p += layout->instance_size;
      const Plan& plan = plans_[Class::From(object)->id()];
      if (plan.kind == Kind::kInstance) {
        WriteInstance(object, plan);
        Counted();
      } else {
        Write(object, plan);  // a class's mirror: skipped
      }
      continue;
    }
    p += object->Size();
    if (layout->kind > gc::LayoutKind::kObjectArray) continue;  // a filler
    Write(object, plans_[Class::From(object)->id()]);
  }
}

void HeapObjectWriter::Write(const gc::ObjectHeader* object, const Plan& plan) {
  switch (plan.kind) {
    case Kind::kSkip:
      return;
    case Kind::kInstance:
      WriteInstance(object, plan);
      break;
    case Kind::kObjectArray:
      WriteObjectArray(object, plan);
      break;
    case Kind::kPrimitiveArray:
      WritePrimitiveArray(object, plan);
      break;
  }
  Counted();
}

void HeapObjectWriter::Counted() {
  if (++objects_ == stop_after_objects_) raise(SIGSTOP);
}

uint64_t HeapObjectWriter::ReferentId(const void* slot) const {
  const gc::ObjectHeader* target;
  std::memcpy(&target, slot, sizeof(target));
  if (target == nullptr || (marking_ != nullptr && !marking_->IsMarked(target))) return 0;
  return reinterpret_cast<uint64_t>(target);
}

uint8_t* HeapObjectWriter::FillInstance(uint8_t* p, const gc::ObjectHeader* object,
                                        const Plan& plan) const {
  p = HprofWriter::StoreU8(p, reinterpret_cast<uint64_t>(object));
  std::memcpy(p, plan.instance_head, sizeof(plan.instance_head));
  p += sizeof(plan.instance_head);
  const char* base = reinterpret_cast<const char*>(object);
  const Run* run = runs_.data() + plan.first_run;
  for (uint32_t i = 0; i < plan.num_runs; ++i, ++run) {
    const char* field = base + run->offset;
    const size_t count = run->count;
    switch (run->width) {
      case 8:
        SwapEach<uint64_t>(p, field, count);
        p += 8 * count;
        break;
      case 4:
        SwapEach<uint32_t>(p, field, count);
        p += 4 * count;
        break;
      case 2:
        SwapEach<uint16_t>(p, field, count);
        p += 2 * count;
        break;
      case 1:
        std::memcpy(p, field, count);
        p += count;
        break;
      case kReferent:
        p = HprofWriter::StoreU8(p, ReferentId(field));
        break;
    }
  }
  return p;
}

void HeapObjectWriter::WriteInstance(const gc::ObjectHeader* object, const Plan& plan) {
  const size_t size = kInstanceHead + plan.values_size;
  if (uint8_t* p = w_.ReserveSubRecord(hprof::kInstanceDump, size)) {
    FillInstance(p, object, plan);
    return;
  }
  // An instance bigger than the writer's buffer: build it on the stack, out
  // of the hot path (the writer may stream but not reserve it).
  WriteInstanceStreamed(object, plan);
}

void HeapObjectWriter::WriteInstanceStreamed(const gc::ObjectHeader* object, const Plan& plan) {
  uint8_t record[kChunkBytes];
  KILN_CHECK(kInstanceHead + plan.values_size <= sizeof(record), "instance of ", plan.values_size,
             " bytes of fields");
  w_.BeginSubRecord(hprof::kInstanceDump, kInstanceHead + plan.values_size);
  const uint8_t* end = FillInstance(record, object, plan);
  w_.Bytes(record, static_cast<size_t>(end - record));
}

void HeapObjectWriter::WriteObjectArray(const gc::ObjectHeader* object, const Plan& plan) {
  const uint32_t length = object->length;
  const size_t size = kObjectArrayHead + size_t{length} * kIdBytes;
  const char* elements = reinterpret_cast<const char*>(object) + gc::kHeaderSize;
  if (uint8_t* p = w_.ReserveSubRecord(hprof::kObjectArrayDump, size)) {
    p = StoreArrayHead(p, object);
    p = HprofWriter::StoreU8(p, plan.class_id);
    SwapEach<uint64_t>(p, elements, length);  // ids are the references' values
    return;
  }
  StreamObjectArray(object, plan);
}

void HeapObjectWriter::StreamObjectArray(const gc::ObjectHeader* object, const Plan& plan) {
  const uint32_t length = object->length;
  const char* elements = reinterpret_cast<const char*>(object) + gc::kHeaderSize;
  w_.BeginSubRecord(hprof::kObjectArrayDump, kObjectArrayHead + size_t{length} * kIdBytes);
  w_.Id(reinterpret_cast<uint64_t>(object));
  w_.U4(hprof::kEmptyTraceSerial);
  w_.U4(length);
  w_.Id(plan.class_id);
  uint8_t chunk[kChunkBytes];
  for (uint32_t i = 0; i < length;) {
    const uint32_t n = std::min<uint32_t>(length - i, kChunkBytes / kIdBytes);
    SwapEach<uint64_t>(chunk, elements + size_t{i} * kIdBytes, n);
    w_.Bytes(chunk, size_t{n} * kIdBytes);
    i += n;
  }
}

void HeapObjectWriter::WritePrimitiveArray(const gc::ObjectHeader* object, const Plan& plan) {
  const uint32_t length = object->length;
  const size_t element = plan.element_size;
  const size_t size = kPrimitiveArrayHead + size_t{length} * element;
  const char* data = reinterpret_cast<const char*>(object) + gc::kHeaderSize;
  if (uint8_t* p = w_.ReserveSubRecord(hprof::kPrimitiveArrayDump, size)) {
    p = StoreArrayHead(p, object);
    p = HprofWriter::StoreU1(p, plan.element_type);
    SwapCopy(p, data, length, element);
    return;
  }
  StreamPrimitiveArray(object, plan);
}

void HeapObjectWriter::StreamPrimitiveArray(const gc::ObjectHeader* object, const Plan& plan) {
  const uint32_t length = object->length;
  const size_t element = plan.element_size;
  const char* data = reinterpret_cast<const char*>(object) + gc::kHeaderSize;
  w_.BeginSubRecord(hprof::kPrimitiveArrayDump, kPrimitiveArrayHead + size_t{length} * element);
  w_.Id(reinterpret_cast<uint64_t>(object));
  w_.U4(hprof::kEmptyTraceSerial);
  w_.U4(length);
  w_.U1(plan.element_type);
  if (element == 1) {
    w_.Bytes(data, length);
    return;
  }
  uint8_t chunk[kChunkBytes];
  for (size_t i = 0; i < length;) {
    const size_t n = std::min<size_t>(length - i, kChunkBytes / element);
    SwapCopy(chunk, data + i * element, n, element);
    w_.Bytes(chunk, n * element);
    i += n;
  }
}

}  // namespace kiln
