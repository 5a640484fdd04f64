package jpegmarker

import (
	"errors"
	"fmt"
	"testing"
)

var errShort = errors.New("short")

func reader(data []byte) *Reader {
	return &Reader{Data: data, Errf: func(off int, format string, a ...any) error {
		return fmt.Errorf("@%d: "+format, append([]any{off}, a...)...)
	}, Truncated: errShort}
}

func TestNextMarker(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		want    byte
		wantPos int
		wantErr string
	}{
		{name: "marker", data: []byte{0xFF, 0xD9}, want: 0xD9, wantPos: 2},
		{name: "fill bytes", data: []byte{0xFF, 0xFF, 0xFF, 0xDA}, want: 0xDA, wantPos: 4},
		{name: "empty", data: nil, wantErr: "@0: missing EOI marker: short"},
		{name: "only fill", data: []byte{0xFF, 0xFF}, wantErr: "@2: missing EOI marker: short"},
		{name: "not a marker", data: []byte{0x12}, wantErr: "@0: expected a marker, found 0x12"},
		{name: "stuffed zero", data: []byte{0xFF, 0x00}, wantErr: "@0: stuffed zero byte where a marker was expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reader(tt.data)
			m, err := r.NextMarker()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("NextMarker error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || m != tt.want || r.Pos != tt.wantPos {
				t.Fatalf("NextMarker = %#x at %d, %v; want %#x at %d", m, r.Pos, err, tt.want, tt.wantPos)
			}
		})
	}
}

func TestSegment(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		wantSeg string
		wantPos int
		wantErr string
	}{
		{name: "payload", data: []byte{0x00, 0x04, 'h', 'i', 0xFF}, wantSeg: "hi", wantPos: 4},
		{name: "empty payload", data: []byte{0x00, 0x02}, wantPos: 2},
		{name: "no length", data: []byte{0x00}, wantErr: "@0: segment length past end of data: short"},
		{name: "length below two", data: []byte{0x00, 0x01}, wantErr: "@0: segment length 1 runs past end of data (2 bytes left)"},
		{name: "length past end", data: []byte{0x00, 0x09, 'h'}, wantErr: "@0: segment length 9 runs past end of data (3 bytes left)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reader(tt.data)
			seg, off, err := r.Segment()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || (tt.name == "no length") != errors.Is(err, errShort) {
					t.Fatalf("Segment error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(seg) != tt.wantSeg || off != 2 || r.Pos != tt.wantPos {
				t.Fatalf("Segment = %q, %d, pos %d, %v; want %q, 2, pos %d", seg, off, r.Pos, err, tt.wantSeg, tt.wantPos)
			}
		})
	}
}
