package nifti

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/storage"
)

// remoteUnit is a file planned from an object-store root: the store, the
// object's key and, for a .hdr/.img pair, the image object's key.
type remoteUnit struct {
	st       storage.Store
	key, img string
}

// stores opens each remote root once per source and shares it between the
// workers that read units (a storage.Bucket is safe for concurrent use and
// holds the concurrency limit).
type stores struct {
	mu sync.Mutex
	m  map[string]*storage.Bucket
}

func (ss *stores) open(ctx context.Context, root string) (*storage.Bucket, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if b := ss.m[root]; b != nil {
		return b, nil
	}
	b, err := storage.Open(ctx, root, storage.Options{})
	if err != nil {
		return nil, err
	}
	if ss.m == nil {
		ss.m = map[string]*storage.Bucket{}
	}
	ss.m[root] = b
	return b, nil
}

// planRemote lists root (a URL: s3://, file://, …) page by page and adds a
// unit for every object with a NIfTI suffix; the unit ID is the object's
// URL without connection parameters (storage.ObjectURL). Keys under a
// hidden folder are skipped, as a local walk skips hidden folders. Nothing
// but the listing is read: the source does not plan from headers.
func (s *Source) planRemote(ctx context.Context, root string, add func(ingest.Unit)) error {
	st, err := s.stores.open(ctx, root)
	if err != nil {
		return err
	}
	var units []ingest.Unit
	// .img objects by key, to attach to their .hdr after the listing (a
	// listing is in key order, and "x.hdr" sorts before "x.img").
	imgs := map[string]int64{}
	err = st.List(ctx, "", func(o storage.Object) error {
		if strings.HasPrefix(o.Key, ".") || strings.Contains(o.Key, "/.") {
			return nil
		}
		l := strings.ToLower(o.Key)
		if strings.HasSuffix(l, ".img") || strings.HasSuffix(l, ".img.gz") {
			imgs[o.Key] = o.Size
			return nil
		}
		if nameSuffix(o.Key) == "" {
			return nil
		}
		id := storage.ObjectURL(root, o.Key)
		units = append(units, ingest.Unit{ID: id, Paths: []string{id}, Bytes: o.Size, Data: remoteUnit{st: st, key: o.Key}})
		return nil
	})
	if err != nil {
		return err
	}
	for _, u := range units {
		d := u.Data.(remoteUnit)
		if img := pairedImage(d.key); img != "" {
			if size, ok := imgs[img]; ok {
				u.Paths = append(u.Paths, storage.ObjectURL(root, img))
				u.Bytes += size
				d.img = img
				u.Data = d
			}
		}
		add(u)
	}
	return nil
}

// remoteData finds a remote unit's objects when the unit came without its
// planning data (a plan read back from a file): the configured root whose
// URL prefixes the unit ID.
func (s *Source) remoteData(ctx context.Context, u ingest.Unit) (remoteUnit, error) {
	for _, p := range s.paths {
		if !storage.IsURL(p) {
			continue
		}
		prefix := storage.ObjectURL(p, "")
		key, ok := strings.CutPrefix(u.ID, prefix)
		if !ok {
			continue
		}
		st, err := s.stores.open(ctx, p)
		if err != nil {
			return remoteUnit{}, err
		}
		d := remoteUnit{st: st, key: key}
		if len(u.Paths) == 2 {
			d.img, _ = strings.CutPrefix(u.Paths[1], prefix)
		}
		return d, nil
	}
	return remoteUnit{}, fmt.Errorf("no configured root holds %s", u.ID)
}

// loadRemote reads a remote unit's objects whole (NIfTI voxels follow the
// header in one stream, gzipped more often than not, so there is nothing
// to skip with a ranged read) and decodes them from memory. The SHA-256 is
// that of the bytes read, as hashFiles computes it for local files.
func (s *Source) loadRemote(ctx context.Context, u ingest.Unit, d remoteUnit) (string, *Result, error) {
	opt := Options{MaxVoxels: s.maxVoxels, AllVolumes: s.all4D}
	data, err := d.st.ReadAll(ctx, d.key, 0)
	if err != nil {
		return "", nil, err
	}
	h := sha256.New()
	h.Write(data)
	if d.img == "" {
		res, err := Decode(ctx, u.ID, data, opt)
		return hex.EncodeToString(h.Sum(nil)), res, err
	}
	img, err := d.st.ReadAll(ctx, d.img, 0)
	if err != nil {
		return "", nil, err
	}
	h.Write(img)
	res, err := decodePair(ctx, u.ID, data, img, u.Paths[1], opt)
	return hex.EncodeToString(h.Sum(nil)), res, err
}

// decodePair decodes a .hdr/.img pair held in memory as ReadFile decodes
// one on disk: the header from data, the voxels from img (named imgName in
// errors) — or from data itself when its magic says it is a single file.
func decodePair(ctx context.Context, name string, data, img []byte, imgName string, opt Options) (*Result, error) {
	r, size, gz, err := openMemory(name, data)
	if err != nil {
		return nil, err
	}
	h, err := readHeader(name, r)
	if err != nil {
		return nil, err
	}
	if h.Single {
		return readData(ctx, name, h, r, int64(h.HeaderSize()), streamCap(size, gz), gz, opt)
	}
	dr, dsize, dgz, err := openMemory(imgName, img)
	if err != nil {
		return nil, err
	}
	return readData(ctx, imgName, h, dr, 0, streamCap(dsize, dgz), dgz, opt)
}
