// Frame and Local: managed stack frames and the references they hold.
//
// A Frame is a managed method activation. It names its method (class, method,
// signature, source file) and its current line, and owns a set of reference
// slots. The slots are the precise stack map: the collector and the heap dump
// see exactly them, nothing conservative. A Local<T> is a typed view of one
// slot of one frame; it stays valid, and keeps its object alive, until the
// frame is popped.
//
//   kiln::Frame frame(thread, method);
//   KILN_LINE(frame);
//   ASSIGN_OR_RETURN(kiln::Local<kiln::String> s, kiln::String::New(frame, "hi"));
//
// Frames are strictly LIFO on their thread and live on the C++ stack.
#ifndef KILN_VM_FRAME_H_
#define KILN_VM_FRAME_H_

#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "base/check.h"
#include "vm/thread.h"

namespace kiln {

class Method;
class Object;
template <typename T>
class Local;

class Frame {
 public:
  // Frame pushes a frame for `method` (never null) on `thread`, which must be
  // the calling thread, in managed state. Frame entry is a safepoint poll.
  Frame(Thread& thread, const Method* method);
  ~Frame();

  Frame(const Frame&) = delete;
  Frame& operator=(const Frame&) = delete;
  void* operator new(size_t) = delete;

  Thread& thread() const { return thread_; }
  const Method* method() const { return method_; }
  // caller: the frame below this one, or nullptr.
  Frame* caller() const { return caller_; }

  // line: the source line the frame is at (0: unknown). KILN_LINE(frame)
  // sets it to the current line.
  int32_t line() const { return line_; }
  void set_line(int32_t line) { line_ = line; }

  void Poll() { thread_.Poll(); }
  // Sleep: Thread::Sleep on this frame's thread.
  absl::Status Sleep(absl::Duration duration) { return thread_.Sleep(duration); }

  // NewLocal stores `object` (may be null) in a new slot of this frame.
  template <typename T>
  Local<T> NewLocal(T* object);

  size_t num_slots() const { return slots_.size(); }
  Object* slot(size_t index) const { return slots_[index]; }
  // slot_address: for root visitors, which may update the slot.
  Object** slot_address(size_t index) { return &slots_[index]; }

 private:
  template <typename T>
  friend class Local;

  Thread& thread_;
  const Method* const method_;
  Frame* const caller_;
  int32_t line_ = 0;
  absl::InlinedVector<Object*, 6> slots_;
};

#define KILN_LINE(frame) (frame).set_line(__LINE__)

// kNativeMethodLine: the line of a native method's frame (Java's
// StackTraceElement convention); thread dumps print "(Native Method)".
inline constexpr int32_t kNativeMethodLine = -2;

// Local<T>: a reference to a managed object held in a frame slot. Copying a
// Local copies the reference to the slot (both name the same slot).
template <typename T>
class Local {
 public:
  Local() = default;

  T* get() const {
    return frame_ == nullptr ? nullptr : static_cast<T*>(frame_->slots_[index_]);
  }
  T* operator->() const {
    T* object = get();
    KILN_DCHECK(object != nullptr, "null Local dereferenced");
    return object;
  }
  T& operator*() const { return *operator->(); }
  explicit operator bool() const { return get() != nullptr; }

  // Set stores `object` in this Local's slot.
  void Set(T* object) {
    KILN_DCHECK(frame_ != nullptr, "Set on an empty Local");
    frame_->slots_[index_] = object;
  }

  // frame: the frame owning the slot (nullptr for an empty Local).
  Frame* frame() const { return frame_; }

  // As views the same slot as a Local<U>; the caller vouches for the type.
  template <typename U>
  Local<U> As() const {
    return Local<U>(frame_, index_);
  }

 private:
  friend class Frame;
  template <typename U>
  friend class Local;
  Local(Frame* frame, uint32_t index) : frame_(frame), index_(index) {}

  Frame* frame_ = nullptr;
  uint32_t index_ = 0;
};

template <typename T>
Local<T> Frame::NewLocal(T* object) {
  slots_.push_back(object);
  return Local<T>(this, static_cast<uint32_t>(slots_.size() - 1));
}

}  // namespace kiln

#endif  // KILN_VM_FRAME_H_
