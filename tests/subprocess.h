// Subprocess: a program run by an end-to-end test, with its standard output
// (and, if asked, its standard error) captured as it arrives (a thread
// drains each pipe), so the test can wait for a line, send signals, and
// collect the exit status. RunCommand runs one to completion.
//
//   Subprocess child({SampleBinary("svm_heap_dump"), "--runs=50"}, dir);
//   ASSERT_TRUE(child.WaitForOutput("Starting thread!"));
//   child.Signal(SIGUSR1);
//   EXPECT_EQ(child.Wait(), 0);
//
//   ToolResult javac = RunCommand({"javac", "-d", dir, source});
#ifndef KILN_TESTS_SUBPROCESS_H_
#define KILN_TESTS_SUBPROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/pipe_capture.h"

namespace kiln::testing {

class Subprocess {
 public:
  enum class Stderr { kInherit, kCapture };

  // Starts `argv` (argv[0] looked up on PATH unless it holds a slash) in
  // `dir` (empty: the test's), with `env` ("NAME=value") added to the
  // environment; stderr goes to the test's stderr, or is captured.
  Subprocess(std::vector<std::string> argv, const std::string& dir,
             std::vector<std::string> env = {}, Stderr stderr_mode = Stderr::kInherit);
  ~Subprocess();  // kills the process if it still runs

  pid_t pid() const { return pid_; }
  // Signal sends `signo`; false if the process is gone.
  bool Signal(int signo);
  // WaitForOutput: true once stdout contains `needle` followed by a newline;
  // false after `timeout` or once stdout closes without it.
  bool WaitForOutput(absl::string_view needle, absl::Duration timeout = absl::Seconds(120)) {
    return stdout_.WaitFor(needle, timeout);
  }
  // WaitForErrorOutput: WaitForOutput for stderr (Stderr::kCapture only).
  bool WaitForErrorOutput(absl::string_view needle,
                          absl::Duration timeout = absl::Seconds(120)) {
    return stderr_.has_value() && stderr_->WaitFor(needle, timeout);
  }
  // Wait: the exit code once the process ends (128 + signal if killed), and
  // once its stdout is read to the end (or 30 s later if a process it left
  // behind still holds it), so that output() then holds all it wrote.
  int Wait();
  std::string output() { return stdout_.text(); }
  // error_output: what it wrote to stderr (Stderr::kCapture only).
  std::string error_output() { return stderr_.has_value() ? stderr_->text() : ""; }

 private:
  PipeCapture stdout_;
  std::optional<PipeCapture> stderr_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

struct ToolResult {
  int exit_code = -1;  // 128 + signal if killed
  std::string out;
  std::string err;
};

// RunCommand runs `argv` to its end, stdout and stderr kept apart.
ToolResult RunCommand(std::vector<std::string> argv);

// RunfilePath: `path` (as "samples/runtime_tour") in the test's runfiles.
std::string RunfilePath(absl::string_view path);
// SampleBinary: the path of //samples:<name> in the test's runfiles.
std::string SampleBinary(const std::string& name);
// MakeTempDir: a new empty directory under TEST_TMPDIR.
std::string MakeTempDir(const std::string& prefix);
// ListDir: the names in `dir`, sorted, without . and ..
std::vector<std::string> ListDir(const std::string& dir);
// CommandLineOf: /proc/<pid>/cmdline's arguments joined by spaces, as a
// dump's sun.java.command spells it; "" if unreadable.
std::string CommandLineOf(pid_t pid);
// ReadFile: the file's bytes; "" if it cannot be read.
std::string ReadFile(const std::string& path);

}  // namespace kiln::testing

#endif  // KILN_TESTS_SUBPROCESS_H_
