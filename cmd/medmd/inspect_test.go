package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectGoesOnAfterABadFile: `medmd inspect a b c` reports a broken
// file (naming it once) and still inspects the others.
func TestInspectGoesOnAfterABadFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "broken.dcm")
	if err := os.WriteFile(bad, []byte("DICM but not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join("..", "..", "testdata", "dicom", "mr-brain-20", "brain_001.dcm")
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = out
	rootCmd.SetArgs([]string{"inspect", bad, good})
	err = rootCmd.ExecuteContext(context.Background())
	os.Stdout = stdout
	out.Close()
	if err == nil || strings.Count(err.Error(), bad) != 1 {
		t.Fatalf("err = %v, want it to name %s once", err, bad)
	}
	b, _ := os.ReadFile(out.Name())
	if !strings.Contains(string(b), good+": DICOM MR") {
		t.Fatalf("the good file after the bad one was not inspected; stdout:\n%s", b)
	}
}
