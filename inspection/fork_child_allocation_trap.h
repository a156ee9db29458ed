// ForkChildAllocationTrap (tests only): proves that a forked child never
// calls the allocator. Linked into a test binary, it defines malloc, calloc,
// realloc, reallocarray, free, aligned_alloc, posix_memalign, memalign,
// valloc, pvalloc, every operator new and delete, and mimalloc's mi_malloc,
// mi_zalloc, mi_calloc, mi_realloc, mi_free, mi_malloc_aligned,
// mi_zalloc_aligned and mi_realloc_aligned; each forwards to the definition
// it hides (dlsym(RTLD_NEXT): mimalloc's, or glibc's and libstdc++'s), after
// one check. Once the trap is armed, a call from any process but the one that
// armed it (getpid() against the pid stored when arming: true in a child from
// the instant fork() returns in it until its _exit, whatever it runs) writes
//
//   alloc trap: malloc in forked child 4242, called from 0x5581c0a1b2c3
//
// to the report descriptor (a fixed buffer, write(2)) and ends the child with
// _exit(kAllocationTrapExitCode). The caller is the return address of the
// trapped function: for operator new, the code that said `new`.
//
//   ArmForkChildAllocationTrap(report_fd);
//   ... fork-mode dumps: a child that allocates exits with status 97 ...
//   DisarmForkChildAllocationTrap();
//
// Under AddressSanitizer or ThreadSanitizer, which own malloc and operator
// new themselves, the trap does not define those; it installs the
// sanitizer's malloc and free hooks instead (caller: unknown, reported as 0),
// and still covers mimalloc's entry points. ThreadSanitizer, though, stops
// running its hooks in the child of a multi-threaded process (it ignores
// that child's interceptors), so there only mimalloc's entry points are
// trapped: TrapCatchesMalloc says which.
#ifndef KILN_INSPECTION_FORK_CHILD_ALLOCATION_TRAP_H_
#define KILN_INSPECTION_FORK_CHILD_ALLOCATION_TRAP_H_

namespace kiln::testing {

inline constexpr int kAllocationTrapExitCode = 97;

// ArmForkChildAllocationTrap: from now on, an allocator call in a process
// other than this one is fatal and reported to `report_fd`.
void ArmForkChildAllocationTrap(int report_fd = 2);
void DisarmForkChildAllocationTrap();

// TrapNamesCallers: whether the report names the caller (false under a
// sanitizer, whose hooks run below its own interceptors).
bool TrapNamesCallers();

// TrapCatchesMalloc: whether malloc, free and operator new/delete in a child
// are trapped (false under ThreadSanitizer, see above).
bool TrapCatchesMalloc();

}  // namespace kiln::testing

#endif  // KILN_INSPECTION_FORK_CHILD_ALLOCATION_TRAP_H_
