// UTF-16 to UTF-8, for Java strings leaving the managed world (String::ToUtf8,
// strings read back from heap dumps; unpaired surrogates become U+FFFD), and
// UTF-8 to UTF-16 for text coming in (String::New, a dump's properties).
#ifndef KILN_BASE_UTF8_H_
#define KILN_BASE_UTF8_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kiln {

// AppendUtf8 appends the UTF-8 encoding of `code_point` to `out`.
void AppendUtf8(uint32_t code_point, std::string* out);

// Utf16ToUtf8 converts UTF-16 code units to UTF-8.
std::string Utf16ToUtf8(std::u16string_view units);

// Utf8ToUtf16 appends the UTF-16 code units of `utf8` to `out`, or fails
// (InvalidArgument) naming the byte offset of the first malformed sequence.
absl::Status Utf8ToUtf16(absl::string_view utf8, std::u16string* out);

}  // namespace kiln

#endif  // KILN_BASE_UTF8_H_
