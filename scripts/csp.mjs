// trunk's post-build hook: adds a Content-Security-Policy to the built page. Everything comes
// from this origin; the only inline script is trunk's loader, allowed by its SHA-256; wasm may
// be compiled ('wasm-unsafe-eval'); the trainer's worker starts from a blob: URL that
// wasm-bindgen makes for `www/worker.js`.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const file = join(process.env.TRUNK_STAGING_DIR ?? 'dist', 'index.html');
let html = readFileSync(file, 'utf8');
const hashes = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)]
  .map(([, body]) => `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`);
const policy = [
  "default-src 'self'",
  `script-src 'self' 'wasm-unsafe-eval' ${hashes.join(' ')}`.trim(),
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
html = html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>\n?/, '');
html = html.replace(/(<meta charset="utf-8">)/i, `$1\n  <meta http-equiv="Content-Security-Policy" content="${policy}">`);
if (!html.includes('Content-Security-Policy')) throw new Error(`no <meta charset> in ${file} to put the policy after`);
writeFileSync(file, html);
console.log(`CSP: ${hashes.length} inline script(s) allowed by hash`);
