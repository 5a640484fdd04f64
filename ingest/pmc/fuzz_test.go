package pmc

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func FuzzReadPackage(f *testing.F) {
	paths, _ := filepath.Glob("../../testdata/pmc/oa_package/*/*/*.tar.gz")
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil && len(data) < 8000 {
			f.Add(data)
		}
	}
	f.Add(tarGz(f, []member{{name: "a/../b", data: []byte("x")}, {name: "a/x.nxml", data: []byte("<article/>")}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadPackage(bytes.NewReader(data), "fuzz", Limits{MaxMemberBytes: 1 << 20, MaxTotalBytes: 4 << 20, MaxMembers: 100}, true)
		if err != nil {
			return
		}
		var total int64
		for name, b := range p.Files {
			if filepath.IsAbs(name) || name == ".." || len(name) > 2 && name[:3] == "../" {
				t.Fatalf("unsafe member kept: %q", name)
			}
			total += int64(len(b))
		}
		if total > 4<<20 {
			t.Fatalf("extracted %d bytes past the cap", total)
		}
	})
}

func FuzzReadOAList(f *testing.F) {
	if data, err := os.ReadFile("../../testdata/pmc/oa_file_list.csv"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("File,Accession ID\nx.tar.gz,PMC1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ReadOAList(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for _, r := range (Filter{Licences: DefaultLicences, MaxArticles: 3}).Apply(rows) {
			if r.PMCID == "" || r.File == "" {
				t.Fatalf("row without id or file: %+v", r)
			}
		}
	})
}
