#include "inspection/deadlocks.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "base/status_macros.h"
#include "vm/internal/monitor_table.h"
#include "vm/monitor.h"

namespace kiln {

std::vector<std::vector<DeadlockEdge>> FindDeadlockCycles(const StoppedWorld& world) {
  // Each thread waits for at most one monitor, so "waits for" is a function
  // and every cycle is found by following it from each thread in turn
  // (HotSpot's find_deadlocks_at_safepoint does the same).
  absl::flat_hash_map<const Thread*, DeadlockEdge> waits_for;
  for (const Thread* thread : world.threads()) {
    const ThreadMonitors view = MonitorsOf(world, *thread);
    if (view.blocked_on == nullptr) continue;
    const Thread* owner = MonitorOwner(world, view.blocked_on);
    if (owner != nullptr && owner != thread) {
      waits_for[thread] = DeadlockEdge{thread, view.blocked_on, owner};
    }
  }
  std::vector<std::vector<DeadlockEdge>> cycles;
  absl::flat_hash_map<const Thread*, int> visited;  // thread -> the walk that saw it
  int walk = 0;
  for (const Thread* start : world.threads()) {
    if (visited.contains(start)) continue;
    ++walk;
    const Thread* thread = start;
    while (thread != nullptr && !visited.contains(thread)) {
      visited[thread] = walk;
      auto edge = waits_for.find(thread);
      thread = edge == waits_for.end() ? nullptr : edge->second.owner;
    }
    // A thread seen in this walk closes a new cycle; one seen in an earlier
    // walk leads into a cycle already found (or to no cycle at all).
    if (thread == nullptr || visited[thread] != walk) continue;
    std::vector<DeadlockEdge> cycle;
    const Thread* member = thread;
    do {
      cycle.push_back(waits_for.at(member));
      member = cycle.back().owner;
    } while (member != thread);
    // Start the cycle at its thread that comes first in attach order.
    auto order = [&](const DeadlockEdge& edge) {
      return std::find(world.threads().begin(), world.threads().end(), edge.thread) -
             world.threads().begin();
    };
    std::rotate(cycle.begin(),
                std::min_element(cycle.begin(), cycle.end(),
                                 [&](const DeadlockEdge& a, const DeadlockEdge& b) {
                                   return order(a) < order(b);
                                 }),
                cycle.end());
    cycles.push_back(std::move(cycle));
  }
  return cycles;
}

absl::StatusOr<std::vector<Deadlock>> FindDeadlocks(Runtime& runtime) {
  std::vector<Deadlock> deadlocks;
  RETURN_IF_ERROR(runtime
                      .RunAtSafepoint("find deadlocks",
                                      [&](StoppedWorld& world) {
                                        for (const auto& cycle : FindDeadlockCycles(world)) {
                                          Deadlock& deadlock = deadlocks.emplace_back();
                                          for (const DeadlockEdge& edge : cycle) {
                                            deadlock.threads.push_back(DeadlockedThread{
                                                .name = edge.thread->name(),
                                                .tid = edge.thread->tid(),
                                                .lock = reinterpret_cast<uintptr_t>(edge.object),
                                                .lock_class = edge.object->GetClass()->name(),
                                                .owner_name = edge.owner->name(),
                                                .owner_tid = edge.owner->tid(),
                                            });
                                          }
                                        }
                                      })
                      .status());
  return deadlocks;
}

}  // namespace kiln
