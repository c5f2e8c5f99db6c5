// Maildir sink: herald's embedded mail destination when no relay is set.
//
// Delivery follows the Maildir protocol so that a reader never sees a partial
// message: each copy is written under a unique name in <dir>/tmp, fsynced,
// then renamed into <dir>/new. Once every copy of the batch is in new/, new/
// itself is fsynced, so the renames survive a crash before any row is reported
// delivered. The unique name is "<seconds>.M<microseconds>P<pid>Q<counter>R<random>.<host>"
// (the modern form of the Maildir spec; '/' and ':' in the host name are
// written \057 and \072). One copy per envelope recipient, one when there are
// none; the bytes are the payload as is. Every error (disk full, permission,
// a missing directory that cannot be made) is temporary: the row is retried
// and the detail carries the path and the errno text. A failure after some
// copies of an item were renamed leaves those copies: the retry delivers them
// again, which the at-least-once contract allows.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "adapters/sinks/mail/transport.hpp"
#include "daemon/util.hpp"

namespace herald::mail {
namespace {

// Owns a file descriptor.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : m_fd(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const { return m_fd; }
  // Closes now and reports close()'s error (0 or an errno value).
  int close() {
    int fd = std::exchange(m_fd, -1);
    return fd >= 0 && ::close(fd) != 0 ? errno : 0;
  }

 private:
  int m_fd;
};

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string failure(std::string_view what, const std::string& path, int err) {
  return std::string(what) + " " + path + ": " + errno_text(err);
}

// mkdir -p with mode 0700 for what it creates. Returns an error text or "".
std::string make_directories(const std::string& path) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) == 0) continue;
    int err = errno;
    struct stat st {};
    if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    return failure("mkdir", prefix, err == EEXIST ? ENOTDIR : err);
  }
  return {};
}

std::string host_part() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return "localhost";
  std::string host;
  for (const char* p = buffer; *p != '\0'; ++p) {
    if (*p == '/') {
      host += "\\057";
    } else if (*p == ':') {
      host += "\\072";
    } else {
      host += *p;
    }
  }
  return host;
}

class MaildirSink final : public Sink {
 public:
  explicit MaildirSink(std::string directory)
      : m_dir(std::move(directory)), m_host(host_part()), m_pid(::getpid()) {
    while (m_dir.size() > 1 && m_dir.back() == '/') m_dir.pop_back();
  }

  void deliver_each(const std::vector<OutboxItem>& items, const ResultFn& done) override;
  std::string describe() const override { return "maildir " + m_dir; }

 private:
  std::string unique_name();
  // Writes one copy through tmp/ into new/; returns an error text or "".
  std::string deliver_copy(const std::string& payload);

  std::string m_dir;
  std::string m_host;
  pid_t m_pid;
  uint64_t m_counter = 0;
};

std::string MaildirSink::unique_name() {
  struct timeval now {};
  ::gettimeofday(&now, nullptr);
  return std::to_string(now.tv_sec) + ".M" + std::to_string(now.tv_usec) + "P" +
         std::to_string(m_pid) + "Q" + std::to_string(++m_counter) + "R" + random_hex(8) + "." +
         m_host;
}

std::string MaildirSink::deliver_copy(const std::string& payload) {
  std::string name = unique_name();
  std::string tmp_path = m_dir + "/tmp/" + name;
  std::string new_path = m_dir + "/new/" + name;
  UniqueFd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return failure("create", tmp_path, errno);
  auto abandon = [&](std::string_view what, int err) {
    fd.close();
    ::unlink(tmp_path.c_str());
    return failure(what, tmp_path, err);
  };
  size_t written = 0;
  while (written < payload.size()) {
    ssize_t n = ::write(fd.get(), payload.data() + written, payload.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return abandon("write", errno);
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return abandon("fsync", errno);
  if (int err = fd.close(); err != 0) {
    ::unlink(tmp_path.c_str());
    return failure("close", tmp_path, err);
  }
  if (::rename(tmp_path.c_str(), new_path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp_path.c_str());
    return failure("rename into", new_path, err);
  }
  return {};
}

// Each row is reported once its copies and the new/ directory entry are on
// disk (the directory is synced per row), so that a result handed back is
// final and a crash repeats at most the row being written.
void MaildirSink::deliver_each(const std::vector<OutboxItem>& items, const ResultFn& done) {
  std::string error = m_dir.empty() ? "no maildir directory configured" : make_directories(m_dir);
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    if (error.empty()) error = make_directories(m_dir + sub);
  }
  if (!error.empty()) {
    for (size_t i = 0; i < items.size(); ++i)
      if (!done(i, DeliveryResult::retry(error))) return;
    return;
  }
  const std::string new_dir = m_dir + "/new";
  for (size_t i = 0; i < items.size(); ++i) {
    const OutboxItem& item = items[i];
    size_t copies = std::max<size_t>(1, item.recipients.size());
    std::string copy_error;
    for (size_t c = 0; c < copies && copy_error.empty(); ++c)
      copy_error = deliver_copy(item.payload);
    if (!copy_error.empty()) {
      if (!done(i, DeliveryResult::retry(copy_error))) return;
      continue;
    }
    UniqueFd dir_fd(::open(new_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    int sync_error = dir_fd.get() < 0 ? errno : (::fsync(dir_fd.get()) != 0 ? errno : 0);
    if (sync_error != 0) {
      if (!done(i, DeliveryResult::retry(failure("fsync", new_dir, sync_error)))) return;
      continue;
    }
    if (!done(i, DeliveryResult::ok(std::to_string(copies) + " cop" +
                                    (copies == 1 ? "y" : "ies") + " in " + new_dir)))
      return;
  }
}

}  // namespace

std::unique_ptr<Sink> make_maildir_sink(std::string directory) {
  return std::make_unique<MaildirSink>(std::move(directory));
}

}  // namespace herald::mail
