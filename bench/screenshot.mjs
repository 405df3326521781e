// Takes the README's screenshot: the real page trains a run to its end on the CPU worker (at the
// reference's settings but fewer epochs) and is photographed finished, with its chart, its
// snapshots (epoch 1 and the final generator), its quality scores beside the reference run,
// a walk between two digits of the grid, the saved run, and its epoch log.
// `trunk build --release --features test-hooks`, then `node bench/screenshot.mjs [epochs]`.
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Browser } from '../tests/e2e/webdriver.mjs';
import { serve } from '../tests/e2e/serve.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EPOCHS = Number(process.argv[2] ?? 20);

const server = await serve(join(ROOT, 'dist'));
const browser = await Browser.launch();
try {
  await browser.goto(`${server.url}?path=cpu`);
  await browser.waitFor('MNIST', `return document.getElementById('data-status').textContent.includes('MNIST ready')
    && document.getElementById('app').dataset.gridStep === '0';`, { timeout: 240_000 });
  await browser.run(`const field = document.getElementById('setting-epochs');
    field.value = '${EPOCHS}'; field.dispatchEvent(new Event('input', { bubbles: true }));`);
  await browser.waitFor('the new run', `return document.getElementById('epoch').textContent === '0 / ${EPOCHS}';`);
  await browser.click('#train');
  await browser.waitFor(`${EPOCHS} epochs`, `const app = document.getElementById('app');
    return app.dataset.phase === 'finished' && app.dataset.inFlight === '0'
      && app.dataset.gridStep === document.getElementById('step').textContent;`,
    { timeout: 3_600_000, interval: 2000 });
  // A walk between two digits: the top-left and the bottom-right one.
  for (const [column, row] of [[0, 0], [7, 7]]) {
    await browser.run(`const grid = document.getElementById('grid'); const r = grid.getBoundingClientRect();
      grid.dispatchEvent(new MouseEvent('click', { bubbles: true,
        clientX: r.left + (${column} + 0.5) * r.width / 8, clientY: r.top + (${row} + 0.5) * r.height / 8 }));`);
  }
  await browser.waitFor('the walk', `return document.getElementById('walk-strip').dataset.walk === '0-63';`);
  await new Promise(done => setTimeout(done, 1000));
  const file = join(ROOT, 'docs/screenshot.png');
  writeFileSync(file, await browser.screenshot());
  console.log(`wrote ${file} after ${EPOCHS} epochs`);
} finally {
  await browser.close();
  server.close();
}
