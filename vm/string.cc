#include "vm/string.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "vm/internal/runtime_access.h"
#include "vm/runtime.h"

namespace kiln {
namespace {

// The builtin String's fields, in declaration order (class_table.cc).
enum StringField { kValue = 0, kCoder = 1, kHash = 2 };

const Field& FieldOf(const String* string, StringField which) {
  return string->GetClass()->fields()[which];
}

}  // namespace

absl::StatusOr<Local<String>> String::New(Frame& frame, absl::string_view utf8) {
  std::u16string utf16;
  RETURN_IF_ERROR(Utf8ToUtf16(utf8, &utf16));
  return NewUtf16(frame, utf16);
}

absl::StatusOr<Local<String>> String::NewUtf16(Frame& frame, std::u16string_view utf16) {
  bool latin1 = true;
  for (char16_t c : utf16) latin1 = latin1 && c <= 0xFF;
  const size_t bytes = latin1 ? utf16.size() : utf16.size() * 2;
  if (bytes > gc::kMaxArrayLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("string of ", utf16.size(), " chars is too long"));
  }
  // The String is allocated (and rooted) first, so that it keeps its value
  // array alive from the moment the array exists.
  const Class* string_class = frame.thread().runtime().classes().string_class();
  ASSIGN_OR_RETURN(Local<Object> object, Object::New(frame, string_class));
  Local<String> string = object.As<String>();
  ASSIGN_OR_RETURN(Local<ByteArray> value,
                   ByteArray::New(frame, static_cast<uint32_t>(bytes)));
  int8_t* out = value->elements();
  if (latin1) {
    for (size_t i = 0; i < utf16.size(); ++i) out[i] = static_cast<int8_t>(utf16[i]);
  } else {
    for (size_t i = 0; i < utf16.size(); ++i) {
      out[2 * i] = static_cast<int8_t>(utf16[i] & 0xFF);
      out[2 * i + 1] = static_cast<int8_t>(utf16[i] >> 8);
    }
  }
  string->SetRef(FieldOf(string.get(), kValue), value.get());
  string->Set<int8_t>(FieldOf(string.get(), kCoder), latin1 ? kLatin1 : kUtf16);
  return string;
}

absl::StatusOr<Local<String>> String::Intern(Frame& frame, absl::string_view utf8) {
  InternTable& table = internal::InternedStringsOf(frame.thread().runtime());
  if (String* found = table.Find(utf8)) return frame.NewLocal(found);
  ASSIGN_OR_RETURN(Local<String> fresh, New(frame, utf8));
  // Another thread may have interned the same text meanwhile: its String wins.
  fresh.Set(table.Insert(utf8, fresh.get()));
  return fresh;
}

String* InternTable::Find(absl::string_view utf8) {
  MutexLock lock(&mu_);
  auto it = strings_.find(utf8);
  return it == strings_.end() ? nullptr : it->second;
}

String* InternTable::Insert(absl::string_view utf8, String* string) {
  MutexLock lock(&mu_);
  return strings_.emplace(utf8, string).first->second;
}

void InternTable::VisitRoots(absl::FunctionRef<void(Object** slot)> fn) {
  MutexLock lock(&mu_);
  for (auto& [text, string] : strings_) fn(reinterpret_cast<Object**>(&string));
}

size_t InternTable::size() {
  MutexLock lock(&mu_);
  return strings_.size();
}

ByteArray* String::value() const {
  return static_cast<ByteArray*>(GetRef(FieldOf(this, kValue)));
}

int8_t String::coder() const { return Get<int8_t>(FieldOf(this, kCoder)); }

uint32_t String::length() const {
  const ByteArray* bytes = value();
  if (bytes == nullptr) return 0;
  return coder() == kLatin1 ? bytes->length() : bytes->length() / 2;
}

char16_t String::CharAt(uint32_t index) const {
  KILN_DCHECK(index < length(), "index ", index, " out of bounds ", length());
  const ByteArray* bytes = value();
  if (coder() == kLatin1) return static_cast<uint8_t>(bytes->Get(index));
  return static_cast<char16_t>(static_cast<uint8_t>(bytes->Get(2 * index)) |
                               static_cast<uint8_t>(bytes->Get(2 * index + 1)) << 8);
}

std::string String::ToUtf8() const {
  std::u16string units;
  const uint32_t n = length();
  units.reserve(n);
  for (uint32_t i = 0; i < n; ++i) units.push_back(CharAt(i));
  return Utf16ToUtf8(units);
}

int32_t String::HashCode() {
  const Field& hash_field = FieldOf(this, kHash);
  int32_t hash = Get<int32_t>(hash_field);
  if (hash != 0) return hash;
  uint32_t h = 0;  // unsigned: Java's int arithmetic wraps
  const uint32_t n = length();
  for (uint32_t i = 0; i < n; ++i) h = 31 * h + CharAt(i);
  hash = static_cast<int32_t>(h);
  Set<int32_t>(hash_field, hash);
  return hash;
}

}  // namespace kiln
