// ViewerServer: cpp-httplib behind the viewer's API and page.
#include "inspection/analysis/viewer/viewer_server.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "httplib.h"
#include "inspection/analysis/viewer/viewer_page.h"

namespace kiln::analysis {
namespace {

constexpr char kJson[] = "application/json; charset=utf-8";
constexpr size_t kMaxHeaders = 100;
constexpr size_t kMaxHeaderBytes = 64 * 1024;

void Headers(httplib::Response& res) {
  // The page and its data come from this server only.
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; script-src 'unsafe-inline' 'self'; "
                 "style-src 'unsafe-inline' 'self'; img-src 'self' data:");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-store");
}

}  // namespace

ViewerServer::ViewerServer(ViewerApi& api) : api_(api), server_(new httplib::Server) {
  httplib::Server& s = *server_;
  s.set_payload_max_length(64 * 1024);
  s.set_read_timeout(5, 0);
  s.set_write_timeout(10, 0);
  s.set_keep_alive_max_count(100);
  // cpp-httplib 0.11 bounds each header line (8 KiB) but not their number:
  // refuse requests with many (they are read by then, but not answered).
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    size_t bytes = 0;
    for (const auto& [name, value] : req.headers) bytes += name.size() + value.size();
    if (req.headers.size() <= kMaxHeaders && bytes <= kMaxHeaderBytes) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.status = 431;
    res.set_content("too many request headers\n", "text/plain; charset=utf-8");
    return httplib::Server::HandlerResponse::Handled;
  });
  s.Get(R"(/api/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    std::map<std::string, std::string> params;
    for (const auto& [key, value] : req.params) params.emplace(key, value);
    ApiResponse answer = api_.Handle(req.path, params);
    Headers(res);
    res.status = answer.status;
    res.set_content(std::move(answer.body), kJson);
  });
  s.Get(R"(/.*)", [](const httplib::Request& req, httplib::Response& res) {
    Headers(res);
    if (req.path == "/favicon.ico") {  // none; say so without an error
      res.status = 204;
      return;
    }
    if (!IsPagePath(req.path)) {
      res.status = 404;
      res.set_content("not found\n", "text/plain; charset=utf-8");
      return;
    }
    res.set_content(ViewerPage().data(), ViewerPage().size(), "text/html; charset=utf-8");
  });
  const auto refuse = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    res.set_content("kiln-heap serve is read-only: GET only\n", "text/plain; charset=utf-8");
  };
  s.Post(R"(/.*)", refuse);
  s.Put(R"(/.*)", refuse);
  s.Delete(R"(/.*)", refuse);
  s.Patch(R"(/.*)", refuse);
  s.Options(R"(/.*)", refuse);
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content("{\"error\":\"internal error\"}", kJson);
  });
}

ViewerServer::~ViewerServer() = default;

absl::StatusOr<int> ViewerServer::Bind(const std::string& address, int port) {
  const int bound = port == 0 ? server_->bind_to_any_port(address.c_str())
                              : (server_->bind_to_port(address.c_str(), port) ? port : -1);
  if (bound < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address, ":", port));
  }
  return bound;
}

absl::Status ViewerServer::Run() {
  if (!server_->listen_after_bind()) return absl::InternalError("the server stopped on an error");
  return absl::OkStatus();
}

void ViewerServer::Stop() { server_->stop(); }

bool ViewerServer::Running() const { return server_->is_running(); }

absl::Status ServeUntilSignal(ViewerApi& api, const std::string& address, int port,
                              const std::string& banner_prefix) {
  // Every thread, the server's included, blocks SIGINT and SIGTERM; one
  // thread waits for them and stops the server, so the process exits through
  // main, cleanly.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  ViewerServer server(api);
  absl::StatusOr<int> bound = server.Bind(address, port);
  if (!bound.ok()) return bound.status();
  const std::string host = address.find(':') != std::string::npos ? absl::StrCat("[", address, "]")
                                                                   : address;
  std::printf("%s at http://%s:%d/\n", banner_prefix.c_str(), host.c_str(), *bound);
  std::fflush(stdout);
  // A signal may come before Run has started listening, when a stop would
  // find nothing to stop: the waiter waits for the server to listen (or for
  // Run to fail), then stops it once.
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    if (!done.load()) {
      std::fprintf(stderr, "kiln-heap serve: stopping (signal %d)\n", signal_number);
    }
    while (!done.load() && !server.Running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!done.load()) server.Stop();
  });
  const absl::Status status = server.Run();
  done.store(true);
  // Stopped by something other than a signal: wake the waiter.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return status;
}

}  // namespace kiln::analysis
