// Vega, Vega-Lite and vega-embed builds and the report template, embedded at compile time
// (see CMakeLists.txt).
#include "reports/assets.h"

#define RF_INCBIN(sym, file)                                  \
  __asm__(".section .rodata\n"                                \
          ".global " #sym "_start\n"                          \
          ".balign 16\n" #sym "_start:\n"                     \
          ".incbin \"" RECFUSE_VENDOR_DIR "/" file "\"\n"     \
          ".global " #sym "_end\n" #sym "_end:\n"             \
          ".byte 0\n"                                         \
          ".previous\n");                                     \
  extern "C" const char sym##_start[];                        \
  extern "C" const char sym##_end[];

RF_INCBIN(rf_vega, "vega.min.js")
RF_INCBIN(rf_vega_lite, "vega-lite.min.js")
RF_INCBIN(rf_vega_embed, "vega-embed.min.js")
RF_INCBIN(rf_template, "../template.html")

namespace recfuse::reports {

std::string_view VegaJs() { return {rf_vega_start, static_cast<size_t>(rf_vega_end - rf_vega_start)}; }
std::string_view VegaLiteJs() {
  return {rf_vega_lite_start, static_cast<size_t>(rf_vega_lite_end - rf_vega_lite_start)};
}
std::string_view VegaEmbedJs() {
  return {rf_vega_embed_start, static_cast<size_t>(rf_vega_embed_end - rf_vega_embed_start)};
}

std::string_view ReportTemplate() {
  return {rf_template_start, static_cast<size_t>(rf_template_end - rf_template_start)};
}

}  // namespace recfuse::reports
