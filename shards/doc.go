// Package shards owns medmd's on-disk corpus format: the sample type, the
// shard writers (Arrow IPC for training and voxels, Parquet for SQL and
// interchange), the manifest, verification and the zero-copy readers.
//
// It is the foundation of the project and imports nothing else of it.
//
// This comment documents the on-disk format, schema version 3. Version 1
// and 2 corpora still read, verify and load (see "Versions").
//
// # Files
//
// A corpus folder holds shards and one manifest:
//
//	shard-00003.arrow        Arrow IPC file format, uncompressed: every column, voxels
//	                         included; the training format and the one home of the voxels
//	shard-00003.parquet      the same rows as Parquet (zstd by default); what it holds is
//	                         the corpus's Parquet layout, below; absent for "none"
//	shard-00003.1.arrow      continuation part (and .1.parquet) when a cap was hit
//	shard-00003.stats.json   written last: its presence marks the shard done
//	manifest.json            every done shard: parts, samples, bytes, checksum,
//	                         schema version, Parquet layout, pipeline, config hash,
//	                         per-source/task counts
//
// # Parquet layouts
//
// Voxels are most of a corpus's bytes, and only trainers read them, from
// the memory-mapped Arrow parts. SQL users (DuckDB, Polars, pyarrow)
// query ids, text, labels, shapes and provenance. So by default the
// voxels are stored once: WriteOptions.Parquet (output.parquet in
// pipelines.yaml) is
//
//	metadata  (default) every column except the voxel bytes; in their place each
//	          image says where its bytes live in the Arrow part:
//	            voxel_file    utf8   Arrow part file name, relative to manifest.json
//	            voxel_row     int64  the sample's row in that file (0-based)
//	            voxel_image   int32  the image's index in the sample (0-based)
//	            voxel_offset  int64  first byte of the voxels in that file
//	            voxel_bytes   int64  length of the voxels
//	            voxel_sha256  utf8   hex SHA-256 of those bytes
//	full      the same columns as the Arrow part, voxels included: a
//	          self-contained interchange copy (the version 1 layout)
//	none      no Parquet part
//
// A bulk SQL join goes through (voxel_file, voxel_row, voxel_image): read
// the Arrow part with any Arrow reader and take images[voxel_image].voxels
// of row voxel_row. voxel_offset needs no Arrow reader at all: the bytes
// are contiguous in the file (numpy.memmap(file, dtype, offset=voxel_offset,
// shape=(c,d,h,w))). voxel_sha256 checks either. Parquet schema metadata
// "medmd.parquet_layout" names the layout. The writer learns voxel_offset
// by noting where the voxel buffer's one Write lands (hashWriter.watch),
// not by re-reading the file.
//
// Compression of Parquet pages is WriteOptions.ParquetCompression
// (output.parquet_compression): zstd (level 3, default), zstd-fast
// (level 1), lz4 (LZ4_RAW), snappy or none. It matters for "full";
// "metadata" parts are small whatever the codec.
//
// # Writing at disk speed
//
// Each file is hashed while it is written: hashWriter sits between the
// Arrow/Parquet encoder and the file and hashes exactly the bytes it
// forwards, so a checksum costs no second read. Every voxel byte is
// hashed once: each image's SHA-256 (its voxel_sha256) is computed on
// its own goroutine, started before the batch is written so that it
// runs beside the write, and the Arrow part's checksum takes those
// SHA-256s in place of the voxel bytes (the tree digest, below). A part's
// images are hashed on all cores, and a batch of more images than cores
// two at a time per core where the CPU has SHA-NI: internal/sha256x2
// interleaves two messages' rounds, since one message's rounds wait on
// each other's latency (2.5-2.7 GB/s per core against crypto/sha256's
// 1.7 on the development machine). With WriteOptions.Overlap (the runner
// sets it) a large sample's hashes may still run after Add returns,
// beside the next samples' writes, and a sample alone in its batch waits
// for the next one so that the two images are hashed as a pair. Parquet files are hashed inline
// (pqarrow may reuse its buffers). Voxel buffers go from the sample to
// the file without a copy when a sample fills a record batch alone (see
// below). For "metadata" the location rows are encoded into the Parquet
// file beside the next batch. For "full" the whole Parquet encoder runs
// on another core beside the Arrow write (pqarrow compresses a file's
// pages one after another, so one Parquet file gets one extra core).
// Small writes (IPC metadata, padding, the other columns) are buffered;
// voxel buffers of a megabyte or more go to a regular file as raw write
// syscalls of up to 4 MiB (bigWriter), so that the Go scheduler does not take
// the writer's core away mid-write while the images are hashed on the
// others (measured: a third more CPU per byte written otherwise).
//
// # Checksums
//
// stats.json and the manifest give every file's size and hex SHA-256.
// For a Parquet part, and for any file written before version 3, it is
// the SHA-256 of the file's bytes. For an Arrow part written at version
// 3 ("digest": "sha256-voxel-tree", DigestVoxelTree) it is the SHA-256 of
// the file's bytes in order with each image's voxel bytes replaced by
// the 32 raw bytes of their SHA-256: a plain digest of a whole file is
// one sequential stream, slower than writing the file on this format's
// scale, while image digests are independent. Anyone can recompute it:
// take each image's voxel_offset, voxel_bytes and voxel_sha256 from the
// "metadata" Parquet (or the voxels column's offsets from any Arrow
// reader), hash the bytes between images as they are and each image as
// its digest. Verify, CheckShard and the loader do this from the Arrow
// file's own IPC metadata, so a damaged voxel, a damaged offset or a
// damaged footer all fail it.
//
// Files are written as NAME.<random>.tmp (StartPublish), fsynced, renamed,
// and the directory fsynced; the stats file follows the same dance after
// every part is in place. A part
// under its final name is always complete; a shard without a stats file is
// not part of the corpus (BuildManifest ignores it and CreateShard of the
// same name removes it). No timestamps, random ids or map iteration order
// reach the bytes: the same samples give byte-identical files.
//
// Writing and publishing are apart (ShardWriter.Finish, then Publish):
// once Finish returns the samples are free and every file is written
// under its temp name; Publish commits them and writes the stats file.
// WriteCorpus and medmd run publish each shard in the background
// (Publisher) while they write the next, so the writing does not wait on
// fsyncs (or, in a bucket, on completing the multipart uploads). Shards
// are published in order, one at a time, each by the steps above.
//
// # Schema
//
// One row per sample. Schema metadata: "medmd.schema_version" = "3",
// "medmd.voxel_layout". These are the Arrow part's columns; a "full"
// Parquet part has the same, a "metadata" one has the location fields
// above instead of voxels. All fields are non-nullable; absent text is "".
// List children are named "element" (the Parquet LIST convention) so a
// round trip through Parquet restores exactly this schema.
//
//	column        Arrow type                      meaning
//	id            utf8                            stable sample id (MakeID)
//	source        utf8                            nifti, dicom, pmc-oa, vqa-rad…
//	task          utf8                            caption, inline, vqa, report, diagnosis, modality, rationale
//	group         utf8                            patient/case/article key splits never cut (SQL: quote "group")
//	split         utf8                            "", train, val, test
//	license       utf8                            licence of the source
//	instruction   utf8                            text; may be ""
//	response      utf8                            text; may be ""
//	placements    list<struct<image int32,        image index, "instruction"|"response",
//	                field utf8, offset int32>>    offset in Unicode code points
//	images        list<struct<…>>                 one entry per image, fields:
//	  modality      utf8                          DICOM code (CT, MR, CR…) or ""
//	  plane         utf8                          axial, coronal, sagittal or ""
//	  dtype         utf8                          uint8, int16, float32… (little-endian)
//	  channels      int32
//	  depth         int32                         1 for 2D
//	  height        int32
//	  width         int32
//	  voxels        large_binary                  C-contiguous [channels, depth, height, width];
//	                                              one contiguous value per image
//	  spacing       fixed_size_list<float64>[3]   mm along columns, rows, slices
//	  affine        fixed_size_list<float64>[16]  row-major voxel(i,j,k,1) → RAS+ mm
//	  transforms    list<struct<name utf8,        transforms applied, in order,
//	                  params utf8>>               params as canonical JSON
//	  source_path   utf8                          input file
//	  source_sha256 utf8                          SHA-256 of the input file
//	  meta          utf8                          JSON object, sorted keys, or ""
//	meta          utf8                            JSON object, sorted keys, or ""
//
// # Record batches and zero copy
//
// Rows are grouped into record batches of up to DefaultBatchBytes of
// voxels or DefaultBatchSamples rows. Inside a batch the voxels of all
// images are one large_binary data buffer, so images of adjacent samples
// are adjacent bytes in the file: the loader serves a batch of adjacent
// same-shape images as one slice. A sample whose voxels fill a batch alone
// is written from the caller's slice without a copy.
//
// OpenShard maps the file (mmap, PROT_READ) and reads it with
// ipc.NewMappedFileReader: every Image.Voxels it returns is a sub-slice of
// the mapping. Strings are copied (arrow-go's String.Value aliases the
// buffer) so they outlive Close; voxels do not.
//
// # Why pqarrow for Parquet
//
// Measured on the 2-core dev machine (heavily shared, so times are rough),
// two standalone programs that link Arrow IPC and write 16 rows × 4 MiB
// blobs with zstd and statistics off:
//
//	                     binary    clean build   write 64 MiB (2 runs)
//	arrow-go pqarrow     50.7 MB   790 s *       0.89 s, 1.89 s
//	parquet-go v0.32     18.8 MB   130 s **      0.44 s, 1.16 s
//	* includes arrow-go itself; ** with arrow-go already in the build cache
//
// parquet-go wins standalone, but medmd links pqarrow anyway (the RadMD
// exclusion report and the Parquet read-back tests use it), so parquet-go
// would add 10+ MB and a second Parquet implementation rather than save
// anything. pqarrow writes the record batches already built for the IPC
// file (no second row representation, no reflection; a "metadata" batch
// shares every buffer but the location fields), stores the Arrow schema
// so pyarrow and Polars restore large_binary and fixed_size_list
// exactly, and its files pass the DuckDB/apache-arrow interop test as
// written. With the default "metadata" layout Parquet holds no voxels,
// so its write speed limits neither training nor ingest. Statistics are off (see parquetProps): min/max of blob
// columns bloat footers, and parquet-go's blob statistics are a known
// source of files Arrow readers reject.
//
// # Versions
//
// Version 3 (this one) computes the Arrow parts' checksums as the tree
// digest (see "Checksums"); the columns are version 2's, and version 2
// files keep their plain SHA-256 (FileStats.Digest ""). Version 2 added
// the Parquet layouts and made "metadata" the default. Its Arrow parts
// have exactly version 1's columns, so OpenShard, the loader, Iter,
// FindSample and Verify read all three; a version 1 manifest and its
// stats files record no layout and are "full" (Manifest.ParquetLayout).
// testdata/v1corpus and testdata/v2corpus were written by the version 1
// and 2 writers, kept to test exactly that.
package shards
