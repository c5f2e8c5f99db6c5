// The single writer for pushed events. HTTP threads hand over an item
// (one webhook delivery or one API batch) and are answered after the
// transaction that holds it has committed; items that arrive together
// share one transaction (group commit), so throughput grows with
// concurrency while every acknowledged event is durable.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "daemon/clock.hpp"
#include "daemon/expected.hpp"
#include "daemon/store.hpp"

namespace herald {

// What one committed item gave.
struct IngestOutcome {
  bool stored = false;  // false: its delivery id was seen before and nothing was stored
  int new_events = 0;   // with count_new: its events whose key was not stored before
};

// Called once per item on the writer thread, after the commit (or at once with
// an error when the writer has stopped). It must not block.
using IngestDone = std::function<void(Expected<IngestOutcome>)>;

class IngestWriter {
 public:
  // The store and clock must outlive the writer. on_commit runs on the writer
  // thread after each commit that stored at least one item, with their number,
  // before those items are answered (as items() and commits() are updated).
  IngestWriter(Store& store, const Clock& clock, std::function<void(int)> on_commit = {});
  // Commits what is queued, then stops the thread.
  ~IngestWriter();
  IngestWriter(const IngestWriter&) = delete;
  IngestWriter& operator=(const IngestWriter&) = delete;

  // Queues an item; `done` gets its outcome. count_new asks for new_events
  // (one more read per batch).
  void submit(InboundItem item, IngestDone done, bool count_new = false);
  // submit() and wait.
  Expected<IngestOutcome> ingest(InboundItem item, bool count_new = false);
  // Commits what is queued, then refuses new items (temporary_error). Idempotent.
  void stop();

  int64_t commits() const { return m_commits; }  // transactions so far
  int64_t items() const { return m_items; }      // items committed so far (before their answer)

  static constexpr size_t k_max_batch = 2048;  // items per transaction at most
  // The longest wait after a commit for the senders it answered to come back.
  static constexpr std::chrono::milliseconds k_max_gather{5};

 private:
  struct Pending {
    InboundItem item;
    IngestDone done;
    bool count_new = false;
  };
  void run();
  void commit(std::vector<Pending>& batch);

  Store& m_store;
  const Clock& m_clock;
  std::function<void(int)> m_on_commit;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<Pending> m_queue;
  size_t m_wanted = 1;  // queue length that wakes the writer
  bool m_stopping = false;
  std::atomic<int64_t> m_commits{0};
  std::atomic<int64_t> m_items{0};
  std::thread m_thread;  // last: started when everything else is ready
};

}  // namespace herald
