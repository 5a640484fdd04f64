package dicom

import "encoding/binary"

// Transfer syntax UIDs (DICOM PS3.6 Table A-1) that medmd knows by name.
const (
	ImplicitVRLittleEndian  = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian  = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLE    = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian     = "1.2.840.10008.1.2.2"
	RLELossless             = "1.2.840.10008.1.2.5"
	JPEGBaseline8Bit        = "1.2.840.10008.1.2.4.50"
	JPEGExtended12Bit       = "1.2.840.10008.1.2.4.51"
	JPEGLosslessP14         = "1.2.840.10008.1.2.4.57"
	JPEGLosslessSV1         = "1.2.840.10008.1.2.4.70"
	JPEGLSLossless          = "1.2.840.10008.1.2.4.80"
	JPEGLSNearLossless      = "1.2.840.10008.1.2.4.81"
	JPEG2000Lossless        = "1.2.840.10008.1.2.4.90"
	JPEG2000                = "1.2.840.10008.1.2.4.91"
	JPEG2000Part2Lossless   = "1.2.840.10008.1.2.4.92"
	JPEG2000Part2           = "1.2.840.10008.1.2.4.93"
	HTJ2KLossless           = "1.2.840.10008.1.2.4.201"
	HTJ2KLosslessRPCL       = "1.2.840.10008.1.2.4.202"
	HTJ2K                   = "1.2.840.10008.1.2.4.203"
	encapsulatedUncompresed = "1.2.840.10008.1.2.1.98"
)

// syntaxNames names transfer syntaxes for messages.
var syntaxNames = map[string]string{
	ImplicitVRLittleEndian:    "Implicit VR Little Endian",
	ExplicitVRLittleEndian:    "Explicit VR Little Endian",
	DeflatedExplicitVRLE:      "Deflated Explicit VR Little Endian",
	ExplicitVRBigEndian:       "Explicit VR Big Endian",
	RLELossless:               "RLE Lossless",
	JPEGBaseline8Bit:          "JPEG Baseline (Process 1)",
	JPEGExtended12Bit:         "JPEG Extended (Process 2 & 4)",
	JPEGLosslessP14:           "JPEG Lossless, Non-Hierarchical (Process 14)",
	JPEGLosslessSV1:           "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
	JPEGLSLossless:            "JPEG-LS Lossless",
	JPEGLSNearLossless:        "JPEG-LS Lossy (Near-Lossless)",
	JPEG2000Lossless:          "JPEG 2000 Image Compression (Lossless Only)",
	JPEG2000:                  "JPEG 2000 Image Compression",
	JPEG2000Part2Lossless:     "JPEG 2000 Part 2 Multi-component (Lossless Only)",
	JPEG2000Part2:             "JPEG 2000 Part 2 Multi-component",
	HTJ2KLossless:             "High-Throughput JPEG 2000 (Lossless Only)",
	HTJ2KLosslessRPCL:         "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)",
	HTJ2K:                     "High-Throughput JPEG 2000",
	encapsulatedUncompresed:   "Encapsulated Uncompressed Explicit VR Little Endian",
	"1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
	"1.2.840.10008.1.2.4.101": "MPEG2 Main Profile / High Level",
	"1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile / Level 4.1",
	"1.2.840.10008.1.2.4.103": "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
	"1.2.840.10008.1.2.4.104": "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video",
	"1.2.840.10008.1.2.4.105": "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video",
	"1.2.840.10008.1.2.4.106": "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2",
	"1.2.840.10008.1.2.4.107": "HEVC/H.265 Main Profile / Level 5.1",
	"1.2.840.10008.1.2.4.108": "HEVC/H.265 Main 10 Profile / Level 5.1",
}

// SyntaxName returns the human name of a transfer syntax UID, or "unknown".
func SyntaxName(uid string) string {
	if n, ok := syntaxNames[uid]; ok {
		return n
	}
	return "unknown"
}

// datasetSyntax returns how the dataset after the file meta is encoded.
// Every syntax not listed as native is explicit VR little endian with
// encapsulated pixel data (PS3.5 §A.4).
func datasetSyntax(uid string) (sx syntax, deflated, encapsulated bool) {
	switch uid {
	case ImplicitVRLittleEndian:
		return syntax{binary.LittleEndian, true}, false, false
	case ExplicitVRLittleEndian:
		return syntax{binary.LittleEndian, false}, false, false
	case DeflatedExplicitVRLE:
		return syntax{binary.LittleEndian, false}, true, false
	case ExplicitVRBigEndian:
		return syntax{binary.BigEndian, false}, false, false
	}
	return syntax{binary.LittleEndian, false}, false, true
}

// Decodable reports whether medmd decodes pixel data in this transfer
// syntax.
func Decodable(uid string) bool {
	switch uid {
	case ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLE, ExplicitVRBigEndian,
		RLELossless, JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLosslessP14, JPEGLosslessSV1,
		JPEGLSLossless, JPEGLSNearLossless, JPEG2000Lossless, JPEG2000, encapsulatedUncompresed:
		return true
	}
	return false
}
