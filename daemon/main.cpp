#include "daemon/cli.hpp"

int main(int argc, char** argv) { return herald::cli_main(argc, argv); }
