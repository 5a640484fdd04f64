package ingest

import (
	"fmt"
	"io"
	"strings"
)

// WriteSpecsMarkdown writes the registered sources and stages as the
// README's component reference: one table per component, generated from the
// specs so the documentation is never written twice.
func WriteSpecsMarkdown(w io.Writer) error {
	section := func(title string, specs []Spec) {
		fmt.Fprintf(w, "### %s\n\n", title)
		for _, s := range specs {
			writeSpec(w, s, "")
		}
	}
	section("Sources", SourceSpecs())
	section("Stages", StageSpecs())
	return nil
}

// WriteSpecMarkdown writes the named components' references (a source
// and a stage may share a name: both are written). An unknown name is an
// error with the nearest known one.
func WriteSpecMarkdown(w io.Writer, names ...string) error {
	var all []string
	for _, s := range append(SourceSpecs(), StageSpecs()...) {
		all = append(all, s.Name)
	}
	for _, name := range names {
		found := false
		for _, group := range []struct {
			kind  string
			specs []Spec
		}{{"source", SourceSpecs()}, {"stage", StageSpecs()}} {
			for _, s := range group.specs {
				if s.Name == name {
					writeSpec(w, s, " ("+group.kind+")")
					found = true
				}
			}
		}
		if !found {
			return fmt.Errorf("no source or stage %q%s (medmd components lists them all)", name, suggest(name, all))
		}
	}
	return nil
}

// writeSpec writes one component's heading (with note after the name),
// summary and field table.
func writeSpec(w io.Writer, s Spec, note string) {
	fmt.Fprintf(w, "#### `%s`%s\n\n%s\n\n", s.Name, note, s.Summary)
	if len(s.Fields) == 0 {
		return
	}
	fmt.Fprintln(w, "| field | type | default | description |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, f := range s.Fields {
		def := ""
		switch {
		case f.Required:
			def = "required"
		case f.Default != nil:
			def = fmt.Sprintf("`%v`", f.Default)
		}
		desc := f.Description
		if len(f.Enum) > 0 {
			desc += " One of: " + strings.Join(f.Enum, ", ") + "."
		}
		if f.Example != "" {
			desc += " Example: `" + f.Example + "`."
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", f.Name, f.Type, def, strings.ReplaceAll(desc, "|", `\|`))
	}
	fmt.Fprintln(w)
}
