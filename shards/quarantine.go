package shards

// QuarantineRecord is one line of a corpus's quarantine file
// (quarantine/SHARD.jsonl, merged into quarantine.jsonl beside the
// manifest): which input unit, and which sample of it if any, failed at
// which stage, and why. The ingest runner writes these records and
// `medmd serve` shows them, so the format lives with the corpus format.
type QuarantineRecord struct {
	Unit   string   `json:"unit"`
	Paths  []string `json:"paths,omitempty"`
	Sample string   `json:"sample,omitempty"`
	Stage  string   `json:"stage"`
	Error  string   `json:"error"`
}
