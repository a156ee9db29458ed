// End to end: runs the runtime_tour sample as a process and checks what it
// reports against what it built (3 builders x 2000 items, 7 threads).
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/subprocess.h"

namespace {

// CensusCount: the object count on the census line for `class_name`.
long CensusCount(const std::string& output, const std::string& class_name) {
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    long count;
    if (words.size() == 3 && words[2] == class_name && absl::SimpleAtoi(words[0], &count)) {
      return count;
    }
  }
  return -1;
}

// LiveAfterCollection: the live object count the tour's collection reports.
long LiveAfterCollection(const std::string& output) {
  const size_t at = output.find(" bytes freed, ");
  if (at == std::string::npos) return -1;
  long live = -1;
  std::vector<absl::string_view> words =
      absl::StrSplit(absl::string_view(output).substr(at + 14), ' ');
  if (words.empty() || !absl::SimpleAtoi(words[0], &live)) return -1;
  return live;
}

TEST(RuntimeTourTest, ReportsTheThreadsAndObjectsItMade) {
  const kiln::testing::ToolResult tour =
      kiln::testing::RunCommand({kiln::testing::RunfilePath("samples/runtime_tour")});
  const std::string& output = tour.out;
  ASSERT_EQ(tour.exit_code, 0) << output << tour.err;
  for (const char* thread : {"\"main\" #1", "\"builder-0\"", "\"builder-1\"", "\"builder-2\"",
                             "\"host-caller\"", "\"sleeper\"", "\"ticker\" #"}) {
    EXPECT_TRUE(absl::StrContains(output, thread)) << thread << "\n" << output;
  }
  EXPECT_TRUE(absl::StrContains(output, "daemon prio=5"));
  EXPECT_TRUE(absl::StrContains(output, "\tat demo.Tour.idle(runtime_tour.cc:"));
  EXPECT_TRUE(absl::StrContains(output, "\tat demo.Tour.build(runtime_tour.cc:"));
  EXPECT_TRUE(absl::StrContains(output, "java.lang.Thread.State: TIMED_WAITING (sleeping)"));
  EXPECT_EQ(CensusCount(output, "demo.Item"), 3 * 2000);
  // One String (and its byte[]) per item, one per thread name, the registry.
  EXPECT_EQ(CensusCount(output, "java.lang.String"), 3 * 2000 + 7 + 1);
  EXPECT_EQ(CensusCount(output, "[B"), 3 * 2000 + 7 + 1);
  EXPECT_EQ(CensusCount(output, "java.lang.Thread"), 7);
  EXPECT_TRUE(absl::StrContains(output, "Roots: 7 thread objects")) << output;
  EXPECT_TRUE(absl::StrContains(output, "3 globals")) << output;
  EXPECT_TRUE(absl::StrContains(output, "1 static fields")) << output;
  // The live dump, read back: builder-0's items are gone, the others' remain.
  EXPECT_TRUE(absl::StrContains(output, "GC roots; every reference resolves")) << output;
  EXPECT_TRUE(absl::StrContains(output, "      4000  demo.Item\n")) << output;
  EXPECT_TRUE(absl::StrContains(output, "         7  java.lang.Thread\n")) << output;
  // Builder-0's 2000 items go, with a String and a byte[] each.
  EXPECT_EQ(LiveAfterCollection(output), CensusCount(output, "total") - 3 * 2000) << output;
}

}  // namespace
