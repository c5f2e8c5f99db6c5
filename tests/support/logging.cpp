// spdlog's registry (the default logger) is made on first use. The library
// is not built with ThreadSanitizer, so when two test threads log first at
// once it cannot see the guard of that one-time construction and reports a
// race. Made here, before main and so before any test starts a thread.
#include <spdlog/spdlog.h>

namespace {
const bool k_spdlog_ready = static_cast<bool>(spdlog::default_logger());
}  // namespace
