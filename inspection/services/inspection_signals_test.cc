// Inspection signals on a runtime, in process: what each signal prints or
// writes, that handlers come and go with the runtime, and that a runtime that
// did not ask installs none.
#include "inspection/services/inspection_signals.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/check.h"
#include "base/mutex.h"
#include "gtest/gtest.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/services/monitoring_flags.h"
#include "tests/pipe_capture.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

constexpr int kWidgets = 37;

using Output = testing::PipeCapture;

void (*CurrentHandler(int signo))(int) {
  struct sigaction current;
  EXPECT_EQ(sigaction(signo, nullptr, &current), 0);
  return current.sa_handler;
}

std::string TempDir() {
  const char* env = std::getenv("TEST_TMPDIR");
  char pattern[4096];
  snprintf(pattern, sizeof(pattern), "%s/signals-XXXXXX", env != nullptr ? env : "/tmp");
  KILN_CHECK(mkdtemp(pattern) != nullptr, "mkdtemp");
  return pattern;
}

RuntimeOptions Options(InspectionOptions* inspection) {
  RuntimeOptions options;
  options.heap_limit_bytes = 32 << 20;
  options.classes.push_back({.name = "app.Widget",
                             .source_file = "Widget.cc",
                             .fields = {{"size", FieldType::kInt}},
                             .methods = {{"run", "()V"}}});
  if (inspection != nullptr) options.services.push_back(InspectionSignals(*inspection));
  return options;
}

// WithWidgets runs `body` on an attached "main" thread inside app.Widget.run
// (line 12), with kWidgets Widgets alive, in native state (so the signals'
// safepoints can go ahead while it waits).
void WithWidgets(Runtime& runtime, const std::function<void()>& body) {
  Resolver resolver(runtime);
  const Class* widget = resolver.Class("app.Widget");
  const Method* run = resolver.Method(widget, "run", "()V");
  ASSERT_TRUE(resolver.status().ok()) << resolver.status();
  ThreadScope main(runtime, "main");
  Frame frame(main, run);
  frame.set_line(12);
  auto array = ObjectArray::New(frame, widget, kWidgets);
  ASSERT_TRUE(array.ok()) << array.status();
  for (int i = 0; i < kWidgets; ++i) {
    auto object = Object::New(frame, widget);
    ASSERT_TRUE(object.ok()) << object.status();
    (*array)->Set(i, object->get());
  }
  ScopedNative native(main, ThreadStatus::kNative);
  body();
}

TEST(InspectionSignalsTest, ARuntimeThatDidNotAskInstallsNoHandler) {
  auto runtime = Runtime::Create(Options(nullptr));
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  for (int signo : {SIGUSR1, SIGQUIT, SIGUSR2}) EXPECT_EQ(CurrentHandler(signo), SIG_DFL) << signo;
}

TEST(InspectionSignalsTest, HandlersLiveAsLongAsTheRuntime) {
  InspectionOptions inspection;
  {
    auto runtime = Runtime::Create(Options(&inspection));
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    for (int signo : {SIGUSR1, SIGQUIT, SIGUSR2}) {
      EXPECT_NE(CurrentHandler(signo), SIG_DFL) << signo;
    }
    // Signals are the process's: a second runtime cannot have them too.
    auto second = Runtime::Create(Options(&inspection));
    EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists) << second.status();
    EXPECT_TRUE(absl::StrContains(second.status().message(), "SIGUSR1")) << second.status();
  }
  for (int signo : {SIGUSR1, SIGQUIT, SIGUSR2}) EXPECT_EQ(CurrentHandler(signo), SIG_DFL) << signo;
}

TEST(InspectionSignalsTest, SigquitPrintsEveryThreadWithItsFrames) {
  Output output;
  InspectionOptions inspection;
  inspection.output_fd = output.write_fd();
  auto runtime = *Runtime::Create(Options(&inspection));
  WithWidgets(*runtime, [&] {
    ASSERT_EQ(raise(SIGQUIT), 0);
    EXPECT_TRUE(output.WaitFor("at app.Widget.run("));
    const std::string text = output.text();
    EXPECT_TRUE(absl::StrContains(text, "Full thread dump Kiln")) << text;
    EXPECT_TRUE(absl::StrContains(text, "\"main\" #")) << text;
    EXPECT_TRUE(absl::StrContains(text, "\tat app.Widget.run(Widget.cc:12)\n")) << text;
  });
}

TEST(InspectionSignalsTest, Sigusr2PrintsTheRuntimeInfo) {
  Output output;
  InspectionOptions inspection;
  inspection.output_fd = output.write_fd();
  auto runtime = *Runtime::Create(Options(&inspection));
  ASSERT_TRUE(runtime->CollectGarbage().ok());
  WithWidgets(*runtime, [&] {
    ASSERT_EQ(raise(SIGUSR2), 0);
    EXPECT_TRUE(output.WaitFor("Threads: "));
    const std::string text = output.text();
    EXPECT_TRUE(absl::StrContains(text, "Kiln runtime info (pid ")) << text;
    EXPECT_TRUE(absl::StrContains(text, "  app.Widget extends java.lang.Object  size=")) << text;
    EXPECT_TRUE(absl::StrContains(text, "    field int size\n    method run()V\n")) << text;
    EXPECT_TRUE(absl::StrContains(text, "\nCollections: 1 in ")) << text;
    EXPECT_TRUE(absl::StrContains(text, "cause=explicit")) << text;
    EXPECT_TRUE(absl::StrContains(text, "\nSafepoints: ")) << text;
    EXPECT_TRUE(absl::StrContains(text, "\nThreads: 1 attached, 0 daemon\n")) << text;
  });
}

// DumpedPath: the path on the "Heap dump created <path>, size: <n>" line,
// checked against the file's size.
std::string DumpedPath(const std::string& text) {
  const std::string prefix = "Heap dump created ";
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return "";
  const size_t comma = text.find(", size: ", at);
  const size_t eol = text.find('\n', at);
  if (comma == std::string::npos || eol == std::string::npos) return "";
  std::string path = text.substr(at + prefix.size(), comma - at - prefix.size());
  int64_t size = -1;
  EXPECT_TRUE(absl::SimpleAtoi(text.substr(comma + 8, eol - comma - 8), &size));
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  EXPECT_EQ(st.st_size, size) << path;
  return path;
}

TEST(InspectionSignalsTest, Sigusr1WritesALiveDumpUnderTheDefaultName) {
  Output output;
  InspectionOptions inspection;
  inspection.output_fd = output.write_fd();
  inspection.heap_dump.path = TempDir();
  auto runtime = *Runtime::Create(Options(&inspection));
  WithWidgets(*runtime, [&] {
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_TRUE(output.WaitFor("Heap dump created "));
    const std::string path = DumpedPath(output.text());
    ASSERT_FALSE(path.empty());
    EXPECT_TRUE(absl::StartsWith(path, inspection.heap_dump.path + "/svm-heapdump-")) << path;
    EXPECT_TRUE(absl::EndsWith(path, ".hprof")) << path;
    auto snapshot = HprofSnapshot::Load(path);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_TRUE((*snapshot)->CheckReferences().ok());
    EXPECT_EQ((*snapshot)->InstancesOf("app.Widget").size(), kWidgets);
  });
}

TEST(InspectionSignalsTest, AFailedDumpIsReportedAndTheNextOneWorks) {
  Output output;
  InspectionOptions inspection;
  inspection.output_fd = output.write_fd();
  inspection.heap_dump.path = TempDir() + "/missing/dump.hprof";
  // Chosen signal numbers: SIGUSR1 stays as it was.
  inspection.heap_dump_signal = SIGRTMIN + 2;
  inspection.thread_dump_signal = 0;
  inspection.runtime_info_signal = 0;
  auto runtime = *Runtime::Create(Options(&inspection));
  EXPECT_EQ(CurrentHandler(SIGUSR1), SIG_DFL);
  EXPECT_EQ(CurrentHandler(SIGQUIT), SIG_DFL);
  WithWidgets(*runtime, [&] {
    ASSERT_EQ(raise(SIGRTMIN + 2), 0);
    EXPECT_TRUE(output.WaitFor("Heap dump failed: "));
    const std::string text = output.text();
    EXPECT_TRUE(absl::StrContains(text, "/missing/")) << text;
  });
  // The runtime runs on: an API dump works.
  ThreadScope main(*runtime, "main");
  ScopedNative native(main, ThreadStatus::kNative);
  HeapDumpOptions api;
  api.path = TempDir();
  EXPECT_TRUE(VMRuntime::DumpHeap(*runtime, api).ok());
}

TEST(MonitoringFlagsTest, SwitchesChooseTheSignalsAndAreRemoved) {
  auto parse = [](std::vector<std::string> args, bool by_default) {
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int argc = static_cast<int>(args.size());
    auto options = ParseMonitoringFlags(argc, argv.data(), by_default);
    std::vector<std::string> rest(argv.begin(), argv.begin() + argc);
    return std::make_pair(options, rest);
  };
  {
    auto [options, rest] = parse({"prog", "--runs=3"}, true);
    ASSERT_TRUE(options.ok() && options->has_value());
    EXPECT_EQ((*options)->heap_dump_signal, SIGUSR1);
    EXPECT_EQ((*options)->thread_dump_signal, SIGQUIT);
    EXPECT_EQ((*options)->runtime_info_signal, SIGUSR2);
    EXPECT_EQ(rest, (std::vector<std::string>{"prog", "--runs=3"}));
  }
  {
    auto [options, rest] = parse({"prog", "-XX:-AllowVMInspection", "x"}, true);
    ASSERT_TRUE(options.ok());
    EXPECT_FALSE(options->has_value());
    EXPECT_EQ(rest, (std::vector<std::string>{"prog", "x"}));
  }
  {
    auto [options, rest] =
        parse({"prog", "--enable-monitoring=heapdump,threaddump", "-XX:HeapDumpPath=/d"}, false);
    ASSERT_TRUE(options.ok() && options->has_value());
    EXPECT_EQ((*options)->heap_dump_signal, SIGUSR1);
    EXPECT_EQ((*options)->thread_dump_signal, SIGQUIT);
    EXPECT_EQ((*options)->runtime_info_signal, 0);
    EXPECT_EQ((*options)->heap_dump.path, "/d");
    EXPECT_EQ(rest, (std::vector<std::string>{"prog"}));
  }
  {
    auto [options, rest] = parse({"prog", "-XX:+AllowVMInspection"}, false);
    ASSERT_TRUE(options.ok() && options->has_value());
    EXPECT_EQ((*options)->runtime_info_signal, SIGUSR2);
  }
  {
    // An out-of-memory dump alone is still something to apply.
    auto [options, rest] = parse({"prog", "-XX:-AllowVMInspection",
                                  "-XX:+HeapDumpOnOutOfMemoryError", "-XX:HeapDumpGzipLevel=3",
                                  "--runs=1"},
                                 true);
    ASSERT_TRUE(options.ok() && options->has_value());
    EXPECT_TRUE((*options)->heap_dump_on_out_of_memory);
    EXPECT_EQ((*options)->heap_dump.gzip_level, 3);
    EXPECT_EQ((*options)->heap_dump_signal, 0);
    EXPECT_EQ(rest, (std::vector<std::string>{"prog", "--runs=1"}));
    RuntimeOptions runtime_options;
    ApplyMonitoringOptions(**options, runtime_options);
    EXPECT_TRUE(runtime_options.services.empty());  // no signal asked for
    EXPECT_TRUE(static_cast<bool>(runtime_options.on_out_of_memory));
  }
  {
    auto [options, rest] = parse({"prog", "-XX:+HeapDumpOnOutOfMemoryError",
                                  "-XX:-HeapDumpOnOutOfMemoryError", "-XX:-AllowVMInspection"},
                                 true);
    ASSERT_TRUE(options.ok());
    EXPECT_FALSE(options->has_value());
  }
  {
    auto [options, rest] = parse({"prog", "-XX:HeapDumpGzipLevel=x"}, true);
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(options.status().message(), "HeapDumpGzipLevel"));
  }
  {
    auto [options, rest] = parse({"prog", "--enable-monitoring=jfr"}, true);
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(options.status().message(), "\"jfr\"")) << options.status();
  }
}

}  // namespace
}  // namespace kiln
