// UTF-16 to UTF-8, for Java strings leaving the managed world (String::ToUtf8,
// strings read back from heap dumps). Unpaired surrogates become U+FFFD.
#ifndef KILN_BASE_UTF8_H_
#define KILN_BASE_UTF8_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln {

// AppendUtf8 appends the UTF-8 encoding of `code_point` to `out`.
void AppendUtf8(uint32_t code_point, std::string* out);

// Utf16ToUtf8 converts UTF-16 code units to UTF-8.
std::string Utf16ToUtf8(std::u16string_view units);

}  // namespace kiln

#endif  // KILN_BASE_UTF8_H_
