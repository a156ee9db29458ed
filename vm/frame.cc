#include "vm/frame.h"

#include "vm/runtime.h"

namespace kiln {

Frame::Frame(Thread& thread, const Method* method)
    : thread_(thread), method_(method), caller_(thread.top_frame_) {
  KILN_CHECK(method != nullptr, "frame without a method on thread ", thread.name());
  KILN_DCHECK(Thread::CurrentFor(&thread.runtime()) == &thread,
              "frame pushed on thread ", thread.name(), " from another OS thread");
  KILN_DCHECK(thread.IsManaged(), "frame pushed on thread ", thread.name(),
              " in native state");
  thread_.top_frame_ = this;
  thread_.Poll();
}

Frame::Frame(Thread& thread) : Frame(thread, thread.runtime().host_method()) {}

Frame::~Frame() {
  KILN_CHECK(thread_.top_frame_ == this, "frames popped out of order on thread ",
             thread_.name());
  thread_.top_frame_ = caller_;
}

}  // namespace kiln
