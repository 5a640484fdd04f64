package main

// The sources and stages medmd ships with register themselves when their
// packages load.
import (
	_ "github.com/medmd/medmd/ingest/dicom"
	_ "github.com/medmd/medmd/ingest/nifti"
	_ "github.com/medmd/medmd/ingest/pmc"
)
