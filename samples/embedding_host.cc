// embedding_host: a host application that embeds Kiln the way a real one
// does. The host owns its threads; Kiln is a library inside it.
//
// - The host creates a runtime (no inspection signals: a library installs no
//   handler unless asked), with its own classes.
// - A pool of host worker threads attach (ThreadScope) for each job and
//   detach after it, so threads come and go while the runtime runs.
// - Each job builds an image-like object, "host.Texture", whose pixels live in
//   malloc'd native memory registered with a NativeAllocationRegistry: the
//   Cleaner daemon frees a buffer once its Texture is unreachable. Completed
//   textures go into a host-owned cache (Global handles); the rest become
//   garbage.
// - From the host's side, with its workers parked in native code, it takes a
//   thread dump (printed) and a live heap dump (to --dump_dir, the default
//   name), and prints what it registered, what the Cleaner freed and where
//   the dump is. Perfetto and ahat attribute the native bytes in that dump to
//   the Textures (sun.misc.Cleaner -> thunk -> registry.size).
#include <stdio.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "base/notification.h"
#include "base/status_macros.h"
#include "inspection/thread_dump.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

ABSL_FLAG(int, workers, 3, "host threads");
ABSL_FLAG(int, jobs, 12, "jobs per worker; each attaches, builds a texture and detaches");
ABSL_FLAG(int, texture_bytes, 64 << 10, "native bytes per texture");
ABSL_FLAG(std::string, dump_dir, "", "where the heap dump goes (default: $TMPDIR or /tmp)");

namespace {

using kiln::FieldType;

std::atomic<int64_t> g_native_live{0};
std::atomic<int64_t> g_freed{0};

void FreePixels(void* pixels) {
  std::free(pixels);
  g_freed.fetch_add(1);
}

kiln::RuntimeOptions Options() {
  kiln::RuntimeOptions options;
  options.heap_limit_bytes = 64 << 20;
  options.classes.push_back({.name = "host.Texture",
                             .source_file = "embedding_host.cc",
                             .fields = {{"name", FieldType::kObject},
                                        {"width", FieldType::kInt},
                                        {"height", FieldType::kInt}},
                             .methods = {{"decode", "(Ljava/lang/String;)Lhost/Texture;"}}});
  options.classes.push_back({.name = "host.Worker",
                             .source_file = "embedding_host.cc",
                             .methods = {{"job", "(I)V"}, {"park", "()V"}}});
  return options;
}

// HostApi: the host's classes, fields and methods, resolved once.
struct HostApi {
  const kiln::Class* texture;
  kiln::FieldRef<kiln::String*> name;
  kiln::FieldRef<int32_t> width;
  kiln::FieldRef<int32_t> height;
  const kiln::Method* decode;
  const kiln::Method* job;
  const kiln::Method* park;
};

absl::StatusOr<HostApi> ResolveHostApi(const kiln::Runtime& runtime) {
  kiln::Resolver resolver(runtime);
  HostApi api;
  api.texture = resolver.Class("host.Texture");
  api.name = resolver.Field<kiln::String*>(api.texture, "name");
  api.width = resolver.Field<int32_t>(api.texture, "width");
  api.height = resolver.Field<int32_t>(api.texture, "height");
  api.decode = resolver.Method(api.texture, "decode", "(Ljava/lang/String;)Lhost/Texture;");
  const kiln::Class* worker = resolver.Class("host.Worker");
  api.job = resolver.Method(worker, "job", "(I)V");
  api.park = resolver.Method(worker, "park", "()V");
  RETURN_IF_ERROR(resolver.status());
  return api;
}

// Host: the application around the runtime.
class Host {
 public:
  Host(kiln::Runtime& runtime, const HostApi& api) : runtime_(runtime), api_(api) {}

  // Start creates the registry (from an attached host thread) and starts the
  // workers.
  absl::Status Start() {
    ASSIGN_OR_RETURN(kiln::ThreadScope scope, kiln::ThreadScope::Attach(runtime_, "host-main"));
    kiln::Frame frame(scope, api_.park);
    const int64_t bytes = absl::GetFlag(FLAGS_texture_bytes);
    ASSIGN_OR_RETURN(kiln::Local<kiln::Object> registry,
                     kiln::NativeAllocationRegistry::Create(frame, &FreePixels, bytes));
    registry_ = kiln::Global<kiln::Object>(registry);
    for (int w = 0; w < absl::GetFlag(FLAGS_workers); ++w) {
      workers_.emplace_back([this, w] { WorkerLoop(w); });
    }
    return absl::OkStatus();
  }

  // WaitForJobs: until every worker has done its jobs and parked.
  void WaitForJobs() {
    kiln::MutexLock lock(&mu_);
    while (parked_ < static_cast<int>(workers_.size())) cv_.Wait(&mu_);
  }

  void Stop() {
    release_.Notify();
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
    {
      kiln::MutexLock lock(&mu_);
      cache_.clear();
    }
    registry_ = kiln::Global<kiln::Object>();
  }

  int cached() {
    kiln::MutexLock lock(&mu_);
    return static_cast<int>(cache_.size());
  }
  int64_t registered() const { return registered_.load(); }

 private:
  // Job: attach, decode one texture, keep every other one, detach.
  absl::Status Job(int worker, int job) {
    // A pooled thread may race the runtime's shutdown: then this job fails.
    ASSIGN_OR_RETURN(kiln::ThreadScope scope,
                     kiln::ThreadScope::Attach(runtime_, absl::StrCat("host-worker-", worker)));
    kiln::Frame frame(scope, api_.job);
    KILN_LINE(frame);
    kiln::Frame decode(scope, api_.decode);
    KILN_LINE(decode);
    ASSIGN_OR_RETURN(kiln::Local<kiln::Object> texture, kiln::Object::New(decode, api_.texture));
    ASSIGN_OR_RETURN(kiln::Local<kiln::String> name,
                     kiln::String::New(decode, absl::StrCat("texture-", worker, "-", job)));
    texture->Set(api_.name, name.get());
    texture->Set(api_.width, 128);
    texture->Set(api_.height, 128);
    void* pixels = std::calloc(1, absl::GetFlag(FLAGS_texture_bytes));
    if (pixels == nullptr) return absl::ResourceExhaustedError("host: out of native memory");
    kiln::Local<kiln::Object> registry = decode.NewLocal(registry_.get());
    RETURN_IF_ERROR(kiln::NativeAllocationRegistry::RegisterNativeAllocation(
        decode, registry, texture, pixels));
    registered_.fetch_add(1);
    if (job % 2 == 0) {
      kiln::Global<kiln::Object> kept(texture);
      kiln::MutexLock lock(&mu_);
      cache_.push_back(std::move(kept));
    }
    return absl::OkStatus();
  }

  void WorkerLoop(int worker) {
    for (int job = 0; job < absl::GetFlag(FLAGS_jobs); ++job) {
      absl::Status status = Job(worker, job);
      if (!status.ok()) std::fprintf(stderr, "host-worker-%d: %s\n", worker, status.ToString().c_str());
    }
    // Parked, attached, in a managed frame: what the dumps show.
    kiln::ThreadScope scope(runtime_, absl::StrCat("host-worker-", worker));
    kiln::Frame park(scope, api_.park);
    KILN_LINE(park);
    kiln::ScopedNative native(scope, kiln::ThreadStatus::kWaiting);
    {
      kiln::MutexLock lock(&mu_);
      ++parked_;
      cv_.SignalAll();
    }
    release_.WaitForNotification();
  }

  kiln::Runtime& runtime_;
  const HostApi& api_;
  kiln::Global<kiln::Object> registry_;
  std::vector<std::thread> workers_;
  std::atomic<int64_t> registered_{0};
  kiln::Notification release_;
  kiln::Mutex mu_;
  kiln::CondVar cv_;
  int parked_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<kiln::Global<kiln::Object>> cache_ ABSL_GUARDED_BY(mu_);
};

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "embedding_host: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "A host application embedding Kiln: worker threads attach, build textures with native "
      "buffers\nin a NativeAllocationRegistry, and the host dumps the heap and the threads.\n"
      "Usage: embedding_host [--workers=N] [--jobs=N] [--texture_bytes=N] [--dump_dir=DIR]");
  absl::ParseCommandLine(argc, argv);
  setvbuf(stdout, nullptr, _IOLBF, 0);
  absl::StatusOr<std::unique_ptr<kiln::Runtime>> created = kiln::Runtime::Create(Options());
  if (!created.ok()) return Fail(created.status());
  kiln::Runtime& runtime = **created;
  absl::StatusOr<HostApi> api = ResolveHostApi(runtime);
  if (!api.ok()) return Fail(api.status());
  Host host(runtime, *api);
  if (absl::Status status = host.Start(); !status.ok()) return Fail(status);
  host.WaitForJobs();
  // Collect so the dropped textures' native buffers go back.
  absl::StatusOr<kiln::gc::CollectionStats> gc = runtime.CollectGarbage();
  if (!gc.ok()) return Fail(gc.status());
  std::printf("Host: %d workers ran %lld jobs; %d textures cached, %lld native buffers "
              "registered (%d bytes each)\n",
              absl::GetFlag(FLAGS_workers), static_cast<long long>(host.registered()),
              host.cached(), static_cast<long long>(host.registered()),
              absl::GetFlag(FLAGS_texture_bytes));

  absl::StatusOr<std::string> threads = kiln::ThreadDump(runtime);
  if (!threads.ok()) return Fail(threads.status());
  std::printf("%s", threads->c_str());

  kiln::HeapDumpOptions dump;
  dump.path = absl::GetFlag(FLAGS_dump_dir);
  if (dump.path.empty()) {
    const char* tmpdir = std::getenv("TMPDIR");
    dump.path = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  }
  absl::StatusOr<std::string> path = kiln::VMRuntime::DumpHeap(runtime, dump);
  if (!path.ok()) return Fail(path.status());
  struct stat st;
  std::printf("Heap dump created %s, size: %lld\n", path->c_str(),
              stat(path->c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1LL);

  host.Stop();
  // The Cleaner frees asynchronously; what is still registered when the
  // runtime shuts down is freed then.
  created->reset();
  std::printf("Native buffers freed: %lld of %lld\n", static_cast<long long>(g_freed.load()),
              static_cast<long long>(host.registered()));
  return g_freed.load() == host.registered() ? 0 : 1;
}
