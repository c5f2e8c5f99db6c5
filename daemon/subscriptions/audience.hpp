// A topic's audience: which events a topic carries and which of its
// subscribers receive one.
#pragma once

#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/destination.hpp"
#include "daemon/event.hpp"
#include "daemon/store/subscribers.hpp"

namespace herald {

// A route's `to` entry "topic:NAME" names the subscribers of topic NAME.
inline constexpr const char* k_topic_prefix = "topic:";

// Whether the topic carries the event: its kind is among the topic's kinds
// (or the topic lists none) and every "key=value" tag of the topic holds.
bool topic_carries(const TopicConfig& topic, const Event& e);

// Whether a subscriber's branch filter takes the event: no filter, an event
// without a branch tag (news for every branch), or one of its branch tag's
// space-separated branches listed.
bool branch_filter_takes(const Subscriber& s, const Event& e);

// The subscribers of `subscribers` (read as confirmed) who chose the topic,
// receive mail in `mode` ("" = any mode), and whose branch filter takes the event.
std::vector<Subscriber> topic_audience(const std::vector<Subscriber>& subscribers,
                                       const TopicConfig& topic, const Event& e,
                                       const std::string& mode = "immediate");

// Each subscriber as the recipient of a personal copy: their address and the
// links of their mail (unsubscribe_url, preferences_url under base_url), from
// their manage tokens.
Expected<std::vector<PersonalRecipient>> personal_recipients(SubscriberStore& store,
                                                             const std::string& base_url,
                                                             const std::vector<Subscriber>& subs);

}  // namespace herald
