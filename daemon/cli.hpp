// The command line: `herald run`, `check-config`, `outbox`, `status`, `preview`, `backup`,
// `--help`, `--version`.
#pragma once

namespace herald {

// `herald --help`'s text (herald(8) is generated from it).
const char* usage_text();

// Runs the command line; returns the process exit status.
int cli_main(int argc, char** argv);

}  // namespace herald
