#!/usr/bin/python3
"""Reference JATS extraction with lxml, the baseline of `medmd perf pmc`.

Extracts the same fields as medmd's Go parser (ingest/pmc/jats): metadata
(PMCID, PMID, DOI, title, journal, article type, subjects, licence, year),
body text by section with formulas, tables, figures and bibliography
removed and numeric citations dropped, paragraphs split into sentences,
figures (id, label, caption title + paragraphs, graphic href), in-text
figure mentions with their sentence and code-point offsets, and caption
panel labels. It is written the way one would write it with lxml (XPath,
itertext, regexes), not deliberately slow.

Usage: /usr/bin/python3 lxml_ref.py [--seconds S] [--repeats R] FILE.nxml...
Prints one JSON object: {"articles": N, "runs": [articles per CPU second...],
"articles_per_s": median, "figures": F, "mentions": M}.
"""
import json
import re
import statistics
import sys
import time

from lxml import etree

XLINK = "{http://www.w3.org/1999/xlink}href"
SKIP = {"fig", "fig-group", "table-wrap", "table-wrap-group", "disp-formula",
        "inline-formula", "math", "tex-math", "ref-list", "supplementary-material",
        "fn-group", "fn", "ack", "graphic", "inline-graphic", "media", "alternatives",
        "label", "object-id", "chem-struct-wrap", "disp-formula-group", "table"}
BLOCK = {"sec", "p", "list", "list-item", "def-list", "def-item", "def",
         "disp-quote", "boxed-text", "statement", "title", "caption", "app"}
NUMCITE = re.compile(r"^[\d\[\]\(\),;\s\u2013\u2014-]*\d[\d\[\]\(\),;\s\u2013\u2014-]*$")
CITERUN = re.compile(r"\s*[\[(]?\uE001(?:[\s,;\u2013-]*\uE001)*[\])]?")
WS = re.compile(r"\s+")
SENT = re.compile(r"(?<=[.!?])[\")\]]*\s+(?=[A-Z0-9(\[\"])")
ABBR = re.compile(r"(?:\b(?:Fig|Figs|al|e\.g|i\.e|vs|No|Ref|approx|ca|Dr|Eq|cf|et)|\b[A-Z])\.$")
PANEL = re.compile(r"\(([A-Za-z])(?:\s*(?:,|and|&|\u2013|-)\s*[A-Za-z])*\)")


def local(tag):
    if not isinstance(tag, str):
        return ""
    i = tag.rfind("}")
    tag = tag[i + 1:] if i >= 0 else tag
    i = tag.find(":")
    return tag[i + 1:] if i >= 0 else tag


def text_of(el):
    return WS.sub(" ", "".join(el.itertext())).strip() if el is not None else ""


class Extractor:
    def __init__(self, root):
        self.root = root
        self.body = []
        self.pos = 0
        self.figs = {}
        self.mentions = []

    def inline(self, el, out, refs, mentions):
        if el.text:
            out.append(el.text)
        for c in el:
            name = local(c.tag)
            if name == "xref":
                rt = c.get("ref-type", "")
                if rt == "bibr" and NUMCITE.match(text_of(c) or "x"):
                    out.append("\uE001")
                elif mentions and rt == "fig":
                    out.append("\uE000")
                    refs.append((c.get("rid", ""), text_of(c)))
                    self.inline(c, out, refs, mentions)
                else:
                    self.inline(c, out, refs, mentions)
            elif name in SKIP:
                pass
            else:
                self.inline(c, out, refs, mentions)
            if c.tail:
                out.append(c.tail)

    def para(self, el, mentions=True):
        out, refs = [], []
        self.inline(el, out, refs, mentions)
        s = WS.sub(" ", "".join(out))
        s = CITERUN.sub("", s).strip()
        marks = []
        clean = []
        for ch in s:
            if ch == "\uE000":
                marks.append(len(clean))
            else:
                clean.append(ch)
        s = "".join(clean)
        if not s:
            return
        if self.body:
            self.pos += 2
        start = self.pos
        self.body.append(s)
        self.pos += len(s)
        sents, i = [], 0
        for m in SENT.finditer(s):
            if ABBR.search(s[:m.start()]):
                continue
            sents.append((i, m.start()))
            i = m.end()
        sents.append((i, len(s)))
        for (rid, rtext), mpos in zip(refs, marks):
            for a, b in sents:
                if a <= mpos <= b:
                    for r in rid.split():
                        self.mentions.append({"rid": r, "offset": start + a,
                                              "sentence": s[a:b], "ref_offset": start + mpos,
                                              "ref_text": rtext})
                    break

    def block(self, el):
        for c in el:
            name = local(c.tag)
            if name in SKIP:
                continue
            if name == "sec":
                t = c.find("title")
                self.sections.append(text_of(t))
                self.block(c)
            elif name in ("p", "title"):
                self.para(c)
            elif name in BLOCK:
                self.block(c)

    def run(self):
        r = self.root
        art = r if local(r.tag) == "article" else r.find(".//article")
        meta = art.find("front/article-meta")
        out = {"article_type": art.get("article-type", "")}
        for aid in meta.findall("article-id"):
            out.setdefault(aid.get("pub-id-type"), text_of(aid))
        out["title"] = text_of(meta.find("title-group/article-title"))
        jt = art.find("front/journal-meta//journal-title")
        out["journal"] = text_of(jt)
        out["subjects"] = list(dict.fromkeys(text_of(s) for s in meta.iterfind("article-categories//subject")))
        lic = meta.find("permissions/license")
        out["license"] = (lic.get(XLINK) or text_of(lic)) if lic is not None else text_of(meta.find(".//copyright-statement"))
        years = [text_of(y) for y in meta.iterfind("pub-date/year")]
        out["year"] = years[0] if years else ""
        self.sections = []
        body = art.find("body")
        if body is not None:
            self.block(body)
        out["body_text"] = "\n\n".join(self.body)
        out["sections"] = self.sections
        figs = []
        for f in art.iter("fig"):
            cap = f.find("caption")
            parts = []
            if cap is not None:
                for c in cap:
                    if local(c.tag) in ("title", "p"):
                        o, refs = [], []
                        self.inline(c, o, refs, False)
                        parts.append(CITERUN.sub("", WS.sub(" ", "".join(o))).strip())
            caption = " ".join(parts)
            g = f.find(".//graphic")
            labels = [m.group(1) for m in PANEL.finditer(caption)]
            figs.append({"id": f.get("id"), "label": text_of(f.find("label")),
                         "caption": caption, "graphic": g.get(XLINK) if g is not None else "",
                         "compound": len(labels) >= 2, "panels": labels,
                         "mentions": [m for m in self.mentions if m["rid"] == f.get("id")]})
        out["figures"] = figs
        return out


def extract(data):
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(data, parser)
    return Extractor(root).run()


def main():
    args = sys.argv[1:]
    seconds, repeats = 1.0, 5
    while args and args[0].startswith("--"):
        if args[0] == "--seconds":
            seconds = float(args[1])
        elif args[0] == "--repeats":
            repeats = int(args[1])
        args = args[2:]
    docs = [open(p, "rb").read() for p in args]
    first = [extract(d) for d in docs]
    runs = []
    for _ in range(repeats):
        # CPU time of this process: the same clock medmd uses for its side,
        # so a busy machine slows neither measurement.
        n, t0 = 0, time.process_time()
        while True:
            for d in docs:
                extract(d)
            n += len(docs)
            el = time.process_time() - t0
            if el >= seconds:
                break
        runs.append(n / el)
    print(json.dumps({"articles": len(docs), "runs": runs,
                      "articles_per_s": statistics.median(runs),
                      "figures": sum(len(a["figures"]) for a in first),
                      "mentions": sum(len(f["mentions"]) for a in first for f in a["figures"])}))


if __name__ == "__main__":
    main()
