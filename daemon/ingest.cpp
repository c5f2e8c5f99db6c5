// Group commit. One thread sleeps until the queue is non-empty, takes
// everything waiting (up to k_max_batch) and writes it with one
// Store::ingest call, i.e. one transaction and one fsync; while it commits,
// new items pile up and form the next batch. If a batch fails, its items
// are retried one by one so that one bad item cannot fail the others.
// Items without a delivery id are merged into one, so the store writes
// them with one statement.
//
// A commit costs about one disk flush (5 ms on a virtual disk), whatever
// its size, so throughput is the items per commit. Senders that wait for
// their answer before sending again (every webhook client and wrk) split
// into two groups that take turns: one commits while the other, answered a
// moment before, is still on its way back. So after each commit the writer
// waits, for at most half the last commit's time, until as many items are
// queued as were in flight at its end (the batch plus what queued behind
// it); a short wait that joins both groups halves the flushes. When fewer
// come, the next expectation is what came, so a lone item is never held.
// Callbacks run after the commit returned, so an answer never precedes
// durability.
#include "daemon/ingest.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <iterator>
#include <spdlog/spdlog.h>
#include <unordered_set>

namespace herald {

IngestWriter::IngestWriter(Store& store, const Clock& clock, std::function<void(int)> on_commit)
    : m_store(store), m_clock(clock), m_on_commit(std::move(on_commit)),
      m_thread([this] { run(); }) {}

IngestWriter::~IngestWriter() { stop(); }

void IngestWriter::submit(InboundItem item, IngestDone done, bool count_new) {
  {
    std::lock_guard lock(m_mutex);
    if (!m_stopping) {
      m_queue.push_back({std::move(item), std::move(done), count_new});
      if (m_queue.size() >= m_wanted) m_cv.notify_one();
      return;
    }
  }
  done(temporary_error("herald is shutting down"));
}

Expected<IngestOutcome> IngestWriter::ingest(InboundItem item, bool count_new) {
  std::promise<Expected<IngestOutcome>> promise;
  auto future = promise.get_future();
  submit(
      std::move(item),
      [&promise](Expected<IngestOutcome> r) { promise.set_value(std::move(r)); }, count_new);
  return future.get();
}

void IngestWriter::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_cv.notify_one();
  if (m_thread.joinable()) m_thread.join();
}

void IngestWriter::run() {
  std::vector<Pending> batch;
  size_t expected = 1;  // items in flight at the end of the last commit
  auto gather = std::chrono::steady_clock::duration::zero();
  for (;;) {
    {
      std::unique_lock lock(m_mutex);
      m_wanted = 1;
      m_cv.wait(lock, [&] { return !m_queue.empty() || m_stopping; });
      if (m_queue.empty()) return;  // stopping, and everything is committed
      if (m_queue.size() < expected && gather > gather.zero()) {
        m_wanted = expected;
        m_cv.wait_for(lock, gather, [&] { return m_queue.size() >= expected || m_stopping; });
        m_wanted = 1;
      }
      size_t n = std::min(m_queue.size(), k_max_batch);
      batch.clear();
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(m_queue.front()));
        m_queue.pop_front();
      }
    }
    const auto start = std::chrono::steady_clock::now();
    commit(batch);
    const auto took = std::chrono::steady_clock::now() - start;
    gather = std::min<std::chrono::steady_clock::duration>(took / 2, k_max_gather);
    std::lock_guard lock(m_mutex);
    expected = std::min(batch.size() + m_queue.size(), k_max_batch);
  }
}

void IngestWriter::commit(std::vector<Pending>& batch) {
  // New events of the items that ask: keys neither stored nor seen earlier in the batch.
  std::vector<int> new_events(batch.size(), 0);
  {
    std::vector<std::string> keys;
    for (const auto& p : batch)
      if (p.count_new)
        for (const auto& e : p.item.events) keys.push_back(e.key);
    if (!keys.empty()) {
      std::unordered_set<std::string> known;
      if (auto existing = m_store.events().existing_event_keys(keys))
        known.insert(existing->begin(), existing->end());
      for (size_t i = 0; i < batch.size(); ++i)
        if (batch[i].count_new)
          for (const auto& e : batch[i].item.events)
            if (known.insert(e.key).second) ++new_events[i];
    }
  }

  // Items without a delivery id need no dedup check: their events go into one
  // shared item, which the store writes with one statement.
  constexpr size_t k_none = static_cast<size_t>(-1);
  std::vector<InboundItem> items;
  std::vector<size_t> slot(batch.size());                 // batch index -> item index
  std::vector<std::pair<size_t, size_t>> span(batch.size());  // events in the shared item
  size_t shared = k_none;
  for (size_t i = 0; i < batch.size(); ++i) {
    InboundItem& item = batch[i].item;
    if (!item.delivery_id.empty()) {
      slot[i] = items.size();
      items.push_back(std::move(item));
      continue;
    }
    if (shared == k_none) {
      shared = items.size();
      items.emplace_back();
    }
    auto& events = items[shared].events;
    auto& announce = items[shared].announce;
    span[i] = {events.size(), events.size() + item.events.size()};
    for (size_t e = 0; e < item.events.size(); ++e)
      announce.push_back(e < item.announce.size() ? item.announce[e] : true);
    std::move(item.events.begin(), item.events.end(), std::back_inserter(events));
    slot[i] = shared;
  }

  const int64_t now = m_clock.now();
  std::vector<Expected<bool>> stored;
  stored.reserve(batch.size());
  auto result = m_store.events().ingest(items, now);
  if (result) {
    ++m_commits;
    for (size_t i = 0; i < batch.size(); ++i) stored.emplace_back((*result)[slot[i]]);
  } else if (batch.size() == 1) {
    stored.emplace_back(result.error());
  } else {
    spdlog::warn("ingest: a batch of {} failed ({}); committing its items one by one",
                 batch.size(), result.error().message);
    for (size_t i = 0; i < batch.size(); ++i) {
      InboundItem one;
      if (slot[i] == shared) {
        const auto& events = items[shared].events;
        const auto& announce = items[shared].announce;
        const auto from = static_cast<std::ptrdiff_t>(span[i].first);
        const auto to = static_cast<std::ptrdiff_t>(span[i].second);
        one.events.assign(events.begin() + from, events.begin() + to);
        one.announce.assign(announce.begin() + from, announce.begin() + to);
      } else {
        one = items[slot[i]];
      }
      auto r = m_store.events().ingest({one}, now);
      if (r) ++m_commits;
      stored.push_back(r ? Expected<bool>(r->at(0)) : Expected<bool>(r.error()));
    }
  }

  // Counted before the answers, so that whoever was answered sees their item counted.
  int stored_items = 0;
  for (const auto& r : stored) stored_items += r && *r;
  m_items += static_cast<int64_t>(batch.size());
  if (stored_items > 0 && m_on_commit) m_on_commit(stored_items);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!stored[i]) {
      batch[i].done(stored[i].error());
      continue;
    }
    IngestOutcome out;
    out.stored = *stored[i];
    if (out.stored) out.new_events = new_events[i];
    batch[i].done(out);
  }
}

}  // namespace herald
