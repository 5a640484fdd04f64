package dicom

import (
	"os"
	"os/exec"
	"testing"

	"github.com/medmd/medmd/shards"
)

// TestPatientIDPseudonym: the DICOM PatientID becomes the group and the
// patient_id_sha256 meta through shards.Pseudonym. Without a key it is the
// plain SHA-256 older corpora hold; with MEDMD_PSEUDONYM_KEY set (read once
// per process, so checked in a child process) it is a keyed HMAC a
// dictionary of record numbers cannot reproduce.
func TestPatientIDPseudonym(t *testing.T) {
	const pid = "0012345"
	se := &Series{ID: "1.2.3", Slices: []Slice{{Hdr: &Header{PatientID: pid, StudyInstanceUID: "1.2"}}}}
	group, meta := groupKey2(se.Header(), se), se.Meta()["patient_id_sha256"]
	if group != meta {
		t.Fatalf("group %s and patient_id_sha256 %s differ", group, meta)
	}
	if !Spec.PatientIDs {
		t.Fatal("samples carry a patient pseudonym: the spec must declare PatientIDs, so a run without MEDMD_PSEUDONYM_KEY warns")
	}
	plain := shards.HashString(pid)
	if os.Getenv("MEDMD_PSEUDONYM_TEST_CHILD") == "" {
		if group != plain {
			t.Fatalf("unkeyed group = %s, want the plain SHA-256 %s", group, plain)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestPatientIDPseudonym$")
		cmd.Env = append(os.Environ(), "MEDMD_PSEUDONYM_TEST_CHILD=1", shards.PseudonymKeyEnv+"=test-secret")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("keyed child: %v\n%s", err, out)
		}
		return
	}
	if group == plain || group != shards.Pseudonym("patient", pid) {
		t.Fatalf("keyed group = %s: want the HMAC, not the plain hash %s", group, plain)
	}
}
