#include "tests/attach_test_util.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "inspection/hprof/hprof_format.h"

namespace kiln::testing {

std::map<std::string, uint64_t> DumpCounts(const HprofSnapshot& snapshot) {
  std::map<std::string, uint64_t> counts;
  auto name = [&](uint64_t class_id) {
    const HprofSnapshot::Class* cls = snapshot.ClassById(class_id);
    return cls != nullptr ? cls->name : std::string("?");
  };
  // The dump's environment (System.props and its classes) is synthetic, not
  // heap: its ids are odd (dump_environment.h), every heap object's 8-aligned.
  const auto heap = [](uint64_t id) { return id % 2 == 0; };
  for (const auto& [id, instance] : snapshot.instances()) {
    if (heap(id)) ++counts[name(instance.class_id)];
  }
  for (const auto& [id, array] : snapshot.object_arrays()) {
    if (heap(id)) ++counts[name(array.class_id)];
  }
  for (const auto& [id, array] : snapshot.primitive_arrays()) {
    if (!heap(id)) continue;
    static const char* const kNames[] = {"[Z", "[C", "[F", "[D", "[B", "[S", "[I", "[J"};
    ++counts[array.type >= hprof::kBoolean && array.type <= hprof::kLong
                 ? kNames[array.type - hprof::kBoolean]
                 : "?"];
  }
  for (const auto& [id, cls] : snapshot.classes()) counts["java.lang.Class"] += heap(id);
  return counts;
}

std::map<std::string, uint64_t> HistogramCounts(absl::string_view histogram) {
  std::map<std::string, uint64_t> counts;
  for (absl::string_view line : absl::StrSplit(histogram, '\n')) {
    // "   1:        123        4567  java.lang.String"
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || absl::StartsWith(line, "Total")) continue;
    std::vector<absl::string_view> words =
        absl::StrSplit(line.substr(colon + 1), ' ', absl::SkipEmpty());
    uint64_t count;
    if (words.size() == 3 && absl::SimpleAtoi(words[0], &count)) {
      counts[std::string(words[2])] = count;
    }
  }
  return counts;
}

std::string WithoutTimestamp(std::string dump) {
  // "JAVA PROFILE 1.0.2\0", u4 id size, u8 milliseconds.
  const size_t at = sizeof("JAVA PROFILE 1.0.2") + 4;
  if (dump.size() >= at + 8) dump.replace(at, 8, 8, '\0');
  return dump;
}

std::string ShortTempDir() {
  char pattern[] = "/tmp/kiln-attach-XXXXXX";
  if (mkdtemp(pattern) == nullptr) abort();
  return pattern;
}

void RemoveTree(const std::string& dir) {
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* entry = readdir(d)) {
      const std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      const std::string path = dir + "/" + name;
      struct stat st;
      if (lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        RemoveTree(path);
      } else {
        unlink(path.c_str());
      }
    }
    closedir(d);
  }
  rmdir(dir.c_str());
}

}  // namespace kiln::testing
