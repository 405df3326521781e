// The page's ONNX downloads outside the app: the native export of the same weights file (whose
// bytes the downloads must equal), and the README's onnxruntime-web recipe served as written,
// with onnxruntime-web from tools/node_modules (scripts/setup installs it).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from './serve.mjs';

/** The file name the README's recipes use for a downloaded generator. */
export const RECIPE_MODEL = 'mnist-gan-epoch-300-generator.onnx';

/** A safetensors file's float32 tensors: name → { shape, values }. */
function readTensors(bytes) {
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'));
  const data = bytes.subarray(8 + length);
  const tensors = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets;
    const copy = Uint8Array.prototype.slice.call(data, begin, end);
    tensors[name] = { shape: info.shape, values: Array.from(new Float32Array(copy.buffer)) };
  }
  return tensors;
}

/**
 * Exports both networks of `weights` natively into `dir` (`examples/onnx.rs`, which `cargo test`
 * builds), with a copy of the weights file as `weights.safetensors` (later tests download files
 * of the same name), and returns the app's reference tensors written beside them (the page's grid
 * noise, the generator's images for it, the discriminator's logits).
 */
export function nativeExport(root, weights, dir) {
  const binary = join(root, 'target/debug/examples/onnx');
  assert.ok(existsSync(binary), `${binary} is missing: build it with \`cargo build --example onnx\``);
  mkdirSync(dir, { recursive: true });
  copyFileSync(weights, join(dir, 'weights.safetensors'));
  execFileSync(binary, [weights, dir], { stdio: 'inherit' });
  return readTensors(readFileSync(join(dir, 'reference.safetensors')));
}

// Put before the recipe: `Math.random` seeded (mulberry32), so the test can draw the recipe's
// noise again with the recipe's own `normal`.
const SEEDED = `<script>
  function seedRandom(seed) {
    let a = seed >>> 0;
    Math.random = () => {
      a = (a + 0x6D2B79F5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  seedRandom(1);
</script>
`;

/**
 * Serves the README's web recipe from `dir` as written, after a script that seeds `Math.random`,
 * with `onnxFile` under the recipe's name.
 */
export async function serveWebRecipe(root, onnxFile, dir) {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const recipe = readme.match(/<!-- recipe: onnx-web -->\s*```html\n([\s\S]*?)```/);
  assert.ok(recipe, 'the README has the onnx-web recipe');
  const ort = join(root, 'tools/node_modules/onnxruntime-web');
  assert.ok(existsSync(join(ort, 'dist/ort.min.js')), `${ort} is missing: run scripts/setup`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  const [doctype, ...rest] = recipe[1].split('\n');
  assert.match(doctype, /^<!doctype html>$/i);
  writeFileSync(join(dir, 'index.html'), [doctype, SEEDED + rest.join('\n')].join('\n'));
  copyFileSync(onnxFile, join(dir, RECIPE_MODEL));
  symlinkSync(ort, join(dir, 'node_modules/onnxruntime-web'));
  return serve(dir);
}

/** The noise the recipe drew: its own `normal`, from the same seed. */
export function recipeNoise(browser) {
  return browser.run('seedRandom(1); return Array.from(Float32Array.from({ length: 64 * 100 }, normal));');
}

/** Runs the recipe page's generator (its global `ort`) on `noise` rows of 100; returns the images. */
export function ortImages(browser, noise) {
  return browser.run(`const session = await ort.InferenceSession.create(${JSON.stringify(RECIPE_MODEL)});
    const rows = a[0].length / 100;
    const { images } = await session.run({ noise: new ort.Tensor('float32', Float32Array.from(a[0]), [rows, 100]) });
    return { dims: images.dims, data: Array.from(images.data) };`, noise);
}

/**
 * The largest difference, in 8-bit levels, between images [64, 28, 28, 1] in [-1, 1] and an
 * 8×8 grid canvas's RGBA values, and how many values differ at all.
 */
export function gridDifference(images, rgba) {
  let largest = 0, moved = 0;
  images.forEach((value, i) => {
    const n = Math.floor(i / 784), y = Math.floor(i / 28) % 28, x = i % 28;
    const at = 4 * ((Math.floor(n / 8) * 28 + y) * 224 + (n % 8) * 28 + x);
    const level = Math.min(255, Math.max(0, Math.round(value * 127.5 + 127.5)));
    const difference = Math.abs(level - rgba[at]);
    largest = Math.max(largest, difference);
    if (difference > 0) moved++;
  });
  return { largest, moved };
}
