package shards

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ManifestFile is the conventional manifest name inside a corpus folder.
const ManifestFile = "manifest.json"

// ErrChecksum reports a file whose bytes or size do not match the manifest.
// Verify and the loader wrap it with the file name.
var ErrChecksum = errors.New("checksum mismatch")

// Manifest lists the done shards of a corpus folder. File names inside it
// are relative to the folder holding manifest.json (Dir).
type Manifest struct {
	SchemaVersion int    `json:"schema_version"`
	Pipeline      string `json:"pipeline"`
	ConfigHash    string `json:"config_hash"`
	Samples       int    `json:"samples"`
	Images        int    `json:"images"`
	Bytes         int64  `json:"bytes"`
	// Parquet is the layout of every shard's Parquet parts (a corpus has
	// one); version 1 manifests lack it: use ParquetLayout.
	Parquet ParquetLayout `json:"parquet,omitempty"`
	// Sources and Tasks count samples over all shards.
	Sources map[string]int `json:"sources"`
	Tasks   map[string]int `json:"tasks"`
	// Shards are sorted by name.
	Shards []ShardStats `json:"shards"`
	// ModelInput is the image geometry every image of the corpus was made
	// into by the pipeline's model_input stage, so a trainer checks that
	// the corpus fits its model before reading a shard; nil when the
	// pipeline has no such stage (or the manifest predates the field).
	ModelInput *ModelInput `json:"model_input,omitempty"`

	dir string
}

// ModelInput is an image geometry a model takes (normalize.ModelInput has
// its rules): 2D images Channels×1×ImageHeight×ImageWidth, 3D volumes
// Channels×D×VolumeHeight×VolumeWidth with D a multiple of Patch[0] up to
// ImageDepth, stored as DType; images have 1 or Channels channels. The
// keys are a training preset's.
type ModelInput struct {
	Channels     int    `yaml:"image_channels" json:"image_channels"`
	ImageHeight  int    `yaml:"image_height" json:"image_height"` // 2D rows
	ImageWidth   int    `yaml:"image_width" json:"image_width"`   // 2D columns
	VolumeHeight int    `yaml:"volume_height" json:"volume_height"`
	VolumeWidth  int    `yaml:"volume_width" json:"volume_width"`
	ImageDepth   int    `yaml:"image_depth" json:"image_depth"` // most slices of a 3D volume
	Patch        [3]int `yaml:"patch" json:"patch"`             // depth, height, width
	DType        DType  `yaml:"image_dtype" json:"image_dtype"`
}

// Dir is the folder the manifest's file names are relative to.
func (m *Manifest) Dir() string { return m.dir }

// SetDir changes the folder the manifest's file names resolve against.
func (m *Manifest) SetDir(dir string) { m.dir = dir }

// Path returns the path of a file named in the manifest.
func (m *Manifest) Path(file string) string { return filepath.Join(m.dir, file) }

// ArrowPaths lists every Arrow IPC part in corpus order.
func (m *Manifest) ArrowPaths() []string {
	var out []string
	for _, s := range m.Shards {
		for _, p := range s.Parts {
			out = append(out, m.Path(p.Arrow.File))
		}
	}
	return out
}

// ParquetPaths lists every Parquet part in corpus order (none for the
// ParquetNone layout).
func (m *Manifest) ParquetPaths() []string {
	var out []string
	for _, s := range m.Shards {
		for _, p := range s.Parts {
			if p.Parquet != nil {
				out = append(out, m.Path(p.Parquet.File))
			}
		}
	}
	return out
}

// Files lists the path of every file the manifest lists (Arrow and
// Parquet parts; not the stats files), in corpus order.
func (m *Manifest) Files() []string {
	var out []string
	for _, s := range m.Shards {
		for _, p := range s.Parts {
			for _, f := range p.Files() {
				out = append(out, m.Path(f.File))
			}
		}
	}
	return out
}

// ParquetLayout is the corpus's Parquet layout; a version 1 manifest,
// which does not record it, is ParquetFull.
func (m *Manifest) ParquetLayout() ParquetLayout {
	if m.Parquet == "" {
		return ParquetFull
	}
	return m.Parquet
}

// layoutOf returns the one Parquet layout of shards (def when there is
// no shard); shards of different layouts are an error: readers of a
// corpus rely on one layout.
func layoutOf(shards []ShardStats, def ParquetLayout) (ParquetLayout, error) {
	l := def
	for i, s := range shards {
		sl := s.Parquet
		if sl == "" {
			sl = ParquetFull // version 1 stats
		}
		if i == 0 {
			l = sl
		} else if sl != l {
			return "", fmt.Errorf("shard %s has parquet layout %q, shard %s has %q", s.Name, sl, shards[0].Name, l)
		}
	}
	return l, nil
}

// Hash is the SHA-256 of the manifest's canonical JSON (without Dir); the
// loader stores it in its resume state.
func (m *Manifest) Hash() string {
	b, _ := json.Marshal(m)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (m *Manifest) recount() {
	m.Samples, m.Images, m.Bytes = 0, 0, 0
	m.Sources, m.Tasks = map[string]int{}, map[string]int{}
	sort.Slice(m.Shards, func(i, j int) bool { return m.Shards[i].Name < m.Shards[j].Name })
	for _, s := range m.Shards {
		m.Samples += s.Samples
		m.Images += s.Images
		m.Bytes += s.Bytes
		for k, v := range s.Sources {
			m.Sources[k] += v
		}
		for k, v := range s.Tasks {
			m.Tasks[k] += v
		}
	}
}

// BuildManifest collects every done shard (every *.stats.json) in dir,
// sorted by name. Temp files (*.tmp) and parts without stats are ignored,
// not deleted: another task may be writing them right now into the same
// folder. CreateShard cleans its own leftovers.
func BuildManifest(dir, pipeline, configHash string) (*Manifest, error) {
	return buildManifest(OSFS, dir, pipeline, configHash)
}

func buildManifest(fs FS, dir, pipeline, configHash string) (*Manifest, error) {
	names, err := fs.List(dir)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	m := &Manifest{SchemaVersion: SchemaVersion, Pipeline: pipeline, ConfigHash: configHash, Shards: []ShardStats{}, dir: dir}
	for _, n := range names {
		name, ok := strings.CutSuffix(n, ".stats.json")
		if !ok {
			continue
		}
		st, done, err := readShardStats(fs, dir, name)
		if err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		if done {
			m.Shards = append(m.Shards, *st)
		}
	}
	m.recount()
	if m.Parquet, err = layoutOf(m.Shards, ParquetMetadata); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", dir, err)
	}
	return m, nil
}

// Write publishes the manifest at path atomically (temp, fsync, rename,
// fsync dir).
func (m *Manifest) Write(path string) error { return m.write(OSFS, path) }

func (m *Manifest) write(fs FS, path string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := PublishBytes(fs, path, append(b, '\n')); err != nil {
		return fmt.Errorf("manifest %s: %w", path, err)
	}
	return nil
}

// ReadManifest reads a manifest.json (or a folder containing one).
func ReadManifest(path string) (*Manifest, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, ManifestFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return parseManifest(b, path)
}

// ReadManifestFS reads the manifest at path (a manifest.json, not its
// folder) through fs; the manifest's files are then named relative to
// path's folder in fs.
func ReadManifestFS(fs FS, path string) (*Manifest, error) {
	b, err := readAll(orOS(fs), path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return parseManifest(b, path)
}

// parseManifest decodes and checks the manifest read from path.
func parseManifest(b []byte, path string) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	if !readableVersion(m.SchemaVersion) {
		return nil, fmt.Errorf("manifest %s: schema version %d, this medmd reads %d to %d", path, m.SchemaVersion, oldestSchemaVersion, SchemaVersion)
	}
	if m.Parquet != "" {
		if _, err := ParseParquetLayout(string(m.Parquet)); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", path, err)
		}
	}
	m.dir = filepath.Dir(path)
	for _, s := range m.Shards {
		if err := s.checkNames(); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", path, err)
		}
		for _, p := range s.Parts {
			// A part has a Parquet file exactly when the layout is not
			// "none"; a manifest that says otherwise was edited or broken.
			if (p.Parquet == nil) != (m.ParquetLayout() == ParquetNone) {
				return nil, fmt.Errorf("manifest %s: shard %s: parquet layout %q but part %s %s a Parquet file", path, s.Name, m.ParquetLayout(), p.Arrow.File,
					map[bool]string{true: "lacks", false: "has"}[p.Parquet == nil])
			}
		}
	}
	return &m, nil
}

// checkNames refuses shard and file names that would reach outside the
// corpus's folder: they become file names and object keys (stats, staged
// copies, removals), and a manifest or stats file read from elsewhere (a
// bucket) is not trusted.
func (s *ShardStats) checkNames() error {
	if !plainName(s.Name) {
		return fmt.Errorf("bad shard name %q", s.Name)
	}
	for _, p := range s.Parts {
		for _, f := range p.Files() {
			if !plainName(f.File) {
				return fmt.Errorf("shard %s: bad file name %q", s.Name, f.File)
			}
		}
	}
	return nil
}

// plainName reports whether n names a file directly in a folder.
func plainName(n string) bool {
	return n != "" && n != "." && !filepath.IsAbs(n) && !strings.Contains(n, "..") && !strings.ContainsAny(n, `/\`)
}

// MergeManifests joins manifests of parallel tasks over the same folder.
// It refuses manifests of another schema version, config hash or pipeline,
// or in another folder; a shard listed twice must be listed identically.
func MergeManifests(ms ...*Manifest) (*Manifest, error) {
	if len(ms) == 0 {
		return nil, errors.New("merge: no manifests")
	}
	first := ms[0]
	out := &Manifest{SchemaVersion: first.SchemaVersion, Pipeline: first.Pipeline, ConfigHash: first.ConfigHash, Parquet: first.Parquet, ModelInput: first.ModelInput, Shards: []ShardStats{}, dir: first.dir}
	seen := map[string]ShardStats{}
	for i, m := range ms {
		switch {
		case m.SchemaVersion != first.SchemaVersion:
			return nil, fmt.Errorf("merge: manifest %d has schema version %d, manifest 0 has %d", i, m.SchemaVersion, first.SchemaVersion)
		case m.ConfigHash != first.ConfigHash:
			return nil, fmt.Errorf("merge: manifest %d has config hash %s, manifest 0 has %s", i, m.ConfigHash, first.ConfigHash)
		case m.Pipeline != first.Pipeline:
			return nil, fmt.Errorf("merge: manifest %d is pipeline %q, manifest 0 is %q", i, m.Pipeline, first.Pipeline)
		case m.ParquetLayout() != first.ParquetLayout():
			return nil, fmt.Errorf("merge: manifest %d has parquet layout %q, manifest 0 has %q", i, m.ParquetLayout(), first.ParquetLayout())
		case (m.ModelInput == nil) != (first.ModelInput == nil) || m.ModelInput != nil && *m.ModelInput != *first.ModelInput:
			return nil, fmt.Errorf("merge: manifest %d records another model input than manifest 0", i)
		case m.dir != "" && out.dir != "" && filepath.Clean(m.dir) != filepath.Clean(out.dir):
			return nil, fmt.Errorf("merge: manifest %d is in %s, manifest 0 in %s", i, m.dir, out.dir)
		}
		if out.dir == "" {
			out.dir = m.dir
		}
		for _, s := range m.Shards {
			if prev, dup := seen[s.Name]; dup {
				a, _ := json.Marshal(prev)
				b, _ := json.Marshal(s)
				if string(a) != string(b) {
					return nil, fmt.Errorf("merge: shard %s listed differently by two manifests", s.Name)
				}
				continue
			}
			seen[s.Name] = s
			out.Shards = append(out.Shards, s)
		}
	}
	out.recount()
	return out, nil
}

// Verify re-hashes every file a manifest lists. It returns an error
// wrapping ErrChecksum and naming the file on the first mismatch, or the
// I/O error of a missing file.
func Verify(manifestPath string) error {
	m, err := ReadManifest(manifestPath)
	if err != nil {
		return err
	}
	return m.Verify()
}

// Verify re-hashes every file of m; see the package function Verify.
func (m *Manifest) Verify() error {
	for _, s := range m.Shards {
		for _, p := range s.Parts {
			for _, f := range p.Files() {
				if err := verifyFile(m.Path(f.File), f); err != nil {
					return fmt.Errorf("shard %s: %w", s.Name, err)
				}
			}
		}
	}
	return nil
}

func verifyFile(path string, want FileStats) error {
	got, n, err := fileDigest(path, want)
	if err != nil {
		return err
	}
	return compareDigest(path, want, got, n)
}
