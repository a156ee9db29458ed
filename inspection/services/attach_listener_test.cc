// The attach listener in process: a runtime with the service, its socket in
// a short private TMPDIR, and the client library asking it questions. The
// end-to-end tests (tests/attach_test.cc) do the same with processes.
#include "inspection/services/attach_listener.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/services/attach_client.h"
#include "inspection/services/attach_protocol.h"
#include "inspection/internal/dump_environment.h"
#include "tests/attach_test_util.h"
#include "inspection/vm_runtime.h"
#include "tests/subprocess.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

class AttachListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::ShortTempDir();
    setenv("TMPDIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("TMPDIR");
    testing::RemoveTree(dir_);
  }

  static std::unique_ptr<Runtime> StartRuntime(bool listener) {
    RuntimeOptions options;
    options.classes.push_back({.name = "test.Node",
                               .source_file = "Node.cc",
                               .fields = {{"next", FieldType::kObject}},
                               .methods = {{"main", "()V"}}});
    // The streamed and file dumps are compared byte for byte: the memory
    // figures their environments carry are pinned.
    AttachOptions attach;
    attach.extra_properties = PinnedVolatileProperties();
    if (listener) options.services.push_back(AttachListener(attach));
    absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(std::move(options));
    EXPECT_TRUE(runtime.ok()) << runtime.status();
    return runtime.ok() ? *std::move(runtime) : nullptr;
  }

  // Ask: the text answer and the target's status (the transport must work).
  static std::pair<std::string, absl::Status> Ask(absl::string_view command,
                                                  std::vector<std::string> arguments = {},
                                                  std::string* data = nullptr) {
    std::string text;
    attach::Handlers handlers;
    handlers.text = [&](absl::string_view t) {
      text.append(t.data(), t.size());
      return absl::OkStatus();
    };
    if (data != nullptr) {
      handlers.data = [&](absl::string_view d) {
        data->append(d.data(), d.size());
        return absl::OkStatus();
      };
    }
    attach::CallResult result = attach::Call(getpid(), command, arguments, handlers);
    EXPECT_TRUE(result.transport.ok()) << result.transport;
    return {text, result.target};
  }

  std::string dir_;
};

TEST_F(AttachListenerTest, AnswersCommandsAndRemovesItsSocket) {
  const std::string socket = attach::SocketPath(getpid());
  {
    std::unique_ptr<Runtime> runtime = StartRuntime(true);
    ASSERT_NE(runtime, nullptr);
    struct stat st;
    ASSERT_EQ(lstat(socket.c_str(), &st), 0) << socket;
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600);
    // Only the socket: its private directory is gone.
    EXPECT_EQ(testing::ListDir(dir_), std::vector<std::string>{socket.substr(dir_.size() + 1)});

    Resolver resolver(*runtime);
    const Class* node = resolver.Class("test.Node");
    const FieldRef<Object*> next = resolver.Field<Object*>(node, "next");
    const Method* main = resolver.Method(node, "main", "()V");
    ASSERT_TRUE(resolver.status().ok()) << resolver.status();
    ThreadScope scope(*runtime, "main");
    Frame frame(scope, main);
    frame.set_line(7);
    Local<Object> list = frame.NewLocal<Object>(nullptr);
    for (int i = 0; i < 10; ++i) {
      Local<Object> n = *Object::New(frame, node);
      n->Set(next, list.get());
      list.Set(n.get());
    }
    {
      // Garbage once this frame (and its slots) is gone.
      Frame inner(scope, main);
      for (int i = 0; i < 5; ++i) ASSERT_TRUE(Object::New(inner, node).ok());
    }
    ScopedNative asking(scope, ThreadStatus::kBlocked);

    auto [version, ok] = Ask("VM.version");
    EXPECT_TRUE(ok.ok()) << ok;
    EXPECT_TRUE(absl::StartsWith(version, "Kiln ")) << version;
    auto [help, help_ok] = Ask("help");
    EXPECT_TRUE(absl::StrContains(help, "GC.class_histogram [-all]")) << help;
    auto [threads, threads_ok] = Ask("Thread.print");
    EXPECT_TRUE(absl::StrContains(threads, "\"main\" #")) << threads;
    EXPECT_TRUE(absl::StrContains(threads, "at test.Node.main(Node.cc:7)")) << threads;
    auto [unknown, unknown_status] = Ask("VM.nothing");
    EXPECT_TRUE(absl::StrContains(unknown_status.message(), "unknown command \"VM.nothing\""))
        << unknown_status;
    auto [extra, extra_status] = Ask("VM.uptime", {"now"});
    EXPECT_TRUE(absl::StrContains(extra_status.message(), "takes no arguments")) << extra_status;

    auto [live, live_ok] = Ask("GC.class_histogram");
    ASSERT_TRUE(live_ok.ok()) << live_ok;
    auto [all, all_ok] = Ask("GC.class_histogram", {"-all"});
    ASSERT_TRUE(all_ok.ok()) << all_ok;
    EXPECT_EQ(testing::HistogramCounts(live)["test.Node"], 10u) << live;
    EXPECT_EQ(testing::HistogramCounts(all)["test.Node"], 15u) << all;

    // The histogram counts what a live dump holds; the streamed dump is the
    // file dump, byte for byte (but the header's clock).
    const std::string file = dir_ + "/live.hprof";
    auto [dumped, dumped_ok] = Ask("GC.heap_dump", {file});
    ASSERT_TRUE(dumped_ok.ok()) << dumped_ok;
    EXPECT_TRUE(absl::StrContains(dumped, "Heap dump file created [")) << dumped;
    std::string streamed;
    auto [none, streamed_ok] = Ask("GC.heap_dump", {"-"}, &streamed);
    ASSERT_TRUE(streamed_ok.ok()) << streamed_ok;
    EXPECT_EQ(none, "");
    const std::string written = testing::ReadFile(file);
    EXPECT_GT(written.size(), 1000u);
    EXPECT_TRUE(testing::WithoutTimestamp(streamed) == testing::WithoutTimestamp(written));
    std::string forked;
    ASSERT_TRUE(Ask("GC.heap_dump", {"-fork", "-"}, &forked).second.ok());
    EXPECT_TRUE(testing::WithoutTimestamp(forked) == testing::WithoutTimestamp(written));

    absl::StatusOr<std::unique_ptr<HprofSnapshot>> snapshot = HprofSnapshot::Load(file);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_EQ(testing::DumpCounts(**snapshot), testing::HistogramCounts(live)) << live;

    auto [again, again_status] = Ask("GC.heap_dump", {"-gz=0", file});
    EXPECT_TRUE(absl::StrContains(again_status.message(), "1 to 9")) << again_status;
  }
  struct stat st;
  EXPECT_NE(lstat(socket.c_str(), &st), 0) << socket << " is still there";
}

TEST_F(AttachListenerTest, NoListenerNoSocket) {
  std::unique_ptr<Runtime> runtime = StartRuntime(false);
  ASSERT_NE(runtime, nullptr);
  struct stat st;
  EXPECT_NE(lstat(attach::SocketPath(getpid()).c_str(), &st), 0);
  absl::StatusOr<int> fd = attach::Connect(getpid());
  EXPECT_TRUE(absl::IsNotFound(fd.status())) << fd.status();
  EXPECT_TRUE(absl::StrContains(fd.status().message(), attach::SocketPath(getpid())))
      << fd.status();
}

// A socket nobody listens on, as a process that died leaves: at a dead pid
// the client calls it stale and -l skips it; at our pid the listener
// replaces it.
TEST_F(AttachListenerTest, StaleSocketsAreSkippedAndReplaced) {
  auto leave_socket = [](const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, path.c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
    close(fd);  // the file stays, nobody listens
  };
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_EQ(waitpid(dead, nullptr, 0), dead);
  leave_socket(attach::SocketPath(dead));
  leave_socket(attach::SocketPath(getpid()));

  absl::StatusOr<int> fd = attach::Connect(dead);
  EXPECT_TRUE(absl::StrContains(fd.status().message(), "stale socket")) << fd.status();
  EXPECT_TRUE(absl::StrContains(attach::Connect(getpid()).status().message(), "nobody listens"));
  EXPECT_TRUE(attach::ListTargets().empty());

  std::unique_ptr<Runtime> runtime = StartRuntime(true);
  ASSERT_NE(runtime, nullptr);
  std::vector<attach::Target> targets = attach::ListTargets();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].pid, getpid());
  EXPECT_TRUE(Ask("VM.version").second.ok());
  // One listener per process: the socket is named by the pid.
  RuntimeOptions second;
  second.services.push_back(AttachListener());
  absl::StatusOr<std::unique_ptr<Runtime>> other = Runtime::Create(std::move(second));
  EXPECT_TRUE(absl::IsAlreadyExists(other.status())) << other.status();
  EXPECT_TRUE(Ask("VM.version").second.ok());
}

}  // namespace
}  // namespace kiln
