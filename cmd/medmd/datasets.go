package main

// The labelled-dataset sources (VQA-RAD, SLAKE, PMC-VQA, MIMIC-CXR,
// ChestX-ray14, CheXpert, VinDr-CXR, Radiopaedia- and MedPix-style cases)
// register themselves with the ingest registry.
import _ "github.com/medmd/medmd/ingest/datasets"
