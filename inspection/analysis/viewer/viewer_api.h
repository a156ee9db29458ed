// ViewerApi: kiln-heap serve's JSON API over one HeapView, free of sockets
// (viewer_server.cc puts it behind HTTP), so tests call it directly. Every
// answer is JSON; a bad id or parameter is a 400 with {"error": message}, an
// id of no object a 404. README.md ("kiln-heap serve") lists the endpoints.
//
//   ViewerApi api(view);
//   ApiResponse r = api.Handle("/api/object/0x1234", {});
//   r.status == 200, r.body == "{\"id\":\"0x1234\",...}"
#ifndef KILN_INSPECTION_ANALYSIS_VIEWER_VIEWER_API_H_
#define KILN_INSPECTION_ANALYSIS_VIEWER_VIEWER_API_H_

#include <map>
#include <mutex>
#include <string>

#include "inspection/analysis/viewer/heap_view.h"
#include "inspection/analysis/viewer/viewer_sql.h"

namespace kiln::analysis {

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON
};

class ViewerApi {
 public:
  explicit ViewerApi(const HeapView& view) : view_(view), sql_(view.graph()) {}

  // Handle: GET `path` (starting /api/) with decoded query parameters.
  ApiResponse Handle(const std::string& path, const std::map<std::string, std::string>& params);

 private:
  const HeapView& view_;
  ViewerSql sql_;
  // The histograms (all, reachable) never change: each is computed on its
  // first request and its answer kept.
  std::once_flag histogram_once_[2];
  std::string histogram_body_[2];
};

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_VIEWER_VIEWER_API_H_
