package shards

import "testing"

func TestSPDXLicense(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// PMC's list and metadata codes (oa_file_list.csv, license_code).
		{"CC BY", "LicenseRef-PMC-CC-BY"},
		{"CC BY-NC", "LicenseRef-PMC-CC-BY-NC"},
		{"CC BY-NC-ND", "LicenseRef-PMC-CC-BY-NC-ND"},
		{"CC BY-NC-SA", "LicenseRef-PMC-CC-BY-NC-SA"},
		{"CC BY-SA", "LicenseRef-PMC-CC-BY-SA"},
		{"CC BY-ND", "LicenseRef-PMC-CC-BY-ND"},
		{"CC0", "CC0-1.0"},
		{"TDM", "LicenseRef-PMC-TDM"},
		{"NO-CC CODE", "LicenseRef-PMC-no-CC-code"},
		// Codes read from an article's <license>.
		{"CC BY 4.0", "CC-BY-4.0"},
		{"CC BY 2.0", "CC-BY-2.0"},
		{"CC BY-NC 3.0", "CC-BY-NC-3.0"},
		{"CC BY-NC-ND 4.0", "CC-BY-NC-ND-4.0"},
		{"public domain", "LicenseRef-PMC-public-domain"},
		{"CC PDM 1.0", "CC-PDM-1.0"}, // creativecommons.org/publicdomain/mark/1.0
		{"CC PDM", "CC-PDM-1.0"},
		{"CC-PDM-1.0", "CC-PDM-1.0"},
		// Ported licences: listed ones by their identifier, others not
		// passed off as the unported licence.
		{"CC BY 3.0 US", "CC-BY-3.0-US"},
		{"CC BY-NC-SA 2.0 UK", "CC-BY-NC-SA-2.0-UK"},
		{"CC BY 3.0 IGO", "CC-BY-3.0-IGO"},
		{"CC BY 3.0 ES", "LicenseRef-CC-BY-3.0-ES"},
		{"CC BY-SA 2.1", "LicenseRef-CC-BY-SA-2.1"},
		// Identifiers stay.
		{"CC-BY-4.0", "CC-BY-4.0"},
		{"CC0-1.0", "CC0-1.0"},
		{"CC-BY-NC-SA-3.0", "CC-BY-NC-SA-3.0"},
		{"LicenseRef-PhysioNet-Credentialed-Health-Data-License-1.5.0", "LicenseRef-PhysioNet-Credentialed-Health-Data-License-1.5.0"},
		{"GPL-2.0+", "GPL-2.0+"},
		// Free text becomes a LicenseRef; nothing stays nothing.
		{"internal use only", "LicenseRef-internal-use-only"},
		{"  ", ""},
		{"", ""},
	} {
		if got := SPDXLicense(tc.in); got != tc.want {
			t.Errorf("SPDXLicense(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
