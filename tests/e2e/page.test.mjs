// The real page, as a user drives it: trunk's release build served on 127.0.0.1, headless
// Chromium through chromedriver. Both paths: WebGPU (on SwiftShader, asked for with
// `?path=webgpu`) and the CPU worker (the automatic choice for a software adapter).
// Build first: `trunk build --release --features test-hooks` (the hooks this test waits on).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Browser } from './webdriver.mjs';
import { serve } from './serve.mjs';
import { gridDifference, nativeExport, ortImages, recipeNoise, serveWebRecipe } from './onnx.mjs';
import { writeDigitFolder } from './images.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = join(ROOT, 'dist');
const OUT = join(ROOT, 'target/e2e');
const DOWNLOADS = join(OUT, 'downloads');
const BATCH = 16; // small: SwiftShader runs WebGPU on the CPU

let server, browser;

before(async () => {
  assert.ok(existsSync(join(DIST, 'index.html')), 'dist/ is missing: run `trunk build --release --features test-hooks` first');
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(DOWNLOADS, { recursive: true });
  server = await serve(DIST);
  browser = await Browser.launch({ downloadDir: DOWNLOADS });
});

after(async () => {
  await browser?.close();
  server?.close();
});

const attr = name => `return document.getElementById('app').getAttribute(${JSON.stringify(name)});`;
const text = id => `return document.getElementById(${JSON.stringify(id)}).textContent;`;
const canvasUrl = id => `return document.getElementById(${JSON.stringify(id)}).toDataURL();`;
// A canvas's RGBA values, to compare two drawings of one generator on different backends.
const canvasPixels = id => `const canvas = document.getElementById(${JSON.stringify(id)});
  return Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data);`;

/** Sets a form field (or select) as a user would, firing its event. */
async function setField(id, value, event = 'input') {
  await browser.run(`const field = document.getElementById(${JSON.stringify(id)});
    field.value = ${JSON.stringify(String(value))}; field.dispatchEvent(new Event('${event}', { bubbles: true }));`);
}

const setBatch = size => setField('setting-batch_size', size);
const choosePath = path => setField('compute-path', path, 'change');

/** Clicks `button` and returns the path of the file ending in `suffix` written since (Chrome may reuse a name). */
async function download(button, suffix) {
  const clicked = Date.now() - 1000;
  await browser.click(button);
  const fresh = () => readdirSync(DOWNLOADS).find(name => name.endsWith(suffix)
    && statSync(join(DOWNLOADS, name)).mtimeMs >= clicked);
  let saved;
  for (let i = 0; i < 240 && !saved; i++) {
    saved = fresh();
    if (!saved) await sleep(250);
  }
  assert.ok(saved, `the ${suffix} file is downloaded (found: ${readdirSync(DOWNLOADS)})`);
  await sleep(500); // let Chrome finish writing it
  return join(DOWNLOADS, saved);
}

const downloadWeights = () => download('#download-weights', '.safetensors');

/** Waits until every step is back and the grid shows the model at `step` (any step if omitted). */
async function waitSettled(what, step, phase) {
  return Number(await browser.waitFor(what, `
    const app = document.getElementById('app');
    const shown = document.getElementById('step').textContent;
    const step = ${step === undefined ? 'shown' : `'${step}'`};
    return app.dataset.inFlight === '0' && app.dataset.gridStep === step && shown === step
      ${phase ? `&& app.dataset.phase === '${phase}'` : ''} && shown;`, { timeout: 300_000 }));
}

/** Loads a weights file through the file picker and waits for the model to show it. */
async function loadWeights(file, step) {
  await browser.sendKeys('#load-weights', file);
  await browser.waitFor('the weights to load', `
    const s = document.getElementById('weights-status').textContent;
    if (s.includes('not loaded')) throw new Error(s);
    return s.startsWith('Loaded')${step === undefined ? '' : ` && document.getElementById('app').dataset.gridStep === '${step}'`};`);
}

async function assertCleanConsoleAndOrigin() {
  assert.deepEqual(await severeConsoleEntries(), [], 'no console errors');
  const foreign = server.requests.filter(url => !url.startsWith('/'));
  assert.deepEqual(foreign, [], 'every request is same-origin');
}

async function openPage(query = '?path=webgpu') {
  await browser.goto(server.url + query);
  await browser.waitFor('MNIST to load', `
    const s = document.getElementById('data-status').textContent;
    if (s.includes('failed') || document.getElementById('data-status').classList.contains('error')) throw new Error(s);
    return s.includes('MNIST ready') && document.getElementById('app').dataset.phase;`, { timeout: 240_000 });
}

/** Pixels of canvas `id` that are not transparent black (ink, bars). */
const inked = id => `const c = document.getElementById(${JSON.stringify(id)});
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 0) n++;
  return n;`;

/** Clicks digit `index` (0–63) of the 8×8 grid where a user would. */
async function clickGridCell(index) {
  await browser.run(`const grid = document.getElementById('grid');
    const r = grid.getBoundingClientRect();
    const x = r.left + (${index % 8} + 0.5) * r.width / 8, y = r.top + (${Math.floor(index / 8)} + 0.5) * r.height / 8;
    grid.dispatchEvent(new MouseEvent('click', { clientX: x, clientY: y, bubbles: true }));`);
}

/** The rows of the "Saved runs" list in the current window. */
function runRows() {
  return browser.run(`return [...document.querySelectorAll('#runs li')].map(li => ({
    key: li.dataset.key, epoch: li.dataset.epoch, state: li.dataset.state,
    name: li.querySelector('.run-name').value }));`);
}

/** Polls the list until `check(rows)` returns something truthy, and returns that. */
async function waitForRows(what, check, timeout = 120_000) {
  const start = Date.now();
  let rows;
  while (Date.now() - start < timeout) {
    rows = await runRows();
    const found = check(rows);
    if (found) return found;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what} (rows: ${JSON.stringify(rows)})`);
}

async function severeConsoleEntries() {
  return (await browser.logs()).filter(entry => entry.level === 'SEVERE');
}

function parseSafetensors(bytes) {
  const length = Number(bytes.readBigUInt64LE(0));
  assert.ok(length > 0 && 8 + length <= bytes.length, 'header length within the file');
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'));
  const dataLength = bytes.length - 8 - length;
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    assert.equal(info.dtype, 'F32', `${name} is float32`);
    const [begin, end] = info.data_offsets;
    assert.equal(end - begin, 4 * info.shape.reduce((a, b) => a * b, 1), `${name} size matches its shape`);
    assert.ok(end <= dataLength, `${name} lies within the file`);
  }
  return header;
}

test('a visitor loads MNIST, trains on WebGPU, downloads the weights and loads them back', { timeout: 1_200_000 }, async () => {
  await openPage();
  assert.equal(await browser.run(attr('data-path')), 'webgpu');
  // The page runs under its Content-Security-Policy, and trunk's subresource integrity is on.
  const policy = await browser.run(`return document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content;`);
  assert.match(policy ?? '', /default-src 'self'/);
  assert.match(policy, /script-src 'self' 'wasm-unsafe-eval' 'sha256-/);
  const integrity = await browser.run(`return [...document.querySelectorAll('link[rel=modulepreload], link[rel=preload], link[rel=stylesheet]')].map(l => l.integrity);`);
  assert.ok(integrity.length >= 3 && integrity.every(i => i.startsWith('sha384-')), `integrity: ${integrity}`);
  assert.equal(await browser.run(text('train-label')), 'label 5', 'the first training image is shown');
  assert.deepEqual(await severeConsoleEntries(), [], 'no console errors while loading');
  const progress = await browser.run(`const p = document.getElementById('data-progress'); return [p.value, p.max];`);
  assert.ok(progress[1] > 1e6 && progress[0] === progress[1], `the progress bar completes: ${progress}`);

  // A small batch keeps SwiftShader's steps short.
  await setBatch(BATCH);
  await browser.waitFor('the untrained grid', attr('data-grid-step'));
  const untrainedGrid = await browser.run(canvasUrl('grid'));
  const emptyChart = await browser.run(canvasUrl('chart'));

  await browser.click('#train');
  assert.equal(await browser.run(attr('data-phase')), 'running');
  await browser.waitFor('ten steps', `return Number(document.getElementById('step').textContent) >= 10;`, { timeout: 600_000 });
  await browser.waitFor('the grid to change', `return document.getElementById('grid').toDataURL() !== ${JSON.stringify(untrainedGrid)};`, { timeout: 60_000 });
  await browser.waitFor('the chart to change', `return document.getElementById('chart').toDataURL() !== ${JSON.stringify(emptyChart)};`, { timeout: 60_000 });
  assert.match(await browser.run(text('latest')), /D loss \d/);
  assert.match(await browser.run(text('steps-per-second')), /^\d/);

  // Pause, and wait for the grid to show the model exactly as it is.
  await browser.click('#train');
  const step = await waitSettled('every step to be read back', undefined, 'paused');
  assert.ok(step >= 10);
  await sleep(500);
  const trainedGrid = await browser.run(canvasPixels('grid'));
  writeFileSync(join(OUT, 'screenshot.png'), await browser.screenshot());

  const file = await downloadWeights();
  assert.equal(file, join(DOWNLOADS, 'mnist-gan-epoch-0.safetensors'));
  const header = parseSafetensors(readFileSync(file));
  assert.deepEqual(header['gen.dense0.kernel'].shape, [100, 100]);
  assert.deepEqual(header['gen.dense4.kernel'].shape, [256, 784]);
  assert.deepEqual(header['disc.dense0.kernel'].shape, [784, 128]);
  assert.deepEqual(header['disc.dense3.bias'].shape, [1]);
  const modelNames = Object.keys(header).filter(n => n !== '__metadata__' && !n.startsWith('optim.'));
  assert.equal(modelNames.length, 18);
  assert.equal(header.__metadata__.format_version, '1');
  assert.equal(header.__metadata__.step, String(step));
  assert.equal(JSON.parse(header.__metadata__.config).batch_size, BATCH);

  // The same weights as ONNX: each network's download is the native export of that weights file.
  const onnxFiles = {};
  for (const network of ['generator', 'discriminator']) {
    const button = network === 'generator' ? '#download-onnx' : '#download-onnx-discriminator';
    onnxFiles[network] = await download(button, `-${network}.onnx`);
    assert.equal(onnxFiles[network], join(DOWNLOADS, `mnist-gan-epoch-0-${network}.onnx`));
    assert.equal(await browser.run(text('weights-status')), `Saved mnist-gan-epoch-0-${network}.onnx.`);
  }
  const reference = nativeExport(ROOT, file, join(OUT, 'onnx'));
  for (const network of ['generator', 'discriminator']) {
    assert.ok(readFileSync(onnxFiles[network]).equals(readFileSync(join(OUT, 'onnx', `${network}.onnx`))),
      `the page's ${network}.onnx is the native export's bytes`);
  }

  // A reload starts over (with MNIST from the Cache Storage, not the network); loading the file
  // restores the very same generator.
  const downloads = () => server.requests.filter(url => url.endsWith('.gz')).length;
  assert.equal(downloads(), 2, 'two MNIST files fetched on the first visit');
  await openPage();
  assert.equal(downloads(), 2, 'a reload fetches no MNIST file again');
  assert.equal(await browser.run(attr('data-phase')), 'ready');
  await loadWeights(file, step);
  // WebGPU drew the paused grid; the loaded generator's first grid comes from its copy on the
  // worker's CPU (src/session/preview.rs): the same weights, so every pixel is the same or one
  // rounding step away (the two agree within 1e-5, `tests/browser.rs`; a step is 1/127.5).
  // Seen here: 0 values moved in most runs, 3 (one pixel's RGB) in one of five.
  const restored = await browser.run(canvasPixels('grid'));
  assert.equal(restored.length, trainedGrid.length);
  const differences = restored.map((value, i) => Math.abs(value - trainedGrid[i]));
  const moved = differences.filter(d => d > 0).length;
  console.log(`restored grid: ${moved} of ${differences.length} values one step away`);
  assert.ok(differences.every(d => d <= 1) && moved <= differences.length / 100,
    `the grid is restored: ${moved} values moved, by up to ${differences.reduce((a, b) => Math.max(a, b), 0)}`);
  const restoredGrid = await browser.run(canvasUrl('grid'));
  assert.equal(await browser.run(attr('data-phase')), 'paused', 'ready to continue training');
  assert.equal(await browser.run(`return document.getElementById('setting-batch_size').value;`), String(BATCH));

  // A file that is not safetensors is refused and the model stays.
  const junk = join(OUT, 'junk.safetensors');
  writeFileSync(junk, 'this is not a weights file');
  await browser.sendKeys('#load-weights', junk);
  await browser.waitFor('the refusal', `return document.getElementById('weights-status').textContent.includes('not loaded');`);
  assert.equal(await browser.run(canvasUrl('grid')), restoredGrid, 'the model is unchanged');
  // An ONNX file is an export, not weights to load.
  await browser.sendKeys('#load-weights', onnxFiles.generator);
  await browser.waitFor('the ONNX refusal', `return document.getElementById('weights-status').textContent.includes('an ONNX file is an export');`);
  assert.equal(await browser.run(canvasUrl('grid')), restoredGrid, 'the model is unchanged');
  await assertCleanConsoleAndOrigin();

  // onnxruntime-web runs the downloaded generator: the README's recipe draws a grid with it,
  // and for the page's grid noise its images are the paused grid within one 8-bit step.
  const site = await serveWebRecipe(ROOT, onnxFiles.generator, join(OUT, 'onnx-web'));
  try {
    await browser.goto(site.url);
    await browser.waitFor('the recipe to draw its grid', `return (() => { ${inked('grid')} })() > 1000;`, { timeout: 120_000 });
    // The recipe's grid is its generator's images for its noise, each in its cell.
    const drawn = await ortImages(browser, await recipeNoise(browser));
    const recipeGrid = gridDifference(drawn.data, await browser.run(canvasPixels('grid')));
    assert.ok(recipeGrid.largest <= 1, `the recipe draws each image in its cell (largest difference ${recipeGrid.largest})`);
    const { dims, data } = await ortImages(browser, reference.noise.values);
    assert.deepEqual(dims, [64, 28, 28, 1]);
    const { largest, moved } = gridDifference(data, trainedGrid);
    console.log(`onnxruntime-web against the page's grid: ${moved} of ${data.length} pixels one step away`);
    assert.ok(largest <= 1, `onnxruntime-web's images are the page's grid within one step (largest ${largest})`);
    // Chrome asks the bare recipe page for a favicon, and ONNX Runtime logs its own warnings
    // ("[W:onnxruntime… Unknown CPU vendor") through console.error: neither is an error.
    const errors = (await severeConsoleEntries()).filter(entry => !entry.message.includes('/favicon.ico')
      && !entry.message.includes('[W:onnxruntime'));
    assert.deepEqual(errors, [], 'no console errors running the recipe');
  } finally {
    site.close();
  }
});

async function trainAndPause(steps) {
  await browser.click('#train');
  await browser.waitFor(`${steps} steps`, `return Number(document.getElementById('step').textContent) >= ${steps};`, { timeout: 600_000 });
  await browser.click('#train');
  return waitSettled('every step to be read back', undefined, 'paused');
}

test('without a hardware GPU the CPU workers train; the run moves between paths', { timeout: 1_200_000 }, async () => {
  await openPage('');
  // SwiftShader is a software adapter: the automatic choice is the CPU worker, and says why.
  await browser.waitFor('the CPU path', attr('data-path'));
  assert.equal(await browser.run(attr('data-path')), 'cpu');
  const cores = await browser.run('return navigator.hardwareConcurrency;');
  const workers = Math.min(Math.max(cores - 1, 1), 4);
  assert.equal(await browser.run(attr('data-workers')), String(workers), 'one core for the page, at most 4');
  assert.match(await browser.run(text('gpu-status')), /Training on the CPU \(wasm SIMD\) in .*Web Worker.*: the WebGPU adapter .*runs on the CPU/);
  assert.equal(await browser.run(`return document.getElementById('compute-path').value;`), 'auto');

  await setBatch(64);
  // Two workers train the run as replicas: chosen before it starts, they take over at once.
  await browser.run(`const menu = document.getElementById('cpu-workers');
    menu.value = '2'; menu.dispatchEvent(new Event('change', { bubbles: true }));`);
  await browser.waitFor('two workers', `const app = document.getElementById('app');
    return app.dataset.workers === '2' && app.dataset.phase === 'ready';`, { timeout: 120_000 });
  assert.match(await browser.run(text('gpu-status')), /in 2 Web Workers \(2 of \d+ cores\)/);
  await browser.waitFor('the untrained grid', attr('data-grid-step'));
  const untrainedGrid = await browser.run(canvasUrl('grid'));
  const step = await trainAndPause(20);
  assert.ok(step >= 20);
  assert.notEqual(await browser.run(canvasUrl('grid')), untrainedGrid, 'the generator in the worker learned');
  assert.match(await browser.run(text('latest')), /D loss \d/);

  const saved = await downloadWeights();
  const header = parseSafetensors(readFileSync(saved));
  assert.equal(header.__metadata__.step, String(step));
  assert.equal(JSON.parse(header.__metadata__.config).batch_size, 64);

  // Moving the run to WebGPU keeps its position and settings; training goes on there.
  await choosePath('webgpu');
  await browser.waitFor('the move to WebGPU', `
    const app = document.getElementById('app');
    return app.dataset.path === 'webgpu' && document.getElementById('settings-status').textContent.includes('moved');`, { timeout: 120_000 });
  assert.equal(await browser.run(text('step')), String(step), 'the position moved with the run');
  const gpuStep = await trainAndPause(step + 1);
  assert.ok(gpuStep > step);

  // And the CPU-path file loads on WebGPU too (a file from one path loads in the other).
  await loadWeights(saved, step);
  await assertCleanConsoleAndOrigin();
});

/** A numpy file's header (format 1.0) and where its data starts. */
function parseNpy(bytes) {
  assert.equal(bytes.subarray(0, 8).toString('latin1'), '\x93NUMPY\x01\x00', 'numpy format 1.0');
  const length = bytes.readUInt16LE(8);
  assert.equal((10 + length) % 64, 0, 'the data is aligned');
  return { header: bytes.subarray(10, 10 + length).toString('latin1').trim(), data: 10 + length };
}

test('a conditional run: the model from the URL, a column per digit picked, samples to take away', { timeout: 1_200_000 }, async () => {
  await openPage('?path=cpu&model=conditional');
  assert.equal(await browser.run(`return document.getElementById('setting-model').value;`), 'conditional');
  await setBatch(64);
  await browser.waitFor('the conditional grid, a column per digit', `
    const grid = document.getElementById('grid');
    return document.getElementById('app').dataset.gridStep && grid.width === 280 && grid.height === 224;`, { timeout: 120_000 });
  assert.equal(await browser.run(`return document.getElementById('digit-picker').hidden;`), false);
  const step = await trainAndPause(20);

  // Switching the 4 off draws nine columns; the picks go with the old layout.
  await browser.click('#digit-4');
  await browser.waitFor('nine columns', `return document.getElementById('grid').width === 252;`, { timeout: 60_000 });
  assert.equal(await browser.run(`return document.getElementById('digit-4').checked;`), false);

  const samplesFile = await download('#download-samples', '-samples.npy');
  assert.equal(samplesFile, join(DOWNLOADS, 'mnist-gan-conditional-epoch-0-samples.npy'));
  const samples = readFileSync(samplesFile);
  const { header, data } = parseNpy(samples);
  assert.equal(header, "{'descr': '<f4', 'fortran_order': False, 'shape': (10000, 28, 28), }");
  assert.equal(samples.length, data + 10000 * 784 * 4);
  for (let at = data; at < samples.length; at += 4 * 997) {
    const value = samples.readFloatLE(at);
    assert.ok(value >= -1 && value <= 1, `a pixel in [-1, 1]: ${value}`);
  }
  const labels = readFileSync(await download('#download-sample-labels', '-labels.npy'));
  const parsed = parseNpy(labels);
  assert.equal(parsed.header, "{'descr': '|u1', 'fortran_order': False, 'shape': (10000,), }");
  assert.deepEqual([...labels.subarray(parsed.data, parsed.data + 12)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);

  // The weights file names its model and holds its shapes.
  const weightsFile = await downloadWeights();
  assert.equal(weightsFile, join(DOWNLOADS, 'mnist-gan-conditional-epoch-0.safetensors'));
  const weights = parseSafetensors(readFileSync(weightsFile));
  assert.equal(weights.__metadata__.model, 'conditional');
  assert.equal(weights.__metadata__.step, String(step));
  assert.deepEqual(weights['gen.dense0.kernel'].shape, [110, 100]);
  assert.deepEqual(weights['disc.dense0.kernel'].shape, [794, 128]);
  await assertCleanConsoleAndOrigin();
});

/** A copy of a weights file with every discriminator kernel scaled to near float32's limit. */
function poison(bytes) {
  const out = Buffer.from(bytes);
  const length = Number(out.readBigUInt64LE(0));
  const header = JSON.parse(out.subarray(8, 8 + length).toString('utf8'));
  for (const [name, info] of Object.entries(header)) {
    if (!/^disc\.dense\d\.kernel$/.test(name)) continue;
    const [begin, end] = info.data_offsets;
    for (let at = 8 + length + begin; at < 8 + length + end; at += 4) {
      const value = out.readFloatLE(at) * 1e38;
      out.writeFloatLE(Math.max(-3e38, Math.min(3e38, value)), at);
    }
  }
  return out;
}

test('nothing is lost: autosave and resume, a diverged run, a lost GPU device', { timeout: 1_500_000 }, async () => {
  await openPage('?path=cpu');
  assert.deepEqual(await runRows(), [], 'no saved run yet');
  // One epoch at the reference's batch 256 (235 steps) on the CPU worker, then an autosave.
  await browser.click('#train');
  await browser.waitFor('the autosave after epoch 1', `return document.getElementById('saved-status').textContent.startsWith('Autosaved at epoch 1, step 235');`, { timeout: 600_000 });
  await browser.click('#train');
  await browser.waitFor('the pause', `const app = document.getElementById('app'); return app.dataset.phase === 'paused' && app.dataset.inFlight === '0';`);

  // The first score: a point on the quality chart beside the reference, and the histogram.
  await browser.waitFor('the first score', `return document.getElementById('quality-chart').dataset.points === '1';`);
  assert.match(await browser.run(text('quality-status')), /^After epoch 1: FID [\d.]+ · IS [\d.]+ \(the reference run: FID [\d.]+ · IS [\d.]+\)\. Scored in [\d.]+ s\.$/);
  assert.ok(await browser.run(inked('digit-histogram')) > 100, 'the histogram is drawn');
  // Two digits of the grid clicked: the generator's walk between them.
  await clickGridCell(0);
  await clickGridCell(63);
  await browser.waitFor('the walk', `return document.getElementById('walk-strip').dataset.walk === '0-63';`);
  assert.ok(await browser.run(inked('walk-strip')) > 100, 'the strip is drawn');
  assert.equal(await browser.run(`return document.getElementById('download-walk').disabled;`), false);

  // A reload lists the saved run; resuming restores its position, chart and snapshot.
  await openPage('?path=cpu');
  const [saved1] = await waitForRows('the saved run', rows => rows.length === 1 && rows[0].epoch === '1' && rows[0].state === 'saved' && rows);
  assert.equal(saved1.name, 'Run 1');
  assert.equal(await browser.run(`return document.querySelector('#runs [data-action=resume]').textContent;`), 'Resume from epoch 1');
  const emptyChart = await browser.run(canvasUrl('chart'));
  await browser.click(`#runs [data-action=resume][data-key="${saved1.key}"]`);
  await waitSettled('the resumed run', 235);
  assert.equal(await browser.run(text('epoch')), '1 / 300');
  await waitForRows('the run on screen', rows => rows[0]?.state === 'here');
  assert.equal(await browser.run(`return document.querySelector('#runs [data-action=resume]').disabled;`), true,
    'the saved run is on screen: it is not offered again');
  assert.notEqual(await browser.run(canvasUrl('chart')), emptyChart, 'the chart history is restored');
  assert.equal(await browser.run(`return document.querySelectorAll('#snapshots li').length;`), 1, 'the snapshot of epoch 1 is restored');
  assert.equal(await browser.run(`return document.getElementById('quality-chart').dataset.points;`), '1', 'the score rode in the save');
  const resumedGrid = await browser.run(canvasUrl('grid'));

  // A run that diverges stops at once. A loaded file has no save of its own to roll back to
  // (the roll-back itself is tested natively); the saved run it replaced is in the list, free
  // again, and resuming it brings the model back.
  const saved = await downloadWeights();
  const poisoned = join(OUT, 'diverging.safetensors');
  writeFileSync(poisoned, poison(readFileSync(saved)));
  await loadWeights(poisoned);
  await waitForRows('the saved run, let go', rows => rows.find(row => row.key === saved1.key)?.state === 'saved');
  await browser.click('#train');
  await browser.waitFor('the divergence', `
    return document.getElementById('app').dataset.phase === 'paused'
      && document.getElementById('settings-status').textContent.includes('diverged');`, { timeout: 120_000 });
  assert.match(await browser.run(text('settings-status')), /no save of this run to roll back to/);
  assert.equal(await browser.run(`return document.getElementById('rollback').hidden;`), true);
  await browser.click(`#runs [data-action=resume][data-key="${saved1.key}"]`);
  await waitSettled('the saved run, resumed again', 235);
  assert.equal(await browser.run(canvasUrl('grid')), resumedGrid, 'the model is the saved one again');

  // The run moves to WebGPU; its device is lost; a new worker takes over from the last save.
  await choosePath('webgpu');
  await browser.waitFor('the move to WebGPU', `return document.getElementById('app').dataset.path === 'webgpu'
    && document.getElementById('settings-status').textContent.includes('moved');`, { timeout: 120_000 });
  await browser.run('window.wasmBindings.lose_gpu_device();');
  await browser.waitFor('the recovery', `return document.getElementById('saved-status').textContent.includes('restarted from the last save (epoch 1, step 235)');`, { timeout: 120_000 });
  await waitSettled('the recovered run', 235);
  assert.equal(await browser.run(attr('data-path')), 'webgpu');
  await browser.click('#train');
  await browser.waitFor('a step on the new device', `return Number(document.getElementById('step').textContent) > 235;`, { timeout: 300_000 });
  await browser.click('#train');

  // Handled faults (the divergence, the lost device) are warnings, not errors.
  assert.deepEqual(await severeConsoleEntries(), [], 'no console errors');
});

test('saved runs: two tabs train their own runs, both survive reloads, Reset keeps a run, deleting asks', { timeout: 1_200_000 }, async () => {
  const first = await browser.windowHandle();
  await openPage('?path=cpu');
  const earlier = new Set((await runRows()).map(row => row.key));
  const newRows = rows => rows.filter(row => !earlier.has(row.key));
  const finished = epochs => browser.waitFor(`the run to finish and save epoch ${epochs}`, `
    return document.getElementById('app').dataset.phase === 'finished'
      && document.getElementById('saved-status').textContent.startsWith('Autosaved at epoch ${epochs},');`, { timeout: 600_000 });

  // Tab 1 trains one epoch, tab 2 two, at the same time.
  await setField('setting-epochs', 1);
  await browser.click('#train');
  const second = await browser.newWindow();
  await browser.switchTo(second);
  await openPage('?path=cpu');
  await setField('setting-epochs', 2);
  await browser.click('#train');
  // Tab 1's run shows up in tab 2 as training elsewhere once saved; it cannot be resumed here.
  const [theirs] = await waitForRows('tab 1\'s run, listed in tab 2', rows => {
    const found = newRows(rows).filter(row => row.state === 'elsewhere');
    return found.length === 1 && found;
  }, 600_000);
  assert.equal(await browser.run(`return document.querySelector('#runs [data-action=resume][data-key="${theirs.key}"]').disabled;`), true);
  assert.ok((await browser.run(`return document.querySelector('#runs li[data-key="${theirs.key}"]').textContent;`)).includes('training in another tab'));
  await finished(2);
  const [mine] = newRows(await runRows()).filter(row => row.state === 'here');
  assert.equal(mine.epoch, '2');
  await browser.switchTo(first);
  await finished(1);

  // Both tabs reload: both runs are there, each with its own epochs, free to resume.
  await openPage('?path=cpu');
  await browser.switchTo(second);
  await openPage('?path=cpu');
  const both = await waitForRows('both runs, free', rows => {
    const found = newRows(rows);
    return found.length === 2 && found.every(row => row.state === 'saved') && found;
  });
  const epochs = Object.fromEntries(both.map(row => [row.key, row.epoch]));
  assert.deepEqual(epochs, { [theirs.key]: '1', [mine.key]: '2' });

  // Tab 2 resumes its run: tab 1 sees it taken.
  await browser.click(`#runs [data-action=resume][data-key="${mine.key}"]`);
  await browser.waitFor('the resumed run in tab 2', `return document.getElementById('epoch').textContent === '2 / 2';`);
  await waitSettled('its grid');
  await browser.switchTo(first);
  await waitForRows('tab 2\'s run, taken', rows => rows.find(row => row.key === mine.key)?.state === 'elsewhere');

  // Tab 1 resumes its own, then Reset and Train: a new run, and the first one stays listed.
  await browser.click(`#runs [data-action=resume][data-key="${theirs.key}"]`);
  await browser.waitFor('the resumed run in tab 1', `return document.getElementById('epoch').textContent === '1 / 1';`);
  await waitSettled('its grid');
  await browser.click('#reset');
  await browser.waitFor('the fresh run', `return document.getElementById('app').dataset.phase === 'ready';`);
  await browser.click('#train');
  await finished(1);
  const after = await waitForRows('three runs', rows => newRows(rows).length === 3 && newRows(rows));
  const fresh = after.find(row => row.key !== theirs.key && row.key !== mine.key);
  assert.equal(fresh.state, 'here');
  assert.equal(after.find(row => row.key === theirs.key).state, 'saved', 'the first run is kept, free again');

  // Deleting asks first; Keep keeps it.
  const row = key => `#runs li[data-key="${key}"]`;
  await browser.click(`${row(theirs.key)} [data-action=delete]`);
  await browser.waitFor('the question', `return document.querySelector('${row(theirs.key)} [data-action=confirm-delete]') !== null;`);
  assert.ok((await browser.run(`return document.querySelector('${row(theirs.key)}').textContent;`)).includes('for good?'));
  await browser.click(`${row(theirs.key)} [data-action=keep]`);
  await browser.waitFor('the answer', `return document.querySelector('${row(theirs.key)} [data-action=delete]') !== null;`);
  assert.equal(newRows(await runRows()).length, 3, 'kept');
  await browser.click(`${row(theirs.key)} [data-action=delete]`);
  await browser.click(`${row(theirs.key)} [data-action=confirm-delete]`);
  await waitForRows('the deletion', rows => !rows.some(r => r.key === theirs.key) && newRows(rows).length === 2);
  assert.match(await browser.run(text('saved-status')), /^Deleted 1 run/);
  assert.match(await browser.run(text('storage-status')), /^This site uses [\d.]+ MB of [\d.]+ GB/);

  assert.deepEqual(await severeConsoleEntries(), [], 'no console errors');
  await browser.switchTo(second);
  assert.deepEqual(await severeConsoleEntries(), [], 'no console errors in tab 2');
  await browser.command('DELETE', '/window');
  await browser.switchTo(first);
});

// Last: it leaves a saved run behind, which the tests above do not expect.
test('your own images: a dropped folder previewed, kept, trained on, resumed after a reload; a broken zip refused', { timeout: 1_200_000 }, async () => {
  const folder = join(OUT, 'digits');
  writeDigitFolder(ROOT, folder, 300);
  await openPage('?path=cpu');
  const earlier = new Set((await runRows()).map(row => row.key));
  await browser.drop('#data-panel', [folder]);
  const summary = await browser.waitFor('the preview', `const s = document.getElementById('import-status');
    if (s.classList.contains('error')) throw new Error(s.textContent);
    return !document.getElementById('import-grid').hidden && s.textContent;`, { timeout: 120_000 });
  assert.equal(summary, '300 images (28 × 28, inverted), 10 labels');
  assert.equal(await browser.run(`return document.getElementById('import-name').value;`), 'digits');
  // Inverted: the preview's digits are bright strokes on black, as MNIST's.
  const ink = await browser.run(inked('import-grid'));
  assert.ok(ink > 2000 && ink < 224 * 224 / 3, `strokes on a dark ground (${ink} lit pixels)`);
  await browser.click('#import-use');
  await browser.waitFor('the new data in use', `return document.getElementById('data-status').textContent === 'Training on “digits”: 270 images, 30 held out for the score.'
    && document.getElementById('app').dataset.phase === 'ready';`, { timeout: 120_000 });
  assert.equal(await browser.run(`return document.getElementById('import-preview').hidden;`), true);
  assert.deepEqual(await browser.run(`return [...document.querySelectorAll('#datasets li')].map(li => li.textContent);`),
    ['MNIST60000 images, 10 labels, built inUse', '300 images, 10 labelsin use']);

  // An epoch (two batches of 256) or a few, autosaved; the run and its weights file name the data.
  await browser.click('#train');
  await browser.waitFor('an autosave', `return document.getElementById('saved-status').textContent.startsWith('Autosaved at epoch');`, { timeout: 300_000 });
  await browser.click('#train');
  await waitSettled('the pause', undefined, 'paused');
  // Scored against the tenth held out, without MNIST's Inception Score or digits.
  await browser.waitFor('a score', `return Number(document.getElementById('quality-chart').dataset.points) >= 1;`, { timeout: 300_000 });
  assert.match(await browser.run(text('quality-status')), /^After epoch \d+: distance to your held-out images \(FID\) [\d.]+\. Scored in [\d.]+ s\.$/);
  assert.equal(await browser.run(`return document.getElementById('digit-histogram-figure').hidden;`), true);
  const run = await waitForRows('the run on the new data', rows => rows.find(row => !earlier.has(row.key)));
  assert.match(await browser.run(`return document.querySelector('#runs li[data-key="${run.key}"] .run-meta').textContent;`),
    new RegExp(`^tutorial on digits · epoch ${run.epoch} /`));
  const weights = parseSafetensors(readFileSync(await downloadWeights()));
  assert.equal(weights.__metadata__.dataset, 'digits');
  assert.match(weights.__metadata__.dataset_sha256, /^[0-9a-f]{64}$/);

  // A reload starts on MNIST; resuming the run brings its data back first.
  await openPage('?path=cpu');
  await waitForRows('the saved run', rows => rows.find(row => row.key === run.key && row.state === 'saved'));
  await browser.click(`#runs [data-action=resume][data-key="${run.key}"]`);
  await browser.waitFor('its data', `return document.getElementById('data-status').textContent === 'Training on “digits”: 270 images, 30 held out for the score.';`, { timeout: 120_000 });
  await waitSettled('the resumed run', String(2 * run.epoch));
  assert.equal(await browser.run(text('epoch')), `${run.epoch} / 300`);

  // A broken zip: its own message; the run and the data in use untouched.
  const zip = readFileSync(join(ROOT, 'tests/fixtures/import/two-digits.zip'));
  const broken = join(OUT, 'broken.zip');
  writeFileSync(broken, zip.subarray(0, zip.length >> 1));
  await browser.sendKeys('#add-files', broken);
  const refusal = await browser.waitFor('the refusal', `const s = document.getElementById('import-status');
    return s.classList.contains('error') && s.textContent;`, { timeout: 120_000 });
  assert.match(refusal, /^Not a readable zip file/);
  assert.equal(await browser.run(text('epoch')), `${run.epoch} / 300`);
  assert.equal(await browser.run(text('data-status')), 'Training on “digits”: 270 images, 30 held out for the score.');
  await browser.click('#import-cancel');
  assert.equal(await browser.run(`return document.getElementById('import-preview').hidden;`), true);
  await trainAndPause(2 * run.epoch + 1);
  await assertCleanConsoleAndOrigin();
});

test('a sharp run: its defaults, an epoch in two workers, the digit picker, samples, a reload resumes it as sharp', { timeout: 2_400_000 }, async () => {
  await openPage('?path=cpu&model=sharp');
  const field = id => browser.run(`return document.getElementById('${id}').value;`);
  assert.equal(await field('setting-model'), 'sharp');
  // The model's own defaults fill the form (src/model/sharp.rs).
  assert.deepEqual([await field('setting-batch_size'), await field('setting-noise_dim'), await field('setting-adam_beta1')],
    ['64', '64', '0.5']);
  await browser.run(`const menu = document.getElementById('cpu-workers');
    menu.value = '2'; menu.dispatchEvent(new Event('change', { bubbles: true }));`);
  await browser.waitFor('two workers and the conditional grid', `const app = document.getElementById('app');
    const grid = document.getElementById('grid');
    return app.dataset.workers === '2' && app.dataset.phase === 'ready' && app.dataset.gridStep
      && grid.width === 280 && grid.height === 224;`, { timeout: 120_000 });
  const earlier = new Set((await runRows()).map(row => row.key));

  // A whole epoch (938 steps of 64), then the autosave.
  await browser.click('#train');
  await browser.waitFor('the autosave after epoch 1', `return document.getElementById('saved-status').textContent.startsWith('Autosaved at epoch 1, step 938');`, { timeout: 2_000_000 });
  await browser.click('#train');
  await waitSettled('the pause', undefined, 'paused');
  await browser.click('#digit-4');
  await browser.waitFor('nine columns', `return document.getElementById('grid').width === 252;`, { timeout: 60_000 });

  const samplesFile = await download('#download-samples', '-samples.npy');
  assert.equal(samplesFile, join(DOWNLOADS, 'mnist-gan-sharp-epoch-1-samples.npy'));
  const samples = readFileSync(samplesFile);
  const { header, data } = parseNpy(samples);
  assert.equal(header, "{'descr': '<f4', 'fortran_order': False, 'shape': (10000, 28, 28), }");
  assert.equal(samples.length, data + 10000 * 784 * 4);
  const labels = readFileSync(await download('#download-sample-labels', '-labels.npy'));
  assert.equal(parseNpy(labels).header, "{'descr': '|u1', 'fortran_order': False, 'shape': (10000,), }");

  // The weights file: Keras' convolution kernels, the generator's average, the model's name.
  const weightsFile = await downloadWeights();
  assert.equal(weightsFile, join(DOWNLOADS, 'mnist-gan-sharp-epoch-1.safetensors'));
  const weights = parseSafetensors(readFileSync(weightsFile));
  assert.equal(weights.__metadata__.model, 'sharp');
  assert.deepEqual(weights['gen.conv2d_transpose1.kernel'].shape, [4, 4, 32, 64]);
  assert.deepEqual(weights['gen_avg.conv2d_transpose1.kernel'].shape, [4, 4, 32, 64]);
  assert.deepEqual(weights['disc.conv2d0.kernel'].shape, [4, 4, 11, 32]);

  // A reload lists the run as sharp; resuming it brings back a sharp run that trains on.
  await openPage('?path=cpu');
  const saved = await waitForRows('the saved sharp run',
    rows => rows.find(row => !earlier.has(row.key) && row.epoch === '1' && row.state === 'saved'));
  assert.match(await browser.run(`return document.querySelector('#runs li[data-key="${saved.key}"] .run-meta').textContent;`),
    /^sharp on MNIST · epoch 1 \//);
  await browser.click(`#runs [data-action=resume][data-key="${saved.key}"]`);
  await waitSettled('the resumed run', 938);
  assert.equal(await field('setting-model'), 'sharp');
  assert.equal(await browser.run(`return document.getElementById('digit-picker').hidden;`), false);
  const step = await trainAndPause(940);
  assert.ok(step >= 940);
  await assertCleanConsoleAndOrigin();
});
