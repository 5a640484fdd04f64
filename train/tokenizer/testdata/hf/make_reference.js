// Writes NAME.ids.jsonl for each tokenizer NAME.json given: one line per
// line of corpus.jsonl, {"ids": [...], "decoded": "..."}, made by Hugging
// Face `tokenizers` (npm package `tokenizers`, the Rust library) with
// encode(text, null, {addSpecialTokens: false}) and decode(ids, true).
//
//   npm install --prefix /tmp/tok tokenizers
//   NODE_PATH=/tmp/tok/node_modules node make_reference.js llama3.json medmd.json
const fs = require("fs");
const { Tokenizer } = require("tokenizers");

async function main() {
  const corpus = fs.readFileSync("corpus.jsonl", "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
  for (const file of process.argv.slice(2)) {
    let json = fs.readFileSync(file);
    if (file.endsWith(".gz")) json = require("zlib").gunzipSync(json);
    const tok = Tokenizer.fromString(json.toString("utf8"));
    const out = [];
    for (const text of corpus) {
      const enc = await tok.encode(text, null, { addSpecialTokens: false });
      const ids = enc.getIds();
      const decoded = await tok.decode(ids, true);
      out.push(JSON.stringify({ ids, decoded }));
    }
    const name = file.replace(/\.json(\.gz)?$/, "") + ".ids.jsonl";
    fs.writeFileSync(name, out.join("\n") + "\n");
    console.log(name, out.length);
  }
}
main();
