// check.mjs DIR — opens a medmd corpus with tools other than medmd and
// prints what they see, as one JSON object on stdout:
//
//   {"layout":  "metadata" | "full" | "none",
//    "parquet": {"files": F, "count": N, "ids": [...], "first_image_sha256": [...]},
//    "arrow":   {"files": F, "count": N, "ids": [...], "first_image_sha256": [...]},
//    "polars":  {"files": F, "count": N, "ids": [...], "first_image_shape": [[c,d,h,w]...]},
//    "join":    {"images": I, "matched": I, "offset_matched": I}}   (metadata only)
//
// Parquet parts are read with DuckDB (@duckdb/node-api) and with Polars
// (nodejs-polars, which cannot hand binary values to JavaScript, so it
// reports image shapes instead of voxel hashes), Arrow IPC parts with
// apache-arrow; first_image_sha256[i] is the SHA-256 (hex) of sample
// i's first image's voxel bytes, or "" when it has no image. Files come
// from DIR/manifest.json in corpus order. shards/interop_test.go compares
// the output with what medmd wrote.
//
// The layout comes from the manifest ("parquet"; absent in schema
// version 1 manifests, which are "full"). In "full" DuckDB reads the
// voxels from Parquet. In "metadata" Parquet holds where each image's
// bytes live instead; the script then does what a SQL user would: DuckDB
// unnests every image's location (voxel_file, voxel_row, voxel_image,
// voxel_offset, voxel_bytes, voxel_sha256), apache-arrow reads the
// voxels of every Arrow part into a DuckDB table, and one SQL JOIN on
// (file, row, image) pairs them. "matched" counts images whose Arrow
// bytes have the recorded length and SHA-256; "offset_matched" those
// whose bytes read straight from the file at voxel_offset do too (no
// Arrow reader needed); parquet.first_image_sha256 comes from the join.
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
const layout = manifest.parquet ?? 'full';
const parts = manifest.shards.flatMap((s) => s.parts);
const pqParts = parts.filter((p) => p.parquet);
const sha = (bytes) => (bytes ? createHash('sha256').update(bytes).digest('hex') : '');
const sqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;

async function viaDuckDB() {
  const out = { files: 0, count: 0, ids: [], first_image_sha256: [] };
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  if (layout === 'metadata') {
    const join = await viaJoin(conn, out);
    conn.closeSync?.();
    return { parquet: out, join };
  }
  for (const p of pqParts) {
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
  return { parquet: out };
}

// viaJoin is the "metadata" layout: ids and image locations from Parquet
// (DuckDB), voxels from the Arrow parts (apache-arrow) loaded into a
// DuckDB table, joined in SQL on (file, row, image).
async function viaJoin(conn, out) {
  const files = pqParts.map((p) => sqlString(join(dir, p.parquet.file)));
  // One row per sample, in corpus order (DuckDB keeps the file list's
  // order and each file's row order).
  const samples = await conn.runAndReadAll(
    `SELECT id, len(images) AS n FROM read_parquet([${files.join(', ')}])`,
  );
  await conn.run(`CREATE TABLE locations AS
    SELECT id, img.voxel_file AS file, img.voxel_row AS "row", img.voxel_image AS image,
           img.voxel_offset AS "offset", img.voxel_bytes AS bytes, img.voxel_sha256 AS sha256
    FROM (SELECT id, unnest(images) AS img FROM read_parquet([${files.join(', ')}]))`);
  await conn.run('CREATE TABLE arrow_voxels (file VARCHAR, "row" BIGINT, image INTEGER, bytes BIGINT, sha256 VARCHAR)');
  const values = [];
  for (const p of parts) {
    const table = tableFromIPC(readFileSync(join(dir, p.arrow.file)));
    const images = table.getChild('images');
    for (let r = 0; r < table.numRows; r++) {
      const list = images.get(r);
      for (let k = 0; list && k < list.length; k++) {
        const v = list.get(k).voxels;
        values.push(`(${sqlString(p.arrow.file)}, ${r}, ${k}, ${v.length}, ${sqlString(sha(v))})`);
      }
    }
  }
  if (values.length > 0) {
    await conn.run(`INSERT INTO arrow_voxels VALUES ${values.join(', ')}`);
  }
  const joined = await conn.runAndReadAll(`
    SELECT l.id, l.file, l.image, l."offset", l.bytes, l.sha256,
           a.bytes = l.bytes AND a.sha256 = l.sha256 AS matched, a.sha256 AS arrow_sha256
    FROM locations l LEFT JOIN arrow_voxels a ON a.file = l.file AND a."row" = l."row" AND a.image = l.image`);
  const result = { images: 0, matched: 0, offset_matched: 0 };
  const firstByID = new Map();
  const fileBytes = new Map();
  for (const row of joined.getRowObjects()) {
    result.images++;
    if (row.matched) result.matched++;
    if (!fileBytes.has(row.file)) fileBytes.set(row.file, readFileSync(join(dir, row.file)));
    const o = Number(row.offset);
    const raw = fileBytes.get(row.file).subarray(o, o + Number(row.bytes));
    if (raw.length === Number(row.bytes) && sha(raw) === row.sha256) result.offset_matched++;
    if (Number(row.image) === 0) firstByID.set(String(row.id), row.arrow_sha256 ?? '');
  }
  for (const row of samples.getRowObjects()) {
    out.ids.push(String(row.id));
    out.first_image_sha256.push(Number(row.n) > 0 ? firstByID.get(String(row.id)) ?? '' : '');
  }
  out.files = pqParts.length;
  out.count = out.ids.length;
  return result;
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
  for (const p of pqParts) {
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

const duck = await viaDuckDB();
const result = { layout, ...duck, arrow: viaArrow(), polars: viaPolars() };
process.stdout.write(JSON.stringify(result) + '\n');
