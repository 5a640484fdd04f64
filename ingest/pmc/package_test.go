package pmc

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadPackageSafety(t *testing.T) {
	ok := member{name: "PMC1/a.nxml", data: []byte("<article/>")}
	tests := []struct {
		name        string
		members     []member
		lim         Limits
		wantRefused string // substring of the refusal reason
		wantErr     error
		wantNames   int
	}{
		{"clean", []member{ok, {name: "PMC1/f.jpg", data: []byte("x")}}, Limits{}, "", nil, 2},
		{"dotdot", []member{ok, {name: "PMC1/../../evil.sh", data: []byte("x")}}, Limits{}, "..", nil, 1},
		{"absolute", []member{ok, {name: "/etc/passwd", data: []byte("x")}}, Limits{}, "absolute", nil, 1},
		{"windows", []member{ok, {name: `C:\evil`, data: []byte("x")}}, Limits{}, "absolute", nil, 1},
		{"symlink", []member{ok, {name: "PMC1/l", typeflag: tar.TypeSymlink, linkname: "/etc/passwd"}}, Limits{}, "link", nil, 1},
		{"hardlink", []member{ok, {name: "PMC1/h", typeflag: tar.TypeLink, linkname: "PMC1/a.nxml"}}, Limits{}, "link", nil, 1},
		{"chardev", []member{ok, {name: "PMC1/null", typeflag: tar.TypeChar}}, Limits{}, "device", nil, 1},
		{"fifo", []member{ok, {name: "PMC1/p", typeflag: tar.TypeFifo}}, Limits{}, "device", nil, 1},
		{"oversized member", []member{ok, {name: "PMC1/big.tif", data: make([]byte, 5000)}}, Limits{MaxMemberBytes: 1000}, "exceeds", nil, 1},
		{"total cap", []member{ok, {name: "PMC1/b1", data: make([]byte, 900)}, {name: "PMC1/b2", data: make([]byte, 900)}}, Limits{MaxTotalBytes: 1500}, "", ErrTooLarge, 0},
		{"member count", []member{ok, ok, ok}, Limits{MaxMembers: 2}, "", ErrTooLarge, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ReadPackage(bytes.NewReader(tarGz(t, tc.members)), tc.name, tc.lim, true)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Names) != tc.wantNames {
				t.Errorf("names %v", p.Names)
			}
			if tc.wantRefused == "" && len(p.Refused) > 0 || tc.wantRefused != "" && (len(p.Refused) != 1 || !strings.Contains(p.Refused[0].Reason, tc.wantRefused)) {
				t.Errorf("refused %+v, want reason with %q", p.Refused, tc.wantRefused)
			}
			for n := range p.Files {
				if strings.Contains(n, "..") || strings.HasPrefix(n, "/") {
					t.Errorf("unsafe member kept: %s", n)
				}
			}
			if p.NXML != "PMC1/a.nxml" {
				t.Errorf("nxml %q", p.NXML)
			}
		})
	}
}

// TestReadPackageTruncated cuts a real package at many points: every cut
// must fail cleanly (no panic, no success), and a cut inside the data must
// report io.ErrUnexpectedEOF so the downloader retries.
func TestReadPackageTruncated(t *testing.T) {
	full := buildPackage(t, testArticles[2])
	if _, err := ReadPackage(bytes.NewReader(full), "full", Limits{}, false); err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut < len(full); cut += 1 + len(full)/97 {
		_, err := ReadPackage(bytes.NewReader(full[:cut]), "cut", Limits{}, false)
		if err == nil {
			t.Fatalf("cut at %d of %d: no error", cut, len(full))
		}
		if cut > 20 && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %v, want io.ErrUnexpectedEOF", cut, err)
		}
	}
}

func TestReadPackageReal(t *testing.T) {
	p, err := ReadPackage(bytes.NewReader(buildPackage(t, testArticles[0])), "pkg", Limits{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.NXML != "PMC3460867/pone.0046493.nxml" || len(p.Files["PMC3460867/pone.0046493.g001.jpg"]) == 0 {
		t.Errorf("nxml %q, files %d", p.NXML, len(p.Files))
	}
	if _, ok := p.Files["PMC3460867/supplement.pdf"]; ok {
		t.Error("supplementary file kept in memory")
	}
}
