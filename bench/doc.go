// Package bench is RadBench: deterministic group-aware split building,
// leakage checks between a training corpus and a test split, the metrics
// used to score model outputs, and the scorer that applies them per task.
//
// The metrics are pure functions over strings (metrics_*.go) and are tested
// against reference values computed by established implementations
// (nltk, scikit-learn) with the script in testdata/golden/.
package bench
