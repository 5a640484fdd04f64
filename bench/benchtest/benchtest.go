// Package benchtest builds small, realistic MedMD corpora for the RadMD and
// RadBench tests: PMC figure captions (real ones from the articles in
// shared/data/pmc, plus radiology captions written for medmd), DICOM-like
// reports, VQA, diagnosis, modality and rationale samples, with synthetic
// phantom images. Everything is deterministic.
package benchtest

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/medmd/medmd/shards"
)

// Phantom returns a depth×h×w uint16 volume standing in for a CT stack: a
// bright ellipse ("body") with a darker disc ("lesion") at (cy, cx), radius
// r (fractions of the image), plus a brightness offset and Gaussian noise.
func Phantom(depth, h, w int, cy, cx, r, offset, noise float64, seed uint64) shards.Image {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, depth*h*w*2)
	for z := range depth {
		for y := range h {
			for x := range w {
				fy, fx := float64(y)/float64(h), float64(x)/float64(w)
				v := 50.0
				if (fy-0.5)*(fy-0.5)/0.16+(fx-0.5)*(fx-0.5)/0.2 < 1 {
					v = 1000 + 300*fx + 20*float64(z)
				}
				if (fy-cy)*(fy-cy)+(fx-cx)*(fx-cx) < r*r {
					v = 400
				}
				v += offset + noise*rng.NormFloat64()
				v = math.Max(0, math.Min(65535, v))
				binary.LittleEndian.PutUint16(b[2*((z*h+y)*w+x):], uint16(v))
			}
		}
	}
	return shards.Image{DType: shards.Uint16, Channels: 1, Depth: depth, Height: h, Width: w, Voxels: b,
		Spacing: [3]float64{1, 1, 2}, Affine: shards.IdentityAffine()}
}

// image returns the k-th distinct phantom: lesion position and size and a
// smooth "anatomy" texture vary with k, so that different k are as far
// apart in dHash as different patients' images.
func image(k int, modality string) shards.Image {
	rng := rand.New(rand.NewPCG(uint64(k), 99))
	im := Phantom(2, 40, 48, 0.2+0.6*rng.Float64(), 0.2+0.6*rng.Float64(), 0.08+0.12*rng.Float64(), 0, 0, uint64(k))
	a, b, phase := 1+3*rng.Float64(), 1+3*rng.Float64(), 2*math.Pi*rng.Float64()
	for z := range im.Depth {
		for y := range im.Height {
			for x := range im.Width {
				i := 2 * ((z*im.Height+y)*im.Width + x)
				v := float64(binary.LittleEndian.Uint16(im.Voxels[i:]))
				v += 150 * (1 + math.Sin(2*math.Pi*(a*float64(x)/float64(im.Width)+b*float64(y)/float64(im.Height))+phase))
				binary.LittleEndian.PutUint16(im.Voxels[i:], uint16(v))
			}
		}
	}
	im.Modality = modality
	return im
}

// RealCaptions are figure captions of the PMC Open Access articles in
// shared/data/pmc (first sentence(s) only), with their PMCID. None is a
// radiology figure.
var RealCaptions = []struct{ PMCID, FigID, Caption string }{
	{"PMC3166277", "F1", "Schematic presentation of two models of holin hole formation."},
	{"PMC3166277", "F2", "Samples of a lysis recording and frequency distributions of various experimental treatments."},
	{"PMC2599765", "f1-ehp-116-1694", "Exposure to PBDE-47 depressed circulating concentrations of total T4 in males and females (A), but had no effect on total T3 in males (B).*p < 0.05 compared with control."},
	{"PMC3574550", "MDS526F1", "Deprivation inequalities in advanced stage at diagnosis by cancer (odds ratios and 95% confidence intervals for diagnosis in stage III/ IV versus I/II)."},
	{"PMC3585041", "pntd-0002065-g001", "Location of the study areas. Figure 1 shows the map of the Zambézia Province, Mozambique indicating the location of the study areas."},
	{"PMC3460867", "pone-0046493-g002", "Inhibition of Lip-HSL proteins by MmPPOX. A, SDS-PAGE profile of the 9 Lip-HSL proteins used in this study, following purification using Ni2+-NTA resin."},
}

// RadiologyCaptions were written for medmd (CC0) in the style of PMC case
// reports.
var RadiologyCaptions = []string{
	"Axial contrast-enhanced CT of the abdomen shows a 4 cm hypodense lesion in the right hepatic lobe (arrow).",
	"Chest radiograph (PA view) demonstrating right lower lobe consolidation.",
	"Sagittal T2-weighted MRI of the lumbar spine showing L4-L5 disc herniation compressing the thecal sac.",
	"Transabdominal ultrasound showing a distended gallbladder with a hyperechoic stone and posterior acoustic shadowing.",
	"FDG PET/CT fused image demonstrating intense uptake in a left supraclavicular lymph node.",
	"Non-contrast head CT showing an acute left subdural hematoma with 6 mm midline shift.",
	"Digital subtraction angiography of the right internal carotid artery revealing a 7 mm aneurysm.",
	"Mammogram, mediolateral oblique view: spiculated mass in the upper outer quadrant of the left breast.",
}

// Reports are radiology report texts written for medmd (CC0).
var Reports = []string{
	"There is a 2.3 cm hypodense lesion in segment VII of the liver, consistent with a simple cyst. No biliary dilatation.",
	"Small left pleural effusion with adjacent atelectasis. No pneumothorax.",
	"Acute infarct in the left MCA territory with diffusion restriction on DWI and low ADC values.",
	"Mildly displaced fracture of the distal radius. Soft-tissue swelling at the wrist.",
	"Normal heart size. Clear lungs. No focal consolidation, effusion or pneumothorax.",
	"Degenerative disc disease at C5-C6 with a posterior osteophyte narrowing the spinal canal.",
	"No acute intracranial hemorrhage, mass effect or hydrocephalus.",
	"Ground-glass opacities in both lower lobes, typical of viral pneumonia.",
}

func placed(s shards.Sample) shards.Sample {
	if len(s.Placements) > 0 {
		return s
	}
	for i := range s.Images {
		s.Placements = append(s.Placements, shards.Placement{Image: i, Field: shards.FieldInstruction, Offset: 0})
	}
	return s
}

// MedMD returns a small MedMD corpus of n "patients"/cases per source,
// covering every task, with planted problems for RadMD: non-radiology
// captions and modalities, a short report, a non-English report, a
// boilerplate caption, an exact and a near-duplicate image.
func MedMD(n int) []shards.Sample {
	var out []shards.Sample
	add := func(s shards.Sample) { out = append(out, placed(s)) }
	k := 0
	next := func(mod string) shards.Image { k++; return image(k, mod) }

	// PMC figures: real non-radiology captions, written radiology ones.
	for i, c := range RealCaptions {
		add(shards.Sample{ID: shards.MakeID("pmc-oa", c.PMCID, c.FigID), Source: "pmc-oa", Task: shards.TaskCaption, Group: c.PMCID,
			License: "CC BY", Instruction: "Describe the figure.", Response: c.Caption, Images: []shards.Image{next("")},
			Meta: map[string]string{"caption": c.Caption, "figure_label": fmt.Sprintf("Figure %d", i+1)}})
	}
	var firstRad shards.Image
	for i, c := range RadiologyCaptions {
		im := next("")
		if i == 0 {
			firstRad = im
		}
		pmcid := fmt.Sprintf("PMC90%04d", i)
		add(shards.Sample{ID: shards.MakeID("pmc-oa", pmcid, "F1"), Source: "pmc-oa", Task: shards.TaskCaption, Group: pmcid,
			License: "CC BY", Instruction: "Describe the figure.", Response: c, Images: []shards.Image{im}})
	}
	// The same figure republished in a case report, re-encoded brighter:
	// a near duplicate of the first radiology caption's image.
	nearDup := firstRad
	nearDup.Voxels = append([]byte(nil), firstRad.Voxels...)
	for i := 0; i+1 < len(nearDup.Voxels); i += 2 {
		v := binary.LittleEndian.Uint16(nearDup.Voxels[i:])
		binary.LittleEndian.PutUint16(nearDup.Voxels[i:], v+37)
	}
	add(shards.Sample{ID: shards.MakeID("pmc-casereport", "PMC8000001", "F2"), Source: "pmc-casereport", Task: shards.TaskCaption,
		Group: "PMC8000001", License: "CC BY", Instruction: "Describe the figure.", Response: RadiologyCaptions[0], Images: []shards.Image{nearDup}})
	// A boilerplate caption on a radiology figure (title says it is CT).
	add(shards.Sample{ID: shards.MakeID("pmc-oa", "PMC8000002", "F1"), Source: "pmc-oa", Task: shards.TaskCaption, Group: "PMC8000002",
		License: "CC BY", Instruction: "Describe the figure.", Response: "Figure 3.", Images: []shards.Image{next("")},
		Meta: map[string]string{"figure_title": "Axial CT of the chest", "caption": "Figure 3."}})

	mods := []string{"CT", "MR", "CT", "DX", "US", "MR"}
	diagnoses := []string{"pneumonia", "normal", "effusion", "normal", "pneumonia", "cardiomegaly"}
	for p := range n {
		patient := shards.HashString(fmt.Sprintf("patient-%03d", p))[:16]
		mod := mods[p%len(mods)]
		im := next(mod)
		add(shards.Sample{ID: shards.MakeID("dicom", patient, "report"), Source: "dicom", Task: shards.TaskReport, Group: patient,
			License: "internal", Instruction: "Write the findings for this study.", Response: Reports[p%len(Reports)], Images: []shards.Image{im}})
		add(shards.Sample{ID: shards.MakeID("dicom", patient, "modality"), Source: "dicom", Task: shards.TaskModality, Group: patient,
			License: "internal", Instruction: "Which imaging modality is this?", Response: mod, Images: []shards.Image{im}})
		add(shards.Sample{ID: shards.MakeID("dicom", patient, "rationale"), Source: "dicom", Task: shards.TaskRationale, Group: patient,
			License: "internal", Instruction: "What is the most likely diagnosis, and why?",
			Response: "The findings favour " + diagnoses[p%len(diagnoses)] + " because " + Reports[(p+3)%len(Reports)], Images: []shards.Image{im}})
		dx := next("DX")
		add(shards.Sample{ID: shards.MakeID("chestx-ray14", patient, "diagnosis"), Source: "chestx-ray14", Task: shards.TaskDiagnosis, Group: "cxr-" + patient,
			License: "CC0", Instruction: "What is the diagnosis?", Response: diagnoses[p%len(diagnoses)], Images: []shards.Image{dx}})
		vq := next([]string{"CT", "MR", "DX"}[p%3])
		caseID := fmt.Sprintf("vqa-case-%03d", p)
		add(shards.Sample{ID: shards.MakeID("vqa-rad", caseID, "q1"), Source: "vqa-rad", Task: shards.TaskVQA, Group: caseID,
			License: "CC0", Instruction: "Is there an abnormality?", Response: []string{"yes", "no"}[p%2], Images: []shards.Image{vq}})
		add(shards.Sample{ID: shards.MakeID("vqa-rad", caseID, "q2"), Source: "vqa-rad", Task: shards.TaskVQA, Group: caseID,
			License: "CC0", Instruction: "Which organ is shown?", Response: []string{"liver", "brain", "lung"}[p%3], Images: []shards.Image{vq}})
	}
	// Planted problems among the DICOM reports.
	ot := next("OT")
	add(shards.Sample{ID: shards.MakeID("dicom", "sc-1", "report"), Source: "dicom", Task: shards.TaskReport, Group: "sc-1",
		Instruction: "Write the findings for this study.", Response: Reports[0], Images: []shards.Image{ot}})
	add(shards.Sample{ID: shards.MakeID("dicom", "short-1", "report"), Source: "dicom", Task: shards.TaskReport, Group: "short-1",
		Instruction: "Write the findings for this study.", Response: "Normal.", Images: []shards.Image{next("CT")}})
	add(shards.Sample{ID: shards.MakeID("dicom", "de-1", "report"), Source: "dicom", Task: shards.TaskReport, Group: "de-1",
		Instruction: "Befund:", Response: "Die Computertomographie zeigt eine große Raumforderung der Leber mit zentraler Nekrose und ist nicht eindeutig.",
		Images: []shards.Image{next("CT")}})
	// The first patient's study exported twice under another patient key:
	// identical voxels.
	first := out[len(RealCaptions)+len(RadiologyCaptions)+2] // patient 0's report
	dup := first
	dup.ID, dup.Group = shards.MakeID("dicom", "re-export", "report"), "re-export"
	add(dup)
	return out
}
