#!/usr/bin/python3
"""Reference values for bench's metric tests (metrics_golden.json).

Run with Debian's interpreter:  /usr/bin/python3 make_metrics_golden.py
Needs python3-nltk (3.8) and python3-sklearn (1.2) from Debian bookworm.

What is computed by what:
- BLEU-1..4 ("bleu_nonempty_nltk"): nltk.translate.bleu_score.corpus_bleu with uniform weights and
  SmoothingFunction().method3 (NIST geometric smoothing, which is exactly
  sacrebleu's default smooth_method="exp"), on tokens from sacrebleu's 13a
  tokenizer. sacrebleu itself is not installable here (no PyPI, no Debian
  package), so tokenize_13a below re-states sacrebleu 2.x's
  Tokenizer13a/TokenizerRegexp (same regular expressions, same order) and
  the Go tokenizer is compared token-for-token with it. nltk counts
  max(1, #n-grams) per sentence, so it differs from sacrebleu when a
  hypothesis is empty: "bleu_all_sacrebleu_rule" includes the empty
  prediction and comes from sacrebleu_compute (checked equal to nltk on the
  non-empty pairs, asserted in this script).
- macro-F1: sklearn.metrics.f1_score(average="macro", zero_division=0).
- ROUGE-L: rouge-score is not installable here either; rouge_l below is an
  independent re-statement of rouge_score.rouge_scorer._score_lcs with its
  default tokenizer (lower-case, [^a-z0-9]+ -> space, no stemmer).
- accuracy and medical-term P/R/F1: independent Python re-statements of the
  rules documented in bench/metrics_answer.go and bench/metrics_terms.go.
"""
import json
import os
import re
import unicodedata

from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu
from sklearn.metrics import f1_score

HERE = os.path.dirname(os.path.abspath(__file__))

_13A = [
    (re.compile(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])'), r' \1 '),
    (re.compile(r'([^0-9])([\.,])'), r'\1 \2 '),
    (re.compile(r'([\.,])([^0-9])'), r' \1 \2'),
    (re.compile(r'([0-9])(-)'), r'\1 \2 '),
]


def tokenize_13a(line):
    line = line.rstrip()  # sacrebleu BLEU._preprocess_segment
    line = line.replace('<skipped>', '')
    line = line.replace('-\n', '')
    line = line.replace('\n', ' ')
    if '&' in line:
        line = line.replace('&quot;', '"')
        line = line.replace('&amp;', '&')
        line = line.replace('&lt;', '<')
        line = line.replace('&gt;', '>')
    line = f' {line} '
    for rx, repl in _13A:
        line = rx.sub(repl, line)
    return line.split()


def sacrebleu_compute(hyps, refs, max_n):
    """Re-statement of sacrebleu 2.x BLEU.compute_bleu with smooth_method
    "exp", used for corpora that contain an empty hypothesis, where nltk
    differs from sacrebleu (nltk's modified_precision counts max(1, n-grams)
    per sentence in the denominator; sacrebleu counts the n-grams)."""
    from collections import Counter
    import math
    correct, total = [0] * max_n, [0] * max_n
    sys_len = ref_len = 0
    for h, r in zip(hyps, refs):
        sys_len += len(h)
        ref_len += len(r)
        for n in range(1, max_n + 1):
            hc = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
            rc = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
            total[n - 1] += sum(hc.values())
            correct[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
    precisions = [0.0] * max_n
    smooth = 1.0
    for n in range(1, max_n + 1):
        if total[n - 1] == 0:
            break
        if correct[n - 1] == 0:
            smooth *= 2
            precisions[n - 1] = 100.0 / (smooth * total[n - 1])
        else:
            precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
    if sys_len == 0:
        return 0.0
    bp = 1.0 if sys_len >= ref_len else math.exp(1 - ref_len / sys_len)
    lg = sum(math.log(p) if p > 0 else -9999999999 for p in precisions)
    return bp * math.exp(lg / max_n) / 100.0


def rouge_tokens(s):
    return [t for t in re.sub(r'[^a-z0-9]+', ' ', s.lower()).split() if t]


def lcs(a, b):
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1][j], t[i][j - 1])
    return t[-1][-1]


def rouge_l(pred, ref):
    p, r = rouge_tokens(pred), rouge_tokens(ref)
    if not p or not r:
        return 0.0
    l = lcs(p, r)
    prec, rec = l / len(p), l / len(r)
    return 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)


def normalize(s):
    s = ''.join(' ' if unicodedata.category(c)[0] in 'PS' else c for c in s.lower())
    return ' '.join(w for w in s.split() if w not in ('a', 'an', 'the'))


YES = {'yes', 'y', 'yeah', 'yep', 'true', 'correct', 'affirmative', 'present'}
NO = {'no', 'n', 'nope', 'false', 'incorrect', 'negative', 'absent', 'none', 'not'}


def label(pred, ref):
    """The class a diagnosis prediction counts as: its normalised text, or
    yes/no by its first word when the reference is yes/no (as match)."""
    r, p = normalize(ref), normalize(pred)
    if r in ('yes', 'no'):
        first = p.split(' ')[0] if p else ''
        if first in YES:
            return 'yes'
        if first in NO:
            return 'no'
    return p


def match(pred, ref):
    r, p = normalize(ref), normalize(pred)
    if r in ('yes', 'no'):
        first = p.split(' ')[0] if p else ''
        c = 'yes' if first in YES else 'no' if first in NO else None
        return c == r
    return p == r


def load_terms():
    terms = set()
    with open(os.path.join(HERE, '..', '..', '..', 'normalize', 'radiology_terms.txt')) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                terms.add(' '.join(rouge_tokens(line)))
    return terms


def find_terms(text, terms, maxlen):
    toks = rouge_tokens(text)
    found, i = set(), 0
    while i < len(toks):
        step = 1
        for n in range(min(maxlen, len(toks) - i), 0, -1):
            k = ' '.join(toks[i:i + n])
            if k in terms:
                found.add(k)
                step = n
                break
        i += step
    return found


def main():
    pairs = json.load(open(os.path.join(HERE, 'report_pairs.json')))
    answers = json.load(open(os.path.join(HERE, 'answer_pairs.json')))
    refs = [p['reference'] for p in pairs]
    hyps = [p['prediction'] for p in pairs]
    rt = [[tokenize_13a(r)] for r in refs]
    ht = [tokenize_13a(h) for h in hyps]
    sm = SmoothingFunction().method3
    # nltk on the pairs with a non-empty prediction (every one has >= 4
    # tokens, where nltk and sacrebleu agree by construction) ...
    ne = [i for i, h in enumerate(ht) if h]
    assert all(len(ht[i]) >= 4 for i in ne)
    bleu, bleu_all = [], []
    for n in range(1, 5):
        w = tuple([1.0 / n] * n)
        b = corpus_bleu([rt[i] for i in ne], [ht[i] for i in ne], weights=w, smoothing_function=sm)
        # ... and the sacrebleu re-statement agrees with nltk there:
        mine = sacrebleu_compute([ht[i] for i in ne], [rt[i][0] for i in ne], n)
        assert abs(b - mine) < 1e-12, (n, b, mine)
        bleu.append(b)
        # with the empty prediction (a missing answer) only sacrebleu's rule.
        bleu_all.append(sacrebleu_compute(ht, [r[0] for r in rt], n))
    rouge = [rouge_l(h, r) for h, r in zip(hyps, refs)]

    terms = load_terms()
    maxlen = max(len(t.split()) for t in terms)
    m = pr = rf = 0
    for h, r in zip(hyps, refs):
        fp, fr = find_terms(h, terms, maxlen), find_terms(r, terms, maxlen)
        m += len(fp & fr)
        pr += len(fp)
        rf += len(fr)
    tp = m / pr if pr else 0.0
    tr = m / rf if rf else 0.0
    tf = 2 * tp * tr / (tp + tr) if tp + tr else 0.0

    def acc(items):
        return sum(match(i['prediction'], i['reference']) for i in items) / len(items)

    diag = answers['diagnosis']
    macro = f1_score([normalize(d['reference']) for d in diag],
                     [label(d['prediction'], d['reference']) for d in diag],
                     average='macro', zero_division=0)

    out = {
        'tokens_13a': [{'text': s, 'tokens': tokenize_13a(s)} for s in refs + hyps],
        'bleu_nonempty_nltk': bleu,
        'bleu_all_sacrebleu_rule': bleu_all,
        'rouge_l_pairs': rouge,
        'rouge_l_mean': sum(rouge) / len(rouge),
        'terms': {'precision': tp, 'recall': tr, 'f1': tf, 'matched': m, 'predicted': pr, 'referenced': rf},
        'accuracy_closed': acc(answers['closed']),
        'accuracy_open': acc(answers['open']),
        'accuracy_diagnosis': acc(diag),
        'macro_f1_diagnosis': macro,
    }
    with open(os.path.join(HERE, 'metrics_golden.json'), 'w') as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
