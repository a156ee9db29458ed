// Interoperability: Kiln's dumps, plain and gzip-decompressed, opened by
// VisualVM's heap library (Debian's visualvm package) through a small Java
// harness (visualvm/HeapCheck.java, compiled here with the machine's JDK).
// The harness's view must match the heap this test built: instance counts,
// sizes, a string's value, the GC roots (a held monitor's among them), each thread's stack, and the
// process's environment through HprofHeap.getSystemProperties() (what the
// GUI's Environment rows and System Properties show).
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/notification.h"
#include "gtest/gtest.h"
#include "inspection/internal/dump_environment.h"
#include "inspection/vm_runtime.h"
#include "tests/subprocess.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

constexpr char kHeapJar[] =
    "/usr/share/visualvm/visualvm/modules/org-graalvm-visualvm-lib-jfluid-heap.jar";


class VisualVmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("visualvm");
    const std::string source = testing::RunfilePath("tests/visualvm/HeapCheck.java");
    const testing::ToolResult javac =
        testing::RunCommand({"javac", "-cp", kHeapJar, "-d", dir_, source});
    ASSERT_EQ(javac.exit_code, 0) << "javac failed (is the visualvm package installed?):\n"
                                  << javac.out << javac.err;
  }

  std::string Check(const std::string& dump, std::vector<std::string> args = {
                                                 "test.Holder", "greeting", "test.Holder",
                                                 "java.lang.Object", "java.lang.Thread",
                                                 "java.lang.String", "int[]"}) {
    args.insert(args.begin(), {"java", "-cp", absl::StrCat(kHeapJar, ":", dir_), "HeapCheck", dump});
    const testing::ToolResult check = testing::RunCommand(args);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    return check.out;
  }

  std::string dir_;
};

TEST_F(VisualVmTest, OpensKilnDumpsAndSeesWhatWasBuilt) {
  RuntimeOptions options;
  options.classes.push_back({.name = "test.Holder",
                             .source_file = "Holder.cc",
                             .fields = {{"next", FieldType::kObject}, {"n", FieldType::kInt}},
                             .static_fields = {{"greeting", FieldType::kObject}},
                             .methods = {{"main", "()V"}, {"park", "()V"}}});
  const int64_t before_ms = absl::ToUnixMillis(absl::Now());
  auto runtime = *Runtime::Create(options);
  Resolver resolver(*runtime);
  const Class* holder = resolver.Class("test.Holder");
  const FieldRef<Object*> next = resolver.Field<Object*>(holder, "next");
  const FieldRef<int32_t> n = resolver.Field<int32_t>(holder, "n");
  const StaticFieldRef<String*> greeting_field = resolver.StaticField<String*>(holder, "greeting");
  const Method* main_method = resolver.Method(holder, "main", "()V");
  const Method* park_method = resolver.Method(holder, "park", "()V");
  ASSERT_TRUE(resolver.status().ok()) << resolver.status();
  std::atomic<int> parked{0};
  Notification release;
  std::thread sleeper([&] {
    ThreadScope scope(*runtime, "sleeper");
    Frame main(scope, main_method);
    main.set_line(10);
    Frame park(scope, park_method);
    park.set_line(20);
    ScopedNative native(scope, ThreadStatus::kSleeping);
    parked.fetch_add(1);
    release.WaitForNotification();
  });
  while (parked.load() < 1) std::this_thread::yield();
  {
    ThreadScope scope(*runtime, "main");
    Frame frame(scope, main_method);
    frame.set_line(5);
    Local<Object> list = frame.NewLocal<Object>(nullptr);
    for (int i = 0; i < 5; ++i) {
      Local<Object> h = *Object::New(frame, holder);
      h->Set(next, list.get());
      h->Set(n, i);
      list.Set(h.get());
    }
    Local<String> greeting = *String::New(frame, "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC");  // UTF-16
    greeting_field.Set(greeting.get());
    ASSERT_TRUE(IntArray::New(frame, 3).ok());
    Synchronized lock(frame, list);  // a ROOT_MONITOR_USED root
    ASSERT_TRUE(VMRuntime::DumpHeap(*runtime, dir_ + "/plain.hprof", /*live=*/true).ok());
    HeapDumpOptions gz;
    gz.path = dir_ + "/compressed.hprof.gz";
    gz.gzip_level = 6;
    gz.mode = DumpMode::kFork;
    gz.extra_properties = {{"app.greeting", "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC"}};
    ASSERT_TRUE(VMRuntime::DumpHeap(*runtime, gz).ok());
  }
  const int64_t after_ms = absl::ToUnixMillis(absl::Now());
  release.Notify();
  sleeper.join();
  // gzip -dk leaves compressed.hprof beside the .gz.
  ASSERT_EQ(testing::RunCommand({"gzip", "-dk", dir_ + "/compressed.hprof.gz"}).exit_code, 0);

  for (const char* file : {"plain.hprof", "compressed.hprof"}) {
    SCOPED_TRACE(file);
    const std::string out = Check(absl::StrCat(dir_, "/", file));
    EXPECT_TRUE(absl::StrContains(out, "count test.Holder 5\n")) << out;
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("size test.Holder ", holder->instance_size,
                                                    "\n")))
        << out;
    EXPECT_TRUE(absl::StrContains(out, "size java.lang.Object 16\n")) << out;
    EXPECT_TRUE(absl::StrContains(out, "count java.lang.Thread 2\n")) << out;
    EXPECT_TRUE(absl::StrContains(out, "count int[] 1\n")) << out;
    // 2 thread names and the greeting, and a key and a value per property.
    int properties = -1;
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      if (absl::ConsumePrefix(&line, "properties ")) {
        ASSERT_TRUE(absl::SimpleAtoi(line, &properties));
      }
    }
    ASSERT_GT(properties, 20) << out;
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("count java.lang.String ", 3 + 2 * properties,
                                                    "\n")))
        << out;
    EXPECT_TRUE(absl::StrContains(out, "property java.vm.name=Kiln\n")) << out;
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("property kiln.pid=", getpid(), "\n"))) << out;
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("property sun.java.command=",
                                                    testing::CommandLineOf(getpid()), "\n")))
        << out;
    EXPECT_TRUE(absl::StrContains(out, "property kiln.dump.trigger=api\n")) << out;
    EXPECT_TRUE(absl::StrContains(out, "property java.vm.version=" + std::string(kKilnVersion)))
        << out;
    for (const char* key : {"java.vm.vendor", "java.version", "os.name", "os.arch", "os.version",
                            "user.dir", "user.name", "java.home", "kiln.hostname",
                            "kiln.heap.limit_bytes", "kiln.heap.committed_bytes",
                            "kiln.native.registered_bytes", "kiln.memory.rss_bytes",
                            "kiln.memory.anonymous_bytes", "kiln.memory.file_bytes"}) {
      EXPECT_TRUE(absl::StrContains(out, absl::StrCat("property ", key, "="))) << key << out;
    }
    if (std::string(file) == "compressed.hprof") {  // UTF-16 through StringUTF16's shifts
      EXPECT_TRUE(absl::StrContains(out, "property app.greeting=gr\\u00fc\\u00df \\u20ac\n"))
          << out;
    }
    EXPECT_TRUE(absl::StrContains(out, "classloaders 0\n")) << out;
    // JVM Uptime: VisualVM finds the runtime's start, before the dump.
    int64_t started = -1, dumped = -1;
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      if (absl::ConsumePrefix(&line, "started ")) {
        const std::vector<absl::string_view> words = absl::StrSplit(line, ' ');
        ASSERT_EQ(words.size(), 3u) << line;
        ASSERT_TRUE(absl::SimpleAtoi(words[0], &started)) << line;
        ASSERT_TRUE(absl::SimpleAtoi(words[2], &dumped)) << line;
      }
    }
    EXPECT_GE(started, before_ms) << out;
    EXPECT_LE(started, dumped) << out;
    EXPECT_LE(dumped, after_ms) << out;
    EXPECT_TRUE(absl::StrContains(out, "string test.Holder.greeting gr\\u00fc\\u00df \\u20ac\n"))
        << out;
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("root sticky class ",
                                                    runtime->classes().size() + kEnvironmentClasses,
                                                    "\n")))
        << out;
    EXPECT_TRUE(absl::StrContains(out, "root thread object 2\n")) << out;
    EXPECT_TRUE(absl::StrContains(out, "root monitor used 1\n")) << out;
    EXPECT_TRUE(absl::StrContains(out, "thread main | test.Holder.main(Holder.cc:5)\n")) << out;
    EXPECT_TRUE(absl::StrContains(
        out, "thread sleeper | test.Holder.park(Holder.cc:20) | test.Holder.main(Holder.cc:10)\n"))
        << out;
  }
}

// Dumps taken through kiln-ctl from a running svm_heap_dump, written on the
// target's side and streamed to the client's, open the same way.
TEST_F(VisualVmTest, OpensDumpsTakenWithKilnCtl) {
  char sockets[] = "/tmp/kiln-visualvm-XXXXXX";  // short: a Unix socket's path
  ASSERT_NE(mkdtemp(sockets), nullptr);
  setenv("TMPDIR", sockets, 1);
  testing::Subprocess svm(
      {testing::SampleBinary("svm_heap_dump"), "--runs=300", "--sleep_ms=100"}, dir_);
  ASSERT_TRUE(svm.WaitForOutput("Thread started, it will run for 300 seconds"));
  const std::string ctl = testing::RunfilePath("inspection/services/kiln-ctl");
  const std::string pid = absl::StrCat(svm.pid());
  const std::string file = dir_ + "/target-side.hprof";
  const std::string streamed = dir_ + "/client-side.hprof";
  EXPECT_EQ(testing::RunCommand({ctl, pid, "GC.heap_dump", file}).exit_code, 0);
  EXPECT_EQ(testing::RunCommand({ctl, "-o", streamed, pid, "GC.heap_dump", "-fork"}).exit_code, 0);
  svm.Signal(SIGKILL);
  svm.Wait();
  unsetenv("TMPDIR");
  unlink(absl::StrCat(sockets, "/.kiln_pid", pid).c_str());  // killed: its socket stays
  rmdir(sockets);
  for (const std::string& dump : {file, streamed}) {
    SCOPED_TRACE(dump);
    const std::string out =
        Check(dump, {"SVMHeapDump", "greeting", "SVMHeapDump", "java.lang.Thread"});
    // main's thread object is a java.lang.Thread, Thread-0's an SVMHeapDump
    // (a Thread subclass, so that main can join it by waiting on it).
    EXPECT_TRUE(absl::StrContains(out, "count java.lang.Thread 1\n")) << out;
    EXPECT_TRUE(absl::StrContains(out, "count SVMHeapDump 1\n")) << out;
    EXPECT_TRUE(absl::StrContains(out, "string SVMHeapDump.greeting ")) << out;
    EXPECT_TRUE(absl::StrContains(out, "Hello Kiln developer!")) << out;
    EXPECT_TRUE(absl::StrContains(out, "thread Thread-0 | SVMHeapDump.run(svm_heap_dump.cc:"))
        << out;
    EXPECT_TRUE(absl::StrContains(
        out, "thread main | java.lang.Object.wait(Native Method) | SVMHeapDump.join(svm_heap_dump.cc:"))
        << out;
  }
}

}  // namespace
}  // namespace kiln
