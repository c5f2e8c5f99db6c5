// Group commit. One thread sleeps until the queue is non-empty, takes
// everything waiting (up to k_max_batch) and writes it with one
// Store::ingest call, i.e. one transaction and one fsync; while it commits,
// new items pile up and form the next batch. If a batch fails, its items
// are retried one by one so that one bad item cannot fail the others.
// Callbacks run after the commit returned, so an answer never precedes
// durability.
#include "daemon/ingest.hpp"

#include <future>
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
      m_cv.notify_one();
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
  for (;;) {
    {
      std::unique_lock lock(m_mutex);
      m_cv.wait(lock, [&] { return !m_queue.empty() || m_stopping; });
      if (m_queue.empty()) return;  // stopping, and everything is committed
      size_t n = std::min(m_queue.size(), k_max_batch);
      batch.clear();
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(m_queue.front()));
        m_queue.pop_front();
      }
    }
    commit(batch);
  }
}

void IngestWriter::commit(std::vector<Pending>& batch) {
  // Keys already stored, for the items that want a count of new events.
  std::unordered_set<std::string> known;
  std::vector<std::string> keys;
  for (const auto& p : batch)
    if (p.count_new)
      for (const auto& e : p.item.events) keys.push_back(e.key);
  if (!keys.empty()) {
    if (auto existing = m_store.existing_event_keys(keys))
      known.insert(existing->begin(), existing->end());
  }

  std::vector<InboundItem> items;
  items.reserve(batch.size());
  for (auto& p : batch) items.push_back(std::move(p.item));
  const int64_t now = m_clock.now();
  auto result = m_store.ingest(items, now);
  std::vector<Expected<bool>> stored;
  stored.reserve(items.size());
  if (result) {
    for (bool b : *result) stored.emplace_back(b);
    ++m_commits;
  } else if (items.size() == 1) {
    stored.emplace_back(result.error());
  } else {
    spdlog::warn("ingest: a batch of {} failed ({}); committing its items one by one",
                 items.size(), result.error().message);
    for (auto& item : items) {
      auto one = m_store.ingest({item}, now);
      if (one) {
        stored.emplace_back(one->at(0));
        ++m_commits;
      } else {
        stored.emplace_back(one.error());
      }
    }
  }

  int stored_items = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!stored[i]) {
      batch[i].done(stored[i].error());
      continue;
    }
    IngestOutcome out;
    out.stored = *stored[i];
    if (out.stored) {
      ++stored_items;
      if (batch[i].count_new)
        for (const auto& e : items[i].events)
          if (known.insert(e.key).second) ++out.new_events;
    }
    batch[i].done(out);
  }
  m_items += static_cast<int64_t>(batch.size());
  if (stored_items > 0 && m_on_commit) m_on_commit(stored_items);
}

}  // namespace herald
