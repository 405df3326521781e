// What scoring costs on the CPU path: the release app trains a few epochs at the reference's
// batch 256, scoring after every one; prints each score's time (the page's "Scored in" figure:
// from the request to the answer) beside the epochs' training times, and the share of training
// time that scoring takes at the default interval. Run by `scripts/bench --quality`.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Browser } from '../tests/e2e/webdriver.mjs';
import { serve } from '../tests/e2e/serve.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EPOCHS = Number(process.env.BENCH_EPOCHS ?? 4);
const DEFAULT_EVERY = 5;

const server = await serve(join(ROOT, 'dist'));
const browser = await Browser.launch();
const set = (id, value) => browser.run(`const f = document.getElementById('${id}');
  f.value = '${value}'; f.dispatchEvent(new Event('input', { bubbles: true }));`);
try {
  await browser.goto(`${server.url}?path=cpu`);
  await browser.waitFor('MNIST and the classifier', `return document.getElementById('data-status').textContent.includes('MNIST ready')
    && document.getElementById('quality-status').textContent.startsWith('The generator is scored');`, { timeout: 240_000 });
  await set('setting-epochs', EPOCHS);
  await set('score-every', 1);
  await browser.waitFor('the new run', `return document.getElementById('epoch').textContent === '0 / ${EPOCHS}';`);
  await browser.click('#train');
  const scores = new Map();
  for (;;) {
    const [status, phase] = await browser.run(`return [document.getElementById('quality-status').textContent,
      document.getElementById('app').dataset.phase];`);
    const found = /^After epoch (\d+): .* Scored in ([\d.]+) s\.$/.exec(status);
    if (found) scores.set(Number(found[1]), Number(found[2]));
    if (phase === 'finished' && scores.size === EPOCHS) break;
    await new Promise(done => setTimeout(done, 100));
  }
  const epochs = (await browser.run(`return [...document.querySelectorAll('#epoch-log li')].map(li => li.textContent);`))
    .map(line => Number(/: ([\d.]+) s$/.exec(line)[1]));
  const mean = values => values.reduce((a, b) => a + b, 0) / values.length;
  const score = mean([...scores.values()]);
  // An epoch's clock includes the score before it (the worker finishes a score before the
  // next step), so the epochs after the first hold one score each.
  const epoch = mean(epochs.slice(1)) - score;
  console.log(`scores (s): ${[...scores].map(([e, s]) => `epoch ${e} ${s}`).join(', ')}`);
  console.log(`epoch training times (s): ${epochs.join(', ')}`);
  console.log(`mean score ${score.toFixed(2)} s, mean epoch without it ${epoch.toFixed(2)} s: `
    + `${(100 * score / epoch).toFixed(1)} % scoring every epoch, `
    + `${(100 * score / epoch / DEFAULT_EVERY).toFixed(1)} % at the default interval (every ${DEFAULT_EVERY})`);
} finally {
  await browser.close();
  server.close();
}
