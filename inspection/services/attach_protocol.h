// The attach protocol (ATTACH.md beside this file): what kiln-ctl and a
// runtime's attach listener say to each other over the Unix socket
// ${TMPDIR:-/tmp}/.kiln_pid<PID>. Bytes only: no socket and no runtime here,
// so the parsing is tested (and fuzzed) on its own.
//
// Request: one line, "1 <command>[ <arguments>]\n", at most kMaxRequestBytes
// with the newline, no control characters. "1" is the protocol version.
// Response: frames, each a type byte, a 4-byte big-endian length and that
// many bytes: kText (the answer, printed on the client's stdout), kData (a
// streamed heap dump's next bytes), then exactly one kEnd whose payload is
// "0" (success) or "1<message>" (the error), after which the target closes.
#ifndef KILN_INSPECTION_SERVICES_ATTACH_PROTOCOL_H_
#define KILN_INSPECTION_SERVICES_ATTACH_PROTOCOL_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/must_use.h"

namespace kiln::attach {

inline constexpr size_t kMaxRequestBytes = 4096;
inline constexpr char kVersion[] = "1";
// The most bytes in one frame's payload; a longer one is a broken stream.
inline constexpr uint32_t kMaxFrameBytes = uint32_t{1} << 20;
inline constexpr size_t kFrameHeaderBytes = 5;

enum class FrameType : uint8_t { kText = 'T', kData = 'D', kEnd = 'E' };

// SocketPath: ${TMPDIR:-/tmp}/.kiln_pid<pid> (TMPDIR as this process sees it).
std::string SocketDirectory();
std::string SocketPath(pid_t pid);

// CommandLine: /proc/<pid>/cmdline, the words joined by spaces ("" if the
// process is gone).
std::string CommandLine(pid_t pid);

struct Request {
  std::string command;    // "GC.heap_dump"
  std::string arguments;  // the rest of the line after one space, verbatim
};

// EncodeRequest: the request line for `command` and `arguments` (joined with
// single spaces). InvalidArgument for a newline or control character, an
// empty command, or a line over the limit.
KILN_MUST_USE absl::StatusOr<std::string> EncodeRequest(absl::string_view command,
                                          const std::vector<std::string>& arguments);

// ParseRequest parses one request line (the bytes before '\n', which must
// not be included). InvalidArgument names what is wrong.
KILN_MUST_USE absl::StatusOr<Request> ParseRequest(absl::string_view line);

// Frame: header and payload, ready to send.
std::string Frame(FrameType type, absl::string_view payload);
std::string EndFrame(const absl::Status& status);

// FrameHeader: the header of a frame of `size` payload bytes.
void FrameHeader(FrameType type, uint32_t size, uint8_t out[kFrameHeaderBytes]);
// ParseFrameHeader: a received header's type and size. DataLoss names a bad
// type or an oversized frame.
struct FrameHead {
  FrameType type;
  uint32_t size;
};
KILN_MUST_USE absl::StatusOr<FrameHead> ParseFrameHeader(const uint8_t header[kFrameHeaderBytes]);
// EndStatus: the status a kEnd payload carries.
KILN_MUST_USE absl::Status EndStatus(absl::string_view payload);

// The arguments of the commands that take some.
struct HeapDumpRequest {
  bool live = true;
  int gzip_level = 0;
  bool fork = false;
  std::string path;  // "-": stream over the socket
};
// ParseHeapDumpArguments: "[-all] [-gz=N] [-fork] FILENAME|-". The options
// come first; the rest of the line is the file name, spaces and all.
KILN_MUST_USE absl::StatusOr<HeapDumpRequest> ParseHeapDumpArguments(absl::string_view arguments);
// ParseHistogramArguments: "" (live objects) or "-all" (every object).
KILN_MUST_USE absl::StatusOr<bool> ParseHistogramArguments(absl::string_view arguments);

}  // namespace kiln::attach

#endif  // KILN_INSPECTION_SERVICES_ATTACH_PROTOCOL_H_
