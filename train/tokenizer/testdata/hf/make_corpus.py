#!/usr/bin/python3
"""Builds corpus.jsonl: the texts whose token ids are checked against
Hugging Face `tokenizers` (make_reference.js). One JSON string per line.

Texts: every paragraph and caption of the bundled JATS articles, the string
fields of the dataset fixtures (CSV cells, JSON values), and hand-written
edge cases (accents, CJK, emoji, symbols, tabs, runs of spaces, digits,
newlines, contractions, special tokens written in the text).

Run from this folder: /usr/bin/python3 make_corpus.py
"""
import csv, glob, json, os
import xml.etree.ElementTree as ET

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..")
texts = []


def add(s):
    s = s.strip("\n")
    if s and s not in seen:
        seen.add(s)
        texts.append(s)


seen = set()
for path in sorted(glob.glob(os.path.join(ROOT, "ingest/pmc/jats/testdata/*.nxml"))):
    root = ET.parse(path).getroot()
    for el in root.iter():
        tag = el.tag.split("}")[-1]
        if tag in ("p", "caption", "title", "article-title"):
            add("".join(el.itertext()))
for path in sorted(glob.glob(os.path.join(ROOT, "ingest/datasets/testdata/**/*.csv"), recursive=True)):
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            for cell in row:
                if any(c.isalpha() for c in cell):
                    add(cell)


def walk(v):
    if isinstance(v, str):
        if any(c.isalpha() for c in v):
            add(v)
    elif isinstance(v, list):
        for x in v:
            walk(x)
    elif isinstance(v, dict):
        for x in v.values():
            walk(x)


for path in sorted(glob.glob(os.path.join(ROOT, "ingest/datasets/testdata/**/*.json"), recursive=True)):
    if "golden" in path:
        continue
    with open(path, encoding="utf-8") as f:
        walk(json.load(f))

EDGE = [
    "café au lait, naïve, Ångström, Zürich, São Paulo, Øresund",
    "肺部CT显示右上叶有结节。胸部X線写真、肺炎。폐렴 소견",
    "Emoji: 😀🫁🧠 👨‍⚕️ 🇩🇪 ❤️",
    "≥ 5 mm, ≤ 3 cm, µm, μm, ± 0.5, 37 °C, ×10⁹/L, ½, Ⅳ",
    "tab\tseparated\t\tvalues\t",
    "runs   of    spaces     and      more",
    "   leading and trailing spaces   ",
    "line one\nline two\n\nline four\r\nwindows\r\n",
    "\n\n\n",
    "1234567890 12 123 1234 12345 3.14159 1,000,000 2023-10-05",
    "Patient's CT didn't show it; they're sure we'll see, I'd say I'm fine, we've been",
    "PATIENT'S CT DIDN'T SHOW IT; THEY'RE SURE WE'LL",
    "<|begin_of_text|>Hello<|end_of_text|> <|eot_id|>",
    "<s> </s> <pad> <image> </image>",
    "C'est l'été — “quoted” ‘single’ «guillemets» …",
    "x" * 300,
    "Ḁ̷̞͓̳ͅ combining: e\u0301 n\u0303 a\u0308",
    "non\u00a0breaking\u2009thin\u3000ideographic",
    "T2-weighted MRI (TR/TE = 4000/120 ms) at 1.5T; SUVmax=12.3; HU>-100",
    "http://www.ncbi.nlm.nih.gov/pmc/articles/PMC3000000/ doi:10.1371/journal.pone.0046493",
    "'s 't 're 've 'm 'll 'd ' '' '''",
    " ",
    "a",
]
for e in EDGE:
    if e not in seen:
        seen.add(e)
        texts.append(e)

with open("corpus.jsonl", "w", encoding="utf-8") as f:
    for t in texts:
        f.write(json.dumps(t, ensure_ascii=False) + "\n")
print(len(texts), "texts")
