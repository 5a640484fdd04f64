package main

// The pipeline stages wrapping normalize (resize, depth_rule, intensity,
// window, text_clean, deidentify, decode_2d) register themselves on import.
import _ "github.com/medmd/medmd/ingest/stages"
