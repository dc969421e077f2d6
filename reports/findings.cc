#include "reports/findings.h"

#include <algorithm>
#include <cstdio>

namespace recfuse::reports {

namespace {

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += i + 1 == names.size() ? " and " : ", ";
    out += names[i];
  }
  return out;
}

// Whether a is better than b in the metric's direction.
bool Better(double a, double b, bool higher) { return higher ? a > b : a < b; }

}  // namespace

std::string FormatP(double p) {
  if (!std::isfinite(p)) return "p = n/a";
  if (p < 0.001) return "p < 0.001";
  char buf[64];
  std::snprintf(buf, sizeof buf, "p = %.3f", p);
  return buf;
}

std::vector<Finding> GenerateFindings(const std::vector<FindingsBlock>& blocks,
                                      const std::vector<FindingsAblation>& ablations, double alpha) {
  std::vector<Finding> out;
  for (const auto& b : blocks) {
    std::vector<const FindingsBlock::Entry*> ranked;
    for (const auto& e : b.entries)
      if (!e.reference && std::isfinite(e.mean)) ranked.push_back(&e);
    if (ranked.empty()) continue;
    // Stable: equal means keep the table's order, so the sentence names the first listed.
    std::stable_sort(ranked.begin(), ranked.end(),
                     [&](const auto* x, const auto* y) { return Better(x->mean, y->mean, b.higher_is_better); });
    const auto& best = *ranked[0];
    Finding f;
    if (ranked.size() == 1) {
      f.text = "On " + b.title + ", " + best.model + " is the only model compared (" + b.metric + " " + Num(best.mean) + ").";
      f.refs = {best.cell_id};
      out.push_back(std::move(f));
      continue;
    }
    const auto& second = *ranked[1];
    f.text = "On " + b.title + ", " + best.model + " has the best " + b.metric + " (" + Num(best.mean) + "), ahead of " +
             second.model + " (" + Num(second.mean) + ")";
    if (best.mean == second.mean)
      f.text += "; they tie.";
    else if (!std::isfinite(b.p_best_vs_second))
      f.text += "; the difference was not tested (no per-user values).";
    else if (b.p_best_vs_second < alpha)
      f.text += "; the difference is significant (paired t-test over users, Holm-adjusted " + FormatP(b.p_best_vs_second) + ").";
    else
      f.text += "; the difference is not significant (paired t-test over users, Holm-adjusted " +
                FormatP(b.p_best_vs_second) + ").";
    f.refs = {best.cell_id, second.cell_id};
    // Reference models bracket the field: how far the best is from the oracle, and whether
    // anything fell below chance. The oracle scores the synthetic world's true preference; it
    // is a ceiling on cold items only (interactions also follow exposure and sessions, which
    // ID models learn on warm items), so the sentence does not call it one.
    for (const auto& e : b.entries) {
      if (!e.reference || !std::isfinite(e.mean)) continue;
      if (e.model == "oracle" && e.mean != 0) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f%%", 100.0 * best.mean / e.mean);
        f.text += " The oracle (the true preference) reaches " + Num(e.mean) + "; the best model gets " + buf + " of it.";
        f.refs.push_back(e.cell_id);
      } else if (e.model == "random") {
        std::vector<std::string> below;
        for (const auto* r : ranked)
          if (Better(e.mean, r->mean, b.higher_is_better)) below.push_back(r->model);
        f.text += " A random ranking gets " + Num(e.mean) + (below.empty() ? "; every model beats it." : "; " + Join(below) + (below.size() == 1 ? " ranks" : " rank") + " below it.");
        f.refs.push_back(e.cell_id);
      }
    }
    out.push_back(std::move(f));

    if (b.baseline.empty() || b.p_vs_baseline.empty()) continue;
    std::vector<std::string> above, below, level;
    Finding g;
    double base_mean = NAN;
    for (const auto& e : b.entries)
      if (e.model == b.baseline) {
        base_mean = e.mean;
        g.refs.push_back(e.cell_id);
      }
    if (!std::isfinite(base_mean)) continue;
    for (const auto& e : b.entries) {
      auto it = b.p_vs_baseline.find(e.model);
      if (e.model == b.baseline || it == b.p_vs_baseline.end()) continue;
      g.refs.push_back(e.cell_id);
      if (it->second >= alpha)
        level.push_back(e.model);
      else if (Better(e.mean, base_mean, b.higher_is_better))
        above.push_back(e.model);
      else
        below.push_back(e.model);
    }
    char alpha_text[32];
    std::snprintf(alpha_text, sizeof alpha_text, "%g", alpha);
    g.text = "Against the baseline " + b.baseline + " on " + b.title + " (" + b.metric + ", Holm-adjusted p < " + alpha_text + "): ";
    std::vector<std::string> parts;
    if (!above.empty()) parts.push_back("significantly better: " + Join(above));
    if (!below.empty()) parts.push_back("significantly worse: " + Join(below));
    if (!level.empty()) parts.push_back("no significant difference: " + Join(level));
    if (parts.empty()) continue;
    for (size_t i = 0; i < parts.size(); ++i) g.text += (i ? "; " : "") + parts[i];
    g.text += ".";
    out.push_back(std::move(g));
  }

  for (const auto& a : ablations) {
    if (a.variants.empty() || !std::isfinite(a.full)) continue;
    // The modality that matters most is the one whose removal loses the most.
    const FindingsAblation::Variant* worst = nullptr;
    for (const auto& v : a.variants)
      if (!worst || Better(worst->mean, v.mean, a.higher_is_better)) worst = &v;
    const double loss = a.higher_is_better ? a.full - worst->mean : worst->mean - a.full;
    const auto change = [&](const FindingsAblation::Variant& v) {
      char buf[64];
      if (a.full != 0)
        std::snprintf(buf, sizeof buf, "%+.1f%%", 100.0 * (v.mean - a.full) / a.full);
      else
        std::snprintf(buf, sizeof buf, "%+.4f", v.mean - a.full);
      std::string s = buf;
      if (v.has_ci) {
        const bool significant = v.ci_lo > 0 || v.ci_hi < 0;
        s += ", 95% CI of the change [" + Num(v.ci_lo) + ", " + Num(v.ci_hi) + "]" +
             (significant ? "" : ", which includes 0");
      }
      return s;
    };
    Finding f;
    f.refs = {a.full_cell_id, worst->cell_id};
    if (loss <= 0) {
      f.text = "On " + a.title + ", no removed modality lowers " + a.model + "'s " + a.metric + " (" + Num(a.full) +
               "); the smallest value is without " + worst->ablation.substr(1) + " (" + Num(worst->mean) + ", " +
               change(*worst) + ").";
    } else {
      f.text = "On " + a.title + ", " + worst->ablation.substr(1) + " matters most to " + a.model + ": without it " +
               a.metric + " goes from " + Num(a.full) + " to " + Num(worst->mean) + " (" + change(*worst) + ")";
      std::vector<std::string> others;
      for (const auto& v : a.variants) {
        if (&v == worst) continue;
        others.push_back("without " + v.ablation.substr(1) + " " + Num(v.mean) + " (" + change(v) + ")");
        f.refs.push_back(v.cell_id);
      }
      f.text += others.empty() ? "." : "; " + Join(others) + ".";
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace recfuse::reports
