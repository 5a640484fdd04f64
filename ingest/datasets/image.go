package datasets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// maxImageFileBytes bounds one image file read whole into memory.
const maxImageFileBytes = 1 << 30

// maxPixels bounds the decoded size of one 2D image (a 4k×4k mammogram is
// 16 M pixels; 100 M is well past anything the datasets hold).
const maxPixels = 100 << 20

// readBounded reads a whole file, refusing files over limit.
func readBounded(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes exceeds the %d-byte limit", path, st.Size(), limit)
	}
	return os.ReadFile(path)
}

// loadImages reads the image(s) in one file: a PNG or JPEG (one 2D image),
// a DICOM file, a NIfTI file (.nii, .nii.gz: its first volume, RAS+), or a
// NumPy .npy array (one or more volumes, RadFM's
// Radiopaedia layout; see npy.go). rel is the path recorded on the image
// (relative to the dataset root, so it is the same on every machine);
// modality is recorded where the file does not say.
func (t *tree) loadImages(ctx context.Context, path, rel, modality string) ([]shards.Image, error) {
	data, err := t.readFile(ctx, path, maxImageFileBytes)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	var ims []shards.Image
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case ext == ".npy":
		ims, err = decodeNpyImages(data)
	case ext == ".nii" || strings.HasSuffix(strings.ToLower(path), ".nii.gz"):
		// RadFM's Radiopaedia modality CSV points at NIfTI files. The bytes
		// are already in memory (for the SHA-256), so they go through the
		// project's reader as is rather than being read a second time.
		ims, err = decodeNIfTI(ctx, path, data)
	case ext == ".dcm" || ext == ".dicom" || isDICOM(data):
		var im shards.Image
		im, err = t.decodeDICOM(ctx, path, data)
		ims = []shards.Image{im}
	default:
		var im shards.Image
		// Dataset images are whole radiographs and slices: no figure-size
		// or aspect filtering, only the pixel-count bound.
		im, err = normalize.DecodeImage(data, normalize.Image2DOptions{MinSize: -1, MaxAspect: -1, MaxPixels: maxPixels})
		ims = []shards.Image{im}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range ims {
		ims[i].SourcePath = pseudonymisePath(rel)
		ims[i].SourceSHA256 = sha
		if ims[i].Modality == "" {
			ims[i].Modality = modality
		}
		if ims[i].Affine == ([16]float64{}) {
			ims[i].Affine = shards.IdentityAffine()
		}
	}
	return ims, nil
}

// isDICOM sniffs the DICM magic at offset 128.
func isDICOM(data []byte) bool {
	return len(data) >= 132 && string(data[128:132]) == "DICM"
}

// Path segments that carry a patient id in the publishers' layouts: MIMIC-CXR
// folders p10/p10000032, CheXpert patient00001, and ChestX-ray14 file names
// 00000001_000.png (patient 00000001, follow-up 000).
var (
	patientDirRE  = regexp.MustCompile(`^(p\d+|patient\d+)$`)
	patientFileRE = regexp.MustCompile(`^(\d{8})(_\d{3}\.[A-Za-z]+)$`)
)

// pseudonymisePath replaces the patient ids in a dataset-relative path by
// "pid-" and a prefix of their pseudonym (shards.Pseudonym: keyed HMAC
// under MEDMD_PSEUDONYM_KEY, plain SHA-256 without a key), so a stored SourcePath never carries
// a raw patient id (groups are hashed the same way) while the rest of the
// path stays readable. SourceSHA256 still identifies the file.
func pseudonymisePath(rel string) string {
	parts := strings.Split(rel, "/")
	for i, seg := range parts {
		switch {
		case patientDirRE.MatchString(seg):
			parts[i] = "pid-" + shards.Pseudonym("path-patient", seg)[:12]
		case patientFileRE.MatchString(seg):
			m := patientFileRE.FindStringSubmatch(seg)
			parts[i] = "pid-" + shards.Pseudonym("path-patient", m[1])[:12] + m[2]
		}
	}
	return strings.Join(parts, "/")
}

// decodeNIfTI decodes a single-file NIfTI image held in memory with the
// project's reader (ingest/nifti): its first volume, reoriented to RAS+,
// with its spacing and affine.
func decodeNIfTI(ctx context.Context, path string, data []byte) ([]shards.Image, error) {
	r, err := nifti.Decode(ctx, path, data, nifti.Options{})
	if err != nil {
		return nil, err
	}
	ims := make([]shards.Image, 0, len(r.Images))
	for _, im := range r.Images {
		ims = append(ims, *im)
	}
	if len(ims) == 0 {
		return nil, fmt.Errorf("NIfTI: no volume")
	}
	return ims, nil
}
