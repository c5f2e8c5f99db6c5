// Child processes for tests: start a helper (a test server), read its stdout
// line by line, stop it. Test-only code: failures throw std::runtime_error.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace herald::test {

// A running child started with posix_spawn. Its stdout is a pipe read by
// read_line(); its stderr goes to a file (or is inherited when none is
// given). The destructor stops and reaps it. Not copyable; movable.
class ChildProcess {
 public:
  // Starts argv[0] (an absolute path) with argv. Throws when it cannot start.
  static ChildProcess spawn(const std::vector<std::string>& argv,
                            const std::string& stderr_path = {});

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return m_pid; }
  // The next stdout line without its newline; nullopt at EOF or after timeout_ms.
  std::optional<std::string> read_line(int timeout_ms);
  // Whether the child has not exited yet (reaps it if it has).
  bool running();
  // SIGTERM, then SIGKILL after grace_ms; reaps. Returns the wait status, or
  // -1 when there was no child.
  int stop(int grace_ms = 5000);
  // Waits up to timeout_ms for the child to exit by itself; the wait status or nullopt.
  std::optional<int> wait_exit(int timeout_ms);

 private:
  ChildProcess(pid_t pid, int stdout_fd) : m_pid(pid), m_stdout(stdout_fd) {}
  void release() noexcept;

  pid_t m_pid = -1;
  int m_stdout = -1;
  std::optional<int> m_status;
  std::string m_buffer;
};

}  // namespace herald::test
