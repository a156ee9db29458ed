// Frame, Local and LocalScope: managed stack frames and the references they
// hold.
//
// A Frame is a managed method activation. It names its method (class, method,
// signature, source file) and its current line, and owns a set of reference
// slots. The slots are the precise stack map: the collector and the heap dump
// see exactly them, nothing conservative. A Local<T> is a typed view of one
// slot of one frame; it stays valid, and keeps its object alive, until the
// frame is popped or the LocalScope it was made in ends.
//
//   kiln::Frame frame(thread, method);
//   KILN_LINE(frame);
//   ASSIGN_OR_RETURN(kiln::Local<kiln::String> s, kiln::String::New(frame, "hi"));
//   for (int i = 0; i < n; ++i) {
//     kiln::LocalScope scope(frame);   // the loop's slots go when it ends
//     ...
//   }
//   return frame.Escape(result);       // a Local in the caller's frame
//
// Frames and LocalScopes are strictly LIFO on their thread and live on the
// C++ stack.
#ifndef KILN_VM_FRAME_H_
#define KILN_VM_FRAME_H_

#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "base/check.h"
#include "base/must_use.h"
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
  // Frame for host code: a frame of the runtime's built-in host method
  // (Runtime::host_method()), for a host that needs slots and has no managed
  // method of its own to name.
  explicit Frame(Thread& thread);
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
  KILN_MUST_USE absl::Status Sleep(absl::Duration duration) { return thread_.Sleep(duration); }

  // NewLocal stores `object` (may be null) in a new slot of this frame.
  template <typename T>
  Local<T> NewLocal(T* object);

  // Escape hands `local`'s object to the caller's frame: the Local returned
  // lives in the caller (in its innermost LocalScope), so a callee returns
  // its result without a Global. CHECK-fails in a bottom frame.
  template <typename T>
  KILN_MUST_USE Local<T> Escape(const Local<T>& local);

  size_t num_slots() const { return slots_.size(); }
  Object* slot(size_t index) const { return slots_[index]; }
  // slot_address: for root visitors, which may update the slot.
  Object** slot_address(size_t index) { return &slots_[index]; }

 private:
  template <typename T>
  friend class Local;
  friend class LocalScope;

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
    if (frame_ == nullptr) return nullptr;
    KILN_DCHECK(index_ < frame_->slots_.size(), "a Local used after its LocalScope ended");
    return static_cast<T*>(frame_->slots_[index_]);
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
  friend class LocalScope;
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

template <typename T>
Local<T> Frame::Escape(const Local<T>& local) {
  KILN_CHECK(caller_ != nullptr, "Frame::Escape in the bottom frame of thread ",
             thread_.name());
  return caller_->NewLocal(local.get());
}

// LocalScope: the slots made in `frame` while it lives are released when it
// ends (V8's HandleScope, JNI's PushLocalFrame), so a loop that allocates
// holds a bounded number of slots and its garbage can be collected. One
// result may outlive the scope: Escape(local) returns a Local in the slot
// the scope reserved in the enclosing scope when it began. Scopes nest, LIFO
// with each other and within their frame.
//
//   kiln::Local<kiln::Object> last;
//   for (int i = 0; i < 1000000; ++i) {
//     kiln::LocalScope scope(frame);
//     ASSIGN_OR_RETURN(kiln::Local<kiln::Object> item, kiln::Object::New(frame, cls));
//     if (i == 999999) last = scope.Escape(item);
//   }
class LocalScope {
 public:
  explicit LocalScope(Frame& frame)
      : frame_(frame), escape_slot_(static_cast<uint32_t>(frame.slots_.size())) {
    frame_.slots_.push_back(nullptr);  // Escape's slot, in the enclosing scope
  }
  ~LocalScope() {
    KILN_CHECK(frame_.slots_.size() > escape_slot_, "LocalScopes ended out of order");
    frame_.slots_.resize(escaped_ ? escape_slot_ + 1 : escape_slot_);
  }

  LocalScope(const LocalScope&) = delete;
  LocalScope& operator=(const LocalScope&) = delete;
  void* operator new(size_t) = delete;

  // Escape: `local`'s object in a Local of the enclosing scope. Once per
  // scope.
  template <typename T>
  KILN_MUST_USE Local<T> Escape(const Local<T>& local) {
    KILN_CHECK(!escaped_, "LocalScope::Escape called twice");
    escaped_ = true;
    frame_.slots_[escape_slot_] = local.get();
    return Local<T>(&frame_, escape_slot_);
  }

 private:
  Frame& frame_;
  const uint32_t escape_slot_;
  bool escaped_ = false;
};

}  // namespace kiln

#endif  // KILN_VM_FRAME_H_
