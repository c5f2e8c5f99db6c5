// Mustache templates: bundled under templates/, overridden file by file by a
// configured directory.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/config.hpp"
#include "daemon/event.hpp"
#include "daemon/expected.hpp"

namespace herald {

struct RenderedMail {
  std::string subject;  // one line
  std::string text;
  std::string html;     // empty when the set has no HTML template
};

class Templates {
 public:
  // Loads every templates/<channel>/*.mustache (mail, slack, matrix, ...) of
  // the bundled directory, then of the override directory (same file name
  // wins). Errors name the file and what did not parse; all are reported.
  static Expected<Templates> load(const std::string& bundled_dir, const std::string& override_dir);

  // Renders <set>.subject/.text/.html; falls back to the "default" set. The text and HTML
  // templates see the rendered subject as {{subject}}.
  Expected<RenderedMail> render_mail(const std::string& set, const nlohmann::json& context) const;
  bool has_set(const std::string& set) const;

  // Renders <channel>/<set>.<part>, from the "default" set of the channel when
  // the channel has no template of the set; an absent part renders empty.
  // Empty strings count as absent, so that {{#url}}...{{/url}} is left out.
  // Values are HTML-escaped in .html parts, escaped for Slack's mrkdwn (&, <,
  // >) in slack templates other than .title (Slack's plain_text), and
  // inserted as they are elsewhere. Runs of blank lines collapse to one; the
  // ends are trimmed.
  Expected<std::string> render(const std::string& channel, const std::string& set,
                               const std::string& part, const nlohmann::json& context) const;
  bool has_set(const std::string& channel, const std::string& set) const;

  std::vector<std::string> names() const;  // "mail/release.published.subject", ...
  std::string origin(const std::string& name) const;  // file it came from

 private:
  struct Compiled;  // a parsed template, rendered under m_mutex (rendering mutates it)
  struct Entry {
    std::string file;
    std::shared_ptr<Compiled> compiled;
  };
  std::map<std::string, Entry> m_templates;  // name without extension -> template
  std::shared_ptr<std::mutex> m_mutex = std::make_shared<std::mutex>();
};

// The data a mail template sees for an event sent to a destination.
nlohmann::json mail_context(const Event& e, const DestinationConfig& dest);

}  // namespace herald
