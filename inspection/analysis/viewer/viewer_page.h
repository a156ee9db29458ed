// The viewer's page: one HTML document with its script and styles inline
// (viewer_page.cc), served at every page URL; the script reads the URL and
// draws the page from the JSON API. No CDN, no network: it works offline.
#ifndef KILN_INSPECTION_ANALYSIS_VIEWER_VIEWER_PAGE_H_
#define KILN_INSPECTION_ANALYSIS_VIEWER_VIEWER_PAGE_H_

#include "absl/strings/string_view.h"

namespace kiln::analysis {

absl::string_view ViewerPage();

// IsPagePath: whether `path` is one of the page URLs ("/", "/histogram",
// "/class/12", "/object/0x1f", "/dominators", "/flamegraph", "/threads",
// "/sql").
bool IsPagePath(absl::string_view path);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_VIEWER_VIEWER_PAGE_H_
