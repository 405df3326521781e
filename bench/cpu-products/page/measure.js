// Times gemm's products in each build of `bench/cpu-products` (page side of
// `bench/cpu-products.mjs`): the step's products at batch 256 in rounds, builds alternating, each
// checked against a product in double precision first.

const G = [100, 128, 128, 256, 784];
const D = [784, 128, 128, 128, 1];

/** The step's 30 products `[m, k, n, lhsTransposed, rhsTransposed]`, as `bench/matmul.mjs`. */
export function stepProducts(batch = 256) {
  const products = [];
  const layers = units => units.slice(1).map((n, i) => [units[i], n]);
  const forward = (units, rows) => layers(units).forEach(([i, o]) => products.push([rows, i, o, 0, 0]));
  const weightGrads = (units, rows) => layers(units).forEach(([i, o]) => products.push([i, rows, o, 1, 0]));
  const inputGrads = (units, rows, first) => layers(units).slice(first).forEach(([i, o]) => products.push([rows, o, i, 0, 1]));
  forward(G, batch);
  forward(D, 2 * batch);
  forward(D, batch);
  weightGrads(D, 2 * batch);
  inputGrads(D, 2 * batch, 1);
  inputGrads(D, batch, 0);
  weightGrads(G, batch);
  inputGrads(G, batch, 1);
  return products;
}

async function load(url) {
  const { instance } = await WebAssembly.instantiate(await (await fetch(url)).arrayBuffer(), {
    env: { now: () => performance.now() },
  });
  const exports = instance.exports;
  const len = 1 << 20;
  const [a, b, c] = [0, 1, 2].map(() => exports.floats(len));
  const view = () => new Float32Array(exports.memory.buffer);
  for (const pointer of [a, b]) {
    const v = view();
    for (let i = 0; i < len; i++) v[pointer / 4 + i] = Math.random() * 2 - 1;
  }
  // Largest difference from double precision relative to the largest entry, on odd shapes.
  let error = 0;
  for (const [m, k, n, ta, tb] of [[256, 100, 128, 0, 0], [130, 70, 33, 1, 0], [77, 129, 45, 0, 1], [13, 7, 5, 1, 1]]) {
    exports.product(c, a, b, m, k, n, ta, tb);
    const v = view();
    let scale = 0, worst = 0;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let t = 0; t < k; t++) sum += v[a / 4 + (ta ? t * m + i : i * k + t)] * v[b / 4 + (tb ? j * k + t : t * n + j)];
      scale = Math.max(scale, Math.abs(sum));
      worst = Math.max(worst, Math.abs(v[c / 4 + i * n + j] - sum));
    }
    error = Math.max(error, worst / scale);
  }
  exports.peak(1e6); // compiled and warm
  return { exports, a, b, c, error };
}

const median = values => [...values].sort((x, y) => x - y)[values.length >> 1];

/** `{ name: url }` → per build: the check, the step's products (median ms of `rounds`), the
 *  four largest shapes' G multiply-adds/s, the peak (median of 3). */
export async function measure(builds, rounds) {
  const products = stepProducts();
  const macs = products.reduce((sum, [m, k, n]) => sum + m * k * n, 0);
  const loaded = {};
  for (const [name, url] of Object.entries(builds)) loaded[name] = await load(url);
  const shapes = [[256, 256, 784, 0, 0], [512, 784, 128, 0, 0], [784, 512, 128, 1, 0], [256, 784, 256, 0, 1]];
  const times = Object.fromEntries(Object.keys(builds).map(name => [name, { step: [], shapes: shapes.map(() => []) }]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, { exports: e, a, b, c }] of Object.entries(loaded)) {
      let start = performance.now();
      for (let repeat = 0; repeat < 3; repeat++) for (const [m, k, n, ta, tb] of products) e.product(c, a, b, m, k, n, ta, tb);
      times[name].step.push((performance.now() - start) / 3);
      shapes.forEach(([m, k, n, ta, tb], i) => {
        start = performance.now();
        for (let repeat = 0; repeat < 5; repeat++) e.product(c, a, b, m, k, n, ta, tb);
        times[name].shapes[i].push((performance.now() - start) / 5);
      });
    }
  }
  return Object.entries(loaded).map(([name, { exports: e, error }]) => {
    const step = median(times[name].step);
    const peak = median([0, 1, 2].map(() => e.peak(3e7)));
    return {
      name, error, stepMs: step, gmacs: macs / step / 1e6, peak,
      shapes: shapes.map(([m, k, n], i) => m * k * n / median(times[name].shapes[i]) / 1e6),
      macs, count: products.length,
    };
  });
}
