// The viewer's page: page/viewer.html with page/viewer.css and
// page/viewer.js put in its placeholders (the three files are embedded as
// raw strings by the BUILD's genrule, viewer_page_sources.cc).
#include "inspection/analysis/viewer/viewer_page.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_replace.h"

namespace kiln::analysis {

extern const char kViewerHtml[];
extern const char kViewerCss[];
extern const char kViewerJs[];

absl::string_view ViewerPage() {
  static const std::string* page = new std::string(absl::StrReplaceAll(
      kViewerHtml, {{"/*CSS*/", kViewerCss}, {"/*JS*/", kViewerJs}}));
  return *page;
}

bool IsPagePath(absl::string_view path) {
  for (const char* page : {"/", "/histogram", "/dominators", "/flamegraph", "/threads", "/sql"}) {
    if (path == page) return true;
  }
  const auto all = [](absl::string_view text, const char* chars) {
    return !text.empty() && text.size() <= 20 &&
           text.find_first_not_of(chars) == absl::string_view::npos;
  };
  if (absl::ConsumePrefix(&path, "/class/")) return all(path, "0123456789");
  if (absl::ConsumePrefix(&path, "/object/")) return all(path, "0123456789abcdefABCDEFx");
  return false;
}

}  // namespace kiln::analysis
