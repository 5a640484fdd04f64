package ingest

import "time"

// Params holds a component's parameters after linting: every declared field
// is present (explicit value or default), with the Go type its FieldType
// names: string, int, float64, bool, []string, time.Duration,
// map[string]string. Accessors return the zero value for absent fields
// without a default.
type Params map[string]any

func (p Params) String(name string) string    { v, _ := p[name].(string); return v }
func (p Params) Int(name string) int          { v, _ := p[name].(int); return v }
func (p Params) Float(name string) float64    { v, _ := p[name].(float64); return v }
func (p Params) Bool(name string) bool        { v, _ := p[name].(bool); return v }
func (p Params) Strings(name string) []string { v, _ := p[name].([]string); return v }
func (p Params) Duration(name string) time.Duration {
	v, _ := p[name].(time.Duration)
	return v
}
func (p Params) Map(name string) map[string]string {
	v, _ := p[name].(map[string]string)
	return v
}
