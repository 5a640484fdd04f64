package nifti

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
)

// SourceName is the name the source registers under in pipelines.yaml.
const SourceName = "nifti"

// modalityPhrases is what a modality-task response says for each DICOM
// modality code.
var modalityPhrases = map[string]string{
	"CT": "CT", "MR": "MRI", "PT": "PET", "NM": "nuclear medicine", "US": "ultrasound",
	"CR": "X-ray", "DX": "X-ray", "MG": "mammography", "XA": "angiography", "RF": "fluoroscopy", "OT": "other",
}

func modalityCodes() []string {
	out := []string{""}
	for k := range modalityPhrases {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Spec is the "nifti" source's parameter spec.
var Spec = ingest.Spec{
	Name:    SourceName,
	Summary: "NIfTI-1/-2 volumes (.nii, .nii.gz, .hdr/.img), reoriented to canonical RAS; one sample per file or per 4D volume",
	Fields: []ingest.Field{
		{Name: "paths", Type: ingest.TypeStrings, Required: true,
			Description: "files, folders (searched recursively) or globs, relative to the pipelines file's folder; or object-store roots (s3://bucket/prefix, file:///abs/path, …) listed recursively",
			Example:     "[testdata/nifti]"},
		{Name: "volumes_4d", Type: ingest.TypeString, Default: "first", Enum: []string{"first", "all"},
			Description: "for 4D files: only the first volume along t, or every volume as its own sample",
			Example:     "all"},
		{Name: "max_voxels", Type: ingest.TypeInt, Default: DefaultMaxVoxels,
			Description: "reject a file whose header claims more voxels (all volumes read, all channels) than this, before allocating",
			Example:     "268435456"},
		{Name: "modality", Type: ingest.TypeString, Default: "", Enum: modalityCodes(),
			Description: "DICOM modality code of every image (NIfTI does not record it); also the modality task's answer. Empty: unknown, the response stays empty",
			Example:     "MR"},
		{Name: "task", Type: ingest.TypeString, Default: shards.TaskModality,
			Description: "the task of the samples",
			Example:     "modality"},
		{Name: "instruction", Type: ingest.TypeString, Default: "What imaging modality is shown in this image?",
			Description: "the instruction text; the image is placed at its start",
			Example:     "What modality is this image?"},
		{Name: "group_by", Type: ingest.TypeString, Default: "file", Enum: []string{"file", "dir"},
			Description: "the split group: the file (relative path without suffix) or its folder (e.g. one folder per patient)",
			Example:     "dir"},
		{Name: "license", Type: ingest.TypeString, Default: "",
			Description: "licence of the input data, copied to every sample",
			Example:     "CC-BY-4.0"},
	},
}

func init() {
	ingest.RegisterSource(Spec, newSource)
}

// Source plans NIfTI files and reads them into samples.
type Source struct {
	base        string
	paths       []string
	all4D       bool
	maxVoxels   int64
	modality    string
	task        string
	instruction string
	groupByDir  bool
	license     string
	stores      stores // the remote roots among paths, opened by Plan
}

func newSource(p ingest.Params, baseDir string) (ingest.Source, error) {
	s := &Source{
		base:        baseDir,
		paths:       p.Strings("paths"),
		all4D:       p.String("volumes_4d") == "all",
		maxVoxels:   int64(p.Int("max_voxels")),
		modality:    p.String("modality"),
		task:        p.String("task"),
		instruction: p.String("instruction"),
		groupByDir:  p.String("group_by") == "dir",
		license:     shards.SPDXLicense(p.String("license")),
	}
	if len(s.paths) == 0 {
		return nil, fmt.Errorf("nifti: paths is empty")
	}
	if s.task == "" {
		s.task = shards.TaskModality
	}
	return s, nil
}

// nameSuffix returns the NIfTI suffix of name (".nii", ".nii.gz", ".hdr",
// ".hdr.gz", case-insensitive) or "".
func nameSuffix(name string) string {
	l := strings.ToLower(name)
	for _, s := range []string{".nii.gz", ".hdr.gz", ".nii", ".hdr"} {
		if strings.HasSuffix(l, s) {
			return name[len(name)-len(s):]
		}
	}
	return ""
}

type unitData struct {
	abs string // the .nii or .hdr
	img string // the .img of a pair, or ""
}

// Plan lists every NIfTI file under the configured paths, sorted by path
// relative to the pipelines file's folder; that relative path (with '/') is
// the unit ID. It stats files and reads nothing else.
func (s *Source) Plan(ctx context.Context) ([]ingest.Unit, error) {
	seen := map[string]bool{}
	var units []ingest.Unit
	add := func(abs string, explicit bool) error {
		if nameSuffix(abs) == "" && !explicit {
			return nil
		}
		rel, err := filepath.Rel(s.base, abs)
		if err != nil {
			rel = abs
		}
		rel = filepath.ToSlash(rel)
		if seen[rel] {
			return nil
		}
		seen[rel] = true
		fi, err := os.Stat(abs)
		if err != nil {
			return err
		}
		u := ingest.Unit{ID: rel, Paths: []string{abs}, Bytes: fi.Size(), Data: unitData{abs: abs}}
		if img := pairedImage(abs); img != "" {
			if fi, err := os.Stat(img); err == nil {
				u.Paths = append(u.Paths, img)
				u.Bytes += fi.Size()
				u.Data = unitData{abs: abs, img: img}
			}
		}
		units = append(units, u)
		return nil
	}
	for _, p := range s.paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if storage.IsURL(p) {
			err := s.planRemote(ctx, p, func(u ingest.Unit) {
				if !seen[u.ID] {
					seen[u.ID] = true
					units = append(units, u)
				}
			})
			if err != nil {
				return nil, fmt.Errorf("nifti: paths %q: %w", p, err)
			}
			continue
		}
		full := p
		if !filepath.IsAbs(full) {
			full = filepath.Join(s.base, p)
		}
		matches := []string{full}
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(full)
			if err != nil {
				return nil, fmt.Errorf("nifti: paths %q: %w", p, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("nifti: paths %q matches nothing", p)
			}
			matches = m
		}
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("nifti: paths %q: %w", p, err)
			}
			if !fi.IsDir() {
				if err := add(m, true); err != nil {
					return nil, fmt.Errorf("nifti: %w", err)
				}
				continue
			}
			err = filepath.WalkDir(m, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() {
					if path != m && strings.HasPrefix(d.Name(), ".") {
						return filepath.SkipDir
					}
					return nil
				}
				return add(path, false)
			})
			if err != nil {
				return nil, fmt.Errorf("nifti: walking %s: %w", p, err)
			}
		}
	}
	sort.Slice(units, func(i, j int) bool { return units[i].ID < units[j].ID })
	return units, nil
}

// Read turns one file into samples: one per volume read (see volumes_4d).
// Sample IDs are MakeID("nifti", file SHA-256, volume index), so a renamed
// file keeps its ids; the SHA-256 of a pair is that of the .hdr bytes
// followed by the .img bytes.
func (s *Source) Read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	sum, res, err := s.load(ctx, u)
	if err != nil {
		return nil, err
	}
	stem := u.ID[:len(u.ID)-len(nameSuffix(u.ID))]
	group := "nifti:" + stem
	if s.groupByDir {
		group = "nifti:" + pathDir(u.ID)
	}
	resp := ""
	if s.modality != "" {
		resp = modalityPhrases[s.modality]
	}
	out := make([]shards.Sample, 0, len(res.Images))
	for v, im := range res.Images {
		im.Modality = s.modality
		im.Plane = "axial" // canonical RAS+: k runs inferior→superior
		im.SourcePath = u.ID
		im.SourceSHA256 = sum
		im.Meta = map[string]string{"orientation": res.Orientation.Codes(), "nifti_version": strconv.Itoa(res.Header.Version)}
		if res.Header.Descrip != "" {
			im.Meta["descrip"] = res.Header.Descrip
		}
		out = append(out, shards.Sample{
			ID:          shards.MakeID(SourceName, sum, strconv.Itoa(v)),
			Source:      SourceName,
			Task:        s.task,
			Group:       group,
			License:     s.license,
			Instruction: s.instruction,
			Response:    resp,
			Placements:  []shards.Placement{{Image: 0, Field: shards.FieldInstruction, Offset: 0}},
			Images:      []shards.Image{*im},
			Meta:        map[string]string{"volume": strconv.Itoa(v), "volumes": strconv.Itoa(res.NumVolumes)},
		})
	}
	return out, nil
}

// load reads a unit's file (or pair) and returns its SHA-256 and volumes:
// from disk, or from its object store for a unit planned from a URL.
func (s *Source) load(ctx context.Context, u ingest.Unit) (string, *Result, error) {
	if storage.IsURL(u.ID) {
		d, ok := u.Data.(remoteUnit)
		var err error
		if !ok {
			d, err = s.remoteData(ctx, u)
		}
		var sum string
		var res *Result
		if err == nil {
			sum, res, err = s.loadRemote(ctx, u, d)
		}
		if err != nil {
			return "", nil, fmt.Errorf("nifti: %s: %w", u.ID, err)
		}
		return sum, res, nil
	}
	d, ok := u.Data.(unitData)
	if !ok {
		d = unitData{abs: filepath.Join(s.base, filepath.FromSlash(u.ID))}
	}
	sum, err := hashFiles(d.abs, d.img)
	if err != nil {
		return "", nil, fmt.Errorf("nifti: %s: %w", u.ID, err)
	}
	res, err := ReadFile(ctx, d.abs, Options{MaxVoxels: s.maxVoxels, AllVolumes: s.all4D})
	return sum, res, err
}

func pathDir(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return "."
}

// hashFiles returns the hex SHA-256 of the files' bytes in order.
func hashFiles(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		if p == "" {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
