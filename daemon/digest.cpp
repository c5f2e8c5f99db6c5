// Digests.
//
// Collecting. A window is [start, end) over events' received_at, which the store stamps and
// never changes, so reading a window twice gives the same events. The start is the end of the
// previous window (digest_state); a digest seen for the first time starts "now" (recorded at
// once, so a restart does not move it). The window ends at the latest fire time F with
// F + k_settle_s <= now: after downtime the missed windows are merged into one message rather
// than sent as a burst of stale digests.
//
// Durability. Rendering happens before any write; the rows, keyed
// "digest:<name>:<end as RFC 3339>:<destination>", and the new window end are then written in
// one transaction. A crash before it leaves the old window end, so the next run collects the
// same window again (with the same end if no further fire time passed, else a longer one);
// nothing was in the outbox, so nothing is sent twice. After it the window is closed. Two
// runners committing the same window write one row (the key is UNIQUE). An empty window is
// committed with no rows unless send_empty. A destination that cannot be rendered (bad
// address, broken template override) is logged and counted, and the window still closes, as
// routing does for single events: a configuration error must not hold back the others.
//
// Grouping. Events are put in sections by kind, merged per tracker item (the event key
// without its trailing time, "jira:LU-18123:2024-05-02T09:36:15.507Z" -> "jira:LU-18123"),
// oldest to newest by the tracker's time then arrival; the newest gives the item's state and
// every change line is kept once. Items are then grouped by up to two tag keys.
#ifndef USE_OS_TZDB
#define USE_OS_TZDB 1
#endif

#include "daemon/digest.hpp"

#include "daemon/admin/security_routing.hpp"

#include "daemon/destination.hpp"
#include "daemon/pipeline.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>

#include "daemon/router.hpp"
#include "daemon/subscriptions/audience.hpp"
#include "daemon/subscriptions/web.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

constexpr size_t k_max_change_lines = 20;  // per item; the rest are counted
constexpr size_t k_max_excerpt_bytes = 200;
constexpr int k_max_catch_up_steps = 100'000;  // fire times skipped per call when merging

enum SectionIndex { k_new, k_resolved, k_changed, k_other, k_section_count };

SectionIndex section_of(const std::string& kind) {
  if (kind == "bug.created") return k_new;
  if (kind == "bug.resolved") return k_resolved;
  if (kind == "bug.updated") return k_changed;
  return k_other;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "2024-05-02T..." at pos.
bool time_at(const std::string& s, size_t pos) {
  if (s.size() < pos + 11) return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!is_digit(s[pos + i])) return false;
  return s[pos + 4] == '-' && s[pos + 7] == '-' && s[pos + 10] == 'T';
}

std::string item_identity(const std::string& key) {
  for (size_t p = key.rfind(':'); p != std::string::npos && p > 0; p = key.rfind(':', p - 1))
    if (time_at(key, p + 1)) return key.substr(0, p);
  return key;
}

std::vector<std::string> tag_values(const std::map<std::string, std::string>& tags,
                                    const std::string& tag) {
  std::vector<std::string> out;
  auto it = tags.find(tag);
  if (it == tags.end()) return out;
  for (auto& v : split(it->second, ',')) {
    std::string t = trim(v);
    if (!t.empty()) out.push_back(std::move(t));
  }
  return out;
}

bool any_listed(const std::vector<std::string>& wanted, const Event& e, const std::string& tag) {
  if (wanted.empty()) return true;
  for (const auto& v : tag_values(e.tags, tag))
    for (const auto& w : wanted)
      if (iequals(v, w)) return true;
  return false;
}

// At most max bytes, cut on a UTF-8 character boundary.
std::string truncate_utf8(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s + "...";
}

std::string first_line(const std::string& text) {
  for (const auto& line : split(text, '\n')) {
    std::string t = one_line(line);
    if (!t.empty()) return truncate_utf8(std::move(t), k_max_excerpt_bytes);
  }
  return "";
}

struct Accumulator {
  std::string identity;
  std::vector<const StoredEvent*> events;
  const StoredEvent* latest = nullptr;
};

bool earlier(const StoredEvent* a, const StoredEvent* b) {
  return a->event.time != b->event.time ? a->event.time < b->event.time : a->id < b->id;
}

DigestItem make_item(Accumulator& acc, SectionIndex section) {
  std::stable_sort(acc.events.begin(), acc.events.end(), earlier);
  const Event& latest = acc.events.back()->event;
  DigestItem item;
  item.identity = acc.identity;
  item.title = latest.title;
  item.url = latest.url;
  item.severity = latest.severity;
  item.tags = latest.tags;
  item.time = latest.time;
  item.events = static_cast<int>(acc.events.size());
  if (section == k_new || section == k_other) {
    item.excerpt = first_line(latest.summary);
    return item;
  }
  std::set<std::string> seen;
  size_t dropped = 0;
  auto add = [&](std::string line) {
    if (line.empty() || !seen.insert(line).second) return;
    if (item.changes.size() < k_max_change_lines)
      item.changes.push_back(std::move(line));
    else
      ++dropped;
  };
  for (const StoredEvent* se : acc.events) {
    bool any = false;
    for (const auto& line : split(se->event.summary, '\n')) {
      std::string t = one_line(line);
      if (t.empty()) continue;
      any = true;
      add(std::move(t));
    }
    if (any) continue;
    auto changed = se->event.tags.find("changes");
    add(changed != se->event.tags.end()    ? "changed: " + changed->second
        : se->event.kind == "bug.resolved" ? std::string("resolved")
                                           : std::string("updated"));
  }
  if (dropped) item.changes.push_back("... and " + std::to_string(dropped) + " more changes");
  return item;
}

bool ranks_by_severity(const std::string& key) { return key == "priority" || key == "severity"; }

// Orders labels of one grouping level: missing last, then by rank (highest first) for
// priority and severity, then alphabetically ignoring case.
struct LabelOrder {
  const std::map<std::string, int>* rank;
  bool by_rank;
  bool operator()(const std::string& a, const std::string& b) const {
    bool ma = !a.empty() && a.front() == '(', mb = !b.empty() && b.front() == '(';
    if (ma != mb) return mb;
    if (by_rank) {
      int ra = rank->at(a), rb = rank->at(b);
      if (ra != rb) return ra > rb;
    }
    std::string la = to_lower(a), lb = to_lower(b);
    return la != lb ? la < lb : a < b;
  }
};

std::vector<std::string> labels_of(const DigestItem& item, const std::string& key) {
  if (key.empty()) return {""};
  auto values = tag_values(item.tags, key);
  if (values.empty()) values.push_back("(no " + key + ")");
  return values;
}

std::vector<DigestGroup> group_items(const std::vector<DigestItem>& items,
                                     const std::vector<std::string>& group_by) {
  const std::string k1 = group_by.size() > 0 ? group_by[0] : "";
  const std::string k2 = group_by.size() > 1 ? group_by[1] : "";
  // label1 -> label2 -> item indexes; ranks are the highest severity under a label.
  std::map<std::string, std::map<std::string, std::vector<size_t>>> tree;
  std::map<std::string, int> rank1, rank2;
  for (size_t i = 0; i < items.size(); ++i) {
    const int r = severity_rank(items[i].severity);
    for (const auto& l1 : labels_of(items[i], k1)) {
      rank1[l1] = std::max(rank1.count(l1) ? rank1[l1] : 0, r);
      for (const auto& l2 : labels_of(items[i], k2)) {
        rank2[l2] = std::max(rank2.count(l2) ? rank2[l2] : 0, r);
        auto& list = tree[l1][l2];
        if (list.empty() || list.back() != i) list.push_back(i);
      }
    }
  }
  std::vector<std::string> order1;
  for (const auto& [l1, sub] : tree) order1.push_back(l1);
  std::sort(order1.begin(), order1.end(), LabelOrder{&rank1, ranks_by_severity(k1)});
  const LabelOrder order2{&rank2, ranks_by_severity(k2)};
  std::vector<DigestGroup> groups;
  for (const auto& l1 : order1) {
    DigestGroup g;
    g.label = l1;
    std::vector<std::string> labels2;
    for (const auto& [l2, idx] : tree[l1]) labels2.push_back(l2);
    std::sort(labels2.begin(), labels2.end(), order2);
    std::set<size_t> distinct;
    for (const auto& l2 : labels2) {
      auto& idx = tree[l1][l2];
      std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
        int ra = severity_rank(items[a].severity), rb = severity_rank(items[b].severity);
        if (ra != rb) return ra > rb;
        return items[a].title != items[b].title ? items[a].title < items[b].title : a < b;
      });
      DigestSubgroup s;
      s.label = l2;
      distinct.insert(idx.begin(), idx.end());
      s.items = std::move(idx);
      g.subgroups.push_back(std::move(s));
    }
    g.count = static_cast<int>(distinct.size());
    groups.push_back(std::move(g));
  }
  return groups;
}

const date::time_zone* find_zone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

// "2026-03-29 02:00 BST" in the zone (UTC when it is unknown).
std::string local_time(const date::time_zone* zone, int64_t t) {
  int64_t offset = 0;
  std::string abbrev = "UTC";
  if (zone) {
    try {
      auto info = zone->get_info(date::sys_seconds{std::chrono::seconds{t}});
      offset = info.offset.count();
      abbrev = info.abbrev;
    } catch (const std::exception&) {
    }
  }
  const int64_t local = t + offset;
  int64_t days = local / 86'400, secs = local % 86'400;
  if (secs < 0) {
    secs += 86'400;
    --days;
  }
  const date::year_month_day ymd{date::sys_days{date::days{days}}};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(secs / 3600), static_cast<int>(secs % 3600 / 60));
  return buf + abbrev;
}

const char* k_section_ids[] = {"new", "resolved", "changed", "other"};
const char* k_section_titles[] = {"New", "Resolved", "Notable changes", "Other events"};
const char* k_section_phrases[] = {"new", "resolved", "with notable changes", "other"};

// Empty fields are left out: templates test them with {{#url}}...{{/url}} (none of these
// names exists in an enclosing context, so a missing one is false).
nlohmann::json item_json(const DigestItem& item, const date::time_zone* zone) {
  auto tag = [&](const char* name) {
    auto it = item.tags.find(name);
    return it == item.tags.end() ? std::string() : it->second;
  };
  nlohmann::json j = {{"title", item.title}, {"severity", item.severity}};
  if (!item.url.empty()) j["url"] = item.url;
  const std::string priority = tag("priority"), status = tag("status");
  if (!priority.empty() || !status.empty())
    j["state"] = priority.empty() ? status : status.empty() ? priority : priority + ", " + status;
  if (!item.excerpt.empty()) j["excerpt"] = item.excerpt;
  if (!item.changes.empty()) {
    j["changes"] = item.changes;
    j["has_changes"] = true;
  }
  if (item.events > 1) j["updates"] = item.events;
  if (item.time) j["updated_local"] = local_time(zone, item.time);
  return j;
}

}  // namespace

bool digest_matches(const DigestConfig& digest, const Event& e) {
  // Notices were sent at once, ahead of everything; proposals are held for an admin.
  if (is_security_kind(e.kind) || is_proposal_kind(e.kind)) return false;
  if (!digest.kinds.empty() &&
      std::find(digest.kinds.begin(), digest.kinds.end(), e.kind) == digest.kinds.end())
    return false;
  if (!digest.min_severity.empty() &&
      severity_rank(e.severity) < severity_rank(digest.min_severity))
    return false;
  return any_listed(digest.projects, e, "project") &&
         any_listed(digest.components, e, "component") && any_listed(digest.labels, e, "labels");
}

DigestContent build_digest(const DigestConfig& digest, const std::vector<StoredEvent>& events,
                           int64_t window_start, int64_t window_end, size_t max_listed) {
  DigestContent c;
  c.name = digest.name;
  c.title = digest.title.empty() ? digest.name + " digest" : digest.title;
  c.schedule = digest.schedule;
  c.timezone = digest.timezone;
  c.window_start = window_start;
  c.window_end = window_end;
  std::vector<Accumulator> acc[k_section_count];
  std::unordered_map<std::string, size_t> index[k_section_count];
  for (const auto& se : events) {
    if (!digest_matches(digest, se.event)) continue;
    ++c.events;
    const SectionIndex s = section_of(se.event.kind);
    std::string id = item_identity(se.event.key);
    auto [it, fresh] = index[s].try_emplace(id, acc[s].size());
    if (fresh) acc[s].push_back({std::move(id), {}, nullptr});
    Accumulator& a = acc[s][it->second];
    a.events.push_back(&se);
    if (!a.latest || earlier(a.latest, &se)) a.latest = &se;
  }
  for (int s = 0; s < k_section_count; ++s) {
    DigestSection section;
    section.id = k_section_ids[s];
    section.title = k_section_titles[s];
    section.count = static_cast<int>(acc[s].size());
    std::vector<Accumulator*> listed;
    listed.reserve(acc[s].size());
    for (auto& a : acc[s]) listed.push_back(&a);
    if (listed.size() > max_listed) {
      std::partial_sort(listed.begin(), listed.begin() + static_cast<std::ptrdiff_t>(max_listed),
                        listed.end(), [](const Accumulator* a, const Accumulator* b) {
                          int ra = severity_rank(a->latest->event.severity);
                          int rb = severity_rank(b->latest->event.severity);
                          return ra != rb ? ra > rb : earlier(b->latest, a->latest);
                        });
      section.unlisted = static_cast<int>(listed.size() - max_listed);
      listed.resize(max_listed);
    }
    section.items.reserve(listed.size());
    for (Accumulator* a : listed)
      section.items.push_back(make_item(*a, static_cast<SectionIndex>(s)));
    section.groups = group_items(section.items, digest.group_by);
    c.sections.push_back(std::move(section));
  }
  return c;
}

nlohmann::json digest_context(const DigestContent& content, const DestinationConfig& dest) {
  const date::time_zone* zone = find_zone(content.timezone);
  nlohmann::json ctx = nlohmann::json::object();
  nlohmann::json sections = nlohmann::json::array();
  for (size_t s = 0; s < content.sections.size(); ++s) {
    const DigestSection& sec = content.sections[s];
    ctx["count_" + sec.id] = sec.count;
    if (sec.count == 0) continue;
    std::vector<nlohmann::json> items;
    items.reserve(sec.items.size());
    for (const auto& item : sec.items) items.push_back(item_json(item, zone));
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& g : sec.groups) {
      nlohmann::json subgroups = nlohmann::json::array();
      for (const auto& sg : g.subgroups) {
        nlohmann::json listed = nlohmann::json::array();
        for (size_t i : sg.items) listed.push_back(items[i]);
        subgroups.push_back({{"label", sg.label},
                             {"has_label", !sg.label.empty()},
                             {"count", sg.items.size()},
                             {"items", std::move(listed)}});
      }
      groups.push_back({{"label", g.label},
                        {"has_label", !g.label.empty()},
                        {"count", g.count},
                        {"subgroups", std::move(subgroups)}});
    }
    nlohmann::json j = {
        {"id", sec.id},       {"title", sec.title}, {"phrase", k_section_phrases[s < 4 ? s : 3]},
        {"count", sec.count}, {"last", false},      {"groups", std::move(groups)}};
    if (sec.unlisted) j["unlisted"] = sec.unlisted;
    sections.push_back(std::move(j));
  }
  if (!sections.empty()) sections.back()["last"] = true;
  const std::string end_local = local_time(zone, content.window_end);
  ctx["name"] = content.name;
  ctx["title"] = content.title;
  ctx["schedule"] = content.schedule;
  ctx["timezone"] = content.timezone;
  ctx["window_start_rfc3339"] = format_rfc3339(content.window_start);
  ctx["window_end_rfc3339"] = format_rfc3339(content.window_end);
  ctx["window_start_local"] = local_time(zone, content.window_start);
  ctx["window_end_local"] = end_local;
  ctx["date"] = end_local.substr(0, 10);
  ctx["events"] = content.events;
  ctx["empty"] = content.empty();
  ctx["sections"] = std::move(sections);
  ctx["destination_name"] = dest.name;
  if (!dest.subject_prefix.empty()) ctx["subject_prefix"] = dest.subject_prefix;
  ctx["herald_version"] = HERALD_VERSION;
  return ctx;
}

DigestRunner::DigestRunner(const Config& cfg, const Templates& templates, Store& store,
                           const Clock& clock)
    : m_cfg(cfg), m_templates(templates), m_store(store), m_clock(clock) {
  for (const auto& d : m_cfg.digests) {
    auto schedule = CronSchedule::parse(d.schedule, d.timezone);
    if (!schedule) {
      m_errors.push_back("digest '" + d.name + "': " + schedule.error().message);
      spdlog::error("{}; the digest is not run", m_errors.back());
      continue;
    }
    m_digests.push_back({d, *schedule});
  }
  if (!m_digests.empty() && !m_templates.has_set("digest")) {
    m_errors.push_back("no digest template set (mail/digest.subject, mail/digest.text)");
    spdlog::error("{}; digests use the default set", m_errors.back());
  }
}

std::optional<DigestBatch> DigestRunner::collect(const Scheduled& d, int64_t now) {
  const std::string& name = d.config.name;
  auto stored = m_store.digests().digest_window_end(name);
  if (!stored) {  // tried again on the next pass
    spdlog::error("digest {}: cannot read its window: {}", name, stored.error().message);
    return std::nullopt;
  }
  auto start = *stored;
  if (!start) {
    if (auto s = m_store.outbox().commit_digest(name, now, {}, now); !s)
      spdlog::error("digest {}: cannot record its start: {}", name, s.error().message);
    else
      spdlog::info("digest {}: first window starts at {}", name, format_rfc3339(now));
    return std::nullopt;
  }
  const int64_t latest = now - k_settle_s;
  int64_t end = d.schedule.next_after(*start);
  if (end == CronSchedule::k_never || end > latest) return std::nullopt;
  for (int i = 0; i < k_max_catch_up_steps; ++i) {
    const int64_t next = d.schedule.next_after(end);
    if (next == CronSchedule::k_never || next > latest) break;
    end = next;
  }
  auto events = m_store.events().events_received_between(*start, end, d.config.kinds);
  if (!events) {
    spdlog::error("digest {}: cannot read the window's events: {}", name, events.error().message);
    return std::nullopt;
  }
  DigestContent content = build_digest(d.config, *events, *start, end);
  DigestBatch batch;
  batch.name = name;
  batch.window_start = *start;
  batch.window_end = end;
  batch.events = content.events;
  if (content.empty() && !d.config.send_empty) return batch;
  for (const auto& dname : d.config.to) {
    if (dname.rfind(k_topic_prefix, 0) == 0) continue;  // below
    const DestinationConfig* dest = m_cfg.destination(dname);
    Expected<NewDelivery> delivery = permanent_error("unknown destination");
    if (dest) {
      const std::string key = "digest:" + name + ":" + format_rfc3339(end) + ":" + dname;
      const nlohmann::json context = digest_context(content, *dest);
      delivery = render_for(RenderInput{m_cfg, m_templates, *dest, "digest", context, nullptr,
                                        key, now});
    }
    if (!delivery) {
      ++batch.failures;
      spdlog::error("digest {}: cannot render for destination {}: {}", name, dname,
                    delivery.error().message);
      continue;
    }
    batch.deliveries.push_back(std::move(*delivery));
  }
  collect_for_subscribers(d, *events, batch, now);
  return batch;
}

// "topic:NAME" in a digest's `to`: every confirmed subscriber who chose one of the named
// topics, whatever their mode (the digest is itself periodic), gets one mail with the events
// of the window that those of their topics carry and their branch filter takes; nothing when
// that is none. Subscribers with the same topics and branches get the same digest: it is
// rendered once for them, and each copy gets only its recipient's links.
void DigestRunner::collect_for_subscribers(const Scheduled& d,
                                           const std::vector<StoredEvent>& events,
                                           DigestBatch& batch, int64_t now) {
  const std::string& name = d.config.name;
  std::vector<const TopicConfig*> topics;
  for (const auto& to : d.config.to)
    if (to.rfind(k_topic_prefix, 0) == 0)
      for (const auto& t : m_cfg.topics)
        if (to.compare(std::char_traits<char>::length(k_topic_prefix), std::string::npos,
                       t.name) == 0)
          topics.push_back(&t);
  if (topics.empty()) return;
  const DestinationConfig* dest = m_cfg.destination(k_subscriber_destination);
  if (!dest) return;  // check-config requires [web] base_url for a topic
  auto subs = m_store.subscribers().list("confirmed");
  if (!subs) {
    ++batch.failures;
    spdlog::error("digest {}: cannot read the subscribers: {}", name, subs.error().message);
    return;
  }
  // Subscribers by (the digest's topics they chose, their branches).
  std::map<std::pair<std::vector<size_t>, std::vector<std::string>>, std::vector<size_t>> groups;
  for (size_t i = 0; i < subs->size(); ++i) {
    const Subscriber& s = (*subs)[i];
    std::vector<size_t> chosen;
    for (size_t t = 0; t < topics.size(); ++t)
      if (std::find(s.topics.begin(), s.topics.end(), topics[t]->name) != s.topics.end())
        chosen.push_back(t);
    if (chosen.empty()) continue;
    std::vector<std::string> branches = s.branches;
    std::sort(branches.begin(), branches.end());
    groups[{std::move(chosen), std::move(branches)}].push_back(i);
  }
  const std::string key = "digest:" + name + ":" + format_rfc3339(batch.window_end) + ":" +
                          k_subscriber_destination;
  size_t made = 0;
  for (const auto& [what, members] : groups) {
    const Subscriber& first = (*subs)[members.front()];
    std::vector<StoredEvent> theirs;
    std::string titles;
    for (size_t t : what.first) titles += (titles.empty() ? "" : ", ") + topics[t]->title;
    for (const auto& se : events)
      if (branch_filter_takes(first, se.event) &&
          std::any_of(what.first.begin(), what.first.end(),
                      [&](size_t t) { return topic_carries(*topics[t], se.event); }))
        theirs.push_back(se);
    const DigestContent content =
        build_digest(d.config, theirs, batch.window_start, batch.window_end);
    if (content.empty()) continue;
    std::vector<Subscriber> readers;
    for (size_t i : members) readers.push_back((*subs)[i]);
    auto recipients = personal_recipients(m_store.subscribers(), m_cfg.web.base_url, readers);
    if (!recipients) {
      ++batch.failures;
      spdlog::error("digest {}: cannot read the subscribers' links: {}", name,
                    recipients.error().message);
      return;
    }
    nlohmann::json context = digest_context(content, *dest);
    context["topic"] = titles;
    auto mails = render_personal_for(
        RenderInput{m_cfg, m_templates, *dest, "digest", context, nullptr, key, now}, *recipients);
    if (!mails) {
      ++batch.failures;
      spdlog::error("digest {}: cannot render for {} subscribers: {}", name, readers.size(),
                    mails.error().message);
      continue;
    }
    made += mails->size();
    for (auto& m : *mails) batch.deliveries.push_back(std::move(m));
  }
  if (made)
    spdlog::info("digest {}: {} personal mails to the subscribers of its topics", name, made);
}

std::vector<DigestBatch> DigestRunner::collect_due() {
  std::vector<DigestBatch> out;
  for (const auto& d : m_digests)
    if (auto b = collect(d, m_clock.now())) out.push_back(std::move(*b));
  return out;
}

Status DigestRunner::commit(const DigestBatch& batch) {
  auto s =
      m_store.outbox().commit_digest(batch.name, batch.window_end, batch.deliveries, m_clock.now());
  if (!s) {
    spdlog::error("digest {}: cannot store the window ending {}: {}", batch.name,
                  format_rfc3339(batch.window_end), s.error().message);
    return s;
  }
  spdlog::info("digest {}: window {} to {}: {} events, {} messages", batch.name,
               format_rfc3339(batch.window_start), format_rfc3339(batch.window_end), batch.events,
               batch.deliveries.size());
  return s;
}

void DigestRunner::run_due(RunReport& report) {
  for (const auto& batch : collect_due()) {
    report.render_failures += batch.failures;
    if (commit(batch)) report.deliveries_created += static_cast<int>(batch.deliveries.size());
  }
}

int64_t DigestRunner::next_due() {
  int64_t next = CronSchedule::k_never;
  for (const auto& d : m_digests) {
    auto stored = m_store.digests().digest_window_end(d.config.name);
    if (!stored) {  // look again in a minute
      next = std::min(next, m_clock.now() + 60);
      continue;
    }
    auto start = *stored;
    if (!start) return m_clock.now();
    const int64_t fire = d.schedule.next_after(*start);
    if (fire != CronSchedule::k_never) next = std::min(next, fire + k_settle_s);
  }
  return next;
}

}  // namespace herald
