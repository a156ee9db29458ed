#include "vm/object.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "vm/internal/runtime_access.h"
#include "vm/monitor.h"
#include "vm/runtime.h"

namespace kiln {
namespace {

template <typename T>
absl::StatusOr<Local<T>> AllocateArray(Frame& frame, const Class* cls, uint32_t length) {
  if (length > gc::kMaxArrayLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("array length ", length, " exceeds ", gc::kMaxArrayLength));
  }
  const size_t size = gc::ObjectHeader::ArraySize(
      length, cls->IsObjectArray() ? 3 : cls->element_size_log2);
  ASSIGN_OR_RETURN(Object * object, frame.thread().Allocate(cls, size, length));
  return frame.NewLocal(static_cast<T*>(object));
}

}  // namespace

int32_t Object::IdentityHashCode() {
  Thread* self = Thread::CurrentForClass(GetClass());
  KILN_CHECK(self != nullptr, "IdentityHashCode on a thread not attached to the object's runtime");
  return static_cast<int32_t>(internal::IdentityHash(self, this));
}

absl::StatusOr<Local<Object>> Object::New(Frame& frame, const Class* cls) {
  KILN_CHECK(!cls->IsArray(), "Object::New on array class ", cls->name());
  ASSIGN_OR_RETURN(Object * object, frame.thread().Allocate(cls, cls->instance_size, 0));
  if (cls->has_finalizer()) internal::HeapOf(frame.thread().runtime()).RegisterFinalizable(object->header());
  return frame.NewLocal(object);
}

template <typename T>
absl::StatusOr<Local<PrimitiveArray<T>>> PrimitiveArray<T>::New(Frame& frame,
                                                                uint32_t length) {
  const Class* cls =
      frame.thread().runtime().classes().primitive_array_class(FieldTypeOf<T>::value);
  return AllocateArray<PrimitiveArray<T>>(frame, cls, length);
}

template class PrimitiveArray<bool>;
template class PrimitiveArray<char16_t>;
template class PrimitiveArray<float>;
template class PrimitiveArray<double>;
template class PrimitiveArray<int8_t>;
template class PrimitiveArray<int16_t>;
template class PrimitiveArray<int32_t>;
template class PrimitiveArray<int64_t>;

absl::StatusOr<Local<ObjectArray>> ObjectArray::New(Frame& frame, const Class* element_class,
                                                    uint32_t length) {
  KILN_CHECK(element_class->array_class() != nullptr, "class ", element_class->name(),
             " has no array class");
  return AllocateArray<ObjectArray>(frame, element_class->array_class(), length);
}

}  // namespace kiln
