package storage

import (
	"net/url"
	"strings"
)

// IsURL reports whether a configured path names a storage root by URL
// (s3://, gs://, azblob://, file://, https://) rather than a local path.
func IsURL(p string) bool { return strings.Contains(p, "://") }

// ObjectURL names one object under root for reports, unit IDs and sample
// provenance: the root without its query (endpoint, region and other
// connection parameters, which differ between machines and say nothing
// about the data), then "/" and the key. ObjectURL("s3://b/scans?region=x",
// "a/1.dcm") is "s3://b/scans/a/1.dcm". A key prefix given as gocloud's
// prefix= parameter rather than as the path is part of the name:
// ObjectURL("s3://b?prefix=scans/", "a/1.dcm") is the same.
func ObjectURL(root, key string) string {
	loc := Location(root)
	if !strings.HasSuffix(loc, "/") {
		loc += "/"
	}
	return loc + key
}

// Location is root without its connection parameters: ObjectURL's name
// for the root itself ("s3://b/scans" for "s3://b?prefix=scans/&region=x").
func Location(root string) string {
	base, query, _ := strings.Cut(root, "?")
	if t := strings.TrimRight(base, "/"); t != "" && !strings.HasSuffix(t, ":") {
		base = t // not the root of a file system
	}
	if !strings.Contains(base, "://") || query == "" {
		return base
	}
	u, err := url.Parse(root)
	if err != nil || strings.Trim(u.Path, "/") != "" {
		return base
	}
	if p := strings.Trim(u.Query().Get("prefix"), "/"); p != "" {
		return base + "/" + p
	}
	return base
}
