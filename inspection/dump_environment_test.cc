// The dump's environment (dump_environment.h) read back the way VisualVM's
// HprofProxy.getProperties reads it: java.lang.System.props -> Properties.table
// -> Hashtable$Entry key/value/next chains -> Strings, in every kind of dump
// (live and full, stop-the-world and fork, plain and gzip), with the values
// this process has.
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "inspection/internal/dump_environment.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/vm_runtime.h"
#include "tests/subprocess.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

std::string TempDir() {
  const char* env = std::getenv("TEST_TMPDIR");
  return env != nullptr ? env : "/tmp";
}

// Properties reads System.props as VisualVM does, failing the test on any
// shape it would not accept.
std::map<std::string, std::string> Properties(const HprofSnapshot& dump) {
  std::map<std::string, std::string> props;
  const HprofSnapshot::Class* system = dump.FindClass("java.lang.System");
  EXPECT_NE(system, nullptr);
  if (system == nullptr) return props;
  uint64_t props_id = 0;
  for (const HprofStaticInfo& field : system->statics) {
    if (dump.StringById(field.name_id) == "props") props_id = field.value;
  }
  EXPECT_NE(props_id, 0u);
  auto fields = dump.Fields(props_id);
  EXPECT_TRUE(fields.ok()) << fields.status();
  if (!fields.ok()) return props;
  EXPECT_EQ(dump.ClassById(dump.instances().at(props_id).class_id)->name, "java.util.Properties");
  EXPECT_EQ(fields->at("defaults").bits, 0u);
  const uint64_t table_id = fields->at("table").bits;
  EXPECT_TRUE(dump.object_arrays().contains(table_id));
  if (!dump.object_arrays().contains(table_id)) return props;
  const HprofSnapshot::ObjectArray& table = dump.object_arrays().at(table_id);
  EXPECT_EQ(dump.ClassById(table.class_id)->name, "[Ljava.util.Hashtable$Entry;");
  size_t entries = 0;
  for (uint64_t entry : table.elements) {
    for (int depth = 0; entry != 0 && depth < 1000; ++depth, ++entries) {
      auto e = dump.Fields(entry);
      EXPECT_TRUE(e.ok()) << e.status();
      if (!e.ok()) return props;
      auto key = dump.StringValue(e->at("key").bits);
      auto value = dump.StringValue(e->at("value").bits);
      EXPECT_TRUE(key.ok() && value.ok());
      if (key.ok() && value.ok()) props[*key] = *value;
      entry = e->at("next").bits;
    }
  }
  EXPECT_EQ(fields->at("count").bits, entries);
  return props;
}


class DumpEnvironmentTest : public ::testing::Test {
 protected:
  DumpEnvironmentTest() {
    RuntimeOptions options;
    options.heap_limit_bytes = 32 << 20;
    runtime_ = *Runtime::Create(std::move(options));
  }

  std::unique_ptr<HprofSnapshot> Dump(HeapDumpOptions options) {
    absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options);
    EXPECT_TRUE(path.ok()) << path.status();
    if (!path.ok()) return nullptr;
    auto snapshot = HprofSnapshot::Load(*path);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    if (!snapshot.ok()) return nullptr;
    absl::Status references = (*snapshot)->CheckReferences();
    EXPECT_TRUE(references.ok()) << references;
    return *std::move(snapshot);
  }

  std::unique_ptr<Runtime> runtime_;
};

TEST_F(DumpEnvironmentTest, EveryKindOfDumpCarriesTheProcesssProperties) {
  struct utsname uts;
  ASSERT_EQ(uname(&uts), 0);
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  ASSERT_GT(n, 0);
  const std::string exe_path(exe, static_cast<size_t>(n));
  int k = 0;
  for (bool live : {true, false}) {
    for (DumpMode mode : {DumpMode::kStopTheWorld, DumpMode::kFork}) {
      for (int gzip : {0, 6}) {
        SCOPED_TRACE(absl::StrCat("live=", live, " fork=", mode == DumpMode::kFork, " gzip=", gzip));
        HeapDumpOptions options;
        options.path = absl::StrCat(TempDir(), "/env-", getpid(), "-", k++, ".hprof");
        options.live = live;
        options.mode = mode;
        options.gzip_level = gzip;
        options.extra_properties = {{"app.build", "r42"}, {"java.vm.vendor", "Kiln \xE2\x82\xAC"}};
        std::unique_ptr<HprofSnapshot> dump = Dump(options);
        ASSERT_NE(dump, nullptr);
        std::map<std::string, std::string> props = Properties(*dump);
        EXPECT_EQ(props["java.vm.name"], "Kiln");
        EXPECT_EQ(props["java.vm.version"], kKilnVersion);
        EXPECT_EQ(props["java.version"], kKilnVersion);
        EXPECT_EQ(props["java.vm.vendor"], "Kiln \xE2\x82\xAC");  // replaced, UTF-16 coded
        EXPECT_EQ(props["app.build"], "r42");
        EXPECT_EQ(props["os.name"], uts.sysname);
        EXPECT_EQ(props["os.version"], uts.release);
        EXPECT_EQ(props["os.arch"], std::string(uts.machine) == "x86_64" ? "amd64" : uts.machine);
        EXPECT_EQ(props["user.dir"], cwd);
        EXPECT_FALSE(props["user.name"].empty());
        EXPECT_EQ(props["java.home"], exe_path.substr(0, exe_path.rfind('/')));
        EXPECT_EQ(props["sun.java.command"], testing::CommandLineOf(getpid()));
        EXPECT_EQ(props["kiln.pid"], absl::StrCat(getpid()));
        EXPECT_FALSE(props["kiln.hostname"].empty());
        EXPECT_EQ(props["kiln.dump.trigger"], "api");
        EXPECT_EQ(props["kiln.dump.live"], live ? "true" : "false");
        EXPECT_EQ(props["kiln.heap.limit_bytes"], absl::StrCat(32 << 20));
        EXPECT_EQ(props["kiln.native.registered_bytes"], "0");
        uint64_t committed = 0, rss = 0, anonymous = 0, file = 0;
        EXPECT_TRUE(absl::SimpleAtoi(props["kiln.heap.committed_bytes"], &committed));
        EXPECT_TRUE(absl::SimpleAtoi(props["kiln.memory.rss_bytes"], &rss));
        EXPECT_TRUE(absl::SimpleAtoi(props["kiln.memory.anonymous_bytes"], &anonymous));
        EXPECT_TRUE(absl::SimpleAtoi(props["kiln.memory.file_bytes"], &file));
        EXPECT_GT(committed, 0u);
        EXPECT_GT(anonymous, 0u);
        EXPECT_EQ(rss, anonymous + file);
        // The kernel's counters (statm) agree with its page-table walk
        // (smaps_rollup, read here after the dump) to within what the test
        // itself touched meanwhile.
        std::ifstream rollup("/proc/self/smaps_rollup");
        uint64_t rollup_rss = 0;
        for (std::string line; std::getline(rollup, line);) {
          if (line.rfind("Rss:", 0) == 0) rollup_rss = std::stoull(line.substr(4)) * 1024;
        }
        ASSERT_GT(rollup_rss, 0u);
        EXPECT_GT(rss, rollup_rss / 2);
        EXPECT_LT(rss, rollup_rss * 2);

        // jhat's readers look for java.lang.ClassLoader; VisualVM decodes
        // UTF-16 strings with StringUTF16's shifts (Kiln's: little-endian).
        const HprofSnapshot::Class* loader = dump->FindClass("java.lang.ClassLoader");
        ASSERT_NE(loader, nullptr);
        EXPECT_TRUE(loader->dumped);
        const HprofSnapshot::Class* utf16 = dump->FindClass("java.lang.StringUTF16");
        ASSERT_NE(utf16, nullptr);
        std::map<std::string, uint64_t> shifts;
        for (const HprofStaticInfo& field : utf16->statics) {
          shifts[dump->StringById(field.name_id)] = field.value;
        }
        EXPECT_EQ(shifts["HI_BYTE_SHIFT"], 0u);
        EXPECT_EQ(shifts["LO_BYTE_SHIFT"], 8u);
        // Synthetic ids are odd: never a real object's (8-aligned) address.
        std::set<uint64_t> sticky;
        for (const HprofSnapshot::Root& root : dump->roots()) {
          if (root.tag == hprof::kRootStickyClass) sticky.insert(root.id);
        }
        EXPECT_EQ(loader->id % 8, 1u);
        EXPECT_TRUE(sticky.contains(loader->id));
      }
    }
  }
}

TEST_F(DumpEnvironmentTest, OutOfMemoryAndSignalDumpsSayWhatTriggeredThem) {
  // The OOM hook's trigger; signals are tested end to end in tests/.
  RuntimeOptions options;
  options.heap_limit_bytes = 8 << 20;
  HeapDumpOptions dump;
  dump.path = absl::StrCat(TempDir(), "/oom-", getpid(), ".hprof");
  options.on_out_of_memory = VMRuntime::HeapDumpOnOutOfMemory(dump);
  auto runtime = *Runtime::Create(std::move(options));
  {
    ThreadScope scope(*runtime, "main");
    Frame frame(scope);  // the host method, java.lang.Thread.run()V
    absl::Status failure;
    for (int i = 0; i < 10000 && failure.ok(); ++i) {
      failure = LongArray::New(frame, 10000).status();  // each stays in a frame slot
    }
    ASSERT_EQ(failure.code(), absl::StatusCode::kResourceExhausted);
  }
  auto snapshot = HprofSnapshot::Load(dump.path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(Properties(**snapshot)["kiln.dump.trigger"], "out_of_memory");
}

}  // namespace
}  // namespace kiln
