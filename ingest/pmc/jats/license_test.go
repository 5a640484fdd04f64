package jats

import "testing"

// TestLicenseElement: the licence an article's <permissions> states, as
// PMC's JATS writes it (xlink:href, NISO ALI <ali:license_ref>, text).
func TestLicenseElement(t *testing.T) {
	tests := []struct{ name, permissions, want string }{
		{"xlink:href", `<license xlink:href="https://creativecommons.org/licenses/by/4.0/"><license-p>Open.</license-p></license>`, "CC BY 4.0"},
		{"ali:license_ref", `<license><ali:license_ref>https://creativecommons.org/licenses/by-nc/4.0/</ali:license_ref><license-p>Open.</license-p></license>`, "CC BY-NC 4.0"},
		{"ali:license_ref beats a publisher's link", `<license xlink:href="https://www.example.org/terms"><ali:license_ref>http://creativecommons.org/licenses/by/3.0/us/</ali:license_ref></license>`, "CC BY 3.0 US"},
		{"href kept over a second CC address", `<license xlink:href="https://creativecommons.org/licenses/by/4.0/"><ali:license_ref>https://creativecommons.org/licenses/by/2.0/</ali:license_ref></license>`, "CC BY 4.0"},
		{"text only: no version", `<license><license-p>This is an open access article under the terms of the Creative Commons Attribution License.</license-p></license>`, "CC BY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := `<article xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:ali="http://www.niso.org/schemas/ali/1.0/"><front><article-meta>` +
				`<article-id pub-id-type="pmc">PMC1</article-id><permissions>` + tc.permissions + `</permissions></article-meta></front><body><p>x</p></body></article>`
			a, err := ParseString(src, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if a.License != tc.want {
				t.Errorf("licence %q, want %q", a.License, tc.want)
			}
		})
	}
}
