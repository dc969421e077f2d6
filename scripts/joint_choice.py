#!/usr/bin/env python3
"""One default from several searches of the same model (issue #14).

A tuned sweep picks the best configuration per dataset; a shipped default must serve several.
This reads the searches' tuning.json files (recfuse run ... writes OUT/tuning.json) and ranks
the candidates that every search evaluated (same values of the searched parameters they share,
last halving round only) by their worst relative score over the searches, min_s score_s /
best_s (maximin: the default that is never far from the best in any of the settings; a
mean would buy a large gain in one setting with a collapse in another). --rule mean ranks by
the mean instead; both columns are printed.
Only validation scores are read: tuning.json holds nothing else.

  scripts/joint_choice.py MODEL OUT1/tuning.json OUT2/tuning.json [...] [--fix k=v ...] [--rule maximin|mean] [--top N]

A parameter that only some searches varied must be pinned with --fix (to the value the other
searches ran with, usually the model's default), so every compared point is one configuration.
"""
import argparse
import json
import sys


def trials(path, model, fix):
    groups = [g for g in json.load(open(path))["groups"] if g["model"] == model]
    if not groups:
        sys.exit(f"{path}: no search of model '{model}'")
    if len(groups) > 1:
        sys.exit(f"{path}: {len(groups)} searches of '{model}' (one per dataset/split); pass one")
    g = groups[0]
    last = g["rounds"] - 1
    return g, {json.dumps({k: v for k, v in t["params"].items() if k in g["space"]}, sort_keys=True): t["score"]
               for t in g["trials"] if t["round"] == last and t["score"] == t["score"]
               and all(t["params"].get(k, v) == v for k, v in fix.items())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("tuning_json", nargs="+")
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--fix", action="append", default=[], metavar="K=V")
    ap.add_argument("--rule", choices=["maximin", "mean"], default="maximin")
    a = ap.parse_args()
    fix = dict(f.split("=", 1) for f in a.fix)
    searches = [trials(p, a.model, fix) for p in a.tuning_json]
    shared = set.intersection(*(set(g["space"]) for g, _ in searches))
    for g, _ in searches:
        loose = set(g["space"]) - shared - set(fix)
        if loose:
            sys.exit(f"{g['dataset']}: {sorted(loose)} searched here only; pin with --fix K=V")
    tables = []
    for g, t in searches:
        tab = {}
        for key, score in t.items():
            p = json.loads(key)
            tab[json.dumps({x: p[x] for x in sorted(shared)})] = score
        tables.append(tab)
    common = set.intersection(*(set(t) for t in tables))
    if not common:
        sys.exit("no candidate was evaluated by every search")
    rows = []
    for c in common:
        rel = [t[c] / max(t.values()) for t in tables]
        worst, mean = min(rel), sum(rel) / len(rel)
        rows.append(((worst, mean) if a.rule == "maximin" else (mean, worst), worst, mean, c))
    rows.sort(key=lambda r: r[0], reverse=True)
    print("min score/best | mean score/best | " + " | ".join(g["dataset"] + " " + g["split"] for g, _ in searches) +
          " | candidate")
    for _, worst, mean, c in rows[: a.top]:
        print(f"{worst:.4f} | {mean:.4f} | " + " | ".join(f"{t[c]:.4f}" for t in tables) + " | " + c)


if __name__ == "__main__":
    main()
