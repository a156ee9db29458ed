// kiln-heap's command line: `kiln-heap <command> FILE [ARG] [--option VALUE]
// [--switch]`, parsed by hand against a small per-command spec (Abseil's
// flags are process-global and know nothing of subcommands).
//
//   ASSIGN_OR_RETURN(CliArgs args, ParseArgs(argc, argv, kCommands));
//   args.Has("reachable"); args.Get("top", "20");
//
// Options may be written `--top 5` or `--top=5`; `-o` is `--output`.
// Arguments are positional in the order the spec names them.
#ifndef KILN_INSPECTION_ANALYSIS_CLI_ARGS_H_
#define KILN_INSPECTION_ANALYSIS_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/must_use.h"

namespace kiln::analysis {

// CommandSpec: one subcommand's grammar.
struct CommandSpec {
  const char* name;
  std::vector<const char*> positional;  // names, in order ("FILE", "SQL")
  std::vector<const char*> options;     // take a value ("top", "by", "format", "output")
  std::vector<const char*> switches;    // no value ("reachable")
  const char* usage;                    // one usage line, for errors and --help
};

struct CliArgs {
  std::string command;
  std::string usage;  // the command's usage line, for errors in its options
  std::map<std::string, std::string> positional;  // by spec name
  std::map<std::string, std::string> options;     // switches map to ""

  bool Has(const std::string& name) const { return options.count(name) != 0; }
  std::string Get(const std::string& name, const std::string& fallback) const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
  // GetCount: a non-negative integer option; InvalidArgument naming it (and
  // the usage line, as for every usage error).
  KILN_MUST_USE absl::StatusOr<uint64_t> GetCount(const std::string& name, uint64_t fallback) const;
  // GetChoice: an option that must be one of `choices` (the first is the
  // default).
  KILN_MUST_USE absl::StatusOr<std::string> GetChoice(const std::string& name,
                                                      absl::Span<const char* const> choices) const;
};

// ParseArgs: `args` excludes the program name. InvalidArgument, with the
// command's usage line, for unknown commands or options and missing or
// extra arguments.
KILN_MUST_USE absl::StatusOr<CliArgs> ParseArgs(absl::Span<const std::string> args,
                                                absl::Span<const CommandSpec> commands);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_CLI_ARGS_H_
