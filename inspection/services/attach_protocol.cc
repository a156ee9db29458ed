#include "inspection/services/attach_protocol.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace kiln::attach {
namespace {

// BadCharacter: the position of the first control character (DEL included)
// in `text`, or npos. Bytes >= 0x80 (UTF-8) are allowed.
size_t BadCharacter(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) return i;
  }
  return absl::string_view::npos;
}

bool IsCommandName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string SocketDirectory() {
  const char* tmpdir = getenv("TMPDIR");
  std::string dir = tmpdir != nullptr && tmpdir[0] != '\0' ? tmpdir : "/tmp";
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

std::string CommandLine(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"), std::ios::binary);
  std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!line.empty() && line.back() == '\0') line.pop_back();
  std::replace(line.begin(), line.end(), '\0', ' ');
  return line;
}

std::string SocketPath(pid_t pid) { return absl::StrCat(SocketDirectory(), "/.kiln_pid", pid); }

absl::StatusOr<std::string> EncodeRequest(absl::string_view command,
                                          const std::vector<std::string>& arguments) {
  if (!IsCommandName(command)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", command, "\" is not a command name"));
  }
  std::string line = absl::StrCat(kVersion, " ", command);
  if (!arguments.empty()) absl::StrAppend(&line, " ", absl::StrJoin(arguments, " "));
  if (const size_t bad = BadCharacter(line); bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the request holds a control character (0x%02x)",
                        static_cast<unsigned char>(line[bad])));
  }
  if (line.size() + 1 > kMaxRequestBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the request is ", line.size() + 1,
                                                   " bytes; the limit is ", kMaxRequestBytes));
  }
  line += '\n';
  return line;
}

absl::StatusOr<Request> ParseRequest(absl::string_view line) {
  if (line.size() + 1 > kMaxRequestBytes) {
    return absl::InvalidArgumentError(absl::StrCat("request longer than ", kMaxRequestBytes,
                                                   " bytes"));
  }
  if (const size_t bad = BadCharacter(line); bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "malformed request: control character 0x%02x at byte %d",
        static_cast<unsigned char>(line[bad]), bad));
  }
  const size_t space = line.find(' ');
  const absl::string_view version = line.substr(0, space);
  if (version != kVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed request: expected protocol version ", kVersion, " first, got \"",
        absl::CHexEscape(version.substr(0, 32)), "\""));
  }
  if (space == absl::string_view::npos) {
    return absl::InvalidArgumentError("malformed request: no command");
  }
  absl::string_view rest = line.substr(space + 1);
  const size_t end = rest.find(' ');
  Request request;
  request.command = std::string(rest.substr(0, end));
  if (!IsCommandName(request.command)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed request: \"", absl::CHexEscape(absl::string_view(request.command).substr(0, 64)),
        "\" is not a command name"));
  }
  if (end != absl::string_view::npos) request.arguments = std::string(rest.substr(end + 1));
  return request;
}

void FrameHeader(FrameType type, uint32_t size, uint8_t out[kFrameHeaderBytes]) {
  out[0] = static_cast<uint8_t>(type);
  out[1] = static_cast<uint8_t>(size >> 24);
  out[2] = static_cast<uint8_t>(size >> 16);
  out[3] = static_cast<uint8_t>(size >> 8);
  out[4] = static_cast<uint8_t>(size);
}

std::string Frame(FrameType type, absl::string_view payload) {
  uint8_t header[kFrameHeaderBytes];
  FrameHeader(type, static_cast<uint32_t>(payload.size()), header);
  return absl::StrCat(absl::string_view(reinterpret_cast<const char*>(header), sizeof(header)),
                      payload);
}

std::string EndFrame(const absl::Status& status) {
  return Frame(FrameType::kEnd, status.ok() ? "0" : absl::StrCat("1", status.message()));
}

absl::StatusOr<FrameHead> ParseFrameHeader(const uint8_t header[kFrameHeaderBytes]) {
  const auto type = static_cast<FrameType>(header[0]);
  if (type != FrameType::kText && type != FrameType::kData && type != FrameType::kEnd) {
    return absl::DataLossError(absl::StrFormat("bad frame type 0x%02x", header[0]));
  }
  const uint32_t size = uint32_t{header[1]} << 24 | uint32_t{header[2]} << 16 |
                        uint32_t{header[3]} << 8 | uint32_t{header[4]};
  if (size > kMaxFrameBytes) {
    return absl::DataLossError(absl::StrCat("frame of ", size, " bytes; the limit is ",
                                            kMaxFrameBytes));
  }
  return FrameHead{type, size};
}

absl::Status EndStatus(absl::string_view payload) {
  if (payload == "0") return absl::OkStatus();
  if (absl::ConsumePrefix(&payload, "1")) return absl::UnknownError(payload);
  return absl::DataLossError("bad end frame");
}

absl::StatusOr<HeapDumpRequest> ParseHeapDumpArguments(absl::string_view arguments) {
  HeapDumpRequest request;
  for (;;) {
    const size_t end = arguments.find(' ');
    const absl::string_view word = arguments.substr(0, end);
    if (word.size() < 2 || word[0] != '-') break;  // "-" alone is the file name
    if (word == "-all") {
      request.live = false;
    } else if (word == "-fork") {
      request.fork = true;
    } else if (absl::StartsWith(word, "-gz=")) {
      if (!absl::SimpleAtoi(word.substr(4), &request.gzip_level) || request.gzip_level < 1 ||
          request.gzip_level > 9) {
        return absl::InvalidArgumentError(
            absl::StrCat("GC.heap_dump: -gz takes a level from 1 to 9, not \"",
                         word.substr(4), "\""));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "GC.heap_dump: unknown option \"", word, "\" (known: -all, -gz=N, -fork)"));
    }
    arguments = end == absl::string_view::npos ? "" : arguments.substr(end + 1);
  }
  if (arguments.empty()) {
    return absl::InvalidArgumentError(
        "GC.heap_dump: no FILENAME (a path on the target's side, or - to stream the dump)");
  }
  request.path = std::string(arguments);
  return request;
}

absl::StatusOr<bool> ParseHistogramArguments(absl::string_view arguments) {
  if (arguments.empty()) return true;
  if (arguments == "-all") return false;
  return absl::InvalidArgumentError(absl::StrCat("GC.class_histogram: unknown argument \"",
                                                 arguments, "\" (known: -all)"));
}

}  // namespace kiln::attach
