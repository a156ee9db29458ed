// Continuous dumps on a heap that changes under them: a mutator thread keeps
// replacing a list while the service dumps every few milliseconds. Counted by
// the service's own lines, not by time: the test waits for the eighth dump,
// or later ones if the mutator's first list took longer.
#include "inspection/services/continuous_dumps.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "tests/pipe_capture.h"
#include "tests/subprocess.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

// DumpFiles: the dumps under their final names (temporaries start with '.').
std::vector<std::string> DumpFiles(const std::string& dir) {
  std::vector<std::string> names;
  for (const std::string& name : testing::ListDir(dir)) {
    if (name[0] != '.') names.push_back(name);
  }
  return names;
}

// LastDumpNumber: the highest N of the service's "Continuous heap dump N"
// lines in `text` (0: none yet).
int LastDumpNumber(absl::string_view text) {
  constexpr absl::string_view kPrefix = "Continuous heap dump ";
  int last = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, kPrefix)) continue;
    int n = 0;
    if (absl::SimpleAtoi(line.substr(0, line.find(' ')), &n)) last = std::max(last, n);
  }
  return last;
}

TEST(ContinuousDumpsTest, KeepsTheNewestValidDumpsAndNeverMore) {
  const std::string dir = testing::MakeTempDir("continuous");
  testing::PipeCapture out;
  ContinuousDumpOptions dumps;
  dumps.interval = absl::Milliseconds(20);
  dumps.keep = 3;
  dumps.heap_dump.path = dir;
  dumps.output_fd = out.write_fd();
  RuntimeOptions options;
  options.classes.push_back({.name = "test.Node",
                             .fields = {{"next", FieldType::kObject}, {"n", FieldType::kInt}},
                             .methods = {{"run", "()V"}}});
  options.services.push_back(ContinuousHeapDumps(dumps));
  auto runtime = Runtime::Create(std::move(options));
  ASSERT_TRUE(runtime.ok()) << runtime.status();

  Resolver resolver(**runtime);
  const Class* node = resolver.Class("test.Node");
  const FieldRef<Object*> next = resolver.Field<Object*>(node, "next");
  const FieldRef<int32_t> n_field = resolver.Field<int32_t>(node, "n");
  const Method* run = resolver.Method(node, "run", "()V");
  ASSERT_TRUE(resolver.status().ok()) << resolver.status();
  // The mutator keeps one complete list of 200 in its bottom frame and
  // builds the next in a frame of its own: the list it replaces is garbage
  // once that frame ends, and a complete list is live at every moment after
  // the first (every Local takes a slot of its frame). It is a daemon of the
  // runtime: the runtime stops its services before it interrupts its
  // daemons, so every dump, the last included, sees a complete list.
  std::atomic<bool> first_list{false};
  auto mutate = [&](Thread& self) {
    Frame bottom(self, run);
    Local<Object> current = bottom.NewLocal<Object>(nullptr);
    while (!self.interrupted()) {
      {
        Frame frame(self, run);
        Local<Object> list = frame.NewLocal<Object>(nullptr);
        for (int i = 0; i < 200; ++i) {
          Local<Object> n = *Object::New(frame, node);
          n->Set(next, list.get());
          n->Set(n_field, i);
          list.Set(n.get());
        }
        current.Set(list.get());
      }
      first_list.store(true);
    }
  };
  ASSERT_TRUE((*runtime)->StartDaemonThread("mutator", mutate).ok());
  // The dumps checked below are the last three, and each of them must fork
  // after the first list is complete: the one under way when it completed
  // (m + 1) may not, the one after it does.
  while (!first_list.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const int last = std::max(8, LastDumpNumber(out.text()) + 4);
  size_t most = 0;
  for (int n = 1; n <= last; ++n) {
    ASSERT_TRUE(out.WaitFor(absl::StrCat("Continuous heap dump ", n, " ")));
    most = std::max(most, DumpFiles(dir).size());
  }
  runtime->reset();  // the service stops, then the mutator; no dump runs after this

  EXPECT_LE(most, 3u);
  std::vector<std::string> created;
  for (absl::string_view line : absl::StrSplit(out.text(), '\n')) {
    EXPECT_FALSE(absl::StrContains(line, "failed")) << line;
    const size_t at = line.find(" created ");
    if (at == absl::string_view::npos) continue;
    created.emplace_back(line.substr(at + 9, line.find(", size: ") - at - 9));
  }
  ASSERT_GE(created.size(), 8u) << out.text();
  const std::vector<std::string> files = DumpFiles(dir);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(testing::ListDir(dir).size(), 3u) << "a temporary file was left";
  for (size_t i = 0; i < 3; ++i) {
    const std::string& path = created[created.size() - 3 + i];
    EXPECT_TRUE(std::find(files.begin(), files.end(), path.substr(dir.size() + 1)) != files.end())
        << path;
    auto snapshot = HprofSnapshot::Load(path);
    ASSERT_TRUE(snapshot.ok()) << path << ": " << snapshot.status();
    EXPECT_TRUE((*snapshot)->CheckReferences().ok()) << path;
    // The complete list, and at most the one under construction.
    EXPECT_GE((*snapshot)->InstancesOf("test.Node").size(), 200u) << path;
  }
}

TEST(ContinuousDumpsTest, RefusesBadOptions) {
  ContinuousDumpOptions dumps;
  dumps.interval = absl::ZeroDuration();
  RuntimeOptions options;
  options.services.push_back(ContinuousHeapDumps(dumps));
  EXPECT_TRUE(absl::IsInvalidArgument(Runtime::Create(std::move(options)).status()));
  dumps.interval = absl::Seconds(1);
  dumps.heap_dump.path = "/nonexistent/dir";
  RuntimeOptions more;
  more.services.push_back(ContinuousHeapDumps(dumps));
  absl::Status status = Runtime::Create(std::move(more)).status();
  EXPECT_TRUE(absl::StrContains(status.message(), "not a directory")) << status;
}

}  // namespace
}  // namespace kiln
