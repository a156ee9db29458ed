#include "vm/object.h"

#include <optional>
#include <set>

#include "gtest/gtest.h"
#include "vm/runtime.h"
#include "vm/string.h"

namespace kiln {
namespace {

RuntimeOptions Options() {
  RuntimeOptions options;
  options.heap_limit_bytes = 8 << 20;
  options.classes.push_back({.name = "Sample",
                             .source_file = "object_test.cc",
                             .fields = {{"z", FieldType::kBoolean},
                                        {"c", FieldType::kChar},
                                        {"f", FieldType::kFloat},
                                        {"d", FieldType::kDouble},
                                        {"b", FieldType::kByte},
                                        {"s", FieldType::kShort},
                                        {"i", FieldType::kInt},
                                        {"j", FieldType::kLong},
                                        {"ref", FieldType::kObject}},
                             .methods = {{"test", "()V"}}});
  return options;
}

class ObjectTest : public ::testing::Test {
 protected:
  ObjectTest() : runtime_(*Runtime::Create(Options())), sample_(runtime_->FindClass("Sample")) {
    scope_.emplace(*runtime_, "main");
    frame_.emplace(*scope_, *runtime_->FindMethod("Sample", "test", "()V"));
  }
  ~ObjectTest() override {
    frame_.reset();
    scope_.reset();
  }

  std::unique_ptr<Runtime> runtime_;
  std::optional<ThreadScope> scope_;
  std::optional<Frame> frame_;
  const Class* sample_;
};

TEST_F(ObjectTest, TypedFieldsRoundTripAndStartZeroed) {
  Local<Object> o = *Object::New(*frame_, sample_);
  EXPECT_EQ(o->GetClass(), sample_);
  EXPECT_EQ(o->SizeOf(), sample_->instance_size);
  const Field& ref = *sample_->FindField("ref");
  EXPECT_EQ(o->Get<int64_t>(*sample_->FindField("j")), 0);
  EXPECT_EQ(o->GetRef(ref), nullptr);

  o->Set<bool>(*sample_->FindField("z"), true);
  o->Set<char16_t>(*sample_->FindField("c"), u'\u20AC');
  o->Set<float>(*sample_->FindField("f"), 1.5f);
  o->Set<double>(*sample_->FindField("d"), -2.25);
  o->Set<int8_t>(*sample_->FindField("b"), -7);
  o->Set<int16_t>(*sample_->FindField("s"), -300);
  o->Set<int32_t>(*sample_->FindField("i"), 123456789);
  o->Set<int64_t>(*sample_->FindField("j"), int64_t{1} << 40);
  Local<Object> other = *Object::New(*frame_, sample_);
  o->SetRef(ref, other.get());

  EXPECT_TRUE(o->Get<bool>(*sample_->FindField("z")));
  EXPECT_EQ(o->Get<char16_t>(*sample_->FindField("c")), u'\u20AC');
  EXPECT_EQ(o->Get<float>(*sample_->FindField("f")), 1.5f);
  EXPECT_EQ(o->Get<double>(*sample_->FindField("d")), -2.25);
  EXPECT_EQ(o->Get<int8_t>(*sample_->FindField("b")), -7);
  EXPECT_EQ(o->Get<int16_t>(*sample_->FindField("s")), -300);
  EXPECT_EQ(o->Get<int32_t>(*sample_->FindField("i")), 123456789);
  EXPECT_EQ(o->Get<int64_t>(*sample_->FindField("j")), int64_t{1} << 40);
  EXPECT_EQ(o->GetRef(ref), other.get());
  EXPECT_EQ(other->GetRef(ref), nullptr);
}

TEST_F(ObjectTest, IdentityHashIsStableNonZeroAndSpread) {
  std::set<int32_t> hashes;
  std::vector<Local<Object>> objects;
  for (int i = 0; i < 100; ++i) objects.push_back(*Object::New(*frame_, sample_));
  for (Local<Object>& o : objects) {
    const int32_t hash = o->IdentityHashCode();
    EXPECT_NE(hash, 0);
    EXPECT_GT(hash, 0);
    EXPECT_EQ(o->IdentityHashCode(), hash);
    hashes.insert(hash);
  }
  EXPECT_GT(hashes.size(), 95u);
}

TEST_F(ObjectTest, StringsUseLatin1WhenTheyCanAndUtf16OtherwiseLikeJdk9) {
  Local<String> ascii = *String::New(*frame_, "hello");
  EXPECT_EQ(ascii->coder(), String::kLatin1);
  EXPECT_EQ(ascii->length(), 5u);
  EXPECT_EQ(ascii->value()->length(), 5u);
  EXPECT_EQ(ascii->ToUtf8(), "hello");
  EXPECT_EQ(ascii->HashCode(), 99162322);  // "hello".hashCode() in Java

  Local<String> latin1 = *String::New(*frame_, "caf\xC3\xA9");  // café
  EXPECT_EQ(latin1->coder(), String::kLatin1);
  EXPECT_EQ(latin1->length(), 4u);
  EXPECT_EQ(latin1->CharAt(3), u'\u00E9');
  EXPECT_EQ(latin1->ToUtf8(), "caf\xC3\xA9");

  // "€ 𝄞": a BMP char above Latin-1 and a supplementary one (two code units).
  Local<String> wide = *String::New(*frame_, "\xE2\x82\xAC \xF0\x9D\x84\x9E");
  EXPECT_EQ(wide->coder(), String::kUtf16);
  EXPECT_EQ(wide->length(), 4u);
  EXPECT_EQ(wide->value()->length(), 8u);
  // UTF-16 little-endian bytes, as HotSpot on x86 stores them.
  EXPECT_EQ(wide->value()->Get(0), static_cast<int8_t>(0xAC));
  EXPECT_EQ(wide->value()->Get(1), static_cast<int8_t>(0x20));
  EXPECT_EQ(wide->CharAt(2), u'\xD834');
  EXPECT_EQ(wide->ToUtf8(), "\xE2\x82\xAC \xF0\x9D\x84\x9E");
  EXPECT_EQ((*String::New(*frame_, ""))->ToUtf8(), "");

  for (absl::string_view bad : {"\xFF", "ab\xC3", "\xC0\x80", "\xED\xA0\x80", "\xE2\x28\xA1"}) {
    auto s = String::New(*frame_, bad);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(ObjectTest, ArraysOfEveryTypeHaveTheirJavaClasses) {
  Local<IntArray> ints = *IntArray::New(*frame_, 16);
  EXPECT_EQ(ints->GetClass()->name(), "[I");
  EXPECT_EQ(ints->length(), 16u);
  EXPECT_EQ(ints->SizeOf(), 16u + 64u);
  for (uint32_t i = 0; i < 16; ++i) ints->Set(i, static_cast<int32_t>(i * i));
  EXPECT_EQ(ints->Get(15), 225);
  EXPECT_EQ(ints->elements()[3], 9);
  EXPECT_EQ((*BooleanArray::New(*frame_, 3))->GetClass()->name(), "[Z");
  EXPECT_EQ((*CharArray::New(*frame_, 3))->GetClass()->name(), "[C");
  EXPECT_EQ((*FloatArray::New(*frame_, 3))->GetClass()->name(), "[F");
  EXPECT_EQ((*DoubleArray::New(*frame_, 3))->GetClass()->name(), "[D");
  Local<ByteArray> bytes = *ByteArray::New(*frame_, 3);
  EXPECT_EQ(bytes->GetClass()->name(), "[B");
  EXPECT_EQ(bytes->SizeOf(), 24u);
  EXPECT_EQ((*ShortArray::New(*frame_, 3))->GetClass()->name(), "[S");
  Local<LongArray> longs = *LongArray::New(*frame_, 2);
  longs->Set(1, -1);
  EXPECT_EQ(longs->Get(1), -1);
  EXPECT_EQ(longs->Get(0), 0);

  Local<ObjectArray> objects =
      *ObjectArray::New(*frame_, runtime_->classes().object_class(), 4);
  EXPECT_EQ(objects->GetClass()->name(), "[Ljava.lang.Object;");
  objects->Set(2, ints.get());
  EXPECT_EQ(objects->Get(2), ints.get());
  EXPECT_EQ(objects->Get(3), nullptr);
  Local<ObjectArray> samples = *ObjectArray::New(*frame_, sample_, 1);
  EXPECT_EQ(samples->GetClass()->name(), "[LSample;");
}

TEST_F(ObjectTest, HeapWalkSeesEveryAllocatedObject) {
  Local<Object> a = *Object::New(*frame_, sample_);
  Local<IntArray> b = *IntArray::New(*frame_, 1000);
  Local<String> c = *String::New(*frame_, "walk me");
  std::set<Object*> expected = {a.get(), b.get(), c.get(), c->value()};
  size_t mirrors = 0;
  ASSERT_TRUE(runtime_
                  ->RunAtSafepoint("walk",
                                   [&](StoppedWorld& world) {
                                     runtime_->ForEachObject(world, [&](Object* o) {
                                       expected.erase(o);
                                       if (o->GetClass() == runtime_->classes().class_class()) {
                                         ++mirrors;
                                       }
                                     });
                                   })
                  .ok());
  EXPECT_TRUE(expected.empty());
  EXPECT_EQ(mirrors, runtime_->classes().size());
}

TEST_F(ObjectTest, ArraysLongerThanTheLimitAreRejected) {
  EXPECT_EQ(IntArray::New(*frame_, gc::kMaxArrayLength + 1u).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The must-show: a thread that fills the heap gets the error status,
// lets go, and then allocates successfully; the out-of-memory hook runs once
// per failed allocation, before it fails.
TEST(OutOfMemoryTest, FillLetGoAllocateAgain) {
  RuntimeOptions options = Options();
  int hook_calls = 0;
  size_t hook_request = 0;
  options.on_out_of_memory = [&](Runtime&, size_t request) {
    ++hook_calls;
    hook_request = request;
  };
  auto runtime = *Runtime::Create(options);
  ThreadScope scope(*runtime, "filler");
  const Method* test = *runtime->FindMethod("Sample", "test", "()V");
  Frame outer(scope, test);
  size_t filled = 0;
  absl::Status status;
  {
    Frame frame(scope, test);
    Local<ObjectArray> chain = *ObjectArray::New(frame, runtime->classes().object_class(), 1);
    Local<ObjectArray> tail = chain;
    while (true) {
      auto next = ObjectArray::New(frame, runtime->classes().object_class(), 1000);
      if (!next.ok()) {
        status = next.status();
        break;
      }
      tail->Set(0, next->get());  // everything stays reachable
      tail = *next;
      ++filled;
    }
  }  // let go
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_GT(filled * 8016, size_t{6} << 20);  // most of the 8 MiB heap
  EXPECT_EQ(hook_calls, 1);
  EXPECT_EQ(hook_request, gc::ObjectHeader::ArraySize(1000, 3));
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(ObjectArray::New(outer, runtime->classes().object_class(), 1000).ok()) << i;
  }
  EXPECT_GE(runtime->heap_stats().collections, 1u);
  EXPECT_EQ(hook_calls, 1);
}

}  // namespace
}  // namespace kiln
