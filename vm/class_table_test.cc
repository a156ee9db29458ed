#include "vm/class_table.h"

#include <set>

#include "gtest/gtest.h"

namespace kiln {
namespace {

TEST(ClassTableTest, BuiltinsHaveJavaNamesAndLayouts) {
  auto table = *ClassTable::Build({});
  const Class* object = table->Find("java.lang.Object");
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(object->super(), nullptr);
  EXPECT_EQ(object->instance_size, gc::kHeaderSize);  // non-zero, as HPROF readers need
  for (const char* name : {"java.lang.Class", "java.lang.String", "java.lang.Thread",
                           "[Z", "[C", "[F", "[D", "[B", "[S", "[I", "[J",
                           "[Ljava.lang.Object;", "[Ljava.lang.String;"}) {
    const Class* cls = table->Find(name);
    ASSERT_NE(cls, nullptr) << name;
    EXPECT_EQ(cls->super(), object) << name;
    EXPECT_EQ(table->classes()[cls->id()], cls);
  }
  const Class* string = table->string_class();
  ASSERT_EQ(string->fields().size(), 3u);
  EXPECT_EQ(string->fields()[0].name(), "value");
  EXPECT_EQ(string->fields()[0].type(), FieldType::kObject);
  EXPECT_EQ(string->fields()[1].name(), "coder");
  EXPECT_EQ(string->fields()[1].type(), FieldType::kByte);
  EXPECT_EQ(string->fields()[2].name(), "hash");
  EXPECT_EQ(string->fields()[2].type(), FieldType::kInt);
  EXPECT_EQ(string->num_ref_offsets, 1u);
  EXPECT_EQ(string->ref_offsets[0], string->fields()[0].offset());

  EXPECT_EQ(table->primitive_array_class(FieldType::kInt)->name(), "[I");
  EXPECT_EQ(table->primitive_array_class(FieldType::kLong)->element_size_log2, 3);
  EXPECT_TRUE(table->object_array_class()->IsObjectArray());
  EXPECT_EQ(table->object_array_class()->element_class(), object);
  EXPECT_EQ(table->thread_fields().name->name(), "name");
  EXPECT_TRUE(table->FindMethod("java.lang.Thread", "run", "()V").ok());
}

TEST(ClassTableTest, UserClassesInAnyOrderWithPackedAlignedFields) {
  std::vector<ClassSpec> specs = {
      {.name = "Derived",
       .super_name = "Base",
       .fields = {{"flag", FieldType::kBoolean},
                  {"d", FieldType::kDouble},
                  {"c", FieldType::kChar},
                  {"next", FieldType::kObject}},
       .static_fields = {{"instance", FieldType::kObject}, {"count", FieldType::kLong}},
       .methods = {{"run", "()V"}}},
      {.name = "Base", .fields = {{"b", FieldType::kByte}, {"i", FieldType::kInt}}},
  };
  auto table = ClassTable::Build(specs);
  ASSERT_TRUE(table.ok()) << table.status();
  const Class* base = (*table)->Find("Base");
  const Class* derived = (*table)->Find("Derived");
  ASSERT_NE(base, nullptr);
  ASSERT_NE(derived, nullptr);
  EXPECT_EQ(derived->super(), base);
  EXPECT_TRUE(derived->IsSubclassOf(base));
  EXPECT_FALSE(base->IsSubclassOf(derived));
  EXPECT_EQ((*table)->Find("[LDerived;"), derived->array_class());

  // Every field is naturally aligned, inside the instance, and no two overlap.
  std::set<uint32_t> bytes;
  for (const Class* cls : {base, derived}) {
    for (const Field& field : cls->fields()) {
      const size_t size = FieldTypeSize(field.type());
      EXPECT_EQ(field.offset() % size, 0u) << field.name();
      EXPECT_GE(field.offset(), gc::kHeaderSize);
      EXPECT_LE(field.offset() + size, derived->instance_size);
      for (size_t i = 0; i < size; ++i) {
        EXPECT_TRUE(bytes.insert(field.offset() + i).second) << field.name();
      }
    }
  }
  EXPECT_EQ(derived->instance_size % 8, 0u);
  // Base: header 16 + int + byte -> 24; Derived adds 8 + 8 + 2 + 1 -> 43 -> 48.
  EXPECT_EQ(base->instance_size, 24u);
  EXPECT_EQ(derived->instance_size, 48u);
  // Fields keep declaration order; lookups see inherited fields.
  EXPECT_EQ(derived->fields()[0].name(), "flag");
  EXPECT_EQ(derived->FindField("i")->holder(), base);
  EXPECT_EQ(derived->FindField("missing"), nullptr);
  EXPECT_EQ(derived->num_ref_offsets, 1u);
  EXPECT_EQ(derived->ref_offsets[0], derived->FindField("next")->offset());

  const Field* count = derived->FindStaticField("count");
  ASSERT_NE(count, nullptr);
  derived->SetStatic<int64_t>(*count, -42);
  EXPECT_EQ(derived->GetStatic<int64_t>(*count), -42);
  EXPECT_EQ(derived->GetStaticRef(*derived->FindStaticField("instance")), nullptr);
  EXPECT_EQ((*table)->FindMethod("Derived", "run", "()V").value()->holder(), derived);
  EXPECT_EQ((*table)->FindMethod("Derived", "run", "(I)V").status().code(),
            absl::StatusCode::kNotFound);
}

void ExpectRejected(std::vector<ClassSpec> specs, absl::string_view fragment) {
  auto table = ClassTable::Build(specs);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(table.status().message().find(fragment), absl::string_view::npos)
      << table.status();
}

TEST(ClassTableTest, RejectsBadSpecsNamingTheProblem) {
  ExpectRejected({{.name = "A"}, {.name = "A"}}, "A is defined twice");
  ExpectRejected({{.name = "java.lang.String"}}, "java.lang.String is defined twice");
  ExpectRejected({{.name = "A", .super_name = "Missing"}}, "Missing is not defined");
  ExpectRejected({{.name = "A", .super_name = "B"}, {.name = "B", .super_name = "A"}},
                 "part of a cycle");
  ExpectRejected({{.name = "A", .fields = {{"x", FieldType::kInt}, {"x", FieldType::kLong}}}},
                 "declares field \"x\" twice");
  ExpectRejected({{.name = "A", .super_name = "[I"}}, "cannot extend array class [I");
  ExpectRejected({{.name = ""}}, "bad class name");
  ExpectRejected({{.name = "A", .methods = {{"run", "()V"}, {"run", "()V"}}}},
                 "declares method run()V twice");
}

}  // namespace
}  // namespace kiln
