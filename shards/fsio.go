package shards

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The FS variants below let a runner keep a corpus somewhere other than
// the local disk (an object-storage bucket seen as an FS): the same
// stats, manifest and check logic, read and published through fs.

// ReadShardStatsFS is ReadShardStats through fs.
func ReadShardStatsFS(fs FS, dir, name string) (*ShardStats, bool, error) {
	return readShardStats(orOS(fs), dir, name)
}

// BuildManifestFS is BuildManifest through fs.
func BuildManifestFS(fs FS, dir, pipeline, configHash string) (*Manifest, error) {
	return buildManifest(orOS(fs), dir, pipeline, configHash)
}

// WriteFS is Write through fs.
func (m *Manifest) WriteFS(fs FS, path string) error { return m.write(orOS(fs), path) }

// Sizer is an FS that tells a file's size without reading it (a stat, an
// object's attributes). CheckShardFS uses it when fs has it and reads
// the file through otherwise.
type Sizer interface {
	Size(name string) (int64, error)
}

func (osFS) Size(name string) (int64, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Namer is an FS that names its files for people (an object's URL for a
// bucket): CheckShardFS's problems name files so where fs has it.
type Namer interface {
	Name(path string) string
}

// nameIn returns path as fs names it for people.
func nameIn(fs FS, path string) string {
	if n, ok := fs.(Namer); ok {
		return n.Name(path)
	}
	return path
}

// CheckShardFS is CheckShard through fs.
func CheckShardFS(fs FS, dir string, st *ShardStats, hash bool) []error {
	fs = orOS(fs)
	var errs []error
	for _, p := range st.Parts {
		for _, f := range p.Files() {
			path := filepath.Join(dir, f.File)
			var size int64
			var err error
			if s, ok := fs.(Sizer); ok && !hash {
				size, err = s.Size(path)
			} else {
				size, err = verifyFS(fs, path, f)
			}
			switch {
			case errors.Is(err, errNotExist):
				errs = append(errs, fmt.Errorf("shard %s: %s: %w", st.Name, nameIn(fs, path), errNotExist))
			case err != nil:
				errs = append(errs, fmt.Errorf("shard %s: %w", st.Name, err))
			case size != f.Bytes:
				errs = append(errs, fmt.Errorf("shard %s: %s: %w: %d bytes, stats say %d", st.Name, nameIn(fs, path), ErrChecksum, size, f.Bytes))
			}
		}
	}
	return errs
}

// verifyFS reads path through fs and returns its size; a digest other
// than want's is an ErrChecksum (checked only when the size agrees, so
// the caller reports a size mismatch as such). A tree digest needs the
// whole file mapped, so a file of another FS is copied to a temporary
// file first.
func verifyFS(fs FS, path string, want FileStats) (int64, error) {
	if _, local := fs.(osFS); local || want.Digest == DigestVoxelTree {
		local := path
		if _, ok := fs.(osFS); !ok {
			tmp, err := copyToTemp(fs, path)
			if err != nil {
				return 0, err
			}
			defer os.Remove(tmp)
			local = tmp
		}
		got, n, err := fileDigest(local, want)
		if err != nil {
			if local != path {
				err = Reworded(err, strings.ReplaceAll(err.Error(), local, nameIn(fs, path)))
			}
			return n, err
		}
		if n == want.Bytes && got != want.SHA256 {
			return n, fmt.Errorf("%s: %w: sha256 %s, stats say %s", nameIn(fs, path), ErrChecksum, got, want.SHA256)
		}
		return n, nil
	}
	f, err := fs.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return n, fmt.Errorf("%s: %w", nameIn(fs, path), err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n == want.Bytes && got != want.SHA256 {
		return n, fmt.Errorf("%s: %w: sha256 %s, stats say %s", nameIn(fs, path), ErrChecksum, got, want.SHA256)
	}
	return n, nil
}

// copyToTemp copies path from fs into a new temporary file and returns
// its name; the caller removes it.
func copyToTemp(fs FS, path string) (string, error) {
	f, err := fs.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tmp, err := os.CreateTemp("", "medmd-verify-*.arrow")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(tmp, f); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}
