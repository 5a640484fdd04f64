package shards

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// CheckShard compares the files a done shard's stats list with what is on
// disk in dir and returns every problem found (nil when the shard is
// intact): a missing file (wrapping os.ErrNotExist), a size other than the
// recorded one, or, with hash set, a SHA-256 other than the recorded one
// (wrapping ErrChecksum). Each problem names the shard and the file.
//
// Sizes come from one stat per file, so a check without hash is cheap
// enough for every rerun; hash re-reads every byte.
func CheckShard(dir string, st *ShardStats, hash bool) []error {
	var errs []error
	for _, p := range st.Parts {
		for _, f := range p.Files() {
			path := filepath.Join(dir, f.File)
			fi, err := os.Stat(path)
			switch {
			case errors.Is(err, os.ErrNotExist):
				errs = append(errs, fmt.Errorf("shard %s: %s: %w", st.Name, path, os.ErrNotExist))
				continue
			case err != nil:
				errs = append(errs, fmt.Errorf("shard %s: %w", st.Name, err))
				continue
			case fi.Size() != f.Bytes:
				errs = append(errs, fmt.Errorf("shard %s: %s: %w: %d bytes, stats say %d", st.Name, path, ErrChecksum, fi.Size(), f.Bytes))
				continue
			}
			if hash {
				if err := verifyFile(path, f); err != nil {
					errs = append(errs, fmt.Errorf("shard %s: %w", st.Name, err))
				}
			}
		}
	}
	return errs
}

// Problems re-hashes every file of m and returns every problem found, in
// corpus order (Verify stops at the first): missing files, sizes and
// checksums other than the manifest's, and shards whose stats file is
// gone from the folder.
func (m *Manifest) Problems() []error { return m.ProblemsFS(OSFS) }

// ProblemsFS is Problems with m's files read through fs (a corpus in a
// bucket: see ReadManifestFS).
func (m *Manifest) ProblemsFS(fs FS) []error {
	fs = orOS(fs)
	var errs []error
	for i := range m.Shards {
		s := &m.Shards[i]
		if statsMissing(fs, m.Path(StatsFile(s.Name))) {
			errs = append(errs, fmt.Errorf("shard %s: %s is missing (the shard is no longer marked done)", s.Name, nameIn(fs, m.Path(StatsFile(s.Name)))))
		}
		if fs == OSFS {
			errs = append(errs, CheckShard(m.dir, s, true)...)
		} else {
			errs = append(errs, CheckShardFS(fs, m.dir, s, true)...)
		}
	}
	return errs
}

// statsMissing reports whether the stats file at path is known to be
// gone (an error other than "not found" is left to the checks of the
// shard's files, which meet it too).
func statsMissing(fs FS, path string) bool {
	var err error
	if sz, ok := fs.(Sizer); ok {
		_, err = sz.Size(path)
	} else {
		var f File
		if f, err = fs.Open(path); err == nil {
			f.Close()
		}
	}
	return errors.Is(err, errNotExist) || isNotExist(err)
}
