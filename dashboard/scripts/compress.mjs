// Precompresses the built files so the server sends them as they are: brotli and gzip copies
// beside each text asset, kept only where they are smaller.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = new URL("../dist/", import.meta.url).pathname;
const text = /\.(js|mjs|css|html|svg|json|txt|map)$/;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

let raw = 0,
  br = 0;
for (const path of walk(root).filter((p) => text.test(p))) {
  const data = readFileSync(path);
  const b = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  const g = gzipSync(data, { level: 9 });
  if (b.length < data.length) writeFileSync(`${path}.br`, b);
  if (g.length < data.length) writeFileSync(`${path}.gz`, g);
  raw += data.length;
  br += Math.min(b.length, data.length);
}
console.log(`compressed: ${(raw / 1024).toFixed(0)} KiB -> ${(br / 1024).toFixed(0)} KiB brotli`);
