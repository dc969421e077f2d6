#pragma once

#include <string_view>

namespace recfuse::reports {

// Minified builds of the vendored charting libraries (reports/vendor/README.md).
std::string_view VegaJs();
std::string_view VegaLiteJs();
std::string_view VegaEmbedJs();
// reports/template.html: the report page, with a slot for these scripts and one for the data.
std::string_view ReportTemplate();

}  // namespace recfuse::reports
