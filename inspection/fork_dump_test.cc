// Fork-mode dumps when things go wrong: the child killed midway, a sink that
// is not a file. The happy path (the same dump as stop-the-world) is
// benchmarks/heap_shape_dump_test.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inspection/hprof_snapshot.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  mkdir(dir.c_str(), 0700);
  return dir;
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

class ForkDumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RuntimeOptions options;
    options.heap_limit_bytes = 64 << 20;
    options.classes.push_back({.name = "test.Item",
                               .fields = {{"next", FieldType::kObject},
                                          {"value", FieldType::kLong}},
                               .methods = {{"main", "()V"}}});
    runtime_ = *Runtime::Create(std::move(options));
  }

  // Keep `count` more items alive through a Global list.
  void Allocate(int count) {
    ThreadScope scope(*runtime_, "main");
    Frame frame(scope, *runtime_->FindMethod("test.Item", "main", "()V"));
    const Class* item = runtime_->FindClass("test.Item");
    for (int i = 0; i < count; ++i) {
      absl::StatusOr<Local<Object>> o = Object::New(frame, item);
      ASSERT_TRUE(o.ok());
      (*o)->Set<int64_t>(*item->FindField("value"), i);
      if (head_ != nullptr) (*o)->SetRef(*item->FindField("next"), head_->get());
      head_ = std::make_unique<Global<Object>>(*o);
    }
  }

  void TearDown() override {
    head_.reset();
    runtime_.reset();
  }

  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<Global<Object>> head_;
};

TEST_F(ForkDumpTest, ChildKilledMidwayIsAClearErrorAndTheRuntimeRunsOn) {
  Allocate(1000);
  const std::string dir = FreshDir("killed");
  HeapDumpOptions options;
  options.path = dir + "/killed.hprof";
  options.live = false;
  options.mode = DumpMode::kFork;
  options.fork_child_stop_after_objects = 100;
  bool stopped = false;
  bool final_name_absent = false;
  options.on_fork_child = [&](pid_t child) {
    int status = 0;
    // The child stops itself after 100 objects: it is midway, for sure.
    stopped = waitpid(child, &status, WUNTRACED) == child && WIFSTOPPED(status);
    final_name_absent = access(options.path.c_str(), F_OK) != 0;
    kill(child, SIGKILL);
  };
  HeapDumpStats stats;
  absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options, &stats);
  EXPECT_TRUE(stopped);
  EXPECT_TRUE(final_name_absent);
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(path.status().message().find("killed by signal 9 (SIGKILL"), std::string::npos)
      << path.status();
  EXPECT_TRUE(Files(dir).empty()) << "left behind: " << Files(dir).front();

  // The runtime runs on: it allocates, and the next dumps (both modes) work.
  Allocate(10);
  options.fork_child_stop_after_objects = 0;
  options.on_fork_child = nullptr;
  path = VMRuntime::DumpHeap(*runtime_, options, &stats);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, options.path);
  absl::StatusOr<std::unique_ptr<HprofSnapshot>> snapshot = HprofSnapshot::Load(*path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->InstancesOf("test.Item").size(), 1010u);
  options.mode = DumpMode::kStopTheWorld;
  options.path = dir + "/stw.hprof";
  EXPECT_TRUE(VMRuntime::DumpHeap(*runtime_, options, &stats).ok());
}

TEST_F(ForkDumpTest, ForkModeWithGzipWritesTheSameBytesAsStopTheWorld) {
  Allocate(3000);
  const std::string dir = FreshDir("gzip");
  HeapDumpOptions options;
  options.live = true;
  options.gzip_level = 1;
  HeapDumpStats fork_stats, stw_stats;
  options.mode = DumpMode::kFork;
  options.path = dir + "/fork.hprof.gz";
  ASSERT_TRUE(VMRuntime::DumpHeap(*runtime_, options, &fork_stats).ok());
  options.mode = DumpMode::kStopTheWorld;
  options.path = dir + "/stw.hprof.gz";
  ASSERT_TRUE(VMRuntime::DumpHeap(*runtime_, options, &stw_stats).ok());
  EXPECT_EQ(fork_stats.objects, stw_stats.objects);
  EXPECT_GT(fork_stats.bytes, 0u);
  // Only the header's timestamp may differ, inside the first gzip member:
  // compare the decompressed dumps after it.
  const std::string cmp = absl::StrCat("cmp -s <(gzip -dc ", dir, "/fork.hprof.gz | tail -c +32) ",
                                       "<(gzip -dc ", dir, "/stw.hprof.gz | tail -c +32)");
  EXPECT_EQ(std::system(absl::StrCat("bash -c '", cmp, "'").c_str()), 0);
}

TEST_F(ForkDumpTest, ForkModeNeedsAFile) {
  MemorySink sink;
  HeapDumpOptions options;
  options.mode = DumpMode::kFork;
  const absl::Status status = VMRuntime::DumpHeapTo(*runtime_, sink, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

}  // namespace
}  // namespace kiln
