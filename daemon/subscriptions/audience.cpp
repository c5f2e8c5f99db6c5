#include "daemon/subscriptions/audience.hpp"

#include <algorithm>

namespace herald {

bool topic_carries(const TopicConfig& topic, const Event& e) {
  if (!topic.kinds.empty() &&
      std::find(topic.kinds.begin(), topic.kinds.end(), e.kind) == topic.kinds.end())
    return false;
  for (const auto& tag : topic.tags) {
    const auto eq = tag.find('=');
    auto it = e.tags.find(tag.substr(0, eq));
    if (it == e.tags.end() || it->second != tag.substr(eq + 1)) return false;
  }
  return true;
}

bool branch_filter_takes(const Subscriber& s, const Event& e) {
  if (s.branches.empty()) return true;
  auto it = e.tags.find("branch");
  if (it == e.tags.end() || it->second.empty()) return true;
  // "2.15 2.16": news for each of them (a security notice's affected branches).
  std::string_view rest = it->second;
  while (!rest.empty()) {
    const auto sp = rest.find(' ');
    const std::string_view b = rest.substr(0, sp);
    if (!b.empty() && std::find(s.branches.begin(), s.branches.end(), b) != s.branches.end())
      return true;
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  }
  return false;
}

std::vector<Subscriber> topic_audience(const std::vector<Subscriber>& subscribers,
                                       const TopicConfig& topic, const Event& e,
                                       const std::string& mode) {
  std::vector<Subscriber> out;
  for (const auto& s : subscribers)
    if (s.state == "confirmed" && (mode.empty() || s.mode == mode) &&
        std::find(s.topics.begin(), s.topics.end(), topic.name) != s.topics.end() &&
        branch_filter_takes(s, e))
      out.push_back(s);
  return out;
}

Expected<std::vector<PersonalRecipient>> personal_recipients(SubscriberStore& store,
                                                             const std::string& base_url,
                                                             const std::vector<Subscriber>& subs) {
  auto tokens = store.manage_tokens(subs);
  if (!tokens) return tokens.error();
  std::vector<PersonalRecipient> out;
  out.reserve(subs.size());
  for (size_t i = 0; i < subs.size(); ++i)
    out.push_back({subs[i].address,
                   {{"unsubscribe_url", base_url + "/unsubscribe/" + (*tokens)[i]},
                    {"preferences_url", base_url + "/preferences/" + (*tokens)[i]}}});
  return out;
}

}  // namespace herald
