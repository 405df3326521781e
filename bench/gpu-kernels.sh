#!/usr/bin/env bash
# Where a WebGPU step's device time goes, on a lent GPU (see bench/gpu.sh for the set-up):
# CubeCL's own profiler (CUBECL_DEBUG_OPTION=profile) times every kernel of
# `train --bench-steps N` (5 warm-up, N timed and N pipelined steps), and this sums the times
# by kernel, per step, largest first, for the unfused and the fused build, each on the devices
# of `DEVICES` (default `wgpu`; `wgpu-register-tiles`, `wgpu-split-depth` send the products
# through `src/matmul.rs`'s kernels) and models of `MODELS` (default `tutorial`).
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
steps=${STEPS:-20}
runs=$((5 + 2 * steps))
for build in ${BUILDS:-unfused fused}; do
 for model in ${MODELS:-tutorial}; do
 for device in ${DEVICES:-wgpu}; do
  bin=/tmp/train-$build
  [ -x "$bin" ] || { xz -dc ".devrun/train-$build.xz" >"$bin" && chmod +x "$bin"; }
  log=/tmp/cubecl-$build-$model-$device.log
  rm -f "$log"
  echo "=== $build, $model, $device: kernels' device time per step (CubeCL profiler, $runs steps)"
  CUBECL_DEBUG_LOG=$log CUBECL_DEBUG_OPTION=profile timeout 120 "$bin" --device "$device" \
    --model "$model" --data www/data/mnist --bench-steps "$steps" 2>&1 | grep bench
  grep '^| ' "$log" | awk -v runs="$runs" -F'|' '
    function ms(t) {
      gsub(/ /, "", t)
      if (t ~ /ns$/) return substr(t, 1, length(t) - 2) / 1e6
      if (t ~ /µs$/) return substr(t, 1, length(t) - 3) / 1e3
      if (t ~ /ms$/) return substr(t, 1, length(t) - 2) + 0
      if (t ~ /s$/) return substr(t, 1, length(t) - 1) * 1e3
      return 0
    }
    { name = $3; gsub(/^ +| +$/, "", name); sub(/_[0-9a-f]+$/, "", name)
      total[name] += ms($2); count[name]++; all += ms($2) }
    END {
      printf "all kernels: %.2f ms per step\n", all / runs
      for (n in total) printf "%8.3f ms/step %7.1f launches/step  %s\n", total[n] / runs, count[n] / runs, n
    }' | sort -k1 -rn | head -16
 done
 done
done
