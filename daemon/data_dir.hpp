// Where herald finds the files it ships: the bundled templates and the sample data.
#pragma once

#include <string>

namespace herald {

// The directory holding herald's bundled data (templates/, sample/). Searched in order:
// <directory of the running binary>/../share/herald (an installed herald, wherever its prefix
// or staging directory is), the checkout the binary was built from (a herald run from its
// build tree), and the data directory the build was configured to install to. The first that
// has a templates/ directory wins; when none has, the last, so that errors name it.
std::string data_dir();

}  // namespace herald
