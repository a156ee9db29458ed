// kiln-heap's subcommands. Each reads the dump named by args.positional
// ["FILE"], writes its report to `out` (the caller prints it) and returns a
// Status naming what failed. kiln_heap_main.cc holds the grammar.
#ifndef KILN_INSPECTION_ANALYSIS_CLI_COMMANDS_H_
#define KILN_INSPECTION_ANALYSIS_CLI_COMMANDS_H_

#include <string>

#include "absl/status/status.h"
#include "base/must_use.h"
#include "inspection/analysis/cli_args.h"

namespace kiln::analysis {

// cli_report.cc
KILN_MUST_USE absl::Status CommandSummary(const CliArgs& args, std::string* out);
KILN_MUST_USE absl::Status CommandHistogram(const CliArgs& args, std::string* out);
KILN_MUST_USE absl::Status CommandThreads(const CliArgs& args, std::string* out);

// cli_graphs.cc
KILN_MUST_USE absl::Status CommandFlamegraph(const CliArgs& args, std::string* out);
KILN_MUST_USE absl::Status CommandDominators(const CliArgs& args, std::string* out);

// cli_sql.cc
KILN_MUST_USE absl::Status CommandSql(const CliArgs& args, std::string* out);
KILN_MUST_USE absl::Status CommandQuery(const CliArgs& args, std::string* out);

// cli_serve.cc (the cli_viewer library)
KILN_MUST_USE absl::Status CommandServe(const CliArgs& args, std::string* out);
KILN_MUST_USE absl::Status CommandDiff(const CliArgs& args, std::string* out);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_CLI_COMMANDS_H_
