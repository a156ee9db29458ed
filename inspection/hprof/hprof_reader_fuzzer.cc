// libFuzzer target for the HPROF reader: any bytes (plain or gzip) must give
// either a snapshot or an error naming the offset, never a crash, a leak or
// undefined behaviour. Built with clang outside Bazel by the `kiln` script's
// fuzz stage:
//
//   clang++ -fsanitize=fuzzer,address,undefined ... inspection/hprof/hprof_reader_fuzzer.cc
//   ./hprof_reader_fuzzer -max_total_time=60 corpus/ seeds/
//
// Seeds come from //inspection:hprof_fuzz_seeds.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/match.h"
#include "base/check.h"
#include "inspection/hprof/hprof_reader.h"
#include "inspection/hprof/hprof_snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  // The reader alone: a format error names its offset.
  kiln::HprofVisitor ignore;
  const absl::Status parsed = kiln::HprofReader::FromBytes(bytes)->Parse(ignore);
  KILN_CHECK(parsed.ok() || absl::StrContains(parsed.message(), "offset "),
             "an error without an offset: ", parsed.ToString());

  // The snapshot on top: indexes, field decoding, strings, reference checks.
  absl::StatusOr<std::unique_ptr<kiln::HprofSnapshot>> snapshot =
      kiln::HprofSnapshot::FromBytes(bytes);
  KILN_CHECK(snapshot.ok() || absl::StrContains(snapshot.status().message(), "offset "),
             "a snapshot error without an offset: ", snapshot.status().ToString());
  if (!snapshot.ok()) return 0;
  (void)(*snapshot)->CheckReferences();
  const kiln::HprofSnapshot::Class* string = (*snapshot)->FindClass("java.lang.String");
  for (const auto& [id, instance] : (*snapshot)->instances()) {
    (void)(*snapshot)->Fields(id);
    if (string != nullptr && instance.class_id == string->id) (void)(*snapshot)->StringValue(id);
  }
  return 0;
}
