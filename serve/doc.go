// Package serve is the curators' browser behind `medmd serve`: one
// net/http server over one or more corpora (MedMD, a RadMD output folder,
// RadBench splits) that shows what a corpus holds, lets a curator read
// every sample with its images where the text places them, audits the
// RadMD filter rule by rule, and records the curator's keep / drop /
// unsure labels for `medmd radmd eval` and `medmd radmd --overrides`.
//
// # Pages
//
// The paths are a contract (tests and scripts use them):
//
//	/                                   every corpus: counts by source, task, licence, split;
//	                                    image kinds, shapes, text lengths; quarantine;
//	                                    RadMD exclusions; de-identification status
//	/samples?q=&source=&task=&license=&split=&kind=2d|3d&corpus=&group=&page=N
//	                                    filtered, paginated list
//	/samples/{id}?corpus=NAME           one sample
//	/samples/{id}/images/{k}.png?axis=z|y|x&slice=N&window=auto|lung|…&size=PX
//	                                    one rendered slice (cached, ETag)
//	POST /samples/{id}/label            with --labels: token, label, corpus form fields
//	/radmd?corpus=&show=dropped|kept&rule=&page=N
//	/radbench
//
// # Index
//
// Listing and searching a million samples must not decode a million
// rows per request, so each corpus gets an Index (ids, source, task,
// licence, split, group, lower-cased text, image shapes) built once from
// the memory-mapped Arrow parts and saved beside the manifest as
// IndexFile through shards.Publish, encoded column by column in gob
// messages of a bounded size straight to the temp file (one gob message
// is built whole in memory, so a single one would double the memory of a
// first start). It records the manifest's hash: a
// changed manifest (a rerun, new shards) makes it stale and it is
// rebuilt, at start-up and when the manifest file changes while serving.
// Voxels are never copied into the index; slices are rendered from the
// mapping on request by internal/montage.
//
// # Near-duplicates
//
// The index also keeps each image's 256-bit dHash (radfilter.DHash, the
// hash RadMD's dedup and RadBench's leakage check use; it reads one slice
// of the mapping) and a hash of each sample's folded text. A sample page
// links the samples of every served corpus with an image within RadMD's
// default dedup threshold of one of its images, or with the same text
// (of at least minDupText characters), nearest first: a linear scan of
// the hash words, a few milliseconds per million images. A RadMD output
// folder adds the duplicates its report says were dropped in the
// sample's favour.
//
// # Safety
//
// The server listens where the caller says (the CLI defaults to
// 127.0.0.1). Every corpus string reaches the page through html/template,
// so a caption holding <script> is shown as text. Ids and image numbers
// are looked up in the index, never joined into a file path, so no
// parameter can name a file. Without a labels file the server is
// read-only; with one, a label is a POST carrying the per-process token
// the sample page embeds (a page of another origin cannot read it), and
// each label is one appended, fsynced line (see Labels).
package serve
