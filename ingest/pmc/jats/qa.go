package jats

import (
	"regexp"
	"strings"
)

var (
	questionTitleRe = regexp.MustCompile(`(?i)^(the )?(quiz )?questions?\b`)
	answerTitleRe   = regexp.MustCompile(`(?i)^(the )?(answers?|diagnosis|discussion and answers?)\b`)
)

// collectQA finds question–answer pairs (JATS 1.2+ <question-wrap>, and
// Question/Answer section pairs) in the article body.
func (b *builder) collectQA(root int32) {
	body := b.d.child(root, "body")
	if body < 0 {
		return
	}
	b.questionWraps(body)
	if len(b.a.QA) > 0 {
		return
	}
	b.sectionQA(body)
}

func (b *builder) questionWraps(n int32) {
	d := b.d
	for c := d.nodes[n].first; c >= 0; c = d.nodes[c].next {
		if d.nodes[c].kind != kindElem {
			continue
		}
		if d.nodes[c].name != "question-wrap" {
			b.questionWraps(c)
			continue
		}
		q, a := "", ""
		if qn := d.child(c, "question"); qn >= 0 {
			q = b.paragraphs(qn, "option")
			var opts []string
			correct := ""
			for o := d.nodes[qn].first; o >= 0; o = d.nodes[o].next {
				if d.nodes[o].kind != kindElem || d.nodes[o].name != "option" {
					continue
				}
				t := b.paragraphs(o)
				if t == "" {
					t = b.inlineString(o)
				}
				opts = append(opts, t)
				if strings.EqualFold(d.attr(o, "correct"), "yes") {
					correct = t
				}
			}
			if len(opts) > 0 {
				q += "\n" + strings.Join(opts, "\n")
			}
			a = correct
		}
		if an := d.find(c, "answer"); an >= 0 {
			if t := b.paragraphs(an); t != "" {
				a = t
			}
		}
		if q = strings.TrimSpace(q); q != "" && a != "" {
			b.a.QA = append(b.a.QA, QA{Question: q, Answer: a})
		}
	}
}

// paragraphs joins the <p> texts under n (skipping subtrees named in skip),
// or n's inline text when it has no <p>.
func (b *builder) paragraphs(n int32, skip ...string) string {
	var ps []string
	var walk func(int32)
	walk = func(m int32) {
		d := b.d
		for c := d.nodes[m].first; c >= 0; c = d.nodes[c].next {
			if d.nodes[c].kind != kindElem {
				continue
			}
			name := d.nodes[c].name
			skipped := skipAlways[name]
			for _, s := range skip {
				skipped = skipped || name == s
			}
			switch {
			case skipped:
			case name == "p":
				if s := b.inlineString(c); s != "" {
					ps = append(ps, s)
				}
			default:
				walk(c)
			}
		}
	}
	walk(n)
	if len(ps) == 0 {
		return ""
	}
	return strings.Join(ps, "\n\n")
}

// sectionQA pairs a section titled "Question(s)" with the next section
// titled "Answer(s)"/"Diagnosis" at the same level.
func (b *builder) sectionQA(n int32) {
	d := b.d
	var q string
	for c := d.nodes[n].first; c >= 0; c = d.nodes[c].next {
		if d.nodes[c].kind != kindElem || d.nodes[c].name != "sec" {
			continue
		}
		title := strings.TrimSpace(b.inlineString(d.child(c, "title")))
		switch {
		case questionTitleRe.MatchString(title):
			q = b.paragraphs(c)
		case q != "" && answerTitleRe.MatchString(title):
			if a := b.paragraphs(c); a != "" {
				b.a.QA = append(b.a.QA, QA{Question: q, Answer: a})
			}
			q = ""
		default:
			b.sectionQA(c)
		}
	}
}
