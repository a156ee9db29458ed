// samples/deadlock against the JVM: the same program written in Java, run
// with the machine's JDK and dumped with jstack, and the Kiln sample run as a
// process and sent SIGQUIT, give thread dumps of the same shape: the
// deadlock section line for line, and each thread's state, activity, frames'
// lock lines. Addresses, line numbers, source files, cpu and elapsed times
// differ, and are normalized away; so are the JDK's extra frames (its
// Thread.join calls itself) and its own threads.
#include <signal.h>
#include <stdio.h>

#include <map>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/subprocess.h"

namespace kiln {
namespace {

using testing::MakeTempDir;
using testing::RunCommand;
using testing::SampleBinary;
using testing::Subprocess;
using testing::ToolResult;

// The Java twin of samples/deadlock.cc.
constexpr char kDeadlockJava[] = R"(
import java.util.concurrent.CountDownLatch;

public class Deadlock {
  static final Object left = new Object();
  static final Object right = new Object();
  static final CountDownLatch both = new CountDownLatch(2);

  static void await() {
    both.countDown();
    try { both.await(); } catch (InterruptedException e) { throw new RuntimeException(e); }
  }

  static class First extends Thread {
    public void run() {
      synchronized (left) {
        await();
        synchronized (right) { System.out.println("no deadlock"); }
      }
    }
  }

  static class Second extends Thread {
    public void run() {
      synchronized (right) {
        await();
        synchronized (left) { System.out.println("no deadlock"); }
      }
    }
  }

  public static void main(String[] args) throws Exception {
    First first = new First();
    first.setName("first");
    Second second = new Second();
    second.setName("second");
    first.start();
    second.start();
    long pid = ProcessHandle.current().pid();
    System.out.println("Deadlock: pid " + pid + ". Two threads are about to deadlock; see it with");
    System.out.println("  kill -QUIT " + pid);
    first.join();
  }
}
)";

// Normalize: what may differ between two runs of one program, or between
// the JVM and Kiln, replaced by placeholders.
std::string Normalize(std::string line) {
  static const auto* rules = new std::vector<std::pair<std::regex, std::string>>{
      {std::regex("<0x[0-9a-f]{16}>"), "<ADDR>"},
      {std::regex("monitor 0x[0-9a-f]+ \\(object 0x[0-9a-f]{16},"), "monitor MON (object ADDR,"},
      {std::regex("^\tat ([^(]+)\\(.*\\)$"), "\tat $1(SRC)"},
  };
  for (const auto& [pattern, replacement] : *rules) {
    line = std::regex_replace(line, pattern, replacement);
  }
  return line;
}

std::vector<std::string> Lines(absl::string_view text) {
  return absl::StrSplit(text, '\n');
}

// DeadlockSection: from "Found one Java-level deadlock:" to "Found 1
// deadlock.", normalized.
std::vector<std::string> DeadlockSection(const std::string& dump) {
  const size_t start = dump.find("Found one Java-level deadlock:");
  const size_t end = dump.find("Found 1 deadlock.", start);
  if (start == std::string::npos || end == std::string::npos) return {};
  std::vector<std::string> lines;
  for (const std::string& line : Lines(dump.substr(start, end - start) + "Found 1 deadlock.")) {
    lines.push_back(Normalize(line));
  }
  return lines;
}

struct ThreadEntry {
  std::string activity;  // after nid=: "waiting for monitor entry"
  std::string state;     // "   java.lang.Thread.State: BLOCKED (on object monitor)"
  std::vector<std::string> lock_lines;  // "\t- ..." normalized
  std::vector<std::string> frames;      // "\tat ..." normalized
};

// ThreadEntries: the threads of the dump's thread list (before any deadlock
// section), by name.
std::map<std::string, ThreadEntry> ThreadEntries(const std::string& dump) {
  static const std::regex header(
      "^\"([^\"]+)\" #[0-9]+ (daemon )?prio=[0-9]+ (os_prio=[0-9]+ )?cpu=[0-9.]+ms "
      "elapsed=[0-9.]+s tid=0x[0-9a-f]+ nid=0x[0-9a-f]+ (.*?) *(\\[0x[0-9a-f]+\\])?$");
  std::map<std::string, ThreadEntry> entries;
  ThreadEntry* current = nullptr;
  for (const std::string& line : Lines(dump.substr(0, dump.find("Found one Java-level")))) {
    std::smatch match;
    if (std::regex_match(line, match, header)) {
      current = &entries[match[1]];
      current->activity = match[4];
    } else if (current == nullptr) {
      continue;
    } else if (absl::StartsWith(line, "   java.lang.Thread.State: ")) {
      current->state = line;
    } else if (absl::StartsWith(line, "\t- ")) {
      current->lock_lines.push_back(Normalize(line));
    } else if (absl::StartsWith(line, "\tat ")) {
      current->frames.push_back(Normalize(line));
    } else if (line.empty()) {
      current = nullptr;
    }
  }
  return entries;
}

std::string JstackOfTheJavaProgram() {
  const std::string dir = MakeTempDir("java");
  const std::string source = absl::StrCat(dir, "/Deadlock.java");
  FILE* file = fopen(source.c_str(), "w");
  EXPECT_NE(file, nullptr);
  if (file == nullptr) return "";
  fputs(kDeadlockJava, file);
  fclose(file);
  const ToolResult javac = RunCommand({"javac", "-d", dir, source});
  EXPECT_EQ(javac.exit_code, 0) << "javac failed (is the JDK installed?):\n" << javac.err;
  Subprocess java({"java", "-Xshare:auto", "-cp", dir, "Deadlock"}, dir);
  EXPECT_TRUE(java.WaitForOutput("  kill -QUIT ")) << java.output();
  // The threads deadlock soon after main prints; jstack until it sees it.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const ToolResult jstack = RunCommand({"jstack", std::to_string(java.pid())});
    if (absl::StrContains(jstack.out, "Found 1 deadlock.") &&
        absl::StrContains(jstack.out, "\"main\" #1 prio=5 os_prio=0 cpu=")) {
      return jstack.out;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ADD_FAILURE() << "jstack never showed the deadlock";
  return "";
}

std::string SigquitOfTheKilnSample(pid_t* pid) {
  Subprocess kiln({SampleBinary("deadlock")}, "");
  EXPECT_TRUE(kiln.WaitForOutput("  kill -QUIT ")) << kiln.output();
  EXPECT_TRUE(absl::StrContains(kiln.output(), absl::StrCat("  kill -QUIT ", kiln.pid(), "\n")))
      << kiln.output();
  *pid = kiln.pid();
  // Each SIGQUIT's own dump: once the threads are stuck, it ends with one
  // more "Found 1 deadlock." than the output had before the signal (waiting
  // for the text alone would return at once after the first such dump,
  // before this signal's dump, and use up the attempts in a moment).
  auto deadlocks = [&kiln] {
    const std::string out = kiln.output();
    size_t n = 0;
    for (size_t at = out.find("Found 1 deadlock."); at != std::string::npos;
         at = out.find("Found 1 deadlock.", at + 1)) {
      ++n;
    }
    return n;
  };
  for (int attempt = 0; attempt < 100; ++attempt) {
    const size_t before = deadlocks();
    EXPECT_TRUE(kiln.Signal(SIGQUIT));
    const absl::Time deadline = absl::Now() + absl::Milliseconds(500);
    while (deadlocks() == before && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    if (deadlocks() > before) {
      // This dump found the deadlock; it is the one to compare once main
      // waits in Join's Wait too.
      const std::string out = kiln.output();
      const std::string dump = out.substr(out.rfind("Full thread dump Kiln"));
      if (absl::StrContains(dump, "in Object.wait()")) return dump;
    }
  }
  ADD_FAILURE() << "the sample's thread dump never showed the deadlock:\n" << kiln.output();
  return "";
}

TEST(DeadlockJstackTest, TheSampleDumpsItsDeadlockAsJstackDoes) {
  const std::string jvm = JstackOfTheJavaProgram();
  pid_t pid = 0;
  const std::string kiln = SigquitOfTheKilnSample(&pid);
  ASSERT_FALSE(jvm.empty());
  ASSERT_FALSE(kiln.empty());
  EXPECT_TRUE(absl::StartsWith(kiln, absl::StrCat("Full thread dump Kiln (pid ", pid, "):")));

  // The deadlock section, line for line.
  const std::vector<std::string> jvm_section = DeadlockSection(jvm);
  const std::vector<std::string> kiln_section = DeadlockSection(kiln);
  ASSERT_FALSE(jvm_section.empty()) << jvm;
  EXPECT_EQ(absl::StrJoin(kiln_section, "\n"), absl::StrJoin(jvm_section, "\n"))
      << "JVM:\n" << jvm << "\nKiln:\n" << kiln;
  EXPECT_EQ(kiln_section, jvm_section);
  EXPECT_TRUE(absl::StrContains(absl::StrJoin(kiln_section, "\n"),
                                "\t- waiting to lock <ADDR> (a java.lang.Object)\n"
                                "\t- locked <ADDR> (a java.lang.Object)\n"));

  // Each program thread: activity, state and lock lines as the JVM's.
  const std::map<std::string, ThreadEntry> jvm_threads = ThreadEntries(jvm);
  const std::map<std::string, ThreadEntry> kiln_threads = ThreadEntries(kiln);
  for (const char* name : {"main", "first", "second"}) {
    SCOPED_TRACE(name);
    ASSERT_EQ(jvm_threads.count(name), 1u) << jvm;
    ASSERT_EQ(kiln_threads.count(name), 1u) << kiln;
    const ThreadEntry& j = jvm_threads.at(name);
    const ThreadEntry& k = kiln_threads.at(name);
    EXPECT_EQ(k.activity, j.activity);
    EXPECT_EQ(k.state, j.state);
    EXPECT_EQ(k.lock_lines, j.lock_lines) << "JVM:\n" << jvm << "\nKiln:\n" << kiln;
    EXPECT_FALSE(k.lock_lines.empty());
    // Kiln's frames are the JVM's without its repeated Thread.join.
    std::vector<std::string> jvm_frames;
    for (const std::string& frame : j.frames) {
      if (jvm_frames.empty() || jvm_frames.back() != frame) jvm_frames.push_back(frame);
    }
    EXPECT_EQ(k.frames, jvm_frames);
  }
}

}  // namespace
}  // namespace kiln
