package shards

import (
	"regexp"
	"strings"
)

// SPDXLicense returns the SPDX identifier (https://spdx.org/licenses/) for
// a licence as a source writes it, so that every sample's license column
// speaks one vocabulary whatever the source said:
//
//   - PMC's codes, from oa_file_list.csv, oa_comm/oa_noncomm lists and the
//     PMC Cloud metadata's license_code ("CC BY", "CC BY-NC-ND", "CC0"),
//     and the codes read from an article's <license> ("CC BY 4.0",
//     "public domain"): a Creative Commons code with a version becomes the
//     listed identifier ("CC-BY-4.0"); one without a version, which SPDX
//     does not list, becomes LicenseRef-PMC-CC-BY… rather than a guessed
//     version; "CC0" is CC0-1.0 (its only version); "public domain", "TDM"
//     (author manuscripts' text-mining terms) and "NO-CC CODE" become
//     LicenseRef-PMC-public-domain, LicenseRef-PMC-TDM and
//     LicenseRef-PMC-no-CC-code.
//   - An identifier already (letters, digits, '.', '-', '+', as SPDX ids
//     and LicenseRef-… are) is kept as given.
//   - Any other text becomes LicenseRef-<text>, its other characters
//     replaced by '-', so the column never holds free text.
//
// "" stays "": no licence is recorded, and the run summary says so.
func SPDXLicense(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if id, ok := licenseAliases[strings.ToUpper(s)]; ok {
		return id
	}
	if m := ccCodeRe.FindStringSubmatch(strings.ToUpper(s)); m != nil {
		if m[2] == "" {
			return "LicenseRef-PMC-CC-" + m[1]
		}
		return "CC-" + m[1] + "-" + m[2]
	}
	if spdxIDRe.MatchString(s) {
		return s
	}
	return "LicenseRef-" + strings.Trim(nonIDRunRe.ReplaceAllString(s, "-"), "-")
}

// licenseAliases maps upper-cased spellings without a pattern.
var licenseAliases = map[string]string{
	"CC0":           "CC0-1.0",
	"CC0 1.0":       "CC0-1.0",
	"CC-ZERO":       "CC0-1.0",
	"PUBLIC DOMAIN": "LicenseRef-PMC-public-domain",
	"PUBLIC-DOMAIN": "LicenseRef-PMC-public-domain",
	"PD":            "LicenseRef-PMC-public-domain",
	"TDM":           "LicenseRef-PMC-TDM",
	"NO-CC CODE":    "LicenseRef-PMC-no-CC-code",
}

var (
	// ccCodeRe matches a Creative Commons code with spaces or hyphens
	// ("CC BY-NC-SA 3.0", "CC-BY-4.0", "CC BY"): the family and the
	// version.
	ccCodeRe   = regexp.MustCompile(`^CC[ -](BY(?:-NC)?(?:-ND|-SA)?)(?:[ -](\d\.\d))?$`)
	spdxIDRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+-]*$`)
	nonIDRunRe = regexp.MustCompile(`[^A-Za-z0-9.+-]+`)
)
