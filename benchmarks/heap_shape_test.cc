// The heap-shape builder builds exactly the documented shape.
#include "benchmarks/heap_shape.h"

#include <map>

#include "gtest/gtest.h"
#include "vm/internal/runtime_access.h"

namespace kiln::bench {
namespace {

TEST(HeapShapeTest, CountsAndContentsMatchTheDocument) {
  constexpr int64_t kN = 1600;
  RuntimeOptions options;
  options.classes = HeapShapeClasses();
  auto runtime = *Runtime::Create(options);
  HeapShape shape(*runtime, kN);
  {
    ThreadScope scope(*runtime, "main");
    ASSERT_TRUE(shape.Build(scope.thread()).ok());
  }
  shape.Park();
  std::map<std::string, int64_t> before, after;
  std::vector<std::string> texts;
  int parked = 0;
  ASSERT_TRUE(runtime
                  ->RunAtSafepoint("census",
                                   [&](StoppedWorld& world) {
                                     runtime->ForEachObject(world, [&](Object* o) {
                                       ++before[o->GetClass()->name()];
                                     });
                                     internal::RunCollection(*runtime, world, gc::GcCause::kExplicit);
                                     runtime->ForEachObject(world, [&](Object* o) {
                                       ++after[o->GetClass()->name()];
                                       if (o->GetClass() == runtime->classes().string_class()) {
                                         texts.push_back(static_cast<String*>(o)->ToUtf8());
                                       }
                                     });
                                     for (Thread* t : world.threads()) {
                                       int depth = 0;
                                       t->ForEachFrame([&](const Frame&, int) { ++depth; });
                                       parked += depth == 5;
                                     }
                                   })
                  .ok());
  EXPECT_EQ(before["Node"], kN + kN / 4);
  EXPECT_EQ(after["Node"], kN);
  EXPECT_EQ(after["[I"], kN / 8);
  EXPECT_EQ(after["[B"], kN / 8 + kN / 16 + 4);  // table, strings, thread names
  EXPECT_EQ(after["[Ljava.lang.Object;"], 1);
  EXPECT_EQ(after["[Ljava.lang.String;"], 1);
  EXPECT_EQ(after["java.lang.String"], kN / 16 + 4);
  EXPECT_EQ(parked, 4);
  EXPECT_NE(std::find(texts.begin(), texts.end(), "str-0000000000000099"), texts.end());
  EXPECT_NE(std::find(texts.begin(), texts.end(), "heapshape-parked-3"), texts.end());
}

}  // namespace
}  // namespace kiln::bench
