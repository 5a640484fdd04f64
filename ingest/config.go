package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
	"gopkg.in/yaml.v3"
)

// Config is a parsed and linted pipelines file.
type Config struct {
	// Path is the file the config came from; BaseDir its folder, against
	// which relative paths in the file are resolved.
	Path, BaseDir string
	Pipelines     []*Pipeline
}

// Pipeline is one declared pipeline: a source, its stages, and where the
// shards go.
type Pipeline struct {
	Name   string
	Source ComponentConfig
	Stages []ComponentConfig
	Output OutputConfig
	// MaxFailureFraction is the fraction of units that may be quarantined
	// before the run exits non-zero (the shards are still written).
	MaxFailureFraction float64
}

// ComponentConfig is a source or stage reference with its linted params.
type ComponentConfig struct {
	Type   string
	Params Params
	// Pos is where the component is declared ("pipelines.yaml:12:7"), so
	// errors found when it is built point at the line to fix.
	Pos string
}

// OutputConfig says where shards go and how big they get.
type OutputConfig struct {
	Dir string
	// ShardUnits and ShardInputBytes pack planned units into shards: a shard
	// is closed to new units once it holds ShardUnits units or
	// ShardInputBytes of input. Both are planning-time caps, so shard
	// identity depends only on the plan, never on the number of tasks.
	ShardUnits      int
	ShardInputBytes int64
	// MaxShardBytes and MaxShardSamples cap each written file; a shard whose
	// output exceeds them continues in part files.
	MaxShardBytes   int64
	MaxShardSamples int
	// Parquet is what each shard's Parquet part holds (metadata, full,
	// none; see shards.ParquetLayout) and ParquetCompression its codec.
	Parquet            shards.ParquetLayout
	ParquetCompression shards.ParquetCompression
}

// Defaults for the output section.
const (
	DefaultShardUnits      = 256
	DefaultShardInputBytes = 1 << 30
	DefaultMaxShardBytes   = 1 << 30
	DefaultMaxShardSamples = 10000
	DefaultFailureFraction = 0.5
)

// Problem is one lint finding, positioned in the file.
type Problem struct {
	File         string
	Line, Column int
	Msg          string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Msg)
}

// LintError carries every problem found in a pipelines file.
type LintError struct{ Problems []Problem }

func (e *LintError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// LoadConfig reads, parses and lints a pipelines file. All problems are
// reported together in a *LintError, each with its line and column.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, data)
}

// ParseConfig is LoadConfig over bytes already read; path names the file in
// messages and anchors relative paths.
func ParseConfig(path string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlSyntaxError(path, data, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	l := &linter{file: path}
	cfg := &Config{Path: path, BaseDir: filepath.Dir(abs)}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: empty file (want a top-level \"pipelines:\" list)", path)
	}
	doc := root.Content[0]
	top := l.mapping(doc, "top level", map[string]bool{"version": true, "pipelines": true})
	if v, ok := top["version"]; ok {
		if n, err := strconv.Atoi(v.Value); err != nil || n != 1 {
			l.add(v, "version: want 1, got %q", v.Value)
		}
	}
	list, ok := top["pipelines"]
	switch {
	case !ok:
		l.add(doc, "missing \"pipelines\" list")
	case list.Kind != yaml.SequenceNode:
		l.add(list, "pipelines: want a list of pipelines")
	default:
		seen := map[string]bool{}
		for _, item := range list.Content {
			p := l.pipeline(item)
			if p == nil {
				continue
			}
			if seen[p.Name] {
				l.add(item, "pipeline %q declared twice", p.Name)
			}
			seen[p.Name] = true
			cfg.Pipelines = append(cfg.Pipelines, p)
		}
	}
	if len(l.problems) > 0 {
		return nil, &LintError{l.problems}
	}
	return cfg, nil
}

// Pipeline returns the named pipeline.
func (c *Config) Pipeline(name string) (*Pipeline, error) {
	var names []string
	for _, p := range c.Pipelines {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return nil, fmt.Errorf("%s: no pipeline %q%s (have: %s)", c.Path, name, suggest(name, names), strings.Join(names, ", "))
}

// Hash identifies the pipeline's data-affecting configuration: source,
// stages and shard sizing, not the output folder. Manifests record it, and
// merging refuses shards made under another hash.
func (p *Pipeline) Hash() string {
	canon := map[string]any{
		"name":   p.Name,
		"source": componentJSON(p.Source),
		"output": map[string]any{
			"shard_units": p.Output.ShardUnits, "shard_input_bytes": p.Output.ShardInputBytes,
			"max_shard_bytes": p.Output.MaxShardBytes, "max_shard_samples": p.Output.MaxShardSamples,
			// The layout and codec change the files, so a folder written
			// under another one is not resumed into.
			"parquet": p.Output.Parquet, "parquet_compression": p.Output.ParquetCompression,
		},
	}
	var stages []any
	for _, s := range p.Stages {
		stages = append(stages, componentJSON(s))
	}
	canon["stages"] = stages
	b, _ := json.Marshal(canon) // maps marshal with sorted keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func componentJSON(c ComponentConfig) map[string]any {
	m := map[string]any{"type": c.Type}
	for k, v := range c.Params {
		if d, ok := v.(time.Duration); ok {
			v = d.String()
		}
		m[k] = v
	}
	return m
}

type linter struct {
	file     string
	problems []Problem
}

func (l *linter) add(n *yaml.Node, format string, args ...any) {
	l.problems = append(l.problems, Problem{File: l.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// mapping checks that n is a mapping whose keys are all in allowed, and
// returns key → value node.
func (l *linter) mapping(n *yaml.Node, what string, allowed map[string]bool) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		l.add(n, "%s: want a mapping", what)
		return out
	}
	var names []string
	for k := range allowed {
		names = append(names, k)
	}
	sort.Strings(names)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if allowed != nil && !allowed[k.Value] {
			l.add(k, "%s: unknown field %q%s", what, k.Value, suggest(k.Value, names))
			continue
		}
		if _, dup := out[k.Value]; dup {
			l.add(k, "%s: field %q given twice", what, k.Value)
		}
		out[k.Value] = v
	}
	return out
}

var pipelineKeys = map[string]bool{"name": true, "source": true, "stages": true, "output": true, "max_failure_fraction": true}
var outputKeys = map[string]bool{"dir": true, "shard_units": true, "shard_input_bytes": true, "max_shard_bytes": true, "max_shard_samples": true,
	"parquet": true, "parquet_compression": true}

func (l *linter) pipeline(n *yaml.Node) *Pipeline {
	m := l.mapping(n, "pipeline", pipelineKeys)
	p := &Pipeline{MaxFailureFraction: DefaultFailureFraction}
	if v, ok := m["name"]; ok && v.Value != "" {
		p.Name = v.Value
	} else {
		l.add(n, "pipeline: missing \"name\"")
	}
	what := fmt.Sprintf("pipeline %q", p.Name)
	if v, ok := m["source"]; ok {
		p.Source = l.component(v, what+" source", true)
	} else {
		l.add(n, "%s: missing \"source\"", what)
	}
	if v, ok := m["stages"]; ok {
		if v.Kind != yaml.SequenceNode {
			l.add(v, "%s: stages: want a list", what)
		} else {
			for _, s := range v.Content {
				p.Stages = append(p.Stages, l.component(s, what+" stage", false))
			}
		}
	}
	p.Output = OutputConfig{Dir: filepath.Join("out", p.Name), ShardUnits: DefaultShardUnits,
		ShardInputBytes: DefaultShardInputBytes, MaxShardBytes: DefaultMaxShardBytes, MaxShardSamples: DefaultMaxShardSamples,
		Parquet: shards.ParquetLayouts[0], ParquetCompression: shards.ParquetCompressions[0]}
	if v, ok := m["output"]; ok {
		om := l.mapping(v, what+" output", outputKeys)
		if d, ok := om["dir"]; ok {
			if err := storage.NoCredentials(d.Value); err != nil {
				l.add(d, "%s output: dir: %v", what, err)
			} else {
				p.Output.Dir = d.Value
			}
		}
		l.positiveInt(om, "shard_units", what, func(x int64) { p.Output.ShardUnits = int(x) })
		l.positiveInt(om, "shard_input_bytes", what, func(x int64) { p.Output.ShardInputBytes = x })
		l.positiveInt(om, "max_shard_bytes", what, func(x int64) { p.Output.MaxShardBytes = x })
		l.positiveInt(om, "max_shard_samples", what, func(x int64) { p.Output.MaxShardSamples = int(x) })
		enum(l, om, "parquet", what, shards.ParquetLayouts, func(x string) { p.Output.Parquet = shards.ParquetLayout(x) })
		enum(l, om, "parquet_compression", what, shards.ParquetCompressions, func(x string) {
			p.Output.ParquetCompression = shards.ParquetCompression(x)
		})
	}
	if v, ok := m["max_failure_fraction"]; ok {
		f, err := strconv.ParseFloat(v.Value, 64)
		if err != nil || f < 0 || f > 1 {
			l.add(v, "%s: max_failure_fraction: want a number in [0,1], got %q", what, v.Value)
		} else {
			p.MaxFailureFraction = f
		}
	}
	return p
}

// enum checks that m[key], when present, is one of names.
func enum[T ~string](l *linter, m map[string]*yaml.Node, key, what string, names []T, set func(string)) {
	v, ok := m[key]
	if !ok {
		return
	}
	var all []string
	for _, n := range names {
		if string(n) == v.Value {
			set(v.Value)
			return
		}
		all = append(all, string(n))
	}
	l.add(v, "%s: %s: unknown value %q (want one of %s)%s", what, key, v.Value, strings.Join(all, ", "), suggest(v.Value, all))
}

func (l *linter) positiveInt(m map[string]*yaml.Node, key, what string, set func(int64)) {
	v, ok := m[key]
	if !ok {
		return
	}
	x, err := parseSize(v.Value)
	if err != nil || x <= 0 {
		l.add(v, "%s: %s: want a positive integer (sizes may use KiB/MiB/GiB), got %q", what, key, v.Value)
		return
	}
	set(x)
}

// parseSize reads "123", "64KiB", "256MiB", "1GiB".
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}} {
		if strings.HasSuffix(s, u.suf) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suf)), u.m
			break
		}
	}
	x, err := strconv.ParseInt(s, 10, 64)
	return x * mult, err
}

// component lints a `{type: NAME, <params>}` mapping against the registered
// spec of a source (isSource) or stage.
func (l *linter) component(n *yaml.Node, what string, isSource bool) ComponentConfig {
	c := ComponentConfig{Pos: fmt.Sprintf("%s:%d:%d", l.file, n.Line, n.Column)}
	if n.Kind != yaml.MappingNode {
		l.add(n, "%s: want a mapping with \"type\" and its parameters", what)
		return c
	}
	var typeNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			typeNode = n.Content[i+1]
		}
	}
	if typeNode == nil {
		l.add(n, "%s: missing \"type\"", what)
		return c
	}
	c.Type = typeNode.Value
	var spec Spec
	var known []string
	if isSource {
		e, ok := lookupSource(c.Type)
		spec = e.spec
		for _, s := range SourceSpecs() {
			known = append(known, s.Name)
		}
		if !ok {
			l.add(typeNode, "%s: unknown source type %q%s", what, c.Type, suggest(c.Type, known))
			return c
		}
	} else {
		e, ok := lookupStage(c.Type)
		spec = e.spec
		for _, s := range StageSpecs() {
			known = append(known, s.Name)
		}
		if !ok {
			l.add(typeNode, "%s: unknown stage type %q%s", what, c.Type, suggest(c.Type, known))
			return c
		}
	}
	what = fmt.Sprintf("%s %q", strings.Fields(what)[len(strings.Fields(what))-1], c.Type)
	c.Params = l.params(n, what, spec)
	return c
}

// params lints a component's fields against its spec and fills defaults.
func (l *linter) params(n *yaml.Node, what string, spec Spec) Params {
	allowed := map[string]bool{"type": true}
	for _, f := range spec.Fields {
		allowed[f.Name] = true
	}
	m := l.mapping(n, what, allowed)
	p := Params{}
	for _, f := range spec.Fields {
		v, ok := m[f.Name]
		if !ok {
			if f.Required {
				l.add(n, "%s: missing required field %q (%s)", what, f.Name, f.Description)
			} else if f.Default != nil {
				p[f.Name] = defaultValue(f)
			}
			continue
		}
		val, err := decodeField(f, v)
		if err == nil {
			err = noCredentials(val)
		}
		if err != nil {
			l.add(v, "%s: field %q: %v", what, f.Name, err)
			continue
		}
		p[f.Name] = val
	}
	return p
}

// defaultValue lets specs write duration defaults as strings ("30s").
func defaultValue(f Field) any {
	if s, ok := f.Default.(string); ok && f.Type == TypeDuration {
		if d, err := time.ParseDuration(s); err == nil {
			return d
		}
	}
	return f.Default
}

func decodeField(f Field, v *yaml.Node) (any, error) {
	scalar := func() error {
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("want a %s", f.Type)
		}
		return nil
	}
	switch f.Type {
	case TypeString:
		if err := scalar(); err != nil {
			return nil, err
		}
		if len(f.Enum) > 0 && !contains(f.Enum, v.Value) {
			return nil, fmt.Errorf("%q is not one of %s%s", v.Value, strings.Join(f.Enum, ", "), suggest(v.Value, f.Enum))
		}
		return v.Value, nil
	case TypeInt:
		if err := scalar(); err != nil {
			return nil, err
		}
		x, err := parseSize(v.Value)
		if err != nil {
			return nil, fmt.Errorf("want an integer, got %q", v.Value)
		}
		return int(x), nil
	case TypeFloat:
		if err := scalar(); err != nil {
			return nil, err
		}
		x, err := strconv.ParseFloat(v.Value, 64)
		if err != nil {
			return nil, fmt.Errorf("want a number, got %q", v.Value)
		}
		return x, nil
	case TypeBool:
		var b bool
		if err := scalar(); err != nil {
			return nil, err
		}
		if err := v.Decode(&b); err != nil {
			return nil, fmt.Errorf("want true or false, got %q", v.Value)
		}
		return b, nil
	case TypeDuration:
		if err := scalar(); err != nil {
			return nil, err
		}
		d, err := time.ParseDuration(v.Value)
		if err != nil {
			return nil, fmt.Errorf("want a duration like 30s or 2m, got %q", v.Value)
		}
		return d, nil
	case TypeStrings:
		var ss []string
		if v.Kind == yaml.ScalarNode { // a single value is a one-element list
			ss = []string{v.Value}
		} else if err := v.Decode(&ss); err != nil {
			return nil, errors.New("want a list of strings")
		}
		for _, s := range ss {
			if len(f.Enum) > 0 && !contains(f.Enum, s) {
				return nil, fmt.Errorf("%q is not one of %s%s", s, strings.Join(f.Enum, ", "), suggest(s, f.Enum))
			}
		}
		return ss, nil
	case TypeMap:
		var mm map[string]string
		if err := v.Decode(&mm); err != nil {
			return nil, errors.New("want a mapping of strings")
		}
		return mm, nil
	}
	return nil, fmt.Errorf("spec has unknown type %q", f.Type)
}

// noCredentials refuses a string value, or one of a list, that is a URL
// carrying credentials (storage.NoCredentials), whatever the field.
func noCredentials(val any) error {
	vals, _ := val.([]string)
	if s, ok := val.(string); ok {
		vals = []string{s}
	}
	for _, s := range vals {
		if err := storage.NoCredentials(s); err != nil {
			return err
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for the closest candidate within
// a small edit distance, or "".
func suggest(got string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(got, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// yamlLineRE is yaml.v3's syntax-error text: "yaml: line 5: could not find
// expected ':'".
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlSyntaxError turns a yaml.v3 syntax error into "path:LINE: YAML
// syntax: msg" with the line the problem is on. yaml.v3 reports the line of
// the error's context mark rather than its problem mark, and adds one to
// it only for scanner errors, so its line is often one before the broken
// one (an unclosed "[" on line 5 is reported on line 4) or the start of the
// enclosing block (a key indented one space too far is reported on the
// pipeline's first line); the marks themselves are not exported. The
// broken line is the first at or after the reported one whose prefix of the
// file fails with the same message: everything before it parses.
func yamlSyntaxError(path string, data []byte, err error) error {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("%s: %w", path, err) // no line (an unknown anchor): keep yaml's words
	}
	reported, _ := strconv.Atoi(m[1])
	msg := m[2]
	lines := bytes.SplitAfter(data, []byte("\n"))
	line := reported
	for k := max(reported, 1); k <= len(lines); k++ {
		var n yaml.Node
		perr := yaml.Unmarshal(bytes.Join(lines[:k], nil), &n)
		if perr == nil {
			continue
		}
		if pm := yamlLineRE.FindStringSubmatch(perr.Error()); pm != nil && pm[2] == msg {
			line = k
			break
		}
	}
	return fmt.Errorf("%s:%d: YAML syntax: %s", path, line, msg)
}
