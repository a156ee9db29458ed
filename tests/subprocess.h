// Subprocess: a program run by an end-to-end test, with its standard output
// captured as it arrives (a thread drains the pipe), so the test can wait for
// a line, send signals, and collect the exit status.
//
//   Subprocess child({SampleBinary("svm_heap_dump"), "--runs=50"}, dir);
//   ASSERT_TRUE(child.WaitForOutput("Starting thread!"));
//   child.Signal(SIGUSR1);
//   EXPECT_EQ(child.Wait(), 0);
#ifndef KILN_TESTS_SUBPROCESS_H_
#define KILN_TESTS_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/pipe_capture.h"

namespace kiln::testing {

class Subprocess {
 public:
  // Starts `argv` in `dir` (empty: the test's), with `env` ("NAME=value")
  // added to the environment; stderr goes to the test's stderr.
  Subprocess(std::vector<std::string> argv, const std::string& dir,
             std::vector<std::string> env = {});
  ~Subprocess();  // kills the process if it still runs

  pid_t pid() const { return pid_; }
  // Signal sends `signo`; false if the process is gone.
  bool Signal(int signo);
  // WaitForOutput: true once stdout contains `needle` followed by a newline;
  // false after `timeout` or once stdout closes without it.
  bool WaitForOutput(absl::string_view needle, absl::Duration timeout = absl::Seconds(120)) {
    return stdout_.WaitFor(needle, timeout);
  }
  // Wait: the exit code once the process ends (128 + signal if killed), and
  // once its stdout is read to the end (or 30 s later if a process it left
  // behind still holds it), so that output() then holds all it wrote.
  int Wait();
  std::string output() { return stdout_.text(); }

 private:
  PipeCapture stdout_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// SampleBinary: the path of //samples:<name> in the test's runfiles.
std::string SampleBinary(const std::string& name);
// MakeTempDir: a new empty directory under TEST_TMPDIR.
std::string MakeTempDir(const std::string& prefix);
// ListDir: the names in `dir`, sorted, without . and ..
std::vector<std::string> ListDir(const std::string& dir);

}  // namespace kiln::testing

#endif  // KILN_TESTS_SUBPROCESS_H_
