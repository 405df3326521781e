// Images the tests and benchmarks write: greyscale PNGs encoded here (zlib from node), and
// folders of MNIST's test digits as a visitor would bring them.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, gunzipSync } from 'node:zlib';

/** A greyscale PNG of `width × height` levels (one byte each). */
export function png(width, height, levels) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = bytes => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4); length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0); header.writeUInt32BE(height, 4); header[8] = 8; // 8-bit grey
  const rows = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) Buffer.from(levels.subarray(y * width, (y + 1) * width)).copy(rows, y * (width + 1) + 1);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** A folder of `count` PNGs, MNIST's test digits from `first` on (round again past the 10,000th)
 * drawn dark on light, in a sub-folder per digit unless `byLabel` is false. */
export function writeDigitFolder(root, folder, count, { first = 0, byLabel = true } = {}) {
  const images = gunzipSync(readFileSync(join(root, 'www/data/mnist/t10k-images-idx3-ubyte.gz')));
  const labels = gunzipSync(readFileSync(join(root, 'www/data/mnist/t10k-labels-idx1-ubyte.gz')));
  rmSync(folder, { recursive: true, force: true });
  for (let n = 0; n < count; n++) {
    const i = (first + n) % 10000;
    const digit = images.subarray(16 + i * 784, 16 + (i + 1) * 784).map(v => 255 - v);
    const into = byLabel ? join(folder, String(labels[8 + i])) : folder;
    mkdirSync(into, { recursive: true });
    writeFileSync(join(into, `${n}.png`), png(28, 28, digit));
  }
}
