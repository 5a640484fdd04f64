package dicom

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/medmd/medmd/ingest"
)

// planted are identifying values written into every attribute PS3.15
// Annex E's Basic Profile removes; none may reach any byte of the output.
var planted = map[uint32]string{
	0x00080050: "ZZACC98765",                 // AccessionNumber
	0x00080080: "ZZINSTITUTION HOSPITAL",     // InstitutionName
	0x00080081: "ZZ 1 INSTITUTION ROAD",      // InstitutionAddress
	0x00080090: "ZZREFDOC^ZZANNA",            // ReferringPhysicianName
	0x00080092: "ZZ 7 REFERRER LANE",         // ReferringPhysicianAddress
	0x00080094: "ZZ5550100",                  // ReferringPhysicianTelephoneNumbers
	0x00081010: "ZZSTATION",                  // StationName
	0x00081030: "ZZSTUDYDESC",                // StudyDescription
	0x0008103E: "ZZSERIESDESC ZZPATIENTNAME", // SeriesDescription
	0x00081040: "ZZDEPARTMENT",               // InstitutionalDepartmentName
	0x00081048: "ZZRECORDDOC",                // PhysiciansOfRecord
	0x00081050: "ZZPERFDOC",                  // PerformingPhysicianName
	0x00081060: "ZZREADDOC",                  // NameOfPhysiciansReadingStudy
	0x00081070: "ZZOPERATOR",                 // OperatorsName
	0x00084000: "ZZIDCOMMENT",                // IdentifyingComments
	0x00100010: "ZZPATIENTNAME^ZZGIVEN",      // PatientName
	0x00100020: "ZZ123456",                   // PatientID
	0x00100030: "19230417",                   // PatientBirthDate
	0x00101000: "ZZOTHERID77",                // OtherPatientIDs
	0x00101001: "ZZOTHERNAME",                // OtherPatientNames
	0x00101005: "ZZBIRTHNAME",                // PatientBirthName
	0x00101040: "ZZ 12 ELM STREET ZZTOWN",    // PatientAddress
	0x00101060: "ZZMOTHERNAME",               // PatientMotherBirthName
	0x00102154: "ZZ5550199",                  // PatientTelephoneNumbers
	0x001021B0: "ZZHISTORY",                  // AdditionalPatientHistory
	0x00104000: "ZZPATCOMMENT",               // PatientComments
	0x00181000: "ZZSERIAL4242",               // DeviceSerialNumber
	0x00181030: "ZZPROTOCOL",                 // ProtocolName
	0x00200010: "ZZSTUDYID",                  // StudyID
	0x00204000: "ZZIMAGECOMMENT",             // ImageComments
	0x00324000: "ZZSTUDYCOMMENT",             // StudyComments
}

// Dates, UIDs and the characteristics that are kept.
const (
	plantStudyUID  = "1.2.826.0.1.3680043.2.1125.991001"
	plantSeriesUID = "1.2.826.0.1.3680043.2.1125.991002"
	plantSOPUID    = "1.2.826.0.1.3680043.2.1125.991003"
	plantFoRUID    = "1.2.826.0.1.3680043.2.1125.991004"
	plantDate      = "20190315"
)

// writePlanted rewrites the real implicit-VR MR slice with every planted
// value, the UIDs, dates, age and sex, plus extra (BurnedInAnnotation).
func writePlanted(t *testing.T, path, seriesUID, sopUID string, extra map[uint32]string) {
	t.Helper()
	tmpl, err := os.ReadFile("testdata/pydicom_MR_small_implicit.dcm")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("template", tmpl)
	if err != nil {
		t.Fatal(err)
	}
	elems, err := topElements(f.ds, f.sx)
	if err != nil {
		t.Fatal(err)
	}
	over := map[uint32]string{
		0x00080018: sopUID, 0x0020000D: plantStudyUID, 0x0020000E: seriesUID, 0x00200052: plantFoRUID,
		0x00080020: plantDate, 0x00080021: plantDate, 0x00080022: plantDate, 0x00080023: plantDate,
		0x00101010: "054Y", 0x00100040: "F",
		0x00080008: `ORIGINAL\PRIMARY\AXIAL`, // the template says DERIVED\SECONDARY
	}
	for k, v := range planted {
		over[k] = v
	}
	for k, v := range extra {
		over[k] = v
	}
	var buf bytes.Buffer
	buf.Write(make([]byte, 128))
	buf.WriteString("DICM")
	writeMeta(&buf, "1.2.840.10008.5.1.4.1.1.4", sopUID)
	writeImplicit(&buf, elems, over)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPipelineOutputHasNoIdentifiers runs a dicom pipeline through the
// runner over a real MR slice whose header carries an identifying value in
// every attribute the Basic Profile removes (and the patient's ID and
// name in its folder name), beside a burned-in copy and a cut file, and
// searches every byte of the output folder (Parquet read back through
// arrow-go, since its pages are compressed) for any of them, for the
// original UIDs and for the unshifted date.
func TestPipelineOutputHasNoIdentifiers(t *testing.T) {
	t.Setenv("MEDMD_PSEUDONYM_KEY", "test-key-for-deid")
	base := t.TempDir()
	dir := filepath.Join(base, "in", "ZZ123456_ZZPATIENTNAME", "ZZACC98765")
	writePlanted(t, filepath.Join(dir, "mr.dcm"), plantSeriesUID, plantSOPUID, nil)
	writePlanted(t, filepath.Join(dir, "burned.dcm"), plantSeriesUID+"9", plantSOPUID+"9", map[uint32]string{tagBurnedIn: "YES"})
	cut, _ := os.ReadFile(filepath.Join(dir, "mr.dcm"))
	if err := os.WriteFile(filepath.Join(dir, "cut.dcm"), cut[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	yml := `pipelines:
  - name: deid
    source:
      type: dicom
      paths: [in]
    max_failure_fraction: 0.9
    output:
      dir: ` + filepath.Join(base, "out") + `
      shard_units: 1
      parquet: full
`
	cfg, err := ingest.ParseConfig(filepath.Join(base, "pipelines.yaml"), []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Pipeline("deid")
	if err != nil {
		t.Fatal(err)
	}
	src, stages, err := p.Build(cfg.BaseDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	plan, err := ingest.MakePlan(ctx, p, src)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.Run(ctx, plan, src, stages, ingest.RunOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sum.String(), "de-identified 1 images") || !strings.Contains(sum.String(), "1 images with burned-in annotation excluded") {
		t.Errorf("summary lacks the de-identification line:\n%s", sum)
	}

	// Every value, and each of its ZZ words (a name's components, an
	// address's street), must be absent.
	secrets := []string{plantStudyUID, plantSeriesUID, plantSOPUID, plantFoRUID, plantDate, "2019-03-15"}
	for _, v := range planted {
		secrets = append(secrets, v)
		for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == '^' || r == ' ' }) {
			if strings.HasPrefix(w, "ZZ") {
				secrets = append(secrets, w)
			}
		}
	}
	out := filepath.Join(base, "out")
	var files, parquets int
	var everything bytes.Buffer
	err = filepath.Walk(out, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".parquet") {
			parquets++
			data = parquetJSON(t, path)
		}
		everything.Write(data)
		low := strings.ToLower(string(data))
		for _, s := range secrets {
			if len(s) >= 3 && strings.Contains(low, strings.ToLower(s)) {
				t.Errorf("%s holds %q", strings.TrimPrefix(path, out), s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 4 || parquets == 0 {
		t.Fatalf("output has %d files, %d Parquet: the run wrote less than expected", files, parquets)
	}
	// What is kept and replaced is there: age, sex, the shifted date,
	// 2.25 UIDs, and the report counts every planted attribute as removed.
	all := everything.String()
	shifted := time.Date(2019, 3, 15, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -dateShiftDays(&Header{PatientID: "ZZ123456"})).Format("20060102")
	for _, want := range []string{"054Y", "2.25.", `"study_date"`, shifted} {
		if !strings.Contains(all, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	var rep DeidReport
	b, err := os.ReadFile(filepath.Join(out, "deid.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	for _, a := range deidAttrs {
		if _, ok := planted[a.tag]; !ok {
			continue
		}
		k := tagKey(a)
		want := "removed"
		if a.kind == "pid" {
			want = "replaced"
		}
		if rep.Tags[k][want] != 1 {
			t.Errorf("deid.json %s: %v, want %s 1", k, rep.Tags[k], want)
		}
	}
	if rep.Tags[tagKey(deidAttr{tag: 0x00080020, name: "StudyDate"})]["shifted"] != 1 || rep.Excluded[burnedInReason] != 1 {
		t.Errorf("deid.json: %s", b)
	}
}

// parquetJSON reads a Parquet file back as JSON of all its columns.
func parquetJSON(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var buf bytes.Buffer
	for i := 0; i < int(tbl.NumCols()); i++ {
		for _, c := range tbl.Column(i).Data().Chunks() {
			js, err := c.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(js)
		}
	}
	return buf.Bytes()
}
