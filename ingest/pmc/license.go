package pmc

import (
	"strings"

	"github.com/medmd/medmd/ingest/pmc/jats"
)

// versioned returns the article's own licence code when it names the
// same licence family as PMC's code but with a version (PMC's lists and
// metadata write "CC BY"; the article's <license> link says "CC BY 4.0"),
// so the sample's SPDX identifier carries the version the article states
// rather than none. Otherwise PMC's code stands.
func versioned(code, article string) string {
	if code == "" || article == "" {
		if code == "" {
			return article
		}
		return code
	}
	if !strings.EqualFold(code, article) && jats.LicenseFamily(article) == jats.LicenseFamily(code) {
		return article
	}
	return code
}
