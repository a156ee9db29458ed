#include "tests/subprocess.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "base/check.h"

extern char** environ;

namespace kiln::testing {

Subprocess::Subprocess(std::vector<std::string> argv, const std::string& dir,
                       std::vector<std::string> env, Stderr stderr_mode) {
  if (stderr_mode == Stderr::kCapture) stderr_.emplace();
  // Everything the child needs is built before fork: no allocation after it.
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    const absl::string_view entry = *e;
    const bool overridden = std::any_of(env.begin(), env.end(), [&](const std::string& mine) {
      return absl::StartsWith(entry, mine.substr(0, mine.find('=') + 1));
    });
    if (!overridden) environment.emplace_back(entry);
  }
  for (std::string& e : env) environment.push_back(std::move(e));
  std::vector<char*> envp;
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_ = fork();
  KILN_CHECK(pid_ >= 0, "fork: ", strerror(errno));
  if (pid_ == 0) {
    // Signals the test blocks must not stay blocked in the sample.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (dup2(stdout_.write_fd(), STDOUT_FILENO) < 0) _exit(126);
    if (stderr_.has_value() && dup2(stderr_->write_fd(), STDERR_FILENO) < 0) _exit(126);
    if (!dir.empty() && chdir(dir.c_str()) != 0) _exit(126);
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  stdout_.CloseWriteEnd();
  if (stderr_.has_value()) stderr_->CloseWriteEnd();
}

Subprocess::~Subprocess() {
  if (exit_code_ < 0) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

bool Subprocess::Signal(int signo) { return exit_code_ < 0 && kill(pid_, signo) == 0; }

int Subprocess::Wait() {
  if (exit_code_ >= 0) return exit_code_;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  stdout_.WaitForEof(absl::Seconds(30));
  if (stderr_.has_value()) stderr_->WaitForEof(absl::Seconds(30));
  return exit_code_;
}

ToolResult RunCommand(std::vector<std::string> argv) {
  Subprocess child(std::move(argv), "", {}, Subprocess::Stderr::kCapture);
  ToolResult result;
  result.exit_code = child.Wait();
  result.out = child.output();
  result.err = child.error_output();
  return result;
}

std::string RunfilePath(absl::string_view path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  KILN_CHECK(srcdir != nullptr && workspace != nullptr, "not run by bazel test");
  return absl::StrCat(srcdir, "/", workspace, "/", path);
}

std::string SampleBinary(const std::string& name) {
  return RunfilePath(absl::StrCat("samples/", name));
}

std::string MakeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(base != nullptr ? base : "/tmp", "/", prefix, "-XXXXXX");
  KILN_CHECK(mkdtemp(pattern.data()) != nullptr, "mkdtemp: ", strerror(errno));
  return pattern;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string CommandLineOf(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"));
  std::stringstream text;
  text << in.rdbuf();
  std::string line = text.str();
  while (!line.empty() && line.back() == '\0') line.pop_back();
  return absl::StrReplaceAll(line, {{absl::string_view("\0", 1), " "}});
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace kiln::testing
