// The trap's definitions hide the allocator's (the test binary is searched
// first), check, and forward to what they hide. dlsym may itself allocate
// while the forwarders are being resolved: those few calls are served from a
// static arena, and freeing an arena block is a no-op.
#include "inspection/fork_child_allocation_trap.h"

#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KILN_TRAP_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KILN_TRAP_UNDER_SANITIZER 1
#endif
#endif

namespace kiln::testing {
namespace {

std::atomic<pid_t> armed_pid{0};  // the process that armed the trap; 0: disarmed
std::atomic<int> report_fd{2};

void Append(char*& p, const char* end, const char* text) {
  while (*text != '\0' && p < end) *p++ = *text++;
}

void AppendNumber(char*& p, const char* end, uint64_t value, unsigned base) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[value % base];
    value /= base;
  } while (value != 0);
  while (n > 0 && p < end) *p++ = digits[--n];
}

// Trap: the report, from a fixed buffer, and the end. Only async-signal-safe
// calls: getpid, write, _exit.
[[noreturn, gnu::noinline]] void Trap(const char* function, const void* caller) {
  char line[192] = {};
  char* p = line;
  const char* end = line + sizeof(line) - 1;
  Append(p, end, "alloc trap: ");
  Append(p, end, function);
  Append(p, end, " in forked child ");
  AppendNumber(p, end, static_cast<uint64_t>(getpid()), 10);
  Append(p, end, ", called from 0x");
  AppendNumber(p, end, reinterpret_cast<uintptr_t>(caller), 16);
  *p++ = '\n';
  const ssize_t ignored = write(report_fd.load(std::memory_order_relaxed), line,
                                static_cast<size_t>(p - line));
  (void)ignored;
  _exit(kAllocationTrapExitCode);
}

inline void Check(const char* function, const void* caller) {
  const pid_t armed = armed_pid.load(std::memory_order_relaxed);
  if (armed != 0 && getpid() != armed) Trap(function, caller);
}

// The definitions the trap hides, found once.
struct Next {
  void* (*malloc)(size_t);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  void* (*reallocarray)(void*, size_t, size_t);
  void (*free)(void*);
  void* (*aligned_alloc)(size_t, size_t);
  int (*posix_memalign)(void**, size_t, size_t);
  void* (*memalign)(size_t, size_t);
  void* (*valloc)(size_t);
  void* (*pvalloc)(size_t);
  void* (*new_)(size_t);
  void* (*new_array)(size_t);
  void* (*new_nothrow)(size_t, const std::nothrow_t&);
  void* (*new_array_nothrow)(size_t, const std::nothrow_t&);
  void* (*new_aligned)(size_t, std::align_val_t);
  void* (*new_array_aligned)(size_t, std::align_val_t);
  void* (*new_aligned_nothrow)(size_t, std::align_val_t, const std::nothrow_t&);
  void* (*new_array_aligned_nothrow)(size_t, std::align_val_t, const std::nothrow_t&);
  void (*delete_)(void*);
  void (*delete_array)(void*);
  void (*delete_sized)(void*, size_t);
  void (*delete_array_sized)(void*, size_t);
  void (*delete_aligned)(void*, std::align_val_t);
  void (*delete_array_aligned)(void*, std::align_val_t);
  void (*delete_sized_aligned)(void*, size_t, std::align_val_t);
  void (*delete_array_sized_aligned)(void*, size_t, std::align_val_t);
  void (*delete_nothrow)(void*, const std::nothrow_t&);
  void (*delete_array_nothrow)(void*, const std::nothrow_t&);
  void (*delete_aligned_nothrow)(void*, std::align_val_t, const std::nothrow_t&);
  void (*delete_array_aligned_nothrow)(void*, std::align_val_t, const std::nothrow_t&);
  void* (*mi_malloc)(size_t);
  void* (*mi_zalloc)(size_t);
  void* (*mi_calloc)(size_t, size_t);
  void* (*mi_realloc)(void*, size_t);
  void (*mi_free)(void*);
  void* (*mi_malloc_aligned)(size_t, size_t);
  void* (*mi_zalloc_aligned)(size_t, size_t);
  void* (*mi_realloc_aligned)(void*, size_t, size_t);
};
Next next;
pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
thread_local bool resolving = false;

template <typename F>
void Find(F& f, const char* name) {
  f = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

void Resolve() {
  resolving = true;
  Find(next.malloc, "malloc");
  Find(next.calloc, "calloc");
  Find(next.realloc, "realloc");
  Find(next.reallocarray, "reallocarray");
  Find(next.free, "free");
  Find(next.aligned_alloc, "aligned_alloc");
  Find(next.posix_memalign, "posix_memalign");
  Find(next.memalign, "memalign");
  Find(next.valloc, "valloc");
  Find(next.pvalloc, "pvalloc");
  Find(next.new_, "_Znwm");
  Find(next.new_array, "_Znam");
  Find(next.new_nothrow, "_ZnwmRKSt9nothrow_t");
  Find(next.new_array_nothrow, "_ZnamRKSt9nothrow_t");
  Find(next.new_aligned, "_ZnwmSt11align_val_t");
  Find(next.new_array_aligned, "_ZnamSt11align_val_t");
  Find(next.new_aligned_nothrow, "_ZnwmSt11align_val_tRKSt9nothrow_t");
  Find(next.new_array_aligned_nothrow, "_ZnamSt11align_val_tRKSt9nothrow_t");
  Find(next.delete_, "_ZdlPv");
  Find(next.delete_array, "_ZdaPv");
  Find(next.delete_sized, "_ZdlPvm");
  Find(next.delete_array_sized, "_ZdaPvm");
  Find(next.delete_aligned, "_ZdlPvSt11align_val_t");
  Find(next.delete_array_aligned, "_ZdaPvSt11align_val_t");
  Find(next.delete_sized_aligned, "_ZdlPvmSt11align_val_t");
  Find(next.delete_array_sized_aligned, "_ZdaPvmSt11align_val_t");
  Find(next.delete_nothrow, "_ZdlPvRKSt9nothrow_t");
  Find(next.delete_array_nothrow, "_ZdaPvRKSt9nothrow_t");
  Find(next.delete_aligned_nothrow, "_ZdlPvSt11align_val_tRKSt9nothrow_t");
  Find(next.delete_array_aligned_nothrow, "_ZdaPvSt11align_val_tRKSt9nothrow_t");
  Find(next.mi_malloc, "mi_malloc");
  Find(next.mi_zalloc, "mi_zalloc");
  Find(next.mi_calloc, "mi_calloc");
  Find(next.mi_realloc, "mi_realloc");
  Find(next.mi_free, "mi_free");
  Find(next.mi_malloc_aligned, "mi_malloc_aligned");
  Find(next.mi_zalloc_aligned, "mi_zalloc_aligned");
  Find(next.mi_realloc_aligned, "mi_realloc_aligned");
  resolving = false;
}

const Next& N() {
  pthread_once(&resolve_once, Resolve);
  return next;
}

#ifndef KILN_TRAP_UNDER_SANITIZER
// The arena: what dlsym asks for while the forwarders are being found (only
// the malloc replacement needs it; under a sanitizer, hooks stand in).
alignas(64) char arena[64 << 10];
std::atomic<size_t> arena_used{0};

void* ArenaAllocate(size_t size, size_t alignment = 16) {
  size_t at = arena_used.load();
  size_t start;
  do {
    start = (at + alignment - 1) / alignment * alignment;
    if (start + size > sizeof(arena)) return nullptr;
  } while (!arena_used.compare_exchange_weak(at, start + size));
  return arena + start;  // zeroed: static storage, never reused
}

bool InArena(const void* p) {
  return p >= static_cast<const void*>(arena) && p < static_cast<const void*>(arena + sizeof(arena));
}
#endif  // KILN_TRAP_UNDER_SANITIZER

#ifdef KILN_TRAP_UNDER_SANITIZER
extern "C" int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void*, size_t), void (*free_hook)(const volatile void*));
void SanitizerMallocHook(const volatile void*, size_t) { Check("malloc (sanitizer hook)", nullptr); }
void SanitizerFreeHook(const volatile void*) { Check("free (sanitizer hook)", nullptr); }
std::atomic<bool> hooks_installed{false};
#endif

}  // namespace

void ArmForkChildAllocationTrap(int fd) {
  N();
#ifdef KILN_TRAP_UNDER_SANITIZER
  if (!hooks_installed.exchange(true)) {
    __sanitizer_install_malloc_and_free_hooks(SanitizerMallocHook, SanitizerFreeHook);
  }
#endif
  report_fd.store(fd);
  armed_pid.store(getpid());
}

void DisarmForkChildAllocationTrap() { armed_pid.store(0); }

bool TrapNamesCallers() {
#ifdef KILN_TRAP_UNDER_SANITIZER
  return false;
#else
  return true;
#endif
}

bool TrapCatchesMalloc() {
#if defined(__SANITIZE_THREAD__)
  return false;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  return false;
#else
  return true;
#endif
#else
  return true;
#endif
}

}  // namespace kiln::testing

using kiln::testing::Check;
using kiln::testing::N;
using kiln::testing::resolving;

#define KILN_CALLER __builtin_return_address(0)

extern "C" {

#ifndef KILN_TRAP_UNDER_SANITIZER
using kiln::testing::InArena;

void* malloc(size_t size) {
  Check("malloc", KILN_CALLER);
  if (resolving) return kiln::testing::ArenaAllocate(size);
  return N().malloc(size);
}

void* calloc(size_t count, size_t size) {
  Check("calloc", KILN_CALLER);
  if (resolving) {
    if (size != 0 && count > SIZE_MAX / size) return nullptr;
    return kiln::testing::ArenaAllocate(count * size);
  }
  return N().calloc(count, size);
}

void* realloc(void* p, size_t size) {
  Check("realloc", KILN_CALLER);
  if (InArena(p)) {  // an arena block moves out (its old size is unknown: copy what may be)
    void* moved = N().malloc(size);
    const size_t left =
        static_cast<size_t>(kiln::testing::arena + sizeof(kiln::testing::arena) -
                            static_cast<char*>(p));
    if (moved != nullptr) std::memcpy(moved, p, size < left ? size : left);
    return moved;
  }
  return N().realloc(p, size);
}

void* reallocarray(void* p, size_t count, size_t size) {
  Check("reallocarray", KILN_CALLER);
  return N().reallocarray(p, count, size);
}

void free(void* p) {
  Check("free", KILN_CALLER);
  if (InArena(p)) return;
  N().free(p);
}

void* aligned_alloc(size_t alignment, size_t size) {
  Check("aligned_alloc", KILN_CALLER);
  return N().aligned_alloc(alignment, size);
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  Check("posix_memalign", KILN_CALLER);
  return N().posix_memalign(out, alignment, size);
}

void* memalign(size_t alignment, size_t size) {
  Check("memalign", KILN_CALLER);
  return N().memalign(alignment, size);
}

void* valloc(size_t size) {
  Check("valloc", KILN_CALLER);
  return N().valloc(size);
}

void* pvalloc(size_t size) {
  Check("pvalloc", KILN_CALLER);
  return N().pvalloc(size);
}

#endif  // KILN_TRAP_UNDER_SANITIZER

// mimalloc's entry points: Kiln's heap calls them directly.
void* mi_malloc(size_t size) {
  Check("mi_malloc", KILN_CALLER);
  return N().mi_malloc(size);
}
void* mi_zalloc(size_t size) {
  Check("mi_zalloc", KILN_CALLER);
  return N().mi_zalloc(size);
}
void* mi_calloc(size_t count, size_t size) {
  Check("mi_calloc", KILN_CALLER);
  return N().mi_calloc(count, size);
}
void* mi_realloc(void* p, size_t size) {
  Check("mi_realloc", KILN_CALLER);
  return N().mi_realloc(p, size);
}
void mi_free(void* p) {
  Check("mi_free", KILN_CALLER);
  N().mi_free(p);
}
void* mi_malloc_aligned(size_t size, size_t alignment) {
  Check("mi_malloc_aligned", KILN_CALLER);
  return N().mi_malloc_aligned(size, alignment);
}
void* mi_zalloc_aligned(size_t size, size_t alignment) {
  Check("mi_zalloc_aligned", KILN_CALLER);
  return N().mi_zalloc_aligned(size, alignment);
}
void* mi_realloc_aligned(void* p, size_t size, size_t alignment) {
  Check("mi_realloc_aligned", KILN_CALLER);
  return N().mi_realloc_aligned(p, size, alignment);
}

}  // extern "C"

#ifndef KILN_TRAP_UNDER_SANITIZER

void* operator new(size_t size) {
  Check("operator new", KILN_CALLER);
  return N().new_(size);
}
void* operator new[](size_t size) {
  Check("operator new[]", KILN_CALLER);
  return N().new_array(size);
}
void* operator new(size_t size, const std::nothrow_t& tag) noexcept {
  Check("operator new (nothrow)", KILN_CALLER);
  return N().new_nothrow(size, tag);
}
void* operator new[](size_t size, const std::nothrow_t& tag) noexcept {
  Check("operator new[] (nothrow)", KILN_CALLER);
  return N().new_array_nothrow(size, tag);
}
void* operator new(size_t size, std::align_val_t alignment) {
  Check("operator new (aligned)", KILN_CALLER);
  return N().new_aligned(size, alignment);
}
void* operator new[](size_t size, std::align_val_t alignment) {
  Check("operator new[] (aligned)", KILN_CALLER);
  return N().new_array_aligned(size, alignment);
}
void* operator new(size_t size, std::align_val_t alignment, const std::nothrow_t& tag) noexcept {
  Check("operator new (aligned, nothrow)", KILN_CALLER);
  return N().new_aligned_nothrow(size, alignment, tag);
}
void* operator new[](size_t size, std::align_val_t alignment, const std::nothrow_t& tag) noexcept {
  Check("operator new[] (aligned, nothrow)", KILN_CALLER);
  return N().new_array_aligned_nothrow(size, alignment, tag);
}

void operator delete(void* p) noexcept {
  Check("operator delete", KILN_CALLER);
  N().delete_(p);
}
void operator delete[](void* p) noexcept {
  Check("operator delete[]", KILN_CALLER);
  N().delete_array(p);
}
void operator delete(void* p, size_t size) noexcept {
  Check("operator delete (sized)", KILN_CALLER);
  N().delete_sized(p, size);
}
void operator delete[](void* p, size_t size) noexcept {
  Check("operator delete[] (sized)", KILN_CALLER);
  N().delete_array_sized(p, size);
}
void operator delete(void* p, std::align_val_t alignment) noexcept {
  Check("operator delete (aligned)", KILN_CALLER);
  N().delete_aligned(p, alignment);
}
void operator delete[](void* p, std::align_val_t alignment) noexcept {
  Check("operator delete[] (aligned)", KILN_CALLER);
  N().delete_array_aligned(p, alignment);
}
void operator delete(void* p, size_t size, std::align_val_t alignment) noexcept {
  Check("operator delete (sized, aligned)", KILN_CALLER);
  N().delete_sized_aligned(p, size, alignment);
}
void operator delete[](void* p, size_t size, std::align_val_t alignment) noexcept {
  Check("operator delete[] (sized, aligned)", KILN_CALLER);
  N().delete_array_sized_aligned(p, size, alignment);
}
void operator delete(void* p, const std::nothrow_t& tag) noexcept {
  Check("operator delete (nothrow)", KILN_CALLER);
  N().delete_nothrow(p, tag);
}
void operator delete[](void* p, const std::nothrow_t& tag) noexcept {
  Check("operator delete[] (nothrow)", KILN_CALLER);
  N().delete_array_nothrow(p, tag);
}
void operator delete(void* p, std::align_val_t alignment, const std::nothrow_t& tag) noexcept {
  Check("operator delete (aligned, nothrow)", KILN_CALLER);
  N().delete_aligned_nothrow(p, alignment, tag);
}
void operator delete[](void* p, std::align_val_t alignment, const std::nothrow_t& tag) noexcept {
  Check("operator delete[] (aligned, nothrow)", KILN_CALLER);
  N().delete_array_aligned_nothrow(p, alignment, tag);
}

#endif  // KILN_TRAP_UNDER_SANITIZER
