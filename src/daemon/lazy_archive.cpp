// SPDX-License-Identifier: Apache-2.0
// berthd's libarchive, loaded on first use (lazy_lib.hpp): libarchive drags in libxml2, icu,
// nettle, lzma, bz2, lz4, acl — about 1.5 MB resident in a daemon that reads and writes tars only
// for `docker load/save/cp/build` and image layers.
#include <archive.h>
#include <archive_entry.h>

#include "daemon/lazy_lib.hpp"

static_assert(ARCHIVE_VERSION_NUMBER >= 3000000, "libarchive.so.13 expected");

namespace {
void* lib() {
  static void* const h = berth::daemon::lazy_open("libarchive.so.13");
  return h;
}
}  // namespace

#define FWD(ret, name, params, args, fail) BERTH_LAZY_FWD(lib, ret, name, params, args, fail)
FWD(time_t, archive_entry_atime, (struct archive_entry * a0), (a0), {})
FWD(int, archive_entry_atime_is_set, (struct archive_entry * a0), (a0), {})
FWD(long, archive_entry_atime_nsec, (struct archive_entry * a0), (a0), {})
FWD(void, archive_entry_copy_stat, (struct archive_entry * a0, const struct stat * a1), (a0, a1), )
FWD(__LA_MODE_T, archive_entry_filetype, (struct archive_entry * a0), (a0), {})
FWD(void, archive_entry_free, (struct archive_entry * a0), (a0), )
FWD(la_int64_t, archive_entry_gid, (struct archive_entry * a0), (a0), {})
FWD(const char *, archive_entry_hardlink, (struct archive_entry * a0), (a0), nullptr)
FWD(__LA_MODE_T, archive_entry_mode, (struct archive_entry * a0), (a0), {})
FWD(time_t, archive_entry_mtime, (struct archive_entry * a0), (a0), {})
FWD(long, archive_entry_mtime_nsec, (struct archive_entry * a0), (a0), {})
FWD(struct archive_entry *, archive_entry_new, (void), (), nullptr)
FWD(const char *, archive_entry_pathname, (struct archive_entry * a0), (a0), nullptr)
FWD(__LA_MODE_T, archive_entry_perm, (struct archive_entry * a0), (a0), {})
FWD(dev_t, archive_entry_rdevmajor, (struct archive_entry * a0), (a0), {})
FWD(dev_t, archive_entry_rdevminor, (struct archive_entry * a0), (a0), {})
FWD(void, archive_entry_set_filetype, (struct archive_entry * a0, unsigned int a1), (a0, a1), )
FWD(void, archive_entry_set_gname, (struct archive_entry * a0, const char * a1), (a0, a1), )
FWD(void, archive_entry_set_hardlink, (struct archive_entry * a0, const char * a1), (a0, a1), )
FWD(void, archive_entry_set_mtime, (struct archive_entry * a0, time_t a1, long a2), (a0, a1, a2), )
FWD(void, archive_entry_set_pathname, (struct archive_entry * a0, const char * a1), (a0, a1), )
FWD(void, archive_entry_set_perm, (struct archive_entry * a0, __LA_MODE_T a1), (a0, a1), )
FWD(void, archive_entry_set_size, (struct archive_entry * a0, la_int64_t a1), (a0, a1), )
FWD(void, archive_entry_set_symlink, (struct archive_entry * a0, const char * a1), (a0, a1), )
FWD(void, archive_entry_set_uname, (struct archive_entry * a0, const char * a1), (a0, a1), )
FWD(la_int64_t, archive_entry_size, (struct archive_entry * a0), (a0), {})
FWD(const char *, archive_entry_symlink, (struct archive_entry * a0), (a0), nullptr)
FWD(la_int64_t, archive_entry_uid, (struct archive_entry * a0), (a0), {})
FWD(void, archive_entry_unset_atime, (struct archive_entry * a0), (a0), )
FWD(void, archive_entry_unset_birthtime, (struct archive_entry * a0), (a0), )
FWD(void, archive_entry_unset_ctime, (struct archive_entry * a0), (a0), )
FWD(void, archive_entry_xattr_add_entry, (struct archive_entry * a0, const char * a1, const void * a2, size_t a3), (a0, a1, a2, a3), )
FWD(int, archive_entry_xattr_next, (struct archive_entry * a0, const char ** a1, const void ** a2, size_t * a3), (a0, a1, a2, a3), ARCHIVE_FATAL)
FWD(int, archive_entry_xattr_reset, (struct archive_entry * a0), (a0), ARCHIVE_FATAL)
FWD(const char *, archive_error_string, (struct archive * a0), (a0), "libarchive (libarchive.so.13) could not be loaded")
FWD(int, archive_read_data_block, (struct archive * a0, const void ** a1, size_t * a2, la_int64_t * a3), (a0, a1, a2, a3), ARCHIVE_FATAL)
FWD(int, archive_read_free, (struct archive * a0), (a0), ARCHIVE_FATAL)
FWD(struct archive *, archive_read_new, (void), (), nullptr)
FWD(int, archive_read_next_header, (struct archive * a0, struct archive_entry ** a1), (a0, a1), ARCHIVE_FATAL)
FWD(int, archive_read_open, (struct archive * a0, void * a1, archive_open_callback * a2, archive_read_callback * a3, archive_close_callback * a4), (a0, a1, a2, a3, a4), ARCHIVE_FATAL)
FWD(int, archive_read_support_format_gnutar, (struct archive * a0), (a0), ARCHIVE_FATAL)
FWD(int, archive_read_support_format_tar, (struct archive * a0), (a0), ARCHIVE_FATAL)
FWD(int, archive_write_close, (struct archive * a0), (a0), ARCHIVE_FATAL)
FWD(la_ssize_t, archive_write_data, (struct archive * a0, const void * a1, size_t a2), (a0, a1, a2), ARCHIVE_FATAL)
FWD(int, archive_write_free, (struct archive * a0), (a0), ARCHIVE_FATAL)
FWD(int, archive_write_header, (struct archive * a0, struct archive_entry * a1), (a0, a1), ARCHIVE_FATAL)
FWD(struct archive *, archive_write_new, (void), (), nullptr)
FWD(int, archive_write_open_fd, (struct archive * a0, int a1), (a0, a1), ARCHIVE_FATAL)
FWD(int, archive_write_set_bytes_per_block, (struct archive * a0, int a1), (a0, a1), ARCHIVE_FATAL)
FWD(int, archive_write_set_format_pax_restricted, (struct archive * a0), (a0), ARCHIVE_FATAL)
