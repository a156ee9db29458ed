// DateTimeNow: the time as Java's DateFormat.getDateTimeInstance() prints it
// in the US locale ("May 15, 2020, 4:28:14 PM"), so that the SVMHeapDump
// ports print what the originals print.
#ifndef KILN_SAMPLES_DATE_FORMAT_H_
#define KILN_SAMPLES_DATE_FORMAT_H_

#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kiln::samples {

inline std::string DateTimeNow() {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const absl::CivilSecond t = absl::ToCivilSecond(absl::Now(), absl::LocalTimeZone());
  const int hour12 = t.hour() % 12 == 0 ? 12 : t.hour() % 12;
  return absl::StrFormat("%s %d, %d, %d:%02d:%02d %s", kMonths[t.month() - 1], t.day(), t.year(),
                         hour12, t.minute(), t.second(), t.hour() < 12 ? "AM" : "PM");
}

}  // namespace kiln::samples

#endif  // KILN_SAMPLES_DATE_FORMAT_H_
