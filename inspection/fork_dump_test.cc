// Fork-mode dumps: the child killed midway, a sink that is not a file, gzip,
// the mappings fork() must copy, and a live dump marking in the child rather
// than in the pause. The shape's counts in both modes are
// benchmarks/heap_shape_dump_test; live dumps with garbage and weak
// references in both modes, heap_dump_test.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "inspection/hprof/byte_sink.h"
#include "inspection/hprof/hprof_writer.h"
#include "inspection/internal/dump_environment.h"
#include "inspection/internal/fork_dump.h"
#include "inspection/internal/heap_dumper.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/vm_runtime.h"
#include "tests/subprocess.h"
#include "vm/internal/runtime_access.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

using ::kiln::testing::ListDir;
using ::kiln::testing::MakeTempDir;
using ::kiln::testing::ReadFile;

class ForkDumpTest : public ::testing::Test {
 protected:
  void SetUp() override { StartRuntime(RuntimeOptions{}.heap_zeroing); }

  // StartRuntime: runtime_, a new runtime whose heap zeroes with `zeroing`.
  void StartRuntime(gc::ZeroingMode zeroing) {
    RuntimeOptions options;
    options.heap_limit_bytes = 64 << 20;
    options.heap_zeroing = zeroing;
    options.classes.push_back({.name = "test.Item",
                               .fields = {{"next", FieldType::kObject},
                                          {"value", FieldType::kLong}},
                               .methods = {{"main", "()V"}}});
    runtime_ = *Runtime::Create(std::move(options));
  }

  // Keep `count` more items alive through a Global list.
  void Allocate(int count) {
    Resolver resolver(*runtime_);
    const Class* item = resolver.Class("test.Item");
    const FieldRef<Object*> next = resolver.Field<Object*>(item, "next");
    const FieldRef<int64_t> value = resolver.Field<int64_t>(item, "value");
    const Method* main = resolver.Method(item, "main", "()V");
    ASSERT_TRUE(resolver.status().ok()) << resolver.status();
    ThreadScope scope(*runtime_, "main");
    Frame frame(scope, main);
    for (int i = 0; i < count; ++i) {
      absl::StatusOr<Local<Object>> o = Object::New(frame, item);
      ASSERT_TRUE(o.ok());
      (*o)->Set(value, i);
      if (head_ != nullptr) (*o)->Set(next, head_->get());
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
  const std::string dir = MakeTempDir("killed");
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
  EXPECT_TRUE(ListDir(dir).empty()) << "left behind: " << ListDir(dir).front();

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
  const std::string dir = MakeTempDir("gzip");
  HeapDumpOptions options;
  options.live = true;
  options.gzip_level = 1;
  // The process's memory changes between the two dumps; the rest of the
  // environment (dump_environment.h) must be the same bytes.
  options.extra_properties = PinnedVolatileProperties();
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

TEST_F(ForkDumpTest, LiveForkDumpMarksInTheChildNotInThePause) {
  Allocate(100);
  ASSERT_TRUE(runtime_->CollectGarbage().ok());  // the collection's bits: these 100
  Allocate(50);                                  // younger, unmarked
  const Object* youngest = head_->get();
  auto collection_marked_youngest = [&] {
    bool marked = false;
    EXPECT_TRUE(runtime_
                    ->RunAtSafepoint("mark bit",
                                     [&](StoppedWorld&) {
                                       marked = internal::HeapOf(*runtime_).IsMarked(youngest->header());
                                     })
                    .ok());
    return marked;
  };
  ASSERT_FALSE(collection_marked_youngest());
  const gc::Heap& heap = internal::HeapOf(*runtime_);
  const uint64_t marks = heap.snapshot_marks();

  const std::string dir = MakeTempDir("live-fork");
  HeapDumpOptions options;
  options.path = dir + "/fork.hprof";
  options.live = true;
  options.mode = DumpMode::kFork;
  absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options);
  ASSERT_TRUE(path.ok()) << path.status();
  absl::StatusOr<std::unique_ptr<HprofSnapshot>> snapshot = HprofSnapshot::Load(*path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->InstancesOf("test.Item").size(), 150u);
  EXPECT_EQ(heap.snapshot_marks(), marks) << "the fork-mode dump marked in the parent";

  // A stop-the-world live dump marks in this process: the check above can
  // fail. Neither touches the collection's bits (gc::Heap::SideMarkBits).
  options.mode = DumpMode::kStopTheWorld;
  options.path = dir + "/stw.hprof";
  ASSERT_TRUE(VMRuntime::DumpHeap(*runtime_, options).ok());
  EXPECT_EQ(heap.snapshot_marks(), marks + 1);
  EXPECT_FALSE(collection_marked_youngest());
}

// The heap whose zeroer ZeroerCheckInChild checks, in the fork child.
gc::Heap* zeroer_heap = nullptr;

// ZeroerCheckInChild: the child's copy of the heap is the parent's at the
// fork; exit 42 (the parent then fails the dump: its status does not match
// the report) unless the zeroer was told to stop before it.
void ZeroerCheckInChild() {
  if (!zeroer_heap->ZeroerStoppedForTesting()) _exit(42);
}

TEST_F(ForkDumpTest, TheBackgroundZeroerIsPausedWhileTheDumpForks) {
  // The background zeroer is a thread only in its own mode (the default
  // zeroes on the allocating thread).
  runtime_.reset();
  StartRuntime(gc::ZeroingMode::kBackground);
  // Garbage for the zeroer: a collection sweeps it into dirty ranges and
  // starts the zeroer thread.
  Allocate(20000);
  head_.reset();
  ASSERT_TRUE(runtime_->CollectGarbage().ok());
  Allocate(100);
  gc::Heap& heap = internal::HeapOf(*runtime_);
  ASSERT_FALSE(heap.ZeroerStoppedForTesting());
  zeroer_heap = &heap;
  const std::string dir = MakeTempDir("zeroer");
  HeapDumpOptions options;
  options.path = dir + "/fork.hprof";
  options.live = false;
  options.mode = DumpMode::kFork;
  options.fork_child_hook = &ZeroerCheckInChild;
  absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options);
  ASSERT_TRUE(path.ok()) << path.status();
  // Resumed with the world: the zeroer runs again.
  EXPECT_FALSE(heap.ZeroerStoppedForTesting());
  absl::StatusOr<std::unique_ptr<HprofSnapshot>> snapshot = HprofSnapshot::Load(*path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_GE((*snapshot)->InstancesOf("test.Item").size(), 100u);
}

TEST_F(ForkDumpTest, AHostThatIgnoresSigchldStillGetsItsDump) {
  // With SIGCHLD ignored the kernel reaps the child itself, and waitpid fails
  // with ECHILD: the child's report must be enough.
  Allocate(200);
  struct sigaction ignore {}, saved {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGCHLD, &ignore, &saved), 0);
  HeapDumpOptions options;
  options.path = MakeTempDir("sigchld") + "/fork.hprof";
  options.mode = DumpMode::kFork;
  HeapDumpStats stats;
  absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options, &stats);
  ASSERT_TRUE(path.ok()) << path.status();
  absl::StatusOr<std::unique_ptr<HprofSnapshot>> snapshot = HprofSnapshot::Load(*path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->InstancesOf("test.Item").size(), 200u);

  // A child killed before it filled a slot: the parent, waiting for the
  // ring, must see it gone although nobody can wait for it.
  options.path += ".killed";
  options.fork_child_stop_after_objects = 50;
  options.on_fork_child = [](pid_t child) {
    int status = 0;
    waitpid(child, &status, WUNTRACED);  // stopped midway
    kill(child, SIGKILL);
  };
  path = VMRuntime::DumpHeap(*runtime_, options, &stats);
  sigaction(SIGCHLD, &saved, nullptr);
  EXPECT_FALSE(path.ok());
  EXPECT_NE(access(options.path.c_str(), F_OK), 0) << "a dump under the final name";
}

// ChildSyscall: the system call `pid` is blocked in (/proc/PID/syscall's
// first field), or -1 when it is running or gone.
long ChildSyscall(pid_t pid) {
  const std::string text = ReadFile(absl::StrCat("/proc/", pid, "/syscall"));
  long number = -1;
  const std::vector<std::string> fields = absl::StrSplit(text, ' ');
  if (fields.empty() || !absl::SimpleAtoi(fields[0], &number)) return -1;
  return number;
}

TEST_F(ForkDumpTest, TheChildWaitsForTheWorldToResumeBeforeItWalks) {
  // A child that started at once could take the forking thread's core
  // while the world is still stopped. Started at a safepoint and not
  // released, it sits in its read(2) of the start socket, having written
  // nothing; released, it writes the whole dump.
  Allocate(300);
  const std::string path = MakeTempDir("start-gate") + "/fork.hprof";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  FdSink file(fd, path);
  HprofWriter writer(&file);
  absl::StatusOr<ForkDumpChild> child = absl::InternalError("not started");
  ASSERT_TRUE(runtime_
                  ->RunAtSafepoint("fork dump, held",
                                   [&](StoppedWorld& world) {
                                     HeapDumper dumper(world, /*live=*/false, writer);
                                     ASSERT_TRUE(dumper.WritePrologue().ok());
                                     child = StartForkDumpChild(dumper, nullptr, file);
                                   })
                  .ok());
  ASSERT_TRUE(child.ok()) << child.status();
  // Until it blocks: without the gate it never calls read(2), and runs to
  // its end (its /proc entry then shows no system call).
  long syscall = -1;
  for (int i = 0; i < 20000 && syscall != SYS_read; ++i) {
    syscall = ChildSyscall(child->pid);
    if (syscall != SYS_read) usleep(500);
  }
  EXPECT_EQ(syscall, SYS_read) << "the child did not wait to be released";
  const uint64_t prologue_bytes = file.bytes_written();
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), prologue_bytes) << "the child wrote before its release";

  // Another holder of the parent's end (as a host's fork that does not
  // exec would be) must not keep the child waiting: the release is a byte,
  // not the end of file.
  const int other_holder = dup(child->start_fd);
  ASSERT_GE(other_holder, 0);
  HeapDumpStats stats;
  const absl::Status status = WaitForForkDumpChild(*child, file, &stats);  // releases it
  close(other_holder);
  close(fd);
  ASSERT_TRUE(status.ok()) << status;
  absl::StatusOr<std::unique_ptr<HprofSnapshot>> snapshot = HprofSnapshot::Load(path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->InstancesOf("test.Item").size(), 300u);
}

TEST_F(ForkDumpTest, ForkModeNeedsAFile) {
  MemorySink sink;
  HeapDumpOptions options;
  options.mode = DumpMode::kFork;
  const absl::Status status = VMRuntime::DumpHeapTo(*runtime_, sink, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

// fork() pays about 1.2 µs per mapping at any heap size, and Debian's Abseil
// as shared libraries is 64 of them, five mappings each: half of a small
// heap's fork-mode pause (inspection/FORK_MODE.md). The build links its
// static archives (third_party/system_libs.BUILD); this keeps it so.
TEST(ForkDumpMappingsTest, AbseilIsLinkedStaticallySoForkCopiesNoMappingsOfIt) {
  const std::string maps = ReadFile("/proc/self/maps");
  int mappings = 0;
  std::vector<absl::string_view> abseil;
  for (absl::string_view line : absl::StrSplit(maps, '\n', absl::SkipEmpty())) {
    ++mappings;
    if (absl::StrContains(line, "libabsl_")) abseil.push_back(line);
  }
  ASSERT_GT(mappings, 0) << "/proc/self/maps is empty";
  EXPECT_TRUE(abseil.empty()) << abseil.size() << " of " << mappings
                              << " mappings are Abseil's shared libraries, the first: "
                              << abseil.front();
}

}  // namespace
}  // namespace kiln
