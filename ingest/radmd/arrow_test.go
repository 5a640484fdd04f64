package radmd

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// arrowRows turns a table of string columns into rows (null → "").
func arrowRows(t *testing.T, tbl arrow.Table) []map[string]string {
	t.Helper()
	n := int(tbl.NumRows())
	rows := make([]map[string]string, n)
	for i := range rows {
		rows[i] = map[string]string{}
	}
	for c := 0; c < int(tbl.NumCols()); c++ {
		col := tbl.Column(c)
		name := col.Name()
		i := 0
		for _, chunk := range col.Data().Chunks() {
			s := chunk.(*array.String)
			for j := 0; j < s.Len(); j++ {
				if s.IsValid(j) {
					rows[i][name] = s.Value(j)
				}
				i++
			}
		}
	}
	return rows
}
