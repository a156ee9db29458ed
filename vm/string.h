// String: java.lang.String in the JDK 9+ compact layout.
//
//   byte[] value   the characters: Latin-1 (one byte each) when every char
//                  fits, otherwise UTF-16 in little-endian byte order
//   byte   coder   0 Latin-1, 1 UTF-16 (what HPROF readers decode)
//   int    hash    String.hashCode(), cached, 0 until computed
#ifndef KILN_VM_STRING_H_
#define KILN_VM_STRING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/must_use.h"
#include "vm/object.h"

namespace kiln {

class String : public Object {
 public:
  static constexpr int8_t kLatin1 = 0;
  static constexpr int8_t kUtf16 = 1;

  // New makes a String from UTF-8 text; InvalidArgument if it is not valid
  // UTF-8, ResourceExhausted if the heap is full.
  KILN_MUST_USE static absl::StatusOr<Local<String>> New(Frame& frame, absl::string_view utf8);
  // Intern returns the runtime's one String with this text (Java's
  // String.intern()), making it on first use. Interned strings are roots for
  // the runtime's lifetime.
  KILN_MUST_USE static absl::StatusOr<Local<String>> Intern(Frame& frame, absl::string_view utf8);
  // NewUtf16 makes a String from UTF-16 code units.
  KILN_MUST_USE static absl::StatusOr<Local<String>> NewUtf16(Frame& frame,
                                                              std::u16string_view utf16);

  // length: the number of UTF-16 code units (Java's String.length()).
  uint32_t length() const;
  int8_t coder() const;
  char16_t CharAt(uint32_t index) const;
  // ToUtf8: the text as UTF-8 (unpaired surrogates become U+FFFD).
  std::string ToUtf8() const;
  // HashCode: Java's String.hashCode(), cached in the hash field.
  int32_t HashCode();

  ByteArray* value() const;
};

}  // namespace kiln

#endif  // KILN_VM_STRING_H_
