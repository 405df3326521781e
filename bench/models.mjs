// The models against the clock, in the page (issue 28's targets): the release app on the CPU
// path with the default number of workers, one run per model (`?model=M`, its defaults),
// its weights downloaded at given minutes after pressing Train, each then scored natively by
// `examples/score` (the page's classifier and scoring code, the shown generator: a model's
// moving average where it keeps one). Prints, per model and minute, the step and epoch reached,
// the FID and, for a conditional model, the share of samples taken for the digit asked for.
//
// `node bench/models.mjs` after `trunk build --release` and
// `cargo build --release --example score`. BENCH_MODELS (default `sharp,tutorial`) and
// BENCH_MINUTES (default `2,5,10,20,30`) choose what to measure; BENCH_OUT keeps the files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Browser } from '../tests/e2e/webdriver.mjs';
import { serve } from '../tests/e2e/serve.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = (process.env.BENCH_MODELS ?? 'sharp,tutorial').split(',');
const MINUTES = (process.env.BENCH_MINUTES ?? '2,5,10,20,30').split(',').map(Number);
const OUT = resolve(process.env.BENCH_OUT ?? join(ROOT, 'target/bench-models'));
const DOWNLOADS = join(OUT, 'downloads');
const SCORE = join(ROOT, 'target/release/examples/score');
const sleep = ms => new Promise(done => setTimeout(done, ms));

mkdirSync(DOWNLOADS, { recursive: true });
const server = await serve(join(ROOT, 'dist'));
const browser = await Browser.launch({ downloadDir: DOWNLOADS });
const text = id => browser.run(`return document.getElementById('${id}').textContent;`);
const rows = [];
try {
  for (const model of MODELS) {
    await browser.goto(`${server.url}?path=cpu&model=${model}`);
    await browser.waitFor('MNIST', `return document.getElementById('data-status').textContent.includes('MNIST ready')
      && document.getElementById('app').dataset.phase === 'ready' && document.getElementById('app').dataset.gridStep;`, { timeout: 240_000 });
    const workers = await browser.run(`return document.getElementById('app').dataset.workers;`);
    await browser.click('#train');
    const start = Date.now();
    for (const minute of MINUTES) {
      await sleep(Math.max(0, start + minute * 60_000 - Date.now()));
      const clicked = Date.now() - 1000;
      const [step, epoch] = [await text('step'), await text('epoch')];
      await browser.click('#download-weights');
      let file;
      for (let i = 0; i < 240 && !file; i++) {
        file = readdirSync(DOWNLOADS).find(name => name.endsWith('.safetensors')
          && statSync(join(DOWNLOADS, name)).mtimeMs >= clicked);
        if (!file) await sleep(250);
      }
      if (!file) throw new Error(`no weights downloaded at minute ${minute}`);
      await sleep(500);
      const kept = join(OUT, `${model}-${minute}min.safetensors`);
      renameSync(join(DOWNLOADS, file), kept);
      rows.push({ model, minute, workers, step, epoch, file: kept });
      console.log(`${model}: minute ${minute}, step ${step}, epoch ${epoch} (${workers} worker(s))`);
    }
    await browser.click('#train');
  }
} finally {
  await browser.close();
  server.close();
}
console.log('model     minutes  workers  step    epoch       FID     digit asked for');
for (const row of rows) {
  const score = JSON.parse(execFileSync(SCORE, [row.file]).toString());
  const share = score.requested ? `${(100 * score.requested.share).toFixed(1)} %` : '-';
  console.log(`${row.model.padEnd(9)} ${String(row.minute).padStart(7)}  ${row.workers.padStart(7)}  ${row.step.padStart(6)}  ${row.epoch.padStart(10)}  ${score.fid.toFixed(2).padStart(8)}  ${share}`);
}
