// SPDX-License-Identifier: Apache-2.0
#include "common/result.hpp"

#include <cstring>

namespace berth {

std::string_view errc_name(Errc c) {
  switch (c) {
    case Errc::Internal: return "internal";
    case Errc::NotFound: return "not found";
    case Errc::AlreadyExists: return "already exists";
    case Errc::InvalidArgument: return "invalid argument";
    case Errc::Conflict: return "conflict";
    case Errc::PermissionDenied: return "permission denied";
    case Errc::Unavailable: return "unavailable";
    case Errc::Unimplemented: return "not implemented";
    case Errc::Cancelled: return "cancelled";
    case Errc::DataLoss: return "data loss";
  }
  return "unknown";
}

Errc errc_from_errno(int err) {
  switch (err) {
    case ENOENT: case ESRCH: return Errc::NotFound;
    case EEXIST: case ENOTEMPTY: return Errc::AlreadyExists;
    case EINVAL: case ENAMETOOLONG: case ELOOP: case ENOTDIR: case EISDIR: case EXDEV:
      return Errc::InvalidArgument;
    case EPERM: case EACCES: case EROFS: return Errc::PermissionDenied;
    case EBUSY: return Errc::Conflict;
    case ENOSYS: case EOPNOTSUPP: return Errc::Unimplemented;
    case EAGAIN: case ECONNREFUSED: case ETIMEDOUT: case ENOSPC: return Errc::Unavailable;
    case ECANCELED: case EINTR: return Errc::Cancelled;
    default: return Errc::Internal;
  }
}

Error Error::from_errno(int err, std::string_view op, std::string_view subject) {
  std::string msg(op);
  if (!subject.empty()) {
    msg += ' ';
    msg += subject;
  }
  msg += ": ";
  msg += std::strerror(err);
  return Error(errc_from_errno(err), std::move(msg), err);
}

Error& Error::context(std::string_view what) & {
  std::string m;
  m.reserve(what.size() + 2 + message_.size());
  m.append(what).append(": ").append(message_);
  message_ = std::move(m);
  return *this;
}

Error&& Error::context(std::string_view what) && {
  context(what);
  return std::move(*this);
}

}  // namespace berth
