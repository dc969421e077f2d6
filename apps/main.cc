// recfuse CLI: parses the subcommand and dispatches; each command lives in its own file.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "framework/error.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return recfuse::apps::Dispatch(args);
  } catch (const recfuse::framework::Error& e) {
    std::fprintf(stderr, "recfuse: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recfuse: error: %s\n", e.what());
    return 2;
  }
}
