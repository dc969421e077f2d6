#pragma once

#include <string_view>

namespace recfuse::reports {

// Minified builds of the vendored charting libraries (reports/vendor/README.md).
std::string_view VegaJs();
std::string_view VegaLiteJs();
std::string_view VegaEmbedJs();

}  // namespace recfuse::reports
