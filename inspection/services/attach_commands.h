// The attach listener's commands, named as jcmd's (ATTACH.md has the list):
// what each one answers for a runtime, as text. The socket, the streaming of
// `GC.heap_dump -` and the frames are attach_listener.cc's; this is the part
// a test can call in process.
//
//   absl::StatusOr<std::string> text = kiln::attach::RunCommand(runtime, request, context);
#ifndef KILN_INSPECTION_SERVICES_ATTACH_COMMANDS_H_
#define KILN_INSPECTION_SERVICES_ATTACH_COMMANDS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/must_use.h"
#include "inspection/services/attach_protocol.h"
#include "inspection/internal/dump_environment.h"
#include "vm/runtime.h"

namespace kiln::attach {

struct CommandContext {
  DumpProperties extra_properties;  // AttachOptions::extra_properties
};

// RunCommand answers `request` for `runtime`: the text a client prints, or an
// error naming what was wrong (an unknown command, bad arguments, a failed
// dump). GC.heap_dump with FILENAME "-" is the listener's (it streams);
// here it is InvalidArgument. Dumps and thread dumps run on the VM thread.
KILN_MUST_USE absl::StatusOr<std::string> RunCommand(Runtime& runtime, const Request& request,
                                       const CommandContext& context);

// ClassHistogram: GC.class_histogram's table, in jmap -histo's layout:
// objects reachable from the roots (`live`, found by marking, without
// collecting) or every object on the heap, by class, most bytes first.
// java.lang.Class counts the class mirrors (a dump's CLASS_DUMP records).
KILN_MUST_USE absl::StatusOr<std::string> ClassHistogram(Runtime& runtime, bool live);

}  // namespace kiln::attach

#endif  // KILN_INSPECTION_SERVICES_ATTACH_COMMANDS_H_
