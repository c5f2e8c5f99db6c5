#include "daemon/admin/client.hpp"

#include <cstdio>
#include <cstdlib>

#include <toml++/toml.h>

#include "daemon/http_server.hpp"
#include "daemon/http_transport.hpp"
#include "daemon/util.hpp"

namespace herald {

const std::string* SubcommandArgs::value(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() ? nullptr : &it->second;
}

Expected<SubcommandArgs> parse_subcommand(const std::vector<std::string>& args,
                                          std::set<std::string> value_options,
                                          const std::set<std::string>& flag_options) {
  value_options.insert({"--config", "--url", "--token-file"});
  SubcommandArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string s = args[i];
    if (s == "-c") s = "--config";
    if (s.size() < 2 || s[0] != '-') {
      out.positional.push_back(s);
      continue;
    }
    std::string name = s, value;
    const auto eq = s.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      name = s.substr(0, eq);
      value = s.substr(eq + 1);
    }
    if (value_options.count(name)) {
      if (!inline_value) {
        if (i + 1 >= args.size()) return bad_input(name + " needs a value");
        value = args[++i];
      }
      out.values[name] = value;
    } else if (flag_options.count(name) && !inline_value) {
      out.flags.insert(name);
    } else {
      return bad_input("unknown option '" + s + "'");
    }
  }
  return out;
}

namespace {

// [http] listen of a configuration, read without the rest of it (whose
// secrets the admin running the command need not be able to read).
Expected<std::string> listen_of(const std::string& path) {
  try {
    auto root = toml::parse_file(path);
    auto listen = root["http"]["listen"].value<std::string>();
    if (!listen || listen->empty())
      return bad_input(path + " has no [http] listen; give --url or set HERALD_URL");
    auto addr = parse_listen(*listen);
    if (!addr) return bad_input(path + ": [http] listen: " + addr.error().message);
    std::string host = addr->host == "0.0.0.0" ? "127.0.0.1" : addr->host == "::" ? "::1" : addr->host;
    if (addr->ipv6) host = "[" + host + "]";
    return "http://" + host + ":" + std::to_string(addr->port);
  } catch (const toml::parse_error& e) {
    return bad_input(path + ":" + std::to_string(e.source().begin.line) + ": " +
                     std::string(e.description()));
  }
}

}  // namespace

Expected<AdminEndpoint> admin_endpoint(const SubcommandArgs& args) {
  AdminEndpoint ep;
  if (const auto* u = args.value("--url")) {
    ep.base_url = *u;
  } else if (const char* e = std::getenv("HERALD_URL"); e && *e) {
    ep.base_url = e;
  } else {
    std::string config = "/etc/herald/herald.toml";
    if (const auto* c = args.value("--config"))
      config = *c;
    else if (const char* env = std::getenv("HERALD_CONFIG"); env && *env)
      config = env;
    auto url = listen_of(config);
    if (!url) return url.error();
    ep.base_url = *url;
  }
  while (!ep.base_url.empty() && ep.base_url.back() == '/') ep.base_url.pop_back();
  std::string token_file;
  if (const auto* t = args.value("--token-file"))
    token_file = *t;
  else if (const char* e = std::getenv("HERALD_ADMIN_TOKEN_FILE"); e && *e)
    token_file = e;
  if (token_file.empty())
    return bad_input("no admin token: give --token-file FILE or set HERALD_ADMIN_TOKEN_FILE");
  auto token = read_file(token_file);
  if (!token) return bad_input("cannot read the token file " + token_file);
  ep.token = trim(*token);
  if (ep.token.empty()) return bad_input("the token file " + token_file + " is empty");
  return ep;
}

Expected<AdminAnswer> admin_call(const AdminEndpoint& endpoint, const std::string& method,
                                 const std::string& path,
                                 const std::optional<nlohmann::json>& body) {
  auto transport = make_curl_transport();
  HttpRequest req;
  req.method = method;
  req.url = endpoint.base_url + "/api/v1/admin/" + path;
  req.headers.push_back("Authorization: Bearer " + endpoint.token);
  req.headers.emplace_back("Accept: application/json");
  if (body) {
    req.headers.emplace_back("Content-Type: application/json");
    req.body = body->dump();
  }
  req.max_redirects = 0;
  auto res = transport->perform(req);
  if (!res)
    return temporary_error("no answer from herald at " + endpoint.base_url + " (" +
                           res.failure().message + "); is the daemon running with [http] listen?");
  AdminAnswer out;
  out.status = res->status;
  if (!res->body.empty()) {
    out.body = nlohmann::json::parse(res->body, nullptr, false);
    if (out.body.is_discarded())
      return bad_input("herald answered " + std::to_string(res->status) + " with a body that is not JSON");
  }
  return out;
}

int report_answer_error(const AdminAnswer& answer) {
  std::string why = answer.body.is_object() && answer.body.contains("error")
                        ? answer.body["error"].get<std::string>()
                        : "(no reason given)";
  std::fprintf(stderr, "herald: %ld: %s\n", answer.status, why.c_str());
  return 1;
}

}  // namespace herald
