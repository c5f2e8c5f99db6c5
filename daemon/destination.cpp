// The table of destination kinds. It is filled by the one wiring function
// (adapters/wiring.cpp) on first use, so that every entry point (the daemon,
// the tests, the fuzz targets, the manual generator) sees the same kinds.
#include "daemon/destination.hpp"

#include <algorithm>
#include <map>
#include <mutex>

namespace herald {

namespace {

struct Table {
  std::mutex mutex;
  std::map<std::string, DestinationKind> kinds;
};

Table& table() {
  static Table t;
  return t;
}

}  // namespace

void ensure_adapters_registered() {
  static std::once_flag once;
  std::call_once(once, register_adapters);
}

void register_destination_kind(DestinationKind kind) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  std::string name = kind.kind;
  t.kinds.insert_or_assign(std::move(name), std::move(kind));
}

const DestinationKind* destination_kind(const std::string& kind) {
  ensure_adapters_registered();
  Table& t = table();
  std::lock_guard lock(t.mutex);
  auto it = t.kinds.find(kind);
  return it == t.kinds.end() ? nullptr : &it->second;  // entries are never removed
}

std::vector<std::string> destination_kinds() {
  ensure_adapters_registered();
  Table& t = table();
  std::lock_guard lock(t.mutex);
  std::vector<std::string> out;
  for (const auto& [name, kind] : t.kinds) out.push_back(name);
  return out;
}

std::string delivery_key(const DestinationConfig& dest, const Event& e) {
  return dest.kind + ":" + dest.name + ":" + e.key;
}

Expected<NewDelivery> render_for(const RenderInput& in) {
  const DestinationKind* kind = destination_kind(in.dest.kind);
  if (!kind || !kind->render)
    return permanent_error("destination " + in.dest.name + ": no adapter renders kind '" +
                           in.dest.kind + "'");
  auto d = kind->render(in);
  if (d) {
    d->destination = in.dest.name;
    if (d->idempotency_key.empty()) d->idempotency_key = in.key;
  }
  return d;
}

Status render_personal_for(const RenderInput& in, const std::vector<PersonalRecipient>& recipients,
                           const std::function<Status(NewDelivery)>& emit) {
  const DestinationKind* kind = destination_kind(in.dest.kind);
  if (!kind || !kind->render_personal)
    return permanent_error("destination " + in.dest.name + ": kind '" + in.dest.kind +
                           "' sends no personal messages");
  return kind->render_personal(in, recipients, [&](NewDelivery d) {
    d.destination = in.dest.name;
    return emit(std::move(d));
  });
}

Expected<std::vector<NewDelivery>> render_personal_for(
    const RenderInput& in, const std::vector<PersonalRecipient>& recipients) {
  std::vector<NewDelivery> out;
  auto s = render_personal_for(in, recipients, [&](NewDelivery d) {
    out.push_back(std::move(d));
    return ok_status();
  });
  if (!s) return s.error();
  return out;
}

SinkFactory destination_sinks(const Config& cfg, SinkEnv env) {
  return [cfg, env](const std::string& name) -> std::unique_ptr<Sink> {
    const DestinationConfig* dest = cfg.destination(name);
    if (!dest) return nullptr;
    const DestinationKind* kind = destination_kind(dest->kind);
    if (!kind || !kind->make_sink) return nullptr;
    return kind->make_sink(cfg, *dest, env);
  };
}

}  // namespace herald
