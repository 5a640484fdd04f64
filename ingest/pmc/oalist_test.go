package pmc

import (
	"strings"
	"testing"
)

func TestReadOAList(t *testing.T) {
	tests := []struct {
		name, csv string
		wantErr   string
		want      []OARow
	}{
		{"bom and quoted citation", "\ufeff" + strings.Join(OAHeader, ",") + "\n" +
			`oa_package/08/e0/PMC13900.tar.gz,"Breast Cancer Res. 2001 Nov 2; 3(1):55-60",PMC13900,2019-11-05 11:56:12,11250746,NO-CC CODE` + "\n\n",
			"", []OARow{{File: "oa_package/08/e0/PMC13900.tar.gz", PMCID: "PMC13900", PMID: "11250746", License: "NO-CC CODE", Journal: "Breast Cancer Res"}}},
		{"missing column", "File,Citation\nx,y\n", `lacks column "Accession ID"`, nil},
		{"bad accession", strings.Join(OAHeader, ",") + "\nx.tar.gz,c,12345,2019-11-05 11:56:12,,CC BY\n", ":2: row needs", nil},
		{"bad date", strings.Join(OAHeader, ",") + "\nx.tar.gz,c,PMC1,yesterday,,CC BY\n", "Last Updated", nil},
		{"empty", "", "header", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := ReadOAList(strings.NewReader(tc.csv), "list.csv")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "list.csv") {
					t.Fatalf("err = %v, want one naming list.csv and %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				rows[i].Citation, rows[i].Updated = "", rows[i].Updated.UTC()
			}
			if len(rows) != len(tc.want) || rows[0].File != tc.want[0].File || rows[0].PMCID != tc.want[0].PMCID ||
				rows[0].Journal != tc.want[0].Journal || rows[0].License != tc.want[0].License || rows[0].Updated.Year() != 2019 {
				t.Errorf("rows %+v", rows)
			}
		})
	}
}

func TestFilterDedupeAndOrder(t *testing.T) {
	list := strings.Join(OAHeader, ",") + "\n" +
		"b.tar.gz,J. 2001; 1,PMC100,2020-01-01 00:00:00,,CC BY\n" +
		"a.tar.gz,J. 2001; 1,PMC99,2020-01-01 00:00:00,,CC BY\n" +
		"b2.tar.gz,J. 2001; 1,PMC100,2021-01-01 00:00:00,,CC BY\n" +
		"c.tar.gz,J. 2001; 1,PMC5,2020-01-01 00:00:00,,CC BY-ND\n"
	rows, err := Filter{Licences: DefaultLicences}.ReadFiltered(strings.NewReader(list), "l")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.PMCID+":"+r.File)
	}
	if strings.Join(got, " ") != "PMC99:a.tar.gz PMC100:b2.tar.gz" {
		t.Errorf("got %v (want numeric PMCID order, latest row per PMCID, CC BY-ND dropped)", got)
	}
}
