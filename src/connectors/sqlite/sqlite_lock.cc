#include "connectors/sqlite/sqlite_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "connectors/session_lock.h"

namespace tether::sqlite {
namespace {

// The byte that stands for lock `name`: anywhere in [0, 2^62), far past any data (the file
// stays empty; a lock may lie beyond its end).
off_t ByteOf(const std::string& name) { return static_cast<off_t>(LockKey("", name) >> 2); }

// F_OFD_SETLK of one byte; true when it was taken (or released).
Result<bool> SetLock(int fd, short type, off_t at, const std::string& what) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = at;
  lock.l_len = 1;
  for (;;) {
    if (fcntl(fd, F_OFD_SETLK, &lock) == 0) return true;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EACCES) return false;
    return Status::Io(what + ": " + std::strerror(errno));
  }
}

}  // namespace

LockFile::~LockFile() {
  if (fd_ >= 0) close(fd_);
}

Status LockFile::Open() {
  if (fd_ >= 0) return Status::OK();
  // One lock file per database, however its path is written (symbolic links, "..").
  std::error_code ec;
  std::filesystem::path real = std::filesystem::canonical(database_, ec);
  const std::string path = (ec ? std::filesystem::path(database_) : real).string() + "-tether-lock";
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    const int err = errno;
    return Status(err == EACCES || err == EROFS ? StatusCode::kPermissionDenied : StatusCode::kIo,
                  where_ + ": cannot open the lock file " + path + ": " + std::strerror(err));
  }
  return Status::OK();
}

Result<bool> LockFile::TryLock(const std::string& name) {
  if (held_.count(name)) return true;
  TETHER_RETURN_IF_ERROR(Open());
  TETHER_ASSIGN_OR_RETURN(bool taken,
                          SetLock(fd_, F_WRLCK, ByteOf(name), where_ + ": locking " + name));
  if (taken) held_.insert(name);
  return taken;
}

Status LockFile::Release(const std::string& name) {
  if (!held_.erase(name)) return Status::OK();
  return SetLock(fd_, F_UNLCK, ByteOf(name), where_ + ": unlocking " + name).status();
}

}  // namespace tether::sqlite
