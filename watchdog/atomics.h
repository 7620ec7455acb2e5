/* atomics.h -- C11 atomic members in headers that C++ tests include too. */
#ifndef WD_ATOMICS_H
#define WD_ATOMICS_H

#ifdef __cplusplus
extern "C++" {
#include <atomic>
}
/* Same size, alignment and lock-free representation as C11's _Atomic for
   the integer types used here (GCC and Clang on Linux). */
#define ATOMIC(t)	std::atomic<t>
#else
#include <stdatomic.h>
#define ATOMIC(t)	_Atomic t
#endif

#endif
