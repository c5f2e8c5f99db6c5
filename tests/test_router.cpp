#include <catch2/catch.hpp>

#include "daemon/router.hpp"

using namespace herald;

TEST_CASE("router: kinds, tags and severity select destinations once each", "[router]") {
  std::vector<RouteConfig> routes(3);
  routes[0].kinds = {"release.published"};
  routes[0].tags = {{"audience", {"release"}}};
  routes[0].to = {"discuss"};
  routes[1].kinds = {"release.published"};
  routes[1].tags = {{"audience", {"testing", "release"}}};
  routes[1].to = {"testers", "discuss"};
  routes[2].min_severity = "high";
  routes[2].to = {"security"};

  Event ga;
  ga.kind = "release.published";
  ga.tags = {{"audience", "release"}};
  CHECK(route_event(ga, routes) == std::vector<std::string>{"discuss", "testers"});

  Event rc = ga;
  rc.tags["audience"] = "testing";
  CHECK(route_event(rc, routes) == std::vector<std::string>{"testers", "discuss"});

  Event dev = ga;
  dev.tags["audience"] = "none";
  CHECK(route_event(dev, routes).empty());

  Event notag;
  notag.kind = "release.published";
  CHECK(route_event(notag, routes).empty());

  Event bug;
  bug.kind = "bug.created";
  bug.severity = "critical";
  CHECK(route_event(bug, routes) == std::vector<std::string>{"security"});
  bug.severity = "medium";
  CHECK(route_event(bug, routes).empty());
}
