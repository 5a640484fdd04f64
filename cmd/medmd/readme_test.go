package main

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's component reference from the registry")

// TestREADMEComponents keeps the README's component reference equal to what
// the registry says, so the docs are generated, never written twice.
// Regenerate with: go test ./cmd/medmd -run TestREADMEComponents -update-readme
func TestREADMEComponents(t *testing.T) {
	const begin, end = "<!-- components:begin -->\n", "<!-- components:end -->"
	path := repoFile(t, "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(readme, []byte(begin)), bytes.Index(readme, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q markers", strings.TrimSpace(begin), end)
	}
	var gen bytes.Buffer
	if err := ingest.WriteSpecsMarkdown(&gen); err != nil {
		t.Fatal(err)
	}
	have := readme[i+len(begin) : j]
	if bytes.Equal(have, gen.Bytes()) {
		return
	}
	if !*updateREADME {
		t.Fatalf("README.md's component reference is stale; run: go test ./cmd/medmd -run TestREADMEComponents -update-readme")
	}
	out := append(append(append([]byte{}, readme[:i+len(begin)]...), gen.Bytes()...), readme[j:]...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
