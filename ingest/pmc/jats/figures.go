package jats

import (
	"path"
	"strings"
)

// figureSkip are subtrees that never hold article figures: a <graphic> in a
// table or a formula is not a figure.
var figureSkip = map[string]bool{
	"table-wrap": true, "table-wrap-group": true, "disp-formula": true,
	"inline-formula": true, "disp-formula-group": true, "chem-struct-wrap": true,
	"chem-struct": true, "supplementary-material": true, "inline-graphic": true,
	"front": true, "ref-list": true, "media": true, "table": true,
	// Figures of peer-review documents and replies belong to those, not to
	// the article whose body text we extract.
	"sub-article": true, "response": true,
}

// collectFigures walks the article in document order and appends every
// figure: <fig> anywhere (body, back, floats-group), members of a
// <fig-group> (inheriting the group's caption when they have none), and a
// <graphic> that stands outside any <fig> (JATS allows it; the graphic's own
// <label>/<caption> children, if any, describe it).
func (b *builder) collectFigures(n int32, group int32) {
	d := b.d
	for c := d.nodes[n].first; c >= 0; c = d.nodes[c].next {
		nd := &d.nodes[c]
		if nd.kind != kindElem || figureSkip[nd.name] {
			continue
		}
		switch nd.name {
		case "fig":
			b.addFigure(c, group)
		case "fig-group":
			if d.find(c, "fig") < 0 {
				// A group with graphics but no <fig>: the group is the figure.
				b.addFigure(c, -1)
				continue
			}
			b.collectFigures(c, c)
		case "graphic":
			if href := d.attr(c, "href"); href != "" {
				b.addFigure(c, group)
			}
		default:
			b.collectFigures(c, group)
		}
	}
}

func (b *builder) addFigure(fig, group int32) {
	d := b.d
	f := Figure{ID: d.attr(fig, "id")}
	if l := d.child(fig, "label"); l >= 0 {
		f.Label = strings.TrimRight(b.inlineString(l), ".: ")
	}
	capNode := d.child(fig, "caption")
	if capNode < 0 && group >= 0 {
		capNode = d.child(group, "caption")
	}
	if group >= 0 {
		f.GroupID = d.attr(group, "id")
		if f.Label == "" {
			if l := d.child(group, "label"); l >= 0 {
				f.Label = strings.TrimRight(b.inlineString(l), ".: ")
			}
		}
	}
	if capNode >= 0 {
		for c := d.nodes[capNode].first; c >= 0; c = d.nodes[c].next {
			if d.nodes[c].kind != kindElem {
				continue
			}
			switch d.nodes[c].name {
			case "title":
				f.Title = b.inlineString(c)
			case "p":
				if s := b.inlineString(c); s != "" {
					f.Paragraphs = append(f.Paragraphs, s)
				}
			}
		}
	}
	parts := make([]string, 0, 1+len(f.Paragraphs))
	if f.Title != "" {
		t := f.Title
		if !strings.ContainsAny(t[len(t)-1:], ".!?:") {
			t += "."
		}
		parts = append(parts, t)
	}
	parts = append(parts, f.Paragraphs...)
	f.Caption = strings.Join(parts, " ")
	if d.nodes[fig].name == "graphic" {
		f.Href = d.attr(fig, "href")
	} else {
		f.Href = b.firstGraphic(fig)
	}
	b.a.Figures = append(b.a.Figures, f)
}

// firstGraphic returns the href of the first <graphic> under n (inside
// <alternatives> too), skipping inline graphics in the caption.
func (b *builder) firstGraphic(n int32) string {
	d := b.d
	for c := d.nodes[n].first; c >= 0; c = d.nodes[c].next {
		nd := &d.nodes[c]
		if nd.kind != kindElem || nd.name == "caption" || nd.name == "inline-graphic" {
			continue
		}
		if nd.name == "graphic" {
			if h := d.attr(c, "href"); h != "" {
				return h
			}
		}
		if h := b.firstGraphic(c); h != "" {
			return h
		}
	}
	return ""
}

// graphicExts is the order in which PMC's own viewer looks for a figure
// file when the href has no extension: the web JPEG first, then the
// lossless and archival formats.
var graphicExts = []string{".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".eps", ".svg"}

// ResolveGraphic maps a graphic href (often extension-less, e.g.
// "pone.0046493.g001") to one of files: an exact match on the base name,
// else the base name with each of graphicExts (case-insensitive), else the
// href with its own extension swapped for one of them. It returns href
// unchanged when files is empty or nothing matches.
func ResolveGraphic(href string, files []string) string {
	if href == "" || len(files) == 0 {
		return href
	}
	base := strings.ToLower(path.Base(strings.ReplaceAll(href, "\\", "/")))
	byBase := make(map[string]string, len(files))
	for _, f := range files {
		k := strings.ToLower(path.Base(f))
		if _, dup := byBase[k]; !dup {
			byBase[k] = f
		}
	}
	if f, ok := byBase[base]; ok {
		return f
	}
	for _, e := range graphicExts {
		if f, ok := byBase[base+e]; ok {
			return f
		}
	}
	if ext := path.Ext(base); ext != "" {
		stem := strings.TrimSuffix(base, ext)
		for _, e := range graphicExts {
			if f, ok := byBase[stem+e]; ok {
				return f
			}
		}
	}
	return href
}
