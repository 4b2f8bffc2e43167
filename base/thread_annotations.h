// Clang thread-safety attributes (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html).
//
// With Clang, `-Wthread-safety` checks at compile time that a member marked
// GUARDED_BY(mu_) is only touched with mu_ held, that a function marked
// REQUIRES(mu_) is only called with it held, and so on. With any other
// compiler the macros expand to nothing. The checks only see capabilities the
// compiler knows: use ppa::Mutex / ppa::MutexLock (base/mutex.h), since
// libstdc++'s std::mutex and std::lock_guard carry no attributes.
//
//   class Queue {
//    public:
//     void Push(Item item) EXCLUDES(mu_);
//    private:
//     void DrainLocked() REQUIRES(mu_);
//     ppa::Mutex mu_;
//     std::deque<Item> items_ GUARDED_BY(mu_);
//   };
//
// scripts/test.sh --thread-safety runs the check over every source file.
#pragma once

#if defined(__clang__)
#define PPA_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define PPA_THREAD_ANNOTATION_(x)
#endif

// A class whose instances are capabilities (a mutex).
#ifndef CAPABILITY
#define CAPABILITY(name) PPA_THREAD_ANNOTATION_(capability(name))
#endif

// An RAII class that acquires a capability in its constructor and releases it
// in its destructor (a scoped lock).
#ifndef SCOPED_CAPABILITY
#define SCOPED_CAPABILITY PPA_THREAD_ANNOTATION_(scoped_lockable)
#endif

// A data member read or written only with the capability held.
#ifndef GUARDED_BY
#define GUARDED_BY(x) PPA_THREAD_ANNOTATION_(guarded_by(x))
#endif

// A pointer member whose pointee is read or written only with the capability
// held (the pointer itself is not guarded).
#ifndef PT_GUARDED_BY
#define PT_GUARDED_BY(x) PPA_THREAD_ANNOTATION_(pt_guarded_by(x))
#endif

// Lock ordering: this capability is acquired after / before the others.
#ifndef ACQUIRED_AFTER
#define ACQUIRED_AFTER(...) PPA_THREAD_ANNOTATION_(acquired_after(__VA_ARGS__))
#endif
#ifndef ACQUIRED_BEFORE
#define ACQUIRED_BEFORE(...) PPA_THREAD_ANNOTATION_(acquired_before(__VA_ARGS__))
#endif

// A function the caller calls with the capabilities held (exclusively, or at
// least shared); they are still held when it returns.
#ifndef REQUIRES
#define REQUIRES(...) PPA_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#endif
#ifndef REQUIRES_SHARED
#define REQUIRES_SHARED(...) PPA_THREAD_ANNOTATION_(requires_shared_capability(__VA_ARGS__))
#endif
// LevelDB's spellings of the same.
#ifndef EXCLUSIVE_LOCKS_REQUIRED
#define EXCLUSIVE_LOCKS_REQUIRED(...) REQUIRES(__VA_ARGS__)
#endif
#ifndef SHARED_LOCKS_REQUIRED
#define SHARED_LOCKS_REQUIRED(...) REQUIRES_SHARED(__VA_ARGS__)
#endif

// A function that acquires (and does not release) the capabilities; without
// arguments, `this` (a Mutex's Lock()).
#ifndef ACQUIRE
#define ACQUIRE(...) PPA_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#endif
#ifndef ACQUIRE_SHARED
#define ACQUIRE_SHARED(...) PPA_THREAD_ANNOTATION_(acquire_shared_capability(__VA_ARGS__))
#endif

// A function that releases capabilities the caller holds.
#ifndef RELEASE
#define RELEASE(...) PPA_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#endif
#ifndef RELEASE_SHARED
#define RELEASE_SHARED(...) PPA_THREAD_ANNOTATION_(release_shared_capability(__VA_ARGS__))
#endif

// A function that tries to acquire; the first argument is the return value
// meaning success.
#ifndef TRY_ACQUIRE
#define TRY_ACQUIRE(...) PPA_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
#endif

// A function the caller must NOT call with the capabilities held (it takes
// them itself; calling it locked would deadlock).
#ifndef EXCLUDES
#define EXCLUDES(...) PPA_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
#endif
#ifndef LOCKS_EXCLUDED
#define LOCKS_EXCLUDED(...) EXCLUDES(__VA_ARGS__)
#endif

// A function that checks at run time that the capability is held; the
// analysis assumes it is afterwards.
#ifndef ASSERT_CAPABILITY
#define ASSERT_CAPABILITY(x) PPA_THREAD_ANNOTATION_(assert_capability(x))
#endif

// A function returning a reference to the capability (an accessor).
#ifndef RETURN_CAPABILITY
#define RETURN_CAPABILITY(x) PPA_THREAD_ANNOTATION_(lock_returned(x))
#endif

// Turns the analysis off for one function. Say why beside each use.
#ifndef NO_THREAD_SAFETY_ANALYSIS
#define NO_THREAD_SAFETY_ANALYSIS PPA_THREAD_ANNOTATION_(no_thread_safety_analysis)
#endif
