// The browser benchmark: the release build served on 127.0.0.1, headless Chromium, each path
// (WebGPU; the CPU path with 1, 2 and 4 workers) at the reference's batch 256. Run by
// `scripts/bench`, which builds first. BENCH_PATHS lists what to measure: `cpu:2` is the CPU
// path with 2 workers (`cpu` alone: 1). BENCH_MODEL=sharp measures another model at its own
// defaults (`?model=`; batch 64 for `sharp`). BENCH_HIDE takes a CSS selector whose elements
// are hidden (`display: none`) once training starts: what the page's own drawing costs the
// workers (`dl.counters, #latest` hides the figures that change with every step).
//
// Per path it prints: the first step's time (from pressing Train), the median time per step
// over one-second windows after a warm-up, steps/s, the time from navigation to the first generated grid (MNIST
// already in the Cache Storage), long tasks (> 50 ms) on the page's thread and its
// requestAnimationFrame rate while training.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Browser } from '../tests/e2e/webdriver.mjs';
import { serve } from '../tests/e2e/serve.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// BENCH_DIST measures another build (e.g. an older commit's, built with `trunk build --dist`).
const DIST = resolve(process.env.BENCH_DIST ?? join(ROOT, 'dist'));
const WARMUP = 5;
const TIMED = Number(process.env.BENCH_STEPS ?? 30);
const WINDOW_MS = 30_000;
const WINDOW_STEP_MS = 1_000;
const PATHS = (process.env.BENCH_PATHS ?? 'cpu:1,cpu:2,cpu:4,webgpu').split(',');

const median = values => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function openWarm(browser, url) {
  // The first visit fills the Cache Storage; the second is the one measured.
  for (let visit = 0; visit < 2; visit++) {
    await browser.goto(url);
    await browser.waitFor('the first grid', `
      const app = document.getElementById('app');
      if (document.getElementById('data-status').classList.contains('error')) throw new Error('MNIST failed');
      return app.dataset.firstGridMs && app.dataset.phase === 'ready' && Number(app.dataset.firstGridMs);`,
    { timeout: 300_000 });
  }
  return Number(await browser.run(`return document.getElementById('app').dataset.firstGridMs;`));
}

async function measure(browser, base, label) {
  const [path, workers = '1'] = label.split(':');
  const model = process.env.BENCH_MODEL ? `&model=${process.env.BENCH_MODEL}` : '';
  const firstGridMs = await openWarm(browser, `${base}?path=${path}&workers=${workers}${model}`);
  const [actual, group] = await browser.run(`const d = document.getElementById('app').dataset; return [d.path, d.workers];`);
  if (actual !== path) throw new Error(`asked for ${path}, the page runs ${actual}`);
  // (An older build, measured through BENCH_DIST, has one worker and no `data-workers`.)
  if (path === 'cpu' && (group ?? '1') !== workers) throw new Error(`asked for ${workers} workers, the page runs ${group}`);
  if (process.env.BENCH_AUTOSAVE) {
    await browser.run(`const input = document.getElementById('autosave-every');
      input.value = '${process.env.BENCH_AUTOSAVE}'; input.dispatchEvent(new Event('input', { bubbles: true }));`);
  }
  // Watch the step counter, long tasks and animation frames from inside the page.
  await browser.run(`
    window.__bench = { steps: [], longTasks: [], frames: [] };
    new MutationObserver(() => {
      window.__bench.steps.push([performance.now(), Number(document.getElementById('step').textContent)]);
    }).observe(document.getElementById('step'), { childList: true, characterData: true, subtree: true });
    new PerformanceObserver(list => {
      for (const entry of list.getEntries()) window.__bench.longTasks.push([entry.startTime, entry.duration]);
    }).observe({ type: 'longtask' });
    const frame = now => { window.__bench.frames.push(now); requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
    window.__bench.start = performance.now();
    document.getElementById('train').click();
    const hide = ${JSON.stringify(process.env.BENCH_HIDE ?? '')};
    if (hide) for (const element of document.querySelectorAll(hide)) element.style.display = 'none';`);
  const needed = WARMUP + TIMED + 1;
  const stepsOf = () => browser.run(`return window.__bench.steps.at(-1)?.[1] ?? 0;`);
  const deadline = Date.now() + 30 * 60_000;
  while ((await stepsOf()) < needed) {
    if (Date.now() > deadline) throw new Error(`${path}: no ${needed} steps in 30 minutes`);
    await new Promise(r => setTimeout(r, 500));
  }
  // Long tasks and frames over (at least) 30 s of training.
  await browser.run(`return new Promise(r => setTimeout(r, Math.max(0, window.__bench.start + ${WINDOW_MS} - performance.now())));`);
  const bench = await browser.run(`
    document.getElementById('train').click();
    const b = window.__bench, end = performance.now();
    return { start: b.start, end, steps: b.steps, longTasks: b.longTasks.filter(([t]) => t >= b.start), frames: b.frames.filter(t => t >= b.start) };`);
  // Each step's completion time: the first time the counter reached it.
  const reached = new Map();
  for (const [time, step] of bench.steps) if (step > 0 && !reached.has(step)) reached.set(step, time);
  const times = [...reached.entries()].sort((a, b) => a[0] - b[0]);
  const firstStepMs = times[0][1] - bench.start;
  const timed = times.filter(([step]) => step > WARMUP);
  // The counter shows the latest step every 100 ms or so while training (COUNTERS_MS), a few
  // steps at a time: time per step over windows of at least a second, from each point shown.
  const perStep = [];
  for (let i = 0, j = 0; i < timed.length; i++) {
    while (j < timed.length && timed[j][1] - timed[i][1] < WINDOW_STEP_MS) j++;
    if (j === timed.length) break;
    perStep.push((timed[j][1] - timed[i][1]) / (timed[j][0] - timed[i][0]));
  }
  const msPerStep = median(perStep);
  const seconds = (bench.end - bench.start) / 1000;
  return {
    path: path === 'cpu' ? `cpu, ${workers} worker${workers === '1' ? '' : 's'}` : path,
    firstStepMs,
    msPerStep,
    stepsPerSecond: 1000 / msPerStep,
    timedSteps: perStep.length,
    firstGridMs,
    longTasks: bench.longTasks.length,
    longestTaskMs: Math.max(0, ...bench.longTasks.map(([, d]) => d)),
    longTaskTimes: bench.longTasks.map(([t, d]) => `${((t - bench.start) / 1000).toFixed(1)} s: ${d.toFixed(0)} ms`),
    fps: bench.frames.length / seconds,
    windowS: seconds,
  };
}

const wasm = readdirSync(DIST).filter(name => name.endsWith('.wasm')).map(name => {
  const bytes = readFileSync(join(DIST, name));
  return { name, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
});
const server = await serve(DIST);
const browser = await Browser.launch();
const results = [];
let userAgent = '';
try {
  await browser.goto(server.url + '?path=cpu');
  userAgent = await browser.run('return navigator.userAgent;');
  for (const path of PATHS) {
    process.stderr.write(`measuring ${path}…\n`);
    results.push(await measure(browser, server.url, path));
  }
} finally {
  await browser.close();
  server.close();
}

const mb = n => `${(n / 1e6).toFixed(2)} MB`;
const batch = process.env.BENCH_MODEL ? `the ${process.env.BENCH_MODEL} model at its defaults` : 'batch 256';
console.log(`\nbrowser: ${userAgent} · ${batch} · ${WARMUP} warm-up steps, median over the next ${TIMED}`);
console.log('| path | first step | median ms/step | steps/s | first grid (warm cache) | long tasks > 50 ms (longest) | rAF fps | window |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  console.log(`| ${r.path} | ${r.firstStepMs.toFixed(0)} ms | ${r.msPerStep.toFixed(1)} | ${r.stepsPerSecond.toFixed(2)} | ${r.firstGridMs.toFixed(0)} ms | ${r.longTasks} (${r.longestTaskMs.toFixed(0)} ms) | ${r.fps.toFixed(1)} | ${r.windowS.toFixed(0)} s, ${r.timedSteps} windows of 1 s |`);
}
for (const r of results) if (r.longTasks) console.log(`${r.path} long tasks, from pressing Train: ${r.longTaskTimes.join(', ')}`);
for (const w of wasm) console.log(`wasm ${w.name}: ${mb(w.raw)} raw, ${mb(w.gzip)} gzip -9`);
