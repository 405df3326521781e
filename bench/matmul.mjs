// Matrix-product kernels on the browser's WebGPU adapter (here SwiftShader): how fast the
// training step's products could run with kernels shaped for a software adapter, to set beside
// the app's step, which is CubeCL's own routine (BENCHMARKS.md, issue 11). Plain WGSL written
// here, run in headless Chromium on the page in bench/matmul/; nothing of the app is loaded.
//
// `node bench/matmul.mjs [repeats]` prints, per kernel, the multiply-adds per second on four
// shapes of the step (each with its transposition as the backward pass reads it) and the time
// of the whole step's 30 products at batch 256, checked against a product computed in JS.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Browser } from '../tests/e2e/webdriver.mjs';
import { serve } from '../tests/e2e/serve.mjs';

const REPEATS = Number(process.argv[2] ?? 3);

// The step's products at batch 256 (`m × k · k × n`; `ta`/`tb`: the operand is stored
// transposed, as a weight gradient `xᵀ·g` and an input gradient `g·wᵀ` read theirs). The
// discriminator's main pass takes the real and the fake rows together (512).
const G = [100, 128, 128, 256, 784];
const D = [784, 128, 128, 128, 1];
function stepProducts(batch = 256) {
  const products = [];
  const forward = (units, rows) => units.slice(1).forEach((n, i) => products.push([rows, units[i], n, 0, 0]));
  const weightGrads = (units, rows) => units.slice(1).forEach((n, i) => products.push([units[i], rows, n, 1, 0]));
  const inputGrads = (units, rows, first) => units.slice(1).forEach((n, i) => {
    if (i >= first) products.push([rows, n, units[i], 0, 1]);
  });
  forward(G, batch);
  forward(D, 2 * batch);
  forward(D, batch); // the frozen discriminator on the fake rows
  weightGrads(D, 2 * batch);
  inputGrads(D, 2 * batch, 1);
  inputGrads(D, batch, 0); // through the frozen discriminator down to the images
  weightGrads(G, batch);
  inputGrads(G, batch, 1);
  return products;
}

const server = await serve(join(dirname(fileURLToPath(import.meta.url)), 'matmul'));
const browser = await Browser.launch();
try {
  await browser.goto(server.url);
  const adapter = await browser.run('return await setup();');
  console.log(`adapter: ${adapter}; ${REPEATS} repeats, the median`);
  const products = stepProducts();
  const macs = products.reduce((sum, [m, k, n]) => sum + m * k * n, 0);
  const shapes = {
    'generator out, 256x256 . 256x784': [[256, 256, 784, 0, 0]],
    'discriminator in, 512x784 . 784x128': [[512, 784, 128, 0, 0]],
    'its weight gradient, (512x784)T . 512x128': [[784, 512, 128, 1, 0]],
    'generator input gradient, 256x784 . (256x784)T': [[256, 784, 256, 0, 1]],
  };
  console.log(`the step: ${products.length} products, ${(macs / 1e6).toFixed(1)} M multiply-adds`);
  const kernels = await browser.run('return Object.keys(KERNELS);');
  const header = ['kernel', 'max rel. error', ...Object.keys(shapes).map(s => `${s} (M MAC/s)`), 'the step\'s products (ms)', 'M MAC/s'];
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
  for (const kernel of kernels) {
    let error = 0;
    for (const product of [[256, 100, 128, 0, 0], [130, 70, 33, 1, 0], [77, 129, 45, 0, 1]]) {
      error = Math.max(error, await browser.run('return await check(arguments[0], arguments[1]);', kernel, product));
    }
    // A wrong product is not a figure.
    if (!(error < 1e-5)) throw new Error(`${kernel}: relative error ${error} against the JS product`);
    const row = [kernel, error.toExponential(1)];
    const timed = async list => {
      const times = [];
      await browser.run('return await run(arguments[0], arguments[1]);', kernel, list); // compile, warm
      for (let r = 0; r < REPEATS; r++) times.push(await browser.run('return await run(arguments[0], arguments[1]);', kernel, list));
      return times.sort((x, y) => x - y)[times.length >> 1];
    };
    for (const list of Object.values(shapes)) {
      const [[m, k, n]] = list;
      row.push(((m * k * n) / (await timed(list)) / 1e3).toFixed(0));
    }
    const stepMs = await timed(products);
    row.push(stepMs.toFixed(0), (macs / stepMs / 1e3).toFixed(0));
    console.log(`| ${row.join(' | ')} |`);
  }
} finally {
  await browser.close();
  server.close();
}
