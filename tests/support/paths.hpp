// Where the tests find the repository's files. The paths are compiled into
// tests/support/paths.cpp alone, so that no other file's compile command
// names the checkout (one compiler cache serves every checkout).
#pragma once

#include <string>

namespace herald::test {

// The repository's top folder.
const std::string& source_dir();
// tests/fixtures: everything the tests read (provenance in its README.md).
const std::string& fixtures_dir();

}  // namespace herald::test
