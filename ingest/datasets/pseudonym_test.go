package datasets

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

// TestPatientPseudonyms: the sources whose groups and paths carry patient
// ids (MIMIC-CXR subject, CheXpert and ChestX-ray14 patient) key them with
// MEDMD_PSEUDONYM_KEY. The key is read once per process, so the keyed run
// is a child process; it must keep the grouping (same number of groups)
// while sharing no group and no pseudonymised path with the unkeyed run,
// which is the plain SHA-256 older corpora hold. Public case ids keep
// their plain hash either way.
func TestPatientPseudonyms(t *testing.T) {
	collect := func() (groups, paths map[string]bool, public string) {
		groups, paths = map[string]bool{}, map[string]bool{}
		for _, name := range []string{mimicName, cheXpertName, chestXray14Name} {
			for _, s := range runPipeline(t, name).samples {
				if s.Group == "" {
					t.Fatalf("%s: sample %s without group", name, s.ID)
				}
				groups[s.Group] = true
				for _, im := range s.Images {
					if strings.Contains(im.SourcePath, "pid-") {
						paths[im.SourcePath] = true
					}
				}
			}
		}
		return groups, paths, group(radiopaediaName, "12345")
	}
	groups, paths, public := collect()
	if public != shards.HashString(radiopaediaName+":12345") {
		t.Fatalf("public case group %s changed", public)
	}
	if len(groups) < 3 || len(paths) == 0 {
		t.Fatalf("%d groups, %d pseudonymised paths: test data too small", len(groups), len(paths))
	}
	if os.Getenv("MEDMD_PSEUDONYM_TEST_CHILD") == "" {
		if patientGroup("mimic", "10000032") != shards.HashString("mimic:10000032") {
			t.Fatal("unkeyed patient group is not the plain SHA-256 of older corpora")
		}
		var b strings.Builder
		for g := range groups {
			b.WriteString(g + "\n")
		}
		for p := range paths {
			b.WriteString(p + "\n")
		}
		list := filepath.Join(t.TempDir(), "unkeyed.txt")
		if err := os.WriteFile(list, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestPatientPseudonyms$")
		cmd.Env = append(os.Environ(), "MEDMD_PSEUDONYM_TEST_CHILD="+list, shards.PseudonymKeyEnv+"=test-secret")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("keyed child: %v\n%s", err, out)
		}
		return
	}
	data, err := os.ReadFile(os.Getenv("MEDMD_PSEUDONYM_TEST_CHILD"))
	if err != nil {
		t.Fatal(err)
	}
	unkeyed := map[string]bool{}
	nGroups := 0
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		unkeyed[l] = true
		if !strings.Contains(l, "/") {
			nGroups++
		}
	}
	if nGroups != len(groups) {
		t.Errorf("keyed run has %d groups, unkeyed %d", len(groups), nGroups)
	}
	for g := range groups {
		if unkeyed[g] {
			t.Errorf("group %s is the unkeyed hash", g)
		}
	}
	for p := range paths {
		if unkeyed[p] {
			t.Errorf("path %s is pseudonymised without the key", p)
		}
	}
}
