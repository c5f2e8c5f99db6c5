#include "daemon/store/watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

namespace herald {

DatabaseWatch::DatabaseWatch(const std::string& database, std::function<void()> on_change)
    : m_on_change(std::move(on_change)) {
  const std::filesystem::path path(database);
  m_name = path.filename().string();
  const std::string dir = path.has_parent_path() ? path.parent_path().string() : ".";
  m_inotify = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (m_inotify < 0 || ::pipe2(m_stop, O_CLOEXEC) != 0 ||
      ::inotify_add_watch(m_inotify, dir.c_str(), IN_MODIFY | IN_CLOSE_WRITE) < 0) {
    spdlog::warn("store: cannot watch {} for changes by other herald commands ({}); a running "
                 "herald sees them at its next pass",
                 dir, std::strerror(errno));
    return;
  }
  m_thread = std::thread([this] { loop(); });
}

DatabaseWatch::~DatabaseWatch() {
  if (m_thread.joinable()) {
    const char c = 0;
    (void)!::write(m_stop[1], &c, 1);
    m_thread.join();
  }
  for (int fd : {m_inotify, m_stop[0], m_stop[1]})
    if (fd >= 0) ::close(fd);
}

void DatabaseWatch::loop() {
  using clock = std::chrono::steady_clock;
  alignas(struct inotify_event) char buf[4096];
  bool pending = false;  // a change not yet told
  clock::time_point told = clock::now() - std::chrono::seconds(1);
  for (;;) {
    // The first change of a quiet period is told at once, the rest of a burst
    // together, a second after the last telling.
    int timeout_ms = -1;
    if (pending) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          told + std::chrono::seconds(1) - clock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    struct pollfd fds[2] = {{m_inotify, POLLIN, 0}, {m_stop[0], POLLIN, 0}};
    const int n = ::poll(fds, 2, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[1].revents & POLLIN)) return;
    ssize_t len = 0;
    while ((len = ::read(m_inotify, buf, sizeof buf)) > 0) {
      for (char* p = buf; p < buf + len;) {
        const auto* ev = reinterpret_cast<const struct inotify_event*>(p);
        const std::string name = ev->len ? std::string(ev->name) : std::string();
        if (name == m_name || name == m_name + "-wal") pending = true;
        p += sizeof(struct inotify_event) + ev->len;
      }
    }
    if (pending && clock::now() >= told + std::chrono::seconds(1)) {
      pending = false;
      told = clock::now();
      m_on_change();
    }
  }
}

}  // namespace herald
