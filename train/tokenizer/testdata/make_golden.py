# Generates pretok_golden.json: GPT-2's pre-tokenizer regex (as used by
# Hugging Face's ByteLevel pre-tokenizer with use_regex=true) applied with
# the Python `regex` module to sample strings. Run with Debian's python3:
#   /usr/bin/python3 make_golden.py > pretok_golden.json
import json, regex
PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
samples = [
    "Axial CT of the chest shows a 3.2 cm mass in the right upper lobe.",
    "No acute intracranial abnormality.  Mild   cerebral atrophy\n\nImpression: normal",
    "Patient's MRI (T2-weighted) didn't show edema; it's fine.",
    "  leading spaces and trailing   ",
    "Über-dense lesion ≥ 5mm — café\tau lait\r\n",
    "x-ray: 12/03/2020, 45° angle!!",
    "",
    "   ",
    "a\n b \n\n c",
]
print(json.dumps([{"text": s, "words": PAT.findall(s)} for s in samples], ensure_ascii=False, indent=1))
