package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/ingest/storage/azuretest"
	"github.com/medmd/medmd/ingest/storage/gcstest"
	"github.com/medmd/medmd/ingest/storage/s3test"
	"github.com/medmd/medmd/shards"
)

// bucketObjects returns key → bytes of every object under root.
func bucketObjects(t *testing.T, root string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	b, err := storage.Open(ctx, root, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := map[string][]byte{}
	err = b.List(ctx, "", func(o storage.Object) error {
		data, err := b.ReadAll(ctx, o.Key, 0)
		out[o.Key] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRunToS3 runs the synthetic pipeline into a bucket on a loopback S3
// server, in one task and in three tasks with a merge, and compares every
// object with the files of a local single-task run.
func TestRunToS3(t *testing.T) {
	srv := s3test.Start(t, "corpus")
	ctx := context.Background()

	local := t.TempDir()
	src := &synthSource{units: 18}
	if _, err := Run(ctx, testPlan(t, local, src), src, synthStages, RunOptions{Workers: 3}); !errors.Is(err, ErrTooManyFailures) && err != nil {
		t.Fatal(err)
	}
	want := shardFiles(t, local)
	if len(want) < 5 {
		t.Fatalf("local run wrote only %d files", len(want))
	}

	tests := []struct {
		name  string
		tasks int
	}{{"one-task", 1}, {"three-tasks", 3}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := srv.URL("corpus", tc.name)
			for task := range tc.tasks {
				src := &synthSource{units: 18}
				if _, err := Run(ctx, testPlan(t, root, src), src, synthStages, RunOptions{Workers: 2, Task: task, Tasks: tc.tasks}); err != nil {
					t.Fatalf("task %d: %v", task, err)
				}
			}
			src := &synthSource{units: 18}
			path, _, err := Merge(testPlan(t, root, src))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(path, "s3://corpus/"+tc.name+"/manifest.json") {
				t.Errorf("manifest path %q", path)
			}
			got := bucketObjects(t, root)
			delete(got, "plan.json")
			var keys []string
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if !bytes.Equal(got[k], want[k]) {
					t.Errorf("%s: %d bytes in the bucket, %d on disk, or different", k, len(got[k]), len(want[k]))
				}
				delete(got, k)
			}
			for k := range got {
				t.Errorf("%s: in the bucket only", k)
			}
			// A rerun finds every shard done in the bucket.
			src = &synthSource{units: 18}
			sum, err := Run(ctx, testPlan(t, root, src), src, synthStages, RunOptions{Workers: 2})
			if err != nil || sum.ShardsBuilt != 0 || src.reads.Load() != 0 {
				t.Errorf("rerun: built %d, read %d units, err %v; want nothing rebuilt", sum.ShardsBuilt, src.reads.Load(), err)
			}
			// A stats object that is not a shard's record (here cut short)
			// makes its shard one to rebuild, not an error: the next run
			// rebuilds it and the bucket is as before.
			stats := shards.StatsFile(testPlan(t, root, src).Shards[1].Name)
			srv.Put(t, "corpus", tc.name+"/"+stats, want[stats][:len(want[stats])/2])
			src = &synthSource{units: 18}
			sum, err = Run(ctx, testPlan(t, root, src), src, synthStages, RunOptions{Workers: 2})
			if err != nil || sum.ShardsBuilt != 1 || sum.ShardsRepaired != 1 {
				t.Errorf("rerun over a cut stats object: built %d, repaired %d, err %v; want 1 rebuilt", sum.ShardsBuilt, sum.ShardsRepaired, err)
			}
			if got := bucketObjects(t, root)[stats]; !bytes.Equal(got, want[stats]) {
				t.Errorf("%s after the rebuild: %q", stats, got)
			}
		})
	}
}

// TestAbortLeftUploads: a multipart upload left in the bucket by a killed
// run is aborted when the task owning its shard starts again; one of
// another task's shard is left alone, since that task may be uploading
// it, and so is one of another output whose folder is below this one.
func TestAbortLeftUploads(t *testing.T) {
	srv := s3test.Start(t, "corpus")
	ctx := context.Background()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true,
		Credentials: aws.AnonymousCredentials{}})
	root := srv.URL("corpus", "left")
	plan := testPlan(t, root, &synthSource{units: 18})
	mine, other := plan.TaskShards(0, 2)[0].Name, plan.TaskShards(1, 2)[0].Name
	// The third is another task's; the fourth another output's, in a
	// folder below this one.
	for _, key := range []string{"left/" + mine + ".arrow", "left/quarantine/" + mine + ".jsonl", "left/" + other + ".arrow", "left/nested/" + mine + ".arrow"} {
		up, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("corpus"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("corpus"), Key: aws.String(key), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("half a shard"))}); err != nil {
			t.Fatal(err)
		}
	}
	src := &synthSource{units: 18}
	sum, err := Run(ctx, testPlan(t, root, src), src, synthStages, RunOptions{Workers: 2, Task: 0, Tasks: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.UploadsAborted != 2 || !strings.Contains(sum.String(), "2 uploads left by a killed run aborted") {
		t.Errorf("aborted %d uploads, want 2: %s", sum.UploadsAborted, sum)
	}
	left, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("corpus"), Prefix: aws.String("left/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Uploads) != 2 || aws.ToString(left.Uploads[0].Key) != "left/nested/"+mine+".arrow" || aws.ToString(left.Uploads[1].Key) != "left/"+other+".arrow" {
		var keys []string
		for _, u := range left.Uploads {
			keys = append(keys, aws.ToString(u.Key))
		}
		t.Errorf("uploads left: %v, want the other task's and the other output's", keys)
	}
}

// TestRunPublishFailure: the bucket refuses the stats file of the second
// shard, whose publish runs while the third shard is read. The run fails
// naming that file, the shard is not left done, the shards around it
// are; a rerun builds only what is missing and the bucket then equals a
// local run's files.
func TestRunPublishFailure(t *testing.T) {
	ctx := context.Background()
	local := t.TempDir()
	src := &synthSource{units: 18}
	if _, err := Run(ctx, testPlan(t, local, src), src, synthStages, RunOptions{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	want := shardFiles(t, local)

	var refuse atomic.Bool
	refuse.Store(true)
	srv := s3test.StartWrapped(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() && r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/shard-00001.stats.json") {
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
				return
			}
			h.ServeHTTP(w, r)
		})
	}, "corpus")
	root := srv.URL("corpus", "refused")
	src = &synthSource{units: 18}
	_, err := Run(ctx, testPlan(t, root, src), src, synthStages, RunOptions{Workers: 2})
	if err == nil || !strings.Contains(err.Error(), "shard-00001") {
		t.Fatalf("run with a refused stats file: err = %v, want one naming shard-00001", err)
	}
	got := bucketObjects(t, root)
	if _, ok := got["shard-00001.stats.json"]; ok {
		t.Error("the refused shard is marked done")
	}
	for _, k := range []string{"shard-00000.stats.json", "shard-00002.stats.json"} {
		if _, ok := got[k]; !ok {
			t.Errorf("%s missing: the shards around the refused one should be published", k)
		}
	}

	refuse.Store(false)
	src = &synthSource{units: 18}
	sum, err := Run(ctx, testPlan(t, root, src), src, synthStages, RunOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.ShardsBuilt != 3 {
		t.Errorf("rerun built %d shards, want 3 (shard-00001 and the two after shard-00002)", sum.ShardsBuilt)
	}
	got = bucketObjects(t, root)
	delete(got, "plan.json")
	compareFiles(t, got, want)
}

// TestVerifyCorpusInBucket opens a corpus in a bucket (its stats equal
// those of the same corpus on disk) and verifies it in place, by its
// folder's and its manifest's URL, then with one Arrow part's byte
// flipped, a Parquet part deleted and a stats object deleted: every
// problem is listed, naming the shard and the object's URL, as for the
// same damage on disk.
func TestVerifyCorpusInBucket(t *testing.T) {
	ctx := context.Background()
	srv := s3test.Start(t, "corpus")
	root := srv.URL("corpus", "v")
	local := t.TempDir()
	for _, out := range []string{root, local} {
		src := &synthSource{units: 18}
		if _, err := Run(ctx, testPlan(t, out, src), src, synthStages, RunOptions{Workers: 2}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := OpenCorpus(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	d, err := OpenCorpus(ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	var fromBucket, fromDisk bytes.Buffer
	c.WriteStats(&fromBucket)
	d.WriteStats(&fromDisk)
	c.Close()
	if fromBucket.String() != fromDisk.String() || c.Name != "s3://corpus/v" {
		t.Errorf("stats of %s:\n%s\nof the same corpus on disk:\n%s", c.Name, fromBucket.String(), fromDisk.String())
	}
	base, query, _ := strings.Cut(root, "?")
	for _, corpus := range []string{root, base + "/manifest.json?" + query} {
		var out bytes.Buffer
		if err := VerifyCorpus(ctx, corpus, &out); err != nil || !strings.HasPrefix(out.String(), "ok: 5 shards") {
			t.Fatalf("verify %s: %v\n%s", corpus, err, out.String())
		}
	}

	arrow := bucketObjects(t, root)["shard-00001.arrow"]
	arrow[len(arrow)/2] ^= 0xff
	// Deleted first, so the store keeps no checksum of the old bytes.
	srv.Delete(t, "corpus", "v/shard-00001.arrow")
	srv.Put(t, "corpus", "v/shard-00001.arrow", arrow)
	srv.Delete(t, "corpus", "v/shard-00002.parquet")
	srv.Delete(t, "corpus", "v/shard-00003.stats.json")
	os.WriteFile(filepath.Join(local, "shard-00001.arrow"), arrow, 0o644)
	os.Remove(filepath.Join(local, "shard-00002.parquet"))
	os.Remove(filepath.Join(local, "shard-00003.stats.json"))

	var inBucket, onDisk bytes.Buffer
	err = VerifyCorpus(ctx, root, &inBucket)
	if !errors.Is(err, shards.ErrChecksum) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("verify of a damaged bucket corpus: %v, want a checksum and a missing-file problem", err)
	}
	VerifyCorpus(ctx, local, &onDisk)
	got, want := strings.Split(strings.TrimSpace(inBucket.String()), "\n"), strings.Split(strings.TrimSpace(onDisk.String()), "\n")
	if len(got) != 3 || len(got) != len(want) || !strings.Contains(err.Error(), "verify s3://corpus/v: 3 problem(s)") {
		t.Fatalf("%v\nbucket problems:\n%s\ndisk problems:\n%s", err, inBucket.String(), onDisk.String())
	}
	for i, frag := range []string{"shard shard-00001: checksum mismatch: s3://corpus/v/shard-00001.arrow", "shard shard-00002: s3://corpus/v/shard-00002.parquet", "s3://corpus/v/shard-00003.stats.json is missing"} {
		if !strings.Contains(got[i], frag) {
			t.Errorf("problem %d: %q, want it to name %q", i, got[i], frag)
		}
	}
}

// TestStageCorpus copies a corpus from a bucket to local disk: the copy's
// files (its manifest too) equal a local run's and verify; staging again
// downloads no part; a shard whose stats are gone from the copy and whose
// part is cut short is downloaded again, alone, and so is one of an
// earlier build; a damaged object fails the stage naming its URL, leaving
// that shard without stats and no manifest.
func TestStageCorpus(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	gets := map[string]int{}
	srv := s3test.StartWrapped(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, ".arrow") {
				mu.Lock()
				gets[path.Base(r.URL.Path)]++
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	}, "corpus")
	root := srv.URL("corpus", "st")
	local := t.TempDir()
	for _, out := range []string{root, local} {
		src := &synthSource{units: 18}
		if _, err := Run(ctx, testPlan(t, out, src), src, synthStages, RunOptions{Workers: 2}); err != nil {
			t.Fatal(err)
		}
	}
	arrowGets := func() (n int) {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range gets {
			n += v
		}
		clear(gets)
		return n
	}
	arrowGets()

	dir := t.TempDir()
	st, err := StageCorpus(ctx, root, StageOptions{Dir: dir})
	if err != nil || st.Manifest != filepath.Join(dir, shards.ManifestFile) || st.Copied != 5 || st.Shards != 5 {
		t.Fatalf("stage: %+v, %v", st, err)
	}
	m := st.Manifest
	if err := shards.Verify(m); err != nil {
		t.Fatal(err)
	}
	want := shardFiles(t, local)
	for name, data := range shardFiles(t, dir) {
		if !bytes.Equal(data, want[name]) {
			t.Errorf("staged %s differs from the local run's", name)
		}
	}
	if n := arrowGets(); n != 5 {
		t.Errorf("staging 5 shards fetched Arrow parts %d times", n)
	}
	if st, err := StageCorpus(ctx, root, StageOptions{Dir: dir}); err != nil || st.Copied != 0 || arrowGets() != 0 {
		t.Errorf("staging again: %v, or parts downloaded again (%+v)", err, st)
	}

	os.Remove(filepath.Join(dir, "shard-00002.stats.json"))
	os.Truncate(filepath.Join(dir, "shard-00002.arrow"), 100)
	if st, err := StageCorpus(ctx, root, StageOptions{Dir: dir}); err != nil || st.Copied != 1 {
		t.Fatalf("resuming: %+v, %v", st, err)
	}
	if n := arrowGets(); n != 1 {
		t.Errorf("resuming fetched Arrow parts %d times, want 1", n)
	}
	if err := shards.Verify(m); err != nil {
		t.Fatal(err)
	}

	// A staged shard of an earlier build of the corpus (its stats list
	// other checksums) is replaced.
	statsPath := filepath.Join(dir, "shard-00001.stats.json")
	old, err := os.ReadFile(statsPath)
	if err != nil {
		t.Fatal(err)
	}
	ss, _, _ := shards.ReadShardStats(dir, "shard-00001")
	stale := strings.Replace(string(old), ss.Parts[0].Arrow.SHA256, strings.Repeat("0", 64), 1)
	if err := os.WriteFile(statsPath, []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := StageCorpus(ctx, root, StageOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if n := arrowGets(); n != 1 {
		t.Errorf("restaging over an earlier build's shard fetched Arrow parts %d times, want 1", n)
	}
	if now, _ := os.ReadFile(statsPath); !bytes.Equal(now, old) {
		t.Error("the earlier build's stats file was kept")
	}

	// A partial stage (what head needs) copies the leading shards only
	// and writes no manifest; a full stage then copies the rest, and a
	// partial one after it leaves the whole corpus and its manifest.
	part := t.TempDir()
	first := shardStats(t, st.Manifest)[0]
	st, err = StageCorpus(ctx, root, StageOptions{Dir: part, Pick: FirstSamples(first.Samples)})
	if err != nil || st.Copied != 1 || st.Shards != 1 || st.Manifest != "" || len(st.Corpus.Shards) != 1 {
		t.Fatalf("partial stage: %+v, %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(part, shards.ManifestFile)); !os.IsNotExist(err) {
		t.Errorf("a partial stage wrote a manifest (%v)", err)
	}
	if probs := st.Corpus.Problems(); len(probs) > 0 || arrowGets() != 1 {
		t.Fatalf("partial stage: %v", probs)
	}
	if st, err = StageCorpus(ctx, root, StageOptions{Dir: part}); err != nil || st.Copied != 4 || arrowGets() != 4 {
		t.Fatalf("full stage after a partial one: %+v, %v", st, err)
	}
	if st, err = StageCorpus(ctx, root, StageOptions{Dir: part, Pick: FirstSamples(first.Samples + 1)}); err != nil || st.Copied != 0 || st.Shards != 2 {
		t.Fatalf("partial stage of a staged corpus: %+v, %v", st, err)
	}
	if err := shards.Verify(filepath.Join(part, shards.ManifestFile)); err != nil {
		t.Errorf("a partial stage broke the staged corpus: %v", err)
	}

	arrow := bucketObjects(t, root)["shard-00003.arrow"]
	arrow[len(arrow)-100] ^= 0xff
	srv.Delete(t, "corpus", "st/shard-00003.arrow")
	srv.Put(t, "corpus", "st/shard-00003.arrow", arrow)
	bad := t.TempDir()
	_, err = StageCorpus(ctx, root, StageOptions{Dir: bad})
	if err == nil || !strings.Contains(err.Error(), "s3://corpus/st/shard-00003.arrow") || strings.Contains(err.Error(), bad) || !errors.Is(err, shards.ErrChecksum) {
		t.Fatalf("staging a damaged corpus: %v, want a checksum error naming the object, not its copy", err)
	}
	if left, _ := filepath.Glob(filepath.Join(bad, "*.tmp")); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
	for _, f := range []string{"shard-00003.stats.json", shards.ManifestFile} {
		if _, err := os.Stat(filepath.Join(bad, f)); err == nil {
			t.Errorf("%s written for a damaged corpus", f)
		}
	}
}

// TestStageDir: corpora under different prefixes or on different servers
// are staged into different folders; the other connection parameters,
// and how the prefix is written, do not change the folder.
func TestStageDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := func(u string) string {
		d, err := StageDir(u)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := dir("s3://b/ct?region=eu-west-1")
	for _, same := range []string{"s3://b/ct/?region=us-east-1", "s3://b?prefix=ct/&region=eu-west-1", "s3://b/ct"} {
		if dir(same) != a {
			t.Errorf("%s is staged apart from s3://b/ct", same)
		}
	}
	if base := filepath.Base(a); !strings.HasPrefix(base, "ct-") || len(base) != len("ct-")+16 {
		t.Errorf("stage folder %s: want ct- and 16 hex digits", base)
	}
	if base := filepath.Base(dir("s3://b/../..?region=x")); strings.Contains(base, "..") || filepath.Dir(dir("s3://b/../..")) != filepath.Dir(a) {
		t.Errorf("stage folder %s of a hostile URL", base)
	}
	for _, other := range []string{"s3://b/mr", "s3://b?prefix=mr/", "s3://b/ct?endpoint=http://127.0.0.1:9000", "gs://b/ct"} {
		if dir(other) == a {
			t.Errorf("%s shares s3://b/ct's stage folder", other)
		}
	}
}

// shardStats returns the shards a manifest lists.
func shardStats(t *testing.T, manifest string) []shards.ShardStats {
	t.Helper()
	m, err := shards.OpenCorpus(manifest)
	if err != nil {
		t.Fatal(err)
	}
	return m.Shards
}

// TestShardOf: the shard that holds a sample is found from the Parquet
// parts' id columns in the bucket, or for layout "none" from the Arrow
// parts' id buffers; a damaged part is an error naming its URL.
func TestShardOf(t *testing.T) {
	ctx := context.Background()
	srv := s3test.Start(t, "corpus")
	var ss []shards.Sample
	for i := range 7 {
		im := shards.Image{Modality: "CT", DType: shards.Uint8, Channels: 1, Depth: 2, Height: 4, Width: 4, Affine: shards.IdentityAffine()}
		im.Voxels = bytes.Repeat([]byte{byte(i)}, 32)
		ss = append(ss, shards.Sample{ID: fmt.Sprintf("s%d", i), Source: "t", Task: shards.TaskReport, Images: []shards.Image{im}})
	}
	for _, layout := range []shards.ParquetLayout{shards.ParquetMetadata, shards.ParquetFull, shards.ParquetNone} {
		dir := t.TempDir()
		if _, err := shards.WriteCorpus(dir, "p", "h", shards.SamplesOf(ss), shards.WriteOptions{MaxSamples: 3, Parquet: layout}); err != nil {
			t.Fatal(err)
		}
		srv.PutDir(t, "corpus", string(layout)+"/", dir)
		c, err := OpenCorpus(ctx, srv.URL("corpus", string(layout)))
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range ss {
			st, known, err := c.ShardOf(ctx, s.ID)
			if err != nil || !known || st == nil || st.Name != shards.ShardName(i/3) {
				t.Errorf("%s: sample %s in %+v (known %v, %v), want %s", layout, s.ID, st, known, err, shards.ShardName(i/3))
			}
		}
		if st, known, err := c.ShardOf(ctx, "nope"); st != nil || err != nil || !known {
			t.Errorf("%s: a missing id: %+v, known %v, %v", layout, st, known, err)
		}
		c.Close()
	}

	// A damaged part is an error naming it, not a panic: a Parquet footer
	// length past the file's start, an Arrow one past its end.
	for _, d := range []struct{ layout, file, tail string }{
		{"metadata", "shard-00001.parquet", "\xff\xff\xff\x7fPAR1"},
		{"none", "shard-00001.arrow", "\xff\xff\xff\x00ARROW1"},
	} {
		data := bucketObjects(t, srv.URL("corpus", d.layout))[d.file]
		copy(data[len(data)-len(d.tail):], d.tail)
		srv.Delete(t, "corpus", d.layout+"/"+d.file)
		srv.Put(t, "corpus", d.layout+"/"+d.file, data)
		c, err := OpenCorpus(ctx, srv.URL("corpus", d.layout))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ShardOf(ctx, "s6"); err == nil || !strings.Contains(err.Error(), "s3://corpus/"+d.layout+"/"+d.file) {
			t.Errorf("damaged %s: %v", d.file, err)
		}
		c.Close()
	}
}

// TestCorpusInGCS and TestCorpusInAzure: a run whose output is a gs://
// or azblob:// root (a GCS or Azure Blob server on the loopback interface)
// writes the bytes a local run writes; the corpus verifies and stages
// from the bucket, and a damaged object is found.
func TestCorpusInGCS(t *testing.T) {
	srv := gcstest.Start(t, "medmd-corpus")
	checkCorpusInBucket(t, srv.URL("medmd-corpus", "ct/v1"), func(name string, data []byte) { srv.Put(t, "medmd-corpus", "ct/v1/"+name, data) })
}

func TestCorpusInAzure(t *testing.T) {
	srv := azuretest.Start(t, "medmd-corpus")
	checkCorpusInBucket(t, srv.URL("medmd-corpus", "ct/v1"), func(name string, data []byte) { srv.Put(t, "medmd-corpus", "ct/v1/"+name, data) })
}

// checkCorpusInBucket runs a pipeline into root and into a folder and
// compares; replace overwrites one of root's objects behind its back.
func checkCorpusInBucket(t *testing.T, root string, replace func(name string, data []byte)) {
	t.Helper()
	ctx := context.Background()
	local := t.TempDir()
	for _, out := range []string{root, local} {
		src := &synthSource{units: 18}
		if _, err := Run(ctx, testPlan(t, out, src), src, synthStages, RunOptions{Workers: 2}); err != nil {
			t.Fatal(err)
		}
	}
	inBucket := bucketObjects(t, root)
	want := shardFiles(t, local)
	if _, ok := inBucket["plan.json"]; !ok {
		t.Error("no plan.json in the bucket")
	}
	delete(inBucket, "plan.json") // names the output: compared apart
	if len(inBucket) != len(want) {
		t.Errorf("%d objects in the bucket, %d files in the folder", len(inBucket), len(want))
	}
	for name, data := range want {
		if !bytes.Equal(inBucket[name], data) {
			t.Errorf("%s in the bucket differs from the local run's", name)
		}
	}
	var out bytes.Buffer
	if err := VerifyCorpus(ctx, root, &out); err != nil || !strings.HasPrefix(out.String(), "ok: 5 shards") {
		t.Fatalf("verify %s: %v\n%s", root, err, out.String())
	}
	dir := t.TempDir()
	st, err := StageCorpus(ctx, root, StageOptions{Dir: dir})
	if err != nil || st.Copied != 5 {
		t.Fatalf("stage: %+v, %v", st, err)
	}
	for name, data := range shardFiles(t, dir) {
		if !bytes.Equal(data, want[name]) {
			t.Errorf("staged %s differs from the local run's", name)
		}
	}

	arrow := inBucket["shard-00001.arrow"]
	arrow[len(arrow)/2] ^= 0xff
	replace("shard-00001.arrow", arrow)
	out.Reset()
	if err := VerifyCorpus(ctx, root, &out); !errors.Is(err, shards.ErrChecksum) || !strings.Contains(out.String(), "shard-00001.arrow") {
		t.Fatalf("verify after a flipped byte: %v\n%s", err, out.String())
	}
}

// countingResponse counts the body bytes a handler writes.
type countingResponse struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingResponse) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.ResponseWriter.Write(p)
}

// TestShardOfReadsIDs: finding the shard of the last sample of a
// parquet:none corpus of volumes in a bucket downloads a few kilobytes a
// volume, not the volumes.
func TestShardOfReadsIDs(t *testing.T) {
	ctx := context.Background()
	var served atomic.Int64
	srv := s3test.StartWrapped(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(countingResponse{w, &served}, r)
		})
	}, "corpus")
	var ss []shards.Sample
	for i := range 12 {
		im := shards.Image{Modality: "CT", DType: shards.Uint8, Channels: 1, Depth: 16, Height: 256, Width: 256, Affine: shards.IdentityAffine()}
		im.Voxels = bytes.Repeat([]byte{byte(i)}, im.NumVoxels()) // 1 MiB
		ss = append(ss, shards.Sample{ID: fmt.Sprintf("s%d", i), Source: "t", Task: shards.TaskReport, Images: []shards.Image{im}})
	}
	dir := t.TempDir()
	m, err := shards.WriteCorpus(dir, "p", "h", shards.SamplesOf(ss), shards.WriteOptions{MaxSamples: 4, Parquet: shards.ParquetNone})
	if err != nil {
		t.Fatal(err)
	}
	srv.PutDir(t, "corpus", "none/", dir)
	c, err := OpenCorpus(ctx, srv.URL("corpus", "none"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	served.Store(0)
	st, known, err := c.ShardOf(ctx, "s11")
	if err != nil || !known || st == nil || st.Name != shards.ShardName(2) {
		t.Fatalf("s11 in %+v (known %v, %v), want %s", st, known, err, shards.ShardName(2))
	}
	var corpus int64
	for _, s := range m.Shards {
		corpus += s.Bytes
	}
	if n := served.Load(); n > int64(len(ss))*64<<10 {
		t.Errorf("finding one sample downloaded %d bytes of a %d-byte corpus", n, corpus)
	}
}
