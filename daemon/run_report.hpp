// What one round of the pipeline did, for logs, exit codes and tests.
#pragma once

namespace herald {

struct RunReport {
  int polls = 0, poll_failures = 0, unchanged = 0, new_events = 0, skipped_items = 0;
  int routed_events = 0, deliveries_created = 0, render_failures = 0;
  int delivered = 0, retried = 0, dead = 0;
  int unrecorded = 0;  // sent, but the outcome could not be stored: sent again next time
  int store_failures = 0;  // deliveries that could not be claimed from the store
};

}  // namespace herald
