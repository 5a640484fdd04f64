package radfilter_test

import (
	"fmt"

	"github.com/medmd/medmd/normalize/radfilter"
)

func ExampleClassifyCaption() {
	for _, c := range []string{
		"Axial T2-weighted MRI shows a hyperintense lesion in the right frontal lobe.",
		"Histopathology of the resected specimen (H&E, x200).",
		"Kaplan-Meier survival curves by CT-defined stage.",
	} {
		v := radfilter.ClassifyCaption(c)
		fmt.Println(v.Radiology, v.Category, v.Modality, v.Cue)
	}
	// Output:
	// true radiology MR mr:"T2-weighted"
	// false pathology  histology:"Histopatholog"
	// false chart CT chart:"Kaplan"
}
