// CFolioShims: the few things Swift cannot do itself on Linux.
//
// - futex(2) is reached through the variadic syscall(), which Swift cannot call.
// - Atomics on raw, manually allocated 32-bit words (the futex words of parked
//   threads and of bucket locks): Swift's `Atomic` needs a stored property, a
//   futex needs a raw address. The __atomic builtins below are instrumented by
//   ThreadSanitizer because this header is compiled into the importing module.
// - The x86 `pause` hint for spin loops; the current processor's number;
//   membarrier(2) and a compiler barrier (an asymmetric fence).
// - The optimistic read's copy, a deliberate race that ThreadSanitizer is told
//   to ignore (the copy is validated by the folio's version afterwards).
#ifndef CFOLIOSHIMS_H
#define CFOLIOSHIMS_H

#include <stdint.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <sys/uio.h>

/// Sleeps while *addr == expected. timeout_ns < 0 waits forever.
/// Returns 0 when woken (possibly spuriously), else EAGAIN (value differed),
/// ETIMEDOUT or EINTR.
static inline int folio_futex_wait(uint32_t *addr, uint32_t expected, int64_t timeout_ns) {
    struct timespec ts, *tsp = 0;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    long r = syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, tsp, 0, 0);
    return r == -1 ? errno : 0;
}

/// Wakes up to n threads sleeping on addr. Returns the number woken, or -errno.
/// Waking an address nobody sleeps on (even freed memory) is harmless.
static inline int folio_futex_wake(uint32_t *addr, int32_t n) {
    long r = syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, 0, 0, 0);
    return r == -1 ? -errno : (int)r;
}

static inline uint32_t folio_atomic_load_acquire(uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint32_t folio_atomic_load_relaxed(uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void folio_atomic_store_release(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void folio_atomic_store_relaxed(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline uint32_t folio_atomic_exchange_acqrel(uint32_t *p, uint32_t v) { return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL); }
/// Strong compare-and-swap; on failure *expected receives the current value.
static inline _Bool folio_atomic_cas_acqrel(uint32_t *p, uint32_t *expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/// 64-bit atomics on raw words (the page table's slots, read without its lock).
static inline uint64_t folio_atomic_load64_acquire(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint64_t folio_atomic_load64_relaxed(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void folio_atomic_store64_release(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void folio_atomic_store64_relaxed(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline uint64_t folio_atomic_fetch_add64_relaxed(uint64_t *p, uint64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static inline uint64_t folio_atomic_fetch_or64_relaxed(uint64_t *p, uint64_t v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }
static inline uint64_t folio_atomic_exchange64_relaxed(uint64_t *p, uint64_t v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }

/// Sequentially consistent 64-bit atomics (the range lock's fast path: a
/// Dekker-style publish-then-check between its slots and its slow-path count,
/// where each side must see the other's write or have its own seen).
static inline uint64_t folio_atomic_load64_seqcst(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline uint64_t folio_atomic_exchange64_seqcst(uint64_t *p, uint64_t v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
static inline uint64_t folio_atomic_fetch_add64_seqcst(uint64_t *p, uint64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static inline uint64_t folio_atomic_fetch_sub64_seqcst(uint64_t *p, uint64_t v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
static inline _Bool folio_atomic_cas64_seqcst(uint64_t *p, uint64_t *expected, uint64_t desired) {
    return __atomic_compare_exchange_n(p, expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

/// A compiler-only barrier: no memory access moves across it at compile time;
/// the processor may still reorder (the light side of an asymmetric fence,
/// paired with `folio_membarrier`).
static inline void folio_compiler_barrier(void) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

/// membarrier(2), private expedited: the heavy side of an asymmetric fence.
/// `folio_membarrier_register` (once per process) returns 0 when the kernel
/// offers it and it is registered, else an errno; `folio_membarrier` then
/// makes every other running thread of the process execute a full memory
/// barrier before it returns (threads not running pass one at their next
/// context switch), and returns 0 or an errno.
#if defined(__linux__) && defined(SYS_membarrier) && __has_include(<linux/membarrier.h>)
#include <linux/membarrier.h>
#define FOLIO_HAS_MEMBARRIER 1
#endif
static inline int folio_membarrier_register(void) {
#ifdef FOLIO_HAS_MEMBARRIER
    long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (q < 0) return errno;
    if (!(q & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return ENOSYS;
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 ? 0 : errno;
#else
    return ENOSYS;
#endif
}
static inline int folio_membarrier(void) {
#ifdef FOLIO_HAS_MEMBARRIER
    return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 ? 0 : errno;
#else
    return ENOSYS;
#endif
}

/// Spin-loop hint (x86 `pause`); a compiler barrier elsewhere.
static inline void folio_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/// CLOCK_MONOTONIC in nanoseconds (no allocation, no Foundation).
static inline uint64_t folio_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// ThreadSanitizer's interface (weak: null unless the program runs under TSan).
void __tsan_ignore_thread_begin(void) __attribute__((weak));
void __tsan_ignore_thread_end(void) __attribute__((weak));

/// Copies n bytes that a writer may be changing meanwhile: the optimistic
/// read of a folio (CachedFile+OptimisticRead.swift), whose caller validates
/// the folio's version after the copy and throws a torn copy away. The race
/// is deliberate, as in a seqlock (the memory stays valid: the reader is inside
/// a ReaderSlots section, or holds a pin), so ThreadSanitizer is told to ignore this thread's accesses for the
/// copy; without TSan the two checks are a load and a branch each.
static inline void folio_racy_copy(void *dst, const void *src, size_t n) {
    if (__tsan_ignore_thread_begin) __tsan_ignore_thread_begin();
    memcpy(dst, src, n);
    if (__tsan_ignore_thread_end) __tsan_ignore_thread_end();
}

/// The processor the calling thread runs on (a hint: it may move at once),
/// or -1 if unknown. Read from the thread's restartable-sequences area, which
/// the kernel keeps current and glibc (2.35 on) registers for every thread:
/// one load from thread-local memory (0.3 ns here, against 3 ns for a call of
/// sched_getcpu, which glibc declares only under _GNU_SOURCE). A thread
/// whose registration failed finds a negative cpu_id there and takes
/// sched_getcpu.
extern int sched_getcpu(void);
#if __has_include(<sys/rseq.h>) && defined(__x86_64__)
#include <sys/rseq.h>
static inline int folio_current_cpu(void) {
    if (__rseq_size == 0) return sched_getcpu();
    const struct rseq *area = (const struct rseq *)((const char *)__builtin_thread_pointer() + __rseq_offset);
    int cpu = (int)__atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED);
    return cpu >= 0 ? cpu : sched_getcpu();
}
#else
static inline int folio_current_cpu(void) { return sched_getcpu(); }
#endif

/// Gives up the processor (a transient state another thread must resolve).
static inline void folio_thread_yield(void) { sched_yield(); }

/// preadv2(fd, {buffer, count}, offset, RWF_NOWAIT): reads only what is in
/// the OS page cache, never waiting for the device. Bytes read (fewer when
/// only a prefix is cached), or -errno: -EAGAIN when the first byte would
/// need device I/O, -EOPNOTSUPP / -ENOSYS / -EINVAL where the kernel or file
/// system cannot (Linux < 4.14). Through syscall(): glibc declares preadv2
/// only with _GNU_SOURCE. (On 64-bit the offset goes whole in the low word.)
static inline long folio_pread_nowait(int fd, void *buffer, size_t count, int64_t offset) {
    struct iovec iov = { buffer, count };
    long n = syscall(SYS_preadv2, fd, &iov, 1, (long)offset, 0L, 0x00000008 /* RWF_NOWAIT */);
    return n >= 0 ? n : -(long)errno;
}

/// The calling thread's kernel id (for diagnostics).
static inline int32_t folio_gettid(void) { return (int32_t)syscall(SYS_gettid); }

#endif
