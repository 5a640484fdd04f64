// Writes NAME.ids.jsonl for each tokenizer NAME.json given: one line per
// line of corpus.jsonl, {"ids": [...], "decoded": "..."}, made by Hugging
// Face `tokenizers` (npm package `tokenizers`, the Rust library) with
// encode(text, null, {addSpecialTokens: false}) and decode(ids, true).
// A name NAME+metaspace stands for NAME.json with its normalizer removed
// and a Metaspace pre-tokenizer (prepend_scheme "first", no split) in its
// place: the layout transformers writes for LLaMA-2-style tokenizers
// converted with legacy=False; NAME+metaspace_split has prepend_scheme
// "always", split, and a Metaspace decoder (older conversions). The Go
// test builds the same variants.
//
//   npm install --prefix /tmp/tok tokenizers@0.23.2
//   NODE_PATH=/tmp/tok/node_modules node make_reference.js llama3.json.gz medmd.json mistral.json.gz mistral.json.gz+metaspace mistral.json.gz+metaspace_split
const fs = require("fs");
const { Tokenizer } = require("tokenizers");

async function main() {
  const corpus = fs.readFileSync("corpus.jsonl", "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
  for (const arg of process.argv.slice(2)) {
    const [file, variant] = arg.split("+");
    let json = fs.readFileSync(file);
    if (file.endsWith(".gz")) json = require("zlib").gunzipSync(json);
    json = json.toString("utf8");
    if (variant === "metaspace") {
      const t = JSON.parse(json);
      t.normalizer = null;
      t.pre_tokenizer = { type: "Metaspace", replacement: "\u2581", prepend_scheme: "first", split: false };
      json = JSON.stringify(t);
    } else if (variant === "metaspace_split") {
      const t = JSON.parse(json);
      t.normalizer = null;
      t.pre_tokenizer = { type: "Metaspace", replacement: "\u2581", prepend_scheme: "always", split: true };
      t.decoder = t.pre_tokenizer;
      json = JSON.stringify(t);
    }
    const tok = Tokenizer.fromString(json);
    const out = [];
    for (const text of corpus) {
      const enc = await tok.encode(text, null, { addSpecialTokens: false });
      const ids = enc.getIds();
      const decoded = await tok.decode(ids, true);
      out.push(JSON.stringify({ ids, decoded }));
    }
    const name = file.replace(/\.json(\.gz)?$/, "") + (variant ? "-" + variant : "") + ".ids.jsonl";
    fs.writeFileSync(name, out.join("\n") + "\n");
    console.log(name, out.length);
  }
}
main();
