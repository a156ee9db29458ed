// PipeCapture: a pipe whose read end a thread drains into a string, for tests
// that wait for output written by another thread or process.
//
//   PipeCapture out;
//   options.output_fd = out.write_fd();
//   ...
//   ASSERT_TRUE(out.WaitFor("Heap dump created "));
#ifndef KILN_TESTS_PIPE_CAPTURE_H_
#define KILN_TESTS_PIPE_CAPTURE_H_

#include <string>
#include <thread>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/mutex.h"

namespace kiln::testing {

class PipeCapture {
 public:
  PipeCapture();
  ~PipeCapture();  // closes the write end if still open, joins the reader

  PipeCapture(const PipeCapture&) = delete;
  PipeCapture& operator=(const PipeCapture&) = delete;

  int write_fd() const { return write_fd_; }
  // CloseWriteEnd: for a child process that holds its own copy.
  void CloseWriteEnd();

  // WaitFor: true once the text holds `needle` followed (at some point) by a
  // newline; false after `timeout` or once every writer closed without it.
  bool WaitFor(absl::string_view needle, absl::Duration timeout = absl::Seconds(120));
  // WaitForEof: true once every writer closed its end and all was read;
  // false after `timeout`.
  bool WaitForEof(absl::Duration timeout = absl::Seconds(120));
  std::string text();

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
  std::thread reader_;
  Mutex mu_;
  CondVar cv_;
  std::string text_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kiln::testing

#endif  // KILN_TESTS_PIPE_CAPTURE_H_
