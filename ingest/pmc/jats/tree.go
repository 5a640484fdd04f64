// Package jats parses JATS / NLM article XML (the `.nxml` files of PubMed
// Central's Open Access packages) into the fields medmd trains on: metadata,
// body text by section, figures with captions, panels and in-text mentions,
// and case-report text.
//
// The parser is deliberately tolerant: real PMC files mix DTD versions
// (NLM 2.3 … JATS 1.3), namespaces (xlink, mml, ali), entities, mixed
// content and structural oddities (<fig-group>, <graphic> outside <fig>,
// figures in <floats-group>). It never fails on malformed markup; it builds
// the best tree it can, as browsers do, and extraction works on that tree.
//
// Elements follow the JATS Tag Library 1.3 (https://jats.nlm.nih.gov/archiving/tag-library/1.3/).
package jats

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// kind of a tree node.
const (
	kindElem uint8 = iota + 1
	kindText
)

// node is one element or text run. Nodes live in doc.nodes and point at each
// other by index (-1 = none), so building a tree costs one slice, not one
// allocation per node.
type node struct {
	kind uint8
	// name is the element's local name ("math" for "mml:math"), or the
	// decoded character data of a text node.
	name                      string
	attrLo, attrHi            int32
	parent, first, last, next int32
}

// attr is one attribute as written; name keeps its prefix ("xlink:href").
type attr struct {
	name, value string
}

// doc is a parsed XML tree. Strings in it are substrings of the source
// string (or freshly decoded when they held entities), so the tree keeps the
// source alive.
type doc struct {
	nodes []node
	attrs []attr
}

// limits that keep a hostile file from making the parser allocate without
// bound: depth beyond maxDepth is flattened into the deepest open element.
const maxDepth = 512

// docPool recycles trees: the node and attribute slices are the bulk of a
// parse's allocation, and no string in an Article points into them.
var docPool = sync.Pool{New: func() any { return new(doc) }}

// release returns d to the pool. d must not be used afterwards.
func (d *doc) release() {
	if cap(d.nodes) > 1<<20 { // keep pathological trees out of the pool
		return
	}
	clear(d.nodes[:cap(d.nodes)])
	clear(d.attrs[:cap(d.attrs)])
	docPool.Put(d)
}

// parseTree builds a tree from src. It never fails: unclosed elements are
// closed at the end, stray end tags are ignored, a '<' that starts no markup
// is text, and unknown entities are kept literally. Node 0 is a synthetic
// root.
func parseTree(src string) *doc {
	est := strings.Count(src, "<")
	// Start tags, end tags and text alternate, so est+2 nodes is a close
	// upper bound for real files; append grows it for odd ones.
	d := docPool.Get().(*doc)
	if cap(d.nodes) < est+2 {
		d.nodes = make([]node, 0, est+2)
	}
	d.nodes, d.attrs = d.nodes[:0], d.attrs[:0]
	d.nodes = append(d.nodes, node{kind: kindElem, name: "#root", parent: -1, first: -1, last: -1, next: -1})
	stack := make([]int32, 1, 64)
	stack[0] = 0
	i := 0
	for i < len(src) {
		lt := strings.IndexByte(src[i:], '<')
		if lt < 0 {
			d.addText(stack[len(stack)-1], src[i:], true)
			break
		}
		if lt > 0 {
			d.addText(stack[len(stack)-1], src[i:i+lt], true)
			i += lt
		}
		// src[i] == '<'
		rest := src[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				return d
			}
			i += 4 + end + 3
		case strings.HasPrefix(rest, "<![CDATA["):
			end := strings.Index(rest[9:], "]]>")
			if end < 0 {
				d.addText(stack[len(stack)-1], rest[9:], false)
				return d
			}
			d.addText(stack[len(stack)-1], rest[9:9+end], false)
			i += 9 + end + 3
		case strings.HasPrefix(rest, "<!"):
			i += skipDecl(rest)
		case strings.HasPrefix(rest, "<?"):
			end := strings.Index(rest[2:], "?>")
			if end < 0 {
				return d
			}
			i += 2 + end + 2
		case strings.HasPrefix(rest, "</"):
			j := 2
			for j < len(rest) && isNameByte(rest[j]) {
				j++
			}
			name := localName(rest[2:j])
			gt := strings.IndexByte(rest[j:], '>')
			if gt < 0 {
				return d
			}
			i += j + gt + 1
			// Close up to the nearest open element of that name; a stray
			// end tag closes nothing.
			for k := len(stack) - 1; k > 0; k-- {
				if d.nodes[stack[k]].name == name {
					stack = stack[:k]
					break
				}
			}
		default:
			if len(rest) < 2 || !isNameStart(rest[1]) {
				d.addText(stack[len(stack)-1], "<", false)
				i++
				continue
			}
			n, selfClose, adv := d.parseStartTag(rest)
			i += adv
			parent := stack[len(stack)-1]
			idx := d.appendChild(parent, n)
			if !selfClose && len(stack) < maxDepth {
				stack = append(stack, idx)
			}
		}
	}
	return d
}

// skipDecl returns the length of a <!DOCTYPE …> or other <!…> declaration,
// including an internal subset in brackets.
func skipDecl(s string) int {
	depth := 0
	for j := 2; j < len(s); j++ {
		switch s[j] {
		case '[':
			depth++
		case ']':
			depth--
		case '>':
			if depth <= 0 {
				return j + 1
			}
		}
	}
	return len(s)
}

// parseStartTag parses "<name attr="v" …>" at the start of s. It returns the
// node (attributes appended to d.attrs), whether it was self-closing, and
// the bytes consumed.
func (d *doc) parseStartTag(s string) (node, bool, int) {
	j := 1
	for j < len(s) && isNameByte(s[j]) {
		j++
	}
	n := node{kind: kindElem, name: localName(s[1:j]), first: -1, last: -1, next: -1}
	n.attrLo = int32(len(d.attrs))
	for j < len(s) {
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		if j >= len(s) {
			break
		}
		switch s[j] {
		case '>':
			n.attrHi = int32(len(d.attrs))
			return n, false, j + 1
		case '/':
			if j+1 < len(s) && s[j+1] == '>' {
				n.attrHi = int32(len(d.attrs))
				return n, true, j + 2
			}
			j++
			continue
		}
		k := j
		for k < len(s) && s[k] != '=' && s[k] != '>' && s[k] != '/' && !isSpace(s[k]) {
			k++
		}
		if k == j { // garbage byte: skip it
			j++
			continue
		}
		aname := s[j:k]
		for k < len(s) && isSpace(s[k]) {
			k++
		}
		val := ""
		if k < len(s) && s[k] == '=' {
			k++
			for k < len(s) && isSpace(s[k]) {
				k++
			}
			if k < len(s) && (s[k] == '"' || s[k] == '\'') {
				q := s[k]
				end := strings.IndexByte(s[k+1:], q)
				if end < 0 {
					val = s[k+1:]
					k = len(s)
				} else {
					val = s[k+1 : k+1+end]
					k += end + 2
				}
			} else {
				v := k
				for k < len(s) && s[k] != '>' && !isSpace(s[k]) {
					k++
				}
				val = s[v:k]
			}
		}
		if strings.IndexByte(val, '&') >= 0 {
			val = decodeEntities(val)
		}
		d.attrs = append(d.attrs, attr{aname, validUTF8(val)})
		j = k
	}
	n.attrHi = int32(len(d.attrs))
	return n, false, len(s)
}

func (d *doc) appendChild(parent int32, n node) int32 {
	idx := int32(len(d.nodes))
	n.parent = parent
	d.nodes = append(d.nodes, n)
	p := &d.nodes[parent]
	if p.last >= 0 {
		d.nodes[p.last].next = idx
	} else {
		p.first = idx
	}
	p.last = idx
	return idx
}

func (d *doc) addText(parent int32, s string, decode bool) {
	if decode && strings.IndexByte(s, '&') >= 0 {
		s = decodeEntities(s)
	}
	if s == "" {
		return
	}
	s = validUTF8(s)
	// Merge with a preceding text sibling (CDATA next to text).
	if l := d.nodes[parent].last; l >= 0 && d.nodes[l].kind == kindText {
		d.nodes[l].name += s
		return
	}
	d.appendChild(parent, node{kind: kindText, name: s, first: -1, last: -1, next: -1})
}

// attr returns the value of the attribute whose local name is name.
func (d *doc) attr(n int32, name string) string {
	nd := &d.nodes[n]
	for _, a := range d.attrs[nd.attrLo:nd.attrHi] {
		if localName(a.name) == name {
			return a.value
		}
	}
	return ""
}

// child returns the first element child named name, or -1.
func (d *doc) child(n int32, name string) int32 {
	for c := d.nodes[n].first; c >= 0; c = d.nodes[c].next {
		if d.nodes[c].kind == kindElem && d.nodes[c].name == name {
			return c
		}
	}
	return -1
}

// find returns the first descendant element named name (pre-order), or -1.
func (d *doc) find(n int32, name string) int32 {
	for c := d.nodes[n].first; c >= 0; c = d.nodes[c].next {
		if d.nodes[c].kind != kindElem {
			continue
		}
		if d.nodes[c].name == name {
			return c
		}
		if r := d.find(c, name); r >= 0 {
			return r
		}
	}
	return -1
}

// path follows child names from n, returning -1 when a step is missing.
func (d *doc) path(n int32, names ...string) int32 {
	for _, nm := range names {
		if n < 0 {
			return -1
		}
		n = d.child(n, nm)
	}
	return n
}

// textOf returns the concatenated character data under n, whitespace
// collapsed and trimmed.
func (d *doc) textOf(n int32) string {
	if n < 0 {
		return ""
	}
	var b textBuf
	d.rawText(n, &b)
	return b.String()
}

func (d *doc) rawText(n int32, b *textBuf) {
	nd := &d.nodes[n]
	if nd.kind == kindText {
		b.WriteString(nd.name)
		return
	}
	for c := nd.first; c >= 0; c = d.nodes[c].next {
		d.rawText(c, b)
	}
}

func localName(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= utf8.RuneSelf
}

func isNameByte(c byte) bool {
	return isNameStart(c) || c >= '0' && c <= '9' || c == '-' || c == '.'
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// validUTF8 is s with each byte that is not part of valid UTF-8 replaced
// by U+FFFD: text goes into Arrow string columns, which must hold UTF-8,
// and a mislabelled Latin-1 byte (0x94, a curly quote) is not rare.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
