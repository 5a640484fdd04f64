package main

import (
	ingestradmd "github.com/medmd/medmd/ingest/radmd"
	"github.com/medmd/medmd/internal/perf"
	"github.com/medmd/medmd/normalize/radfilter"
)

func init() {
	perf.Register("radmd", "RadMD fingerprint (SHA-256 + dHash) vs SHA-256 alone; near-duplicate index vs linear scan", radfilter.Perf)
	perf.Register("radmd-run", "medmd radmd end to end vs an unfiltered copy of the same corpus", ingestradmd.Perf)
}
