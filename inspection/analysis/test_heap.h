// A Kiln heap whose analysis results are known by hand, dumped for the
// analyzer's tests (heap_sql_test, tests/kiln_heap_test).
//
//   ASSERT_TRUE(DumpKnownHeap(path, {}).ok());
//
// The heap, besides the runtime's own objects:
//   test.Item {Item next; int value; long weight}: self_size 40 (its
//     CLASS_DUMP instance size: header 16 + 8 + 4 + 8, aligned to 8)
//   - a list item0 -> item1 -> ... -> item4 held by the static field
//     test.Holder.list (the class object java.lang.Class<test.Holder> is a
//     ROOT_STICKY_CLASS root, so item0 has root_distance 1, item4 5);
//   - item2 owns a native allocation of 4096 bytes, registered through a
//     NativeAllocationRegistry (so a sun.misc.Cleaner's referent is item2);
//   - "lonely", an Item referred to only by a java.lang.ref.WeakReference
//     held in test.Holder.weak: present but not reachable;
//   - 3 garbage Items (unreferenced; in full dumps only).
//   The thread "main" is in test.Holder.main (Holder.java:7) and has no
//   live locals when the dump is taken.
// Retained (shallow) sizes: item0 200 bytes, item2 120; the flamegraph's
// first test.Item node under the root holds 200 bytes + 4096 native.
//
// The viewer's test heap (viewer/viewer_test_heap_main.cc) holds the same
// list, built by the same pieces below (ItemClass, ResolveItems,
// BuildItemList).
#ifndef KILN_INSPECTION_ANALYSIS_TEST_HEAP_H_
#define KILN_INSPECTION_ANALYSIS_TEST_HEAP_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/must_use.h"
#include "vm/kiln.h"

namespace kiln::analysis::testing {

inline constexpr int kListItems = 5;
inline constexpr int kGarbageItems = 3;
inline constexpr int kAllItems = kListItems + 1 + kGarbageItems;  // + lonely
inline constexpr uint32_t kItemSelfBytes = 40;
inline constexpr int64_t kNativeBytes = 4096;

struct KnownHeapOptions {
  bool live = false;   // live dumps drop the garbage Items
  int gzip_level = 0;  // 1..9: HotSpot's block gzip
};

// ItemClass: test.Item {Item next; int value; long weight}, from Item.java.
ClassSpec ItemClass();

// ItemApi: test.Item and its fields, resolved in a runtime that has
// ItemClass().
struct ItemApi {
  const Class* item;
  FieldRef<Object*> next;
  FieldRef<int32_t> value;
  FieldRef<int64_t> weight;
};
KILN_MUST_USE absl::StatusOr<ItemApi> ResolveItems(const Runtime& runtime);

// NewItem: an Item with `value`, weight 10 * value, and `next`.
KILN_MUST_USE absl::StatusOr<Local<Object>> NewItem(Frame& frame, const ItemApi& api, int value,
                                                    Object* next);

// BuildItemList: item0 -> item1 -> ... -> item4 (item i has value i), item2
// owning kNativeBytes of native memory through a NativeAllocationRegistry;
// returns item0.
KILN_MUST_USE absl::StatusOr<Local<Object>> BuildItemList(Frame& frame, const ItemApi& api);

// DumpKnownHeap builds the heap in a new runtime and dumps it to `path`.
KILN_MUST_USE absl::Status DumpKnownHeap(const std::string& path, const KnownHeapOptions& options);

}  // namespace kiln::analysis::testing

#endif  // KILN_INSPECTION_ANALYSIS_TEST_HEAP_H_
