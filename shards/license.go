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
//     "public domain", "CC BY 3.0 US"): a Creative Commons code with a
//     version (and, for a ported licence, its jurisdiction) becomes the
//     listed identifier ("CC-BY-4.0", "CC-BY-3.0-US"), and one SPDX does
//     not list (CC BY 3.0 ES) LicenseRef-CC-BY-3.0-ES; one without a
//     version, which SPDX does not list, becomes LicenseRef-PMC-CC-BY…
//     rather than a guessed version; "CC0" is CC0-1.0 and "CC PDM" (the
//     Public Domain Mark, creativecommons.org/publicdomain/mark/1.0)
//     CC-PDM-1.0 (their only versions); a bare "public domain", "TDM"
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
		id := "CC-" + m[1] + "-" + m[2]
		if m[3] != "" {
			id += "-" + m[3]
		}
		if !spdxCC[id] {
			return "LicenseRef-" + id
		}
		return id
	}
	if spdxIDRe.MatchString(s) {
		return s
	}
	return "LicenseRef-" + strings.Trim(nonIDRunRe.ReplaceAllString(s, "-"), "-")
}

// licenseAliases maps upper-cased spellings without a pattern.
var licenseAliases = map[string]string{
	"CC0":        "CC0-1.0",
	"CC0 1.0":    "CC0-1.0",
	"CC-ZERO":    "CC0-1.0",
	"CC PDM":     "CC-PDM-1.0",
	"CC PDM 1.0": "CC-PDM-1.0",
	// PMC's "public domain" without the Mark's URL names no licence SPDX
	// lists: the article may be a US government work or just say so.
	"PUBLIC DOMAIN": "LicenseRef-PMC-public-domain",
	"PUBLIC-DOMAIN": "LicenseRef-PMC-public-domain",
	"PD":            "LicenseRef-PMC-public-domain",
	"TDM":           "LicenseRef-PMC-TDM",
	"NO-CC CODE":    "LicenseRef-PMC-no-CC-code",
}

// spdxCC are the Creative Commons identifiers the SPDX License List holds
// (license-list-XML src/, July 2026): every version of each family, and
// the few ported licences it lists.
var spdxCC = map[string]bool{}

func init() {
	for _, id := range strings.Fields(`
		CC-BY-1.0 CC-BY-2.0 CC-BY-2.5 CC-BY-3.0 CC-BY-4.0
		CC-BY-2.5-AU CC-BY-3.0-AT CC-BY-3.0-AU CC-BY-3.0-DE CC-BY-3.0-IGO CC-BY-3.0-NL CC-BY-3.0-US
		CC-BY-NC-1.0 CC-BY-NC-2.0 CC-BY-NC-2.5 CC-BY-NC-3.0 CC-BY-NC-4.0 CC-BY-NC-3.0-DE CC-BY-NC-3.0-IGO
		CC-BY-NC-ND-1.0 CC-BY-NC-ND-2.0 CC-BY-NC-ND-2.5 CC-BY-NC-ND-3.0 CC-BY-NC-ND-4.0 CC-BY-NC-ND-3.0-DE CC-BY-NC-ND-3.0-IGO
		CC-BY-NC-SA-1.0 CC-BY-NC-SA-2.0 CC-BY-NC-SA-2.5 CC-BY-NC-SA-3.0 CC-BY-NC-SA-4.0
		CC-BY-NC-SA-2.0-DE CC-BY-NC-SA-2.0-FR CC-BY-NC-SA-2.0-UK CC-BY-NC-SA-3.0-DE CC-BY-NC-SA-3.0-IGO
		CC-BY-ND-1.0 CC-BY-ND-2.0 CC-BY-ND-2.5 CC-BY-ND-3.0 CC-BY-ND-4.0 CC-BY-ND-3.0-DE
		CC-BY-SA-1.0 CC-BY-SA-2.0 CC-BY-SA-2.5 CC-BY-SA-3.0 CC-BY-SA-4.0
		CC-BY-SA-2.0-UK CC-BY-SA-2.1-JP CC-BY-SA-3.0-AT CC-BY-SA-3.0-DE CC-BY-SA-3.0-IGO`) {
		spdxCC[id] = true
	}
}

var (
	// ccCodeRe matches a Creative Commons code with spaces or hyphens
	// ("CC BY-NC-SA 3.0", "CC-BY-4.0", "CC BY", "CC BY 3.0 US"): the
	// family, the version and a ported licence's jurisdiction.
	ccCodeRe   = regexp.MustCompile(`^CC[ -](BY(?:-NC)?(?:-ND|-SA)?)(?:[ -](\d\.\d)(?:[ -]([A-Z]{2}|IGO))?)?$`)
	spdxIDRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+-]*$`)
	nonIDRunRe = regexp.MustCompile(`[^A-Za-z0-9.+-]+`)
)
