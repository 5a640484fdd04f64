package train

import (
	"reflect"
	"testing"

	"github.com/medmd/medmd/shards"
)

// TestViewVoxelsEveryDType: every stored dtype is viewed as a slice of the
// Go type GoMLX expects for its device dtype, over the same memory.
func TestViewVoxelsEveryDType(t *testing.T) {
	for dt := range deviceDTypes {
		vox := make([]byte, 4*dt.Size())
		gdt, flat, err := viewVoxels(vox, dt)
		if err != nil {
			t.Fatalf("%s: %v", dt, err)
		}
		v := reflect.ValueOf(flat)
		if v.Kind() != reflect.Slice || v.Type().Elem() != gdt.GoType() {
			t.Errorf("%s: view is %T, want []%s", dt, flat, gdt.GoType())
			continue
		}
		if v.Len() != 4 || v.Pointer() != reflect.ValueOf(vox).Pointer() {
			t.Errorf("%s: view of %d elements at another address", dt, v.Len())
		}
	}
	if _, _, err := viewVoxels(make([]byte, 3), shards.Int16); err == nil {
		t.Error("3 bytes viewed as int16")
	}
}
