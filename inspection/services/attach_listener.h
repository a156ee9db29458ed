// The attach listener: jcmd's way into a running process, as a runtime
// service (ARCHITECTURE.md, "Signals and the attach listener"; the protocol
// and its limits are in ATTACH.md beside this file).
//
//   options.services.push_back(kiln::AttachListener());
//   auto runtime = kiln::Runtime::Create(std::move(options));
//   // ... kiln-ctl <pid> Thread.print, kiln-ctl <pid> GC.heap_dump /tmp/app.hprof
//
// While the runtime runs it listens on ${TMPDIR:-/tmp}/.kiln_pid<PID>, a Unix
// socket that is owner-only (mode 0600) from the moment it has that name, and
// answers only peers with the process's effective uid or root (SO_PEERCRED on
// every connection; a refusal is logged once per uid on stderr). At most
// `max_connections` clients are served at once (the others wait in the
// socket's backlog); a client that sends no request within `client_timeout`
// is dropped, and so is one that stops reading a response for that long.
// Requests that are malformed, oversized or unknown get an error naming what
// was wrong. Dumps run one at a time; they and the thread dumps run on the VM
// thread. The socket is removed when the runtime shuts down; one left by a
// dead process with the same pid is replaced.
//
// One runtime per process may have the listener (the socket's name is the
// pid's): a second is AlreadyExists.
#ifndef KILN_INSPECTION_SERVICES_ATTACH_LISTENER_H_
#define KILN_INSPECTION_SERVICES_ATTACH_LISTENER_H_

#include "absl/time/time.h"
#include "inspection/vm_runtime.h"
#include "vm/runtime.h"

namespace kiln {

struct AttachOptions {
  int max_connections = 4;
  absl::Duration client_timeout = absl::Seconds(10);
  // Added to every dump's System.props (HeapDumpOptions::extra_properties):
  // an embedder's build id; tests pin the memory figures that move.
  DumpProperties extra_properties;
};

// AttachListener: a RuntimeOptions::services entry. Runtime::Create fails if
// the socket cannot be made (its path too long for a Unix socket, the
// directory not writable, a file of another user in the way).
RuntimeServiceFactory AttachListener(AttachOptions options = {});

}  // namespace kiln

#endif  // KILN_INSPECTION_SERVICES_ATTACH_LISTENER_H_
