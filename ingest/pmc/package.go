// Package pmc ingests PubMed Central Open Access articles: it reads the OA
// file list, downloads article packages politely and resumably, unpacks
// them safely, parses their JATS XML (package jats) and emits three kinds
// of samples: figure–caption pairs (pmc-oa), article text interleaved with
// figures (pmc-inline) and case reports (pmc-casereport).
package pmc

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Limits bound what unpacking one package may cost. Sizes declared in tar
// headers are checked against them before anything is read.
type Limits struct {
	// MaxMemberBytes refuses (and reports) any single member larger than
	// this; the rest of the package is still used.
	MaxMemberBytes int64
	// MaxTotalBytes caps the bytes extracted from one package; beyond it the
	// whole package fails with ErrTooLarge.
	MaxTotalBytes int64
	// MaxMembers caps the number of tar entries.
	MaxMembers int
}

// DefaultLimits fit real PMC packages (the largest carry a few hundred MB of
// supplementary data, which is skipped without being stored).
var DefaultLimits = Limits{MaxMemberBytes: 256 << 20, MaxTotalBytes: 1 << 30, MaxMembers: 10000}

// Errors callers branch on.
var (
	ErrTooLarge  = errors.New("package exceeds extraction limit")
	ErrNoArticle = errors.New("package holds no .nxml article")
)

// Refusal is a tar member that was not extracted, and why.
type Refusal struct {
	Member string `json:"member"`
	Reason string `json:"reason"`
}

// Package is an unpacked PMC article package. Files holds the members
// medmd uses (the article XML and figure images) by their cleaned path;
// Names lists every regular member accepted, sorted.
type Package struct {
	Name    string
	Files   map[string][]byte
	Names   []string
	Refused []Refusal
	// NXML is the member holding the article.
	NXML string
	// Bytes counts the member bytes read from the archive.
	Bytes int64
}

// keepExt are the member types kept in memory: the article and images.
var keepExt = map[string]bool{
	".nxml": true, ".xml": true, ".jpg": true, ".jpeg": true, ".png": true,
	".gif": true, ".tif": true, ".tiff": true,
}

// ReadPackage unpacks a gzipped tar PMC package from r. Members with an
// absolute path, a ".." component, a link, a device or FIFO type, or a size
// beyond lim.MaxMemberBytes are refused and listed in Refused; extracting
// more than lim.MaxTotalBytes fails with ErrTooLarge. When keep is false the
// members are read (so the gzip CRC and tar structure are verified) but not
// stored. Truncated input fails with an error wrapping io.ErrUnexpectedEOF.
func ReadPackage(r io.Reader, name string, lim Limits, keep bool) (*Package, error) {
	if lim.MaxMemberBytes <= 0 {
		lim.MaxMemberBytes = DefaultLimits.MaxMemberBytes
	}
	if lim.MaxTotalBytes <= 0 {
		lim.MaxTotalBytes = DefaultLimits.MaxTotalBytes
	}
	if lim.MaxMembers <= 0 {
		lim.MaxMembers = DefaultLimits.MaxMembers
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", name, truncErr(err))
	}
	defer zr.Close()
	p := &Package{Name: name, Files: map[string][]byte{}}
	tr := tar.NewReader(zr)
	members := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("package %s: tar: %w", name, truncErr(err))
		}
		members++
		if members > lim.MaxMembers {
			return nil, fmt.Errorf("package %s: more than %d members: %w", name, lim.MaxMembers, ErrTooLarge)
		}
		clean, reason := memberPath(hdr)
		if reason == "" && hdr.Size > lim.MaxMemberBytes {
			reason = fmt.Sprintf("member of %d bytes exceeds limit of %d", hdr.Size, lim.MaxMemberBytes)
		}
		if reason != "" {
			p.Refused = append(p.Refused, Refusal{Member: hdr.Name, Reason: reason})
			continue
		}
		if hdr.Typeflag == tar.TypeDir {
			continue
		}
		if p.Bytes+hdr.Size > lim.MaxTotalBytes {
			return nil, fmt.Errorf("package %s: member %s brings extracted size past %d bytes: %w", name, hdr.Name, lim.MaxTotalBytes, ErrTooLarge)
		}
		p.Bytes += hdr.Size
		p.Names = append(p.Names, clean)
		ext := strings.ToLower(path.Ext(clean))
		if keep && keepExt[ext] {
			// INVARIANT: hdr.Size <= MaxMemberBytes was checked above, so
			// this allocation is bounded.
			buf := make([]byte, hdr.Size)
			if _, err := io.ReadFull(tr, buf); err != nil {
				return nil, fmt.Errorf("package %s: member %s: %w", name, hdr.Name, truncErr(err))
			}
			p.Files[clean] = buf
		} else if _, err := io.Copy(io.Discard, tr); err != nil {
			return nil, fmt.Errorf("package %s: member %s: %w", name, hdr.Name, truncErr(err))
		}
		if ext == ".nxml" && (p.NXML == "" || clean < p.NXML) {
			p.NXML = clean
		}
	}
	// Drain to the gzip trailer so its CRC and length are checked.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, fmt.Errorf("package %s: gzip: %w", name, truncErr(err))
	}
	sort.Strings(p.Names)
	if p.NXML == "" {
		for _, n := range p.Names {
			if strings.EqualFold(path.Ext(n), ".xml") && keep && strings.Contains(string(p.Files[n][:min(len(p.Files[n]), 4096)]), "<article") {
				p.NXML = n
				break
			}
		}
	}
	return p, nil
}

// memberPath validates a member's name and type and returns its cleaned
// path, or a reason to refuse it.
func memberPath(hdr *tar.Header) (string, string) {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir: // archive/tar reports old TypeRegA members as TypeReg
	case tar.TypeSymlink, tar.TypeLink:
		return "", "link member (to " + hdr.Linkname + ") refused"
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return "", "device or FIFO member refused"
	default:
		return "", fmt.Sprintf("unsupported member type %q", hdr.Typeflag)
	}
	n := hdr.Name
	if n == "" {
		return "", "empty member name"
	}
	if strings.ContainsRune(n, '\\') || strings.HasPrefix(n, "/") || len(n) >= 2 && n[1] == ':' {
		return "", "absolute or non-portable path refused"
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", "path with \"..\" refused"
		}
	}
	if strings.IndexByte(n, 0) >= 0 {
		return "", "NUL in member name"
	}
	return path.Clean(n), ""
}

// truncErr maps the ways archive/tar and compress/gzip report cut-off
// input to io.ErrUnexpectedEOF, so callers can retry a truncated download.
func truncErr(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Article returns the article XML, or ErrNoArticle.
func (p *Package) Article() ([]byte, error) {
	if p.NXML == "" || p.Files[p.NXML] == nil {
		return nil, fmt.Errorf("package %s: %w", p.Name, ErrNoArticle)
	}
	return p.Files[p.NXML], nil
}
