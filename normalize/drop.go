// Package normalize holds pure per-sample transforms and filters: volume
// geometry, intensity, 2D decoding, text rules and the RadMD filters. It does
// no file or network I/O; ingest wraps these functions as pipeline stages.
package normalize

import "fmt"

// DropError is returned by a filter that removes a sample. Reason is a short
// stable code (e.g. "not-radiology", "duplicate"); Detail says why in words;
// KeptID points at the sample kept instead, for duplicates.
type DropError struct {
	Reason string
	Detail string
	KeptID string
}

func (e *DropError) Error() string {
	if e.Detail == "" {
		return "dropped: " + e.Reason
	}
	return fmt.Sprintf("dropped: %s: %s", e.Reason, e.Detail)
}
