// FrameText: StackTraceElement.toString()'s spelling of a frame.
#include "inspection/analysis/frame_text.h"

#include "absl/strings/str_cat.h"

namespace kiln::analysis {

std::string FrameText(const StackFrameInfo& frame) {
  std::string where;
  if (frame.line == -2) {
    where = "Compiled Method";
  } else if (frame.line == -3) {
    where = "Native Method";
  } else if (frame.source_file.empty()) {
    where = "Unknown Source";
  } else if (frame.line > 0) {
    where = absl::StrCat(frame.source_file, ":", frame.line);
  } else {
    where = frame.source_file;
  }
  const std::string holder = frame.class_name.empty() ? "<unknown class>" : frame.class_name;
  return absl::StrCat(holder, ".", frame.method, "(", where, ")");
}

}  // namespace kiln::analysis
