// End to end: the SVMHeapDump ports run as processes, checked from outside,
// as a Native Image user would: signals from "another terminal", dump files in the
// working directory, the API sample's output.
#include <signal.h>
#include <sys/stat.h>

#include <map>
#include <regex>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "inspection/hprof/hprof_format.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "tests/subprocess.h"

namespace kiln {
namespace {

using testing::ListDir;
using testing::MakeTempDir;
using testing::SampleBinary;
using testing::Subprocess;

// Enough time for signals to arrive while the sample runs, even under
// sanitizers; the sample ends by itself after runs * sleep_ms.
const std::vector<std::string> kArgs = {"--runs=40", "--sleep_ms=100"};

std::vector<std::string> Argv(const std::string& binary, std::vector<std::string> args) {
  args.insert(args.begin(), SampleBinary(binary));
  return args;
}

// ThreadNames: the names of the java.lang.Thread instances in a dump.
std::set<std::string> ThreadNames(const HprofSnapshot& snapshot) {
  std::set<std::string> names;
  for (uint64_t id : snapshot.InstancesOf("java.lang.Thread")) {
    auto fields = snapshot.Fields(id);
    if (!fields.ok()) continue;
    auto name = snapshot.StringValue((*fields)["name"].bits);
    if (name.ok()) names.insert(*name);
  }
  for (uint64_t id : snapshot.InstancesOf("SVMHeapDump")) {
    auto fields = snapshot.Fields(id);
    if (!fields.ok()) continue;
    auto name = snapshot.StringValue((*fields)["name"].bits);
    if (name.ok()) names.insert(*name);
  }
  return names;
}

// StackMethods: every method named in the dump's stack traces.
std::set<std::string> StackMethods(const HprofSnapshot& snapshot) {
  std::set<std::string> methods;
  for (const auto& [serial, trace] : snapshot.traces()) {
    for (uint64_t frame_id : trace.frame_ids) {
      auto frame = snapshot.frames().find(frame_id);
      if (frame != snapshot.frames().end()) methods.insert(frame->second.method);
    }
  }
  return methods;
}

// CheckDump: the file parses, every reference resolves; returns the snapshot.
std::unique_ptr<HprofSnapshot> CheckDump(const std::string& path) {
  auto snapshot = HprofSnapshot::Load(path);
  EXPECT_TRUE(snapshot.ok()) << path << ": " << snapshot.status();
  if (!snapshot.ok()) return nullptr;
  absl::Status references = (*snapshot)->CheckReferences();
  EXPECT_TRUE(references.ok()) << path << ": " << references;
  return *std::move(snapshot);
}

const std::regex& DefaultName(pid_t pid) {
  static std::regex* pattern = nullptr;
  delete pattern;
  pattern = new std::regex(
      absl::StrCat("svm-heapdump-", pid, "-[0-9]{8}T[0-9]{6}Z\\.hprof(\\.[0-9]+)?"));
  return *pattern;
}

TEST(SvmHeapDumpTest, Sigusr1DumpsIntoTheWorkingDirectoryAndTheProgramRunsOn) {
  const std::string dir = MakeTempDir("usr1");
  Subprocess child(Argv("svm_heap_dump", kArgs), dir);
  ASSERT_TRUE(child.WaitForOutput("Starting thread!")) << child.output();
  const std::string output = child.output();
  EXPECT_TRUE(absl::StrContains(output, ": Hello Kiln developer! \n")) << output;
  EXPECT_TRUE(absl::StrContains(output, absl::StrCat("'kill -SIGUSR1 ", child.pid(), "'")))
      << output;
  ASSERT_TRUE(child.WaitForOutput("Thread started, it will run for 40 seconds"));
  ASSERT_TRUE(child.Signal(SIGUSR1));
  ASSERT_TRUE(child.WaitForOutput("Heap dump created ")) << child.output();
  EXPECT_EQ(child.Wait(), 0) << child.output();
  EXPECT_TRUE(absl::StrContains(child.output(), ": Thread finished after: 40 iterations.\n"))
      << child.output();

  const std::vector<std::string> files = ListDir(dir);
  ASSERT_EQ(files.size(), 1) << absl::StrJoin(files, " ");
  EXPECT_TRUE(std::regex_match(files[0], DefaultName(child.pid()))) << files[0];
  EXPECT_TRUE(absl::StrContains(child.output(), absl::StrCat("Heap dump created ", dir, "/",
                                                             files[0], ", size: ")))
      << child.output();
  std::unique_ptr<HprofSnapshot> snapshot = CheckDump(absl::StrCat(dir, "/", files[0]));
  ASSERT_NE(snapshot, nullptr);
  const std::set<std::string> threads = ThreadNames(*snapshot);
  EXPECT_TRUE(threads.count("main")) << absl::StrJoin(threads, ",");
  EXPECT_TRUE(threads.count("Thread-0")) << absl::StrJoin(threads, ",");
  const std::set<std::string> methods = StackMethods(*snapshot);
  for (const char* method : {"main", "join", "run"}) {
    EXPECT_TRUE(methods.count(method)) << method << " in " << absl::StrJoin(methods, ",");
  }
  // The greeting lives on the heap.
  const HprofSnapshot::Class* cls = snapshot->FindClass("SVMHeapDump");
  ASSERT_NE(cls, nullptr);
  bool greeting = false;
  for (const HprofStaticInfo& field : cls->statics) {
    if (snapshot->StringById(field.name_id) != "greeting") continue;
    auto text = snapshot->StringValue(field.value);
    greeting = text.ok() && absl::StrContains(*text, "Hello Kiln developer!");
  }
  EXPECT_TRUE(greeting);
}

TEST(SvmHeapDumpTest, SigquitPrintsEveryThreadAndSigusr2TheRuntimeInfo) {
  const std::string dir = MakeTempDir("quit");
  Subprocess child(Argv("svm_heap_dump", kArgs), dir);
  ASSERT_TRUE(child.WaitForOutput("Thread started, it will run for")) << child.output();
  ASSERT_TRUE(child.Signal(SIGQUIT));
  ASSERT_TRUE(child.WaitForOutput("\tat SVMHeapDump.run(svm_heap_dump.cc:")) << child.output();
  ASSERT_TRUE(child.WaitForOutput("\tat SVMHeapDump.main(svm_heap_dump.cc:")) << child.output();
  const std::string dump = child.output();
  EXPECT_TRUE(absl::StrContains(dump, absl::StrCat("Full thread dump Kiln (pid ", child.pid())));
  EXPECT_TRUE(std::regex_search(dump, std::regex("\"main\" #[0-9]+ prio=5 cpu=[0-9.]+ms "
                                                 "elapsed=[0-9.]+s tid=0x[0-9a-f]+ nid=")))
      << dump;
  EXPECT_TRUE(std::regex_search(
      dump, std::regex("\"Thread-0\" #[0-9]+ prio=5 cpu=[0-9.]+ms elapsed=[0-9.]+s "
                       "tid=0x[0-9a-f]+ nid=0x[0-9a-f]+ sleeping\n"
                       "   java.lang.Thread.State: TIMED_WAITING \\(sleeping\\)\n"
                       "\tat SVMHeapDump.run\\(svm_heap_dump.cc:[0-9]+\\)\n")))
      << dump;
  // main joins Thread-0 the way Thread.join does: in Wait on its object.
  // (The first dump may come before main gets there; dumps repeat until.)
  const std::regex joining(
      "\"main\" #[0-9]+ prio=5 [^\n]* in Object.wait\\(\\)\n"
      "   java.lang.Thread.State: WAITING \\(on object monitor\\)\n"
      "\tat java.lang.Object.wait\\(Native Method\\)\n"
      "\t- waiting on <(0x[0-9a-f]{16})> \\(a SVMHeapDump\\)\n"
      "\tat SVMHeapDump.join\\(svm_heap_dump.cc:[0-9]+\\)\n"
      "\t- locked <\\1> \\(a SVMHeapDump\\)\n"
      "\tat SVMHeapDump.main\\(svm_heap_dump.cc:[0-9]+\\)\n");
  for (int attempt = 0; !std::regex_search(child.output(), joining); ++attempt) {
    ASSERT_LT(attempt, 100) << child.output();
    absl::SleepFor(absl::Milliseconds(50));
    ASSERT_TRUE(child.Signal(SIGQUIT));
  }
  ASSERT_TRUE(child.Signal(SIGUSR2));
  ASSERT_TRUE(child.WaitForOutput("Threads: 2 attached, 0 daemon")) << child.output();
  const std::string info = child.output();
  EXPECT_TRUE(absl::StrContains(info, "  SVMHeapDump extends java.lang.Thread")) << info;
  EXPECT_TRUE(absl::StrContains(info, "    method main([Ljava/lang/String;)V\n")) << info;
  EXPECT_TRUE(absl::StrContains(info, "\nHeap: committed=")) << info;
  EXPECT_TRUE(absl::StrContains(info, "\nSafepoints: ")) << info;
  EXPECT_EQ(child.Wait(), 0) << child.output();
  EXPECT_TRUE(absl::StrContains(child.output(), "Thread finished after: 40 iterations."));
  EXPECT_TRUE(ListDir(dir).empty());
}

TEST(SvmHeapDumpTest, ABurstOfSignalsLeavesOnlyCompleteDumps) {
  const std::string dir = MakeTempDir("burst");
  Subprocess child(Argv("svm_heap_dump", kArgs), dir);
  ASSERT_TRUE(child.WaitForOutput("Thread started, it will run for")) << child.output();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(child.Signal(SIGUSR1));
    if (i % 4 == 0) {
      ASSERT_TRUE(child.Signal(SIGQUIT));
    }
  }
  EXPECT_EQ(child.Wait(), 0) << child.output();
  const std::string output = child.output();
  EXPECT_TRUE(absl::StrContains(output, "Thread finished after: 40 iterations."));
  const std::vector<std::string> files = ListDir(dir);
  ASSERT_GE(files.size(), 1) << output;
  EXPECT_LE(files.size(), 20);
  // One line per file, and each file complete: coalesced, never half-written.
  std::vector<std::string> created;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (absl::StartsWith(line, "Heap dump created ")) created.emplace_back(line);
  }
  EXPECT_EQ(created.size(), files.size()) << output;
  for (const std::string& file : files) {
    EXPECT_TRUE(std::regex_match(file, DefaultName(child.pid()))) << file;
    std::unique_ptr<HprofSnapshot> snapshot = CheckDump(absl::StrCat(dir, "/", file));
    if (snapshot != nullptr) {
      EXPECT_TRUE(ThreadNames(*snapshot).count("Thread-0")) << file;
    }
  }
  EXPECT_TRUE(absl::StrContains(output, "Full thread dump Kiln"));
}

// ApiDump: runs svm_heap_dump_api with `args` in TMPDIR=`dir`; returns the
// dump it reports, checking the reported size against the file.
std::string ApiDump(const std::string& dir, std::vector<std::string> args, std::string* output) {
  Subprocess child(Argv("svm_heap_dump_api", std::move(args)), "", {"TMPDIR=" + dir});
  EXPECT_EQ(child.Wait(), 0);
  *output = child.output();
  std::smatch match;
  if (!std::regex_search(*output, match,
                         std::regex("\n  Heap dump created (/[^,]+\\.hprof), size: ([0-9]+)\n"))) {
    return "";
  }
  struct stat st;
  EXPECT_EQ(stat(match[1].str().c_str(), &st), 0);
  EXPECT_EQ(absl::StrCat(st.st_size), match[2].str());
  return match[1];
}

TEST(SvmHeapDumpApiTest, PrintsWhatTheSeedShowsAndDumpsLiveOrFull) {
  const std::string dir = MakeTempDir("api");
  std::string output;
  EXPECT_EQ(ApiDump(dir, {}, &output), "");
  EXPECT_TRUE(std::regex_match(output, std::regex("[A-Z][a-z]{2} [0-9]{1,2}, [0-9]{4}, "
                                                  "[0-9]{1,2}:[0-9]{2}:[0-9]{2} [AP]M: Hello Kiln "
                                                  "developer. \nYour command line options are: "
                                                  "None\n")))
      << output;
  EXPECT_TRUE(ListDir(dir).empty());

  const std::string live = ApiDump(dir, {"--heapdump", "true"}, &output);
  ASSERT_FALSE(live.empty()) << output;
  EXPECT_TRUE(absl::StrContains(output, "\nYour command line options are: --heapdump\n"));
  EXPECT_TRUE(absl::StartsWith(live, dir + "/SVMHeapDump-")) << live;
  const std::string full = ApiDump(dir, {"--heapdump", "false"}, &output);
  ASSERT_FALSE(full.empty()) << output;
  const std::string default_live = ApiDump(dir, {"--heapdump"}, &output);
  ASSERT_FALSE(default_live.empty()) << output;
  EXPECT_EQ(ListDir(dir).size(), 3);

  std::unique_ptr<HprofSnapshot> live_dump = CheckDump(live);
  std::unique_ptr<HprofSnapshot> full_dump = CheckDump(full);
  std::unique_ptr<HprofSnapshot> default_dump = CheckDump(default_live);
  ASSERT_TRUE(live_dump && full_dump && default_dump);
  // 2000 people are kept, 1000 more were made and dropped.
  EXPECT_EQ(live_dump->InstancesOf("SVMHeapDumpAPI$Person").size(), 2000);
  EXPECT_EQ(default_dump->InstancesOf("SVMHeapDumpAPI$Person").size(), 2000);
  EXPECT_EQ(full_dump->InstancesOf("SVMHeapDumpAPI$Person").size(), 3000);
  // The sample's frames hold a bounded number of slots at the dump: each
  // Person's locals lived in a LocalScope, and the data's frame is gone.
  for (const HprofSnapshot* dump : {live_dump.get(), full_dump.get()}) {
    size_t frame_roots = 0;
    for (const HprofSnapshot::Root& root : dump->roots()) {
      if (root.tag == hprof::kRootJavaFrame) ++frame_roots;
    }
    EXPECT_LE(frame_roots, 4u);
  }
  struct stat live_st, full_st;
  ASSERT_EQ(stat(live.c_str(), &live_st), 0);
  ASSERT_EQ(stat(full.c_str(), &full_st), 0);
  EXPECT_GT(full_st.st_size, live_st.st_size);
}

// Properties: a dump's java.lang.System.props (inspection/internal/dump_environment.h).
std::map<std::string, std::string> Properties(const HprofSnapshot& dump) {
  std::map<std::string, std::string> props;
  const HprofSnapshot::Class* system = dump.FindClass("java.lang.System");
  if (system == nullptr || system->statics.empty()) return props;
  auto fields = dump.Fields(system->statics[0].value);
  if (!fields.ok() || !dump.object_arrays().contains((*fields)["table"].bits)) return props;
  for (uint64_t entry : dump.object_arrays().at((*fields)["table"].bits).elements) {
    for (int depth = 0; entry != 0 && depth < 1000; ++depth) {
      auto e = dump.Fields(entry);
      if (!e.ok()) break;
      auto key = dump.StringValue((*e)["key"].bits);
      auto value = dump.StringValue((*e)["value"].bits);
      if (key.ok() && value.ok()) props[*key] = *value;
      entry = (*e)["next"].bits;
    }
  }
  return props;
}

TEST(SvmHeapDumpApiTest, HelpListsTheMonitoringSwitches) {
  const testing::ToolResult help = testing::RunCommand(Argv("svm_heap_dump_api", {"--help"}));
  EXPECT_EQ(help.exit_code, 0);
  for (const char* s : {"-XX:+HeapDumpOnOutOfMemoryError", "-XX:HeapDumpGzipLevel=N",
                        "-XX:HeapDumpPath=", "--enable-monitoring", "--exhaust-heap"}) {
    EXPECT_TRUE(absl::StrContains(help.out, s)) << s << "\n" << help.out;
  }
  const testing::ToolResult flags = testing::RunCommand(Argv("svm_heap_dump", {"--help"}));
  EXPECT_TRUE(absl::StrContains(flags.out + flags.err, "-XX:+HeapDumpOnOutOfMemoryError"))
      << flags.out << flags.err;
  for (const char* sample : {"svm_heap_dump", "embedding_host"}) {
    const testing::ToolResult usage = testing::RunCommand(Argv(sample, {"--help"}));
    EXPECT_FALSE(absl::StrContains(usage.out + usage.err, "SetProgramUsageMessage"))
        << sample << ": " << usage.out << usage.err;
  }
}

TEST(SvmHeapDumpApiTest, HeapDumpOnOutOfMemoryErrorWritesADumpGzipWithTheLevel) {
  for (const bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "gzip" : "plain");
    const std::string dir = MakeTempDir(gzip ? "oom-gz" : "oom");
    std::vector<std::string> args = {"-XX:+HeapDumpOnOutOfMemoryError",
                                     absl::StrCat("-XX:HeapDumpPath=", dir)};
    if (gzip) args.push_back("-XX:HeapDumpGzipLevel=1");
    args.push_back("--exhaust-heap");
    const testing::ToolResult run = testing::RunCommand(Argv("svm_heap_dump_api", args));
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_TRUE(absl::StrContains(run.out, "Allocation failed: RESOURCE_EXHAUSTED")) << run.out;
    EXPECT_TRUE(absl::StrContains(run.err, "Dumping heap")) << run.err;
    const std::vector<std::string> files = ListDir(dir);
    ASSERT_EQ(files.size(), 1u);
    EXPECT_TRUE(absl::StartsWith(files[0], "svm-heapdump-")) << files[0];
    EXPECT_TRUE(absl::EndsWith(files[0], gzip ? "-OOME.hprof.gz" : "-OOME.hprof")) << files[0];
    auto snapshot = HprofSnapshot::Load(absl::StrCat(dir, "/", files[0]));
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_TRUE((*snapshot)->CheckReferences().ok());
    std::map<std::string, std::string> props = Properties(**snapshot);
    EXPECT_EQ(props["kiln.dump.trigger"], "out_of_memory");
    EXPECT_EQ(props["kiln.heap.limit_bytes"], absl::StrCat(32 << 20));
    EXPECT_TRUE(absl::StrContains(props["sun.java.command"], "--exhaust-heap"))
        << props["sun.java.command"];
  }
  // A bad level is refused, naming the switch.
  const testing::ToolResult bad =
      testing::RunCommand(Argv("svm_heap_dump_api", {"-XX:HeapDumpGzipLevel=12"}));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "-XX:HeapDumpGzipLevel")) << bad.err;
}

TEST(EmbeddingHostTest, HostThreadsNativeBuffersAndBothDumps) {
  const std::string dir = MakeTempDir("host");
  Subprocess child(Argv("embedding_host", {"--workers=3", "--jobs=12", "--texture_bytes=4096",
                                           "--dump_dir=" + dir}),
                   "");
  EXPECT_EQ(child.Wait(), 0) << child.output();
  const std::string output = child.output();
  EXPECT_TRUE(absl::StrContains(output, "Host: 3 workers ran 36 jobs; 18 textures cached, 36 "
                                        "native buffers registered (4096 bytes each)\n"))
      << output;
  EXPECT_TRUE(absl::StrContains(output, "Native buffers freed: 36 of 36\n")) << output;
  for (int w = 0; w < 3; ++w) {
    EXPECT_TRUE(std::regex_search(
        output, std::regex(absl::StrCat("\"host-worker-", w,
                                        "\" #[0-9]+ prio=5 [^\n]*\n[^\n]*\n\tat "
                                        "host.Worker.park\\(embedding_host.cc:[0-9]+\\)\n"))))
        << output;
  }
  const std::vector<std::string> files = ListDir(dir);
  ASSERT_EQ(files.size(), 1);
  std::unique_ptr<HprofSnapshot> snapshot = CheckDump(absl::StrCat(dir, "/", files[0]));
  ASSERT_NE(snapshot, nullptr);
  // A live dump: the cached textures, each with its native buffer's Cleaner
  // (Perfetto's path: Cleaner.referent, .thunk.this$0.size).
  EXPECT_EQ(snapshot->InstancesOf("host.Texture").size(), 18);
  const std::vector<uint64_t> registries =
      snapshot->InstancesOf("libcore.util.NativeAllocationRegistry");
  ASSERT_EQ(registries.size(), 1);
  EXPECT_EQ((*snapshot->Fields(registries[0]))["size"].bits, 4096);
  std::set<uint64_t> textures;
  for (uint64_t id : snapshot->InstancesOf("host.Texture")) textures.insert(id);
  int attributed = 0;
  for (uint64_t cleaner : snapshot->InstancesOf("sun.misc.Cleaner")) {
    auto fields = *snapshot->Fields(cleaner);
    if (!textures.count(fields["referent"].bits)) continue;
    auto thunk = *snapshot->Fields(fields["thunk"].bits);
    if (thunk["this$0"].bits == registries[0]) ++attributed;
  }
  EXPECT_EQ(attributed, 18);
}

}  // namespace
}  // namespace kiln
