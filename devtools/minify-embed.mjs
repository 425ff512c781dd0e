// Builds what /embed.js serves: static/embed/embed.js minified (embed.min.js) and that file
// brotli-compressed (embed.min.js.br; gzip is made by the server, whose stdlib has it).
// Both are committed, so a deployment needs no Node; tests/test_embed_script.py checks they
// match the source. `make embed` runs it; `--out DIR` writes elsewhere (tests).
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants } from "node:zlib";
import { minify } from "terser";

const embedDir = join(dirname(fileURLToPath(import.meta.url)), "..", "static", "embed");
const at = process.argv.indexOf("--out");
const out = at > 0 ? process.argv[at + 1] : embedDir;

const source = await readFile(join(embedDir, "embed.js"), "utf8");
const result = await minify(source, {
  ecma: 5, // what the source is written in: the oldest browsers it supports keep working
  compress: { passes: 2 },
  mangle: true,
  format: { comments: false },
});
const code = Buffer.from(result.code + "\n");
const brotli = brotliCompressSync(code, {
  params: {
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
    [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
    [constants.BROTLI_PARAM_SIZE_HINT]: code.length,
  },
});
await mkdir(out, { recursive: true });
await writeFile(join(out, "embed.min.js"), code);
await writeFile(join(out, "embed.min.js.br"), brotli);
console.log(`embed.min.js ${code.length} bytes, .br ${brotli.length} bytes`);
