// The soak benchmark: long runs in headless Chromium, memory sampled as they go. The CPU worker
// trains ≥ 2,000 steps at batch 256; WebGPU (SwiftShader here) ≥ 300 steps at batch 16. Each
// sample is the page's own figures (`data-memory`): the page's wasm memory and JS heap, the
// worker's wasm memory and Burn's device memory pool. Run by `scripts/bench --soak`.
import { Browser } from '../tests/e2e/webdriver.mjs';
import { serve } from '../tests/e2e/serve.mjs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'dist');
const RUNS = [
  { path: 'cpu', batch: 256, steps: Number(process.env.SOAK_CPU_STEPS ?? 2000), every: 10_000 },
  { path: 'webgpu', batch: 16, steps: Number(process.env.SOAK_GPU_STEPS ?? 300), every: 15_000 },
];
const mb = bytes => (bytes == null ? '—' : (bytes / 1e6).toFixed(1));

async function soak(browser, base, run) {
  await browser.goto(`${base}?path=${run.path}`);
  await browser.waitFor('the page', `const app = document.getElementById('app');
    return app.dataset.path === '${run.path}' && app.dataset.phase === 'ready' && app.dataset.gridStep;`, { timeout: 300_000 });
  await browser.run(`const input = document.getElementById('setting-batch_size');
    input.value = '${run.batch}'; input.dispatchEvent(new Event('input', { bubbles: true }));
    document.getElementById('autosave-every').value = '0';
    document.getElementById('autosave-every').dispatchEvent(new Event('input', { bubbles: true }));`);
  await browser.waitFor('the new grid', `return document.getElementById('app').dataset.gridStep === '0';`);
  await browser.click('#train');
  const started = Date.now();
  const samples = [];
  for (;;) {
    await new Promise(r => setTimeout(r, run.every));
    const sample = await browser.run(`const app = document.getElementById('app');
      return { step: Number(document.getElementById('step').textContent), memory: JSON.parse(app.dataset.memory || '{}') };`);
    samples.push({ seconds: (Date.now() - started) / 1000, ...sample });
    process.stderr.write(`${run.path}: step ${sample.step}\n`);
    if (sample.step >= run.steps) break;
    if (Date.now() - started > 40 * 60_000) throw new Error(`${run.path}: too slow`);
  }
  await browser.click('#train');
  return samples;
}

const server = await serve(DIST);
const browser = await Browser.launch();
try {
  for (const run of RUNS) {
    const samples = await soak(browser, server.url, run);
    console.log(`\n${run.path}, batch ${run.batch}: memory in MB`);
    console.log('| time | step | page wasm | page JS heap | worker wasm | device pool in use | device pool reserved |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const s of samples) {
      const m = s.memory;
      console.log(`| ${s.seconds.toFixed(0)} s | ${s.step} | ${mb(m.page_wasm)} | ${mb(m.page_js_heap)} | ${mb(m.worker_wasm)} | ${mb(m.device_in_use)} | ${mb(m.device_reserved)} |`);
    }
    // Growth from the second sample (after warm-up) to the last.
    const [first, last] = [samples[Math.min(1, samples.length - 1)].memory, samples.at(-1).memory];
    const growth = key => (first[key] == null ? 'n/a' : `${mb((last[key] ?? 0) - first[key])} MB`);
    console.log(`growth after warm-up: worker wasm ${growth('worker_wasm')}, device pool reserved ${growth('device_reserved')}, page wasm ${growth('page_wasm')}, page JS heap ${growth('page_js_heap')}`);
  }
} finally {
  await browser.close();
  server.close();
}
