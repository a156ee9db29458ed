// Interoperability: Kiln's dumps, plain and gzip-decompressed, opened by
// VisualVM's heap library (Debian's visualvm package) through a small Java
// harness (visualvm/HeapCheck.java, compiled here with the machine's JDK).
// The harness's view must match the heap this test built: instance counts,
// sizes, a string's value, the GC roots (a held monitor's among them), and
// each thread's stack.
#include <atomic>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/notification.h"
#include "gtest/gtest.h"
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

  std::string Check(const std::string& dump) {
    const testing::ToolResult check = testing::RunCommand(
        {"java", "-cp", absl::StrCat(kHeapJar, ":", dir_), "HeapCheck", dump, "test.Holder",
         "greeting", "test.Holder", "java.lang.Object", "java.lang.Thread", "java.lang.String",
         "int[]"});
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
  auto runtime = *Runtime::Create(options);
  const Class* holder = runtime->FindClass("test.Holder");
  std::atomic<int> parked{0};
  Notification release;
  std::thread sleeper([&] {
    ThreadScope scope(*runtime, "sleeper");
    Frame main(scope, *runtime->FindMethod("test.Holder", "main", "()V"));
    main.set_line(10);
    Frame park(scope, *runtime->FindMethod("test.Holder", "park", "()V"));
    park.set_line(20);
    ScopedNative native(scope, ThreadStatus::kSleeping);
    parked.fetch_add(1);
    release.WaitForNotification();
  });
  while (parked.load() < 1) std::this_thread::yield();
  {
    ThreadScope scope(*runtime, "main");
    Frame frame(scope, *runtime->FindMethod("test.Holder", "main", "()V"));
    frame.set_line(5);
    Local<Object> list = frame.NewLocal<Object>(nullptr);
    for (int i = 0; i < 5; ++i) {
      Local<Object> h = *Object::New(frame, holder);
      h->SetRef(*holder->FindField("next"), list.get());
      h->Set<int32_t>(*holder->FindField("n"), i);
      list.Set(h.get());
    }
    Local<String> greeting = *String::New(frame, "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC");  // UTF-16
    holder->SetStaticRef(*holder->FindStaticField("greeting"), greeting.get());
    ASSERT_TRUE(IntArray::New(frame, 3).ok());
    Synchronized lock(frame, list);  // a ROOT_MONITOR_USED root
    ASSERT_TRUE(VMRuntime::DumpHeap(*runtime, dir_ + "/plain.hprof", /*live=*/true).ok());
    HeapDumpOptions gz;
    gz.path = dir_ + "/compressed.hprof.gz";
    gz.gzip_level = 6;
    ASSERT_TRUE(VMRuntime::DumpHeap(*runtime, gz).ok());
  }
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
    EXPECT_TRUE(absl::StrContains(out, "count java.lang.String 3\n")) << out;  // 2 names
    EXPECT_TRUE(absl::StrContains(out, "string test.Holder.greeting gr\\u00fc\\u00df \\u20ac\n"))
        << out;
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("root sticky class ",
                                                    runtime->classes().size(), "\n")))
        << out;
    EXPECT_TRUE(absl::StrContains(out, "root thread object 2\n")) << out;
    EXPECT_TRUE(absl::StrContains(out, "root monitor used 1\n")) << out;
    EXPECT_TRUE(absl::StrContains(out, "thread main | test.Holder.main(Holder.cc:5)\n")) << out;
    EXPECT_TRUE(absl::StrContains(
        out, "thread sleeper | test.Holder.park(Holder.cc:20) | test.Holder.main(Holder.cc:10)\n"))
        << out;
  }
}

}  // namespace
}  // namespace kiln
