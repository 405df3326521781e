// Inflating with the browser's `DecompressionStream`, for the import worker's PNGs, zips and
// gzip files and the page's MNIST (`src/web/decode.rs`). One call per stream, so the wasm waits
// on one promise, not on each of the stream's steps: a 28 × 28 PNG's data inflates in ~60 µs
// here, where awaiting the writer and each read from Rust cost 2.5 times that.
//
// Resolves to the bytes inflated, or to `null` once they would pass `limit` (the stream is
// cancelled there, so a zip bomb stops at the limit); rejects with the stream's error.
export async function inflate(bytes, format, limit) {
  const stream = new DecompressionStream(format);
  const writer = stream.writable.getWriter();
  // A copy: `bytes` is a view of the wasm's memory, which may move before the stream reads it.
  // The writer's own promises settle with the reading below (rejected alike if it fails).
  writer.write(bytes.slice()).catch(() => {});
  writer.close().catch(() => {});
  const reader = stream.readable.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > limit) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
