#!/usr/bin/env bash
# Successive halving vs the full grid on the same space (issue #14): wall time of the search
# and whether both pick the same configuration, over several repetitions (the trials' seed
# changes, so each repetition is an independent search on the same data).
#   scripts/bench_tuning.sh [model] [repetitions]     (defaults: neumf 5)
# The space and the world are written below; each search's time is read from tuning.json
# (the sum of its trials' wall times, one thread each; the final test cells are not timed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RECFUSE_BUILD_DIR:-$ROOT/build}"
MODEL="${1:-neumf}"
REPS="${2:-5}"
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
case "$MODEL" in
  neumf) SPACE=$'epochs = 27\nsearch.lr = 3e-4, 1e-3, 3e-3\nsearch.gmf_dim = 16, 32, 64\nsearch.dropout = 0, 0.3' ;;
  bpr)   SPACE=$'epochs = 81\nsearch.lr = 0.005, 0.02, 0.08\nsearch.dim = 16, 64\nsearch.reg = 0.001, 0.01, 0.05' ;;
  *) echo "bench_tuning.sh: no space written for model '$MODEL' (neumf, bpr)" >&2; exit 2 ;;
esac
printf '%-4s %-8s %10s %7s  %s\n' rep strategy seconds trials chosen
same=0; grid_total=0; halving_total=0
for ((rep = 0; rep < REPS; ++rep)); do
  for strategy in grid halving; do
    cat > "$TMP/$strategy-$rep.conf" <<CONF
name = bench-tuning
datasets = syn
models = $MODEL
splits = ratio:0.8,0.1,0.1
seeds = $rep
tune_seeds = $rep
ks = 10
threads = 1
valid_metric = ndcg@10
tune = $strategy
[dataset.syn]
generate = true
gen.users = 1000
gen.items = 800
gen.interactions = 40000
gen.images = false
gen.seed = 7
[model.$MODEL]
$SPACE
CONF
    "$BUILD_DIR/recfuse" run "$TMP/$strategy-$rep.conf" --out "$TMP/$strategy-$rep" --cache-dir none --log-level warn >/dev/null
  done
  read -r gs gn gc < <(python3 - "$TMP/grid-$rep/tuning.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))["groups"][0]
print(round(g["seconds"], 1), len(g["trials"]), json.dumps(g["chosen"], sort_keys=True).replace(" ", ""))
PY
)
  read -r hs hn hc < <(python3 - "$TMP/halving-$rep/tuning.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))["groups"][0]
print(round(g["seconds"], 1), len(g["trials"]), json.dumps(g["chosen"], sort_keys=True).replace(" ", ""))
PY
)
  printf '%-4s %-8s %10s %7s  %s\n' "$rep" grid "$gs" "$gn" "$gc" "$rep" halving "$hs" "$hn" "$hc"
  # What a disagreement costs: the full-budget (grid) validation score of halving's pick
  # relative to the grid's best.
  python3 - "$TMP/grid-$rep/tuning.json" "$hc" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))["groups"][0]
pick = json.loads(sys.argv[2])
score = {json.dumps({k: t["params"][k] for k in pick}, sort_keys=True): t["score"] for t in g["trials"]}
print(f"     halving's pick at the full budget: {score[json.dumps(pick, sort_keys=True)]:.4f} "
      f"vs the grid's best {g['chosen_score']:.4f}")
PY
  [[ "$gc" == "$hc" ]] && same=$((same + 1))
  grid_total=$(python3 -c "print($grid_total + $gs)")
  halving_total=$(python3 -c "print($halving_total + $hs)")
done
echo "same configuration chosen: $same of $REPS; search time grid $grid_total s, halving $halving_total s"
