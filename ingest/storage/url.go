package storage

import "strings"

// IsURL reports whether a configured path names a storage root by URL
// (s3://, gs://, azblob://, file://, https://) rather than a local path.
func IsURL(p string) bool { return strings.Contains(p, "://") }

// ObjectURL names one object under root for reports, unit IDs and sample
// provenance: the root without its query (endpoint, region and other
// connection parameters, which differ between machines and say nothing
// about the data), then "/" and the key. ObjectURL("s3://b/scans?region=x",
// "a/1.dcm") is "s3://b/scans/a/1.dcm".
func ObjectURL(root, key string) string {
	if i := strings.IndexByte(root, '?'); i >= 0 {
		root = root[:i]
	}
	return strings.TrimRight(root, "/") + "/" + key
}
