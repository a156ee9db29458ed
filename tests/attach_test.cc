// End to end: Kiln processes with the attach listener, asked by kiln-ctl and
// by raw clients, as a user in another terminal (or an attacker) would. Every
// test has its own short TMPDIR for the sockets (Unix socket paths are short;
// TEST_TMPDIR is long) and its own working directory for the target, which
// must be empty at the end. Counts are fixed; timeouts only guard hangs.
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/services/attach_client.h"
#include "inspection/services/attach_protocol.h"
#include "tests/attach_test_util.h"
#include "tests/subprocess.h"

namespace kiln {
namespace {

using testing::ListDir;
using testing::RunCommand;
using testing::Subprocess;
using testing::ToolResult;

std::string KilnCtl() { return testing::RunfilePath("inspection/services/kiln-ctl"); }
std::string Target() { return testing::RunfilePath("tests/attach_target"); }

class AttachTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sockets_ = testing::ShortTempDir();
    setenv("TMPDIR", sockets_.c_str(), 1);  // for the client library and kiln-ctl
    cwd_ = testing::MakeTempDir("target");
    out_ = testing::MakeTempDir("client");
  }
  void TearDown() override { testing::RemoveTree(sockets_); }

  ToolResult Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), KilnCtl());
    return RunCommand(std::move(args));
  }
  std::string SocketOf(pid_t pid) { return absl::StrCat(sockets_, "/.kiln_pid", pid); }
  // The target's directory and the sockets' hold nothing but `socket`.
  void ExpectNothingLeft(const std::string& socket_name) {
    EXPECT_TRUE(ListDir(cwd_).empty()) << absl::StrJoin(ListDir(cwd_), ", ") << " in " << cwd_;
    std::vector<std::string> sockets = ListDir(sockets_);
    if (!socket_name.empty()) {
      EXPECT_EQ(sockets, std::vector<std::string>{socket_name});
    } else {
      EXPECT_TRUE(sockets.empty()) << sockets.size() << " files in " << sockets_;
    }
  }

  std::string sockets_, cwd_, out_;
};

std::unique_ptr<HprofSnapshot> Parse(std::string bytes, const std::string& what) {
  auto snapshot = HprofSnapshot::FromBytes(std::vector<uint8_t>(bytes.begin(), bytes.end()));
  EXPECT_TRUE(snapshot.ok()) << what << ": " << snapshot.status();
  if (!snapshot.ok()) return nullptr;
  absl::Status references = (*snapshot)->CheckReferences();
  EXPECT_TRUE(references.ok()) << what << ": " << references;
  return *std::move(snapshot);
}

std::set<std::string> ThreadNames(const HprofSnapshot& snapshot) {
  std::set<std::string> names;
  for (const char* cls : {"java.lang.Thread", "SVMHeapDump"}) {
    for (uint64_t id : snapshot.InstancesOf(cls)) {
      auto fields = snapshot.Fields(id);
      if (!fields.ok()) continue;
      auto name = snapshot.StringValue((*fields)["name"].bits);
      if (name.ok()) names.insert(*name);
    }
  }
  return names;
}

std::set<std::string> ClassNames(const HprofSnapshot& snapshot) {
  std::set<std::string> names;
  for (const auto& [id, cls] : snapshot.classes()) names.insert(cls.name);
  return names;
}

// The SVMHeapDump port, attached to as a Java user would with jcmd.
TEST_F(AttachTest, SvmHeapDumpAnswersKilnCtl) {
  Subprocess svm({testing::SampleBinary("svm_heap_dump"), "--runs=100", "--sleep_ms=100"}, cwd_);
  ASSERT_TRUE(svm.WaitForOutput("Starting thread!")) << svm.output();
  const pid_t pid = svm.pid();
  const std::string socket = SocketOf(pid);
  struct stat st;
  ASSERT_EQ(lstat(socket.c_str(), &st), 0) << socket;
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600);
  EXPECT_EQ(st.st_uid, geteuid());
  ASSERT_TRUE(svm.WaitForOutput("Thread started, it will run for 100 seconds"));

  const ToolResult list = Ctl({"-l"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(absl::StrContains(list.out, absl::StrCat(pid, " ", testing::SampleBinary(
                                                                      "svm_heap_dump"),
                                                       " --runs=100")))
      << list.out;

  const ToolResult threads = Ctl({absl::StrCat(pid), "Thread.print"});
  EXPECT_EQ(threads.exit_code, 0) << threads.err;
  EXPECT_TRUE(absl::StartsWith(threads.out, absl::StrCat(pid, ":\nFull thread dump Kiln")))
      << threads.out;
  for (const char* line : {"\"main\" #", "\"Thread-0\" #", "at SVMHeapDump.run(svm_heap_dump.cc:",
                           "at SVMHeapDump.join(svm_heap_dump.cc:",
                           "at SVMHeapDump.main(svm_heap_dump.cc:"}) {
    EXPECT_TRUE(absl::StrContains(threads.out, line)) << line << " in\n" << threads.out;
  }
  // A part of the command line finds it too.
  const ToolResult version = Ctl({"svm_heap_dump --runs=100", "VM.version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_TRUE(absl::StrContains(version.out, "Kiln ")) << version.out;

  const ToolResult histogram = Ctl({absl::StrCat(pid), "GC.class_histogram"});
  ASSERT_EQ(histogram.exit_code, 0) << histogram.err;
  const std::string file = out_ + "/app.hprof";
  const ToolResult dumped = Ctl({absl::StrCat(pid), "GC.heap_dump", file});
  ASSERT_EQ(dumped.exit_code, 0) << dumped.err;
  EXPECT_TRUE(absl::StrContains(dumped.out, absl::StrCat("Dumping heap to ", file))) << dumped.out;
  const ToolResult streamed = Ctl({absl::StrCat(pid), "GC.heap_dump", "-"});
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  const std::string received = out_ + "/received.hprof";
  const ToolResult to_file = Ctl({"-o", received, absl::StrCat(pid), "GC.heap_dump"});
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_TRUE(absl::StrContains(to_file.err, absl::StrCat("pid ", pid, ": heap dump of ")))
      << to_file.err;
  ASSERT_EQ(stat(received.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600);
  // -o never overwrites.
  const ToolResult again = Ctl({"-o", received, absl::StrCat(pid), "GC.heap_dump"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(again.err, "not overwriting")) << again.err;

  std::unique_ptr<HprofSnapshot> from_file = Parse(testing::ReadFile(file), file);
  std::unique_ptr<HprofSnapshot> from_stream = Parse(streamed.out, "the streamed dump");
  std::unique_ptr<HprofSnapshot> from_o = Parse(testing::ReadFile(received), received);
  ASSERT_TRUE(from_file && from_stream && from_o);
  EXPECT_EQ(testing::DumpCounts(*from_file), testing::HistogramCounts(histogram.out))
      << histogram.out;
  for (const HprofSnapshot* other : {from_stream.get(), from_o.get()}) {
    EXPECT_EQ(testing::DumpCounts(*other), testing::DumpCounts(*from_file));
    EXPECT_EQ(ClassNames(*other), ClassNames(*from_file));
    EXPECT_EQ(ThreadNames(*other), ThreadNames(*from_file));
  }
  EXPECT_EQ(ThreadNames(*from_file), (std::set<std::string>{"main", "Thread-0"}));

  EXPECT_EQ(svm.Wait(), 0) << svm.output();
  EXPECT_NE(lstat(socket.c_str(), &st), 0) << socket << " outlived the process";
  ExpectNothingLeft("");
}

TEST_F(AttachTest, NoListenerNoSocketAndUsageErrors) {
  Subprocess svm({testing::SampleBinary("svm_heap_dump"), "--runs=3", "--sleep_ms=100",
                  "-XX:-StartAttachListener"},
                 cwd_);
  ASSERT_TRUE(svm.WaitForOutput("Thread started, it will run for 3 seconds"));
  EXPECT_TRUE(ListDir(sockets_).empty());
  const ToolResult ctl = Ctl({absl::StrCat(svm.pid()), "VM.version"});
  EXPECT_EQ(ctl.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(ctl.err, absl::StrCat("pid ", svm.pid(), " (",
                                                      SocketOf(svm.pid()), "): no attach socket")))
      << ctl.err;
  EXPECT_EQ(svm.Wait(), 0);
  EXPECT_EQ(Ctl({}).exit_code, 2);
  EXPECT_EQ(Ctl({"-x"}).exit_code, 2);
  EXPECT_EQ(Ctl({"123"}).exit_code, 2);
  EXPECT_EQ(Ctl({"-o", out_ + "/x", "123", "Thread.print"}).exit_code, 2);
  const ToolResult nobody = Ctl({"no-such-program", "VM.version"});
  EXPECT_EQ(nobody.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(nobody.err, "no Kiln process")) << nobody.err;
  EXPECT_TRUE(Ctl({"-l"}).out.empty());
}

// A target that cannot answer (stopped here, wedged in the field) holds
// kiln-ctl only as long as -t says; once it runs again it answers as before.
TEST_F(AttachTest, ASilentTargetTimesOutAndRecovers) {
  Subprocess svm({testing::SampleBinary("svm_heap_dump"), "--runs=600", "--sleep_ms=100"}, cwd_);
  ASSERT_TRUE(svm.WaitForOutput("Thread started, it will run for 600 seconds")) << svm.output();
  const std::string pid = absl::StrCat(svm.pid());
  EXPECT_EQ(Ctl({"-t", "soon", pid, "VM.version"}).exit_code, 2);
  EXPECT_EQ(Ctl({"-t"}).exit_code, 2);
  ASSERT_TRUE(svm.Signal(SIGSTOP));
  const ToolResult silent = Ctl({"-t", "1", pid, "VM.version"});
  ASSERT_TRUE(svm.Signal(SIGCONT));
  EXPECT_EQ(silent.exit_code, 1) << silent.out << silent.err;
  EXPECT_TRUE(absl::StrContains(silent.err, absl::StrCat("pid ", pid, " (", SocketOf(svm.pid()),
                                                         "): no answer for 1s")))
      << silent.err;
  EXPECT_TRUE(absl::StrContains(silent.err, "-t SECONDS waits longer")) << silent.err;
  const ToolResult again = Ctl({"-t", "0", pid, "VM.version"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(absl::StrContains(again.out, "Kiln")) << again.out;
  ASSERT_TRUE(svm.Signal(SIGKILL));
}

// The client library's own limit, on a socket that accepts connections
// and never answers.
TEST_F(AttachTest, TheClientGivesUpOnSilence) {
  const std::string socket = SocketOf(getpid());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, socket.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  attach::CallOptions options;
  options.idle_timeout = absl::Milliseconds(200);
  attach::CallResult result = attach::Call(getpid(), "VM.version", {}, {}, options);
  EXPECT_TRUE(absl::IsDeadlineExceeded(result.transport)) << result.transport;
  EXPECT_TRUE(absl::StrContains(result.transport.message(), "no answer for 200ms"))
      << result.transport;
  close(fd);
  unlink(socket.c_str());
}

// RawExchange sends `request` on a new connection, closes the sending side,
// and returns all the target answers.
std::string RawExchange(const std::string& socket, const std::string& request) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, socket.c_str());
  EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0)
      << strerror(errno);
  const struct timeval guard = {120, 0};  // a hang guard only
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof(guard));
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the target may answer (and close) before reading it all
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string answer;
  char buffer[65536];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) answer.append(buffer, n);
  close(fd);
  return answer;
}

// EndOf: the status of a complete answer's end frame, DataLoss if the
// answer is not frames ending in one.
absl::Status EndOf(absl::string_view answer) {
  while (answer.size() >= attach::kFrameHeaderBytes) {
    auto head = attach::ParseFrameHeader(reinterpret_cast<const uint8_t*>(answer.data()));
    if (!head.ok()) return absl::DataLossError(head.status().message());
    if (answer.size() < attach::kFrameHeaderBytes + head->size) break;
    const absl::string_view payload = answer.substr(attach::kFrameHeaderBytes, head->size);
    answer.remove_prefix(attach::kFrameHeaderBytes + head->size);
    if (head->type == attach::FrameType::kEnd) {
      if (!answer.empty()) return absl::DataLossError("bytes after the end frame");
      return attach::EndStatus(payload);
    }
  }
  return absl::DataLossError("no end frame");
}

TEST_F(AttachTest, SurvivesGarbageSleepersAndFiftyClients) {
  Subprocess target({Target(), "--enable-monitoring=attach", "--client_timeout_ms=1500",
                     "--ballast_mb=1"},
                    cwd_, {}, Subprocess::Stderr::kCapture);
  ASSERT_TRUE(target.WaitForOutput(absl::StrCat("Ready ", target.pid())));
  const std::string socket = SocketOf(target.pid());

  // A client that connects and says nothing: dropped after the timeout, with
  // an answer saying so, while the others are served.
  std::string sleeper_answer;
  std::thread sleeper([&] {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, socket.c_str());
    ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
    char buffer[4096];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof(buffer))) > 0) sleeper_answer.append(buffer, n);
    close(fd);
  });

  // Random and truncated requests, fixed seed.
  std::mt19937 random(14);
  const std::vector<std::string> good = {"1 VM.version",       "1 help",
                                         "1 VM.uptime",        "1 GC.heap_info",
                                         "1 VM.no_such_thing", "1 GC.class_histogram -bad",
                                         "1 Thread.print", "2 VM.version"};
  // (No GC.heap_dump: a changed byte may make a good request for a file.)
  int answered = 0, well_formed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string request;
    switch (i % 5) {
      case 0:  // random bytes, sometimes a newline in them
        request.resize(random() % 200);
        for (char& c : request) c = static_cast<char>(random() % 256);
        break;
      case 1: {  // a good request cut short, no newline
        const std::string& line = good[random() % good.size()];
        request = line.substr(0, random() % line.size());
        break;
      }
      case 2: {  // a good request with a byte changed
        request = good[random() % good.size()] + "\n";
        request[random() % (request.size() - 1)] = static_cast<char>(random() % 256);
        break;
      }
      case 3:  // too long
        request = std::string(4096 + random() % 3000, 'a');
        break;
      case 4:
        request = good[random() % good.size()] + "\n";
        break;
    }
    const bool complete = request.find('\n') != std::string::npos &&
                          request.find('\n') < attach::kMaxRequestBytes;
    const std::string answer = RawExchange(socket, request);
    if (request.empty()) {
      EXPECT_TRUE(answer.empty());
      continue;
    }
    const absl::Status end = EndOf(answer);
    EXPECT_FALSE(absl::IsDataLoss(end)) << i << ": " << end;
    answered += absl::IsDataLoss(end) ? 0 : 1;
    well_formed += complete ? 1 : 0;
  }
  EXPECT_GT(answered, 2900);
  EXPECT_GT(well_formed, 1000);

  // 50 clients at once: thread dumps, histograms, streamed dumps.
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 50; ++i) {
    clients.emplace_back([&, i] {
      std::string text, data;
      attach::Handlers handlers;
      handlers.text = [&](absl::string_view t) {
        text.append(t.data(), t.size());
        return absl::OkStatus();
      };
      handlers.data = [&](absl::string_view d) {
        data.append(d.data(), d.size());
        return absl::OkStatus();
      };
      const char* command = i % 3 == 0 ? "Thread.print"
                            : i % 3 == 1 ? "GC.class_histogram"
                                         : "GC.heap_dump";
      std::vector<std::string> arguments;
      if (i % 3 == 2) arguments = {"-"};
      attach::CallResult result = attach::Call(target.pid(), command, arguments, handlers);
      EXPECT_TRUE(result.transport.ok()) << i << ": " << result.transport;
      EXPECT_TRUE(result.target.ok()) << i << ": " << result.target;
      bool good_answer = false;
      if (i % 3 == 0) good_answer = absl::StrContains(text, "\"main\" #");
      if (i % 3 == 1) good_answer = testing::HistogramCounts(text)["[I"] == 16;  // 1 MiB
      if (i % 3 == 2) good_answer = Parse(data, absl::StrCat("client ", i)) != nullptr;
      EXPECT_TRUE(good_answer) << i << ": " << text.substr(0, 500);
      ok.fetch_add(good_answer && result.target.ok() ? 1 : 0);
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(ok.load(), 50);
  sleeper.join();
  EXPECT_TRUE(absl::StrContains(EndOf(sleeper_answer).message(), "no complete request"))
      << EndOf(sleeper_answer);

  ASSERT_TRUE(target.Signal(SIGTERM));
  EXPECT_EQ(target.Wait(), 0) << target.error_output();
  ExpectNothingLeft("");
}

// RawRequest: a connected socket to `address` with `request` sent; -1 if the
// connection failed, with errno. Async-signal-safe (for forked children).
int RawRequest(const struct sockaddr_un& address, const char* request, size_t size) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  if (size > 0 && send(fd, request, size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) return -1;
  return fd;
}

struct sockaddr_un Address(const std::string& socket) {
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, socket.c_str());
  return address;
}

// ExitCode: run `child` in a forked process and return its exit code.
template <typename Fn>
int InChild(Fn child) {
  const pid_t pid = fork();
  if (pid == 0) _exit(child());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(AttachTest, AnotherUserIsRefused) {
  const uid_t nobody = 65534;
  if (geteuid() != 0 || InChild([&] { return setuid(nobody) == 0 ? 0 : 1; }) != 0) {
    GTEST_SKIP() << "cannot become uid " << nobody << " here (not root, or a user namespace)";
  }
  Subprocess target({Target(), "--enable-monitoring=attach"}, cwd_, {},
                    Subprocess::Stderr::kCapture);
  ASSERT_TRUE(target.WaitForOutput(absl::StrCat("Ready ", target.pid())));
  const std::string socket = SocketOf(target.pid());
  ASSERT_EQ(chmod(sockets_.c_str(), 0755), 0);  // nobody may look in the directory
  const struct sockaddr_un address = Address(socket);
  const char request[] = "1 VM.version\n";

  // The socket's mode keeps nobody out before the listener sees anything.
  EXPECT_EQ(InChild([&] {
              if (setuid(nobody) != 0) return 90;
              return RawRequest(address, request, sizeof(request) - 1) < 0 && errno == EACCES
                         ? 0
                         : 91;
            }),
            0);
  // With the mode opened up (by the owner), SO_PEERCRED still refuses, three
  // times, logged once.
  ASSERT_EQ(chmod(socket.c_str(), 0666), 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(InChild([&] {
                if (setuid(nobody) != 0) return 90;
                // Nothing sent: the refusal may come (and the socket close)
                // before a request could be.
                const int fd = RawRequest(address, nullptr, 0);
                if (fd < 0) return 92;
                char answer[512];
                size_t got = 0;
                ssize_t n;
                while (got < sizeof(answer) && (n = read(fd, answer + got, sizeof(answer) - got)) > 0) {
                  got += static_cast<size_t>(n);
                }
                const absl::string_view text(answer, got);
                return text.find("permission denied: uid 65534") != absl::string_view::npos ? 0
                                                                                             : 93;
              }),
              0);
  }
  ASSERT_EQ(chmod(socket.c_str(), 0600), 0);
  const ToolResult version = Ctl({absl::StrCat(target.pid()), "VM.version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  ASSERT_TRUE(target.Signal(SIGTERM));
  EXPECT_EQ(target.Wait(), 0);
  const std::string log = target.error_output();
  std::vector<std::string> refusals;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, "refused")) refusals.emplace_back(line);
  }
  ASSERT_EQ(refusals.size(), 1u) << log;
  EXPECT_TRUE(absl::StrContains(refusals[0], "refused a client with uid 65534")) << log;
  ExpectNothingLeft("");
}

TEST_F(AttachTest, AClientKilledMidStreamLeavesNothing) {
  Subprocess target({Target(), "--enable-monitoring=attach", "--ballast_mb=16"}, cwd_, {},
                    Subprocess::Stderr::kCapture);
  ASSERT_TRUE(target.WaitForOutput(absl::StrCat("Ready ", target.pid()), absl::Seconds(300)));
  const struct sockaddr_un address = Address(SocketOf(target.pid()));
  for (const std::string request : {"1 GC.heap_dump -\n", "1 GC.heap_dump -fork -\n"}) {
    SCOPED_TRACE(request);
    // The client reads 2 MiB of the 16 and dies.
    const pid_t client = fork();
    if (client == 0) {
      const int fd = RawRequest(address, request.data(), request.size());
      if (fd < 0) _exit(90);
      static char buffer[1 << 16];
      size_t got = 0;
      ssize_t n;
      while (got < (2 << 20) && (n = read(fd, buffer, sizeof(buffer))) > 0) got += n;
      raise(SIGKILL);
    }
    int status = 0;
    ASSERT_EQ(waitpid(client, &status, 0), client);
    EXPECT_TRUE(WIFSIGNALED(status)) << status;
    ASSERT_TRUE(target.WaitForErrorOutput(
        absl::StrCat("kiln attach: GC.heap_dump - to pid ", client, ": the client stopped reading"),
        absl::Seconds(300)))
        << target.error_output();
    ExpectNothingLeft(absl::StrCat(".kiln_pid", target.pid()));
    // The next dump works.
    const std::string received = absl::StrCat(out_, "/after", client, ".hprof");
    const ToolResult after = Ctl({"-o", received, absl::StrCat(target.pid()), "GC.heap_dump"});
    ASSERT_EQ(after.exit_code, 0) << after.err;
    std::unique_ptr<HprofSnapshot> snapshot = Parse(testing::ReadFile(received), received);
    ASSERT_NE(snapshot, nullptr);
    EXPECT_EQ(testing::DumpCounts(*snapshot)["[I"], 16u * 16);
  }
  ASSERT_TRUE(target.Signal(SIGTERM));
  EXPECT_EQ(target.Wait(), 0);
  // One line per broken stream, nothing else from the listener.
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(target.error_output(), '\n')) {
    lines += absl::StartsWith(line, "kiln attach: ") ? 1 : 0;
  }
  EXPECT_EQ(lines, 2) << target.error_output();
  ExpectNothingLeft("");
}

TEST_F(AttachTest, ContinuousDumpsKeepTheNewestK) {
  Subprocess target({Target(), "--mutate", "--ballast_mb=1", "-XX:HeapDumpInterval=0.05",
                     "-XX:HeapDumpKeep=3", absl::StrCat("-XX:HeapDumpPath=", cwd_)},
                    cwd_);
  ASSERT_TRUE(target.WaitForOutput(absl::StrCat("Ready ", target.pid())));
  // Dumps made before the target was ready may predate its ballast: wait
  // until the three kept at the end are all newer than those.
  int before_ready = 0;
  const std::string at_ready = target.output();
  for (size_t at = 0; (at = at_ready.find("Continuous heap dump ", at)) != std::string::npos; ++at) {
    ++before_ready;
  }
  auto dumps = [&] {
    std::vector<std::string> names;
    for (const std::string& name : ListDir(cwd_)) {
      if (name[0] != '.') names.push_back(name);
    }
    return names;
  };
  size_t most = 0;
  for (int n = 1; n <= std::max(6, before_ready + 4); ++n) {
    ASSERT_TRUE(target.WaitForOutput(absl::StrCat("Continuous heap dump ", n, " created ")))
        << target.output();
    most = std::max(most, dumps().size());
  }
  ASSERT_TRUE(target.Signal(SIGTERM));
  EXPECT_EQ(target.Wait(), 0);
  EXPECT_LE(most, 3u);
  EXPECT_FALSE(absl::StrContains(target.output(), "failed")) << target.output();
  const std::vector<std::string> files = ListDir(cwd_);
  ASSERT_EQ(files.size(), 3u) << "no temporary may be left";
  for (const std::string& name : files) {
    const std::string path = cwd_ + "/" + name;
    EXPECT_TRUE(absl::StrContains(target.output(), path + ", size: ")) << path;
    std::unique_ptr<HprofSnapshot> snapshot = Parse(testing::ReadFile(path), path);
    ASSERT_NE(snapshot, nullptr);
    // A real dump of the heap: the ballast (16 int arrays a MiB, held by a
    // static) is in every one. The mutator's lists are not counted: a dump
    // may fall between its batches, or after it stopped.
    EXPECT_EQ(testing::DumpCounts(*snapshot)["[I"], 16u) << path;
  }
  EXPECT_TRUE(ListDir(sockets_).empty());  // no listener asked for
}

}  // namespace
}  // namespace kiln
