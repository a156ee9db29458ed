// kiln-heap's command-line parser.
#include "inspection/analysis/cli_args.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kiln::analysis {
namespace {

bool Contains(const std::vector<const char*>& names, const std::string& name) {
  return std::any_of(names.begin(), names.end(),
                     [&](const char* n) { return name == n; });
}

absl::Status UsageError(const CommandSpec& spec, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(problem, "\nusage: kiln-heap ", spec.usage));
}

}  // namespace

absl::StatusOr<uint64_t> CliArgs::GetCount(const std::string& name, uint64_t fallback) const {
  if (!Has(name)) return fallback;
  uint64_t value;
  if (!absl::SimpleAtoi(options.at(name), &value)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name,
                                                   " wants a non-negative integer, not '",
                                                   options.at(name), "'\nusage: kiln-heap ",
                                                   usage));
  }
  return value;
}

absl::StatusOr<std::string> CliArgs::GetChoice(const std::string& name,
                                               absl::Span<const char* const> choices) const {
  const std::string value = Get(name, choices[0]);
  for (const char* choice : choices) {
    if (value == choice) return value;
  }
  return absl::InvalidArgumentError(absl::StrCat("--", name, " is one of ",
                                                 absl::StrJoin(choices, "|"), ", not '", value,
                                                 "'\nusage: kiln-heap ", usage));
}

absl::StatusOr<CliArgs> ParseArgs(absl::Span<const std::string> args,
                                  absl::Span<const CommandSpec> commands) {
  if (args.empty()) return absl::InvalidArgumentError("no command given");
  const CommandSpec* spec = nullptr;
  for (const CommandSpec& c : commands) {
    if (args[0] == c.name) spec = &c;
  }
  if (spec == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown command '", args[0], "'"));
  }
  CliArgs parsed;
  parsed.command = spec->name;
  parsed.usage = spec->usage;
  size_t next_positional = 0;
  bool only_positional = false;  // after "--"
  for (size_t i = 1; i < args.size(); ++i) {
    std::string arg = args[i];
    if (!only_positional && arg == "--") {
      only_positional = true;
      continue;
    }
    if (!only_positional && arg.size() > 1 && arg[0] == '-') {
      if (arg == "-o") arg = "--output";
      if (!absl::StartsWith(arg, "--")) return UsageError(*spec, absl::StrCat("unknown option ", arg));
      std::string name = arg.substr(2), value;
      const size_t eq = name.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      if (Contains(spec->switches, name) && !inline_value) {
        parsed.options[name] = "";
      } else if (Contains(spec->options, name)) {
        if (!inline_value) {
          if (i + 1 == args.size()) {
            return UsageError(*spec, absl::StrCat("--", name, " needs a value"));
          }
          value = args[++i];
        }
        parsed.options[name] = value;
      } else {
        return UsageError(*spec, absl::StrCat("unknown option ", arg, " for ", spec->name));
      }
      continue;
    }
    if (next_positional == spec->positional.size()) {
      return UsageError(*spec, absl::StrCat("unexpected argument '", arg, "'"));
    }
    parsed.positional[spec->positional[next_positional++]] = arg;
  }
  if (next_positional < spec->positional.size()) {
    return UsageError(*spec, absl::StrCat("missing ", spec->positional[next_positional]));
  }
  return parsed;
}

}  // namespace kiln::analysis
