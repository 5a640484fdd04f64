package dicom

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/medmd/medmd/shards"
)

// allocated returns the bytes fn allocated on the heap.
func allocated(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestHostileFiles reads each file of testdata/hostile (made by
// make_hostile.py from real test files) through the scan, the header-only
// reader and the whole-file parser: each must be reported with its reason
// (or read), and none may allocate more than the file can justify.
func TestHostileFiles(t *testing.T) {
	const budget = 32 << 20
	cases := []struct {
		file string
		// scanKind and scanWhy: the scan's verdict (kind "" = a series).
		scanKind, scanWhy string
		parseWhy          string // Parse's error, "" = parses
	}{
		{"frames_bomb.dcm", "error", "NumberOfFrames 2147483647 exceeds the limit", "NumberOfFrames 2147483647 exceeds the limit"},
		{"sv_length_desync.dcm", "", "", ""},
		{"vr16_ffff.dcm", "", "", ""},
		{"deflate_bomb_sc.dcm", "excluded", "secondary capture", ""},
		{"empty.dcm", "error", "empty file", ""},
		{"cut_before_magic.dcm", "error", "truncated: 100 bytes", "walking dataset"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "hostile", c.file)
			var res *ScanResult
			var err error
			n := allocated(func() { res, err = Scan(context.Background(), []string{path}, ScanOptions{}) })
			if err != nil {
				t.Fatal(err)
			}
			if n > budget {
				t.Errorf("scan allocated %d MiB", n>>20)
			}
			switch {
			case c.scanKind == "" && len(res.Series) != 1:
				t.Errorf("want one series, got %d (skipped %+v)", len(res.Series), res.Skipped)
			case c.scanKind != "" && (len(res.Skipped) != 1 || res.Skipped[0].Kind != c.scanKind || !strings.Contains(res.Skipped[0].Reason, c.scanWhy)):
				t.Errorf("want skipped %s %q, got %+v", c.scanKind, c.scanWhy, res.Skipped)
			}
			if c.file == "deflate_bomb_sc.dcm" {
				return // parsed whole below, under a limit
			}
			data, _ := os.ReadFile(path)
			n = allocated(func() { _, err = Parse(path, data) })
			if n > budget {
				t.Errorf("parse allocated %d MiB", n>>20)
			}
			if (c.parseWhy == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.parseWhy) {
				t.Errorf("parse: want %q, got %v", c.parseWhy, err)
			}
		})
	}
}

// TestDeflateBomb reads a deflated secondary capture whose pixels inflate
// to 256 MiB: kept (include_derived) it is read only up to the inflation
// limit, and the error names it.
func TestDeflateBomb(t *testing.T) {
	path := filepath.Join("testdata", "hostile", "deflate_bomb_sc.dcm")
	res, err := Scan(context.Background(), []string{path}, ScanOptions{IncludeDerived: true})
	if err != nil || len(res.Series) != 1 {
		t.Fatalf("scan: %v, %+v", err, res)
	}
	var imgsErr error
	n := allocated(func() {
		_, imgsErr = ReadSeries(context.Background(), res.Series[0], ReadOptions{MaxInflatedBytes: 16 << 20})
	})
	if imgsErr == nil || !strings.Contains(imgsErr.Error(), "inflated dataset exceeds 16777216 bytes") {
		t.Errorf("want the inflation limit, got %v", imgsErr)
	}
	// The volume buffer (256 MiB) is allocated before the file is read;
	// the limit is checked before the pixels are inflated.
	if n > 256<<20+16<<20 {
		t.Errorf("read allocated %d MiB", n>>20)
	}

	// Under the default limit it is read: inflated straight into the
	// volume and flipped to RAS in place, so the read costs the volume
	// (256 MiB) and not the inflated dataset, a pixel copy and a
	// reoriented copy besides.
	var imgs []*shards.Image
	n = allocated(func() {
		imgs, imgsErr = ReadSeries(context.Background(), res.Series[0], ReadOptions{Canonical: true})
	})
	if imgsErr != nil || len(imgs) != 1 || imgs[0].Depth*imgs[0].Height*imgs[0].Width != 256<<20 {
		t.Fatalf("read: %v", imgsErr)
	}
	if n > 256<<20+16<<20 {
		t.Errorf("read allocated %d MiB, want the 256 MiB volume and little more", n>>20)
	}
}

// TestScanCancel checks a cancelled context stops the scan at once, with
// ctx's error, however many files remain.
func TestScanCancel(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/pydicom_CT_small.dcm")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		sub := filepath.Join(dir, "d"+string(rune('a'+i%20)))
		os.MkdirAll(sub, 0o755)
		if err := os.WriteFile(filepath.Join(sub, "f"+time.Now().Format("150405.000000000")+".dcm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	_, err = Scan(ctx, []string{dir}, ScanOptions{})
	if err != context.Canceled {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancelled scan took %v", d)
	}
}
