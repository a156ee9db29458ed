// kiln-ctl: jcmd for Kiln. Lists the Kiln processes one may attach to and
// sends them attach commands (attach_protocol.h, ATTACH.md).
//
//   kiln-ctl -l                                  pid and command line of each
//   kiln-ctl <pid | part of the command line> <command> [arguments]
//   kiln-ctl <pid> GC.heap_dump -  > app.hprof   the dump streamed to stdout
//   kiln-ctl -o app.hprof <pid> GC.heap_dump     ... to a new file, on this side
//   kiln-ctl -t 30 <pid> Thread.print            give up after 30 s of silence
//
// Prints "<pid>:" and the answer, as jcmd does (to each process the command
// line matches, for commands other than a streamed dump). Exit status: 0 on
// success, 1 when the target reports an error (or cannot be reached), 2 on
// usage errors.
#include <stdio.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/new_file.h"
#include "inspection/services/attach_client.h"
#include "inspection/services/attach_protocol.h"

namespace {

using kiln::attach::Target;

constexpr char kUsage[] =
    "usage: kiln-ctl -l\n"
    "       kiln-ctl [-o PATH] [-t SECONDS] <pid | part of the command line> <command> [args]\n"
    "\n"
    "  -l         list the Kiln processes you may attach to (pid, command line)\n"
    "  -o PATH    GC.heap_dump: stream the dump and write it to PATH here (a new file,\n"
    "             mode 0600, complete or absent); without -o, FILENAME - streams it to stdout\n"
    "  -t SECONDS give up when the target says nothing for SECONDS (default 300; a dump to\n"
    "             a file answers only when written); 0 waits forever\n"
    "  <command>  help, VM.version, VM.command_line, VM.system_properties, VM.uptime,\n"
    "             VM.info, Thread.print, GC.run, GC.heap_info, GC.class_histogram [-all],\n"
    "             GC.heap_dump [-all] [-gz=N] [-fork] FILENAME|-\n"
    "\n"
    "Targets are found by their sockets, ${TMPDIR:-/tmp}/.kiln_pid<PID>.\n"
    "Exit status: 0 success, 1 the target reported an error or was not reached, 2 usage.\n";

int Usage(const std::string& message) {
  std::fprintf(stderr, "kiln-ctl: %s\n%s", message.c_str(), kUsage);
  return 2;
}

bool WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

absl::Status WriteTo(int fd, const std::string& what, absl::string_view bytes) {
  if (WriteAll(fd, bytes)) return absl::OkStatus();
  return kiln::ErrnoError(errno, "kiln-ctl", "writing", what);
}

// Report: the exit status for a call's result, with its message on stderr.
int Report(const kiln::attach::CallResult& result, pid_t pid) {
  if (!result.transport.ok()) {
    std::fprintf(stderr, "kiln-ctl: %s%s\n", std::string(result.transport.message()).c_str(),
                 absl::IsDeadlineExceeded(result.transport)
                     ? "; -t SECONDS waits longer, -t 0 waits forever"
                     : "");
    return 1;
  }
  if (!result.target.ok()) {
    std::fprintf(stderr, "kiln-ctl: pid %d (%s): %s\n", pid,
                 kiln::attach::SocketPath(pid).c_str(),
                 std::string(result.target.message()).c_str());
    return 1;
  }
  return 0;
}

int Stream(pid_t pid, const std::vector<std::string>& arguments, const std::string& out_path,
           const kiln::attach::CallOptions& options) {
  std::unique_ptr<kiln::NewFile> file;
  int fd = STDOUT_FILENO;
  std::string what = "stdout";
  if (!out_path.empty()) {
    absl::StatusOr<std::unique_ptr<kiln::NewFile>> created =
        kiln::NewFile::Create(out_path, "kiln-ctl");
    if (!created.ok()) {
      std::fprintf(stderr, "kiln-ctl: %s\n", std::string(created.status().message()).c_str());
      return 1;
    }
    file = *std::move(created);
    fd = file->fd();
    what = file->writing_name();
  } else if (isatty(STDOUT_FILENO)) {
    return Usage("GC.heap_dump - writes a binary dump to stdout, which is a terminal; "
                 "redirect it or use -o PATH");
  }
  uint64_t bytes = 0;
  kiln::attach::Handlers handlers;
  handlers.text = [](absl::string_view text) {
    return WriteTo(STDERR_FILENO, "stderr", text);
  };
  handlers.data = [&](absl::string_view data) {
    bytes += data.size();
    return WriteTo(fd, what, data);
  };
  const kiln::attach::CallResult result =
      kiln::attach::Call(pid, "GC.heap_dump", arguments, handlers, options);
  int status = Report(result, pid);
  if (status == 0 && file != nullptr) {
    absl::Status committed = file->Commit();
    if (!committed.ok()) {
      std::fprintf(stderr, "kiln-ctl: %s\n", std::string(committed.message()).c_str());
      return 1;
    }
  }
  if (status == 0) {
    std::fprintf(stderr, "kiln-ctl: pid %d: heap dump of %llu bytes written to %s\n", pid,
                 static_cast<unsigned long long>(bytes),
                 out_path.empty() ? "stdout" : out_path.c_str());
  }
  return status;  // an uncommitted file is removed
}

int Command(pid_t pid, const std::string& command, const std::vector<std::string>& arguments,
            const kiln::attach::CallOptions& options) {
  std::printf("%d:\n", pid);
  std::fflush(stdout);
  kiln::attach::Handlers handlers;
  handlers.text = [](absl::string_view text) { return WriteTo(STDOUT_FILENO, "stdout", text); };
  return Report(kiln::attach::Call(pid, command, arguments, handlers, options), pid);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string out_path;
  kiln::attach::CallOptions options;
  options.idle_timeout = absl::Seconds(300);
  size_t i = 0;
  for (; i < args.size() && absl::StartsWith(args[i], "-"); ++i) {
    if (args[i] == "-h" || args[i] == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (args[i] == "-l") {
      if (args.size() != 1) return Usage("-l takes nothing else");
      for (const Target& target : kiln::attach::ListTargets()) {
        std::printf("%d %s\n", target.pid, target.command_line.c_str());
      }
      return 0;
    }
    if (args[i] == "-o") {
      if (i + 1 == args.size()) return Usage("-o needs a PATH");
      out_path = args[++i];
      continue;
    }
    if (args[i] == "-t") {
      int seconds;
      if (i + 1 == args.size() || !absl::SimpleAtoi(args[i + 1], &seconds) || seconds < 0) {
        return Usage("-t needs SECONDS, a whole number, 0 for no limit");
      }
      ++i;
      options.idle_timeout = seconds == 0 ? absl::InfiniteDuration() : absl::Seconds(seconds);
      continue;
    }
    return Usage(absl::StrCat("unknown option ", args[i]));
  }
  if (args.size() - i < 2) return Usage(i == args.size() ? "no target" : "no command");
  const std::string& selector = args[i];
  const std::string& command = args[i + 1];
  std::vector<std::string> arguments(args.begin() + static_cast<long>(i) + 2, args.end());

  std::vector<pid_t> pids;
  int pid;
  if (absl::SimpleAtoi(selector, &pid)) {
    if (pid <= 0) return Usage(absl::StrCat("bad pid ", selector));
    pids.push_back(pid);
  } else {
    for (const Target& target : kiln::attach::ListTargets()) {
      if (absl::StrContains(target.command_line, selector)) pids.push_back(target.pid);
    }
    if (pids.empty()) {
      std::fprintf(stderr, "kiln-ctl: no Kiln process you may attach to has \"%s\" in its "
                   "command line (kiln-ctl -l lists them; sockets in %s)\n",
                   selector.c_str(), kiln::attach::SocketDirectory().c_str());
      return 1;
    }
  }

  const bool streamed = command == "GC.heap_dump" &&
                        (!out_path.empty() || (!arguments.empty() && arguments.back() == "-"));
  if (!out_path.empty()) {
    if (command != "GC.heap_dump") return Usage("-o is for GC.heap_dump");
    if (!arguments.empty() && !absl::StartsWith(arguments.back(), "-")) {
      return Usage("GC.heap_dump with -o takes no FILENAME (the dump is streamed to PATH)");
    }
    if (arguments.empty() || arguments.back() != "-") arguments.push_back("-");
  }
  if (streamed) {
    if (pids.size() != 1) {
      return Usage(absl::StrCat("\"", selector, "\" matches ", pids.size(),
                                " processes; a streamed dump needs one pid"));
    }
    return Stream(pids[0], arguments, out_path, options);
  }
  int status = 0;
  for (pid_t target : pids) status = std::max(status, Command(target, command, arguments, options));
  return status;
}
