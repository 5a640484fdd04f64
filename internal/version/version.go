// Package version says which build of medmd is running (`medmd
// --version`), from what the Go toolchain stamped into the binary.
package version

import "runtime/debug"

// String is the module version and the VCS revision the binary was built
// from (with "(modified)" for a dirty tree, and the commit time), then
// the Go version.
func String() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (built without module information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		v += ", revision " + rev
		if settings["vcs.modified"] == "true" {
			v += " (modified)"
		}
		if t := settings["vcs.time"]; t != "" {
			v += ", " + t
		}
	}
	return v + ", " + bi.GoVersion
}
