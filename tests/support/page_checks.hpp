// Checks of the documents herald's public pages serve, shared by their tests:
// a JSON answer against its published schema (docs/*.schema.json) with an
// independent validator (python3-jsonschema), and a picture of an HTML page
// in headless Chromium (a test dependency: scripts/setup-deps.sh test).
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

namespace herald::test {

// Whether `text` (written to dir/name) validates against docs/<schema>.
inline bool validates_against_schema(const TempDir& dir, const std::string& name,
                                     const std::string& text, const std::string& schema) {
  const std::string cmd =
      "/usr/bin/python3 -c 'import json, sys, jsonschema; "
      "jsonschema.validate(json.load(open(sys.argv[1])), "
      "json.load(open(sys.argv[2])))' " +
      dir.write(name, text) + " " + source_dir() + "/docs/" + schema + " 2>/dev/null";
  return std::system(cmd.c_str()) == 0;
}

// Saves a picture of the page `html` as artifacts/<folder>/<png> (ctest runs in
// the build folder; a run from the checkout writes to the temporary folder)
// and checks it was made. Answers its path.
inline std::string screenshot_page(const TempDir& dir, const std::string& html,
                                   const std::string& folder, const std::string& png,
                                   const std::string& window = "1000,2400") {
  auto where = std::filesystem::current_path();
  if (std::filesystem::equivalent(where, source_dir()))
    where = std::filesystem::temp_directory_path();
  where /= "artifacts/" + folder;
  std::filesystem::create_directories(where);
  const std::string artefact = (where / png).string();
  std::filesystem::remove(artefact);
  REQUIRE(std::filesystem::exists("/usr/bin/chromium"));
  const std::string page = dir.write(png + ".html", html);
  const std::string cmd =
      "/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
      "--hide-scrollbars --window-size=" +
      window + " --screenshot=" + artefact + " file://" + page + " >/dev/null 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  REQUIRE(std::filesystem::exists(artefact));
  CHECK(std::filesystem::file_size(artefact) > 1000);
  return artefact;
}

}  // namespace herald::test
