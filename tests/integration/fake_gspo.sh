#!/bin/sh
# A stand-in for `gspo train SPEC [...]` in the integration tests that check scheduling rather
# than training (and so also run without LibTorch): rank 0 appends two steps to the spec's
# output_dir/metrics.jsonl; every rank logs what the agent gave it and exits with
# $FAKE_GSPO_EXIT_RANK_<rank> (default 0).
spec=$2
out=$(sed -n 's/^  output_dir: //p' "$spec")
mkdir -p "$out"
echo "rank $GSPO_RANK of $GSPO_WORLD_SIZE for $GSPO_JOB_ID, CUDA_VISIBLE_DEVICES='$CUDA_VISIBLE_DEVICES', cwd $(pwd)"
if [ "$GSPO_RANK" = 0 ]; then
  for step in 1 2; do
    echo "{\"step\": $step, \"loss\": 0.$step, \"reward_mean\": 0.5}" >> "$out/metrics.jsonl"
    sleep 0.2
  done
fi
sleep 1
exit 0
