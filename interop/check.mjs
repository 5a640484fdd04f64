// check.mjs DIR — opens a medmd corpus with tools other than medmd and
// prints what they see, as one JSON object on stdout:
//
//   {"parquet": {"files": F, "count": N, "ids": [...], "first_image_sha256": [...]},
//    "arrow":   {"files": F, "count": N, "ids": [...], "first_image_sha256": [...]},
//    "polars":  {"files": F, "count": N, "ids": [...], "first_image_shape": [[c,d,h,w]...]}}
//
// Parquet parts are read with DuckDB (@duckdb/node-api) and with Polars
// (nodejs-polars, which cannot hand binary values to JavaScript, so it
// reports image shapes instead of voxel hashes), Arrow IPC parts with
// apache-arrow; first_image_sha256[i] is the SHA-256 (hex) of sample
// i's first image's voxel bytes, or "" when it has no image. Files come
// from DIR/manifest.json in corpus order. shards/interop_test.go compares
// the output with what medmd wrote.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import pl from 'nodejs-polars';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node check.mjs CORPUS_DIR');
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
const parts = manifest.shards.flatMap((s) => s.parts);
const sha = (bytes) => (bytes ? createHash('sha256').update(bytes).digest('hex') : '');

async function viaDuckDB() {
  const out = { files: 0, count: 0, ids: [], first_image_sha256: [] };
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  for (const p of parts) {
    const path = join(dir, p.parquet.file).replaceAll("'", "''");
    const reader = await conn.runAndReadAll(
      `SELECT id, CASE WHEN len(images) > 0 THEN images[1].voxels END AS v FROM read_parquet('${path}')`,
    );
    for (const row of reader.getRowObjects()) {
      out.ids.push(String(row.id));
      out.first_image_sha256.push(row.v ? sha(row.v.bytes) : '');
    }
    out.files++;
  }
  out.count = out.ids.length;
  conn.closeSync?.();
  return out;
}

function viaArrow() {
  const out = { files: 0, count: 0, ids: [], first_image_sha256: [] };
  for (const p of parts) {
    const table = tableFromIPC(readFileSync(join(dir, p.arrow.file)));
    const ids = table.getChild('id');
    const images = table.getChild('images');
    for (let i = 0; i < table.numRows; i++) {
      out.ids.push(ids.get(i));
      const list = images.get(i);
      out.first_image_sha256.push(list && list.length > 0 ? sha(list.get(0).voxels) : '');
    }
    out.files++;
  }
  out.count = out.ids.length;
  return out;
}

function viaPolars() {
  const out = { files: 0, count: 0, ids: [], first_image_shape: [] };
  for (const p of parts) {
    const df = pl.readParquet(join(dir, p.parquet.file));
    const first = pl.col('images').lst.first().struct;
    const shapes = df.select(
      first.field('channels').alias('c'), first.field('depth').alias('d'),
      first.field('height').alias('h'), first.field('width').alias('w'),
    );
    const ids = df.getColumn('id').toArray();
    const cols = ['c', 'd', 'h', 'w'].map((c) => shapes.getColumn(c).toArray());
    ids.forEach((id, i) => {
      out.ids.push(id);
      out.first_image_shape.push(cols[0][i] == null ? [] : cols.map((c) => c[i]));
    });
    out.files++;
  }
  out.count = out.ids.length;
  return out;
}

const result = { parquet: await viaDuckDB(), arrow: viaArrow(), polars: viaPolars() };
process.stdout.write(JSON.stringify(result) + '\n');
