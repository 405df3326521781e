// How fast the page converts a visitor's images, and whether its thread stays free meanwhile
// (issue 29's targets): a folder of 60,000 PNGs of 28 × 28 (MNIST's test digits, dark on
// light) dropped on the Data panel (through the DevTools protocol, as from the desktop), and
// an IDX pair of 70,000 images (MNIST's training and test images in one file, with its labels)
// picked with "Add data…". Each is timed from the pick to the preview, and the page's long
// tasks (over 50 ms, PerformanceObserver) are counted. `BENCH_STAGES=1` prints when the
// preview's status changed (reading, converting, done).
// `trunk build --release --features test-hooks`, then `node bench/import.mjs [pngs]`.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Browser } from '../tests/e2e/webdriver.mjs';
import { serve } from '../tests/e2e/serve.mjs';
import { writeDigitFolder } from '../tests/e2e/images.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PNGS = Number(process.argv[2] ?? 60000);
const OUT = join(ROOT, 'target/bench-import');

/** MNIST's training and test images (or labels) in one IDX file. */
function joinedIdx(kind, headerBytes) {
  const read = name => gunzipSync(readFileSync(join(ROOT, `www/data/mnist/${name}-${kind}.gz`)));
  const [train, test] = [read('train'), read('t10k')];
  const header = Buffer.from(train.subarray(0, headerBytes));
  header.writeUInt32BE(train.readUInt32BE(4) + test.readUInt32BE(4), 4);
  return Buffer.concat([header, train.subarray(headerBytes), test.subarray(headerBytes)]);
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const folder = join(OUT, `pngs-${PNGS}`);
let started = Date.now();
writeDigitFolder(ROOT, folder, PNGS, { byLabel: false });
console.log(`wrote ${PNGS} PNGs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
const images = join(OUT, 'images-idx3-ubyte');
const labels = join(OUT, 'labels-idx1-ubyte');
writeFileSync(images, joinedIdx('images-idx3-ubyte', 16));
writeFileSync(labels, joinedIdx('labels-idx1-ubyte', 8));

const server = await serve(join(ROOT, 'dist'));
const browser = await Browser.launch();
try {
  await browser.goto(`${server.url}?path=cpu`);
  await browser.waitFor('MNIST', `return document.getElementById('data-status').textContent.includes('MNIST ready');`, { timeout: 240_000 });
  for (const [what, pick] of [
    [`${PNGS} PNGs (a folder dropped on the Data panel)`, () => browser.drop('#data-panel', [folder])],
    ['a 70,000-image IDX pair ("Add data…")', () => browser.sendKeys('#add-files', `${images}\n${labels}`)],
  ]) {
    await browser.run(`window.__longTasks = [];
      window.__observer?.disconnect();
      window.__picked = performance.now();
      window.__observer = new PerformanceObserver(list => window.__longTasks.push(...list.getEntries().map(e => e.duration)));
      window.__stages = [];
      window.__watch?.disconnect();
      window.__watch = new MutationObserver(() => window.__stages.push([Math.round(performance.now() - window.__picked), document.getElementById('import-status').textContent]));
      window.__watch.observe(document.getElementById('import-status'), { childList: true, characterData: true, subtree: true });
      window.__observer.observe({ type: 'longtask' });
      document.getElementById('import-cancel').click();`);
    started = Date.now();
    await pick();
    const summary = await browser.waitFor('the preview', `const s = document.getElementById('import-status');
      if (s.classList.contains('error')) throw new Error(s.textContent);
      return !document.getElementById('import-grid').hidden && s.textContent;`, { timeout: 600_000, interval: 50 });
    const seconds = (Date.now() - started) / 1000;
    const long = await browser.run('return window.__longTasks;');
    if (process.env.BENCH_STAGES) console.log(JSON.stringify(await browser.run('return window.__stages.filter((s, i, all) => i % 10 === 0 || i === all.length - 1);')));
    console.log(`${what}: ${seconds.toFixed(2)} s from the pick to the preview ("${summary}"); `
      + `long tasks on the page's thread: ${long.length}${long.length ? ` (longest ${Math.max(...long).toFixed(0)} ms)` : ''}`);
  }
} finally {
  await browser.close();
  server.close();
}
