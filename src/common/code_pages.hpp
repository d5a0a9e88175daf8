// SPDX-License-Identifier: Apache-2.0
// Lets go of the pages of this program's code that are mapped (its text segment): they are the
// binary's, shared with the page cache, and are mapped again on the next run of that code. For
// processes that wait long after running much of their code once (a shim once its container
// runs, a container's init until its start): less RSS, and fewer page-table entries for an
// execve or exit to tear down. Header-only (the shim links nothing of src/common).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

extern "C" char __executable_start[], etext[];

namespace berth {

inline void drop_code_pages() {
  auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto from = reinterpret_cast<std::uintptr_t>(__executable_start) & ~(page - 1);
  auto to = (reinterpret_cast<std::uintptr_t>(etext) + page - 1) & ~(page - 1);
  (void)::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
}

}  // namespace berth
