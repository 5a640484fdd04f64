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
			fmt.Fprintf(w, "#### `%s`\n\n%s\n\n", s.Name, s.Summary)
			if len(s.Fields) == 0 {
				continue
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
	}
	section("Sources", SourceSpecs())
	section("Stages", StageSpecs())
	return nil
}
