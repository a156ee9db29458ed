// ViewerServer: kiln-heap serve's HTTP front: the JSON API (viewer_api.h)
// under /api/, the one page (viewer_page.h) at every page URL, nothing else.
// No URL names a file; only GET and HEAD; requests are bounded in size and
// time by the HTTP library (URI 8 KiB, headers, no bodies), and a handler
// that throws answers 500 and the server runs on.
//
//   ViewerServer server(api);
//   ASSIGN_OR_RETURN(int port, server.Bind("127.0.0.1", 0));
//   server.Run();   // until Stop() (another thread, or a signal)
#ifndef KILN_INSPECTION_ANALYSIS_VIEWER_VIEWER_SERVER_H_
#define KILN_INSPECTION_ANALYSIS_VIEWER_VIEWER_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/must_use.h"
#include "inspection/analysis/viewer/viewer_api.h"

namespace httplib {
class Server;
}

namespace kiln::analysis {

class ViewerServer {
 public:
  explicit ViewerServer(ViewerApi& api);
  ~ViewerServer();

  // Bind: listens on `address`:`port` (0 picks a free port); the port bound.
  KILN_MUST_USE absl::StatusOr<int> Bind(const std::string& address, int port);
  // Run: serves until Stop().
  KILN_MUST_USE absl::Status Run();
  // Stop: ends Run, if it is listening (Running); else does nothing.
  void Stop();
  bool Running() const;

 private:
  ViewerApi& api_;
  std::unique_ptr<httplib::Server> server_;
};

// ServeUntilSignal: Bind, print `banner` with the port (a printf format with
// one %d) on stdout, then serve until SIGINT or SIGTERM.
KILN_MUST_USE absl::Status ServeUntilSignal(ViewerApi& api, const std::string& address, int port,
                              const std::string& banner_prefix);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_VIEWER_VIEWER_SERVER_H_
