// The benchmark heap shape of HEAP_SHAPE.md (beside this file), built in Kiln:
// N Nodes in a balanced search tree, a table of int[16] and byte[64], N/16
// strings, N/4 garbage Nodes, and 4 threads parked 5 frames deep. Shared by
// the collector and heap-dump benchmarks so that both measure the same heap
// HotSpot's figures were taken on.
#ifndef KILN_BENCHMARKS_HEAP_SHAPE_H_
#define KILN_BENCHMARKS_HEAP_SHAPE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "base/must_use.h"
#include "base/notification.h"
#include "vm/kiln.h"

namespace kiln::bench {

// HeapShapeClasses: the shape's classes, to add to RuntimeOptions::classes.
std::vector<ClassSpec> HeapShapeClasses();

// ParkedThreads starts `count` attached threads named <prefix>0, <prefix>1,
// ..., each parked in native state (kWaiting) 5 frames deep in HeapShape's
// methods run -> frame2 -> frame3 -> frame4 -> frame5, and returns once all
// are parked. The runtime must have HeapShapeClasses(). The destructor
// releases and joins them.
class ParkedThreads {
 public:
  ParkedThreads(Runtime& runtime, int count, const std::string& prefix);
  ~ParkedThreads();
  ParkedThreads(const ParkedThreads&) = delete;
  ParkedThreads& operator=(const ParkedThreads&) = delete;

 private:
  Notification release_;
  std::vector<std::thread> threads_;
};

// HeapShape builds the shape on `thread` (attached, managed) and keeps it
// alive through static fields of class HeapShape; Park starts the 4 parked
// threads, and the destructor releases and joins them.
class HeapShape {
 public:
  HeapShape(Runtime& runtime, int64_t n) : runtime_(runtime), n_(n) {}

  // Build allocates the live tree, the table, the strings and the garbage
  // tree, in the documented order.
  KILN_MUST_USE absl::Status Build(Thread& thread);
  // Park starts the 4 threads "heapshape-parked-0..3", each parked in native
  // state 5 frames deep, and returns once all are parked.
  void Park();

  // Expected counts.
  int64_t live_nodes() const { return n_; }
  int64_t garbage_nodes() const { return n_ / 4; }
  int64_t strings() const { return n_ / 16; }

 private:
  Runtime& runtime_;
  const int64_t n_;
  std::unique_ptr<ParkedThreads> parked_;
};

}  // namespace kiln::bench

#endif  // KILN_BENCHMARKS_HEAP_SHAPE_H_
