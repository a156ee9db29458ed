// Heap dump options and faults: default names, never overwriting, gzip,
// pipes, a full disk, and the dump on out of memory.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/internal/dump_environment.h"
#include "inspection/vm_runtime.h"
#include "tests/subprocess.h"
#include "vm/internal/runtime_access.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

RuntimeOptions Options() {
  RuntimeOptions options;
  options.heap_limit_bytes = 32 << 20;
  options.classes.push_back({.name = "t.Main", .methods = {{"main", "()V"}}});
  return options;
}

using testing::ListDir;

// MainMethod: t.Main.main()V, resolved once per runtime.
const Method* MainMethod(const Runtime& runtime) {
  Resolver resolver(runtime);
  const Method* main = resolver.Method(resolver.Class("t.Main"), "main", "()V");
  EXPECT_TRUE(resolver.status().ok()) << resolver.status();
  return main;
}

std::string TempDir() { return testing::MakeTempDir("opts"); }

class HeapDumpOptionsTest : public ::testing::Test {
 protected:
  HeapDumpOptionsTest()
      : runtime_(*Runtime::Create(Options())), main_(MainMethod(*runtime_)), dir_(TempDir()) {}
  std::unique_ptr<Runtime> runtime_;
  const Method* main_;
  std::string dir_;
};

TEST_F(HeapDumpOptionsTest, DirectoryGetsTheDefaultNameAndFilesGetSuffixesNotOverwrites) {
  HeapDumpOptions options;
  options.path = dir_;
  absl::StatusOr<std::string> first = VMRuntime::DumpHeap(*runtime_, options);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::regex pattern(absl::StrCat(dir_, "/svm-heapdump-", getpid(),
                                        "-[0-9]{8}T[0-9]{6}Z\\.hprof"));
  EXPECT_TRUE(std::regex_match(*first, pattern)) << *first;
  EXPECT_TRUE(HprofSnapshot::Load(*first).ok());

  options.path = dir_ + "/fixed.hprof";
  EXPECT_EQ(*VMRuntime::DumpHeap(*runtime_, options), dir_ + "/fixed.hprof");
  EXPECT_EQ(*VMRuntime::DumpHeap(*runtime_, options), dir_ + "/fixed.hprof.1");
  EXPECT_EQ(*VMRuntime::DumpHeap(*runtime_, options), dir_ + "/fixed.hprof.2");
  EXPECT_EQ(VMRuntime::DefaultDumpName(true, absl::Now()),
            absl::StrCat("svm-heapdump-", getpid(), "-OOME.hprof"));
}

TEST_F(HeapDumpOptionsTest, GzipIsHotSpotsBlockFormatAndGunzipsToAValidDump) {
  {
    ThreadScope scope(*runtime_, "main");
    Frame frame(scope, main_);
    Local<ByteArray> big = *ByteArray::New(frame, 3 << 20);  // several 1 MiB blocks
    for (uint32_t i = 0; i < big->length(); ++i) big->Set(i, static_cast<int8_t>(i * 7));
    HeapDumpOptions options;
    options.path = dir_ + "/dump.hprof.gz";
    options.gzip_level = 1;
    options.live = true;
    ASSERT_TRUE(VMRuntime::DumpHeap(*runtime_, options).ok());
  }
  std::ifstream in(dir_ + "/dump.hprof.gz", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 20u);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 0x1f);
  EXPECT_EQ(static_cast<uint8_t>(bytes[1]), 0x8b);
  EXPECT_TRUE(bytes[3] & 0x10) << "no FCOMMENT flag";
  EXPECT_EQ(std::string(bytes.c_str() + 10), "HPROF BLOCKSIZE=1048576");
  // gzip -dk leaves dump.hprof beside the .gz.
  ASSERT_EQ(testing::RunCommand({"gzip", "-dk", dir_ + "/dump.hprof.gz"}).exit_code, 0);
  auto snapshot = HprofSnapshot::Load(dir_ + "/dump.hprof");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE((*snapshot)->CheckReferences().ok());
  bool found = false;
  for (const auto& [id, array] : (*snapshot)->primitive_arrays()) {
    if (array.length == (3u << 20)) found = array.elements[1000] == static_cast<uint8_t>(7000);
  }
  EXPECT_TRUE(found);
}

TEST_F(HeapDumpOptionsTest, StreamsIntoAPipe) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::vector<uint8_t> received;
  std::thread reader([&] {
    uint8_t buffer[65536];
    ssize_t n;
    while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) {
      received.insert(received.end(), buffer, buffer + n);
    }
  });
  FdSink sink(fds[1], "pipe");
  HeapDumpStats stats;
  EXPECT_TRUE(VMRuntime::DumpHeapTo(*runtime_, sink, HeapDumpOptions(), &stats).ok());
  close(fds[1]);
  reader.join();
  close(fds[0]);
  EXPECT_EQ(received.size(), stats.bytes);
  auto snapshot = HprofSnapshot::FromBytes(std::move(received));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->classes().size(), runtime_->classes().size() + kEnvironmentClasses);
}

// A dump reserves its file's blocks ahead of its bytes (FdSink::
// set_preallocate, 64 MiB at a time): what the file holds once committed is
// its bytes, in both modes, plain and compressed, and no reserve past them.
TEST_F(HeapDumpOptionsTest, ACommittedDumpHoldsNoBlocksPastItsEnd) {
  ThreadScope scope(*runtime_, "main");
  Frame frame(scope, main_);
  Local<ByteArray> big = *ByteArray::New(frame, 3 << 20);
  for (uint32_t i = 0; i < big->length(); ++i) big->Set(i, static_cast<int8_t>(i * 13));
  int k = 0;
  for (DumpMode mode : {DumpMode::kStopTheWorld, DumpMode::kFork}) {
    for (int level : {0, 1}) {
      HeapDumpOptions options;
      options.mode = mode;
      options.gzip_level = level;
      options.path = absl::StrCat(dir_, "/trimmed-", k++, level > 0 ? ".hprof.gz" : ".hprof");
      absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options);
      ASSERT_TRUE(path.ok()) << path.status();
      struct stat st;
      ASSERT_EQ(stat(path->c_str(), &st), 0);
      const uint64_t allocated = static_cast<uint64_t>(st.st_blocks) * 512;
      EXPECT_GT(st.st_size, level > 0 ? 1000 : 3 << 20) << *path;
      EXPECT_LE(allocated, static_cast<uint64_t>(st.st_size) + (1 << 20)) << *path;
      if (level == 0) {
        auto snapshot = HprofSnapshot::Load(*path);
        ASSERT_TRUE(snapshot.ok()) << snapshot.status();
        EXPECT_TRUE((*snapshot)->CheckReferences().ok()) << *path;
      }
    }
  }
}

// Both modes: stop-the-world writes through a PipelinedSink's thread, fork
// mode through the parent's waiting thread; either's failed write must come
// back as the dump's error.
TEST_F(HeapDumpOptionsTest, AFullDiskFailsCleanlyAndTheNextDumpWorks) {
  {
    ThreadScope scope(*runtime_, "main");
    Frame frame(scope, main_);
    // More than the writers' buffers, and noise, so that it stays larger
    // than the limit below when compressed too.
    Local<ByteArray> noise = *ByteArray::New(frame, 3 << 20);
    uint64_t x = 88172645463325252ull;
    for (uint32_t i = 0; i < noise->length(); ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      noise->elements()[i] = static_cast<int8_t>(x);
    }
  }
  for (int gzip : {0, 1}) {
    for (DumpMode mode : {DumpMode::kStopTheWorld, DumpMode::kFork}) {
      SCOPED_TRACE(absl::StrCat(mode == DumpMode::kFork ? "fork" : "stw", " gzip=", gzip));
      HeapDumpOptions options;
      options.path = dir_ + (gzip ? "/full.hprof.gz" : "/full.hprof");
      options.live = false;
      options.mode = mode;
      options.gzip_level = gzip;
      // RLIMIT_FSIZE stands for a disk that fills up midway: writes past it
      // fail with EFBIG (SIGXFSZ ignored).
      signal(SIGXFSZ, SIG_IGN);
      struct rlimit saved;
      getrlimit(RLIMIT_FSIZE, &saved);
      struct rlimit small = saved;
      small.rlim_cur = 256 << 10;
      ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
      absl::StatusOr<std::string> failed = VMRuntime::DumpHeap(*runtime_, options);
      setrlimit(RLIMIT_FSIZE, &saved);
      ASSERT_FALSE(failed.ok());
      EXPECT_NE(failed.status().message().find("File too large"), std::string::npos)
          << failed.status();
      EXPECT_NE(failed.status().message().find("writing"), std::string::npos) << failed.status();
      EXPECT_TRUE(ListDir(dir_).empty()) << "a failed dump left a file behind";
      // The runtime runs on, and the next dump works.
      absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options);
      ASSERT_TRUE(path.ok()) << path.status();
      EXPECT_EQ(ListDir(dir_), std::vector<std::string>{gzip ? "full.hprof.gz" : "full.hprof"});
      auto snapshot = HprofSnapshot::Load(*path);
      ASSERT_TRUE(snapshot.ok()) << snapshot.status();
      unlink(path->c_str());
    }
  }
}

// A compressor worker that fails midway (the 2nd block's): the dump fails
// with its error, in both modes, leaves no file, and the next dump works.
TEST_F(HeapDumpOptionsTest, AFailingCompressorFailsTheDumpCleanlyAndTheNextDumpWorks) {
  {
    ThreadScope scope(*runtime_, "main");
    Frame frame(scope, main_);
    ASSERT_TRUE(ByteArray::New(frame, 3 << 20).ok());  // a few blocks' worth
  }
  for (DumpMode mode : {DumpMode::kStopTheWorld, DumpMode::kFork}) {
    SCOPED_TRACE(mode == DumpMode::kFork ? "fork" : "stw");
    HeapDumpOptions options;
    options.path = dir_ + "/failing.hprof.gz";
    options.live = false;
    options.mode = mode;
    options.gzip_level = 1;
    options.gzip_fail_block = 2;
    absl::StatusOr<std::string> failed = VMRuntime::DumpHeap(*runtime_, options);
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.status().message().find("block 2"), std::string::npos) << failed.status();
    EXPECT_TRUE(ListDir(dir_).empty()) << "a failed dump left a file behind";
    options.gzip_fail_block = 0;
    absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options);
    ASSERT_TRUE(path.ok()) << path.status();
    auto snapshot = HprofSnapshot::Load(*path);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    unlink(path->c_str());
  }
}

TEST_F(HeapDumpOptionsTest, ASinkThatFailsAfterNBytesGivesItsErrorAndTheNextDumpWorks) {
  for (uint64_t limit : {uint64_t{0}, uint64_t{100}, uint64_t{5000}}) {
    MemorySink failing(limit);
    absl::Status status = VMRuntime::DumpHeapTo(*runtime_, failing, HeapDumpOptions());
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << limit;
    EXPECT_NE(status.message().find(absl::StrCat("limit of ", limit, " bytes")),
              std::string::npos)
        << status;
  }
  MemorySink fine;
  ASSERT_TRUE(VMRuntime::DumpHeapTo(*runtime_, fine, HeapDumpOptions()).ok());
  EXPECT_TRUE(HprofSnapshot::FromBytes(fine.data()).ok());
}

// A live dump whose mark stack cannot be mapped fails in its prologue: a
// Status naming the step, no file left, and the next dump works; in both
// modes (fork mode fails before forking).
TEST_F(HeapDumpOptionsTest, APrologueThatCannotMapItsMarkStackFailsCleanlyInBothModes) {
  for (DumpMode mode : {DumpMode::kStopTheWorld, DumpMode::kFork}) {
    SCOPED_TRACE(mode == DumpMode::kFork ? "fork" : "stw");
    const std::string dir = testing::MakeTempDir("prologue");
    HeapDumpOptions options;
    options.path = dir + "/live.hprof";
    options.live = true;
    options.mode = mode;
    internal::HeapOf(*runtime_).FailNextMarkStackMappingForTesting();
    absl::StatusOr<std::string> failed = VMRuntime::DumpHeap(*runtime_, options);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_NE(failed.status().message().find("heap dump prologue: heap marking: mapping a mark "
                                             "stack"),
              absl::string_view::npos)
        << failed.status();
    EXPECT_TRUE(ListDir(dir).empty()) << "a failed dump left files behind";

    absl::StatusOr<std::string> next = VMRuntime::DumpHeap(*runtime_, options);
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(*next, options.path);
    absl::StatusOr<std::unique_ptr<HprofSnapshot>> snapshot = HprofSnapshot::Load(*next);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_TRUE((*snapshot)->CheckReferences().ok());
  }
}

TEST(HeapDumpOnOutOfMemoryTest, DumpsOnceThenTheAllocationStillFails) {
  const std::string dir = TempDir();
  RuntimeOptions options = Options();
  options.heap_limit_bytes = 8 << 20;
  HeapDumpOptions dump;
  dump.path = dir;
  options.on_out_of_memory = VMRuntime::HeapDumpOnOutOfMemory(dump);
  auto runtime = *Runtime::Create(options);
  ThreadScope scope(*runtime, "main");
  Frame frame(scope, MainMethod(*runtime));
  absl::Status failure;
  for (int i = 0; i < 10000 && failure.ok(); ++i) {
    failure = LongArray::New(frame, 10000).status();
  }
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(LongArray::New(frame, 10000).status().code(), absl::StatusCode::kResourceExhausted);
  const std::string path = absl::StrCat(dir, "/svm-heapdump-", getpid(), "-OOME.hprof");
  EXPECT_EQ(ListDir(dir), std::vector<std::string>{absl::StrCat("svm-heapdump-", getpid(),
                                                           "-OOME.hprof")});
  auto snapshot = HprofSnapshot::Load(path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE((*snapshot)->CheckReferences().ok());
  size_t arrays = 0;
  for (const auto& [id, array] : (*snapshot)->primitive_arrays()) arrays += array.length == 10000;
  EXPECT_GT(arrays, 90u);  // the arrays that filled the heap
}

}  // namespace
}  // namespace kiln
