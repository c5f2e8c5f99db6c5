// The OSV source: on every poll it reads OSV records from a file, a directory
// of *.json files (an osv.dev export, a local mirror) or a URL (one record, an
// array, or the OSV API's {"vulns": [...]}), keeps those that name a
// configured package, and proposes each as a security.advisory event.
//
// Keys are osv:<id>:<modified>: the store keeps the first sight of each
// version of a record and drops the repeats, so re-reading everything each
// poll is idempotent, and a record that changes (a new fix, a withdrawal)
// comes back under a new key, as news.
//
// Files are read through the HTTP transport's file:// support, with the
// source's max_size, like every other source's input. In a directory a file
// that cannot be read or parsed, and anywhere a record of bad shape, is a
// warning naming the file (and the record) and is skipped; the others are
// taken. A severity[] vector that cannot be scored is a warning in the log
// too, but the record is taken (see osv_record.cpp for the severity it gets).
// A single configured file that cannot be read fails the poll. The URL
// is fetched with a conditional GET; the content hash of what was read makes
// an unchanged input a cheap poll.
#include "adapters/sources/osv/osv_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "adapters/sources/osv/osv_record.hpp"
#include "adapters/sources/source.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

constexpr size_t k_max_files = 100'000;  // one directory's *.json files read per poll

class OsvSource final : public Source {
 public:
  OsvSource(SourceConfig sc, const Clock& clock, std::unique_ptr<HttpTransport> http)
      : m_sc(std::move(sc)), m_clock(clock), m_http(std::move(http)) {}

  const SourceConfig& config() const override { return m_sc; }

  Expected<PollOutcome> poll(const SourceState& state) override {
    PollOutcome out;
    out.etag = state.etag;
    out.last_modified = state.last_modified;
    std::string hashes;  // of every body read, in order
    if (m_sc.path.empty()) {
      HttpRequest req = source_request(m_sc, m_sc.url);
      req.headers.push_back("Accept: application/json");
      req.etag = state.etag;
      req.last_modified = state.last_modified;
      auto resp = fetch(*m_http, req);
      if (!resp) return resp.error();
      if (resp->not_modified()) {
        out.unchanged = true;
        out.content_hash = state.content_hash;
        out.cursor = state.cursor;
        return out;
      }
      if (!resp->etag.empty()) out.etag = resp->etag;
      if (!resp->last_modified.empty()) out.last_modified = resp->last_modified;
      const std::string where = redact_url(m_sc.url);
      auto records = osv::split_document(resp->body);
      if (!records) return bad_input(where + ": " + records.error().message);
      hashes = sha256_hex(resp->body);
      take(where, *records, out);
    } else {
      std::error_code ec;
      const bool dir = std::filesystem::is_directory(m_sc.file, ec);
      std::vector<std::string> files;
      if (!dir) {
        files.push_back(m_sc.file);
      } else {
        for (std::filesystem::directory_iterator it(m_sc.file, ec), end; !ec && it != end;
             it.increment(ec)) {
          if (it->path().extension() == ".json" && !it->is_directory(ec))
            files.push_back(it->path().string());
        }
        if (ec) return temporary_error(m_sc.path + ": cannot list the directory: " + ec.message());
        std::sort(files.begin(), files.end());
        if (files.size() > k_max_files) {
          out.warnings.push_back(m_sc.path + ": more than " + std::to_string(k_max_files) +
                                 " files; the first ones by name were read");
          files.resize(k_max_files);
        }
      }
      for (const auto& file : files) {
        const std::string name = dir ? std::filesystem::path(file).filename().string() : m_sc.path;
        auto resp = fetch(*m_http, source_request(m_sc, "file://" + file));
        Expected<std::vector<nlohmann::json>> records =
            resp ? osv::split_document(resp->body)
                 : Expected<std::vector<nlohmann::json>>(resp.error());
        if (!records) {
          if (!dir) return bad_input(name + ": " + records.error().message);
          out.warnings.push_back(name + ": " + records.error().message + "; skipped");
          continue;
        }
        hashes += sha256_hex(resp->body);
        take(name, *records, out);
      }
    }
    out.content_hash = sha256_hex(hashes);
    out.unchanged = out.content_hash == state.content_hash;
    out.cursor = state.cursor;
    return out;
  }

 private:
  // The records of one body that name a configured package, as proposals.
  void take(const std::string& where, const std::vector<nlohmann::json>& records,
            PollOutcome& out) const {
    const int64_t now = m_clock.now();
    for (size_t i = 0; i < records.size(); ++i) {
      const std::string which =
          records.size() == 1 ? where : where + " [" + std::to_string(i) + "]";
      auto record = osv::parse_record(records[i]);
      if (!record) {
        out.warnings.push_back(which + ": " + record.error().message + "; skipped");
        continue;
      }
      if (!osv::matches(*record, m_sc.packages)) continue;
      Event e = osv::advisory_event(*record, m_sc.name, m_sc.packages);
      // A vector that could not be scored does not skip the record: it is
      // taken, with the severity it could be given, and the log says why.
      if (auto p = e.attributes.find("severity_problems"); p != e.attributes.end()) {
        std::string problems;
        for (const auto& item : *p)
          problems += (problems.empty() ? "" : "; ") + item.get<std::string>();
        spdlog::warn("source {}: {}: record {}: severity {} ({}): {}", m_sc.name, which,
                     e.tags["advisory"], e.severity, e.attributes.value("severity_basis", ""),
                     problems);
      }
      e.tags["project"] = m_sc.project;
      if (e.time == 0) e.time = now;
      const bool old = m_sc.max_age_ms > 0 && e.time < now - m_sc.max_age_ms / 1000;
      out.events.push_back(std::move(e));
      out.announce.push_back(!old);
    }
  }

  SourceConfig m_sc;
  const Clock& m_clock;
  std::unique_ptr<HttpTransport> m_http;
};

}  // namespace

std::unique_ptr<Source> make_osv_source(const SourceConfig& sc, const Config&, const Clock& clock,
                                        std::unique_ptr<HttpTransport> http) {
  return std::make_unique<OsvSource>(sc, clock, std::move(http));
}

SourceKind osv_source_kind() {
  SourceKind k;
  k.kind = "osv";
  k.summary = "OSV advisories (a file, a directory of records or a URL), proposed to an admin";
  k.keys = {"path", "url", "packages"};
  k.check = [](const SourceConfig& sc, const Config&) {
    std::vector<std::pair<std::string, std::string>> out;
    if (sc.path.empty() == sc.url.empty())
      out.emplace_back(sc.path.empty() ? "" : "url",
                       "(osv) needs one of 'path' (a record file or a directory of them) or "
                       "'url'");
    if (sc.url.rfind("file://", 0) == 0)
      out.emplace_back("url", "(osv) reads local records from 'path', not a file:// url");
    for (const auto& p : sc.packages)
      if (trim(p).empty()) out.emplace_back("packages", "(osv) 'packages' lists an empty name");
    return out;
  };
  k.make_source = make_osv_source;
  return k;
}

}  // namespace herald
