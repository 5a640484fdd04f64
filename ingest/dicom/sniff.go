package dicom

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// sniffBytes reports whether head (the first bytes of a file) looks like
// DICOM: "DICM" at offset 128 (PS3.10 §7.1), or, for files without the
// preamble, a name ending in .dcm whose first element is a plausible group
// 0002 or 0008 tag.
func sniffBytes(name string, head []byte) bool {
	if len(head) >= 132 && string(head[128:132]) == "DICM" {
		return true
	}
	if len(head) < 8 {
		return false
	}
	ext := strings.ToLower(filepath.Ext(name))
	if ext != ".dcm" && ext != ".dicom" && ext != "" {
		return false
	}
	le := uint16(head[0]) | uint16(head[1])<<8
	be := uint16(head[1]) | uint16(head[0])<<8
	return le == 0x0002 || le == 0x0008 || be == 0x0008
}

// looksDICOM sniffs a file on disk.
func looksDICOM(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 132)
	n, _ := io.ReadFull(f, head)
	return sniffBytes(path, head[:n])
}

// brokenDICOM says why a file named as DICOM (.dcm, .dicom) cannot be one:
// it is empty, or it ends before the "DICM" magic at offset 128 and does
// not start with a plausible element either. Such a file is a damaged
// transfer, reported with its reason rather than counted among the files
// that are simply something else. "" means no such verdict.
func brokenDICOM(path string) string {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".dcm" && ext != ".dicom" {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 132)
	n, _ := io.ReadFull(f, head)
	return brokenHead(path, head[:n])
}

// brokenHead is brokenDICOM of a file named name whose first bytes (up to
// 132) are head.
func brokenHead(name string, head []byte) string {
	if ext := strings.ToLower(filepath.Ext(name)); ext != ".dcm" && ext != ".dicom" {
		return ""
	}
	n := len(head)
	switch {
	case n == 0:
		return "empty file"
	case n < 132 && !sniffBytes(name, head):
		return fmt.Sprintf("truncated: %d bytes, ends before the DICM magic at offset 128", n)
	case n >= 132 && !sniffBytes(name, head[:132]):
		return "no DICM magic at offset 128 and no DICOM element at the start"
	}
	return ""
}
