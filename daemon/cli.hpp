// The command line: `herald run`, `check-config`, `outbox`, `--help`, `--version`.
#pragma once

namespace herald {

// Runs the command line; returns the process exit status.
int cli_main(int argc, char** argv);

}  // namespace herald
