// tests/tools/tracker_server.py in a child process, serving the issue files
// of a directory as a Jira ("--jira") or GitHub ("--github") API.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon/util.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/paths.hpp"

namespace herald::test {

class TrackerServer {
 public:
  // mode: "--jira" or "--github"; options are passed on to the script.
  TrackerServer(const std::string& mode, const std::string& issues_dir,
                std::vector<std::string> options) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     herald::test::source_dir() + "/tests/tools/tracker_server.py",
                                     mode,
                                     issues_dir,
                                     "--log",
                                     m_dir.file("requests.jsonl")};
    argv.insert(argv.end(), options.begin(), options.end());
    m_process.emplace(ChildProcess::spawn(argv, m_dir.file("stderr.txt")));
    auto line = m_process->read_line(20'000);
    if (!line || line->rfind("PORT ", 0) != 0)
      throw std::runtime_error("tracker_server.py did not start: " +
                               read_file(m_dir.file("stderr.txt")).value_or("(no stderr)"));
    m_url = "http://127.0.0.1:" + line->substr(5);
  }
  const std::string& url() const { return m_url; }
  // The requests served so far, one JSON object each (n, path, query, status, authorization).
  std::vector<nlohmann::json> requests() const {
    std::vector<nlohmann::json> out;
    for (const auto& l : split(read_file(m_dir.file("requests.jsonl")).value_or(""), '\n'))
      if (!l.empty()) out.push_back(nlohmann::json::parse(l));
    return out;
  }

 private:
  TempDir m_dir;
  std::optional<ChildProcess> m_process;
  std::string m_url;
};

}  // namespace herald::test
