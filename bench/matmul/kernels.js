// The browser's half of bench/matmul.mjs: WGSL matrix-product kernels and their timing.
// Register-tiled: each invocation owns a TM × TN block of the output in named registers and
// reads its operands straight from the buffers: no workgroup memory, no barriers.
function registerKernel(tm, tn, wx, wy) {
  const acc = [], loadA = [], loadB = [], fma = [], store = [];
  for (let i = 0; i < tm; i++) loadA.push('let a' + i + ' = a[min(row0 + ' + i + 'u, d.m - 1u) * d.a_row + k * d.a_col];');
  for (let j = 0; j < tn; j++) loadB.push('let b' + j + ' = b[k * d.b_row + min(col0 + ' + j + 'u, d.n - 1u) * d.b_col];');
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) {
    acc.push('var c' + i + '_' + j + ' = 0.0;');
    fma.push('c' + i + '_' + j + ' = fma(a' + i + ', b' + j + ', c' + i + '_' + j + ');');
    store.push('if (row0 + ' + i + 'u < d.m && col0 + ' + j + 'u < d.n) { c[(row0 + ' + i + 'u) * d.n + col0 + ' + j + 'u] = c' + i + '_' + j + '; }');
  }
  return HEADER + '@compute @workgroup_size(' + wx + ', ' + wy + ') fn main(@builtin(global_invocation_id) g: vec3<u32>) {\n' +
    'let row0 = g.y * ' + tm + 'u; let col0 = g.x * ' + tn + 'u;\n' + acc.join('\n') +
    '\nfor (var k = 0u; k < d.k; k++) {\n' + loadA.join('\n') + loadB.join('\n') + fma.join('\n') + '}\n' +
    store.join('\n') + '}';
}
// The textbook tiled kernel: 16 × 16 tiles staged in workgroup memory between barriers, one
// output per invocation (the shape of CubeCL's unit routine, without its abstractions).
const SHARED = () => HEADER + `
var<workgroup> ta: array<f32, 256>;
var<workgroup> tb: array<f32, 256>;
@compute @workgroup_size(16, 16) fn main(@builtin(global_invocation_id) g: vec3<u32>,
    @builtin(local_invocation_id) l: vec3<u32>) {
  var acc = 0.0;
  for (var k0 = 0u; k0 < d.k; k0 += 16u) {
    let ka = k0 + l.x; let kb = k0 + l.y;
    ta[l.y * 16u + l.x] = select(0.0, a[min(g.y, d.m - 1u) * d.a_row + min(ka, d.k - 1u) * d.a_col], ka < d.k);
    tb[l.y * 16u + l.x] = select(0.0, b[min(kb, d.k - 1u) * d.b_row + min(g.x, d.n - 1u) * d.b_col], kb < d.k);
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) { acc = fma(ta[l.y * 16u + k], tb[k * 16u + l.x], acc); }
    workgroupBarrier();
  }
  if (g.y < d.m && g.x < d.n) { c[g.y * d.n + g.x] = acc; }
}`;
const HEADER = `struct Dims { m: u32, n: u32, k: u32, a_row: u32, a_col: u32, b_row: u32, b_col: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
`;
// A register-tiled kernel's entry: its code and the launch shape its dispatch derives from.
const registers = (tm, tn, wx, wy) => ({ code: () => registerKernel(tm, tn, wx, wy), tm, tn, wx, wy });
const KERNELS = {
  'naive 1x1 (8x8)': registers(1, 1, 8, 8),
  'shared 16x16 tiles, barriers': { code: SHARED, tm: 1, tn: 1, wx: 16, wy: 16 },
  'registers 4x4 (8x8)': registers(4, 4, 8, 8),
  'registers 4x4 (16x4)': registers(4, 4, 16, 4),
  'registers 8x4 (8x8)': registers(8, 4, 8, 8),
  'registers 4x8 (8x8)': registers(4, 8, 8, 8),
  'registers 4x8 (16x4)': registers(4, 8, 16, 4),
  'registers 8x4 (16x4)': registers(8, 4, 16, 4),
  'registers 8x8 (8x8)': registers(8, 8, 8, 8),
  'registers 4x4 (64x1)': registers(4, 4, 64, 1),
};

let device;
// One buffer per role, replaced by a larger one when a product needs more: a buffer smaller
// than its matrix would be read out of bounds, which WebGPU clamps silently.
const buffers = new Map();
function storage(floats, role) {
  let buffer = buffers.get(role);
  if (!buffer || buffer.size < floats * 4) {
    buffer?.destroy();
    buffer = device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    buffers.set(role, buffer);
  }
  return buffer;
}
function random(n, seed) {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; out[i] = s / 2 ** 32 - 0.5; }
  return out;
}

async function setup() {
  const adapter = await navigator.gpu.requestAdapter();
  device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ');
}

const pipelines = new Map();
function pipeline(name) {
  if (!pipelines.has(name)) {
    const module = device.createShaderModule({ code: KERNELS[name].code() });
    pipelines.set(name, device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } }));
  }
  return pipelines.get(name);
}

// One product's launch: a, b and c are sized for the largest product.
function encode(pass, name, [m, k, n, ta, tb], a, b, c) {
  const kernel = KERNELS[name];
  const dims = device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
  new Uint32Array(dims.getMappedRange()).set([m, n, k, ta ? 1 : k, ta ? m : 1, tb ? 1 : n, tb ? k : 1, 0]);
  dims.unmap();
  const p = pipeline(name);
  pass.setPipeline(p);
  pass.setBindGroup(0, device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [
    { binding: 0, resource: { buffer: a } }, { binding: 1, resource: { buffer: b } },
    { binding: 2, resource: { buffer: c } }, { binding: 3, resource: { buffer: dims } }] }));
  pass.dispatchWorkgroups(Math.ceil(n / (kernel.tn * kernel.wx)), Math.ceil(m / (kernel.tm * kernel.wy)));
}

async function run(name, products) {
  const size = Math.max(...products.map(([m, k, n]) => Math.max(m * k, k * n, m * n)));
  const a = storage(size, 'a'), b = storage(size, 'b'), c = storage(size, 'c');
  const start = performance.now();
  for (const product of products) {
    // One submit per product, as a step's launches are spread over several.
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    encode(pass, name, product, a, b, c);
    pass.end();
    device.queue.submit([encoder.finish()]);
  }
  await device.queue.onSubmittedWorkDone();
  return performance.now() - start;
}

// The product's values against a JS product of the same inputs (relative to the largest).
async function check(name, product) {
  const [m, k, n, ta, tb] = product;
  const av = random(m * k, 1), bv = random(k * n, 2);
  const a = storage(m * k, 'check-a'), b = storage(k * n, 'check-b'), c = storage(m * n, 'check-c');
  device.queue.writeBuffer(a, 0, av); device.queue.writeBuffer(b, 0, bv);
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  encode(pass, name, product, a, b, c);
  pass.end();
  const read = device.createBuffer({ size: m * n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  encoder.copyBufferToBuffer(c, 0, read, 0, m * n * 4);
  device.queue.submit([encoder.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(read.getMappedRange());
  let worst = 0, largest = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let q = 0; q < k; q++) s += av[ta ? q * m + i : i * k + q] * bv[tb ? j * k + q : q * n + j];
    worst = Math.max(worst, Math.abs(s - got[i * n + j])); largest = Math.max(largest, Math.abs(s));
  }
  read.unmap();
  return worst / largest;
}
