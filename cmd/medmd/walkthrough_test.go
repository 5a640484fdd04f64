package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestREADMEWalkthrough pastes the README's walk-through into bash, as a
// new user would, in a fresh copy of the repository (the files a clone
// has, plus uncommitted ones git does not ignore): every step must
// succeed and write under out/.
func TestREADMEWalkthrough(t *testing.T) {
	skipShort(t)
	for _, tool := range []string{"git", "bash", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: the walk-through needs it", tool)
		}
	}
	root := repoFile(t, ".")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := walkthrough(readme)
	if err != nil {
		t.Fatal(err)
	}
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	list, err := ls.Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): cannot make a fresh copy", err)
	}
	copyDir := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			continue // deleted in the working tree, or a folder (submodule)
		}
		dst := filepath.Join(copyDir, rel)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = copyDir
	cmd.Env = append(os.Environ(), "CI=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README walk-through failed: %v\n%s", err, out.String())
	}
	for _, f := range []string{"medmd", "out/radmd-pmc/manifest.json", "out/radbench/radbench.json", "out/train", "out/pred.jsonl", "out/brain.png"} {
		if _, err := os.Stat(filepath.Join(copyDir, f)); err != nil {
			t.Errorf("the walk-through did not make %s: %v", f, err)
		}
	}
	if pngs, _ := filepath.Glob(filepath.Join(copyDir, "*.png")); len(pngs) > 0 {
		t.Errorf("the walk-through wrote PNGs outside out/: %v", pngs)
	}
}

// walkthrough returns the shell block between the README's walkthrough
// markers.
func walkthrough(readme []byte) (string, error) {
	const begin, end = "<!-- walkthrough:begin -->", "<!-- walkthrough:end -->"
	s := string(readme)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return "", errors.New("README.md lacks the " + begin + " … " + end + " markers")
	}
	block := s[i+len(begin) : j]
	a := strings.Index(block, "```sh\n")
	b := strings.LastIndex(block, "```")
	if a < 0 || b <= a {
		return "", errors.New("README.md's walk-through has no ```sh block")
	}
	return block[a+len("```sh\n") : b], nil
}
