package ingest

import (
	"fmt"
	"sort"
	"sync"
)

// FieldType is the type of a component parameter, checked when the
// pipelines file is linted.
type FieldType string

const (
	TypeString   FieldType = "string"
	TypeInt      FieldType = "int"
	TypeFloat    FieldType = "float"
	TypeBool     FieldType = "bool"
	TypeStrings  FieldType = "strings"  // a YAML list of strings
	TypeDuration FieldType = "duration" // Go duration string, e.g. "30s"
	TypeMap      FieldType = "map"      // a YAML mapping of string to string
)

// Field declares one parameter of a component: the spec drives linting,
// defaults, `--help` and the README's component table.
type Field struct {
	Name        string
	Type        FieldType
	Default     any // nil = no default
	Required    bool
	Description string
	Example     string
	// Enum, when set, lists the allowed string values.
	Enum []string
}

// Spec describes a component.
type Spec struct {
	Name    string
	Summary string
	Fields  []Field
	// PatientIDs marks a source whose samples carry pseudonymised patient
	// identifiers (shards.Pseudonym: DICOM PatientID, dataset patient or
	// subject ids): a run of it warns when MEDMD_PSEUDONYM_KEY is unset
	// (PseudonymWarning).
	PatientIDs bool
}

type sourceEntry struct {
	spec Spec
	new  SourceFactory
}

type stageEntry struct {
	spec Spec
	new  StageFactory
}

var registry = struct {
	sync.Mutex
	sources    map[string]sourceEntry
	stages     map[string]stageEntry
	inspectors []Inspector
}{sources: map[string]sourceEntry{}, stages: map[string]stageEntry{}}

// RegisterSource adds a source. It panics on a duplicate name: that is a
// programming error caught by any test that imports both.
func RegisterSource(spec Spec, f SourceFactory) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.sources[spec.Name]; dup {
		panic(fmt.Sprintf("ingest: source %q registered twice", spec.Name))
	}
	registry.sources[spec.Name] = sourceEntry{spec, f}
}

// RegisterStage adds a stage. It panics on a duplicate name.
func RegisterStage(spec Spec, f StageFactory) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.stages[spec.Name]; dup {
		panic(fmt.Sprintf("ingest: stage %q registered twice", spec.Name))
	}
	registry.stages[spec.Name] = stageEntry{spec, f}
}

// RegisterInspector adds a file format to `medmd inspect`.
func RegisterInspector(in Inspector) {
	registry.Lock()
	defer registry.Unlock()
	registry.inspectors = append(registry.inspectors, in)
}

// SourceSpecs returns the specs of all registered sources, sorted by name.
func SourceSpecs() []Spec {
	registry.Lock()
	defer registry.Unlock()
	var out []Spec
	for _, e := range registry.sources {
		out = append(out, e.spec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// StageSpecs returns the specs of all registered stages, sorted by name.
func StageSpecs() []Spec {
	registry.Lock()
	defer registry.Unlock()
	var out []Spec
	for _, e := range registry.stages {
		out = append(out, e.spec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Inspectors returns the registered inspectors in registration order.
func Inspectors() []Inspector {
	registry.Lock()
	defer registry.Unlock()
	return append([]Inspector(nil), registry.inspectors...)
}

func lookupSource(name string) (sourceEntry, bool) {
	registry.Lock()
	defer registry.Unlock()
	e, ok := registry.sources[name]
	return e, ok
}

func lookupStage(name string) (stageEntry, bool) {
	registry.Lock()
	defer registry.Unlock()
	e, ok := registry.stages[name]
	return e, ok
}
