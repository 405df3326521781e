// The CPU path's matrix products in the browser (issue 31): gemm's `f32` product compiled to
// wasm with `simd128` as the app's CPU worker runs it, once with the project's micro-kernel
// (`patches/gemm-f32`) and once as published, timed alternately in headless Chromium on the
// step's 30 products at batch 256, against the `simd128` multiply-add peak measured on the page.
//
// `node bench/cpu-products.mjs [rounds]` (default 9) builds `bench/cpu-products` twice (into
// target/cpu-products-*), then prints one row per build. PATCHED_FLAGS adds rustc flags to the
// patched build only, e.g. `-C llvm-args=-pre-RA-sched=source` (LLVM's instructions in source
// order: what a tile larger than 2 × 4 needs, docs/benchmarks/history.md, "The noise per row").
// Each build measures the peak on its own; a flag that slows the peak's loop shows as a smaller
// peak, so compare G MAC/s as well as the share.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Browser } from '../tests/e2e/webdriver.mjs';
import { serve } from '../tests/e2e/serve.mjs';

const ROUNDS = Number(process.argv[2] ?? 9);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const crate = join(root, 'bench', 'cpu-products');

const builds = { patched: ['--config', 'patch.crates-io.gemm-f32.path="../../patches/gemm-f32"'], published: [] };
for (const [name, extra] of Object.entries(builds)) {
  execFileSync('cargo', ['build', '--quiet', '--release', '--target', 'wasm32-unknown-unknown', ...extra], {
    cwd: crate,
    stdio: 'inherit',
    env: { ...process.env, CARGO_TARGET_DIR: join(root, 'target', `cpu-products-${name}`), RUSTFLAGS: '-C target-feature=+simd128' + (process.env.PATCHED_FLAGS && name === 'patched' ? ' ' + process.env.PATCHED_FLAGS : '') },
  });
}

const server = await serve(root);
const browser = await Browser.launch();
try {
  await browser.goto(`${server.url}bench/cpu-products/page/index.html`);
  const urls = Object.fromEntries(Object.keys(builds).map(name =>
    [name, `/target/cpu-products-${name}/wasm32-unknown-unknown/release/cpu_products_bench.wasm`]));
  const rows = await browser.run('return await window.measure(arguments[0], arguments[1]);', urls, ROUNDS);
  console.log(`the step: ${rows[0].count} products, ${(rows[0].macs / 1e6).toFixed(1)} M multiply-adds; ${ROUNDS} rounds, builds alternating, medians`);
  const header = ['gemm-f32', 'max rel. error', 'the step\'s products (ms)', 'G MAC/s', 'peak G MAC/s', 'of the peak',
    '256x256 . 256x784', '512x784 . 784x128', '(512x784)T . 512x128', '256x784 . (256x784)T'];
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
  for (const row of rows) {
    // A wrong product is not a figure.
    if (!(row.error < 1e-5)) throw new Error(`${row.name}: relative error ${row.error}`);
    console.log(`| ${[row.name, row.error.toExponential(1), row.stepMs.toFixed(2), row.gmacs.toFixed(2), row.peak.toFixed(2),
      `${(100 * row.gmacs / row.peak).toFixed(0)} %`, ...row.shapes.map(g => g.toFixed(2))].join(' | ')} |`);
  }
} finally {
  await browser.close();
  server.close();
}
