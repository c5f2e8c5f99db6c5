// Real servers for the tests of destinations, each on a free loopback port and
// stopped at the end of its scope: tests/tools/http_receiver.py (records every
// request, answers as told) and tests/tools/smtp_server.py (aiosmtpd, records
// every transaction). Test-only code: failures throw std::runtime_error.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon/util.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace herald::test {

inline std::string tools_dir() { return source_dir() + "/tests/tools"; }

// http_receiver.py on a free port, stopped at the end of the test.
class HttpReceiver {
 public:
  explicit HttpReceiver(const std::string& mode) {
    m_log = m_dir.file("requests.jsonl");
    std::string err = m_dir.file("stderr.txt");
    m_process.emplace(ChildProcess::spawn(
        {"/usr/bin/python3", tools_dir() + "/http_receiver.py", "--log", m_log, "--mode", mode,
         "--control", m_dir.file("mode")},
        err));
    auto line = m_process->read_line(20'000);
    if (!line || line->rfind("PORT ", 0) != 0)
      throw std::runtime_error("http_receiver.py did not start: " +
                               herald::read_file(err).value_or("(no stderr)"));
    m_port = std::stoi(line->substr(5));
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }
  void set_mode(const std::string& mode) const { m_dir.write("mode", mode + "\n"); }
  std::vector<nlohmann::json> requests() const {
    std::vector<nlohmann::json> out;
    for (const auto& line : herald::split(herald::read_file(m_log).value_or(""), '\n'))
      if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  const std::string& log() const { return m_log; }

 private:
  TempDir m_dir;
  std::string m_log;
  std::optional<ChildProcess> m_process;
  int m_port = 0;
};

// tests/tools/smtp_server.py on a free port, stopped at the end of the test.
class SmtpTestServer {
 public:
  explicit SmtpTestServer(const std::vector<std::string>& options = {}) {
    std::vector<std::string> argv = {"/usr/bin/python3", tools_dir() + "/smtp_server.py", "--out", out_dir()};
    argv.insert(argv.end(), options.begin(), options.end());
    std::string stderr_path = m_dir.file("server-stderr.txt");
    m_process.emplace(ChildProcess::spawn(argv, stderr_path));
    auto line = m_process->read_line(20'000);
    if (!line || line->rfind("PORT ", 0) != 0) {
      m_process->stop();
      throw std::runtime_error("the test SMTP server (" + tools_dir() + "/smtp_server.py" +
                               ") did not start; is python3-aiosmtpd installed? stderr: " +
                               herald::read_file(stderr_path).value_or("(none)"));
    }
    m_port = std::stoi(line->substr(5));
  }

  int port() const { return m_port; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(m_port); }
  std::string out_dir() const { return m_dir.file("out"); }

  // The server's transaction log (see the script's header).
  std::vector<nlohmann::json> log() const {
    std::vector<nlohmann::json> records;
    auto text = herald::read_file(out_dir() + "/log.jsonl").value_or("");
    for (const auto& line : herald::split(text, '\n')) {
      if (!line.empty()) records.push_back(nlohmann::json::parse(line));
    }
    return records;
  }
  std::vector<nlohmann::json> events(const std::string& kind) const {
    std::vector<nlohmann::json> found;
    for (auto& r : log()) {
      if (r.at("event") == kind) found.push_back(r);
    }
    return found;
  }
  std::string stored(const std::string& file) const {
    return herald::read_file(out_dir() + "/" + file).value_or("<missing " + file + ">");
  }

 private:
  TempDir m_dir;
  std::optional<ChildProcess> m_process;
  int m_port = 0;
};

}  // namespace herald::test
