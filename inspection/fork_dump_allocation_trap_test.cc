// Fork-mode dumps under the allocation trap (fork_child_allocation_trap.h):
// a child that calls malloc, free, operator new or mimalloc anywhere from
// fork() to _exit ends with the trap's exit status and a line naming the
// call. The trap is shown to catch planted allocations (after the report,
// and inside fork() itself from a pthread_atfork handler), then 200 dumps of
// every kind with mutating threads, native registrations and weak references
// alive, the error paths (a full disk, a child killed midway, a killed
// parent) all run without it firing. Under ThreadSanitizer the trap sees
// only mimalloc's entry points (fork_child_allocation_trap.h): the planted
// tests skip there, the others still run the dumps for TSan.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inspection/fork_child_allocation_trap.h"
#include "inspection/internal/fork_dump.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/hprof/hprof_writer.h"
#include "inspection/vm_runtime.h"
#include "tests/subprocess.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

using ::kiln::testing::ArmForkChildAllocationTrap;
using ::kiln::testing::DisarmForkChildAllocationTrap;
using ::kiln::testing::kAllocationTrapExitCode;
using ::kiln::testing::MakeTempDir;
using ::kiln::testing::ReadFile;
using ::kiln::testing::TrapCatchesMalloc;
using ::kiln::testing::TrapNamesCallers;

constexpr int kPinned = 64;  // objects with a native registration and a weak reference

void FreeNative(void* p) { std::free(p); }

// The planted allocations: each is the caller the trap must name.
void* volatile planted;
[[gnu::noinline]] void PlantMalloc() { planted = std::malloc(64); }
[[gnu::noinline]] void PlantNew() { planted = new std::string(100, 'x'); }

std::atomic<bool> allocate_in_atfork_child{false};
[[gnu::noinline]] void AtforkChildAllocates() {
  if (allocate_in_atfork_child.load()) planted = std::malloc(32);
}

class ForkDumpAllocationTrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("alloc-trap");
    trap_log_ = dir_ + "/trap.log";
    trap_fd_ = open(trap_log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ASSERT_GE(trap_fd_, 0);
    RuntimeOptions options;
    options.heap_limit_bytes = 16 << 20;  // collections keep full dumps small
    options.classes.push_back({.name = "test.Node",
                               .fields = {{"next", FieldType::kObject},
                                          {"payload", FieldType::kObject},
                                          {"value", FieldType::kLong}},
                               .methods = {{"run", "()V"}}});
    options.classes.push_back({.name = "test.Pinned", .fields = {{"weak", FieldType::kObject}}});
    runtime_ = *Runtime::Create(std::move(options));
    Resolver resolver(*runtime_);
    node_ = resolver.Class("test.Node");
    next_ = resolver.Field<Object*>(node_, "next");
    payload_ = resolver.Field<Object*>(node_, "payload");
    value_ = resolver.Field<int64_t>(node_, "value");
    run_ = resolver.Method(node_, "run", "()V");
    pinned_class_ = resolver.Class("test.Pinned");
    pinned_weak_ = resolver.Field<Object*>(pinned_class_, "weak");
    ASSERT_TRUE(resolver.status().ok()) << resolver.status();
    ArmForkChildAllocationTrap(trap_fd_);
  }

  void TearDown() override {
    DisarmForkChildAllocationTrap();
    StopMutators();
    pinned_.clear();
    runtime_.reset();
    close(trap_fd_);
  }

  // Pin: kPinned objects, each with a native allocation registered against it
  // and a weak reference to it, kept by Globals.
  void Pin() {
    ThreadScope scope(*runtime_, "pinner");
    Frame frame(scope, run_);
    Local<Object> registry = *NativeAllocationRegistry::Create(frame, &FreeNative, 256);
    for (int i = 0; i < kPinned; ++i) {
      Frame step(scope, run_);
      Local<Object> owner = *Object::New(step, pinned_class_);
      ASSERT_TRUE(NativeAllocationRegistry::RegisterNativeAllocation(step, registry, owner,
                                                                     std::malloc(256))
                      .ok());
      Local<Object> weak = *WeakReference::New(step, owner);
      owner->Set(pinned_weak_, weak.get());
      pinned_.push_back(std::make_unique<Global<Object>>(owner));
    }
  }

  // StartMutators: threads that build and drop linked lists of nodes with
  // int arrays, strings, native registrations and weak references: a burst
  // of kBurst steps per round (NextRound), so that the machine's two cores
  // are not saturated while the test reads dumps back, until StopMutators.
  static constexpr int kBurst = 2000;
  void StartMutators(int count) {
    for (int t = 0; t < count; ++t) {
      mutators_.emplace_back([this, t] {
        ThreadScope scope(*runtime_, absl::StrCat("mutator-", t));
        Frame frame(scope, run_);
        Local<Object> head = frame.NewLocal<Object>(nullptr);
        Local<Object> registry = *NativeAllocationRegistry::Create(frame, &FreeNative, 64);
        running_.fetch_add(1);
        int64_t i = 0;
        for (uint64_t done = 0;;) {
          {
            ScopedNative waiting(scope, ThreadStatus::kWaiting);
            std::unique_lock<std::mutex> lock(mu_);
            round_changed_.wait(lock, [&] { return stop_ || round_ > done; });
            if (stop_) return;
            done = round_;
          }
          for (int k = 0; k < kBurst; ++k, ++i) Step(scope, head, registry, i);
        }
      });
    }
    while (running_.load() < count) std::this_thread::yield();
  }

  void Step(ThreadScope& scope, Local<Object>& head, Local<Object>& registry, int64_t i) {
    Frame step(scope, run_);
    Local<Object> node = *Object::New(step, node_);
    node->Set(value_, i);
    node->Set(next_, i % 500 == 0 ? nullptr : head.get());
    switch (i % 4) {
      case 0:
        node->Set(payload_, IntArray::New(step, 16)->get());
        break;
      case 1:
        node->Set(payload_, String::New(step, "mutated")->get());
        break;
      case 2:
        node->Set(payload_, WeakReference::New(step, head)->get());
        break;
      case 3:
        if (i % 64 == 3) {
          ASSERT_TRUE(NativeAllocationRegistry::RegisterNativeAllocation(step, registry, node,
                                                                         std::malloc(64))
                          .ok());
        }
        break;
    }
    head.Set(node.get());
  }

  // NextRound: every mutator runs one more burst, now.
  void NextRound() {
    std::lock_guard<std::mutex> lock(mu_);
    ++round_;
    round_changed_.notify_all();
  }

  void StopMutators() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      round_changed_.notify_all();
    }
    for (std::thread& t : mutators_) t.join();
    mutators_.clear();
  }

  HeapDumpOptions ForkOptions(const std::string& name, bool live, bool gzip) {
    HeapDumpOptions options;
    options.path = dir_ + "/" + name;
    options.live = live;
    options.gzip_level = gzip ? 1 : 0;
    options.mode = DumpMode::kFork;
    return options;
  }

  std::string dir_;
  std::string trap_log_;
  int trap_fd_ = -1;
  std::unique_ptr<Runtime> runtime_;
  const Class* node_ = nullptr;
  FieldRef<Object*> next_;
  FieldRef<Object*> payload_;
  FieldRef<int64_t> value_;
  const Method* run_ = nullptr;
  const Class* pinned_class_ = nullptr;
  FieldRef<Object*> pinned_weak_;
  std::vector<std::unique_ptr<Global<Object>>> pinned_;
  std::vector<std::thread> mutators_;
  std::atomic<int> running_{0};
  std::mutex mu_;
  std::condition_variable round_changed_;
  uint64_t round_ = 0;  // guarded by mu_
  bool stop_ = false;   // guarded by mu_
};

// The trap's line for a planted call: the function and its caller, which
// must lie in `planter` (a small function: its first 256 bytes).
void ExpectTrapped(const std::string& log, const std::string& function, void (*planter)()) {
  const std::string prefix = "alloc trap: " + function + " in forked child ";
  const size_t at = log.find(prefix);
  ASSERT_NE(at, std::string::npos) << "trap log: " << log;
  if (!TrapNamesCallers()) return;
  const size_t hex = log.find("called from 0x", at);
  ASSERT_NE(hex, std::string::npos) << log;
  const uintptr_t caller = std::strtoull(log.c_str() + hex + 14, nullptr, 16);
  const auto start = reinterpret_cast<uintptr_t>(planter);
  EXPECT_TRUE(caller > start && caller < start + 256)
      << "caller 0x" << std::hex << caller << " is not in the planter at 0x" << start;
}

TEST_F(ForkDumpAllocationTrapTest, APlantedMallocAfterTheReportFailsTheDump) {
  if (!TrapCatchesMalloc()) {
    GTEST_SKIP() << "ThreadSanitizer runs no malloc hook in the child of a multi-threaded "
                    "process: the trap cannot see this allocation (the default and ASan "
                    "configs run this test)";
  }
  Pin();
  HeapDumpOptions options = ForkOptions("planted.hprof", /*live=*/true, /*gzip=*/false);
  options.fork_child_hook = &PlantMalloc;
  absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options);
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), absl::StatusCode::kInternal) << path.status();
  EXPECT_NE(path.status().message().find(
                absl::StrCat("exited with status ", kAllocationTrapExitCode, " after reporting")),
            std::string::npos)
      << path.status();
  EXPECT_NE(access(options.path.c_str(), F_OK), 0) << "a dump under the final name";
  const std::string function = TrapNamesCallers() ? "malloc" : "malloc (sanitizer hook)";
  ExpectTrapped(ReadFile(trap_log_), function, &PlantMalloc);
}

TEST_F(ForkDumpAllocationTrapTest, APlantedNewInAGzipDumpIsNamedWithItsCaller) {
  if (!TrapCatchesMalloc()) {
    GTEST_SKIP() << "ThreadSanitizer runs no malloc hook in the child of a multi-threaded "
                    "process: the trap cannot see this allocation (the default and ASan "
                    "configs run this test)";
  }
  HeapDumpOptions options = ForkOptions("planted.hprof.gz", /*live=*/false, /*gzip=*/true);
  options.fork_child_hook = &PlantNew;
  EXPECT_EQ(VMRuntime::DumpHeap(*runtime_, options).status().code(), absl::StatusCode::kInternal);
  const std::string function = TrapNamesCallers() ? "operator new" : "malloc (sanitizer hook)";
  ExpectTrapped(ReadFile(trap_log_), function, &PlantNew);
}

TEST_F(ForkDumpAllocationTrapTest, TheTrapCoversForkItselfFromAnAtforkHandler) {
  if (!TrapCatchesMalloc()) {
    GTEST_SKIP() << "ThreadSanitizer runs no malloc hook in the child of a multi-threaded "
                    "process: the trap cannot see this allocation (the default and ASan "
                    "configs run this test)";
  }
  // A library's pthread_atfork child handler runs inside fork(), before any
  // of Kiln's child code: the trap holds there too. (Handlers cannot be
  // removed: this one allocates only while the flag is set.)
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, [] { pthread_atfork(nullptr, nullptr, &AtforkChildAllocates); });
  allocate_in_atfork_child.store(true);
  HeapDumpOptions options = ForkOptions("atfork.hprof", /*live=*/true, /*gzip=*/false);
  absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options);
  allocate_in_atfork_child.store(false);
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.status().message().find(
                absl::StrCat("exited with status ", kAllocationTrapExitCode, " without reporting")),
            std::string::npos)
      << path.status();
  const std::string function = TrapNamesCallers() ? "malloc" : "malloc (sanitizer hook)";
  ExpectTrapped(ReadFile(trap_log_), function, &AtforkChildAllocates);
}

TEST_F(ForkDumpAllocationTrapTest, TwoHundredDumpsOfEveryKindWithMutatorsNeverAllocateInTheChild) {
  Pin();
  StartMutators(3);
  constexpr int kDumps = 200;
  int checked = 0;
  for (int i = 0; i < kDumps; ++i) {
    const bool live = i % 2 == 0;
    const bool gzip = (i / 2) % 2 == 1;
    SCOPED_TRACE(absl::StrCat("dump ", i, live ? " live" : " full", gzip ? " gzip" : " plain"));
    HeapDumpOptions options =
        ForkOptions(absl::StrCat("dump-", i, gzip ? ".hprof.gz" : ".hprof"), live, gzip);
    NextRound();  // the mutators run while the world stops, forks and resumes
    HeapDumpStats stats;
    absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options, &stats);
    ASSERT_TRUE(path.ok()) << path.status() << "\ntrap log: " << ReadFile(trap_log_);
    struct stat st;
    ASSERT_EQ(stat(path->c_str(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), stats.bytes);
    EXPECT_GT(stats.objects, uint64_t{kPinned});
    // Every 24th dump (live, plain) is read back: the pinned objects, their
    // weak references and their registrations' cleaners are all there.
    if (i % 24 == 0) {
      absl::StatusOr<std::unique_ptr<HprofSnapshot>> snapshot = HprofSnapshot::Load(*path);
      ASSERT_TRUE(snapshot.ok()) << snapshot.status();
      EXPECT_EQ((*snapshot)->InstancesOf("test.Pinned").size(), size_t{kPinned});
      EXPECT_GE((*snapshot)->InstancesOf("java.lang.ref.WeakReference").size(), size_t{kPinned});
      EXPECT_GE((*snapshot)->InstancesOf("sun.misc.Cleaner").size(), size_t{kPinned});
      ++checked;
    }
    unlink(path->c_str());
  }
  StopMutators();
  EXPECT_EQ(checked, (kDumps + 23) / 24);
  EXPECT_EQ(ReadFile(trap_log_), "");
}

TEST_F(ForkDumpAllocationTrapTest, AFullDiskFailsInTheChildWithoutAllocating) {
  // /dev/full: every write fails with ENOSPC. The parent's writes fail, the
  // child sees it at its next hand-over and reports with a code alone.
  Pin();
  for (bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "gzip" : "plain");
    const int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    FdSink file(fd, "/dev/full");
    std::unique_ptr<GzipSink> gzip_sink;
    if (gzip) gzip_sink = std::make_unique<GzipSink>(&file, 1);
    HprofWriter writer(gzip ? static_cast<ByteSink*>(gzip_sink.get()) : &file);
    absl::StatusOr<ForkDumpChild> child = absl::InternalError("not started");
    ASSERT_TRUE(runtime_
                    ->RunAtSafepoint("fork dump to /dev/full",
                                     [&](StoppedWorld& world) {
                                       HeapDumper dumper(world, /*live=*/false, writer);
                                       ASSERT_TRUE(dumper.WritePrologue().ok());
                                       child = StartForkDumpChild(dumper, gzip_sink.get(), file);
                                     })
                    .ok());
    ASSERT_TRUE(child.ok()) << child.status();
    const absl::Status status = WaitForForkDumpChild(*child, file, nullptr);
    close(fd);
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
    EXPECT_NE(status.message().find("writing /dev/full at byte 0: No space left on device"),
              std::string::npos)
        << status;
  }
  EXPECT_EQ(ReadFile(trap_log_), "");
}

TEST_F(ForkDumpAllocationTrapTest, AChildStoppedAndKilledMidwayNeverAllocates) {
  Pin();
  StartMutators(2);
  for (int i = 0; i < 4; ++i) {
    HeapDumpOptions options = ForkOptions(absl::StrCat("killed-", i), i % 2 == 0, i >= 2);
    options.fork_child_stop_after_objects = 20;
    NextRound();
    bool stopped = false;
    options.on_fork_child = [&](pid_t child) {
      int status = 0;
      stopped = waitpid(child, &status, WUNTRACED) == child && WIFSTOPPED(status);
      kill(child, SIGKILL);
    };
    absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options);
    EXPECT_TRUE(stopped);
    ASSERT_FALSE(path.ok());
    EXPECT_NE(path.status().message().find("killed by signal 9"), std::string::npos)
        << path.status();
  }
  StopMutators();
  EXPECT_EQ(ReadFile(trap_log_), "");
}

// Not a fixture test: it forks a host process, which must be single-threaded
// when it starts (no runtime of the test's yet).
TEST(ForkDumpAllocationTrapHostTest, AChildWhoseParentIsKilledDiesWithoutAllocating) {
  const std::string dir = MakeTempDir("alloc-trap-host");
  const std::string trap_log = dir + "/trap.log";
  const int trap_fd = open(trap_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  ASSERT_GE(trap_fd, 0);
  // Orphans come to this process, which can then wait for the dump's child.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t host = fork();
  ASSERT_GE(host, 0);
  if (host == 0) {
    // The host: arms the trap for its own children, builds a heap whose dump
    // does not fit the ring (the child must wait for the parent), dumps in
    // fork mode and dies by SIGKILL as soon as the child runs.
    ArmForkChildAllocationTrap(trap_fd);
    close(fds[0]);
    RuntimeOptions options;
    options.heap_limit_bytes = 64 << 20;
    options.classes.push_back({.name = "test.Host", .methods = {{"main", "()V"}}});
    std::unique_ptr<Runtime> runtime = *Runtime::Create(std::move(options));
    Resolver resolver(*runtime);
    const Method* main = resolver.Method(resolver.Class("test.Host"), "main", "()V");
    if (!resolver.status().ok()) _exit(3);
    ThreadScope scope(*runtime, "main");
    Frame frame(scope, main);
    Local<ObjectArray> keep = *ObjectArray::New(frame, runtime->classes().object_class(), 256);
    for (uint32_t i = 0; i < 256; ++i) keep->Set(i, IntArray::New(frame, 16 << 10)->get());
    HeapDumpOptions dump;
    dump.path = dir + "/orphan.hprof";
    dump.mode = DumpMode::kFork;
    dump.on_fork_child = [&](pid_t child) {
      const ssize_t written = write(fds[1], &child, sizeof(child));
      (void)written;
      kill(getpid(), SIGKILL);
    };
    (void)VMRuntime::DumpHeap(*runtime, dump);
    _exit(1);  // not reached
  }
  close(fds[1]);
  pid_t child = -1;
  ASSERT_EQ(read(fds[0], &child, sizeof(child)), static_cast<ssize_t>(sizeof(child)));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(host, &status, 0), host);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  // The child, orphaned, was killed with its parent (PR_SET_PDEATHSIG), or,
  // when the parent died before the child's prctl, saw getppid() change and
  // left with exit status 2 (FORK_MODE.md). Which one is the scheduler's
  // choice; both are a child that dies without allocating.
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
              (WIFEXITED(status) && WEXITSTATUS(status) == 2))
      << status;
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  close(trap_fd);
  EXPECT_EQ(ReadFile(trap_log), "");
}

}  // namespace
}  // namespace kiln
