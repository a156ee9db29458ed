// kiln-heap: reads HPROF heap dumps (Kiln's, the JDK's, Android's; plain or
// gzip) and answers the usual questions: what is in the heap (summary,
// histogram), who is running (threads), what keeps memory alive (flamegraph,
// dominators), and anything else in SQL over Perfetto's heap_graph_* tables
// (sql, query). `kiln-heap --help` lists the commands; `./kiln heap ...`
// builds and runs it.
//
// Exit status: 0 on success, 1 when the command fails (a corrupt file, an
// I/O error; the message names the offset or the path), 2 for usage errors.
#include <malloc.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "inspection/analysis/cli_args.h"
#include "inspection/analysis/cli_commands.h"
#include "inspection/analysis/cli_load.h"

namespace kiln::analysis {
namespace {

using CommandFn = absl::Status (*)(const CliArgs&, std::string*);

struct Command {
  CommandSpec spec;
  CommandFn run;
  const char* help;
};

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {{"summary", {"FILE"}, {}, {}, "summary FILE"},
       CommandSummary,
       "header, record counts, classes, objects, shallow and native bytes,\n"
       "reachability, roots by kind, threads"},
      {{"histogram", {"FILE"}, {"top", "by"}, {"reachable"},
        "histogram FILE [--reachable] [--top N] [--by self|native|count]"},
       CommandHistogram,
       "per class: instances, shallow bytes (Perfetto's self_size), native bytes"},
      {{"threads", {"FILE"}, {}, {}, "threads FILE"},
       CommandThreads,
       "every thread in the dump with its stack, in the jstack layout"},
      {{"flamegraph", {"FILE"}, {"format", "output"}, {},
        "flamegraph FILE [--format folded|svg|json] [-o OUT]"},
       CommandFlamegraph,
       "Perfetto's retention flamegraph: shortest paths from the roots, merged\n"
       "by class; folded (flamegraph.pl), json, or a self-contained svg"},
      {{"dominators", {"FILE"}, {"top"}, {}, "dominators FILE [--top N]"},
       CommandDominators,
       "the biggest retainers by retained size (dominator tree), with their\n"
       "paths to a root"},
      {{"sql", {"FILE"}, {"output"}, {}, "sql FILE -o OUT.sqlite"},
       CommandSql,
       "an SQLite database with Perfetto's heap_graph_class, heap_graph_object\n"
       "and heap_graph_reference tables (OUT must not exist)"},
      {{"query", {"FILE", "SQL"}, {}, {}, "query FILE 'SQL'"},
       CommandQuery,
       "one SQL statement over those tables (built in memory; FILE may also be\n"
       "a database from `sql`), printed as a table; experimental_flamegraph(...)\n"
       "as in Perfetto"},
      {{"serve", {"FILE"}, {"port", "bind", "baseline", "sizes"}, {},
        "serve FILE [--port N] [--bind ADDR] [--baseline OLD.hprof] [--sizes perfetto|jvm]"},
       CommandServe,
       "the heap viewer in the browser (overview, histogram, classes, objects,\n"
       "dominator tree, flamegraph, threads, SQL) and its JSON API under /api/;\n"
       "loopback only unless --bind says otherwise; until SIGINT or SIGTERM"},
      {{"diff", {"OLD", "NEW"}, {"top"}, {"reachable"},
        "diff OLD NEW [--top N] [--reachable]"},
       CommandDiff,
       "per class, the change in instances and bytes from OLD to NEW"},
  };
  return *commands;
}

std::string Usage() {
  std::string text =
      "usage: kiln-heap <command> FILE [options]\n\n"
      "Reads HPROF heap dumps: Kiln's, the JDK's (jcmd GC.heap_dump,\n"
      "HotSpotDiagnosticMXBean) and Android's; plain or gzip (-gz=N).\n\n"
      "commands:\n";
  for (const Command& command : Commands()) {
    text += "  ";
    text += command.spec.usage;
    text += "\n";
    std::string help = command.help;
    size_t start = 0;
    while (start < help.size()) {
      const size_t end = help.find('\n', start);
      text += "      " + help.substr(start, end - start) + "\n";
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  text +=
      "\n--threads N (any command): parse the dump on N worker threads (default 1:\n"
      "serial; 0: the machine's cores, at most 8); every result, and every\n"
      "error, is the same for any N.\n"
      "Progress shows on stderr for large files when stderr is a terminal.\n"
      "Exit status: 0 ok, 1 the command failed, 2 usage error.\n";
  return text;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(Usage().c_str(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  // --threads N (or =N), before or after the command: the parse's threads.
  for (size_t i = 0; i < args.size(); ++i) {
    const bool inline_value = args[i].rfind("--threads=", 0) == 0;
    if (args[i] != "--threads" && !inline_value) continue;
    std::string value = inline_value ? args[i].substr(10) : i + 1 < args.size() ? args[i + 1] : "";
    int threads = 0;
    if (!absl::SimpleAtoi(value, &threads) || threads < 0 || threads > 64) {
      std::fprintf(stderr, "kiln-heap: --threads needs a count from 0 to 64, not '%s'\n",
                   value.c_str());
      return 2;
    }
    SetLoadThreads(threads == 0 ? HprofDefaultThreads() : threads);
    args.erase(args.begin() + i, args.begin() + i + (inline_value ? 1 : 2));
    break;
  }
  std::vector<CommandSpec> specs;
  for (const Command& command : Commands()) specs.push_back(command.spec);
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(Usage().c_str(), stdout);
      return 0;
    }
  }
  absl::StatusOr<CliArgs> parsed = ParseArgs(args, specs);
  if (!parsed.ok()) {
    std::fprintf(stderr, "kiln-heap: %s\n", std::string(parsed.status().message()).c_str());
    if (parsed.status().message().find("usage:") == absl::string_view::npos) {
      std::fputs(Usage().c_str(), stderr);
    }
    return 2;
  }
  for (const Command& command : Commands()) {
    if (parsed->command != command.spec.name) continue;
    std::string out;
    const absl::Status status = command.run(*parsed, &out);
    std::fwrite(out.data(), 1, out.size(), stdout);
    if (std::fflush(stdout) != 0) {
      std::fprintf(stderr, "kiln-heap: writing the output failed\n");
      return 1;
    }
    if (!status.ok()) {
      std::fprintf(stderr, "kiln-heap: %s\n", std::string(status.message()).c_str());
      return absl::IsInvalidArgument(status) && status.message().find("usage:") !=
                                                      absl::string_view::npos
                 ? 2
                 : 1;
    }
    return 0;
  }
  return 2;
}

}  // namespace
}  // namespace kiln::analysis

int main(int argc, char** argv) {
  // Every block of 1 MiB or more gets its own mapping, returned to the
  // system when freed. glibc's default raises this threshold to the size of
  // the last mapped block freed (up to 32 MiB), after which the per-object
  // arrays (26 MB each at 6.5 M objects) would come from the heap and stay
  // resident once freed: the parse's scratch and the dominator computation's
  // arrays would then add to the peak after they are gone.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  return kiln::analysis::Main(argc, argv);
}
