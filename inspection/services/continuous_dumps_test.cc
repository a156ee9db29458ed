// Continuous dumps on a heap that changes under them: a mutator thread keeps
// replacing a list while the service dumps every few milliseconds. Counted by
// the service's own lines, not by time: the test waits for the eighth dump.
#include "inspection/services/continuous_dumps.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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
  std::atomic<bool> stop{false};
  std::thread mutator([&] {
    ThreadScope scope(**runtime, "mutator");
    while (!stop.load()) {
      // A list of 200 in a frame of its own: garbage once the frame ends
      // (each Local takes a slot of the frame).
      Frame frame(scope, run);
      Local<Object> list = frame.NewLocal<Object>(nullptr);
      for (int i = 0; i < 200; ++i) {
        Local<Object> n = *Object::New(frame, node);
        n->Set(next, list.get());
        n->Set(n_field, i);
        list.Set(n.get());
      }
    }
  });
  size_t most = 0;
  for (int n = 1; n <= 8; ++n) {
    ASSERT_TRUE(out.WaitFor(absl::StrCat("Continuous heap dump ", n, " ")));
    most = std::max(most, DumpFiles(dir).size());
  }
  stop.store(true);
  mutator.join();
  runtime->reset();  // the service stops; no dump runs after this

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
    EXPECT_FALSE((*snapshot)->InstancesOf("test.Node").empty()) << path;
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
