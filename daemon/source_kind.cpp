// The table of source kinds, filled with the destination kinds by the one
// wiring function (adapters/wiring.cpp) on first use.
#include "daemon/source_kind.hpp"

#include <map>
#include <mutex>

#include "daemon/destination.hpp"
#include "daemon/release_context.hpp"

namespace herald {

namespace {

struct Table {
  std::mutex mutex;
  std::map<std::string, SourceKind> kinds;
  std::vector<StoredReleaseContextProvider> release_context;
  std::vector<InboundRoutes> inbound;
};

Table& table() {
  static Table t;
  return t;
}

}  // namespace

void register_source_kind(SourceKind kind) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  std::string name = kind.kind;
  t.kinds.insert_or_assign(std::move(name), std::move(kind));
}

const SourceKind* source_kind(const std::string& kind) {
  ensure_adapters_registered();
  Table& t = table();
  std::lock_guard lock(t.mutex);
  auto it = t.kinds.find(kind);
  return it == t.kinds.end() ? nullptr : &it->second;  // entries are never removed
}

std::vector<std::string> source_kinds() {
  ensure_adapters_registered();
  Table& t = table();
  std::lock_guard lock(t.mutex);
  std::vector<std::string> out;
  for (const auto& entry : t.kinds) out.push_back(entry.first);
  return out;
}

bool is_pushed(const SourceConfig& sc) {
  const SourceKind* kind = source_kind(sc.kind);
  return kind && kind->pushed;
}

void register_release_context(ReleaseContextProvider provider) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  t.release_context.push_back(
      [provider = std::move(provider)](const Event& e, const Config& cfg, Store*) {
        return provider(e, cfg);
      });
}

void register_stored_release_context(StoredReleaseContextProvider provider) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  t.release_context.push_back(std::move(provider));
}

nlohmann::json release_context(const Event& e, const Config& cfg) {
  return release_context(e, cfg, nullptr);
}

nlohmann::json release_context(const Event& e, const Config& cfg, Store* store) {
  ensure_adapters_registered();
  std::vector<StoredReleaseContextProvider> providers;
  {
    Table& t = table();
    std::lock_guard lock(t.mutex);
    providers = t.release_context;  // a provider may take its time (a tracker lookup)
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& p : providers) {
    nlohmann::json add = p(e, cfg, store);
    if (add.is_object()) out.update(add);
  }
  return out;
}

void register_inbound_routes(InboundRoutes routes) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  t.inbound.push_back(std::move(routes));
}

void add_inbound_routes(HttpServer& server, const Config& cfg, const InboundEnv& env) {
  // A configuration with no source and no destination of its own (the event
  // API feeding topics) has looked up no kind yet: the table is filled here.
  ensure_adapters_registered();
  for (const auto& src : cfg.sources) {
    const SourceKind* kind = source_kind(src.kind);
    if (kind && kind->pushed && kind->add_route) kind->add_route(server, src, env);
  }
  std::vector<InboundRoutes> inbound;
  {
    Table& t = table();
    std::lock_guard lock(t.mutex);
    inbound = t.inbound;
  }
  for (const auto& add : inbound) add(server, cfg, env);
}

}  // namespace herald
