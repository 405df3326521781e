#!/usr/bin/env bash
# The native wgpu figures on a lent GPU machine (the `device` tool of this workplace, see
# docs/benchmarks/history.md, "WebGPU on a real GPU"): the `train` example built here in release, unfused
# (`--features wgpu`), fused (`wgpu,fusion`), and each with autotune (`…,autotune`),
# carried xz-compressed in .devrun/ (`scripts/bench --gpu-binaries`) with the Vulkan loader's
# Debian packages in .gl/ (`apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1
# libglx0 libgles2` for amd64, as the device tool's README says).
# Prints ms/step (synchronous and pipelined), the host's recording time and the kernels per
# step of each, a 2-epoch run as the tutorial times it, and a step normally and replayed as a
# captured graph (`graph_replay`, with each thread's CPU time per step), and the unfused build
# with each kernel the page's calibration chooses between for the matrix products (`wgpu`:
# CubeCL's, `wgpu-register-tiles`, `wgpu-split-depth`: `src/matmul.rs`) for the `tutorial` and
# `sharp` models: ms/step synchronous and pipelined, and an epoch (`bench/gpu-kernels.sh` adds
# the kernels' own time per step, `DEVICES="wgpu wgpu-split-depth"`).
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv
data=www/data/mnist
out=${OUT:-/tmp}
# MAX_TASKS="32 128 512" instead times only ms/step for each of CubeCL's kernels-per-submit
# limits (CUBECL_WGPU_MAX_TASKS, 32 by default), the builds alternating within each round.
if [ -n "${MAX_TASKS:-}" ]; then
  for build in ${BUILDS:-unfused}; do
    xz -dc ".devrun/train-$build.xz" >"/tmp/train-$build" && chmod +x "/tmp/train-$build"
  done
  for round in 1 2; do
    for tasks in $MAX_TASKS; do
      for build in ${BUILDS:-unfused}; do
        echo "=== $build, round $round, CUBECL_WGPU_MAX_TASKS=$tasks" | tee -a "$out/gpu.log"
        CUBECL_WGPU_MAX_TASKS=$tasks timeout 60 "/tmp/train-$build" --device wgpu --data "$data" \
          --bench-steps 100 2>&1 | tee -a "$out/gpu.log"
      done
    done
  done
  exit 0
fi
for build in ${BUILDS:-unfused fused fused-autotune unfused-autotune}; do
  packed=.devrun/train-$build.xz
  [ -f "$packed" ] || continue
  bin=/tmp/train-$build
  xz -dc "$packed" >"$bin" && chmod +x "$bin"
  echo "=== $build"
  timeout 120 "$bin" --device wgpu --data "$data" --bench-steps 100 2>&1 | tee -a "$out/gpu.log"
  timeout 60 "$bin" --device wgpu --data "$data" --bench-steps 20 --count-dispatches 2>&1 \
    | head -4 | tee -a "$out/gpu.log"
  timeout 120 "$bin" --device wgpu --data "$data" --epochs 2 --out "/tmp/run-$build" 2>&1 \
    | grep -v saved | tee -a "$out/gpu.log"
done
if [ -x /tmp/train-unfused ]; then
  # Each kernel for the products (the page's calibration times these on the visitor's adapter)
  # for each model, alternating within each round.
  for model in tutorial sharp; do
    for round in 1 2; do
      for device in wgpu wgpu-register-tiles wgpu-split-depth; do
        echo "=== unfused, --model $model --device $device, round $round" | tee -a "$out/gpu.log"
        timeout 120 /tmp/train-unfused --model "$model" --device "$device" --data "$data" \
          --bench-steps 100 2>&1 | tee -a "$out/gpu.log"
      done
    done
    for device in wgpu wgpu-register-tiles wgpu-split-depth; do
      echo "=== unfused, --model $model --device $device, one epoch" | tee -a "$out/gpu.log"
      timeout 300 /tmp/train-unfused --model "$model" --device "$device" --data "$data" \
        --epochs 1 --out "/tmp/run-$model-$device" 2>&1 | grep -v saved | tee -a "$out/gpu.log"
    done
  done
  timeout 60 /tmp/train-unfused --device wgpu-split-depth --data "$data" --bench-steps 20 \
    --count-dispatches 2>&1 | head -4 | tee -a "$out/gpu.log"
fi
if [ -f .devrun/graph_replay.xz ]; then
  # The host's part of a step, normally and replayed as a captured graph, at two batch sizes.
  xz -dc .devrun/graph_replay.xz >/tmp/graph_replay && chmod +x /tmp/graph_replay
  for batch in 8 256; do
    echo "=== graph_replay, batch $batch" | tee -a "$out/gpu.log"
    timeout 60 /tmp/graph_replay --batch "$batch" --steps 100 2>&1 | tee -a "$out/gpu.log"
  done
fi
echo "=== cpu, one thread, for scale"
timeout 60 /tmp/train-unfused --device cpu --data "$data" --bench-steps 30 2>&1 | tee -a "$out/gpu.log"
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,utilization.gpu --format=csv
