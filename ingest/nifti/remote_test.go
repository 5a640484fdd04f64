package nifti

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/ingest/storage/azuretest"
	"github.com/medmd/medmd/ingest/storage/gcstest"
	"github.com/medmd/medmd/ingest/storage/s3test"
)

// TestSourceS3 reads testdata/ from a loopback S3 server (real S3 HTTP
// through gocloud's s3blob) and from disk: the same units, and the same
// samples but for the names of their files.
func TestSourceS3(t *testing.T) {
	srv := s3test.Start(t, "nifti")
	srv.PutDir(t, "nifti", "mirror/testdata/", "testdata")
	checkSameAsDisk(t, srv.URL("nifti", "mirror"), "s3://nifti/mirror/")
}

// TestSourceGCS and TestSourceAzure: the same from gs:// and azblob://
// roots, on a GCS server and on Azurite.
func TestSourceGCS(t *testing.T) {
	srv := gcstest.Start(t, "medmd-nifti")
	srv.PutDir(t, "medmd-nifti", "mirror/testdata/", "testdata")
	checkSameAsDisk(t, srv.URL("medmd-nifti", "mirror"), "gs://medmd-nifti/mirror/")
}

func TestSourceAzure(t *testing.T) {
	srv := azuretest.Start(t, "medmd-nifti")
	srv.PutDir(t, "medmd-nifti", "mirror/testdata/", "testdata")
	checkSameAsDisk(t, srv.URL("medmd-nifti", "mirror"), "azblob://medmd-nifti/mirror/")
}

// checkSameAsDisk plans and reads testdata/ from disk and from root,
// which holds it under testdata/, its objects named prefix + key.
func checkSameAsDisk(t *testing.T, root, prefix string) {
	t.Helper()
	ctx := context.Background()
	remote := newTestSource(t, ingest.Params{"paths": []string{root}, "volumes_4d": "all"})
	local := newTestSource(t, ingest.Params{"paths": []string{"testdata"}, "volumes_4d": "all"})
	ru, err := remote.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lu, err := local.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rIDs, lIDs []string
	for _, u := range ru {
		rIDs = append(rIDs, strings.TrimPrefix(u.ID, prefix))
	}
	for _, u := range lu {
		lIDs = append(lIDs, u.ID)
	}
	if len(lIDs) < 10 {
		t.Fatalf("only %d local units", len(lIDs))
	}
	if !reflect.DeepEqual(rIDs, lIDs) {
		t.Fatalf("bucket units %q\nlocal units %q", rIDs, lIDs)
	}
	for i := range ru {
		if ru[i].Bytes != lu[i].Bytes || len(ru[i].Paths) != len(lu[i].Paths) {
			t.Errorf("%s: %d bytes in %d files, local %d in %d", ru[i].ID, ru[i].Bytes, len(ru[i].Paths), lu[i].Bytes, len(lu[i].Paths))
		}
		rs, rerr := remote.Read(ctx, ru[i])
		ls, lerr := local.Read(ctx, lu[i])
		if (rerr == nil) != (lerr == nil) {
			t.Errorf("%s: bucket error %v, local error %v", lu[i].ID, rerr, lerr)
			continue
		}
		if rerr != nil {
			if !strings.Contains(rerr.Error(), ru[i].ID) && !strings.Contains(rerr.Error(), rIDs[i]) {
				t.Errorf("%s: error %q does not name the object", ru[i].ID, rerr)
			}
			continue
		}
		if len(rs) != len(ls) || len(rs) == 0 {
			t.Errorf("%s: %d samples from the bucket, %d from disk", lu[i].ID, len(rs), len(ls))
			continue
		}
		for k := range rs {
			// Only the names differ: the object's URL in place of the
			// relative path.
			if rs[k].Images[0].SourcePath != ru[i].ID {
				t.Errorf("%s: source path %q", ru[i].ID, rs[k].Images[0].SourcePath)
			}
			rs[k].Images[0].SourcePath = ls[k].Images[0].SourcePath
			rs[k].Group = strings.Replace(rs[k].Group, prefix, "", 1)
			if !reflect.DeepEqual(rs[k], ls[k]) {
				t.Errorf("%s sample %d differs between bucket and disk", lu[i].ID, k)
			}
		}
	}
}

// TestSourceS3Bad: an object deleted or truncated between listing and
// reading is that unit's error, naming its URL; other units still read.
func TestSourceS3Bad(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		change  func(srv *s3test.Server)
		wantErr error
	}{
		{"deleted", func(srv *s3test.Server) { srv.Delete(t, "nifti", "d/anatomical.nii") }, storage.ErrNotExist},
		{"truncated", func(srv *s3test.Server) {
			data, err := os.ReadFile("testdata/anatomical.nii")
			if err != nil {
				t.Fatal(err)
			}
			srv.Put(t, "nifti", "d/anatomical.nii", data[:len(data)/2])
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := s3test.Start(t, "nifti")
			for _, f := range []string{"anatomical.nii", "standard.nii.gz"} {
				data, err := os.ReadFile("testdata/" + f)
				if err != nil {
					t.Fatal(err)
				}
				srv.Put(t, "nifti", "d/"+f, data)
			}
			src := newTestSource(t, ingest.Params{"paths": []string{srv.URL("nifti", "d")}})
			units, err := src.Plan(ctx)
			if err != nil || len(units) != 2 {
				t.Fatalf("plan: %d units, %v", len(units), err)
			}
			tc.change(srv)
			_, err = src.Read(ctx, units[0])
			if err == nil || !strings.Contains(err.Error(), "s3://nifti/d/anatomical.nii") {
				t.Errorf("err = %v, want one naming s3://nifti/d/anatomical.nii", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if _, err := src.Read(ctx, units[1]); err != nil {
				t.Errorf("the other unit: %v", err)
			}
		})
	}
}
